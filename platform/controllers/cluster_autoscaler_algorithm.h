// The arithmetic of the cluster autoscaler, as upstream computes it
// (kubernetes/autoscaler cluster-autoscaler 1.36.1, commit 35e8a28): the
// binpacking estimate of how many nodes of a group pending pods need, the
// least-waste expander, and a node's utilization for scale-down. Pure
// functions, checked against examples worked out by hand from upstream's
// rules; the controller is built on them.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_ALGORITHM_H_
#define PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_ALGORITHM_H_

#include <cstdint>
#include <vector>

#include "platform/objects.h"

namespace platsim::platform::ca {

// True if a pod requesting `pod` fits a node of `allocatable` with `used`
// requested already (cpu, memory, GPUs and the pod count).
bool FitsResources(const Resources& allocatable, const Resources& used, const Resources& pod);

// The binpacking estimate (estimator/binpacking_estimator.go, First-Fit
// Decreasing): equivalence groups of pods (each group's pods alike) are
// taken in decreasing order of their first pod's cpu/allocatable +
// memory/allocatable (ties in the given order); a group's pods first go to
// the new nodes already added (first that fits), then each to the last
// node added, else to a node added for it, while fewer than `limit` nodes
// are added; a group stops when its pod does not fit even an empty node.
// Once the limit is reached no node is added, but later groups still go
// onto the nodes added. `nodes` counts the new nodes that hold a pod;
// `placed[g]` the pods of group g placed.
struct Estimate {
  int nodes = 0;
  std::vector<int> placed;
};
Estimate EstimateNodes(const std::vector<std::vector<Resources>>& groups,
                       const Resources& allocatable, int limit);

// least-waste (expander/waste/waste.go): the option's unused share of cpu
// plus its unused share of memory over `nodes` nodes of `allocatable`,
// given what the pods it helps request. Lowest wins.
double WasteScore(const Resources& allocatable, int nodes, const Resources& requested);

// A node's utilization for scale-down (simulator/utilization/info.go): on
// a GPU node the share of its GPUs requested (0 if none is allocatable
// yet), else the larger of its cpu and memory shares.
double Utilization(const Resources& allocatable, const Resources& requested, bool gpu_node);

}  // namespace platsim::platform::ca

#endif  // PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_ALGORITHM_H_
