#include "platform/controllers/hpa_algorithm.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <set>
#include <utility>

namespace platsim::platform::hpa {
namespace {

constexpr std::int32_t kMaxInt32 = std::numeric_limits<std::int32_t>::max();
constexpr std::int32_t kMinInt32 = std::numeric_limits<std::int32_t>::min();

Proposal Error(std::string message) {
  Proposal p;
  p.error = std::move(message);
  return p;
}

// ceil(x) as an int32, capped at the largest int32 (upstream caps its
// products at math.MaxInt32).
std::int32_t CeilInt32(double x) {
  const double c = std::ceil(x);
  if (!(c < static_cast<double>(kMaxInt32))) return kMaxInt32;
  return static_cast<std::int32_t>(c);
}

// replica_calculator.go groupPods.
struct PodGroups {
  int ready = 0;
  std::set<std::string> unready, missing, ignored;
};

PodGroups GroupPods(const std::vector<PodState>& pods, const PodMetrics& metrics, bool cpu,
                    sim::Time now, const ControllerOptions& options) {
  PodGroups g;
  for (const PodState& pod : pods) {
    if (pod.deleting || pod.phase == PodPhase::kFailed) {
      g.ignored.insert(pod.name);
      continue;
    }
    if (pod.phase == PodPhase::kPending) {
      g.unready.insert(pod.name);
      continue;
    }
    const auto metric = metrics.find(pod.name);
    if (metric == metrics.end()) {
      g.missing.insert(pod.name);
      continue;
    }
    if (cpu) {
      bool unready;
      if (!pod.has_ready_condition || !pod.start_time) {
        unready = true;
      } else if (*pod.start_time + options.cpu_initialization_period > now) {
        // Still initialising: a sample taken before the pod's readiness
        // last changed (plus the sample's window) is not trusted.
        unready =
            !pod.ready || metric->second.timestamp < pod.ready_transition + metric->second.window;
      } else {
        // Not ready now, and never ready since shortly after it started.
        unready =
            !pod.ready && *pod.start_time + options.initial_readiness_delay > pod.ready_transition;
      }
      if (unready) {
        g.unready.insert(pod.name);
        continue;
      }
    }
    ++g.ready;
  }
  return g;
}

void RemoveMetrics(PodMetrics& metrics, const std::set<std::string>& pods) {
  for (const std::string& name : pods)
    metrics.erase(name);
}

// metrics/utilization.go GetResourceUtilizationRatio: the percent is an
// integer (truncated), and the ratio is built from it.
struct Utilization {
  bool ok = false;
  double ratio = 0;
  std::int32_t percent = 0;
  std::int64_t raw = 0;  // mean usage per pod with a request
};

// Sums of pods' metrics: upstream sums in int64 (and would wrap); in 128
// bits no sum of int64 values from at most 2^63 pods overflows.
__extension__ using Int128 = __int128;

Utilization UtilizationRatio(const PodMetrics& metrics,
                             const std::map<std::string, std::int64_t>& requests,
                             std::int32_t target) {
  Int128 metrics_total = 0, requests_total = 0;
  std::int64_t entries = 0;
  for (const auto& [name, metric] : metrics) {
    const auto request = requests.find(name);
    if (request == requests.end()) continue;  // a pod the lister does not know
    metrics_total += metric.value_milli;
    requests_total += request->second;
    ++entries;
  }
  Utilization u;
  if (requests_total == 0) return u;
  u.ok = true;
  const Int128 percent = metrics_total * 100 / requests_total;
  u.percent = static_cast<std::int32_t>(std::min<Int128>(percent, INT32_MAX));
  u.ratio = static_cast<double>(u.percent) / static_cast<double>(target);
  u.raw = static_cast<std::int64_t>(metrics_total / entries);
  return u;
}

// metrics/utilization.go GetMetricUsageRatio.
std::pair<double, std::int64_t> UsageRatio(const PodMetrics& metrics, std::int64_t target) {
  Int128 total = 0;
  for (const auto& [name, metric] : metrics)
    total += metric.value_milli;
  const auto usage = static_cast<std::int64_t>(total / static_cast<Int128>(metrics.size()));
  return {static_cast<double>(usage) / static_cast<double>(target), usage};
}

// The common tail of GetResourceReplicas and calcPlainMetricReplicas: with
// no unready pods to count on a scale-up and no missing metrics, the
// ratio over the ready pods; else missing metrics are filled in (the
// target on a scale-down, 0 on a scale-up), unready pods count as 0 on a
// scale-up, and the recomputed ratio must neither be within tolerance nor
// point the other way. `recompute` gives the ratio of the filled-in metrics.
template <class Fill, class Recompute>
std::int32_t Replicas(std::int32_t current, double ratio, const PodGroups& g, PodMetrics& metrics,
                      const Tolerances& tolerances, Fill fill_missing, Recompute recompute) {
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (tolerances.IsWithin(ratio)) return current;
    return CeilInt32(ratio * g.ready);
  }
  if (!g.missing.empty()) {
    for (const std::string& name : g.missing) {
      if (ratio < 1.0) {
        metrics[name] = PodMetric{fill_missing(name), 0, 0};
      } else if (ratio > 1.0) {
        metrics[name] = PodMetric{0, 0, 0};
      }
    }
  }
  if (scale_up_with_unready) {
    for (const std::string& name : g.unready)
      metrics[name] = PodMetric{0, 0, 0};
  }
  const double new_ratio = recompute(metrics);
  if (tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return current;
  }
  const std::int32_t replicas = CeilInt32(new_ratio * static_cast<double>(metrics.size()));
  if ((new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current)) {
    return current;
  }
  return replicas;
}

const char* LimitMessage(const std::string& reason) {
  if (reason == "ScaleUpLimit")
    return "the desired replica count is increasing faster than the maximum scale rate";
  if (reason == "ScaleDownLimit")
    return "the desired replica count is decreasing faster than the maximum scale rate";
  if (reason == "TooManyReplicas")
    return "the desired replica count is more than the maximum replica count";
  if (reason == "TooFewReplicas")
    return "the desired replica count is less than the minimum replica count";
  return "the desired count is within the acceptable range";
}

Condition Limited(std::int32_t result, std::int32_t stabilized, const std::string& reason) {
  return Condition{"ScalingLimited", result != stabilized, reason, LimitMessage(reason)};
}

// getReplicasChangePerPeriod: the replicas changed by events strictly
// inside the last `period_seconds`.
std::int32_t ChangePerPeriod(std::int32_t period_seconds,
                             const std::vector<ScaleHistory::ScaleEvent>& events, sim::Time now) {
  const sim::Time cutoff = now - period_seconds * sim::kSecond;
  std::int32_t change = 0;
  for (const auto& e : events) {
    if (e.at > cutoff) change += e.change;
  }
  return change;
}

// The replica count at the start of a policy's period: the current count
// less what scale events added within it, plus what they removed.
std::int32_t PeriodStart(std::int32_t current, const ScaleHistory& history,
                         std::int32_t period_seconds, sim::Time now) {
  return current - ChangePerPeriod(period_seconds, history.up_events, now) +
         ChangePerPeriod(period_seconds, history.down_events, now);
}

// The start every per-pod calculation shares (GetResourceReplicas,
// GetMetricReplicas): the pods grouped, and the metrics of the ready pods
// with one; or upstream's error when there are no pods or no such metrics.
struct Grouped {
  PodGroups groups;
  PodMetrics metrics;
  std::string error;
};

Grouped GroupWithMetrics(const std::vector<PodState>& pods, const PodMetrics& metrics, bool cpu,
                         sim::Time now, const ControllerOptions& options) {
  Grouped out;
  if (pods.empty()) {
    out.error = "no pods returned by selector while calculating replica count";
    return out;
  }
  out.groups = GroupPods(pods, metrics, cpu, now, options);
  // The metrics of the target's pods only: upstream's metrics client lists
  // them by the target's selector (metrics/client.go GetResourceMetric,
  // GetRawMetric), never those of other workloads.
  for (const PodState& pod : pods) {
    if (const auto it = metrics.find(pod.name); it != metrics.end()) out.metrics.insert(*it);
  }
  RemoveMetrics(out.metrics, out.groups.ignored);
  RemoveMetrics(out.metrics, out.groups.unready);
  if (out.metrics.empty()) {
    out.error = "did not receive metrics for targeted pods (pods might be unready)";
  }
  return out;
}

}  // namespace

Proposal ResourceUtilizationReplicas(std::int32_t current_replicas, std::int32_t target_utilization,
                                     const std::vector<PodState>& pods, const PodMetrics& metrics,
                                     bool cpu, sim::Time now, const ControllerOptions& options) {
  Grouped grouped = GroupWithMetrics(pods, metrics, cpu, now, options);
  if (!grouped.error.empty()) return Error(grouped.error);
  const PodGroups& g = grouped.groups;
  PodMetrics& m = grouped.metrics;
  // calculateRequests: every listed pod's request.
  std::map<std::string, std::int64_t> requests;
  for (const PodState& pod : pods) {
    if (pod.request_milli <= 0) {
      // cpu, or memory: the one other resource with a Utilization target.
      return Error(std::string("missing request for ") + (cpu ? "cpu" : "memory") + " in Pod " +
                   pod.name);
    }
    requests[pod.name] = pod.request_milli;
  }
  const Utilization first = UtilizationRatio(m, requests, target_utilization);
  if (!first.ok) return Error("no metrics returned matched known pods");
  // Missing pods on a scale-down count at the target, at least 100% of
  // their request (GetResourceReplicas' fallbackUtilization).
  const std::int64_t fallback = std::max<std::int64_t>(100, target_utilization);
  Proposal p;
  p.ok = true;
  p.utilization = first.percent;
  p.usage = first.raw;
  p.replicas = Replicas(
      current_replicas, first.ratio, g, m, options.tolerances,
      [&](const std::string& name) {
        const Int128 fill = Int128{requests.at(name)} * fallback / 100;
        return static_cast<std::int64_t>(std::min<Int128>(fill, INT64_MAX));
      },
      [&](const PodMetrics& filled) {
        return UtilizationRatio(filled, requests, target_utilization).ratio;
      });
  return p;
}

Proposal AverageValueReplicas(std::int32_t current_replicas, std::int64_t target_milli,
                              const std::vector<PodState>& pods, const PodMetrics& metrics,
                              bool cpu, sim::Time now, const ControllerOptions& options) {
  Grouped grouped = GroupWithMetrics(pods, metrics, cpu, now, options);
  if (!grouped.error.empty()) return Error(grouped.error);
  const PodGroups& g = grouped.groups;
  PodMetrics& m = grouped.metrics;
  const auto [ratio, usage] = UsageRatio(m, target_milli);
  Proposal p;
  p.ok = true;
  p.usage = usage;
  p.replicas = Replicas(
      current_replicas, ratio, g, m, options.tolerances,
      [&](const std::string&) { return target_milli; },
      [&](const PodMetrics& filled) { return UsageRatio(filled, target_milli).first; });
  return p;
}

Proposal ValueReplicas(std::int32_t current_replicas, std::int64_t usage_milli,
                       std::int64_t target_milli, const std::vector<PodState>& pods,
                       const Tolerances& tolerances) {
  // getUsageRatioReplicaCount.
  const double ratio = static_cast<double>(usage_milli) / static_cast<double>(target_milli);
  Proposal p;
  p.ok = true;
  p.usage = usage_milli;
  if (current_replicas == 0) {  // from zero: no tolerance
    p.replicas = CeilInt32(ratio);
    return p;
  }
  if (tolerances.IsWithin(ratio)) {
    p.replicas = current_replicas;
    return p;
  }
  int ready = 0;
  for (const PodState& pod : pods) {
    if (pod.phase == PodPhase::kRunning && pod.has_ready_condition && pod.ready) ++ready;
  }
  p.replicas = CeilInt32(ratio * ready);
  return p;
}

Proposal PerPodValueReplicas(std::int32_t status_replicas, std::int64_t usage_milli,
                             std::int64_t target_average_milli, const Tolerances& tolerances) {
  if (status_replicas <= 0) return Error("the target has no replicas to average over");
  const double usage = static_cast<double>(usage_milli);
  const double ratio = usage / (static_cast<double>(target_average_milli) * status_replicas);
  Proposal p;
  p.ok = true;
  p.replicas = status_replicas;
  if (!tolerances.IsWithin(ratio))
    p.replicas = CeilInt32(usage / static_cast<double>(target_average_milli));
  p.usage = static_cast<std::int64_t>(std::ceil(usage / status_replicas));
  return p;
}

void ScaleHistory::RecordInitial(std::int32_t current, sim::Time now) {
  if (recommendations.empty()) recommendations.push_back({current, now});
}

void ScaleHistory::StoreScaleEvent(const Behavior& behavior, std::int32_t previous,
                                   std::int32_t next, sim::Time now) {
  const bool up = next > previous;
  const ScalingRules& rules = up ? behavior.scale_up : behavior.scale_down;
  std::vector<ScaleEvent>& events = up ? up_events : down_events;
  std::int32_t longest = 0;
  for (const ScalingPolicy& p : rules.policies)
    longest = std::max(longest, p.period_seconds);
  // markScaleEventsOutdated, then reuse the last outdated slot.
  const sim::Time cutoff = now - longest * sim::kSecond;
  int outdated = -1;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].at < cutoff) events[i].outdated = true;
    if (events[i].outdated) outdated = static_cast<int>(i);
  }
  const ScaleEvent event{up ? next - previous : previous - next, now, false};
  if (outdated >= 0) {
    events[static_cast<std::size_t>(outdated)] = event;
  } else {
    events.push_back(event);
  }
}

std::int32_t StabilizeRecommendation(ScaleHistory& history, std::int32_t desired, sim::Time now,
                                     sim::Time window) {
  const sim::Time cutoff = now - window;
  std::int32_t max = desired;
  int old = -1;
  for (std::size_t i = 0; i < history.recommendations.size(); ++i) {
    const auto& r = history.recommendations[i];
    if (r.at < cutoff) {
      old = static_cast<int>(i);
    } else {
      max = std::max(max, r.replicas);
    }
  }
  if (old >= 0) {
    history.recommendations[static_cast<std::size_t>(old)] = {desired, now};
  } else {
    history.recommendations.push_back({desired, now});
  }
  return max;
}

std::pair<std::int32_t, std::string> ConvertWithRules(std::int32_t current, std::int32_t desired,
                                                      std::int32_t min_replicas,
                                                      std::int32_t max_replicas) {
  // calculateScaleUpLimit: max(2 x current, 4).
  const auto up_limit = static_cast<std::int32_t>(std::max(2.0 * current, 4.0));
  std::int32_t max_allowed = max_replicas;
  std::string reason = "TooManyReplicas";
  if (max_replicas > up_limit) {
    max_allowed = up_limit;
    reason = "ScaleUpLimit";
  }
  if (desired < min_replicas) return {min_replicas, "TooFewReplicas"};
  if (desired > max_allowed) return {max_allowed, reason};
  return {desired, "DesiredWithinRange"};
}

Normalized NormalizeLegacy(ScaleHistory& history, std::int32_t current, std::int32_t desired,
                           std::int32_t min_replicas, std::int32_t max_replicas, sim::Time now,
                           sim::Time downscale_stabilization) {
  const std::int32_t stabilized =
      StabilizeRecommendation(history, desired, now, downscale_stabilization);
  Normalized n;
  n.able_to_scale =
      stabilized != desired
          ? Condition{"AbleToScale", true, "ScaleDownStabilized",
                      "recent recommendations were higher than current one, applying the highest "
                      "recent recommendation"}
          : Condition{"AbleToScale", true, "ReadyForNewScale",
                      "recommended size matches current size"};
  const auto [replicas, reason] = ConvertWithRules(current, stabilized, min_replicas, max_replicas);
  n.replicas = replicas;
  n.scaling_limited = Limited(replicas, stabilized, reason);
  return n;
}

namespace {

// calculateScaleUpLimitWithScalingRules and
// calculateScaleDownLimitWithBehaviors: each policy allows a change from
// the count at the start of its period; Max selects the policy that allows
// the largest change, Min the smallest.
std::int32_t PolicyLimit(std::int32_t current, const ScaleHistory& history,
                         const ScalingRules& rules, sim::Time now, bool up) {
  if (rules.select == SelectPolicy::kDisabled) return current;
  // The largest change up is the highest limit; down, the lowest.
  const bool highest = (rules.select == SelectPolicy::kMax) == up;
  std::int32_t result = highest ? kMinInt32 : kMaxInt32;
  for (const ScalingPolicy& p : rules.policies) {
    const std::int32_t start = PeriodStart(current, history, p.period_seconds, now);
    const double fraction = static_cast<double>(p.value) / 100.0;
    std::int32_t proposed;
    if (p.type == PolicyType::kPods) {
      proposed = up ? start + p.value : start - p.value;
    } else if (up) {
      proposed =
          static_cast<std::int32_t>(std::ceil(static_cast<double>(start) * (1.0 + fraction)));
    } else {  // truncated, as upstream's int32 conversion
      proposed = static_cast<std::int32_t>(static_cast<double>(start) * (1.0 - fraction));
    }
    result = highest ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

}  // namespace

std::int32_t ScaleUpLimit(std::int32_t current, const ScaleHistory& history,
                          const ScalingRules& rules, sim::Time now) {
  return PolicyLimit(current, history, rules, now, true);
}

std::int32_t ScaleDownLimit(std::int32_t current, const ScaleHistory& history,
                            const ScalingRules& rules, sim::Time now) {
  return PolicyLimit(current, history, rules, now, false);
}

std::pair<std::int32_t, std::string> ConvertWithBehaviorRate(
    const ScaleHistory& history, const Behavior& behavior, std::int32_t current,
    std::int32_t desired, std::int32_t min_replicas, std::int32_t max_replicas, sim::Time now) {
  if (desired > current) {
    const std::int32_t limit =
        std::max(current, ScaleUpLimit(current, history, behavior.scale_up, now));
    std::int32_t max_allowed = max_replicas;
    std::string reason = "TooManyReplicas";
    if (max_replicas > limit) {
      max_allowed = limit;
      reason = "ScaleUpLimit";
    }
    if (desired > max_allowed) return {max_allowed, reason};
  } else if (desired < current) {
    const std::int32_t limit =
        std::min(current, ScaleDownLimit(current, history, behavior.scale_down, now));
    std::int32_t min_allowed = min_replicas;
    std::string reason = "TooFewReplicas";
    if (min_replicas < limit) {
      min_allowed = limit;
      reason = "ScaleDownLimit";
    }
    if (desired < min_allowed) return {min_allowed, reason};
  }
  return {desired, "DesiredWithinRange"};
}

Normalized NormalizeWithBehavior(ScaleHistory& history, Behavior behavior, std::int32_t current,
                                 std::int32_t desired, std::int32_t min_replicas,
                                 std::int32_t max_replicas, sim::Time now,
                                 sim::Time downscale_stabilization) {
  if (!behavior.scale_down.stabilization_window_seconds) {
    behavior.scale_down.stabilization_window_seconds =
        static_cast<std::int32_t>(downscale_stabilization / sim::kSecond);
  }
  // stabilizeRecommendationWithBehaviors: the lowest recommendation of the
  // scale-up window and the highest of the scale-down window bound the
  // current count.
  const sim::Time up_cutoff =
      now - behavior.scale_up.stabilization_window_seconds.value_or(0) * sim::kSecond;
  const sim::Time down_cutoff =
      now - *behavior.scale_down.stabilization_window_seconds * sim::kSecond;
  std::int32_t up = desired, down = desired;
  int old = -1;
  for (std::size_t i = 0; i < history.recommendations.size(); ++i) {
    const auto& r = history.recommendations[i];
    if (r.at > up_cutoff) up = std::min(up, r.replicas);
    if (r.at > down_cutoff) down = std::max(down, r.replicas);
    if (r.at < up_cutoff && r.at < down_cutoff) old = static_cast<int>(i);
  }
  std::int32_t stabilized = current;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;
  if (old >= 0) {
    history.recommendations[static_cast<std::size_t>(old)] = {desired, now};
  } else {
    history.recommendations.push_back({desired, now});
  }
  Normalized n;
  if (stabilized != desired) {
    n.able_to_scale =
        desired >= current
            ? Condition{"AbleToScale", true, "ScaleUpStabilized",
                        "recent recommendations were lower than current one, applying the lowest "
                        "recent recommendation"}
            : Condition{"AbleToScale", true, "ScaleDownStabilized",
                        "recent recommendations were higher than current one, applying the "
                        "highest recent recommendation"};
  } else {
    n.able_to_scale =
        Condition{"AbleToScale", true, "ReadyForNewScale", "recommended size matches current size"};
  }
  const auto [replicas, reason] = ConvertWithBehaviorRate(history, behavior, current, stabilized,
                                                          min_replicas, max_replicas, now);
  n.replicas = replicas;
  n.scaling_limited = Limited(replicas, stabilized, reason);
  return n;
}

}  // namespace platsim::platform::hpa
