// The scheduler: binds each pending pod to a node.
//
// Filter (NodeResourcesFit, NodeUnschedulable): the node is Ready and its
// allocatable cpu, memory, nvidia.com/gpu and pod count cover what its pods
// already request plus this pod. GPUs are whole devices, never overcommitted.
// Score, as the default profile of kubernetes/kubernetes
// pkg/scheduler/framework/plugins/noderesources does it, in integers:
// - NodeResourcesFit with LeastAllocated (weight 1): per resource
//   (allocatable - requested) * 100 / allocatable, averaged over cpu and
//   memory with equal weights; pods without requests count as 100m cpu and
//   200Mi memory (the non-zero defaults used in scoring only);
// - BalancedAllocation (weight 1): (1 - std of the requested fractions) * 100.
// The node score is the weighted sum; ties are broken at random among the
// best (reservoir sampling, as selectHost), from the scheduler's own stream.
// Other plugins (taints, affinity, topology spread, image locality) are not
// simulated yet.
// A pod that fits nowhere is marked Unschedulable and retried when a pod is
// deleted or a node is added, and at least every 5 minutes
// (podMaxInUnschedulablePodsDuration).
#ifndef PLATSIM_PLATFORM_SCHEDULER_H_
#define PLATSIM_PLATFORM_SCHEDULER_H_

#include <map>
#include <set>
#include <string>

#include "platform/api_server.h"
#include "platform/controller.h"

namespace platsim::platform {

class Scheduler : public Reconciler {
 public:
  static constexpr sim::Time kUnschedulableRetry = 5 * sim::kMinute;
  static constexpr std::int64_t kDefaultCpuMilli = 100;
  static constexpr std::int64_t kDefaultMemoryBytes = 200LL * 1024 * 1024;

  // Borrows everything; registers its watches.
  Scheduler(sim::Engine& engine, ApiServer& api, EventSink& events);

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "Scheduler"; }

  // The score of placing a pod requesting `pod` on a node with `allocatable`
  // whose pods already request `used`. Exposed for tests.
  static std::int64_t Score(const Resources& allocatable, const Resources& used,
                            const Resources& pod);

 private:
  void RetryUnschedulable();

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  WorkQueue queue_;
  sim::RandomStream rng_;
  std::map<std::string, std::string> assumed_;  // pod key -> node, binding in flight
  std::set<std::string> unschedulable_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SCHEDULER_H_
