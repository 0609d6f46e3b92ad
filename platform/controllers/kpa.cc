#include "platform/controllers/kpa.h"

#include <algorithm>
#include <utility>

namespace platsim::platform {
namespace {

// pkg/autoscaler/config BucketSize; multiscaler.go tickInterval.
constexpr sim::Time kBucket = sim::kSecond;
constexpr sim::Time kTick = 2 * sim::kSecond;

// The decider's excess burst capacity before its first tick
// (multiscaler.go: TBC itself when -1 or 0, else initial scale x total -
// TBC).
std::int32_t InitialExcessBurstCapacity(const kpa::DeciderSpec& spec) {
  if (spec.target_burst_capacity == -1 || spec.target_burst_capacity == 0) {
    return static_cast<std::int32_t>(spec.target_burst_capacity);
  }
  return static_cast<std::int32_t>(spec.initial_scale * spec.total_value -
                                   spec.target_burst_capacity);
}

const char* ActivityReason(kpa::Activity a) {
  switch (a) {
    case kpa::Activity::kActivating:
      return "Queued";
    case kpa::Activity::kInactive:
      return "NoTraffic";
    case kpa::Activity::kActive:
      return "Active";
  }
  return "";
}

}  // namespace

KnativeAutoscaler::KnativeAutoscaler(sim::Engine& engine, ApiServer& api, EventSink& events,
                                     const kpa::Config& config, std::vector<Revision> revisions,
                                     LoadOf load, SetProxy set_proxy, sim::Time warmup)
    : engine_(engine),
      api_(api),
      events_(events),
      config_(config),
      load_(std::move(load)),
      set_proxy_(std::move(set_proxy)),
      warmup_(warmup) {
  const sim::Time now = engine_.Now();
  for (Revision& r : revisions)
    AddRevision(std::move(r));
  engine_.ScheduleCallbackAfter(kBucket, [this] { Second(); });
  // The results count from the warm-up (as the HPA controller's).
  if (warmup_ > now) {
    engine_.ScheduleCallbackAt(warmup_, [this] {
      for (auto& [key, s] : states_) {
        s.ups = s.downs = s.to_zero = s.from_zero = 0;
        s.highest = s.replicas;
        s.mean = sim::TimeAverage(warmup_, s.replicas);
      }
    });
  }
}

void KnativeAutoscaler::AddRevision(Revision r) {
  const kpa::DeciderSpec spec = kpa::MakeDecider(config_, r.annotations, r.container_concurrency);
  const std::string key = r.key;
  states_.emplace(key, State(std::move(r), spec, engine_.Now(), warmup_));
}

void KnativeAutoscaler::SetReachable(const std::string& revision, bool reachable) {
  const auto it = states_.find(revision);
  if (it == states_.end() || it->second.spec.reachable == reachable) return;
  State& s = it->second;
  // The PodAutoscaler's spec changed: the decider takes the new spec
  // (multiscaler.go Update) and the reconciler applies the new bounds.
  s.spec.reachable = reachable;
  s.decider.Update(s.spec);
  Reconcile(s);
}

// Every second a scrape; every other second, after it, the deciders' tick.
void KnativeAutoscaler::Second() {
  Scrape();
  if (engine_.Now() % kTick == 0) {
    for (auto& [key, s] : states_)
      Decide(s);
  }
  engine_.ScheduleCallbackAfter(kBucket, [this] { Second(); });
}

KnativeAutoscaler::State::State(Revision r, const kpa::DeciderSpec& s, sim::Time now,
                                sim::Time warmup)
    : revision(std::move(r)),
      spec(s),
      decider(s, 0, now),
      stable(s.stable_window, kBucket, s.weighted_exponential),
      panic(s.panic_window, kBucket, s.weighted_exponential),
      last{-1, InitialExcessBurstCapacity(s), true},
      replicas(s.initial_scale),
      highest(s.initial_scale),
      mean(std::max(now, warmup), s.initial_scale) {
  status.activity_since = now;
  status.proxy_since = now;
}

int KnativeAutoscaler::ReadyPods(const State& s) const {
  const Endpoints* e = api_.Get<Endpoints>(s.revision.private_service);
  if (e == nullptr) return 0;
  return static_cast<int>(std::count_if(e->endpoints.begin(), e->endpoints.end(),
                                        [](const Endpoint& x) { return x.ready; }));
}

void KnativeAutoscaler::Scrape() {
  const sim::Time now = engine_.Now();
  for (auto& [key, s] : states_) {
    const Load load = load_(key);
    const double concurrency =
        (load.request_seconds - s.scraped.request_seconds) / sim::ToSeconds(kBucket);
    const double rps = (load.arrived - s.scraped.arrived) / sim::ToSeconds(kBucket);
    s.scraped = load;
    // Pods are scraped while some are ready; the activator reports while
    // it has requests.
    if (ReadyPods(s) == 0 && concurrency == 0 && rps == 0) continue;
    const double value =
        std::max(0.0, (s.spec.metric == kpa::Metric::kRps ? rps : concurrency) - s.owed);
    s.owed = 0;
    s.stable.Record(now, value);
    s.panic.Record(now, value);
  }
}

void KnativeAutoscaler::ActivatorReport(const std::string& service) {
  const auto it = states_.find(service);
  if (it == states_.end()) return;
  State& s = it->second;
  const sim::Time now = engine_.Now();
  s.stable.Record(now, 1);
  s.panic.Record(now, 1);
  s.owed = 1;
  if (s.last.desired == 0) Decide(s);  // a poke: decide now, not at the next tick
}

void KnativeAutoscaler::Decide(State& s) {
  const sim::Time now = engine_.Now();
  std::optional<kpa::Observed> observed;
  // No data: nothing recorded within the stable window (with unlimited
  // burst capacity nothing is scraped, so an empty window reads 0).
  if (!s.stable.IsEmpty(now) || s.spec.target_burst_capacity == -1) {
    observed = kpa::Observed{s.stable.WindowAverage(now), s.panic.WindowAverage(now)};
  }
  if (observed) s.observed = observed->stable;
  const bool was_panicking = s.decider.panicking();
  const kpa::ScaleResult r = s.decider.Scale(now, ReadyPods(s), observed);
  if (was_panicking && now >= warmup_)
    s.panic_s += sim::ToSeconds(now - std::max(s.panic_mark, warmup_));
  s.panic_mark = now;
  if (r.valid) s.last = r;
  Reconcile(s);
}

void KnativeAutoscaler::Reconcile(State& s) {
  const sim::Time now = engine_.Now();
  const Revision& rev = s.revision;
  const kpa::ScalerDecision d =
      kpa::Scaler(config_, rev.annotations, s.spec, s.status, s.last.desired, now);
  if (d.apply) {
    if (api_.Get<Deployment>(rev.deployment) != nullptr) {
      // What the autoscaler last wrote: a patch takes the API server's
      // latency to land, and a reconcile may come before it has.
      const std::int32_t current = s.replicas;
      const std::int32_t want = d.scale;
      if (want != current) {
        api_.Patch<Deployment>(rev.deployment, [want](Deployment& x) { x.replicas = want; });
        Emit(s, "Scaling",
             "Scaling from " + std::to_string(current) + " to " + std::to_string(want));
        if (want > current) ++s.ups;
        if (want < current) ++s.downs;
        if (want == 0) ++s.to_zero;
        if (current == 0) ++s.from_zero;
        s.replicas = want;
        s.highest = std::max(s.highest, want);
        s.mean.Set(std::max(now, warmup_), want);
      }
    }
  }
  if (d.requeue_after > 0) {
    const sim::Time at = now + d.requeue_after;
    if (!s.requeue || at < s.requeue_at) {
      if (s.requeue) engine_.Cancel(*s.requeue);
      s.requeue_at = at;
      const std::string key = rev.key;
      s.requeue = engine_.ScheduleCallbackAt(at, [this, key] {
        State& again = states_.at(key);
        again.requeue.reset();
        Reconcile(again);
      });
    }
  }
  const bool was_proxy = s.status.proxy;
  const bool was_initialized = s.status.initialized;
  const kpa::Activity was = s.status.activity;
  kpa::Reconciled(config_, rev.annotations, s.spec, d.scale, s.last.excess_burst_capacity,
                  ReadyPods(s), now, s.status);
  if (s.status.proxy != was_proxy) {
    set_proxy_(rev.key, s.status.proxy);
    Emit(s, s.status.proxy ? "Proxy" : "Serve",
         std::string("the activator is ") + (s.status.proxy ? "in" : "out of") +
             " the request path (excess burst capacity " +
             std::to_string(s.last.excess_burst_capacity) + ")");
  }
  if (s.status.activity != was) {
    const char* message = "";
    switch (s.status.activity) {
      case kpa::Activity::kActivating:
        message = "Requests to the target are being buffered as resources are provisioned.";
        break;
      case kpa::Activity::kInactive:
        message = "The target is not receiving traffic.";
        break;
      case kpa::Activity::kActive:
        message = "The target is active.";
        break;
    }
    Emit(s, ActivityReason(s.status.activity), message);
  }
  if (s.status.initialized && !was_initialized && on_initialized_) on_initialized_(rev.key);
}

void KnativeAutoscaler::Emit(const State& s, const std::string& reason,
                             const std::string& message) {
  events_.Emit({engine_.Now(),
                reason,
                "PodAutoscaler",
                s.revision.key,
                message,
                {{"deployment", s.revision.deployment},
                 {"desired", std::to_string(s.last.desired)},
                 {"panic", s.decider.panicking() ? "true" : "false"}}});
}

std::optional<AutoscalerObservation> KnativeAutoscaler::ObservationOf(
    const std::string& revision) const {
  const auto it = states_.find(revision);
  if (it == states_.end()) return std::nullopt;
  const State& s = it->second;
  return AutoscalerObservation{s.replicas, s.observed, s.spec.target_value, s.decider.panicking()};
}

std::map<std::string, std::map<std::string, double>> KnativeAutoscaler::Results(
    sim::Time now) const {
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& [key, s] : states_) {
    double panic_s = s.panic_s;
    if (s.decider.panicking() && now > warmup_) {
      panic_s += sim::ToSeconds(now - std::max(s.panic_mark, warmup_));
    }
    out[key] = {
        {"rescales", s.ups + s.downs},     {"scale_ups", s.ups},
        {"scale_downs", s.downs},          {"scales_to_zero", s.to_zero},
        {"scales_from_zero", s.from_zero}, {"replicas_final", s.replicas},
        {"replicas_max", s.highest},       {"replicas_mean", s.mean.Mean(std::max(now, warmup_))},
        {"panic_seconds", panic_s}};
  }
  return out;
}

}  // namespace platsim::platform
