#include "platform/serving/stats.h"

#include <cmath>

namespace platsim::platform {

void RequestCounts::Count(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCompleted:
      ++completed;
      break;
    case Outcome::kTimedOut:
      ++timed_out;
      break;
    case Outcome::kNoEndpoint:
      ++dropped_no_endpoint;
      break;
    case Outcome::kQueueFull:
      ++dropped_queue_full;
      break;
    case Outcome::kNotLoaded:
      ++dropped_not_loaded;
      break;
    case Outcome::kTerminated:
      ++dropped_terminated;
      break;
  }
}

ServiceStats::ServiceStats(std::vector<sim::Time> slo_latency, sim::Time warmup)
    : slo_latency_(std::move(slo_latency)), warmup_(warmup), metrics_(slo_latency_.size()) {}

void ServiceStats::SetReadyEndpoints(std::size_t client, sim::Time now, std::size_t ready) {
  metrics_[client].ready_replicas.Set(now, static_cast<double>(ready));
}

void ServiceStats::StartWindow(sim::Time now) {
  for (auto& m : metrics_) {
    m.ready_replicas.Reset(now);
    m.in_system.Reset(now);
  }
}

void ServiceStats::ResetInterval(std::size_t client) {
  metrics_[client].interval = RequestCounts{};
  metrics_[client].interval_latency_s.Clear();
}

void ServiceStats::OnArrival(const Request& r, sim::Time now) {
  ServiceMetrics& m = metrics_[r.client];
  ++m.all.arrived;
  ++m.interval.arrived;
  m.in_system.Add(now, 1.0);
  if (r.measured) ++m.measured.arrived;
}

void ServiceStats::OnEnd(const Request& r, Outcome outcome, sim::Time now) {
  ServiceMetrics& m = metrics_[r.client];
  m.all.Count(outcome);
  m.interval.Count(outcome);
  m.in_system.Add(now, -1.0);
  const double latency_s = sim::ToSeconds(now - r.arrival);
  // One logarithm for both sketches.
  const double log_latency =
      latency_s > sim::QuantileSketch::kMinPositive ? std::log(latency_s) : 0.0;
  if (outcome == Outcome::kCompleted) {
    m.interval_latency_s.AddWithLog(latency_s, log_latency);
    if (now >= warmup_) ++m.completed_in_window;
  }
  if (!r.measured) return;
  m.measured.Count(outcome);
  if (outcome == Outcome::kCompleted) {
    m.latency_s.AddWithLog(latency_s, log_latency);
    m.latency_stats_s.Add(latency_s);
    const sim::Time slo = slo_latency_[r.client];
    if (slo > 0 && now - r.arrival <= slo) ++m.slo_met;
  }
}

}  // namespace platsim::platform
