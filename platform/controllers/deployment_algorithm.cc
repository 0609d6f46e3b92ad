#include "platform/controllers/deployment_algorithm.h"

#include <algorithm>

namespace platsim::platform::rollout {

int Scaled(const IntOrPercent& v, int total, bool round_up) {
  // At most kMaxScaled, so that replicas + surge cannot overflow.
  if (!v.percent) return std::min(v.value, kMaxScaled);
  const std::int64_t scaled = std::int64_t{v.value} * total;
  return static_cast<int>(
      std::min<std::int64_t>(round_up ? (scaled + 99) / 100 : scaled / 100, kMaxScaled));
}

std::pair<int, int> ResolveFenceposts(const IntOrPercent& surge, const IntOrPercent& unavailable,
                                      int desired) {
  const int s = Scaled(surge, desired, true);
  int u = Scaled(unavailable, desired, false);
  // "If both fenceposts resolve to zero, then we should set maxUnavailable
  // to 1": otherwise the rollout could never move.
  if (s == 0 && u == 0) u = 1;
  return {s, u};
}

int MaxUnavailable(const Deployment& d) {
  if (d.recreate || d.replicas == 0) return 0;
  const int u = ResolveFenceposts(d.max_surge, d.max_unavailable, d.replicas).second;
  return std::min(u, d.replicas);
}

int MaxSurge(const Deployment& d) {
  if (d.recreate) return 0;
  return ResolveFenceposts(d.max_surge, d.max_unavailable, d.replicas).first;
}

std::vector<int> ProportionalScale(const Deployment& d, int status_replicas,
                                   const std::vector<ScaledSet>& sets, int fresh) {
  std::vector<int> out;
  for (const ScaledSet& s : sets)
    out.push_back(s.replicas);
  std::vector<std::size_t> active;
  for (std::size_t i = 0; i < sets.size(); ++i) {
    if (sets[i].replicas > 0) active.push_back(i);
  }
  auto older = [&](std::size_t a, std::size_t b) {
    return sets[a].created != sets[b].created ? sets[a].created < sets[b].created
                                              : sets[a].name < sets[b].name;
  };
  // FindActiveOrLatest.
  if (!sets.empty() && active.size() <= 1) {
    std::size_t pick = 0;
    if (active.size() == 1) {
      pick = active[0];
    } else if (fresh >= 0) {
      pick = static_cast<std::size_t>(fresh);
    } else {
      for (std::size_t i = 1; i < sets.size(); ++i) {
        if (older(pick, i)) pick = i;
      }
    }
    out[pick] = d.replicas;
    return out;
  }
  // IsSaturated: the old ones to 0.
  if (fresh >= 0) {
    const ScaledSet& f = sets[static_cast<std::size_t>(fresh)];
    if (f.replicas == d.replicas && f.desired_replicas == d.replicas && f.available == d.replicas) {
      for (const std::size_t i : active) {
        if (static_cast<int>(i) != fresh) out[i] = 0;
      }
      return out;
    }
  }
  if (d.recreate) return out;
  int total = 0;
  for (const std::size_t i : active)
    total += sets[i].replicas;
  const int allowed = d.replicas > 0 ? d.replicas + MaxSurge(d) : 0;
  const int to_add = allowed - total;
  if (to_add == 0) return out;
  // ReplicaSetsBySizeNewer when growing, BySizeOlder when shrinking.
  std::sort(active.begin(), active.end(), [&](std::size_t a, std::size_t b) {
    if (sets[a].replicas != sets[b].replicas) return sets[a].replicas > sets[b].replicas;
    return to_add > 0 ? older(b, a) : older(a, b);
  });
  int added = 0;
  for (const std::size_t i : active) {
    const ScaledSet& s = sets[i];
    // GetProportion and getReplicaSetFraction.
    int proportion = 0;
    if (s.replicas != 0 && to_add != added) {
      int fraction;
      if (d.replicas == 0) {
        fraction = -s.replicas;
      } else {
        const int annotated = s.max_replicas >= 0 ? s.max_replicas : status_replicas;
        const double size = annotated > 0 ? static_cast<double>(s.replicas) *
                                                static_cast<double>(d.replicas + MaxSurge(d)) /
                                                static_cast<double>(annotated)
                                          : 0.0;
        fraction = static_cast<int>(size + 0.5) - s.replicas;  // integer.RoundToInt32
      }
      const int allowed_left = to_add - added;
      proportion = to_add > 0 ? std::min(fraction, allowed_left) : std::max(fraction, allowed_left);
    }
    out[i] = s.replicas + proportion;
    added += proportion;
  }
  const std::size_t first = active[0];
  out[first] = std::max(0, out[first] + to_add - added);
  return out;
}

int NewRSNewReplicas(const Deployment& d, int all_replicas, int new_replicas) {
  if (d.recreate) return d.replicas;
  const int max_total = d.replicas + MaxSurge(d);
  if (all_replicas >= max_total) return new_replicas;  // cannot scale up
  const int up = std::min(max_total - all_replicas, d.replicas - new_replicas);
  return new_replicas + up;
}

int CleanupUnhealthyReplicas(const std::vector<Set>& old_sets, int max_cleanup,
                             std::vector<int>& replicas) {
  int cleaned = 0;
  for (std::size_t i = 0; i < old_sets.size(); ++i) {
    if (cleaned >= max_cleanup) break;
    const Set& s = old_sets[i];
    if (s.replicas == 0 || s.replicas == s.available) continue;  // nothing unhealthy
    // More available than wanted (a status from before a scale-down):
    // upstream refuses the "scale down" to more, and nothing is scaled.
    if (s.available > s.replicas) return -1;
    const int down = std::min(max_cleanup - cleaned, s.replicas - s.available);
    replicas[i] -= down;
    cleaned += down;
  }
  return cleaned;
}

int ScaleDownOldReplicaSetsForRollingUpdate(const Deployment& d, int available,
                                            std::vector<int>& replicas) {
  const int min_available = d.replicas - MaxUnavailable(d);
  if (available <= min_available) return 0;  // cannot scale down
  const int to_scale_down = available - min_available;
  int scaled = 0;
  for (int& r : replicas) {
    if (scaled >= to_scale_down) break;
    if (r == 0) continue;
    const int down = std::min(r, to_scale_down - scaled);
    r -= down;
    scaled += down;
  }
  return scaled;
}

ScaleDown ReconcileOldReplicaSets(const Deployment& d, const std::vector<Set>& old_sets,
                                  const Set& new_set) {
  ScaleDown out;
  for (const Set& s : old_sets)
    out.replicas.push_back(s.replicas);
  int old_count = 0;
  for (const Set& s : old_sets)
    old_count += s.replicas;
  if (old_count == 0) return out;  // cannot scale down further
  const int all_count = old_count + new_set.replicas;
  const int max_unavailable = MaxUnavailable(d);
  // Only unavailable pods of the new ReplicaSet hold back a scale-down
  // beyond what maxUnavailable and the surge allow.
  const int min_available = d.replicas - max_unavailable;
  const int new_unavailable = new_set.replicas - new_set.available;
  const int max_scaled_down = all_count - min_available - new_unavailable;
  if (max_scaled_down <= 0) return out;

  out.cleaned = CleanupUnhealthyReplicas(old_sets, max_scaled_down, out.replicas);
  if (out.cleaned < 0) {  // reconcileOldReplicaSets returns without scaling
    out.cleaned = 0;
    for (std::size_t i = 0; i < old_sets.size(); ++i)
      out.replicas[i] = old_sets[i].replicas;
    return out;
  }
  int available = new_set.available;
  for (const Set& s : old_sets)
    available += s.available;
  out.scaled = ScaleDownOldReplicaSetsForRollingUpdate(d, available, out.replicas);
  return out;
}

}  // namespace platsim::platform::rollout
