#include "platform/controllers/knative_route.h"

#include <algorithm>
#include <utility>

namespace platsim::platform {
namespace kserve {

std::vector<KnativeTrafficTarget> CanaryTraffic(std::optional<int> canary_percent,
                                                const RolloutStatus& status) {
  // ksvc_reconciler.go: a split only with a revision rolled out before.
  if (!canary_percent || status.latest.empty()) return {{"", 100}};
  std::vector<KnativeTrafficTarget> out = {{"", *canary_percent}};
  if (*canary_percent < 100) out.push_back({status.latest, 100 - *canary_percent});
  return out;
}

void PropagateRolledOut(const std::vector<ResolvedTarget>& traffic, const std::string& latest_ready,
                        const std::string& latest_created, RolloutStatus& status) {
  // inference_service_status.go PropagateStatus: the percent each revision
  // has over all its targets.
  auto total = [&](const std::string& revision) {
    int sum = 0;
    for (const ResolvedTarget& t : traffic) {
      if (t.revision == revision) sum += t.percent;
    }
    return sum;
  };
  for (const ResolvedTarget& t : traffic) {
    if (t.revision != latest_ready || !t.latest) continue;
    if (status.latest != latest_ready) {
      // The latest ready revision with all the traffic is rolled out.
      if (t.percent == 100) {
        status.previous = status.latest;
        status.latest = latest_ready;
      }
    } else if (latest_ready == latest_created && t.percent < 100 && total(t.revision) == 100 &&
               !status.previous.empty()) {
      // Rolled out and then split over itself (a canary percent set after
      // the rollout): back to the revision rolled out before.
      status.latest = status.previous;
    }
  }
}

}  // namespace kserve

KnativeRouting::KnativeRouting(sim::Engine& engine, ApiServer& api, EventSink& events,
                               const std::vector<KnativeServiceSpec>& services,
                               KnativeAutoscaler& kpa, SetWeights set_weights)
    : engine_(engine), api_(api), events_(events), kpa_(kpa), set_weights_(std::move(set_weights)) {
  for (const KnativeServiceSpec& k : services) {
    Route r;
    r.spec = &k;
    r.ns = k.key.substr(0, k.key.find('/'));
    const std::size_t n = k.revisions.size();
    r.created.assign(n, false);
    r.ready.assign(n, false);
    r.routing.assign(n, RoutingState::kPending);
    r.created[0] = true;
    r.traffic = k.traffic;
    r.canary_percent = k.canary_percent;
    r.percents.assign(n, 0);
    r.percents[0] = 100;  // until a revision is ready, requests wait for the first
    routes_.push_back(std::move(r));
  }
}

void KnativeRouting::Emit(const std::string& kind, const std::string& name,
                          const std::string& reason, const std::string& message) {
  events_.Emit({engine_.Now(), reason, kind, name, message, {}});
}

void KnativeRouting::Apply(const TimelineAction& action) {
  const auto it = std::find_if(routes_.begin(), routes_.end(),
                               [&](const Route& r) { return r.spec->key == action.knative; });
  if (it == routes_.end()) return;
  Route& r = *it;
  if (action.revision >= 0) {
    const auto i = static_cast<std::size_t>(action.revision);
    const KnativeRevision& rev = r.spec->revisions[i];
    api_.Create(*rev.service_object);
    api_.Create(*rev.deployment_object);
    kpa_.AddRevision({r.ns + "/" + rev.name, rev.deployment, rev.private_service,
                      rev.container_concurrency, rev.annotations});
    r.created[i] = true;
    r.latest_created = action.revision;
    Emit("Configuration", r.spec->key, "Created", "Created Revision \"" + rev.name + "\"");
    if (r.release) EndRelease(r, "superseded");
    r.release = releases_.size();
    releases_.push_back({r.spec->key, rev.name, engine_.Now()});
    if (on_release_) on_release_(*r.release);
  }
  r.traffic = action.traffic;
  r.canary_percent = action.canary_percent;
  Reconcile(r);
}

void KnativeRouting::RevisionReady(const std::string& revision_key) {
  for (Route& r : routes_) {
    const std::vector<KnativeRevision>& revisions = r.spec->revisions;
    for (std::size_t i = 0; i < revisions.size(); ++i) {
      if (r.ns + "/" + revisions[i].name != revision_key || r.ready[i]) continue;
      r.ready[i] = true;
      // findAndSetLatestReadyRevision: the newest ready revision, never
      // one older than the latest ready.
      if (static_cast<int>(i) > r.latest_ready) {
        r.latest_ready = static_cast<int>(i);
        Emit("Configuration", r.spec->key, "LatestReadyUpdate",
             "LatestReadyRevisionName updated to \"" + revisions[i].name + "\"");
      }
      Reconcile(r);
      return;
    }
  }
}

bool KnativeRouting::Resolve(Route& r, std::vector<int>& percents,
                             std::vector<kserve::ResolvedTarget>& status) {
  const std::vector<KnativeRevision>& revisions = r.spec->revisions;
  const int latest = std::max(r.latest_ready, 0);
  percents.assign(revisions.size(), 0);
  status.clear();
  for (const KnativeTrafficTarget& t : r.traffic) {
    int i = latest;
    if (!t.revision.empty()) {
      i = static_cast<int>(
          std::find_if(revisions.begin(), revisions.end(),
                       [&](const KnativeRevision& x) { return x.name == t.revision; }) -
          revisions.begin());
      if (i >= static_cast<int>(revisions.size()) || !r.ready[static_cast<std::size_t>(i)]) {
        return false;
      }
    }
    percents[static_cast<std::size_t>(i)] += t.percent;
    status.push_back({revisions[static_cast<std::size_t>(i)].name, t.percent, t.revision.empty()});
  }
  return true;
}

void KnativeRouting::Reconcile(Route& r) {
  const std::vector<KnativeRevision>& revisions = r.spec->revisions;
  // KServe writes the route's traffic from what has rolled out, which the
  // route's status in turn moves: until both settle.
  bool ready = false;  // the route: every target resolved
  for (int pass = 0; pass < 4; ++pass) {
    if (r.spec->kserve) r.traffic = kserve::CanaryTraffic(r.canary_percent, r.rolled_out);
    std::vector<int> percents;
    std::vector<kserve::ResolvedTarget> status;
    ready = Resolve(r, percents, status);
    if (!ready) break;
    r.status = std::move(status);
    if (percents != r.percents) {
      const auto latest = static_cast<std::size_t>(r.latest_created);
      const int had = r.percents[latest], share = percents[latest];
      r.percents = percents;
      set_weights_(r.spec->key, percents);
      std::string split;
      for (std::size_t i = 0; i < revisions.size(); ++i) {
        if (!r.created[i]) continue;
        split += (split.empty() ? "" : ", ") + revisions[i].name + " " +
                 std::to_string(percents[i]) + "%";
      }
      Emit("Route", r.spec->key, "TrafficUpdated", "traffic: " + split);
      if (r.release && share != had) {
        ++releases_[*r.release].steps;
        if (share == 100) {
          EndRelease(r, "complete");
        } else if (share == 0) {
          EndRelease(r, "rolled back");
        }
      }
    }
    if (!r.spec->kserve) break;
    const kserve::RolloutStatus before = r.rolled_out;
    kserve::PropagateRolledOut(
        r.status,
        r.latest_ready >= 0 ? revisions[static_cast<std::size_t>(r.latest_ready)].name : "",
        revisions[static_cast<std::size_t>(r.latest_created)].name, r.rolled_out);
    if (r.rolled_out == before) break;
  }
  // Routing states (labeler metasync.go): what the route names, in its
  // status or its spec, and the latest created revision for a
  // latestRevision target, is active; a revision active before and named
  // no more is reserve (unreachable), once the route is ready. A revision
  // no route has named yet stays pending, which holds its min-scale as
  // active does (revision/resources/pa.go reachability: Unknown).
  std::vector<bool> named(revisions.size(), false);
  for (const kserve::ResolvedTarget& t : r.status) {
    for (std::size_t i = 0; i < revisions.size(); ++i) {
      if (revisions[i].name == t.revision) named[i] = true;
    }
  }
  for (const KnativeTrafficTarget& t : r.traffic) {
    if (t.revision.empty()) named[static_cast<std::size_t>(r.latest_created)] = true;
    for (std::size_t i = 0; i < revisions.size(); ++i) {
      if (revisions[i].name == t.revision) named[i] = true;
    }
  }
  std::vector<std::pair<std::string, bool>> changes;
  for (std::size_t i = 0; i < revisions.size(); ++i) {
    if (!r.created[i]) continue;
    RoutingState& state = r.routing[i];
    if (named[i] && state != RoutingState::kActive) {
      if (state == RoutingState::kReserve) changes.emplace_back(revisions[i].name, true);
      state = RoutingState::kActive;
    } else if (!named[i] && state == RoutingState::kActive && ready) {
      state = RoutingState::kReserve;
      changes.emplace_back(revisions[i].name, false);
    }
  }
  // Told once the route's state is final.
  for (const auto& [name, reachable] : changes)
    kpa_.SetReachable(r.ns + "/" + name, reachable);
}

void KnativeRouting::EndRelease(Route& r, const char* outcome) {
  Release& rel = releases_[*r.release];
  rel.ended = engine_.Now();
  rel.outcome = outcome;
  const std::size_t index = *r.release;
  r.release.reset();
  if (on_release_) on_release_(index);
}

}  // namespace platsim::platform
