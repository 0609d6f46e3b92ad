#include "platform/serving/split.h"

namespace platsim::platform {

WeightedSplit::WeightedSplit(sim::Engine& engine, RequestTable& table, const std::string& name,
                             std::vector<Backend> backends)
    : engine_(engine),
      table_(table),
      rng_(engine.Stream("split/" + name)),
      backends_(std::move(backends)) {
  for (const Backend& b : backends_)
    total_ += b.weight;
}

void WeightedSplit::SetWeights(const std::vector<std::uint32_t>& weights) {
  total_ = 0;
  for (std::size_t i = 0; i < backends_.size() && i < weights.size(); ++i) {
    backends_[i].weight = weights[i];
    total_ += weights[i];
  }
}

void WeightedSplit::Accept(RequestId id) {
  if (total_ == 0) {
    table_.End(id, Outcome::kNoEndpoint, engine_.Now());
    return;
  }
  std::uint64_t draw = rng_.UniformInt(total_);
  for (const Backend& b : backends_) {
    if (draw < b.weight) {
      b.hop->Accept(id);
      return;
    }
    draw -= b.weight;
  }
}

}  // namespace platsim::platform
