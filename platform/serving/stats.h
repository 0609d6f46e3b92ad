// What each client's requests did, as an observer of the request table: the
// counts by outcome, latency, SLO attainment and requests in the system that
// the run summary and the time series read. One ServiceMetrics per client
// (traffic entry), which targets one Service.
#ifndef PLATSIM_PLATFORM_SERVING_STATS_H_
#define PLATSIM_PLATFORM_SERVING_STATS_H_

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "platform/serving/request.h"
#include "sim/stats.h"

namespace platsim::platform {

struct RequestCounts {
  std::uint64_t arrived = 0;
  std::uint64_t completed = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t dropped_no_endpoint = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t dropped_not_loaded = 0;
  std::uint64_t dropped_terminated = 0;
  std::uint64_t failed = 0;  // answered with an error
  std::uint64_t dropped() const {
    return dropped_no_endpoint + dropped_queue_full + dropped_not_loaded + dropped_terminated;
  }
  std::uint64_t in_flight() const { return arrived - completed - failed - timed_out - dropped(); }
  void Count(Outcome outcome);
  // Sums of clients, and what happened between two readings.
  RequestCounts& operator+=(const RequestCounts& o);
  RequestCounts operator-(const RequestCounts& earlier) const;
};

// What one client's requests did. "measured" counts only requests that
// arrived at or after the warm-up time; "all" counts every request (for
// conservation).
struct ServiceMetrics {
  // Touched by every request, so kept together.
  RequestCounts all;
  RequestCounts measured;
  RequestCounts interval;  // reset at every time-series sample
  sim::TimeAverage in_system =
      sim::TimeAverage();              // requests arrived and not yet ended, from warm-up on
  std::uint64_t slo_met = 0;           // completed within the SLO latency
  std::uint64_t interval_slo_met = 0;  // the same in this interval, warm-up included
  // Completions at or after the warm-up, whenever the request arrived: what
  // the service delivered inside the measured window (throughput).
  std::uint64_t completed_in_window = 0;
  sim::RunningStats latency_stats_s;
  // Latency of completed requests. A completion is added to one sketch
  // only, its interval's (measured requests, or those that arrived before
  // the warm-up); at every sample and at the end the interval's measured
  // sketch is merged into the run's, which is exact (QuantileSketch::Merge)
  // and reads each bucket in order rather than one at random per request.
  sim::QuantileSketch latency_s = sim::QuantileSketch();           // measured, up to the last fold
  sim::QuantileSketch interval_latency_s = sim::QuantileSketch();  // measured
  sim::QuantileSketch interval_warmup_latency_s = sim::QuantileSketch();  // arrived before warm-up
  sim::TimeAverage ready_replicas = sim::TimeAverage();
  double in_system_before_window = 0;  // in_system's integral up to the warm-up (x ns)

  // The q-quantile of the latency of requests completed in this interval.
  double IntervalLatencyQuantile(double q) const;
  // Writes every field, and reads them back (on another rank).
  void Save(sim::ByteWriter& out) const;
  void Load(sim::ByteReader& in);
};

class ServiceStats : public RequestObserver {
 public:
  // One entry per client; `slo_latency[i]` 0 is none. Measures from `warmup`.
  ServiceStats(std::vector<sim::Time> slo_latency, sim::Time warmup);

  const ServiceMetrics& metrics(std::size_t client) const { return metrics_[client]; }
  std::size_t size() const { return metrics_.size(); }
  // The client's Service has `ready` endpoints from `now` on.
  void SetReadyEndpoints(std::size_t client, sim::Time now, std::size_t ready);
  // Restarts the time averages at the warm-up.
  void StartWindow(sim::Time now);
  // Request-seconds the client's requests have spent in the system since
  // the run began: the integral of its requests in flight.
  double InSystemSeconds(std::size_t client, sim::Time now) const {
    const ServiceMetrics& m = metrics_[client];
    return (m.in_system_before_window + m.in_system.Integral(now)) / 1e9;
  }
  // Folds the interval's latencies into the run's and starts a new interval.
  void ResetInterval(std::size_t client);
  // Folds every client's interval into its run (at the end of a run, before
  // the run's latencies are read). The interval's counts stay.
  void FoldIntervals();

  void OnArrival(const Request& request, sim::Time now) override;
  void OnEnd(const Request& request, Outcome outcome, sim::Time now) override;

 private:
  const std::vector<sim::Time> slo_latency_;
  const sim::Time warmup_;
  std::vector<ServiceMetrics> metrics_;
};

// The latency of the requests each revision's pods completed (measured:
// arrived from the warm-up on), for comparing a release with the version
// before it. A pod's revision is set when it is admitted.
class RevisionLatency : public RequestObserver {
 public:
  void SetRevision(std::uint32_t pod, std::uint32_t revision) {
    if (pod >= revision_of_.size()) revision_of_.resize(pod + 1, kNone);
    revision_of_[pod] = revision;
    if (revision >= sketches_.size()) sketches_.resize(revision + 1);
  }
  // The q-quantile of revision `revision`'s latencies (NaN without any).
  double Quantile(std::uint32_t revision, double q) const {
    return revision < sketches_.size() ? sketches_[revision].Quantile(q)
                                       : std::numeric_limits<double>::quiet_NaN();
  }
  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request& request, Outcome outcome, sim::Time now) override {
    if (outcome != Outcome::kCompleted || !request.measured || request.pod >= revision_of_.size())
      return;
    const std::uint32_t revision = revision_of_[request.pod];
    if (revision != kNone) sketches_[revision].Add(sim::ToSeconds(now - request.arrival));
  }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::vector<std::uint32_t> revision_of_;  // by pod
  std::vector<sim::QuantileSketch> sketches_;
};

// Requests completed per pod (the data plane's pod index), from the warm-up
// on: the counter behind a pod's requests per second.
class PodStats : public RequestObserver {
 public:
  explicit PodStats(sim::Time warmup) : warmup_(warmup) {}
  std::uint64_t completed(std::uint32_t pod) const {
    return pod < counts_.size() ? counts_[pod].measured : 0;
  }
  // Every completion, warm-up included: the counter a metrics scrape reads.
  std::uint64_t completed_all(std::uint32_t pod) const {
    return pod < counts_.size() ? counts_[pod].all : 0;
  }
  // Requests the pod answered with an error, from the warm-up on.
  std::uint64_t failed(std::uint32_t pod) const {
    return pod < counts_.size() ? counts_[pod].failed : 0;
  }
  // Every request the pod answered with an error, warm-up included.
  std::uint64_t failed_all(std::uint32_t pod) const {
    return pod < counts_.size() ? counts_[pod].failed_all : 0;
  }
  // Keeps a latency histogram per pod at kLatencyBuckets (for a simulated
  // Prometheus); before the first request.
  void EnableHistograms() {
    histograms_ = true;
    histogram_.resize(counts_.size());
  }
  // The pod's completions with a latency at most kLatencyBuckets[i], for
  // each i (cumulative, as Prometheus exposes them), and their latencies'
  // sum in seconds.
  struct Histogram {
    std::array<std::uint64_t, 11> le{};
    double sum_s = 0;
  };
  static constexpr std::array<double, 11> kLatencyBuckets = {
      0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};  // the client libraries' default
  Histogram histogram(std::uint32_t pod) const {
    return pod < histogram_.size() ? histogram_[pod] : Histogram{};
  }

  // Makes room for pod `pod`'s counters, from the global order: a
  // partition's events, perhaps on threads (sim::Engine::SetThreads), only
  // count into them.
  void AddPod(std::uint32_t pod) {
    if (pod >= counts_.size()) counts_.resize(pod + 1);
    if (histograms_ && pod >= histogram_.size()) histogram_.resize(pod + 1);
  }

  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request& request, Outcome outcome, sim::Time now) override {
    if (request.pod == kNoPod) return;
    if (outcome != Outcome::kCompleted) {
      if (outcome != Outcome::kFailed) return;
      if (request.pod >= counts_.size()) counts_.resize(request.pod + 1);
      ++counts_[request.pod].failed_all;
      if (now >= warmup_) ++counts_[request.pod].failed;
      return;
    }
    if (request.pod >= counts_.size()) counts_.resize(request.pod + 1);
    Counts& c = counts_[request.pod];
    ++c.all;
    if (now >= warmup_) ++c.measured;
    if (histograms_) Observe(request.pod, sim::ToSeconds(now - request.arrival));
  }

 private:
  void Observe(std::uint32_t pod, double latency_s) {
    if (pod >= histogram_.size()) histogram_.resize(pod + 1);
    Histogram& h = histogram_[pod];
    h.sum_s += latency_s;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      if (latency_s <= kLatencyBuckets[i]) ++h.le[i];
    }
  }

  struct Counts {                // side by side: one cache line per completion
    std::uint64_t measured = 0;  // from the warm-up on
    std::uint64_t all = 0;
    std::uint64_t failed = 0;  // from the warm-up on
    std::uint64_t failed_all = 0;
  };
  const sim::Time warmup_;
  std::vector<Counts> counts_;
  bool histograms_ = false;
  std::vector<Histogram> histogram_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_STATS_H_
