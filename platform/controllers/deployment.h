// The Deployment controller, at a fixed replica count: it owns one
// ReplicaSet per pod template (named <deployment>-<pod-template-hash>),
// scales the current one to spec.replicas and any older one to zero, and
// rolls the ReplicaSets' status up into the Deployment's.
//
// Follows kubernetes/kubernetes pkg/controller/deployment/{sync.go,
// util/deployment_util.go}: the ReplicaSet carries the template plus the
// pod-template-hash label in its selector and pod labels; the Available
// condition holds when availableReplicas >= replicas - maxUnavailable, with
// maxUnavailable the default 25% rounded down. Rolling updates (maxSurge and
// maxUnavailable stepping) are not simulated yet: a template change replaces
// the old ReplicaSet as the Recreate strategy does.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_
#define PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_

#include <string>

#include "platform/api_server.h"
#include "platform/controller.h"
#include "platform/index.h"

namespace platsim::platform {

class DeploymentController : public Reconciler {
 public:
  // Borrows everything; registers its watches.
  DeploymentController(sim::Engine& engine, ApiServer& api, EventSink& events);

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "Deployment"; }

  // maxUnavailable for the default 25%, rounded down; at least 1 when maxSurge
  // would also be 0 (deployment_util.ResolveFenceposts).
  static int DefaultMaxUnavailable(int replicas);

 private:
  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  WorkQueue queue_;
  KeyIndex replicasets_by_owner_;  // by owner uid
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_
