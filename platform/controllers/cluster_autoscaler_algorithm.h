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

// The price expander (expander/price/price.go BestOptions, preferred.go):
// score = suppressed unfitness x (node price x nodes + stabilization) /
// (pods' price + stabilization), lowest wins, all per hour. Unfitness is
// max(preferred/node, node/preferred) of cpu, suppressed as (unfitness - 1)
// x (1 - tanh((nodes - 1) / 15)) + 1, and 1000 for a GPU node (never
// chosen for pods that could go elsewhere). Pods are priced per resource
// (the price model's PodPrice); stabilization is a 500m, 500MiB pod's
// price.
struct PodPricing {  // USD per hour; GCE's base prices (gce_price_info.go)
  double cpu = 0.033174;
  double memory_gib = 0.004446;
  double gpu = 0.700;
};
double PodPricePerHour(const Resources& pod, const PodPricing& pricing);
// The preferred node's cores for a cluster of `nodes` nodes
// (SimplePreferredNodeProvider: 1 up to 2 nodes, 2 up to 6, 4 up to 20, 8
// up to 60, 16 up to 200, then 32), in millicores.
std::int64_t PreferredNodeCpuMilli(int nodes);
double PriceScore(double node_price, int nodes, double pods_price, double stabilization,
                  std::int64_t node_cpu_milli, std::int64_t preferred_cpu_milli, bool gpu_node);

// A node's utilization for scale-down (simulator/utilization/info.go): on
// a GPU node the share of its GPUs requested (0 if none is allocatable
// yet), else the larger of its cpu and memory shares.
double Utilization(const Resources& allocatable, const Resources& requested, bool gpu_node);

}  // namespace platsim::platform::ca

#endif  // PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_ALGORITHM_H_
