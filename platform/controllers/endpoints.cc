#include "platform/controllers/endpoints.h"

#include <algorithm>

namespace platsim::platform {

EndpointsController::EndpointsController(sim::Engine& engine, ApiServer& api, EventSink& events)
    : api_(api), queue_(engine, *this, events) {
  api_.Watch<Service>([this](WatchType type, const Service& s) {
    const std::string key = s.meta.Key();
    if (type == WatchType::kDeleted) {
      services_by_label_.Remove(key);
    } else {
      services_by_label_.Set(key, LabelIndexValues(s.meta.namespace_name, s.selector));
    }
    queue_.Add(key);
  });
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
}

void EndpointsController::OnPod(WatchType type, const Pod& pod) {
  const std::string key = pod.meta.Key();
  const std::vector<std::string> values =
      LabelIndexValues(pod.meta.namespace_name, pod.meta.labels);
  if (type == WatchType::kDeleted) {
    pods_by_label_.Remove(key);
  } else {
    pods_by_label_.Set(key, values);
  }
  // The Services of the pod's namespace that select it: only those whose
  // selector shares one of its labels can. Pod labels do not change in
  // platsim, so old and new labels select the same Services.
  std::set<std::string> services;
  for (const std::string& v : values) {
    for (const std::string& s : services_by_label_.Get(v))
      services.insert(s);
  }
  for (const std::string& s : services) {
    const Service* service = api_.Get<Service>(s);
    if (service != nullptr && SelectorMatches(service->selector, pod.meta.labels)) queue_.Add(s);
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
  // The pods carrying the selector's first label, checked against the rest.
  const auto& [first_key, first_value] = *service->selector.begin();
  for (const std::string& pod_key :
       pods_by_label_.Get(want.meta.namespace_name + "/" + first_key + "=" + first_value)) {
    const Pod* found = api_.Get<Pod>(pod_key);
    if (found == nullptr || !SelectorMatches(service->selector, found->meta.labels)) continue;
    const Pod& pod = *found;
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
