// kube-proxy: programs the Service proxies from the Endpoints objects.
//
// It watches Endpoints. A change marks its Service dirty and asks for a
// sync; a sync runs at once if at least min_sync_period has passed since the
// last one, else at min_sync_period after it, and changes arriving in
// between are merged into it (pkg/proxy/runner/bounded_frequency_runner.go
// Loop; iptables minSyncPeriod 1s in SetDefaults_KubeProxyConfiguration).
// The sync programs every dirty Service's proxy with its ready endpoints,
// in effect programming_delay after it starts. So a pod is routable some
// time after its Ready write lands, as in a real cluster.
//
// Terminating endpoints that still serve are not used as a fallback (as
// kube-proxy does when no endpoint is ready): simulated servers stop taking
// requests when deleted.
#ifndef PLATSIM_PLATFORM_SERVING_KUBE_PROXY_H_
#define PLATSIM_PLATFORM_SERVING_KUBE_PROXY_H_

#include <functional>
#include <map>
#include <set>
#include <string>

#include "platform/api_server.h"
#include "platform/serving/config.h"
#include "platform/serving/proxy.h"

namespace platsim::platform {

class KubeProxy {
 public:
  // The hop serving a pod, by pod key; null if it has none.
  using Resolver = std::function<Hop*(const std::string& pod_key)>;

  // Borrows everything; registers its watch.
  KubeProxy(sim::Engine& engine, ApiServer& api, ProxyConfig config, Resolver resolve);

  // Programs `proxy` (borrowed) from its Service's Endpoints from now on.
  void AddProxy(ServiceProxy& proxy);

 private:
  void OnEndpoints(const std::string& key);
  void Sync();

  sim::Engine& engine_;
  ApiServer& api_;
  const ProxyConfig config_;
  Resolver resolve_;
  std::map<std::string, ServiceProxy*> proxies_;
  std::set<std::string> dirty_;
  bool sync_pending_ = false;
  sim::Time last_sync_ = -1;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_KUBE_PROXY_H_
