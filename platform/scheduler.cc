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
    NodeInfo& info = infos_[static_cast<std::size_t>(IndexOf(node.meta.name))];
    // The image counts follow status.images.
    for (const auto& [image, size] : info.images)
      --nodes_with_image_[static_cast<std::size_t>(image)];
    info.images.clear();
    if (type != WatchType::kDeleted) {
      for (const auto& [image, size] : node.images)
        info.images.emplace_back(ImageNumber(image), size);
      std::sort(info.images.begin(), info.images.end());
      for (const auto& [image, size] : info.images)
        ++nodes_with_image_[static_cast<std::size_t>(image)];
    }
    // A new node may fit a pod that fits nowhere, and so may a node whose
    // allocatable grew or whose taints changed (upstream's NodeAllocatable
    // and NodeTaint queueing hints); an update that only adds pulled images
    // does not requeue (no filter looks at them).
    const Resources& had = info.allocatable;
    const bool more = node.allocatable.cpu_milli > had.cpu_milli ||
                      node.allocatable.memory_bytes > had.memory_bytes ||
                      node.allocatable.gpus > had.gpus || node.allocatable.pods > had.pods;
    const bool taints = node.taints.size() != info.taints;
    if (type == WatchType::kDeleted) {
      info.allocatable = {};
      info.taints = 0;
      info.ready = false;
      info.node = nullptr;
    } else {
      info.allocatable = node.allocatable;
      info.taints = node.taints.size();
      info.ready = node.ready;
      info.node = &node;  // Added and Modified pass the stored object
    }
    if (type == WatchType::kAdded || (type == WatchType::kModified && (more || taints))) {
      RetryUnschedulable();
    }
  });
}

int Scheduler::IndexOf(const std::string& node_name) {
  const auto [it, added] = node_index_.try_emplace(node_name, static_cast<int>(infos_.size()));
  if (added) infos_.emplace_back();
  return it->second;
}

int Scheduler::ImageNumber(const std::string& image) {
  const auto [it, added] =
      image_numbers_.try_emplace(image, static_cast<int>(nodes_with_image_.size()));
  if (added) nodes_with_image_.push_back(0);
  return it->second;
}

void Scheduler::Account(const std::string& key, const Pod* pod) {
  if (const auto it = counted_.find(key); it != counted_.end()) {
    infos_[static_cast<std::size_t>(it->second.first)].requested -= it->second.second;
    counted_.erase(it);
  }
  if (pod == nullptr || pod->phase == PodPhase::kSucceeded || pod->phase == PodPhase::kFailed) {
    return;
  }
  const std::string* node = &pod->node_name;
  if (node->empty()) {
    const auto assumed = assumed_.find(key);
    if (assumed == assumed_.end()) return;
    node = &assumed->second;
  }
  Resources r = pod->spec.requests;
  r.pods = 1;
  const int index = IndexOf(*node);
  infos_[static_cast<std::size_t>(index)].requested += r;
  counted_.emplace(key, std::make_pair(index, r));
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
      nodes_.push_back(IndexOf(name));
    nodes_changed_ = false;
    next_start_ = 0;
  }

  // Filter, in the default profile's order; a node fails at the first
  // plugin that rejects it and counts under that plugin's reasons
  // (framework/runtime RunFilterPlugins).
  const Resources& req = pod->spec.requests;
  const Placement& placement = pod->spec.placement;
  const bool node_affinity = !placement.node_selector.empty() || placement.has_required_terms;
  struct Reasons {  // FailedScheduling reason -> nodes
    int not_ready = 0, affinity = 0, cpu = 0, memory = 0, gpus = 0, pods = 0;
    std::map<std::string, int> taints;  // by the first untolerated taint
  } reasons;
  struct Candidate {
    const std::string* name;
    std::int64_t resources;  // NodeResourcesFit + BalancedAllocation, weight 1 each
    std::int64_t taints;     // intolerable PreferNoSchedule taints (raw)
    std::int64_t affinity;   // matched preferred weights (raw)
    std::int64_t image;      // ImageLocality (already 0..100)
  };
  std::vector<Candidate> candidates;
  // The image's spread over the cluster (ImageStateSummary.NumNodes).
  const int image = ImageNumber(NormalizedImageName(pod->spec.image));
  const int nodes_with_image = nodes_with_image_[static_cast<std::size_t>(image)];
  const int total_nodes = static_cast<int>(nodes_.size());
  // Nodes are examined from where the last cycle stopped, until enough are
  // feasible (schedule_one.go findNodesThatPassFilters,
  // numFeasibleNodesToFind, nextStartNodeIndex).
  const auto want = static_cast<std::size_t>(NumFeasibleNodesToFind(total_nodes));
  std::size_t examined = 0;
  for (; examined < nodes_.size() && candidates.size() < want; ++examined) {
    const NodeInfo& info =
        infos_[static_cast<std::size_t>(nodes_[(next_start_ + examined) % nodes_.size()])];
    if (!info.ready) {
      ++reasons.not_ready;
      continue;
    }
    if (info.taints != 0) {
      if (const Taint* t = FirstUntoleratedTaint(info.node->taints, placement.tolerations)) {
        ++reasons.taints["node(s) had untolerated taint {" + t->key + ": " + t->value + "}"];
        continue;
      }
    }
    if (node_affinity && !MatchesRequiredNodeAffinity(placement, info.node->meta.labels)) {
      ++reasons.affinity;
      continue;
    }
    const Resources& u = info.requested;
    const Resources& a = info.allocatable;
    bool fits = true;
    if (u.cpu_milli + req.cpu_milli > a.cpu_milli) ++reasons.cpu, fits = false;
    if (u.memory_bytes + req.memory_bytes > a.memory_bytes) ++reasons.memory, fits = false;
    if (u.gpus + req.gpus > a.gpus) ++reasons.gpus, fits = false;
    if (u.pods + 1 > a.pods) ++reasons.pods, fits = false;
    if (!fits) continue;
    const auto has = std::lower_bound(
        info.images.begin(), info.images.end(), std::make_pair(image, std::int64_t{0}),
        [](const auto& x, const auto& y) { return x.first < y.first; });
    const bool has_image = has != info.images.end() && has->first == image;
    candidates.push_back(
        {&info.node->meta.name, Score(a, u, req),
         info.taints ? IntolerablePreferNoScheduleTaints(info.node->taints, placement.tolerations)
                     : 0,
         placement.preferred.empty()
             ? 0
             : PreferredNodeAffinityScore(placement, info.node->meta.labels),
         ImageLocalityScore(has_image, has_image ? has->second : 0, nodes_with_image, total_nodes,
                            pod->spec.containers)});
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
    const auto part = [&](int nodes, const std::string& reason) {
      if (nodes != 0) parts.push_back(std::to_string(nodes) + " " + reason);
    };
    part(reasons.not_ready, "node(s) were not ready");
    for (const auto& [reason, nodes] : reasons.taints)
      part(nodes, reason);
    part(reasons.affinity, "node(s) didn't match Pod's node affinity/selector");
    part(reasons.cpu, "Insufficient cpu");
    part(reasons.memory, "Insufficient memory");
    part(reasons.gpus, "Insufficient nvidia.com/gpu");
    part(reasons.pods, "Too many pods");
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
