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
// A pod whose server has stopped is no longer scraped; its samples stay
// for `retention`.
#ifndef PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_
#define PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_

#include <deque>
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
  };
  struct Target {
    Labels labels;  // sanitized
    std::deque<Scrape> scrapes;
  };
  void ScrapeAll();

  sim::Engine& engine_;
  DataPlane& data_plane_;
  const sim::Time interval_, retention_;
  std::vector<Target> targets_;  // by the data plane's pod index
};

}  // namespace platsim::platform::analysis

#endif  // PLATSIM_PLATFORM_ANALYSIS_PROMETHEUS_H_
