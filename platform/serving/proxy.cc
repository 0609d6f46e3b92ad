#include "platform/serving/proxy.h"

namespace platsim::platform {

ServiceProxy::ServiceProxy(sim::Engine& engine, RequestTable& table, std::string service_key,
                           Balancer balancer)
    : balancer_(balancer),
      rng_(engine.Stream("balancer/" + service_key)),
      engine_(engine),
      table_(table),
      service_key_(std::move(service_key)) {
  // The endpoint picker's scrape interval (--refresh-metrics-interval).
  constexpr sim::Time kRefresh = 50 * sim::kMillisecond;
  if (balancer_ == Balancer::kLeastWaiting) {
    picker_ = std::make_unique<EndpointPicker>(engine, table, PickerWeights{1, 0, 0}, kRefresh);
  } else if (balancer_ == Balancer::kLeastKvCache) {
    picker_ = std::make_unique<EndpointPicker>(engine, table, PickerWeights{0, 1, 0}, kRefresh);
  } else if (balancer_ == Balancer::kEndpointPicker) {
    picker_ = std::make_unique<EndpointPicker>(engine, table, PickerWeights{}, kRefresh);
  }
}

void ServiceProxy::SetEndpoints(std::vector<Hop*> endpoints) {
  endpoints_ = std::move(endpoints);
  if (picker_) picker_->SetEndpoints(endpoints_);
  for (const auto& fn : on_changed_)
    fn(endpoints_.size());
}

void ServiceProxy::Accept(RequestId id) {
  const std::size_t n = endpoints_.size();
  if (n == 0) {
    table_.End(id, Outcome::kNoEndpoint, engine_.Now());
    return;
  }
  Hop* next = endpoints_[0];
  switch (balancer_) {
    case Balancer::kRandom:
      next = endpoints_[rng_.UniformInt(n)];
      break;
    case Balancer::kRoundRobin:
      next = endpoints_[round_robin_++ % n];
      break;
    case Balancer::kLeastRequest: {
      if (n == 1) break;
      const std::uint64_t a = rng_.UniformInt(n);
      std::uint64_t b = rng_.UniformInt(n - 1);
      if (b >= a) ++b;
      next = endpoints_[endpoints_[b]->Outstanding() < endpoints_[a]->Outstanding() ? b : a];
      break;
    }
    case Balancer::kLeastWaiting:
    case Balancer::kLeastKvCache:
    case Balancer::kEndpointPicker:
      next = picker_->Pick(id, endpoints_, rng_);
      break;
  }
  next->Accept(id);
}

}  // namespace platsim::platform
