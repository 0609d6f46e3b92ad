// The Deployment controller: it owns one ReplicaSet per pod template (named
// <deployment>-<pod-template-hash>, with the hash in its selector and pod
// labels and a revision), and moves replicas from the old ReplicaSets to
// the new one by the Deployment's strategy, as kubernetes/kubernetes
// pkg/controller/deployment does:
// - RollingUpdate (rolling.go rolloutRolling): each sync first scales the
//   new ReplicaSet up within maxSurge (NewRSNewReplicas); if it did not,
//   scales old ReplicaSets down, their unhealthy replicas first and the
//   oldest ReplicaSet first, never below replicas - maxUnavailable
//   available (reconcileOldReplicaSets); the arithmetic is
//   deployment_algorithm.h's.
// - Recreate (recreate.go rolloutRecreate): old ReplicaSets to 0; once none
//   of their pods is left, the new one to the replicas.
// - A template that an old ReplicaSet already has (a rollback) makes that
//   ReplicaSet the new one again, with the next revision (sync.go
//   getNewReplicaSet). Once the rollout is complete, old ReplicaSets at 0
//   beyond revisionHistoryLimit are deleted, lowest revision first
//   (cleanupDeployment).
// - Status (calculateStatus), the Available condition (available >=
//   replicas - maxUnavailable) and the Progressing condition
//   (progress.go syncRolloutStatus: NewReplicaSetCreated,
//   FoundNewReplicaSet, ReplicaSetUpdated while replicas move,
//   NewReplicaSetAvailable when complete, False ProgressDeadlineExceeded
//   after progressDeadlineSeconds without progress). Each change of a
//   condition is an event of its reason.
//
// A paused Deployment makes no rollout step, and one resized during a
// rollout (its active ReplicaSets' desired-replicas annotation differs from
// its replicas: isScalingEvent) makes none in that sync: both scale their
// ReplicaSets proportionally (sync.go sync and scale;
// deployment_algorithm.h ProportionalScale).
#ifndef PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_
#define PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/controller.h"
#include "platform/index.h"

namespace platsim::platform {

class DeploymentController : public Reconciler {
 public:
  // One rollout: from the sync that first sees a Deployment's new template
  // to the one that finds it complete (Progressing NewReplicaSetAvailable).
  struct Rollout {
    std::string deployment;   // namespace/name
    std::string replica_set;  // the new ReplicaSet's name
    sim::Time started = 0;
    std::optional<sim::Time> ended;
    // "progressing", "complete", "progress deadline exceeded" (it may still
    // complete), or "superseded" (another template came first).
    std::string outcome = "progressing";
    int steps = 0;  // ReplicaSet scalings during it
  };

  // Borrows everything; registers its watches.
  DeploymentController(sim::Engine& engine, ApiServer& api, EventSink& events);

  // Every rollout so far, in the order they started.
  const std::vector<Rollout>& rollouts() const { return rollouts_; }
  // Called with a rollout's index when it starts and when it ends.
  void OnRollout(std::function<void(std::size_t index)> fn) { on_rollout_ = std::move(fn); }

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "Deployment"; }

  // maxUnavailable for the default 25%, rounded down; at least 1 when maxSurge
  // would also be 0 (deployment_util.ResolveFenceposts).
  static int DefaultMaxUnavailable(int replicas);

 private:
  // Writes `rs` with `replicas` and emits ScalingReplicaSet as upstream
  // (sync.go scaleReplicaSet).
  void Scale(const std::string& key, const Deployment& d, const ReplicaSet& rs, int replicas);
  // Creates the Deployment's ReplicaSet for its template at `replicas`.
  std::string CreateNew(const std::string& key, const Deployment& d, const std::string& hash,
                        int replicas, std::int64_t revision);
  // Rolling update and Recreate steps; true if they scaled anything.
  bool Rolling(const std::string& key, const Deployment& d, const ReplicaSet* new_rs,
               const std::vector<const ReplicaSet*>& old);
  bool Recreate(const std::string& key, const Deployment& d, const ReplicaSet* new_rs,
                const std::vector<const ReplicaSet*>& old);
  // recreate.go oldPodsRunning: pods of any ReplicaSet but the new one left.
  bool OldPodsRunning(const std::vector<const ReplicaSet*>& old) const;
  void CleanUp(const Deployment& d, const std::vector<const ReplicaSet*>& old);
  // Events of a status that has landed: the Progressing and Available
  // conditions' changes (and the rollout's end). `subject` is what the
  // messages name: the new ReplicaSet, or the Deployment.
  void ReportConditions(const std::string& key, const DeploymentStatus& before,
                        const DeploymentStatus& after, const std::string& subject);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  WorkQueue queue_;
  KeyIndex replicasets_by_owner_;  // by owner uid
  std::string created_;            // the ReplicaSet this sync created, if any
  // Rollouts: each Deployment's template hash as last synced, and its
  // rollout in progress (an index into rollouts_).
  void TrackTemplate(const std::string& key, const Deployment& d, const std::string& hash);
  void EndRollout(const std::string& key, const char* outcome);
  std::vector<Rollout> rollouts_;
  std::map<std::string, std::string> synced_hash_;
  std::map<std::string, std::size_t> active_rollout_;
  std::function<void(std::size_t)> on_rollout_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_DEPLOYMENT_H_
