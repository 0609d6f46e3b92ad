// The arithmetic of a Deployment rollout, as kubernetes/kubernetes
// pkg/controller/deployment computes it, on plain numbers so that it can be
// checked against upstream's test tables (rolling_test.go,
// util/deployment_util_test.go). The controller (deployment.h) applies it to
// ReplicaSet objects.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_ALGORITHM_H_
#define PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_ALGORITHM_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "platform/objects.h"

namespace platsim::platform::rollout {

// intstr.GetScaledValueFromIntOrPercent: a count as it is, a percent of
// `total` rounded up or down; at most kMaxScaled (beyond any Deployment).
inline constexpr int kMaxScaled = 1'000'000;
int Scaled(const IntOrPercent& v, int total, bool round_up);

// deployment_util.go ResolveFenceposts: (maxSurge rounded up,
// maxUnavailable rounded down), and maxUnavailable 1 if both are 0.
std::pair<int, int> ResolveFenceposts(const IntOrPercent& surge, const IntOrPercent& unavailable,
                                      int desired);

// deployment_util.go MaxUnavailable and MaxSurge: 0 for Recreate or no
// replicas (MaxUnavailable), at most the replicas (MaxUnavailable).
int MaxUnavailable(const Deployment& d);
int MaxSurge(const Deployment& d);

// One ReplicaSet as the rollout sees it.
struct Set {
  int replicas = 0;   // spec.replicas
  int available = 0;  // status.availableReplicas
};

// deployment_util.go NewRSNewReplicas: the new ReplicaSet's replicas for a
// rolling update, with `all_replicas` the spec replicas of every ReplicaSet
// (the new one's included) and `new_replicas` the new one's; Recreate: the
// Deployment's replicas.
int NewRSNewReplicas(const Deployment& d, int all_replicas, int new_replicas);

// rolling.go cleanupUnhealthyReplicas: oldest first, each old ReplicaSet
// down by its unhealthy replicas (spec beyond available), within
// `max_cleanup` in all. Returns how many; `replicas` (one per set) is
// lowered in place; -1 (and nothing lowered that counts) if a set has more
// available than replicas, which upstream refuses as a scale-up.
int CleanupUnhealthyReplicas(const std::vector<Set>& old_sets, int max_cleanup,
                             std::vector<int>& replicas);
// rolling.go scaleDownOldReplicaSetsForRollingUpdate: while more than
// replicas - maxUnavailable are available (`available`: every ReplicaSet's,
// as their status says), oldest first. Returns how many; `replicas` is
// lowered in place.
int ScaleDownOldReplicaSetsForRollingUpdate(const Deployment& d, int available,
                                            std::vector<int>& replicas);

// rolling.go reconcileOldReplicaSets, with cleanupUnhealthyReplicas and
// scaleDownOldReplicaSetsForRollingUpdate: the old ReplicaSets' new
// replicas, given them oldest first (ReplicaSetsByCreationTimestamp) and
// the new one. Unhealthy replicas (spec beyond available) go first, then
// available ones while more than replicas - maxUnavailable are available.
struct ScaleDown {
  std::vector<int> replicas;  // per old ReplicaSet, in the order given
  int cleaned = 0;            // unhealthy replicas removed
  int scaled = 0;             // available replicas removed after
};
ScaleDown ReconcileOldReplicaSets(const Deployment& d, const std::vector<Set>& old_sets,
                                  const Set& new_set);

// sync.go scale, for a Deployment resized while several of its
// ReplicaSets have replicas (a rollout, a paused Deployment): every
// active ReplicaSet grows or shrinks in proportion to its size
// (deployment_util.go GetProportion: its size x (replicas + maxSurge) /
// its max-replicas annotation, rounded, within what is left to add), the
// largest first (newer first among equals when growing, older when
// shrinking), and the rounding's leftover goes to the first. A lone
// active ReplicaSet (or, with none, the new one or the newest) takes the
// replicas; a saturated new one leaves the old ones at 0.
struct ScaledSet {
  int replicas = 0;
  int available = 0;
  int max_replicas = -1;  // the annotation; -1: none (the Deployment's status.replicas is used)
  int desired_replicas = -1;
  sim::Time created = 0;
  std::string name;
};
// `sets` are the Deployment's ReplicaSets, `fresh` the index of the new one
// (or -1); returns each one's replicas, in the order given.
std::vector<int> ProportionalScale(const Deployment& d, int status_replicas,
                                   const std::vector<ScaledSet>& sets, int fresh);

}  // namespace platsim::platform::rollout

#endif  // PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_ALGORITHM_H_
