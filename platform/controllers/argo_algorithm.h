// The arithmetic of an Argo Rollouts canary, as argoproj/argo-rollouts
// utils/replicaset/canary.go computes it, on plain numbers so that it can be
// checked against upstream's test tables (canary_test.go). The controller
// (argo_rollout.h) applies it to ReplicaSet objects.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_ARGO_ALGORITHM_H_
#define PLATSIM_PLATFORM_CONTROLLERS_ARGO_ALGORITHM_H_

#include <optional>
#include <utility>
#include <vector>

#include "platform/argo.h"
#include "platform/controllers/deployment_algorithm.h"

namespace platsim::platform::argo {

inline constexpr int kMaxWeight = 100;  // without trafficRouting.maxTrafficWeight

// replicaset.go MaxSurge and MaxUnavailable through resolveFenceposts:
// surge rounded up, unavailable down, unavailable 1 if both are 0, at most
// the replicas; blue-green never surges.
int MaxSurge(const ArgoRollout& r);
int MaxUnavailable(const ArgoRollout& r);

// approximateWeightedCanaryStableReplicaCounts: the (canary, stable) pair
// whose canary share of the total is nearest `weight`, over the totals
// `replicas` and, with a surge, `replicas` + 1. A weight of 1-99 never
// rounds the canary to 0 pods unless there is one replica and no surge.
std::pair<int, int> ApproximateWeightedCanaryStableReplicaCounts(int replicas, int weight,
                                                                 int max_weight, int surge);

// CalculateReplicaCountsForBasicCanary, without traffic routing: the
// (canary, stable) replicas one sync moves toward `weight` of `replicas`,
// within maxSurge and maxUnavailable. `stable` is absent when there is no
// stable ReplicaSet or it is the canary; `others` are the rest.
struct Counts {
  int canary = 0, stable = 0;
  bool operator==(const Counts&) const = default;
};
Counts BasicCanaryCounts(int replicas, int weight, int surge, int unavailable,
                         const rollout::Set* canary, const rollout::Set* stable,
                         const std::vector<rollout::Set>& others);

// trafficWeightToReplicas: the canary's pods for a weight with traffic
// routing, ceil(weight x replicas / max weight); the stable stays at the
// replicas (no dynamicStableScale).
int TrafficWeightToReplicas(int replicas, int weight, int max_weight);

// GetCurrentSetWeight: 0 while aborted, the full weight past the last
// step, else the last setWeight at or before the current step (0 if none).
int CurrentSetWeight(const ArgoRollout& r);
// UseSetCanaryScale: the last setCanaryScale at or before the current step,
// unless it follows the traffic weight or the rollout is aborted (with an
// abort scale-down delay); only with traffic routing.
const CanaryStep* SetCanaryScale(const ArgoRollout& r);

}  // namespace platsim::platform::argo

#endif  // PLATSIM_PLATFORM_CONTROLLERS_ARGO_ALGORITHM_H_
