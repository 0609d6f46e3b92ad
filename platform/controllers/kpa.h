// Knative Serving's autoscaler (the KPA) for the revisions of Knative
// Services, as upstream runs it (knative/serving v1.23):
// - metrics: every second the revision's concurrency (the time average of
//   its requests in flight over that second, wherever they are: buffered in
//   the activator or in its pods) and its requests per second are recorded
//   into the stable and panic windows (pkg/autoscaler/metrics/
//   collector.go), while it has ready pods to scrape or its activator has
//   requests; the activator's immediate stat at the first request of a
//   second adds 1 at once (and is taken off the next second's), and pokes
//   the decider when the revision is at zero (multiscaler.go Poke);
// - the decider ticks every 2 seconds (multiscaler.go tickInterval) and
//   computes the desired scale and excess burst capacity (kpa_algorithm.h);
// - after every tick, and when the scaler asks to be requeued, the
//   PodAutoscaler reconciler applies min, max and initial scale and the
//   scale-to-zero rules, writes the revision Deployment's replicas, and
//   sets the ServerlessService's mode (the activator in the path or not).
//
// The scraper's sampling of pods (a 95%-confidence sample beyond 3 pods,
// stats_scraper.go) is not modelled: it reads every pod, the quantity the
// sample estimates. Upstream reconciles the PodAutoscaler on more triggers
// (pod and ServerlessService changes); here those wait for the next tick
// (at most 2 s).
//
// Events: upstream emits no Kubernetes Event for a KPA decision; the
// events written here carry the PodAutoscaler's Active condition reasons
// (Queued, NoTraffic, and Active when it turns true), the scaler's
// "Scaling from N to M" and the ServerlessService's mode (Proxy, Serve).
#ifndef PLATSIM_PLATFORM_CONTROLLERS_KPA_H_
#define PLATSIM_PLATFORM_CONTROLLERS_KPA_H_

#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/autoscaling.h"
#include "platform/controllers/kpa_algorithm.h"
#include "platform/events.h"
#include "sim/engine.h"
#include "sim/stats.h"

namespace platsim::platform {

class KnativeAutoscaler {
 public:
  // A revision of a Knative Service: its PodAutoscaler.
  struct Revision {
    std::string key;              // namespace/name of the revision (and its PodAutoscaler)
    std::string deployment;       // namespace/name of the revision's Deployment
    std::string private_service;  // its private v1 Service: ready pods are its ready endpoints
    int container_concurrency = 0;
    kpa::Annotations annotations;
  };
  // A revision's requests since the run began: request-seconds in the
  // system and arrivals (DataPlane::LoadOf), by revision key.
  struct Load {
    double request_seconds = 0, arrived = 0;
  };
  using LoadOf = std::function<Load(const std::string& revision)>;
  // Puts the activator in the path of a revision (true) or not.
  using SetProxy = std::function<void(const std::string& revision, bool proxy)>;

  // Borrows engine, api and events. Scrapes every second from the first
  // on and, after the scrape of every even second, ticks the deciders and
  // reconciles (the first reconcile is at 2 s, not at creation).
  KnativeAutoscaler(sim::Engine& engine, ApiServer& api, EventSink& events,
                    const kpa::Config& config, std::vector<Revision> revisions, LoadOf load,
                    SetProxy set_proxy, sim::Time warmup);

  // A revision created during the run (its Deployment and private Service
  // created with it).
  void AddRevision(Revision revision);
  // The revision's routing state: unreachable (no route names it), its
  // min-scale no longer holds (PodAutoscaler spec.reachability).
  void SetReachable(const std::string& revision, bool reachable);
  // Calls `fn` with a revision's key when its PodAutoscaler first reaches
  // the initial scale (ScaleTargetInitialized: the revision is ready).
  void OnInitialized(std::function<void(const std::string& revision)> fn) {
    on_initialized_ = std::move(fn);
  }

  // The activator's immediate stat for `revision` (its first request of a
  // reporting second).
  void ActivatorReport(const std::string& revision);

  // What each revision's autoscaler did from the warm-up (or its creation)
  // to `now`, by revision key (summary.json's `autoscalers`).
  std::map<std::string, std::map<std::string, double>> Results(sim::Time now) const;
  // The observation of revision `revision` now (none before it exists):
  // the scale last written, the stable window's average at the last
  // decision and the target, and panic mode.
  std::optional<AutoscalerObservation> ObservationOf(const std::string& revision) const;

 private:
  struct State {
    State(Revision r, const kpa::DeciderSpec& s, sim::Time now, sim::Time warmup);
    Revision revision;
    kpa::DeciderSpec spec;
    kpa::Autoscaler decider;
    kpa::Buckets stable, panic;
    kpa::ScaleResult last;  // the decider's status: its last valid result
    kpa::PodAutoscalerStatus status;
    Load scraped;     // at the previous scrape
    double owed = 0;  // the activator's immediate stat, taken off the next scrape
    double observed = std::numeric_limits<double>::quiet_NaN();  // stable average, last decision
    std::optional<sim::EventId> requeue;
    sim::Time requeue_at = 0;
    // Tallies for the results.
    int ups = 0, downs = 0, to_zero = 0, from_zero = 0;
    std::int32_t replicas = 0, highest = 0;
    sim::TimeAverage mean = sim::TimeAverage();
    double panic_s = 0;
    sim::Time panic_mark = 0;  // when panic time was last counted up to
  };
  void Second();
  void Scrape();
  void Decide(State& s);
  void Reconcile(State& s);
  int ReadyPods(const State& s) const;
  void Emit(const State& s, const std::string& reason, const std::string& message);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  const kpa::Config config_;
  const LoadOf load_;
  const SetProxy set_proxy_;
  const sim::Time warmup_;
  std::map<std::string, State> states_;  // by revision key
  std::function<void(const std::string&)> on_initialized_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_KPA_H_
