// What an LLM server's metrics endpoint exposes under vLLM's names, for a
// simulated Prometheus (platform/analysis/prometheus.h): the histograms of
// time to first token, inter-token latency, each request's time per output
// token and end-to-end latency at vLLM's bucket bounds
// (vllm/v1/metrics/buckets.py), and its token and preemption counters.
// Times run from when the request reached the server, as vLLM's
// arrival_time; a request's time per output token is its decode time over
// its tokens after the first, 0 with one token (vllm/v1/metrics/stats.py
// update_from_finished_request); prompt tokens count once, as the first
// token comes (stats.py update_from_output). Every request counts, warm-up
// included, as a counter scraped from the start would.
#ifndef PLATSIM_PLATFORM_SERVING_LLM_POD_METRICS_H_
#define PLATSIM_PLATFORM_SERVING_LLM_POD_METRICS_H_

#include <array>
#include <cstdint>
#include <span>

namespace platsim::platform {

// A Prometheus histogram at fixed bounds: `buckets[i]` counts observations
// above bounds[i - 1] and at most bounds[i] (the client libraries' le
// buckets, not yet cumulative); over the last bound only `count` has them.
template <std::size_t N>
struct BucketHistogram {
  std::array<std::uint64_t, N> buckets{};
  std::uint64_t count = 0;
  double sum = 0;
  void Observe(double v, const std::array<double, N>& bounds) {
    ++count;
    sum += v;
    for (std::size_t i = 0; i < N; ++i) {
      if (v <= bounds[i]) {
        ++buckets[i];
        return;
      }
    }
  }
};

// A histogram as read: bounds, bucket counts, count and sum.
struct HistogramView {
  std::span<const double> bounds;
  std::span<const std::uint64_t> buckets;
  std::uint64_t count = 0;
  double sum = 0;
};

struct LlmPodMetrics {
  static constexpr std::array<double, 22> kTtftBounds = {
      0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,  0.25,  0.5,   0.75,
      1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
  static constexpr std::array<double, 19> kTokenBounds = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                                          0.3,  0.4,   0.5,  0.75,  1.0, 2.5,  5.0,
                                                          7.5,  10.0,  20.0, 40.0,  80.0};
  static constexpr std::array<double, 21> kRequestBounds = {
      0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
      30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

  BucketHistogram<22> ttft;      // vllm:time_to_first_token_seconds
  BucketHistogram<19> itl;       // vllm:inter_token_latency_seconds
  BucketHistogram<19> tpot;      // vllm:request_time_per_output_token_seconds
  BucketHistogram<21> e2e;       // vllm:e2e_request_latency_seconds
  double prompt_tokens = 0;      // vllm:prompt_tokens_total
  double generation_tokens = 0;  // vllm:generation_tokens_total
  double preemptions = 0;        // vllm:num_preemptions_total
  // The gauges, as the scrape found them.
  double waiting = 0, running = 0, kv_usage = 0;

  template <std::size_t N>
  static HistogramView View(const BucketHistogram<N>& h, const std::array<double, N>& bounds) {
    return {bounds, h.buckets, h.count, h.sum};
  }
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_LLM_POD_METRICS_H_
