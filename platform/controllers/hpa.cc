#include "platform/controllers/hpa.h"

#include <limits>

#include <algorithm>
#include <cmath>
#include <utility>

namespace platsim::platform {
namespace {

std::string MetricName(const hpa::MetricSpec& m) {
  // computeReplicasForMetric's names.
  using Source = hpa::MetricSpec::Source;
  switch (m.source) {
    case Source::kPods:
      return "pods metric " + m.name;
    case Source::kObject:
      return "Service metric " + m.name;
    case Source::kExternal:
      return "external metric " + m.name + "(service=" + m.service.substr(m.service.find('/') + 1) +
             ")";
    case Source::kResource:
      break;
  }
  return m.target == hpa::MetricSpec::Target::kUtilization
             ? m.resource + " resource utilization (percentage of request)"
             : m.resource + " resource";
}

// ScalingActive's reason when a metric of `source` fails
// (computeReplicasForMetric).
const char* FailedReason(hpa::MetricSpec::Source source) {
  switch (source) {
    case hpa::MetricSpec::Source::kPods:
      return "FailedGetPodsMetric";
    case hpa::MetricSpec::Source::kObject:
      return "FailedGetObjectMetric";
    case hpa::MetricSpec::Source::kExternal:
      return "FailedGetExternalMetric";
    case hpa::MetricSpec::Source::kResource:
      break;
  }
  return "FailedGetResourceMetric";
}

void SetCondition(std::vector<hpa::Condition>& conditions, hpa::Condition c) {
  for (auto& existing : conditions) {
    if (existing.type == c.type) {
      existing = std::move(c);
      return;
    }
  }
  conditions.push_back(std::move(c));
}

// rate(): a counter's increase over the samples inside the window, per
// second between the first and the last of them (Prometheus also
// extrapolates to the window's ends; that is not modelled). Nothing before
// two samples.
template <class Samples>
std::optional<double> Rate(const Samples& samples, sim::Time now, sim::Time window) {
  std::size_t first = 0;
  while (first + 1 < samples.size() && samples[first].at <= now - window)
    ++first;
  if (samples.size() < first + 2) return std::nullopt;
  return (samples.back().value.completed - samples[first].value.completed) /
         sim::ToSeconds(samples.back().at - samples[first].at);
}

}  // namespace

HorizontalPodAutoscalerController::HorizontalPodAutoscalerController(
    sim::Engine& engine, ApiServer& api, EventSink& events, const Settings& settings,
    CpuSeconds cpu, MemoryBytes memory, PodSeries series, ServiceSeries services)
    : engine_(engine),
      api_(api),
      events_(events),
      options_(settings.controller),
      resolution_(settings.metrics_resolution),
      prometheus_(settings.prometheus),
      cpu_(std::move(cpu)),
      memory_(std::move(memory)),
      series_(std::move(series)),
      services_(std::move(services)),
      warmup_(settings.warmup) {
  api_.Watch<HorizontalPodAutoscaler>(
      [this](WatchType type, const HorizontalPodAutoscaler& h) { OnAutoscaler(type, h); });
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
  engine_.ScheduleCallbackAfter(0, [this] { ScrapeSeries(); });
  engine_.ScheduleCallbackAfter(0, [this] { Scrape(); });
  if (warmup_ > 0) {
    engine_.ScheduleCallbackAt(warmup_, [this] {
      for (auto& [key, r] : records_) {
        r.ups = r.downs = 0;
        r.highest = r.replicas;
        r.mean.Reset(warmup_);
      }
    });
  }
}

void HorizontalPodAutoscalerController::Record(const std::string& key, std::int32_t replicas,
                                               int direction) {
  const sim::Time now = engine_.Now();
  auto [it, added] = records_.try_emplace(key);
  Tally& r = it->second;
  if (added) {
    r.mean = sim::TimeAverage(std::max(now, warmup_), replicas);
    r.highest = replicas;
  }
  if (direction > 0) ++r.ups;
  if (direction < 0) ++r.downs;
  r.replicas = replicas;
  r.highest = std::max(r.highest, replicas);
  if (now >= warmup_) r.mean.Set(now, replicas);
}

std::map<std::string, std::map<std::string, double>> HorizontalPodAutoscalerController::Results(
    sim::Time now) const {
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& [key, r] : records_) {
    out[key] = {
        {"rescales", r.ups + r.downs}, {"scale_ups", r.ups},
        {"scale_downs", r.downs},      {"replicas_final", r.replicas},
        {"replicas_max", r.highest},   {"replicas_mean", r.mean.Mean(std::max(now, warmup_))}};
  }
  return out;
}

std::optional<AutoscalerObservation> HorizontalPodAutoscalerController::ObservationOf(
    const std::string& key) const {
  const auto metric = first_metric_.find(key);
  const HorizontalPodAutoscaler* h = api_.Get<HorizontalPodAutoscaler>(key);
  const Deployment* target = h != nullptr ? api_.Get<Deployment>(h->target) : nullptr;
  if (metric == first_metric_.end() || target == nullptr) return std::nullopt;
  return AutoscalerObservation{target->replicas, metric->second.first, metric->second.second,
                               false};
}

const hpa::ScaleHistory* HorizontalPodAutoscalerController::HistoryOf(
    const std::string& hpa_key) const {
  const auto it = history_.find(hpa_key);
  return it == history_.end() ? nullptr : &it->second;
}

void HorizontalPodAutoscalerController::OnAutoscaler(WatchType type,
                                                     const HorizontalPodAutoscaler& h) {
  const std::string key = h.meta.Key();
  if (type == WatchType::kAdded) {
    ++targets_[h.target];
    for (const hpa::MetricSpec& m : h.metrics) {
      if (m.of_service()) ++object_services_[m.service];
    }
    timers_[key] = engine_.ScheduleCallbackAfter(0, [this, key] { Reconcile(key); });
  } else if (type == WatchType::kDeleted) {
    if (--targets_[h.target] == 0) targets_.erase(h.target);
    for (const hpa::MetricSpec& m : h.metrics) {
      if (m.of_service() && --object_services_[m.service] == 0) {
        object_services_.erase(m.service);
        service_samples_.erase(m.service);
      }
    }
    engine_.Cancel(timers_[key]);
    timers_.erase(key);
    history_.erase(key);
  }
}

void HorizontalPodAutoscalerController::OnPod(WatchType type, const Pod& pod) {
  if (pod.template_owner.empty()) return;
  const std::string key = pod.meta.Key();
  if (type == WatchType::kDeleted) {
    const auto it = pods_of_.find(pod.template_owner);
    if (it != pods_of_.end()) {
      it->second.erase(key);
      if (it->second.empty()) pods_of_.erase(it);
    }
    last_scrape_.erase(key);
    samples_.erase(key);
    memory_samples_.erase(key);
    series_samples_.erase(key);
    return;
  }
  pods_of_[pod.template_owner].insert(key);
}

void HorizontalPodAutoscalerController::ForEachTargetPod(
    const std::function<void(const std::string& key, bool running)>& fn) const {
  for (const auto& [deployment, count] : targets_) {
    const auto pods = pods_of_.find(deployment);
    if (pods == pods_of_.end()) continue;
    for (const std::string& key : pods->second) {
      const Pod* pod = api_.Get<Pod>(key);
      fn(key, pod != nullptr && pod->phase == PodPhase::kRunning);
    }
  }
}

void HorizontalPodAutoscalerController::Scrape() {
  const sim::Time now = engine_.Now();
  ForEachTargetPod([&](const std::string& key, bool running) {
    // The working set at the scrape (metrics-server's memory is not a rate).
    const std::optional<double> memory = running ? memory_(key) : std::nullopt;
    if (memory) {
      // At most 2^62 bytes, so that it is an int64 (no machine holds more).
      const double bytes = std::min(*memory, 0x1p62);
      memory_samples_[key] =
          hpa::PodMetric{static_cast<std::int64_t>(std::llround(bytes)), now, resolution_};
    } else {
      memory_samples_.erase(key);
    }
    const std::optional<double> cpu = running ? cpu_(key) : std::nullopt;
    if (!cpu) {
      last_scrape_.erase(key);
      samples_.erase(key);
      return;
    }
    const auto last = last_scrape_.find(key);
    if (last != last_scrape_.end() && now > last->second.at) {
      // The rate between the two scrapes, in millicores.
      const double cores = (*cpu - last->second.cpu_s) / sim::ToSeconds(now - last->second.at);
      samples_[key] = hpa::PodMetric{static_cast<std::int64_t>(std::llround(cores * 1000.0)), now,
                                     now - last->second.at};
    }
    last_scrape_[key] = Scraped{*cpu, now};
  });
  engine_.ScheduleCallbackAfter(resolution_, [this] { Scrape(); });
}

void HorizontalPodAutoscalerController::ScrapeSeries() {
  const sim::Time now = engine_.Now();
  ForEachTargetPod([&](const std::string& key, bool running) {
    const std::optional<Series> value = running ? series_(key) : std::nullopt;
    if (!value) {
      series_samples_.erase(key);
      return;
    }
    auto& samples = series_samples_[key];
    samples.push_back({now, *value});
    // Keep the window and the one sample before it.
    while (samples.size() > 2 && samples[1].at < now - prometheus_.rate_window)
      samples.erase(samples.begin());
  });
  for (const auto& [service, count] : object_services_) {
    const std::optional<Series> value = services_ ? services_(service) : std::nullopt;
    if (!value) continue;
    auto& samples = service_samples_[service];
    samples.push_back({now, *value});
    while (samples.size() > 2 && samples[1].at < now - prometheus_.rate_window)
      samples.erase(samples.begin());
  }
  engine_.ScheduleCallbackAfter(prometheus_.scrape_interval, [this] { ScrapeSeries(); });
}

hpa::PodMetrics HorizontalPodAutoscalerController::PodsMetric(const std::string& deployment,
                                                              const std::string& name) const {
  hpa::PodMetrics out;
  const sim::Time now = engine_.Now();
  const auto pods = pods_of_.find(deployment);
  if (pods == pods_of_.end()) return out;
  for (const std::string& key : pods->second) {
    const auto it = series_samples_.find(key);
    if (it == series_samples_.end() || it->second.empty()) continue;
    const auto& samples = it->second;
    const SeriesSample& last = samples.back();
    double value = 0;
    if (name == "nv_inference_request_success_per_second") {
      const std::optional<double> rate = Rate(samples, now, prometheus_.rate_window);
      if (!rate) continue;  // no rate yet: missing
      value = *rate;
    } else if (name == "nv_inference_pending_request_count" ||
               name == "vllm:num_requests_waiting") {
      value = last.value.pending;
    } else if (name == "vllm:num_requests_running") {
      value = last.value.in_flight - last.value.pending;
    } else if (name == "vllm:kv_cache_usage_perc") {
      value = last.value.kv_usage;
    } else {
      value = last.value.in_flight;
    }
    out[key] = hpa::PodMetric{static_cast<std::int64_t>(std::llround(value * 1000.0)), last.at,
                              prometheus_.scrape_interval};
  }
  return out;
}

std::optional<double> HorizontalPodAutoscalerController::ServiceMetric(
    const std::string& service, const std::string& name) const {
  const auto it = service_samples_.find(service);
  if (it == service_samples_.end() || it->second.empty()) return std::nullopt;
  if (name == "service_pending_requests") return it->second.back().value.pending;
  return Rate(it->second, engine_.Now(), prometheus_.rate_window);
}

hpa::Proposal HorizontalPodAutoscalerController::ProposalFor(
    const hpa::MetricSpec& m, const HorizontalPodAutoscaler& h, const Deployment& target,
    const std::vector<hpa::PodState>& pods) const {
  using Source = hpa::MetricSpec::Source;
  using Target = hpa::MetricSpec::Target;
  const sim::Time now = engine_.Now();
  const std::int32_t current = target.replicas;
  switch (m.source) {
    case Source::kObject:
    case Source::kExternal: {
      const std::optional<double> value = ServiceMetric(m.service, m.name);
      if (!value) {
        hpa::Proposal p;
        p.error = "unable to get metric " + m.name + ": Service " + m.service +
                  ": not enough samples yet";
        return p;
      }
      const auto usage = static_cast<std::int64_t>(std::llround(*value * 1000.0));
      return m.target == Target::kAverageValue
                 ? hpa::PerPodValueReplicas(target.status.replicas, usage, m.value_milli,
                                            options_.tolerances)
                 : hpa::ValueReplicas(current, usage, m.value_milli, pods, options_.tolerances);
    }
    case Source::kPods:  // GetMetricReplicas: readiness is not looked at
      return hpa::AverageValueReplicas(current, m.value_milli, pods, PodsMetric(h.target, m.name),
                                       false, now, options_);
    case Source::kResource:
      break;
  }
  if (m.resource == "memory") {
    // In bytes, requests and target alike (the ratios are upstream's; the
    // sums of milli-bytes over many pods would not fit in 64 bits). Pods
    // are grouped without CPU's readiness rules (groupPods).
    std::vector<hpa::PodState> memory_pods = pods;
    for (hpa::PodState& pod : memory_pods)
      pod.request_milli = pod.memory_request_bytes;
    return m.target == Target::kUtilization
               ? hpa::ResourceUtilizationReplicas(current, m.average_utilization, memory_pods,
                                                  memory_samples_, false, now, options_)
               : hpa::AverageValueReplicas(current, std::max<std::int64_t>(1, m.value_milli / 1000),
                                           memory_pods, memory_samples_, false, now, options_);
  }
  return m.target == Target::kUtilization
             ? hpa::ResourceUtilizationReplicas(current, m.average_utilization, pods, samples_,
                                                true, now, options_)
             : hpa::AverageValueReplicas(current, m.value_milli, pods, samples_, true, now,
                                         options_);
}

std::vector<hpa::PodState> HorizontalPodAutoscalerController::PodsOf(
    const std::string& deployment) const {
  std::vector<hpa::PodState> out;
  const auto pods = pods_of_.find(deployment);
  if (pods == pods_of_.end()) return out;
  for (const std::string& key : pods->second) {
    const Pod* pod = api_.Get<Pod>(key);
    if (pod == nullptr) continue;
    hpa::PodState s;
    s.name = key;
    s.phase = pod->phase;
    s.deleting = pod->meta.deleting;
    // The Ready condition exists once the kubelet has the pod; it last
    // changed when the pod became ready, or, never ready, when it started.
    s.has_ready_condition = pod->start_time.has_value();
    s.ready = pod->ready;
    s.start_time = pod->start_time;
    s.ready_transition = pod->ready ? pod->ready_since : pod->start_time.value_or(0);
    s.request_milli = pod->spec.requests.cpu_milli;
    s.memory_request_bytes = pod->spec.requests.memory_bytes;
    out.push_back(std::move(s));
  }
  return out;
}

void HorizontalPodAutoscalerController::Reconcile(const std::string& key) {
  const HorizontalPodAutoscaler* h = api_.Get<HorizontalPodAutoscaler>(key);
  if (h == nullptr) return;
  timers_[key] =
      engine_.ScheduleCallbackAfter(options_.sync_period, [this, key] { Reconcile(key); });
  const sim::Time now = engine_.Now();
  HorizontalPodAutoscalerStatus status = h->status;
  const Deployment* target = api_.Get<Deployment>(h->target);
  if (target == nullptr) {
    SetCondition(status.conditions, {"AbleToScale", false, "FailedGetScale",
                                     "the HPA controller was unable to get the target's current "
                                     "scale: Deployment " +
                                         h->target + " not found"});
  } else {
    SetCondition(status.conditions, {"AbleToScale", true, "SucceededGetScale",
                                     "the HPA controller was able to get the target's current "
                                     "scale"});
    const std::int32_t current = target->replicas;
    if (!records_.count(key)) Record(key, current, 0);  // from the first sync on
    hpa::ScaleHistory& history = history_[key];
    history.RecordInitial(current, now);
    std::int32_t desired = current;
    bool rescale = false;
    std::string reason;
    bool computed = true;
    if (current == 0 && h->min_replicas != 0) {
      SetCondition(status.conditions,
                   {"ScalingActive", false, "ScalingDisabled",
                    "scaling is disabled since the replica count of the target is zero"});
    } else if (current > h->max_replicas) {
      desired = h->max_replicas;
      reason = "Current number of replicas above Spec.MaxReplicas";
      rescale = true;
    } else if (current < h->min_replicas) {
      desired = h->min_replicas;
      reason = "Current number of replicas below Spec.MinReplicas";
      rescale = true;
    } else {
      // computeReplicasForMetrics: the largest proposal wins; too many
      // invalid metrics stop the sync.
      const std::vector<hpa::PodState> pods = PodsOf(h->target);
      std::int32_t proposal = 0;
      std::string metric_name, first_error;
      const char* failed_reason = "";
      int invalid = 0;
      for (const hpa::MetricSpec& m : h->metrics) {
        const hpa::Proposal p = ProposalFor(m, *h, *target, pods);
        if (&m == &h->metrics.front()) {
          const bool percent = m.target == hpa::MetricSpec::Target::kUtilization;
          // A memory proposal's usage is in bytes, the others' in milli-units.
          const double unit =
              m.source == hpa::MetricSpec::Source::kResource && m.resource == "memory" ? 1.0
                                                                                       : 1000.0;
          first_metric_[key] = {
              !p.ok     ? std::numeric_limits<double>::quiet_NaN()
              : percent ? p.utilization
                        : static_cast<double>(p.usage) / unit,
              percent ? m.average_utilization : static_cast<double>(m.value_milli) / 1000.0};
        }
        if (!p.ok) {
          if (invalid++ == 0) {
            first_error = p.error;
            failed_reason = FailedReason(m.source);
          }
        } else if (proposal == 0 || p.replicas > proposal) {
          proposal = p.replicas;
          metric_name = MetricName(m);
        }
      }
      const int n = static_cast<int>(h->metrics.size());
      if (invalid >= n || (invalid > 0 && proposal < current)) {
        computed = false;
        SetCondition(status.conditions,
                     {"ScalingActive", false, failed_reason,
                      "the HPA was unable to compute the replica count: " + first_error});
        events_.Emit({now,
                      "FailedComputeMetricsReplicas",
                      "HorizontalPodAutoscaler",
                      key,
                      "invalid metrics (" + std::to_string(invalid) + " invalid out of " +
                          std::to_string(n) + "), first error is: " + first_error,
                      {}});
      } else {
        SetCondition(
            status.conditions,
            {"ScalingActive", true, "ValidMetricFound",
             "the HPA was able to successfully calculate a replica count from " + metric_name});
        const std::int32_t metric_desired = std::max(0, proposal);
        if (metric_desired > current) reason = metric_name + " above target";
        if (metric_desired < current) reason = "All metrics below target";
        const hpa::Normalized normalized =
            h->behavior
                ? hpa::NormalizeWithBehavior(history, *h->behavior, current, metric_desired,
                                             h->min_replicas, h->max_replicas, now,
                                             options_.downscale_stabilization)
                : hpa::NormalizeLegacy(history, current, metric_desired, h->min_replicas,
                                       h->max_replicas, now, options_.downscale_stabilization);
        desired = normalized.replicas;
        SetCondition(status.conditions, normalized.able_to_scale);
        SetCondition(status.conditions, normalized.scaling_limited);
        rescale = desired != current;
      }
    }
    if (computed) {
      Record(key, rescale ? desired : current, rescale ? (desired > current ? 1 : -1) : 0);
      if (rescale) {
        api_.Patch<Deployment>(h->target, [desired](Deployment& d) { d.replicas = desired; });
        events_.Emit({now,
                      "SuccessfulRescale",
                      "HorizontalPodAutoscaler",
                      key,
                      "New size: " + std::to_string(desired) + "; reason: " + reason,
                      {{"from", std::to_string(current)}, {"to", std::to_string(desired)}}});
        if (h->behavior) history.StoreScaleEvent(*h->behavior, current, desired, now);
        SetCondition(status.conditions, {"AbleToScale", true, "SucceededRescale",
                                         "the HPA controller was able to update the target "
                                         "scale to " +
                                             std::to_string(desired)});
        status.last_scale_time = now;
      } else {
        desired = current;
      }
      status.current_replicas = target->status.replicas;
      status.desired_replicas = desired;
    }
  }
  if (status != h->status) {
    EmitConditionChanges(key, h->status.conditions, status.conditions);
    api_.Patch<HorizontalPodAutoscaler>(
        key, [status](HorizontalPodAutoscaler& a) { a.status = status; });
  }
}

// A condition that changed, as an event of its reason and message (what
// `kubectl describe hpa` shows; upstream writes it to the status only):
// ScalingActive and ScalingLimited whenever their status or reason
// changes, AbleToScale when it turns or stays false for a new reason.
void HorizontalPodAutoscalerController::EmitConditionChanges(
    const std::string& key, const std::vector<hpa::Condition>& before,
    const std::vector<hpa::Condition>& after) {
  for (const hpa::Condition& c : after) {
    const auto old = std::find_if(before.begin(), before.end(),
                                  [&](const hpa::Condition& b) { return b.type == c.type; });
    const bool changed = old == before.end() || old->status != c.status || old->reason != c.reason;
    if (!changed || (c.type == "AbleToScale" && c.status)) continue;
    events_.Emit({engine_.Now(),
                  c.reason,
                  "HorizontalPodAutoscaler",
                  key,
                  c.message,
                  {{"condition", c.type}, {"status", c.status ? "True" : "False"}}});
  }
}

}  // namespace platsim::platform
