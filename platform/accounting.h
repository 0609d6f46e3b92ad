// What the platform's nodes cost and draw: each node is billed at its
// pool's price per hour from its creation to its deletion, and draws its
// pool's base power plus, per GPU, the idle power and (max - idle) times
// the GPU's busy fraction (models/power.h). Busy GPU time comes from the
// model servers; this class knows the nodes, their pools and their lives.
#ifndef PLATSIM_PLATFORM_ACCOUNTING_H_
#define PLATSIM_PLATFORM_ACCOUNTING_H_

#include <map>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/scenario.h"

namespace platsim::platform {

class Accounting {
 public:
  // Borrows everything; registers its watch.
  Accounting(sim::Engine& engine, ApiServer& api, const std::vector<NodePool>& pools);

  struct Totals {
    int nodes = 0;  // now
    std::int64_t gpus = 0;
    double cost_usd_per_hour = 0;  // now
    double floor_w = 0;            // power now with every GPU idle
    // Over [from, now]:
    double node_s = 0;
    double gpu_s = 0;  // provisioned
    double cost_usd = 0;
    double floor_j = 0;  // energy with every GPU idle
  };
  // Counting node lives from `from`.
  Totals At(sim::Time from) const;
  // The extra watts per busy GPU of the node's pool (max - idle); 0 for a
  // node never seen.
  double BusyExtraWatts(const std::string& node) const;

 private:
  struct Life {
    std::size_t pool;
    sim::Time created;
    sim::Time deleted = sim::kNever;
  };
  sim::Engine& engine_;
  const std::vector<NodePool>& pools_;
  std::map<std::string, std::size_t> pool_index_;
  std::map<std::string, Life> nodes_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_ACCOUNTING_H_
