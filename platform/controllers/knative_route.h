// Knative Serving's configuration and route reconcilers for Knative
// Services with more than the revision they start with, and KServe's
// canary for an InferenceService's predictor in Knative mode.
//
// - Configuration (knative/serving pkg/reconciler/configuration): a
//   timeline apply that changes the template creates the next revision
//   (its Deployment at the initial scale and its private Service, and its
//   PodAutoscaler); LatestReadyRevisionName moves to the newest revision
//   that has become ready (findAndSetLatestReadyRevision), a revision being
//   ready once its PodAutoscaler has reached the initial scale
//   (ScaleTargetInitialized).
// - Route (pkg/reconciler/route/traffic): spec.traffic resolved to
//   revisions, a latestRevision target to the latest ready revision; a
//   target naming a revision that is not ready keeps the route's previous
//   traffic (the route waits, not ready). Revisions the route names (in its
//   spec or status, and the latest created for a latestRevision target)
//   are active; one active before and no longer named, once the route is
//   ready, is reserve (pkg/reconciler/labeler metasync.go): its
//   PodAutoscaler is Unreachable and min-scale no longer holds it up
//   (pa_lifecycle.go ScaleBounds). A revision never named yet is pending,
//   and keeps its min-scale.
// - KServe (kserve pkg/controller/v1beta1/inferenceservice/reconcilers/
//   knative/ksvc_reconciler.go createKnativeService and pkg/apis/serving/
//   v1beta1/inference_service_status.go PropagateStatus): with
//   canaryTrafficPercent and a revision rolled out before, the latest
//   revision gets that percent and the last rolled-out one the rest;
//   otherwise the latest gets everything; a revision is rolled out once it
//   is the latest ready and has 100% as the latest.
//
// The ingress is reprogrammed at once; upstream the route's ingress takes
// its own time to converge. Events: the Configuration's Created ("Created
// Revision ...") and LatestReadyUpdate, and TrafficUpdated (platsim's:
// each change of the resolved split).
#ifndef PLATSIM_PLATFORM_CONTROLLERS_KNATIVE_ROUTE_H_
#define PLATSIM_PLATFORM_CONTROLLERS_KNATIVE_ROUTE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/controllers/kpa.h"
#include "platform/events.h"
#include "platform/scenario.h"
#include "sim/engine.h"

namespace platsim::platform {

namespace kserve {

// A route's resolved traffic (status.traffic): a revision, its percent, and
// whether the target was latestRevision.
struct ResolvedTarget {
  std::string revision;
  int percent = 0;
  bool latest = false;
};

// The predictor's LatestRolledoutRevision and PreviousRolledoutRevision.
struct RolloutStatus {
  std::string latest, previous;
  bool operator==(const RolloutStatus&) const = default;
};

// createKnativeService's traffic targets for `canary_percent` after
// `status`.
std::vector<KnativeTrafficTarget> CanaryTraffic(std::optional<int> canary_percent,
                                                const RolloutStatus& status);

// PropagateStatus: what the Knative Service's status (its resolved
// traffic, latest ready and latest created revisions) makes of `status`.
void PropagateRolledOut(const std::vector<ResolvedTarget>& traffic, const std::string& latest_ready,
                        const std::string& latest_created, RolloutStatus& status);

}  // namespace kserve

class KnativeRouting {
 public:
  // Sets the percent of Knative Service `ksvc`'s requests that each of its
  // revisions takes (by index in its spec's revisions).
  using SetWeights = std::function<void(const std::string& ksvc, const std::vector<int>& percents)>;

  // A release of a Knative Service: a revision the timeline created, from
  // then until it takes all the traffic ("complete"), is taken back to
  // none after having had some ("rolled back"), or a newer revision is
  // created ("superseded").
  struct Release {
    std::string service;   // the Knative Service's key
    std::string revision;  // the revision's name
    sim::Time started = 0;
    std::optional<sim::Time> ended;
    std::string outcome = "progressing";
    int steps = 0;  // changes of its share of the traffic
  };

  // Borrows everything; `services` are the scenario's Knative Services,
  // whose first revisions exist (with their PodAutoscalers in `kpa`).
  KnativeRouting(sim::Engine& engine, ApiServer& api, EventSink& events,
                 const std::vector<KnativeServiceSpec>& services, KnativeAutoscaler& kpa,
                 SetWeights set_weights);

  // A timeline apply of a Knative Service (action.knative): its new
  // revision, if any, and its traffic.
  void Apply(const TimelineAction& action);
  // Revision `revision_key` (namespace/name) has become ready.
  void RevisionReady(const std::string& revision_key);

  const std::vector<Release>& releases() const { return releases_; }
  // Calls `fn` with a release's index when it starts and when it ends.
  void OnRelease(std::function<void(std::size_t)> fn) { on_release_ = std::move(fn); }

 private:
  enum class RoutingState { kPending, kActive, kReserve };
  struct Route {
    const KnativeServiceSpec* spec;
    std::string ns;
    std::vector<bool> created, ready;
    std::vector<RoutingState> routing;
    int latest_created = 0;
    int latest_ready = -1;
    std::vector<KnativeTrafficTarget> traffic;  // spec.traffic
    std::optional<int> canary_percent;          // KServe's
    kserve::RolloutStatus rolled_out;           // KServe's
    std::vector<int> percents;                  // the resolved split, by revision
    std::vector<kserve::ResolvedTarget> status;
    std::optional<std::size_t> release;  // the release in progress
  };
  void Reconcile(Route& r);
  // Resolves r.traffic; false if a target's revision is not ready.
  bool Resolve(Route& r, std::vector<int>& percents, std::vector<kserve::ResolvedTarget>& status);
  void EndRelease(Route& r, const char* outcome);
  void Emit(const std::string& kind, const std::string& name, const std::string& reason,
            const std::string& message);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  KnativeAutoscaler& kpa_;
  const SetWeights set_weights_;
  std::vector<Route> routes_;
  std::vector<Release> releases_;
  std::function<void(std::size_t)> on_release_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_KNATIVE_ROUTE_H_
