#include "platform/controllers/replicaset.h"

#include <algorithm>

#include "platform/names.h"

namespace platsim::platform {
namespace {

bool IsActive(const Pod& p) {
  return !p.meta.deleting && p.phase != PodPhase::kSucceeded && p.phase != PodPhase::kFailed;
}

int PhaseRank(PodPhase phase) {
  return phase == PodPhase::kPending ? 0 : 2;
}

// controller.ActivePods ordering: the pod that sorts first is deleted first.
bool DeleteFirst(const Pod* a, const Pod* b) {
  if (a->node_name.empty() != b->node_name.empty()) return a->node_name.empty();
  if (PhaseRank(a->phase) != PhaseRank(b->phase)) return PhaseRank(a->phase) < PhaseRank(b->phase);
  if (a->ready != b->ready) return !a->ready;
  if (a->ready && b->ready && a->ready_since != b->ready_since) {
    return a->ready_since > b->ready_since;
  }
  if (a->meta.creation_time != b->meta.creation_time) {
    return a->meta.creation_time > b->meta.creation_time;
  }
  return a->meta.Key() < b->meta.Key();
}

std::string OwnerKey(const Pod& pod) {
  return pod.meta.namespace_name + "/" + pod.meta.owner_name;
}

}  // namespace

ReplicaSetController::ReplicaSetController(sim::Engine& engine, ApiServer& api, EventSink& events)
    : engine_(engine),
      api_(api),
      events_(events),
      queue_(engine, *this, events),
      names_(engine.Stream("replicaset/names")) {
  api_.Watch<ReplicaSet>([this](WatchType, const ReplicaSet& rs) { queue_.Add(rs.meta.Key()); });
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
}

void ReplicaSetController::OnPod(WatchType type, const Pod& pod) {
  if (type == WatchType::kDeleted) {
    pods_by_owner_.Remove(pod.meta.Key());
  } else if (pod.meta.owner_uid != 0) {
    pods_by_owner_.Set(pod.meta.Key(), {std::to_string(pod.meta.owner_uid)});
  }
  if (pod.meta.owner_kind != "ReplicaSet") return;
  const std::string rs_key = OwnerKey(pod);
  const auto it = expectations_.find(rs_key);
  if (it != expectations_.end()) {
    if (type == WatchType::kAdded && it->second.adds > 0) --it->second.adds;
    if (type == WatchType::kDeleted || pod.meta.deleting) it->second.deletes.erase(pod.meta.Key());
  }
  queue_.Add(rs_key);
}

std::vector<const Pod*> ReplicaSetController::ActivePodsOf(const ReplicaSet& rs) const {
  std::vector<const Pod*> pods;
  for (const std::string& key : pods_by_owner_.Get(std::to_string(rs.meta.uid))) {
    const Pod* pod = api_.Get<Pod>(key);
    if (pod != nullptr && IsActive(*pod) && SelectorMatches(rs.selector, pod->meta.labels)) {
      pods.push_back(pod);
    }
  }
  return pods;
}

Result ReplicaSetController::Reconcile(const std::string& key) {
  const ReplicaSet* rs = api_.Get<ReplicaSet>(key);
  if (rs == nullptr) {
    expectations_.erase(key);
    return Result::Done();
  }
  const std::vector<const Pod*> pods = ActivePodsOf(*rs);

  Expectations& exp = expectations_[key];
  const bool satisfied =
      (exp.adds <= 0 && exp.deletes.empty()) || engine_.Now() - exp.set_at >= kExpectationsTimeout;
  if (satisfied && !rs->meta.deleting) {
    const int diff = static_cast<int>(pods.size()) - rs->replicas;
    if (diff < 0) {
      const int n = std::min(-diff, kBurstReplicas);
      exp = Expectations{n, {}, engine_.Now()};
      for (int i = 0; i < n; ++i) {
        Pod pod;
        pod.meta.name = rs->meta.name + "-" + RandomSuffix(names_, 5);
        pod.meta.namespace_name = rs->meta.namespace_name;
        pod.meta.labels = rs->pod_template.labels;
        pod.meta.owner_kind = "ReplicaSet";
        pod.meta.owner_name = rs->meta.name;
        pod.meta.owner_uid = rs->meta.uid;
        pod.spec = rs->pod_template;
        pod.template_owner = rs->meta.owner_kind == "Deployment" || rs->meta.owner_kind == "Rollout"
                                 ? rs->meta.namespace_name + "/" + rs->meta.owner_name
                                 : key;
        const std::string pod_key = pod.meta.Key();
        api_.Create(std::move(pod), [this, key](WriteStatus s) {
          // A failed create will never be observed: lower the expectation
          // (as the upstream controller does on error) and sync again.
          if (s != WriteStatus::kOk) {
            --expectations_[key].adds;
            queue_.Add(key);
          }
        });
        events_.Emit(
            {engine_.Now(), "SuccessfulCreate", "ReplicaSet", key, "Created pod: " + pod_key, {}});
      }
    } else if (diff > 0) {
      std::vector<const Pod*> ranked = pods;
      std::sort(ranked.begin(), ranked.end(), DeleteFirst);
      const int n = std::min(diff, kBurstReplicas);
      exp = Expectations{0, {}, engine_.Now()};
      for (int i = 0; i < n; ++i) {
        const std::string pod_key = ranked[i]->meta.Key();
        exp.deletes.insert(pod_key);
        api_.Delete<Pod>(pod_key);
        events_.Emit(
            {engine_.Now(), "SuccessfulDelete", "ReplicaSet", key, "Deleted pod: " + pod_key, {}});
      }
    }
  }

  // Status from the pods as they are now.
  ReplicaSetStatus status;
  status.replicas = static_cast<int>(pods.size());
  sim::Time next_available = sim::kNever;
  for (const Pod* p : pods) {
    if (!p->ready) continue;
    ++status.ready_replicas;
    if (engine_.Now() - p->ready_since >= rs->min_ready) {
      ++status.available_replicas;
    } else {
      next_available = std::min(next_available, sim::SatAdd(p->ready_since, rs->min_ready));
    }
  }
  status.observed_generation = rs->meta.generation;
  const ReplicaSetStatus& old = rs->status;
  if (status.replicas != old.replicas || status.ready_replicas != old.ready_replicas ||
      status.available_replicas != old.available_replicas ||
      status.observed_generation != old.observed_generation) {
    api_.Patch<ReplicaSet>(key, [status](ReplicaSet& r) { r.status = status; });
  }
  if (next_available != sim::kNever) return Result::RequeueAfter(next_available - engine_.Now());
  return Result::Done();
}

}  // namespace platsim::platform
