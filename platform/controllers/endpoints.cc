#include "platform/controllers/endpoints.h"

#include <algorithm>

namespace platsim::platform {

EndpointsController::EndpointsController(sim::Engine& engine, ApiServer& api, EventSink& events)
    : api_(api), queue_(engine, *this, events) {
  api_.Watch<Service>([this](WatchType, const Service& s) { queue_.Add(s.meta.Key()); });
  api_.Watch<Pod>([this](WatchType, const Pod& pod) { OnPod(pod); });
}

void EndpointsController::OnPod(const Pod& pod) {
  // Every Service of the pod's namespace that selects it. Pod labels do not
  // change in platsim, so old and new labels select the same Services.
  for (const auto& [key, service] : api_.List<Service>()) {
    if (service.meta.namespace_name == pod.meta.namespace_name &&
        SelectorMatches(service.selector, pod.meta.labels)) {
      queue_.Add(key);
    }
  }
}

Result EndpointsController::Reconcile(const std::string& key) {
  const Service* service = api_.Get<Service>(key);
  const Endpoints* current = api_.Get<Endpoints>(key);
  if (service == nullptr || service->selector.empty()) {
    if (current != nullptr || written_.count(key)) api_.Delete<Endpoints>(key);
    written_.erase(key);
    return Result::Done();
  }
  Endpoints want;
  want.meta.name = service->meta.name;
  want.meta.namespace_name = service->meta.namespace_name;
  for (const auto& [pod_key, pod] : api_.List<Pod>()) {
    if (pod.meta.namespace_name != want.meta.namespace_name ||
        !SelectorMatches(service->selector, pod.meta.labels)) {
      continue;
    }
    if (pod.phase != PodPhase::kRunning) continue;  // no IP yet, or terminal
    Endpoint e;
    e.pod = pod.meta.name;
    e.serving = pod.ready;
    e.terminating = pod.meta.deleting;
    e.ready = e.serving && !e.terminating;
    want.endpoints.push_back(std::move(e));
  }
  std::sort(want.endpoints.begin(), want.endpoints.end(),
            [](const Endpoint& a, const Endpoint& b) { return a.pod < b.pod; });
  // Compared with what this controller last wrote, not with the cache: a
  // write of its own may still be in flight, and the cache shows it only
  // when it lands (upstream keeps an EndpointSliceTracker for the same
  // reason).
  const auto last = written_.find(key);
  if (last != written_.end() && last->second == want.endpoints) return Result::Done();
  written_[key] = want.endpoints;
  if (current == nullptr && last == written_.end()) {
    api_.Create(std::move(want), [this, key](WriteStatus s) {
      if (s != WriteStatus::kOk) {
        written_.erase(key);
        queue_.Add(key);
      }
    });
  } else {
    auto endpoints = std::move(want.endpoints);
    api_.Patch<Endpoints>(
        key, [endpoints](Endpoints& e) { e.endpoints = endpoints; },
        [this, key](WriteStatus s) {
          if (s != WriteStatus::kOk) {
            written_.erase(key);
            queue_.Add(key);
          }
        });
  }
  return Result::Done();
}

}  // namespace platsim::platform
