#include "platform/accounting.h"

#include <algorithm>

namespace platsim::platform {

Accounting::Accounting(sim::Engine& engine, ApiServer& api, const std::vector<NodePool>& pools)
    : engine_(engine), pools_(pools) {
  for (std::size_t i = 0; i < pools_.size(); ++i)
    pool_index_[pools_[i].name] = i;
  api.Watch<Node>([this](WatchType type, const Node& node) {
    const auto pool = pool_index_.find(node.pool);
    if (pool == pool_index_.end()) return;
    if (type == WatchType::kAdded) {
      nodes_[node.meta.name] = Life{pool->second, engine_.Now()};
    } else if (type == WatchType::kDeleted) {
      nodes_.at(node.meta.name).deleted = engine_.Now();
    }
  });
}

Accounting::Totals Accounting::At(sim::Time from) const {
  const sim::Time now = engine_.Now();
  Totals t;
  for (const auto& [name, life] : nodes_) {
    const NodePool& pool = pools_[life.pool];
    const double idle_w =
        pool.node_base_w + static_cast<double>(pool.allocatable.gpus) * pool.gpu_idle_w;
    if (life.deleted > now) {
      ++t.nodes;
      t.gpus += pool.allocatable.gpus;
      t.cost_usd_per_hour += pool.price_usd_per_hour;
      t.floor_w += idle_w;
    }
    const double s = sim::ToSeconds(
        std::max<sim::Time>(0, std::min(life.deleted, now) - std::max(life.created, from)));
    t.node_s += s;
    t.gpu_s += s * static_cast<double>(pool.allocatable.gpus);
    t.cost_usd += s / 3600.0 * pool.price_usd_per_hour;
    t.floor_j += s * idle_w;
  }
  return t;
}

double Accounting::BusyExtraWatts(const std::string& node) const {
  const auto it = nodes_.find(node);
  if (it == nodes_.end()) return 0.0;
  const NodePool& pool = pools_[it->second.pool];
  return pool.gpu_max_w - pool.gpu_idle_w;
}

}  // namespace platsim::platform
