// The ReplicaSet controller: keeps the number of active pods owned by each
// ReplicaSet equal to its spec.replicas, and reports their readiness.
//
// Follows kubernetes/kubernetes pkg/controller/replicaset/replica_set.go:
// - expectations: after issuing creates or deletes for a ReplicaSet, it is
//   not synced again until the watch has shown them all (or 5 minutes pass),
//   so writes in flight are never issued twice;
// - at most burstReplicas (500) creates or deletes per sync;
// - pods to delete are ranked as controller.ActivePods does: unscheduled
//   first, then Pending before Running, not ready before ready, ready for a
//   shorter time first, newer first;
// - status: replicas (active pods), readyReplicas, availableReplicas (ready
//   for at least minReadySeconds).
// Pod names are the ReplicaSet's name, '-', and 5 random characters.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_REPLICASET_H_
#define PLATSIM_PLATFORM_CONTROLLERS_REPLICASET_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/controller.h"
#include "platform/index.h"

namespace platsim::platform {

class ReplicaSetController : public Reconciler {
 public:
  static constexpr int kBurstReplicas = 500;
  static constexpr sim::Time kExpectationsTimeout = 5 * sim::kMinute;

  // Borrows everything; registers its watches.
  ReplicaSetController(sim::Engine& engine, ApiServer& api, EventSink& events);

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "ReplicaSet"; }

 private:
  struct Expectations {
    int adds = 0;
    std::set<std::string> deletes;  // pod keys
    sim::Time set_at = 0;
  };
  void OnPod(WatchType type, const Pod& pod);
  std::vector<const Pod*> ActivePodsOf(const ReplicaSet& rs) const;

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  WorkQueue queue_;
  sim::RandomStream names_;
  std::map<std::string, Expectations> expectations_;  // by ReplicaSet key
  KeyIndex pods_by_owner_;                            // by owner uid
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_REPLICASET_H_
