#include "platform/controllers/cluster_autoscaler.h"

#include <algorithm>
#include <sstream>

#include "platform/controllers/cluster_autoscaler_algorithm.h"
#include "platform/placement.h"

namespace platsim::platform {
namespace {

// core/static_autoscaler.go unschedulablePodTimeBuffer and
// unschedulablePodWithGpuTimeBuffer.
constexpr sim::Time kNewPodBuffer = 2 * sim::kSecond;
constexpr sim::Time kNewGpuPodBuffer = 30 * sim::kSecond;
constexpr const char* kToBeDeletedTaint = "ToBeDeletedByClusterAutoscaler";
// How often a draining node is checked for its pods being gone
// (actuation/drain.go).
constexpr sim::Time kDrainPoll = 5 * sim::kSecond;

// A node as the autoscaler's simulations see it.
struct SimNode {
  std::string name;
  const Labels* labels;
  const std::vector<Taint>* taints;
  Resources allocatable;
  Resources used;
};

bool Fits(const SimNode& n, const Pod& pod) {
  const Placement& p = pod.spec.placement;
  return FirstUntoleratedTaint(*n.taints, p.tolerations) == nullptr &&
         MatchesRequiredNodeAffinity(p, *n.labels) &&
         ca::FitsResources(n.allocatable, n.used, pod.spec.requests);
}

void Place(SimNode& n, const Pod& pod) {
  n.used += pod.spec.requests;
  n.used.pods += 1;
}

// The pods' requests on each node they are bound to.
std::map<std::string, Resources> Requested(const std::map<std::string, Pod>& pods) {
  std::map<std::string, Resources> out;
  for (const auto& [key, pod] : pods) {
    if (pod.node_name.empty() || pod.phase == PodPhase::kSucceeded ||
        pod.phase == PodPhase::kFailed) {
      continue;
    }
    Resources& r = out[pod.node_name];
    r += pod.spec.requests;
    r.pods += 1;
  }
  return out;
}

}  // namespace

ClusterAutoscaler::ClusterAutoscaler(sim::Engine& engine, ApiServer& api, EventSink& events,
                                     const ca::Options& options, std::vector<ca::NodeGroup> groups,
                                     sim::Time warmup)
    : engine_(engine),
      api_(api),
      events_(events),
      options_(options),
      warmup_(warmup),
      rng_(engine.Stream("cluster-autoscaler")) {
  for (ca::NodeGroup& spec : groups) {
    Group g;
    g.target = spec.initial;
    g.next_index = spec.initial;
    g.highest = spec.initial;
    g.mean = sim::TimeAverage(warmup_, spec.initial);
    const std::string pool = spec.pool;
    g.spec = std::move(spec);
    groups_.emplace(pool, std::move(g));
  }
  if (warmup_ > engine_.Now()) {
    engine_.ScheduleCallbackAt(warmup_, [this] {
      for (auto& [pool, g] : groups_) {
        g.ups = g.downs = 0;
        g.highest = g.target;
        g.mean = sim::TimeAverage(warmup_, g.target);
      }
    });
  }
  engine_.ScheduleCallbackAfter(options_.scan_interval, [this] { Scan(); });
}

ClusterAutoscaler::Group* ClusterAutoscaler::GroupOf(const Node& node) {
  const auto it = groups_.find(node.pool);
  return it == groups_.end() ? nullptr : &it->second;
}

void ClusterAutoscaler::Emit(const std::string& reason, const std::string& kind,
                             const std::string& object, const std::string& message) {
  events_.Emit({engine_.Now(), reason, kind, object, message, {}});
}

void ClusterAutoscaler::Resize(Group& g, int delta) {
  const sim::Time now = engine_.Now();
  g.target += delta;
  if (delta > 0) g.ups += delta;
  if (delta < 0) g.downs -= delta;
  g.highest = std::max(g.highest, g.target);
  g.mean.Set(std::max(now, warmup_), g.target);
}

void ClusterAutoscaler::Scan() {
  const sim::Time now = engine_.Now();
  const auto& pods = api_.List<Pod>();
  const std::map<std::string, Resources> requested = Requested(pods);

  // The snapshot: registered nodes with their free capacity, and a
  // template node for each one coming (upcoming placeholders).
  std::vector<SimNode> snapshot;
  for (const auto& [name, node] : api_.List<Node>()) {
    if (deleting_.count(name)) continue;
    const Group* g = GroupOf(node);
    if (g != nullptr && gpu_pending_.count(name)) continue;  // counted as coming below
    const auto used = requested.find(name);
    snapshot.push_back({name, &node.meta.labels, &node.taints, node.allocatable,
                        used == requested.end() ? Resources{} : used->second});
  }
  // Upcoming nodes: the target less the nodes registered, plus those whose
  // GPUs are not allocatable yet (clusterstate.go GetUpcomingNodes; a node
  // in the API server's write latency is still coming).
  const std::map<std::string, int> registered = Registered();
  for (const auto& [pool, g] : groups_) {
    const auto r = registered.find(pool);
    int coming = std::max(0, g.target - (r == registered.end() ? 0 : r->second));
    for (const auto& [node, node_pool] : gpu_pending_)
      coming += node_pool == pool;
    for (int i = 0; i < coming; ++i)
      snapshot.push_back({"", &g.spec.labels, &g.spec.taints, g.spec.allocatable, {}});
  }

  // Pending pods; those that fit the snapshot wait for the scheduler.
  std::vector<const Pod*> waiting;
  std::set<std::string> still_pending;
  std::size_t next = 0;
  bool all_new = true;
  for (const auto& [key, pod] : pods) {
    if (!pod.node_name.empty() || !pod.unschedulable || pod.meta.deleting) continue;
    still_pending.insert(key);
    bool placed = false;
    for (std::size_t i = 0; i < snapshot.size() && !placed; ++i) {
      SimNode& n = snapshot[(next + i) % snapshot.size()];
      if (Fits(n, pod)) {
        Place(n, pod);
        next = (next + i + 1) % snapshot.size();
        placed = true;
      }
    }
    if (placed) continue;
    waiting.push_back(&pod);
    const sim::Time buffer = pod.spec.requests.gpus > 0 ? kNewGpuPodBuffer : kNewPodBuffer;
    if (now - pod.meta.creation_time >= buffer) all_new = false;
  }
  std::erase_if(told_, [&](const std::string& k) { return !still_pending.count(k); });

  // allPodsAreNew: wait, scale-down too (DisableScaleDownForLoop).
  const bool wait = !waiting.empty() && all_new;
  if (!waiting.empty() && !wait) ScaleUp(waiting);
  ScaleDown(wait || now < last_scale_up_ + options_.scale_down_delay_after_add);
  engine_.ScheduleCallbackAfter(options_.scan_interval, [this] { Scan(); });
}

void ClusterAutoscaler::ScaleUp(const std::vector<const Pod*>& pods) {
  // Equivalence groups: pods of one owner and one request.
  std::vector<std::vector<const Pod*>> kinds;
  std::map<std::string, std::size_t> kind_of;
  for (const Pod* p : pods) {
    const auto [it, added] = kind_of.emplace(p->template_owner, kinds.size());
    if (added) kinds.emplace_back();
    kinds[it->second].push_back(p);
  }
  struct Option {
    Group* group;
    ca::Estimate estimate;
    std::vector<std::size_t> kinds;  // the kinds it was given, in order
    Resources requested;
    int pods = 0;
  };
  std::vector<Option> options;
  std::map<std::string, int> reasons;  // why groups could not help, counted per group
  for (auto& [pool, g] : groups_) {
    if (g.target >= g.spec.max_size) {
      ++reasons["max node group size reached"];
      continue;
    }
    const SimNode empty{"", &g.spec.labels, &g.spec.taints, g.spec.allocatable, {}};
    Option o{&g, {}, {}, {}, 0};
    std::vector<std::vector<Resources>> requests;
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      if (!Fits(empty, *kinds[k].front())) continue;
      o.kinds.push_back(k);
      requests.emplace_back();
      for (const Pod* p : kinds[k])
        requests.back().push_back(p->spec.requests);
    }
    if (o.kinds.empty()) {
      ++reasons["node(s) the pods do not fit"];
      continue;
    }
    o.estimate = ca::EstimateNodes(requests, g.spec.allocatable, g.spec.max_size - g.target);
    if (o.estimate.nodes == 0) continue;
    for (std::size_t i = 0; i < o.kinds.size(); ++i) {
      for (int j = 0; j < o.estimate.placed[i]; ++j)
        o.requested += kinds[o.kinds[i]][static_cast<std::size_t>(j)]->spec.requests;
      o.pods += o.estimate.placed[i];
    }
    options.push_back(std::move(o));
  }
  if (options.empty()) {
    std::ostringstream why;
    bool first = true;
    for (const auto& [reason, n] : reasons) {
      why << (first ? "" : ", ") << n << " " << reason;
      first = false;
    }
    for (const Pod* p : pods) {
      if (told_.insert(p->meta.Key()).second) {
        Emit("NotTriggerScaleUp", "Pod", p->meta.Key(),
             "pod didn't trigger scale-up: " + why.str());
      }
    }
    return;
  }
  // The expander; ties go to a random one of the best.
  Resources stabilization_pod;  // price.go priceStabilizationPod
  stabilization_pod.cpu_milli = 500;
  stabilization_pod.memory_bytes = 500 * (std::int64_t{1} << 20);
  const double stabilization = ca::PodPricePerHour(stabilization_pod, options_.pod_pricing);
  const std::int64_t preferred_cpu =
      ca::PreferredNodeCpuMilli(static_cast<int>(api_.List<Node>().size()));
  std::vector<std::size_t> best;
  double best_score = 0;
  for (std::size_t i = 0; i < options.size(); ++i) {
    double score = 0;
    switch (options_.expander) {
      case ca::Expander::kLeastWaste:
        score = ca::WasteScore(options[i].group->spec.allocatable, options[i].estimate.nodes,
                               options[i].requested);
        break;
      case ca::Expander::kMostPods:
        score = -options[i].pods;
        break;
      case ca::Expander::kPrice: {
        const ca::NodeGroup& spec = options[i].group->spec;
        score = ca::PriceScore(spec.price_per_hour, options[i].estimate.nodes,
                               ca::PodPricePerHour(options[i].requested, options_.pod_pricing),
                               stabilization, spec.allocatable.cpu_milli, preferred_cpu,
                               spec.allocatable.gpus > 0);
        break;
      }
      case ca::Expander::kRandom:
        break;
    }
    if (best.empty() || score < best_score) {
      best = {i};
      best_score = score;
    } else if (score == best_score) {
      best.push_back(i);
    }
  }
  Option& chosen = options[best.size() == 1 ? best[0] : best[rng_.UniformInt(best.size())]];
  Group& g = *chosen.group;
  const int from = g.target;
  const int add = chosen.estimate.nodes;
  Resize(g, add);
  last_scale_up_ = engine_.Now();
  const std::string info = "[{" + g.spec.pool + " " + std::to_string(from) + "->" +
                           std::to_string(g.target) + " (max: " + std::to_string(g.spec.max_size) +
                           ")}]";
  for (std::size_t i = 0; i < chosen.kinds.size(); ++i) {
    const auto& kind = kinds[chosen.kinds[i]];
    for (int j = 0; j < chosen.estimate.placed[i]; ++j) {
      Emit("TriggeredScaleUp", "Pod", kind[static_cast<std::size_t>(j)]->meta.Key(),
           "pod triggered scale-up: " + info);
    }
  }
  for (int i = 0; i < add; ++i) {
    const sim::Time delay =
        g.spec.provision_min +
        static_cast<sim::Time>(rng_.Uniform() *
                               static_cast<double>(g.spec.provision_max - g.spec.provision_min));
    engine_.ScheduleCallbackAfter(delay,
                                  [this, pool = g.spec.pool] { Register(groups_.at(pool)); });
  }
}

std::map<std::string, int> ClusterAutoscaler::Registered() const {
  std::map<std::string, int> out;
  for (const auto& [name, node] : api_.List<Node>()) {
    if (groups_.count(node.pool)) ++out[node.pool];
  }
  return out;
}

void ClusterAutoscaler::Register(Group& g) {
  Node node;
  node.meta.name = g.spec.pool + "-" + std::to_string(g.next_index++);
  node.meta.labels = g.spec.labels;
  node.pool = g.spec.pool;
  node.allocatable = g.spec.allocatable;
  node.taints = g.spec.taints;
  const std::string name = node.meta.name;
  if (g.spec.gpu_ready_delay > 0 && node.allocatable.gpus > 0) {
    // The GPUs show up once the device plugin reports them.
    node.allocatable.gpus = 0;
    gpu_pending_.emplace(name, g.spec.pool);
    engine_.ScheduleCallbackAfter(g.spec.gpu_ready_delay,
                                  [this, name, gpus = g.spec.allocatable.gpus] {
                                    // Coming until the GPUs have landed.
                                    api_.Patch<Node>(
                                        name, [gpus](Node& n) { n.allocatable.gpus = gpus; },
                                        [this, name](WriteStatus) { gpu_pending_.erase(name); });
                                  });
  }
  api_.Create(std::move(node));
}

void ClusterAutoscaler::ScaleDown(bool cooldown) {
  const sim::Time now = engine_.Now();
  const auto& pods = api_.List<Pod>();
  const std::map<std::string, Resources> requested = Requested(pods);
  std::map<std::string, std::vector<const Pod*>> on_node;
  for (const auto& [key, pod] : pods) {
    if (!pod.node_name.empty() && !pod.meta.deleting) on_node[pod.node_name].push_back(&pod);
  }
  // Where pods may go: every registered node not being deleted.
  std::vector<SimNode> destinations;
  for (const auto& [name, node] : api_.List<Node>()) {
    if (deleting_.count(name)) continue;
    const auto used = requested.find(name);
    destinations.push_back({name, &node.meta.labels, &node.taints, node.allocatable,
                            used == requested.end() ? Resources{} : used->second});
  }
  // Candidates: empty nodes first, then those unneeded before, then by name.
  std::vector<const Node*> candidates;
  for (const auto& [name, node] : api_.List<Node>()) {
    const Group* g = GroupOf(node);
    if (g == nullptr || deleting_.count(name) || gpu_pending_.count(name)) continue;
    if (g->target - g->deleting <= g->spec.min_size) continue;
    candidates.push_back(&node);
  }
  auto rank = [&](const Node* n) {
    return on_node.count(n->meta.name) ? (unneeded_since_.count(n->meta.name) ? 1 : 2) : 0;
  };
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](const Node* a, const Node* b) { return rank(a) < rank(b); });
  std::map<std::string, sim::Time> unneeded;
  std::map<std::string, double> utilization;
  std::set<std::string> removed;  // simulated away in this pass
  for (const Node* node : candidates) {
    const std::string& name = node->meta.name;
    const Group* g = GroupOf(*node);
    const auto used = requested.find(name);
    const bool gpu_node = g->spec.allocatable.gpus > 0;
    const double u = ca::Utilization(
        node->allocatable, used == requested.end() ? Resources{} : used->second, gpu_node);
    const double threshold = gpu_node ? options_.scale_down_gpu_utilization_threshold
                                      : options_.scale_down_utilization_threshold;
    if (u >= threshold) continue;
    // SimulateNodeRemoval: every pod replicated and placed elsewhere; the
    // placements stand for the candidates after it.
    std::vector<SimNode> trial = destinations;
    bool movable = true;
    const auto here = on_node.find(name);
    for (const Pod* pod : here == on_node.end() ? std::vector<const Pod*>{} : here->second) {
      if (pod->template_owner.empty()) {
        movable = false;
        break;
      }
      auto it = std::find_if(trial.begin(), trial.end(), [&](const SimNode& d) {
        return d.name != name && !removed.count(d.name) && Fits(d, *pod);
      });
      if (it == trial.end()) {
        movable = false;
        break;
      }
      Place(*it, *pod);
    }
    if (!movable) continue;
    destinations = std::move(trial);
    removed.insert(name);
    const auto before = unneeded_since_.find(name);
    unneeded[name] = before == unneeded_since_.end() ? now : before->second;
    utilization[name] = u;
  }
  unneeded_since_ = std::move(unneeded);  // a node not unneeded now starts over
  if (cooldown) return;

  int empty_in_progress = 0, drains_in_progress = 0;
  for (const auto& [n, d] : deleting_)
    ++(d.drain ? drains_in_progress : empty_in_progress);
  for (const Node* node : candidates) {
    const std::string& name = node->meta.name;
    const auto since = unneeded_since_.find(name);
    if (since == unneeded_since_.end() ||
        !(since->second + options_.scale_down_unneeded_time < now)) {
      continue;
    }
    Group& g = *GroupOf(*node);
    // verifyMinSize: each deletion started counts at once.
    if (g.target - g.deleting <= g.spec.min_size) continue;
    const bool empty = !on_node.count(name);
    if (empty) {
      if (empty_in_progress + drains_in_progress >= options_.max_scale_down_parallelism) continue;
      ++empty_in_progress;
    } else {
      if (drains_in_progress >= options_.max_drain_parallelism ||
          empty_in_progress + drains_in_progress >= options_.max_scale_down_parallelism) {
        continue;
      }
      ++drains_in_progress;
    }
    StartDeletion(*node, empty, utilization[name]);
  }
}

void ClusterAutoscaler::StartDeletion(const Node& node, bool empty, double utilization) {
  const std::string name = node.meta.name;
  Group& g = *GroupOf(node);
  ++g.deleting;
  deleting_[name] = Deletion{g.spec.pool, !empty, {}};
  unneeded_since_.erase(name);
  api_.Patch<Node>(name, [](Node& n) {
    n.taints.push_back({kToBeDeletedTaint, "", TaintEffect::kNoSchedule});
  });
  Emit("ScaleDown", "Node", name, "marked the node as toBeDeleted/unschedulable");
  std::ostringstream status;
  if (empty) {
    status << "Scale-down: removing empty node \"" << name << "\"";
  } else {
    status << "Scale-down: removing node " << name << ", utilization: " << utilization;
  }
  Emit(empty ? "ScaleDownEmpty" : "ScaleDown", "ConfigMap", "kube-system/cluster-autoscaler-status",
       status.str());
  engine_.ScheduleCallbackAfter(options_.node_delete_delay_after_taint, [this, name] {
    std::vector<std::string>& evicted = deleting_.at(name).evicted;
    for (const auto& [key, pod] : api_.List<Pod>()) {
      if (pod.node_name != name || pod.meta.deleting) continue;
      Emit("ScaleDown", "Pod", key, "deleting pod for node scale down");
      api_.Delete<Pod>(key);
      evicted.push_back(key);
    }
    FinishDeletion(name);
  });
}

// Waits for the pods it evicted to be gone (a pod that tolerates the taint
// and lands on the node later goes with it), then deletes the node; the
// node counts as being deleted until that lands.
void ClusterAutoscaler::FinishDeletion(const std::string& name) {
  Deletion& d = deleting_.at(name);
  for (const std::string& key : d.evicted) {
    const Pod* pod = api_.Get<Pod>(key);
    if (pod != nullptr && pod->node_name == name) {
      engine_.ScheduleCallbackAfter(kDrainPoll, [this, name] { FinishDeletion(name); });
      return;
    }
  }
  Group& g = groups_.at(d.pool);
  Resize(g, -1);
  for (const auto& [key, pod] : api_.List<Pod>()) {
    if (pod.node_name == name && !pod.meta.deleting) api_.Delete<Pod>(key);
  }
  api_.Delete<Node>(name, [this, name](WriteStatus) {
    --groups_.at(deleting_.at(name).pool).deleting;
    deleting_.erase(name);
  });
  Emit("ScaleDown", "Node", name, "nodes removed by cluster autoscaler");
}

std::map<std::string, std::map<std::string, double>> ClusterAutoscaler::Results(
    sim::Time now) const {
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& [pool, g] : groups_) {
    out["cluster-autoscaler/" + pool] = {{"scale_ups", g.ups},
                                         {"scale_downs", g.downs},
                                         {"nodes_final", g.target},
                                         {"nodes_max", g.highest},
                                         {"nodes_mean", g.mean.Mean(std::max(now, warmup_))}};
  }
  return out;
}

AutoscalerObservation ClusterAutoscaler::ObservationOf(const std::string& pool) const {
  AutoscalerObservation o;
  o.desired = groups_.at(pool).target;
  return o;
}

}  // namespace platsim::platform
