// A weighted traffic split: the hop that sends each request to one of its
// backends (other hops: the Service proxies of a stable and a canary
// Service, say) at random in proportion to their weights, as an Istio
// VirtualService route or an SMI TrafficSplit does. Clients point at it
// instead of at one Service proxy; a rollout changes the weights as it goes.
#ifndef PLATSIM_PLATFORM_SERVING_SPLIT_H_
#define PLATSIM_PLATFORM_SERVING_SPLIT_H_

#include <string>
#include <vector>

#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class WeightedSplit : public Hop {
 public:
  struct Backend {
    Hop* hop;              // borrowed
    std::uint32_t weight;  // relative; 0 takes nothing
  };

  // Borrows engine and table; draws from the stream "split/<name>".
  WeightedSplit(sim::Engine& engine, RequestTable& table, const std::string& name,
                std::vector<Backend> backends);

  // New weights, one per backend, in the order given. A split whose weights
  // are all 0 drops every request as having no endpoint.
  void SetWeights(const std::vector<std::uint32_t>& weights);

  void Accept(RequestId id) override;
  // The split holds nothing: it hands each request on at once.
  void Withdraw(RequestId) override {}

 private:
  sim::Engine& engine_;
  RequestTable& table_;
  sim::RandomStream rng_;
  std::vector<Backend> backends_;
  std::uint64_t total_ = 0;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_SPLIT_H_
