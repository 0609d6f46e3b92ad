#include "platform/analysis/prometheus.h"

#include <cinttypes>
#include <cstdio>

namespace platsim::platform::analysis {
namespace {

// A Kubernetes label name as a Prometheus label name.
std::string Sanitize(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) c = '_';
  }
  return out;
}

// A bucket bound as Prometheus writes `le` (shortest form: "0.005", "1",
// "2.5").
std::string FormatBound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Prometheus::Prometheus(sim::Engine& engine, DataPlane& data_plane, sim::Time scrape_interval,
                       sim::Time retention)
    : engine_(engine), data_plane_(data_plane), interval_(scrape_interval), retention_(retention) {
  data_plane_.EnableScrapes();
}

void Prometheus::Start() {
  engine_.ScheduleCallbackAt(interval_, [this] { ScrapeAll(); });
}

void Prometheus::ScrapeAll() {
  const sim::Time now = engine_.Now();
  for (std::uint32_t p = 0; p < data_plane_.pod_count(); ++p) {
    if (p >= targets_.size()) targets_.resize(p + 1);
    Target& target = targets_[p];
    while (!target.scrapes.empty() && target.scrapes.front().t < now - retention_) {
      target.scrapes.pop_front();
    }
    const auto s = data_plane_.Scrape(p);
    if (!s) continue;
    if (target.labels.empty()) {
      for (const auto& [k, v] : *s->labels)
        target.labels[Sanitize(k)] = v;
    }
    target.scrapes.push_back({now, s->completed, s->failed, s->latency});
  }
  engine_.ScheduleCallbackAfter(interval_, [this] { ScrapeAll(); });
}

void Prometheus::Select(
    std::string_view name, sim::Time from, sim::Time to,
    const std::function<void(const Labels&, std::span<const Sample>)>& fn) const {
  constexpr std::string_view kRequests = "platsim_requests_total";
  constexpr std::string_view kBucket = "platsim_request_duration_seconds_bucket";
  constexpr std::string_view kSum = "platsim_request_duration_seconds_sum";
  constexpr std::string_view kCount = "platsim_request_duration_seconds_count";
  if (name != kRequests && name != kBucket && name != kSum && name != kCount) return;
  std::vector<Sample> samples;
  Labels labels;
  // One series of a target: `value` of each scrape in (from, to].
  auto series = [&](const Target& target, const auto& value) {
    samples.clear();
    for (const Scrape& s : target.scrapes) {
      if (s.t > from && s.t <= to) samples.push_back({s.t, value(s)});
    }
    if (!samples.empty()) fn(labels, samples);
  };
  for (const Target& target : targets_) {
    if (target.scrapes.empty()) continue;
    labels = target.labels;
    if (name == kRequests) {
      labels["outcome"] = "success";
      series(target, [](const Scrape& s) { return s.completed; });
      labels["outcome"] = "error";
      series(target, [](const Scrape& s) { return s.failed; });
    } else if (name == kBucket) {
      for (std::size_t i = 0; i < PodStats::kLatencyBuckets.size(); ++i) {
        labels["le"] = FormatBound(PodStats::kLatencyBuckets[i]);
        series(target, [i](const Scrape& s) { return static_cast<double>(s.latency.le[i]); });
      }
      labels["le"] = "+Inf";
      series(target, [](const Scrape& s) { return s.completed; });
    } else if (name == kSum) {
      series(target, [](const Scrape& s) { return s.latency.sum_s; });
    } else {
      series(target, [](const Scrape& s) { return s.completed; });
    }
  }
}

}  // namespace platsim::platform::analysis
