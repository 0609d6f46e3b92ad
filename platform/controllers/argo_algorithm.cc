#include "platform/controllers/argo_algorithm.h"

#include <algorithm>
#include <cmath>

namespace platsim::platform::argo {

int MaxSurge(const ArgoRollout& r) {
  if (r.blue_green) return 0;
  return rollout::ResolveFenceposts(r.max_surge, r.max_unavailable, r.replicas).first;
}

int MaxUnavailable(const ArgoRollout& r) {
  if (r.replicas == 0) return 0;
  const IntOrPercent surge = r.blue_green ? IntOrPercent{0, false} : r.max_surge;
  return std::min(rollout::ResolveFenceposts(surge, r.max_unavailable, r.replicas).second,
                  r.replicas);
}

namespace {

// floorCeilingTied and weightDelta, in upstream's floating point so that
// ties break as they do there.
bool Tied(int weight, int max_weight, int total) {
  double whole = 0;
  const double frac = std::modf(
      static_cast<double>(total) * (static_cast<double>(weight) / static_cast<double>(max_weight)),
      &whole);
  return frac == 0.5;
}

double WeightDelta(int weight, int max_weight, int canary, int total) {
  const double actual = static_cast<double>(canary * max_weight) / static_cast<double>(total);
  return std::abs(actual - static_cast<double>(weight));
}

// GetReplicasForScaleDown.
int ForScaleDown(const rollout::Set* s, bool ignore_availability) {
  if (s == nullptr) return 0;
  if (s->replicas < s->available || ignore_availability) return s->replicas;
  return s->available;
}

// adjustReplicaWithinLimits: `adjust` back within maxSurge, but not below
// what keeps minAvailable; then `drain` down by what is still over.
std::pair<int, int> AdjustWithinLimits(const rollout::Set* drain, const rollout::Set* adjust,
                                       int drain_count, int adjust_count, int max_allowed,
                                       int min_available) {
  int over = std::max(0, adjust_count + drain_count - max_allowed);
  int available = 0;
  if (drain != nullptr) available += std::min(drain->available, drain_count);
  if (adjust != nullptr) {
    adjust_count -= over;
    available += std::min(adjust->available, adjust_count);
    const int extra = std::max(0, adjust->available - adjust_count);
    const int need = std::max(0, min_available - available);
    adjust_count += std::min(extra, need);
    over = std::max(0, adjust_count + drain_count - max_allowed);
    drain_count -= over;
  }
  return {drain_count, adjust_count};
}

// calculateScaleDownReplicaCount.
int ScaleDownCount(const rollout::Set* s, int desired, int scale_down, int count) {
  if (s != nullptr && s->replicas > desired) return std::max(desired, s->replicas - scale_down);
  return count;
}

}  // namespace

std::pair<int, int> ApproximateWeightedCanaryStableReplicaCounts(int replicas, int weight,
                                                                 int max_weight, int surge) {
  if (replicas == 0) return {0, 0};
  const double exact = static_cast<double>(replicas * weight) / static_cast<double>(max_weight);
  const int ceil = static_cast<int>(std::ceil(exact));
  const int floor = static_cast<int>(std::floor(exact));
  const bool zero_allowed = weight == max_weight || weight == 0 || (replicas == 1 && surge == 0);
  std::vector<std::pair<int, int>> options;  // (canary, total)
  if (ceil < replicas || zero_allowed) options.push_back({ceil, replicas});
  if (!Tied(weight, max_weight, replicas) && (floor != 0 || zero_allowed)) {
    options.push_back({floor, replicas});
  }
  if (surge > 0) {
    options.push_back({ceil, replicas + 1});
    if (!Tied(weight, max_weight, replicas + 1) && (floor != 0 || zero_allowed)) {
      options.push_back({floor, replicas + 1});
    }
  }
  if (options.empty()) return {0, replicas};
  std::pair<int, int> best = options[0];
  double best_delta = WeightDelta(weight, max_weight, best.first, best.second);
  for (std::size_t i = 1; i < options.size(); ++i) {
    const double d = WeightDelta(weight, max_weight, options[i].first, options[i].second);
    if (d < best_delta) {
      best = options[i];
      best_delta = d;
    }
  }
  return {best.first, best.second - best.first};
}

Counts BasicCanaryCounts(int replicas, int weight, int surge, int unavailable,
                         const rollout::Set* canary, const rollout::Set* stable,
                         const std::vector<rollout::Set>& others) {
  auto [desired_canary, desired_stable] =
      ApproximateWeightedCanaryStableReplicaCounts(replicas, weight, kMaxWeight, surge);
  Counts out;
  if (canary != nullptr) out.canary = canary->replicas;
  if (stable != nullptr) {
    out.stable = stable->replicas;
  } else {
    desired_canary = replicas;
    desired_stable = 0;
  }
  const int max_allowed = replicas + surge;
  int total = 0;
  for (const rollout::Set& s : others)
    total += s.replicas;
  const int others_total = total;
  if (canary != nullptr) total += canary->replicas;
  if (stable != nullptr) total += stable->replicas;
  int scale_up = max_allowed - total;
  if (stable != nullptr && stable->replicas < desired_stable && scale_up > 0) {
    out.stable = std::min(desired_stable, stable->replicas + scale_up);
    scale_up -= out.stable - stable->replicas;
  }
  if (canary != nullptr && canary->replicas < desired_canary && scale_up > 0) {
    out.canary = std::min(desired_canary, canary->replicas + scale_up);
  }
  // Other ReplicaSets go down first (scaleDownOldReplicaSetsForCanary).
  if (others_total > 0) return out;
  const int min_available = replicas - unavailable;
  const bool increasing = canary == nullptr || desired_canary >= canary->replicas;
  const int to_scale_down = ForScaleDown(canary, !increasing) + ForScaleDown(stable, increasing);
  if (to_scale_down <= min_available) return out;
  const int scale_down = to_scale_down - min_available;
  if (!increasing) {
    out.canary = ScaleDownCount(canary, desired_canary, scale_down, out.canary);
    std::tie(out.canary, out.stable) =
        AdjustWithinLimits(canary, stable, out.canary, out.stable, max_allowed, min_available);
  } else if (stable != nullptr) {
    out.stable = ScaleDownCount(stable, desired_stable, scale_down, out.stable);
    std::tie(out.stable, out.canary) =
        AdjustWithinLimits(stable, canary, out.stable, out.canary, max_allowed, min_available);
  }
  return out;
}

int TrafficWeightToReplicas(int replicas, int weight, int max_weight) {
  return static_cast<int>(std::ceil(static_cast<double>(weight) * static_cast<double>(replicas) /
                                    static_cast<double>(max_weight)));
}

int CurrentSetWeight(const ArgoRollout& r) {
  if (r.status.abort) return 0;
  const int index = r.status.step_index;
  if (index >= static_cast<int>(r.steps.size())) return kMaxWeight;
  for (int i = index; i >= 0; --i) {
    if (r.steps[static_cast<std::size_t>(i)].kind == CanaryStep::Kind::kSetWeight) {
      return r.steps[static_cast<std::size_t>(i)].weight;
    }
  }
  return 0;
}

const CanaryStep* SetCanaryScale(const ArgoRollout& r) {
  if (!r.traffic_routing) return nullptr;
  if (r.status.abort && r.abort_scale_down_delay != 0) return nullptr;
  const int index = std::min(r.status.step_index, static_cast<int>(r.steps.size()) - 1);
  for (int i = index; i >= 0; --i) {
    const CanaryStep& s = r.steps[static_cast<std::size_t>(i)];
    if (s.kind == CanaryStep::Kind::kSetCanaryScale) {
      return s.match_traffic_weight ? nullptr : &s;
    }
  }
  return nullptr;
}

}  // namespace platsim::platform::argo
