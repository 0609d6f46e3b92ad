#include "platform/controllers/cluster_autoscaler_algorithm.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace platsim::platform::ca {
namespace {

double Share(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

bool FitsResources(const Resources& allocatable, const Resources& used, const Resources& pod) {
  return used.cpu_milli + pod.cpu_milli <= allocatable.cpu_milli &&
         used.memory_bytes + pod.memory_bytes <= allocatable.memory_bytes &&
         used.gpus + pod.gpus <= allocatable.gpus && used.pods + 1 <= allocatable.pods;
}

Estimate EstimateNodes(const std::vector<std::vector<Resources>>& groups,
                       const Resources& allocatable, int limit) {
  Estimate e;
  e.placed.assign(groups.size(), 0);
  // DecreasingPodOrderer.
  std::vector<std::size_t> order(groups.size());
  std::iota(order.begin(), order.end(), 0);
  auto score = [&](std::size_t g) {
    if (groups[g].empty()) return 0.0;
    const Resources& p = groups[g].front();
    return Share(p.cpu_milli, allocatable.cpu_milli) +
           Share(p.memory_bytes, allocatable.memory_bytes);
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return score(a) > score(b); });
  std::vector<Resources> nodes;  // what the added nodes hold
  auto place = [&](Resources& node, const Resources& pod) {
    node += pod;
    node.pods += 1;
  };
  // Once the limit is reached no node is added, but later groups still go
  // onto the nodes already added (newNodesAvailable).
  bool new_nodes_available = true;
  for (const std::size_t g : order) {
    const std::vector<Resources>& pods = groups[g];
    std::size_t i = 0;
    // tryToScheduleOnExistingNodes: until the first pod that fits none.
    for (; i < pods.size(); ++i) {
      auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Resources& n) {
        return FitsResources(allocatable, n, pods[i]);
      });
      if (it == nodes.end()) break;
      place(*it, pods[i]);
      ++e.placed[g];
    }
    // tryToScheduleOnNewNodes.
    for (; new_nodes_available && i < pods.size(); ++i) {
      if (!nodes.empty() && FitsResources(allocatable, nodes.back(), pods[i])) {
        place(nodes.back(), pods[i]);
        ++e.placed[g];
        continue;
      }
      if (!nodes.empty() && nodes.back().pods == 0) break;  // not even an empty node takes it
      if (static_cast<int>(nodes.size()) >= limit) {
        new_nodes_available = false;
        break;
      }
      nodes.push_back(Resources{});
      if (!FitsResources(allocatable, nodes.back(), pods[i])) break;
      place(nodes.back(), pods[i]);
      ++e.placed[g];
    }
  }
  e.nodes = static_cast<int>(
      std::count_if(nodes.begin(), nodes.end(), [](const Resources& n) { return n.pods > 0; }));
  return e;
}

double WasteScore(const Resources& allocatable, int nodes, const Resources& requested) {
  const double cpu = static_cast<double>(allocatable.cpu_milli) * nodes;
  const double memory = static_cast<double>(allocatable.memory_bytes) * nodes;
  const double cpu_waste = cpu > 0 ? (cpu - static_cast<double>(requested.cpu_milli)) / cpu : 0;
  const double memory_waste =
      memory > 0 ? (memory - static_cast<double>(requested.memory_bytes)) / memory : 0;
  return cpu_waste + memory_waste;
}

double PodPricePerHour(const Resources& pod, const PodPricing& pricing) {
  return static_cast<double>(pod.cpu_milli) / 1000.0 * pricing.cpu +
         static_cast<double>(pod.memory_bytes) / static_cast<double>(std::int64_t{1} << 30) *
             pricing.memory_gib +
         static_cast<double>(pod.gpus) * pricing.gpu;
}

std::int64_t PreferredNodeCpuMilli(int nodes) {
  if (nodes <= 2) return 1000;
  if (nodes <= 6) return 2000;
  if (nodes <= 20) return 4000;
  if (nodes <= 60) return 8000;
  if (nodes <= 200) return 16000;
  return 32000;
}

double PriceScore(double node_price, int nodes, double pods_price, double stabilization,
                  std::int64_t node_cpu_milli, std::int64_t preferred_cpu_milli, bool gpu_node) {
  const double price = (node_price * nodes + stabilization) / (pods_price + stabilization);
  const double preferred = static_cast<double>(preferred_cpu_milli);
  const double cpu = static_cast<double>(std::max<std::int64_t>(1, node_cpu_milli));
  const double unfitness = std::max(preferred / cpu, cpu / preferred);
  const double suppressed =
      gpu_node ? 1000.0 : (unfitness - 1.0) * (1.0 - std::tanh((nodes - 1) / 15.0)) + 1.0;
  return suppressed * price;
}

double Utilization(const Resources& allocatable, const Resources& requested, bool gpu_node) {
  if (gpu_node) return Share(requested.gpus, allocatable.gpus);
  return std::max(Share(requested.cpu_milli, allocatable.cpu_milli),
                  Share(requested.memory_bytes, allocatable.memory_bytes));
}

}  // namespace platsim::platform::ca
