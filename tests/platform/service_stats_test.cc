// ServiceStats adds each completion to one interval sketch and folds the
// measured one into the run's at every sample: the run's and the
// interval's latencies must be those of sketches fed every request
// directly.
#include "platform/serving/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace platsim::platform {
namespace {

TEST(ServiceStats, FoldedIntervalsGiveTheSketchesOfEveryRequestDirectly) {
  const sim::Time warmup = sim::FromSeconds(10);
  ServiceStats stats({sim::FromSeconds(1)}, warmup);
  sim::QuantileSketch run, interval;  // fed directly: the reference
  std::mt19937_64 gen(3);
  std::lognormal_distribution<double> latency(-3.0, 0.8);
  std::uniform_real_distribution<double> arrival(0.0, 60.0);
  const double samples[] = {15.0, 30.0, 45.0};  // interval ends, seconds
  int next_sample = 0;
  std::vector<std::pair<double, double>> requests;  // (end, arrival), by end
  for (int i = 0; i < 20000; ++i) {
    const double a = arrival(gen);
    requests.emplace_back(a + latency(gen), a);
  }
  std::sort(requests.begin(), requests.end());
  for (const auto& [end, start] : requests) {
    while (next_sample < 3 && end >= samples[next_sample]) {
      // What the time series reads, then the fold.
      ASSERT_EQ(stats.metrics(0).IntervalLatencyQuantile(0.5), interval.Quantile(0.5));
      ASSERT_EQ(stats.metrics(0).IntervalLatencyQuantile(0.99), interval.Quantile(0.99));
      stats.ResetInterval(0);
      interval.Clear();
      ++next_sample;
    }
    Request r;
    r.client = 0;
    r.arrival = sim::FromSeconds(start);
    r.measured = r.arrival >= warmup;
    r.live = true;
    stats.OnArrival(r, r.arrival);
    const sim::Time now = sim::FromSeconds(end);
    const double seconds = sim::ToSeconds(now - r.arrival);
    stats.OnEnd(r, Outcome::kCompleted, now);
    interval.Add(seconds);
    if (r.measured) run.Add(seconds);
  }
  stats.FoldIntervals();
  const sim::QuantileSketch& got = stats.metrics(0).latency_s;
  EXPECT_EQ(got.count(), run.count());
  EXPECT_GT(run.count(), 10000u);
  EXPECT_EQ(got.min(), run.min());
  EXPECT_EQ(got.max(), run.max());
  for (const double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0})
    EXPECT_EQ(got.Quantile(q), run.Quantile(q)) << q;
}

}  // namespace
}  // namespace platsim::platform
