// The cluster autoscaler over the node pools that autoscale, as upstream's
// runs (kubernetes/autoscaler cluster-autoscaler 1.36.1,
// core/static_autoscaler.go RunOnce), every scan interval:
// - pending pods (unschedulable, not deleting) that fit on free capacity
//   of the nodes or of nodes still coming (provisioning, or registered with
//   their GPUs not yet allocatable) are left to the scheduler
//   (FilterOutSchedulablePodListProcessor); while the oldest of the rest is
//   younger than 2 s (30 s for one requesting GPUs) the loop waits
//   (allPodsAreNew), scale-down included;
// - scale-up: for each group below its max size, the pods whose first of a
//   kind fits an empty node of the group, binpacked onto new nodes up to
//   the max (cluster_autoscaler_algorithm.h); the expander (least-waste,
//   most-pods, price or random) picks one group, whose size grows; each node
//   registers after the group's provisioning delay and, on GPU groups, its
//   GPUs become allocatable after a further delay. TriggeredScaleUp and
//   NotTriggerScaleUp events on the pods;
// - scale-down: nodes of groups above their min size whose utilization is
//   under the threshold (GPU nodes: by GPUs) and whose pods (all from
//   ReplicaSets) fit elsewhere are unneeded from then; one not so in a
//   loop starts over. Unneeded longer than scale-down-unneeded-time, and
//   not within scale-down-delay-after-add of a scale-up, a node is tainted
//   ToBeDeletedByClusterAutoscaler, its pods are evicted 5 s later, and it
//   is deleted once they are gone: empty nodes up to 10 at once, others
//   one at a time.
//
// Not modelled: the priority expander, node groups that fail
// to provision (max-node-provision-time and back-off), unready nodes,
// PodDisruptionBudgets, system and local-storage pods (pods here all come
// from ReplicaSets), balancing similar groups, resource quotas; a node is
// billed from when it registers.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_H_
#define PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "platform/api_server.h"
#include "platform/autoscaling.h"
#include "platform/controllers/cluster_autoscaler_algorithm.h"
#include "platform/events.h"
#include "sim/engine.h"
#include "sim/random.h"
#include "sim/stats.h"

namespace platsim::platform {

namespace ca {

enum class Expander { kLeastWaste, kMostPods, kPrice, kRandom };

// Flags and their defaults (config/flags/flags.go).
struct Options {
  sim::Time scan_interval = 10 * sim::kSecond;
  Expander expander = Expander::kLeastWaste;
  sim::Time scale_down_unneeded_time = 10 * sim::kMinute;
  sim::Time scale_down_delay_after_add = 10 * sim::kMinute;
  double scale_down_utilization_threshold = 0.5;
  double scale_down_gpu_utilization_threshold = 0.5;
  int max_scale_down_parallelism = 10;
  int max_drain_parallelism = 1;
  sim::Time node_delete_delay_after_taint = 5 * sim::kSecond;
  PodPricing pod_pricing;  // for the price expander
};

// A node pool that autoscales.
struct NodeGroup {
  std::string pool;
  int initial = 0;  // nodes at the start
  int min_size = 0, max_size = 0;
  // Registration: uniform in [provision_min, provision_max] after the
  // scale-up; then the GPUs after gpu_ready_delay.
  sim::Time provision_min = 0, provision_max = 0;
  sim::Time gpu_ready_delay = 0;
  Labels labels;
  Resources allocatable;
  std::vector<Taint> taints;
  double price_per_hour = 0;  // a node's, for the price expander
};

}  // namespace ca

class ClusterAutoscaler {
 public:
  // Borrows engine, api and events; scans every scan_interval from then on.
  ClusterAutoscaler(sim::Engine& engine, ApiServer& api, EventSink& events,
                    const ca::Options& options, std::vector<ca::NodeGroup> groups,
                    sim::Time warmup);

  // What each group did from the warm-up to `now`, by "cluster-autoscaler/
  // POOL": scale-ups and scale-downs (nodes added and removed), and its
  // size (the target: nodes registered or coming) last, at most, on
  // average.
  std::map<std::string, std::map<std::string, double>> Results(sim::Time now) const;
  // Group `pool`'s target size now.
  AutoscalerObservation ObservationOf(const std::string& pool) const;

 private:
  struct Group {
    ca::NodeGroup spec;
    int target = 0;      // nodes registered or coming, less those deleted
    int next_index = 0;  // the next node's name suffix
    int deleting = 0;
    // Results, from the warm-up.
    int ups = 0, downs = 0, highest = 0;
    sim::TimeAverage mean = sim::TimeAverage();
  };
  void Scan();
  // The node group of a node, or null for a pool that does not autoscale.
  Group* GroupOf(const Node& node);
  void ScaleUp(const std::vector<const Pod*>& pods);
  void ScaleDown(bool cooldown);
  void Resize(Group& g, int delta);
  void Register(Group& g);
  void StartDeletion(const Node& node, bool empty, double utilization);
  void FinishDeletion(const std::string& node);
  // Nodes registered in the API, by pool (those whose GPUs are pending
  // included).
  std::map<std::string, int> Registered() const;
  void Emit(const std::string& reason, const std::string& kind, const std::string& object,
            const std::string& message);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  const ca::Options options_;
  const sim::Time warmup_;
  sim::RandomStream rng_;
  std::map<std::string, Group> groups_;  // by pool
  std::map<std::string, std::string>
      gpu_pending_;  // nodes whose GPUs are not allocatable yet -> pool
  // Nodes tainted for deletion until their deletion lands: their group,
  // whether they are drained (not empty), and the pods evicted from them.
  struct Deletion {
    std::string pool;
    bool drain = false;
    std::vector<std::string> evicted;
  };
  std::map<std::string, Deletion> deleting_;
  std::map<std::string, sim::Time> unneeded_since_;
  std::set<std::string> told_;  // pods given NotTriggerScaleUp
  sim::Time last_scale_up_ = -sim::kMaxDuration;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_CLUSTER_AUTOSCALER_H_
