#include "platform/controllers/node_lifecycle.h"

#include <algorithm>
#include <vector>

#include "platform/placement.h"

namespace platsim::platform {
namespace {

constexpr const char* kUnreachable = "node.kubernetes.io/unreachable";

}  // namespace

NodeLifecycleController::NodeLifecycleController(sim::Engine& engine, ApiServer& api,
                                                 EventSink& events, Options options)
    : engine_(engine), api_(api), events_(events), options_(options) {}

sim::Time NodeLifecycleController::DetectedAt(sim::Time at) const {
  const sim::Time renewed = at / options_.lease_renew * options_.lease_renew;
  // monitorNodeHealth: unhealthy at the first look strictly after the
  // renewal plus the grace period.
  const sim::Time deadline = renewed + options_.grace_period;
  return (deadline / options_.monitor_period + 1) * options_.monitor_period;
}

void NodeLifecycleController::NodeStopped(const std::string& name) {
  Outage& o = outages_[name];
  ++o.count;
  o.over = false;
  engine_.ScheduleCallbackAt(DetectedAt(engine_.Now()),
                             [this, name, outage = o.count] { MarkUnhealthy(name, outage); });
}

void NodeLifecycleController::NodeRecovered(const std::string& name) {
  Outage& o = outages_[name];
  o.over = true;
  // monitorNodeHealth: the renewed lease is seen at the next look.
  const sim::Time at = (engine_.Now() / options_.monitor_period + 1) * options_.monitor_period;
  engine_.ScheduleCallbackAt(at, [this, name, outage = o.count] { MarkHealthy(name, outage); });
}

void NodeLifecycleController::MarkHealthy(const std::string& name, std::uint64_t outage) {
  const Outage& o = outages_[name];
  if (o.count != outage || !o.over) return;  // failed again meanwhile
  const Node* node = api_.Get<Node>(name);
  if (node == nullptr || node->ready) return;  // never found down (a short blip)
  api_.Patch<Node>(name, [](Node& n) {
    n.ready = true;
    n.taints.erase(std::remove_if(n.taints.begin(), n.taints.end(),
                                  [](const Taint& t) { return t.key == kUnreachable; }),
                   n.taints.end());
  });
  events_.Emit(
      {engine_.Now(), "NodeReady", "Node", name, "Node " + name + " status is now: NodeReady", {}});
}

void NodeLifecycleController::MarkUnhealthy(const std::string& name, std::uint64_t outage) {
  const sim::Time now = engine_.Now();
  const Outage& o = outages_[name];
  if (o.count != outage || o.over) return;      // back before it was found
  if (api_.Get<Node>(name) == nullptr) return;  // gone meanwhile (scaled down)
  api_.Patch<Node>(name, [](Node& n) {
    n.ready = false;
    for (const TaintEffect effect : {TaintEffect::kNoSchedule, TaintEffect::kNoExecute})
      n.taints.push_back({kUnreachable, "", effect});
  });
  events_.Emit(
      {now, "NodeNotReady", "Node", name, "Node " + name + " status is now: NodeNotReady", {}});
  const Taint no_execute{kUnreachable, "", TaintEffect::kNoExecute};
  std::vector<std::pair<std::string, sim::Time>> evictions;  // pod, when
  for (const auto& [key, pod] : api_.List<Pod>()) {
    if (pod.node_name != name || pod.meta.deleting) continue;
    if (pod.ready) {
      api_.Patch<Pod>(key, [](Pod& p) { p.ready = false; });
      events_.Emit({now, "NodeNotReady", "Pod", key, "Node is not ready", {}});
    }
    // taint_eviction.go getMinTolerationTime over the pod's tolerations of
    // the taint (the shortest with seconds; for ever if none has any); a
    // pod with none gets the admission plugin's 300 s.
    bool tolerated = false;
    std::optional<sim::Time> stay;
    for (const Toleration& t : pod.spec.placement.tolerations) {
      if (!ToleratesTaint(t, no_execute)) continue;
      tolerated = true;
      if (t.seconds && (!stay || *t.seconds < *stay)) stay = t.seconds;
    }
    if (!tolerated) stay = options_.default_toleration;
    if (stay) evictions.emplace_back(key, sim::SatAdd(now, std::max<sim::Time>(*stay, 0)));
  }
  for (const auto& [key, at] : evictions) {
    engine_.ScheduleCallbackAt(at, [this, key = key, name, outage] {
      const Pod* pod = api_.Get<Pod>(key);
      if (pod == nullptr || pod->meta.deleting) return;
      // The taint went (the node is back): the eviction was cancelled.
      const Node* node = api_.Get<Node>(name);
      if (node == nullptr || outages_[name].count != outage ||
          std::none_of(node->taints.begin(), node->taints.end(),
                       [](const Taint& t) { return t.key == kUnreachable; })) {
        return;
      }
      events_.Emit({engine_.Now(),
                    "TaintManagerEviction",
                    "Pod",
                    key,
                    "Marking for deletion Pod " + key,
                    {}});
      api_.Delete<Pod>(key);
    });
  }
}

}  // namespace platsim::platform
