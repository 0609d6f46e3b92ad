#include "platform/analysis/prometheus.h"

#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string_view>

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

// A bucket bound as vLLM's Python client writes `le` (its floatToGoString:
// Python's repr, so "0.001", "1.0", "2560.0").
std::string FormatPythonBound(double v) {
  std::string s = FormatBound(v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

// vLLM's histograms and values, by name, as read from one scrape.
struct VllmHistogram {
  std::string_view name;
  HistogramView (*view)(const LlmPodMetrics&);
};
constexpr VllmHistogram kVllmHistograms[] = {
    {"vllm:time_to_first_token_seconds",
     [](const LlmPodMetrics& m) {
       return LlmPodMetrics::View(m.ttft, LlmPodMetrics::kTtftBounds);
     }},
    {"vllm:inter_token_latency_seconds",
     [](const LlmPodMetrics& m) {
       return LlmPodMetrics::View(m.itl, LlmPodMetrics::kTokenBounds);
     }},
    {"vllm:request_time_per_output_token_seconds",
     [](const LlmPodMetrics& m) {
       return LlmPodMetrics::View(m.tpot, LlmPodMetrics::kTokenBounds);
     }},
    {"vllm:e2e_request_latency_seconds",
     [](const LlmPodMetrics& m) {
       return LlmPodMetrics::View(m.e2e, LlmPodMetrics::kRequestBounds);
     }},
};
struct VllmValue {
  std::string_view name;
  double (*value)(const LlmPodMetrics&);
};
constexpr VllmValue kVllmValues[] = {
    {"vllm:prompt_tokens_total", [](const LlmPodMetrics& m) { return m.prompt_tokens; }},
    {"vllm:generation_tokens_total", [](const LlmPodMetrics& m) { return m.generation_tokens; }},
    {"vllm:num_preemptions_total", [](const LlmPodMetrics& m) { return m.preemptions; }},
    {"vllm:num_requests_running", [](const LlmPodMetrics& m) { return m.running; }},
    {"vllm:num_requests_waiting", [](const LlmPodMetrics& m) { return m.waiting; }},
    {"vllm:kv_cache_usage_perc", [](const LlmPodMetrics& m) { return m.kv_usage; }},
};

// `name` less `suffix`, if it ends so.
std::optional<std::string_view> Less(std::string_view name, std::string_view suffix) {
  if (name.size() <= suffix.size() || name.substr(name.size() - suffix.size()) != suffix) {
    return std::nullopt;
  }
  return name.substr(0, name.size() - suffix.size());
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
    target.scrapes.push_back({now, s->completed, s->failed, s->latency, s->vllm});
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
  if (name.starts_with("vllm:")) {
    SelectVllm(name, from, to, fn);
    return;
  }
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

void Prometheus::SelectVllm(
    std::string_view name, sim::Time from, sim::Time to,
    const std::function<void(const Labels&, std::span<const Sample>)>& fn) const {
  // What one series reads of a scrape's vLLM metrics.
  std::function<double(const LlmPodMetrics&)> value;
  const VllmHistogram* histogram = nullptr;
  for (const VllmValue& v : kVllmValues) {
    if (v.name == name) value = v.value;
  }
  for (const VllmHistogram& h : kVllmHistograms) {
    if (Less(name, "_bucket") == h.name) {
      histogram = &h;
    } else if (Less(name, "_sum") == h.name) {
      value = [&h](const LlmPodMetrics& m) { return h.view(m).sum; };
    } else if (Less(name, "_count") == h.name) {
      value = [&h](const LlmPodMetrics& m) { return static_cast<double>(h.view(m).count); };
    }
  }
  if (!value && histogram == nullptr) return;
  std::vector<Sample> samples;
  Labels labels;
  auto series = [&](const Target& target, const auto& read) {
    samples.clear();
    for (const Scrape& s : target.scrapes) {
      if (s.vllm && s.t > from && s.t <= to) samples.push_back({s.t, read(*s.vllm)});
    }
    if (!samples.empty()) fn(labels, samples);
  };
  for (const Target& target : targets_) {
    if (target.scrapes.empty()) continue;
    labels = target.labels;
    if (value) {
      series(target, value);
      continue;
    }
    // Cumulative buckets, as Prometheus exposes them, then +Inf: all.
    // The bounds are static; only they are read of an empty view.
    const std::span<const double> bounds = histogram->view(LlmPodMetrics{}).bounds;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      labels["le"] = FormatPythonBound(bounds[i]);
      series(target, [histogram, i](const LlmPodMetrics& m) {
        const HistogramView v = histogram->view(m);
        std::uint64_t below = 0;
        for (std::size_t j = 0; j <= i; ++j)
          below += v.buckets[j];
        return static_cast<double>(below);
      });
    }
    labels["le"] = "+Inf";
    series(target, [histogram](const LlmPodMetrics& m) {
      return static_cast<double>(histogram->view(m).count);
    });
  }
}

}  // namespace platsim::platform::analysis
