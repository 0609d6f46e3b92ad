// A simulated Prometheus: it scrapes every model server's pod at a scrape
// interval (from time 0, at multiples of it) and answers the PromQL subset
// of promql.h over what it scraped, for Argo Rollouts' prometheus provider.
// Each pod exposes, with its labels (label names with characters outside
// [a-zA-Z0-9_] written with _, as Kubernetes service discovery's labelmap
// relabelling does) and `namespace` and `pod`:
//   platsim_requests_total{outcome="success"|"error"}  requests the pod
//     completed, and answered with an error
//   platsim_request_duration_seconds_bucket{le=...}, _sum, _count
//     the latency (arrival at the client to completion) of completed
//     requests, at the client libraries' default buckets
// and an LLM server (engine: vllm) vLLM's own (llm_pod_metrics.h):
//   vllm:time_to_first_token_seconds, vllm:inter_token_latency_seconds,
//   vllm:request_time_per_output_token_seconds,
//   vllm:e2e_request_latency_seconds (each _bucket{le=...}, _sum, _count);
//   vllm:prompt_tokens_total, vllm:generation_tokens_total,
//   vllm:num_preemptions_total; and the gauges vllm:num_requests_running,
//   vllm:num_requests_waiting, vllm:kv_cache_usage_perc
// A pod whose server has stopped is no longer scraped; its samples stay
// for `retention`.
#ifndef PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_
#define PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_

#include <deque>
#include <memory>
#include <vector>

#include "platform/analysis/promql.h"
#include "platform/serving/data_plane.h"
#include "sim/engine.h"

namespace platsim::platform::analysis {

class Prometheus : public SeriesSource {
 public:
  // Borrows engine and data plane; calls data_plane.EnableScrapes().
  Prometheus(sim::Engine& engine, DataPlane& data_plane, sim::Time scrape_interval,
             sim::Time retention);
  // Schedules the scrapes. Call once before running.
  void Start();

  void Select(std::string_view name, sim::Time from, sim::Time to,
              const std::function<void(const Labels&, std::span<const Sample>)>& fn) const override;

 private:
  struct Scrape {
    sim::Time t;
    double completed, failed;
    PodStats::Histogram latency;
    std::shared_ptr<const LlmPodMetrics> vllm;  // null: not an LLM server
  };
  struct Target {
    Labels labels;  // sanitized
    std::deque<Scrape> scrapes;
  };
  void ScrapeAll();
  // Select for the names of vLLM's metrics.
  void SelectVllm(std::string_view name, sim::Time from, sim::Time to,
                  const std::function<void(const Labels&, std::span<const Sample>)>& fn) const;

  sim::Engine& engine_;
  DataPlane& data_plane_;
  const sim::Time interval_, retention_;
  std::vector<Target> targets_;  // by the data plane's pod index
};

}  // namespace platsim::platform::analysis

#endif  // PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_
