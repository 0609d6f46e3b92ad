// The scheduler: binds each pending pod to a node.
//
// Filter, in the default profile's order (a node counts under the first
// plugin that rejects it): the node is Ready; TaintToleration (every
// NoSchedule and NoExecute taint tolerated); NodeAffinity (nodeSelector and
// required node affinity, platform/placement.h); NodeResourcesFit (its
// allocatable cpu, memory, nvidia.com/gpu and pod count cover what its pods
// already request plus this pod). GPUs are whole devices, never overcommitted.
// Score, as the default profile of kubernetes/kubernetes
// pkg/scheduler/framework/plugins/noderesources does it, in integers:
// - NodeResourcesFit with LeastAllocated (weight 1): per resource
//   (allocatable - requested) * 100 / allocatable, averaged over cpu and
//   memory with equal weights; pods without requests count as 100m cpu and
//   200Mi memory (the non-zero defaults used in scoring only);
// - BalancedAllocation (weight 1): (1 - std of the requested fractions) * 100;
// - TaintToleration (weight 3): intolerable PreferNoSchedule taints,
//   normalized over the feasible nodes, fewest best;
// - NodeAffinity (weight 2): the matched preferred terms' weights,
//   normalized over the feasible nodes (only for pods with preferred terms);
// - ImageLocality (weight 1): the size of the pod's image if the node has
//   it, scaled by the fraction of nodes that have it (against "node
//   heating"), mapped from [23MiB, 1000MiB x containers] onto 0..100
//   (plugins/imagelocality/image_locality.go). Only the model server's
//   image is known, with the size its model server gives.
// The node score is the weighted sum; ties are broken at random among the
// best (reservoir sampling, as selectHost), from the scheduler's own stream.
// A cycle examines nodes from where the last one stopped until it has found
// numFeasibleNodesToFind feasible ones (all of them under 100 nodes).
// Other plugins (topology spread, inter-pod affinity) are not simulated yet, nor is preemption (no
// "preemption:" suffix). A pod that fits nowhere is marked Unschedulable and retried when a pod is
// deleted or a node is added, and at least every 5 minutes
// (podMaxInUnschedulablePodsDuration).
#ifndef PLATSIM_PLATFORM_SCHEDULER_H_
#define PLATSIM_PLATFORM_SCHEDULER_H_

#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "platform/api_server.h"
#include "platform/controller.h"

namespace platsim::platform {

class Scheduler : public Reconciler {
 public:
  static constexpr sim::Time kUnschedulableRetry = 5 * sim::kMinute;
  static constexpr std::int64_t kDefaultCpuMilli = 100;
  static constexpr std::int64_t kDefaultMemoryBytes = 200LL * 1024 * 1024;
  // framework.MaxNodeScore and the default profile's plugin weights.
  static constexpr std::int64_t kMaxNodeScore = 100;
  static constexpr std::int64_t kTaintTolerationWeight = 3;
  static constexpr std::int64_t kNodeAffinityWeight = 2;
  static constexpr std::int64_t kImageLocalityWeight = 1;
  // imagelocality's bounds of the summed image score, per container for
  // the upper one.
  static constexpr std::int64_t kMiB = 1024 * 1024;
  static constexpr std::int64_t kImageMinThreshold = 23 * kMiB;
  static constexpr std::int64_t kImageMaxContainerThreshold = 1000 * kMiB;

  // Borrows everything; registers its watches.
  Scheduler(sim::Engine& engine, ApiServer& api, EventSink& events);

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "Scheduler"; }

  // The score of placing a pod requesting `pod` on a node with `allocatable`
  // whose pods already request `used`. Exposed for tests.
  static std::int64_t Score(const Resources& allocatable, const Resources& used,
                            const Resources& pod);
  // How many feasible nodes a cycle looks for before it stops: every node
  // under 100, else (50 - nodes/125)% of them, at least 5% and at least
  // 100 (schedule_one.go numFeasibleNodesToFind, percentageOfNodesToScore
  // left at its adaptive default).
  static constexpr int kMinFeasibleNodesToFind = 100;
  static constexpr int kMinFeasibleNodesPercentageToFind = 5;
  static int NumFeasibleNodesToFind(int all_nodes);
  // What the cache holds as requested on `node`.
  Resources RequestedForTesting(const std::string& node) const {
    const auto it = node_index_.find(node);
    return it == node_index_.end() ? Resources{} : infos_[it->second].requested;
  }
  // ImageLocality's score of a node that has the pod's image (of
  // `size_bytes`, present on `nodes_with_image` of `total_nodes` nodes)
  // for a pod of `containers` containers; 0 if it does not have it.
  static std::int64_t ImageLocalityScore(bool has_image, std::int64_t size_bytes,
                                         int nodes_with_image, int total_nodes, int containers);

 private:
  void RetryUnschedulable();

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  WorkQueue queue_;
  sim::RandomStream rng_;
  // The scheduler cache (upstream's NodeInfo), updated from watch events:
  // per node, what its pods request (bound and not finished, or assumed
  // with the binding in flight) and what the filters and scores read,
  // copied from the node so that a cycle over hundreds of nodes reads one
  // array (the node itself only for its taints and labels when the pod or
  // the node has any). Nodes are numbered at first sight, by name, for
  // good; a node that goes keeps its number and what its pods request.
  struct NodeInfo {
    Resources requested;
    Resources allocatable;
    const Node* node = nullptr;  // into the API server's store; null once deleted
    // status.images as (image number, size), sorted by number.
    std::vector<std::pair<int, std::int64_t>> images;
    std::size_t taints = 0;
    bool ready = false;
  };
  int IndexOf(const std::string& node_name);
  int ImageNumber(const std::string& image);
  void Account(const std::string& pod_key, const Pod* pod);
  std::unordered_map<std::string, int> node_index_;
  std::vector<NodeInfo> infos_;
  // What each pod counts for on which node.
  std::unordered_map<std::string, std::pair<int, Resources>> counted_;
  std::map<std::string, std::string> assumed_;  // pod key -> node, binding in flight
  std::set<std::string> unschedulable_;
  // The nodes' numbers in name order (refreshed when a node comes or goes)
  // and where the next cycle starts.
  std::vector<int> nodes_;
  bool nodes_changed_ = true;
  std::size_t next_start_ = 0;
  // Images by number, and how many nodes have each (ImageStateSummary.NumNodes).
  std::unordered_map<std::string, int> image_numbers_;
  std::vector<int> nodes_with_image_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SCHEDULER_H_
