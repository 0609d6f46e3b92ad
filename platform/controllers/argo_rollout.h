// The Argo Rollouts controller (argoproj/argo-rollouts rollout/): it owns
// one ReplicaSet per pod template of a Rollout (named <rollout>-<hash>,
// labelled rollouts-pod-template-hash), and moves a new template from
// canary to stable by the Rollout's strategy.
// - Canary (rollout/canary.go): the steps in order, at most one per sync
//   (completedCurrentCanaryStep): setWeight and setCanaryScale complete
//   once the ReplicaSets are at their counts (AtDesiredReplicaCountsForCanary);
//   pause waits for its duration (strictly after) or for a promote; analysis
//   for its AnalysisRun to succeed. Without traffic routing the weight is
//   the canary's share of the pods (argo_algorithm.h, within maxSurge and
//   maxUnavailable); with it the canary has ceil(weight x replicas) pods,
//   the stable keeps every replica, and the split at the stable Service's
//   proxy takes the weight once the canary's pods are available
//   (trafficrouting.go). Past the last step the new ReplicaSet becomes the
//   stable one; the old one goes to 0 (after scaleDownDelaySeconds with
//   traffic routing).
// - Blue-green (rollout/bluegreen.go): the new ReplicaSet up (to
//   previewReplicaCount first, if set) behind the preview Service;
//   pre-promotion analysis; a pause if autoPromotionEnabled is false (until
//   promoted) or autoPromotionSeconds is set; the active Service switched
//   once every replica is available; post-promotion analysis; the old
//   ReplicaSet down after scaleDownDelaySeconds.
// - Abort (a failed or errored analysis, or `kubectl argo rollouts abort`):
//   weight 0 and the stable Service (or active Service) back on the stable
//   ReplicaSet at once; the canary's pods down within the limits (basic
//   canary) or abortScaleDownDelaySeconds after the stable is whole.
//   Inconclusive analysis pauses.
// Services a Rollout names have rollouts-pod-template-hash added to their
// selector (rollout/service.go). Events carry upstream's reasons and
// messages (utils/conditions/conditions.go).
//
// Not simulated: dynamicStableScale, experiments, header and mirror routes,
// minPodsPerReplicaSet, replicaProgressThreshold, progressDeadlineAbort,
// scaleDownDelayRevisionLimit, anti-affinity between versions.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_ARGO_ROLLOUT_H_
#define PLATSIM_PLATFORM_CONTROLLERS_ARGO_ROLLOUT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/argo.h"
#include "platform/controller.h"
#include "platform/controllers/analysis_run.h"
#include "platform/index.h"

namespace platsim::platform {

class ArgoRolloutController : public Reconciler {
 public:
  // One update of a Rollout: from the sync that sees its new template to
  // promotion ("complete") or abort ("aborted").
  struct Update {
    std::string rollout;      // namespace/name
    std::string replica_set;  // the new ReplicaSet's name
    std::int64_t revision = 0;
    sim::Time started = 0;
    std::optional<sim::Time> ended;
    // Once it has ended, when the other version's pods were all gone (the
    // old ones after a promotion, scaleDownDelaySeconds later; the canary's
    // after an abort): what the update did to requests lasts until then.
    std::optional<sim::Time> settled;
    std::string outcome = "progressing";  // complete, aborted, superseded
    std::string message;                  // the abort's
    int steps = 0;                        // canary steps completed
    int scalings = 0;                     // ReplicaSet scalings
    std::vector<std::string> analysis_runs;
  };

  // Borrows everything. `templates` by namespace/name. `set_weight` moves
  // the traffic split of a Rollout with traffic routing: its stable
  // Service's key and the canary weight (0-100).
  ArgoRolloutController(
      sim::Engine& engine, ApiServer& api, EventSink& events, AnalysisRunner& analysis,
      std::map<std::string, AnalysisTemplate> templates,
      std::function<void(const std::string& stable_service, int weight)> set_weight);

  const std::vector<Update>& updates() const { return updates_; }
  // Called with an update's index when it starts, ends and settles.
  void OnUpdate(std::function<void(std::size_t index)> fn) { on_update_ = std::move(fn); }

  Result Reconcile(const std::string& key) override;
  const char* Name() const override { return "Rollout"; }

 private:
  struct Sync;  // one reconcile's view of a Rollout and its ReplicaSets
  void Scale(Sync& s, const ReplicaSet& rs, int replicas);
  void CreateReplicaSet(const std::string& key, const ArgoRollout& r, const std::string& hash,
                        std::int64_t revision);
  void PointService(Sync& s, const std::string& service, const std::string& hash);
  void SetWeight(Sync& s, int weight);
  // Starts the analysis `ref` as run `name` unless it exists; its phase.
  AnalysisPhase RunAnalysis(Sync& s, const std::string& name, const AnalysisRef& ref);
  void Abort(Sync& s, const std::string& message);
  static bool PausedFor(const ArgoRolloutStatus& st, const char* reason);
  // needsNewAnalysisRun: forgets the run for `use` if it was inconclusive
  // and a promote has cleared its pause, so that it runs again.
  void RetryInconclusive(Sync& s, const std::string& use);
  // A run's verdict: abort on Failed or Error ("`what` phase
  // error/failed"), pause on Inconclusive.
  void Judge(Sync& s, const std::string& use, AnalysisPhase phase, const std::string& what);
  void Canary(Sync& s);
  void BlueGreen(Sync& s);
  // Old ReplicaSets down: after their scale-down deadline, or at once.
  bool ScaleDownOthers(Sync& s, bool delayed);
  void Promote(Sync& s, const std::string& reason);
  void EndUpdate(const std::string& key, const char* outcome, const std::string& message);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  AnalysisRunner& analysis_;
  std::map<std::string, AnalysisTemplate> templates_;
  std::function<void(const std::string&, int)> set_weight_;
  WorkQueue queue_;
  KeyIndex replicasets_by_owner_;
  // Scale-down deadlines by ReplicaSet key (upstream's scale-down-deadline
  // annotation), and the abort's (abortScaleDownDelaySeconds) by Rollout.
  std::map<std::string, sim::Time> scale_down_at_;
  std::map<std::string, sim::Time> abort_scale_down_at_;
  // The traffic weight each Rollout's split has, and the update whose abort
  // was reported (by its hash).
  std::map<std::string, int> weights_;
  std::map<std::string, std::string> abort_reported_;
  // Per Rollout: the runs of its update in progress, by use ("step-N",
  // "background", "pre", "post").
  std::map<std::string, std::map<std::string, std::string>> runs_;
  std::map<std::string, std::size_t> active_update_;
  std::map<std::string, std::size_t> settling_;   // ended, not yet settled
  std::map<std::string, std::string> seen_hash_;  // the template each Rollout had at its last sync
  std::vector<Update> updates_;
  std::function<void(std::size_t)> on_update_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_ARGO_ROLLOUT_H_
