#include "platform/serving/kube_proxy.h"

#include <vector>

namespace platsim::platform {

KubeProxy::KubeProxy(sim::Engine& engine, ApiServer& api, ProxyConfig config, Resolver resolve)
    : engine_(engine), api_(api), config_(config), resolve_(std::move(resolve)) {
  api_.Watch<Endpoints>([this](WatchType, const Endpoints& e) { OnEndpoints(e.meta.Key()); });
}

void KubeProxy::AddProxy(ServiceProxy& proxy) {
  proxies_[proxy.service_key()] = &proxy;
}

void KubeProxy::OnEndpoints(const std::string& key) {
  if (!proxies_.count(key)) return;
  dirty_.insert(key);
  if (sync_pending_) return;
  sync_pending_ = true;
  const sim::Time now = engine_.Now();
  const sim::Time at =
      last_sync_ < 0 ? now : std::max(now, sim::SatAdd(last_sync_, config_.min_sync_period));
  engine_.ScheduleCallbackAt(at, [this] { Sync(); });
}

void KubeProxy::Sync() {
  sync_pending_ = false;
  last_sync_ = engine_.Now();
  for (const std::string& key : dirty_) {
    std::vector<Hop*> hops;
    if (const Endpoints* e = api_.Get<Endpoints>(key)) {
      const std::string prefix = e->meta.namespace_name + "/";
      for (const Endpoint& endpoint : e->endpoints) {
        if (!endpoint.ready) continue;
        if (Hop* hop = resolve_(prefix + endpoint.pod)) hops.push_back(hop);
      }
    }
    ServiceProxy* proxy = proxies_.at(key);
    if (config_.programming_delay > 0) {
      engine_.ScheduleCallbackAfter(config_.programming_delay,
                                    [proxy, hops] { proxy->SetEndpoints(hops); });
    } else {
      proxy->SetEndpoints(std::move(hops));
    }
  }
  dirty_.clear();
}

}  // namespace platsim::platform
