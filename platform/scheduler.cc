#include "platform/scheduler.h"

#include <algorithm>

#include "platform/placement.h"

#include <cmath>
#include <utility>
#include <vector>

namespace platsim::platform {
namespace {

// The loader bounds every amount (platform/scenario.cc, kMax*Milli) so that
// sums of two amounts and `x * 100` here cannot overflow.
std::int64_t LeastAllocated(std::int64_t allocatable, std::int64_t requested) {
  if (allocatable == 0 || requested > allocatable) return 0;
  return (allocatable - requested) * 100 / allocatable;
}

// The size of `image` as `node` reports it; 0 if it does not have it.
std::int64_t ImageSize(const Node& node, const std::string& image) {
  const auto it = node.images.find(image);
  return it == node.images.end() ? 0 : it->second;
}

}  // namespace

Scheduler::Scheduler(sim::Engine& engine, ApiServer& api, EventSink& events)
    : engine_(engine),
      api_(api),
      events_(events),
      queue_(engine, *this, events),
      rng_(engine.Stream("scheduler")) {
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) {
    const std::string key = pod.meta.Key();
    Account(key, type == WatchType::kDeleted ? nullptr : &pod);
    if (type == WatchType::kDeleted) {
      unschedulable_.erase(key);
      RetryUnschedulable();
    } else if (pod.node_name.empty() && !pod.meta.deleting) {
      queue_.Add(key);
    }
  });
  api_.Watch<Node>([this](WatchType type, const Node& node) {
    if (type != WatchType::kModified) nodes_changed_ = true;
    // The image counts follow status.images.
    std::set<std::string>& had = node_images_[node.meta.name];
    for (const auto& image : had)
      --nodes_with_image_[image];
    had.clear();
    if (type != WatchType::kDeleted) {
      for (const auto& [image, size] : node.images) {
        had.insert(image);
        ++nodes_with_image_[image];
      }
    } else {
      node_images_.erase(node.meta.name);
    }
    // A new node may fit a pod that fits nowhere, and so may a node whose
    // allocatable grew or whose taints changed (upstream's NodeAllocatable
    // and NodeTaint queueing hints); an update that only adds pulled images
    // does not requeue (no filter looks at them).
    Resources& had_allocatable = node_allocatable_[node.meta.name];
    std::size_t& had_taints = node_taints_[node.meta.name];
    const bool more = node.allocatable.cpu_milli > had_allocatable.cpu_milli ||
                      node.allocatable.memory_bytes > had_allocatable.memory_bytes ||
                      node.allocatable.gpus > had_allocatable.gpus ||
                      node.allocatable.pods > had_allocatable.pods;
    const bool taints = node.taints.size() != had_taints;
    had_allocatable = node.allocatable;
    had_taints = node.taints.size();
    if (type == WatchType::kDeleted) {
      node_allocatable_.erase(node.meta.name);
      node_taints_.erase(node.meta.name);
    }
    if (type == WatchType::kAdded || (type == WatchType::kModified && (more || taints))) {
      RetryUnschedulable();
    }
  });
}

void Scheduler::Account(const std::string& key, const Pod* pod) {
  if (const auto it = counted_.find(key); it != counted_.end()) {
    requested_[it->second.first] -= it->second.second;
    counted_.erase(it);
  }
  if (pod == nullptr || pod->phase == PodPhase::kSucceeded || pod->phase == PodPhase::kFailed) {
    return;
  }
  std::string node = pod->node_name;
  if (node.empty()) {
    const auto assumed = assumed_.find(key);
    if (assumed == assumed_.end()) return;
    node = assumed->second;
  }
  Resources r = pod->spec.requests;
  r.pods = 1;
  requested_[node] += r;
  counted_.emplace(key, std::make_pair(std::move(node), r));
}

int Scheduler::NumFeasibleNodesToFind(int all_nodes) {
  if (all_nodes < kMinFeasibleNodesToFind) return all_nodes;
  const int percentage = std::max(kMinFeasibleNodesPercentageToFind, 50 - all_nodes / 125);
  return std::max(kMinFeasibleNodesToFind, all_nodes * percentage / 100);
}

void Scheduler::RetryUnschedulable() {
  for (const auto& key : unschedulable_)
    queue_.Add(key);
}

std::int64_t Scheduler::Score(const Resources& allocatable, const Resources& used,
                              const Resources& pod) {
  const std::int64_t cpu = used.cpu_milli + (pod.cpu_milli ? pod.cpu_milli : kDefaultCpuMilli);
  const std::int64_t mem =
      used.memory_bytes + (pod.memory_bytes ? pod.memory_bytes : kDefaultMemoryBytes);
  const std::int64_t fit =
      (LeastAllocated(allocatable.cpu_milli, cpu) + LeastAllocated(allocatable.memory_bytes, mem)) /
      2;
  const double cpu_fraction =
      allocatable.cpu_milli ? std::min(1.0, double(cpu) / double(allocatable.cpu_milli)) : 1.0;
  const double mem_fraction = allocatable.memory_bytes
                                  ? std::min(1.0, double(mem) / double(allocatable.memory_bytes))
                                  : 1.0;
  // The standard deviation of two fractions is half their distance.
  const double std_dev = std::fabs(cpu_fraction - mem_fraction) / 2.0;
  const auto balanced = static_cast<std::int64_t>((1.0 - std_dev) * 100.0);
  return 1 * fit + 1 * balanced;
}

std::int64_t Scheduler::ImageLocalityScore(bool has_image, std::int64_t size_bytes,
                                           int nodes_with_image, int total_nodes, int containers) {
  // sumImageScores: int64(float64(size) * numNodes / totalNumNodes).
  std::int64_t sum = 0;
  if (has_image && total_nodes > 0) {
    const double spread = static_cast<double>(nodes_with_image) / static_cast<double>(total_nodes);
    sum = static_cast<std::int64_t>(static_cast<double>(size_bytes) * spread);
  }
  // calculatePriority.
  const std::int64_t max_threshold = kImageMaxContainerThreshold * std::max(1, containers);
  sum = std::clamp(sum, kImageMinThreshold, max_threshold);
  return kMaxNodeScore * (sum - kImageMinThreshold) / (max_threshold - kImageMinThreshold);
}

Result Scheduler::Reconcile(const std::string& key) {
  const Pod* pod = api_.Get<Pod>(key);
  if (pod == nullptr || !pod->node_name.empty() || pod->meta.deleting || assumed_.count(key)) {
    unschedulable_.erase(key);
    return Result::Done();
  }
  if (nodes_changed_) {
    nodes_.clear();
    for (const auto& [name, node] : api_.List<Node>())
      nodes_.push_back({&node, &requested_[name]});
    nodes_changed_ = false;
    next_start_ = 0;
  }

  // Filter, in the default profile's order; a node fails at the first
  // plugin that rejects it and counts under that plugin's reasons
  // (framework/runtime RunFilterPlugins).
  const Resources& req = pod->spec.requests;
  const Placement& placement = pod->spec.placement;
  std::map<std::string, int> reasons;  // FailedScheduling reason -> nodes
  struct Candidate {
    const std::string* name;
    std::int64_t resources;  // NodeResourcesFit + BalancedAllocation, weight 1 each
    std::int64_t taints;     // intolerable PreferNoSchedule taints (raw)
    std::int64_t affinity;   // matched preferred weights (raw)
    std::int64_t image;      // ImageLocality (already 0..100)
  };
  std::vector<Candidate> candidates;
  // The image's spread over the cluster (ImageStateSummary.NumNodes).
  const std::string image = NormalizedImageName(pod->spec.image);
  const auto spread = nodes_with_image_.find(image);
  const int nodes_with_image = spread == nodes_with_image_.end() ? 0 : spread->second;
  const int total_nodes = static_cast<int>(nodes_.size());
  // Nodes are examined from where the last cycle stopped, until enough are
  // feasible (schedule_one.go findNodesThatPassFilters,
  // numFeasibleNodesToFind, nextStartNodeIndex).
  const auto want = static_cast<std::size_t>(NumFeasibleNodesToFind(total_nodes));
  std::size_t examined = 0;
  for (; examined < nodes_.size() && candidates.size() < want; ++examined) {
    const NodeSlot& slot = nodes_[(next_start_ + examined) % nodes_.size()];
    const Node& node = *slot.node;
    const std::string& name = node.meta.name;
    if (!node.ready) {
      ++reasons["node(s) were not ready"];
      continue;
    }
    if (const Taint* t = FirstUntoleratedTaint(node.taints, placement.tolerations)) {
      ++reasons["node(s) had untolerated taint {" + t->key + ": " + t->value + "}"];
      continue;
    }
    if (!MatchesRequiredNodeAffinity(placement, node.meta.labels)) {
      ++reasons["node(s) didn't match Pod's node affinity/selector"];
      continue;
    }
    const Resources& u = *slot.requested;
    const Resources& a = node.allocatable;
    bool fits = true;
    if (u.cpu_milli + req.cpu_milli > a.cpu_milli) ++reasons["Insufficient cpu"], fits = false;
    if (u.memory_bytes + req.memory_bytes > a.memory_bytes) {
      ++reasons["Insufficient memory"], fits = false;
    }
    if (u.gpus + req.gpus > a.gpus) ++reasons["Insufficient nvidia.com/gpu"], fits = false;
    if (u.pods + 1 > a.pods) ++reasons["Too many pods"], fits = false;
    if (!fits) continue;
    candidates.push_back({&name, Score(a, u, req),
                          IntolerablePreferNoScheduleTaints(node.taints, placement.tolerations),
                          PreferredNodeAffinityScore(placement, node.meta.labels),
                          ImageLocalityScore(node.images.count(image) > 0, ImageSize(node, image),
                                             nodes_with_image, total_nodes, pod->spec.containers)});
  }
  if (!nodes_.empty()) next_start_ = (next_start_ + examined) % nodes_.size();

  // Score: each plugin's normalized score times its weight, summed
  // (RunScorePlugins; weights from apis/config/v1 default_plugins.go:
  // TaintToleration 3, NodeAffinity 2, ImageLocality 1). NodeAffinity is skipped for a pod
  // without preferred terms (its PreScore returns Skip).
  std::vector<std::int64_t> taint_scores, affinity_scores;
  for (const Candidate& c : candidates) {
    taint_scores.push_back(c.taints);
    affinity_scores.push_back(c.affinity);
  }
  DefaultNormalizeScore(kMaxNodeScore, true, taint_scores);
  DefaultNormalizeScore(kMaxNodeScore, false, affinity_scores);
  if (placement.preferred.empty()) std::fill(affinity_scores.begin(), affinity_scores.end(), 0);
  std::string best;
  std::int64_t best_score = -1;
  int ties = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const std::int64_t score = candidates[i].resources + kTaintTolerationWeight * taint_scores[i] +
                               kNodeAffinityWeight * affinity_scores[i] +
                               kImageLocalityWeight * candidates[i].image;
    if (score > best_score) {
      best_score = score;
      best = *candidates[i].name;
      ties = 1;
    } else if (score == best_score && rng_.UniformInt(++ties) == 0) {
      best = *candidates[i].name;
    }
  }

  if (best.empty()) {
    // The FailedScheduling message, as framework/types.go FitError.Error():
    // "count reason" per reason, sorted as strings, joined with ", ".
    std::string why = "0/" + std::to_string(api_.List<Node>().size()) + " nodes are available";
    std::vector<std::string> parts;
    for (const auto& [reason, nodes] : reasons)
      parts.push_back(std::to_string(nodes) + " " + reason);
    std::sort(parts.begin(), parts.end());
    for (std::size_t i = 0; i < parts.size(); ++i)
      why += (i ? ", " : ": ") + parts[i];
    why += ".";
    if (unschedulable_.insert(key).second) {
      events_.Emit({engine_.Now(), "FailedScheduling", "Pod", key, why, {}});
      api_.Patch<Pod>(key, [](Pod& p) { p.unschedulable = true; });
    }
    // The work queue keeps one (the earliest) backstop per pod however often
    // event-driven retries fail in between.
    return Result::RequeueAfter(kUnschedulableRetry);
  }

  unschedulable_.erase(key);
  assumed_[key] = best;
  Account(key, pod);
  api_.Patch<Pod>(
      key,
      [best](Pod& p) {
        p.node_name = best;
        p.unschedulable = false;
      },
      [this, key](WriteStatus) { assumed_.erase(key); });
  events_.Emit({engine_.Now(),
                "Scheduled",
                "Pod",
                key,
                "Successfully assigned " + key + " to " + best,
                {{"node", best}}});
  return Result::Done();
}

}  // namespace platsim::platform
