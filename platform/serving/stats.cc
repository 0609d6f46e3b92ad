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
    case Outcome::kFailed:
      ++failed;
      break;
  }
}

RequestCounts& RequestCounts::operator+=(const RequestCounts& o) {
  arrived += o.arrived;
  completed += o.completed;
  timed_out += o.timed_out;
  dropped_no_endpoint += o.dropped_no_endpoint;
  dropped_queue_full += o.dropped_queue_full;
  dropped_not_loaded += o.dropped_not_loaded;
  dropped_terminated += o.dropped_terminated;
  failed += o.failed;
  return *this;
}

RequestCounts RequestCounts::operator-(const RequestCounts& earlier) const {
  RequestCounts d = *this;
  d.arrived -= earlier.arrived;
  d.completed -= earlier.completed;
  d.timed_out -= earlier.timed_out;
  d.dropped_no_endpoint -= earlier.dropped_no_endpoint;
  d.dropped_queue_full -= earlier.dropped_queue_full;
  d.dropped_not_loaded -= earlier.dropped_not_loaded;
  d.dropped_terminated -= earlier.dropped_terminated;
  d.failed -= earlier.failed;
  return d;
}

ServiceStats::ServiceStats(std::vector<sim::Time> slo_latency, sim::Time warmup)
    : slo_latency_(std::move(slo_latency)), warmup_(warmup), metrics_(slo_latency_.size()) {}

void ServiceStats::SetReadyEndpoints(std::size_t client, sim::Time now, std::size_t ready) {
  metrics_[client].ready_replicas.Set(now, static_cast<double>(ready));
}

void ServiceStats::StartWindow(sim::Time now) {
  for (auto& m : metrics_) {
    m.ready_replicas.Reset(now);
    m.in_system_before_window += m.in_system.Integral(now);
    m.in_system.Reset(now);
  }
}

double ServiceMetrics::IntervalLatencyQuantile(double q) const {
  if (interval_warmup_latency_s.count() == 0) return interval_latency_s.Quantile(q);
  sim::QuantileSketch both = interval_latency_s;
  both.Merge(interval_warmup_latency_s);
  return both.Quantile(q);
}

namespace {

void Fold(ServiceMetrics& m) {
  m.latency_s.Merge(m.interval_latency_s);
  m.interval_latency_s.Clear();
  m.interval_warmup_latency_s.Clear();
}

}  // namespace

void ServiceStats::ResetInterval(std::size_t client) {
  metrics_[client].interval = RequestCounts{};
  metrics_[client].interval_slo_met = 0;
  Fold(metrics_[client]);
}

void ServiceStats::FoldIntervals() {
  for (ServiceMetrics& m : metrics_)
    Fold(m);
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
  bool met = false;
  if (outcome == Outcome::kCompleted) {
    (r.measured ? m.interval_latency_s : m.interval_warmup_latency_s).Add(latency_s);
    if (now >= warmup_) ++m.completed_in_window;
    const sim::Time slo = slo_latency_[r.client];
    met = slo > 0 && now - r.arrival <= slo;
    m.interval_slo_met += met;
  }
  if (!r.measured) return;
  m.measured.Count(outcome);
  if (outcome == Outcome::kCompleted) {
    m.latency_stats_s.Add(latency_s);
    m.slo_met += met;
  }
}

void ServiceMetrics::Save(sim::ByteWriter& out) const {
  out.Put(all);
  out.Put(measured);
  out.Put(interval);
  out.Put(in_system);
  out.Put(slo_met);
  out.Put(interval_slo_met);
  out.Put(completed_in_window);
  out.Put(latency_stats_s);
  latency_s.Save(out);
  interval_latency_s.Save(out);
  interval_warmup_latency_s.Save(out);
  out.Put(ready_replicas);
  out.Put(in_system_before_window);
}

void ServiceMetrics::Load(sim::ByteReader& in) {
  all = in.Get<RequestCounts>();
  measured = in.Get<RequestCounts>();
  interval = in.Get<RequestCounts>();
  in_system = in.Get<sim::TimeAverage>();
  slo_met = in.Get<std::uint64_t>();
  interval_slo_met = in.Get<std::uint64_t>();
  completed_in_window = in.Get<std::uint64_t>();
  latency_stats_s = in.Get<sim::RunningStats>();
  latency_s.Load(in);
  interval_latency_s.Load(in);
  interval_warmup_latency_s.Load(in);
  ready_replicas = in.Get<sim::TimeAverage>();
  in_system_before_window = in.Get<double>();
}

}  // namespace platsim::platform
