// The Service proxy: the hop between a client and the pods of one Service.
// It balances over the endpoints it was last programmed with (see
// kube_proxy.h for when that happens), never over the pods' live state:
// - random: a uniformly random endpoint per request (kube-proxy iptables
//   picks at random per connection; a request is a connection here);
// - round-robin: endpoints in turn (IPVS rr, most L7 proxies);
// - least-request: the fewer outstanding requests of two random endpoints
//   (Envoy's default LEAST_REQUEST with choice_count 2);
// - least-waiting, least-kv-cache, endpoint-picker: an LLM server's gauges
//   as the inference gateway's endpoint picker reads them
//   (endpoint_picker.h): its queue scorer alone, its KV-cache scorer alone,
//   or its default profile.
// No endpoint: the request is dropped as no endpoint (a connection refused).
#ifndef PLATSIM_PLATFORM_SERVING_PROXY_H_
#define PLATSIM_PLATFORM_SERVING_PROXY_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "platform/serving/config.h"
#include "platform/serving/endpoint_picker.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class ServiceProxy : public Hop {
 public:
  // Borrows engine and table. `service_key` is namespace/name.
  ServiceProxy(sim::Engine& engine, RequestTable& table, std::string service_key,
               Balancer balancer);

  const std::string& service_key() const { return service_key_; }
  // Replaces the endpoints; the hops are borrowed until the next call.
  void SetEndpoints(std::vector<Hop*> endpoints);
  std::size_t endpoint_count() const { return endpoints_.size(); }
  const std::vector<Hop*>& endpoints() const { return endpoints_; }
  // Adds an observer called after every SetEndpoints with the new count.
  void OnEndpointsChanged(std::function<void(std::size_t)> fn) {
    on_changed_.push_back(std::move(fn));
  }

  void Accept(RequestId id) override;
  // The proxy never holds a request: it hands it on at once.
  void Withdraw(RequestId) override {}

 private:
  // What every request reads first and together (with the object's vtable
  // pointer, in as few cache lines as can be); the rest after.
  const Balancer balancer_;
  std::vector<Hop*> endpoints_;
  sim::RandomStream rng_;
  std::uint64_t round_robin_ = 0;
  std::unique_ptr<EndpointPicker> picker_;  // the LLM-aware balancers'
  sim::Engine& engine_;
  RequestTable& table_;
  const std::string service_key_;
  std::vector<std::function<void(std::size_t)>> on_changed_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_PROXY_H_
