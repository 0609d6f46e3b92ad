#include "platform/controllers/deployment.h"

#include <algorithm>
#include <set>

#include "platform/controllers/deployment_algorithm.h"
#include "platform/names.h"

namespace platsim::platform {
namespace {

// controller.ReplicaSetsByCreationTimestamp: oldest first, then by name.
bool Older(const ReplicaSet* a, const ReplicaSet* b) {
  if (a->meta.creation_time != b->meta.creation_time) {
    return a->meta.creation_time < b->meta.creation_time;
  }
  return a->meta.name < b->meta.name;
}

}  // namespace

DeploymentController::DeploymentController(sim::Engine& engine, ApiServer& api, EventSink& events)
    : engine_(engine), api_(api), events_(events), queue_(engine, *this, events) {
  api_.Watch<Deployment>([this](WatchType, const Deployment& d) { queue_.Add(d.meta.Key()); });
  api_.Watch<ReplicaSet>([this](WatchType type, const ReplicaSet& rs) {
    if (type == WatchType::kDeleted) {
      replicasets_by_owner_.Remove(rs.meta.Key());
    } else if (rs.meta.owner_uid != 0) {
      replicasets_by_owner_.Set(rs.meta.Key(), {std::to_string(rs.meta.owner_uid)});
    }
    if (rs.meta.owner_kind == "Deployment") {
      queue_.Add(rs.meta.namespace_name + "/" + rs.meta.owner_name);
    }
  });
  // A pod gone: Recreate may be waiting for it.
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) {
    if (type == WatchType::kDeleted && pod.meta.owner_kind == "ReplicaSet" &&
        !pod.template_owner.empty()) {
      queue_.Add(pod.template_owner);
    }
  });
}

int DeploymentController::DefaultMaxUnavailable(int replicas) {
  return rollout::ResolveFenceposts({}, {}, replicas).second;
}

void DeploymentController::Scale(const std::string& key, const Deployment& d, const ReplicaSet& rs,
                                 int replicas) {
  const int from = rs.replicas;
  ReplicaSet scaled = rs;
  scaled.replicas = replicas;
  // SetReplicasAnnotations: what the Deployment wanted when it last wrote
  // the ReplicaSet, for telling a later resize (isScalingEvent).
  scaled.desired_replicas = d.replicas;
  scaled.max_replicas = d.replicas + rollout::MaxSurge(d);
  if (from == replicas && scaled.desired_replicas == rs.desired_replicas &&
      scaled.max_replicas == rs.max_replicas) {
    return;
  }
  // The event once the write has landed, as upstream records it only after
  // a successful update; a conflict means someone (or an earlier sync of
  // ours) wrote first, and the watch requeues us.
  api_.Update(std::move(scaled), [this, key, name = rs.meta.name, from,
                                  replicas](WriteStatus status) {
    if (status != WriteStatus::kOk || from == replicas) return;
    if (const auto it = active_rollout_.find(key); it != active_rollout_.end()) {
      ++rollouts_[it->second].steps;
    }
    events_.Emit({engine_.Now(),
                  "ScalingReplicaSet",
                  "Deployment",
                  key,
                  std::string(replicas > from ? "Scaled up" : "Scaled down") + " replica set " +
                      name + " to " + std::to_string(replicas) + " from " + std::to_string(from),
                  {}});
  });
}

std::string DeploymentController::CreateNew(const std::string& key, const Deployment& d,
                                            const std::string& hash, int replicas,
                                            std::int64_t revision) {
  ReplicaSet rs;
  rs.meta.name = d.meta.name + "-" + hash;
  rs.meta.namespace_name = d.meta.namespace_name;
  rs.meta.labels = d.pod_template.labels;
  rs.meta.labels["pod-template-hash"] = hash;
  rs.meta.owner_kind = "Deployment";
  rs.meta.owner_name = d.meta.name;
  rs.meta.owner_uid = d.meta.uid;
  rs.replicas = replicas;
  rs.selector = d.selector;
  rs.selector["pod-template-hash"] = hash;
  rs.pod_template = d.pod_template;
  rs.pod_template.labels["pod-template-hash"] = hash;
  rs.template_hash = hash;
  rs.min_ready = d.min_ready;
  rs.revision = revision;
  rs.desired_replicas = d.replicas;
  rs.max_replicas = d.replicas + rollout::MaxSurge(d);
  const std::string name = rs.meta.name;
  api_.Create(std::move(rs), [this, key, name, replicas](WriteStatus s) {
    if (s != WriteStatus::kOk) {
      queue_.Add(key);
      return;
    }
    // Upstream writes this condition at once (sync.go getNewReplicaSet), so
    // it is seen even when the same sync moves on to ReplicaSetUpdated.
    events_.Emit({engine_.Now(),
                  "NewReplicaSetCreated",
                  "Deployment",
                  key,
                  "Created new replica set \"" + name + "\"",
                  {{"condition", "Progressing"}, {"status", "True"}}});
    if (replicas > 0) {
      if (const auto it = active_rollout_.find(key); it != active_rollout_.end()) {
        ++rollouts_[it->second].steps;
      }
      events_.Emit({engine_.Now(),
                    "ScalingReplicaSet",
                    "Deployment",
                    key,
                    "Scaled up replica set " + name + " to " + std::to_string(replicas),
                    {}});
    }
  });
  created_ = name;
  return name;
}

bool DeploymentController::Rolling(const std::string& key, const Deployment& d,
                                   const ReplicaSet* new_rs,
                                   const std::vector<const ReplicaSet*>& old) {
  int all = 0;
  for (const ReplicaSet* rs : old)
    all += rs->replicas;
  rollout::Set fresh;
  if (new_rs == nullptr) {
    std::int64_t revision = 0;
    for (const ReplicaSet* rs : old)
      revision = std::max(revision, rs->revision);
    fresh.replicas = rollout::NewRSNewReplicas(d, all, 0);
    CreateNew(key, d, TemplateHash(d.pod_template), fresh.replicas, revision + 1);
  } else {
    fresh = {new_rs->replicas, new_rs->status.available_replicas};
    // reconcileNewReplicaSet.
    if (new_rs->replicas > d.replicas) {
      Scale(key, d, *new_rs, d.replicas);
      return true;
    }
    if (new_rs->replicas < d.replicas) {
      const int n = rollout::NewRSNewReplicas(d, all + new_rs->replicas, new_rs->replicas);
      if (n != new_rs->replicas) {
        Scale(key, d, *new_rs, n);
        return true;
      }
    }
  }
  // reconcileOldReplicaSets, over the old ReplicaSets with replicas.
  std::vector<const ReplicaSet*> active;
  std::vector<rollout::Set> sets;
  for (const ReplicaSet* rs : old) {
    if (rs->replicas == 0) continue;
    active.push_back(rs);
    sets.push_back({rs->replicas, rs->status.available_replicas});
  }
  const rollout::ScaleDown down = rollout::ReconcileOldReplicaSets(d, sets, fresh);
  for (std::size_t i = 0; i < active.size(); ++i) {
    if (down.replicas[i] != active[i]->replicas) Scale(key, d, *active[i], down.replicas[i]);
  }
  return down.cleaned + down.scaled > 0 || new_rs == nullptr;
}

bool DeploymentController::OldPodsRunning(const std::vector<const ReplicaSet*>& old) const {
  std::set<std::uint64_t> old_uids;
  for (const ReplicaSet* rs : old) {
    if (rs->status.replicas > 0) return true;
    old_uids.insert(rs->meta.uid);
  }
  if (old_uids.empty()) return false;
  // Pods being deleted are not in the ReplicaSets' status: look at every
  // pod. Only a Recreate waiting for its old pods gets here, so no index of
  // pods by owner is kept for it.
  for (const auto& [key, pod] : api_.List<Pod>()) {
    if (old_uids.count(pod.meta.owner_uid) && pod.phase != PodPhase::kFailed &&
        pod.phase != PodPhase::kSucceeded) {
      return true;
    }
  }
  return false;
}

bool DeploymentController::Recreate(const std::string& key, const Deployment& d,
                                    const ReplicaSet* new_rs,
                                    const std::vector<const ReplicaSet*>& old) {
  // scaleDownOldReplicaSetsForRecreate.
  bool scaled = false;
  for (const ReplicaSet* rs : old) {
    if (rs->replicas == 0) continue;
    Scale(key, d, *rs, 0);
    scaled = true;
  }
  // Waiting for the old pods to go counts as moving: no clean-up yet.
  if (scaled || OldPodsRunning(old)) return true;
  if (new_rs == nullptr) {
    std::int64_t revision = 0;
    for (const ReplicaSet* rs : old)
      revision = std::max(revision, rs->revision);
    CreateNew(key, d, TemplateHash(d.pod_template), rollout::NewRSNewReplicas(d, 0, 0),
              revision + 1);
    return true;
  }
  if (new_rs->replicas != d.replicas) {  // scaleUpNewReplicaSetForRecreate
    Scale(key, d, *new_rs, d.replicas);
    return true;
  }
  return false;
}

void DeploymentController::CleanUp(const Deployment& d, const std::vector<const ReplicaSet*>& old) {
  std::vector<const ReplicaSet*> alive;
  for (const ReplicaSet* rs : old) {
    if (!rs->meta.deleting) alive.push_back(rs);
  }
  const int diff = static_cast<int>(alive.size()) - d.revision_history_limit;
  if (diff <= 0) return;
  // ReplicaSetsByRevision: lowest revision first.
  std::sort(alive.begin(), alive.end(), [](const ReplicaSet* a, const ReplicaSet* b) {
    return a->revision != b->revision ? a->revision < b->revision : a->meta.name < b->meta.name;
  });
  for (int i = 0; i < diff; ++i) {
    const ReplicaSet* rs = alive[static_cast<std::size_t>(i)];
    // Never one with replicas, or whose status is behind its spec.
    if (rs->status.replicas != 0 || rs->replicas != 0 ||
        rs->meta.generation > rs->status.observed_generation) {
      continue;
    }
    api_.Delete<ReplicaSet>(rs->meta.Key());
  }
}

void DeploymentController::TrackTemplate(const std::string& key, const Deployment& d,
                                         const std::string& hash) {
  std::string& synced = synced_hash_[key];
  if (synced == hash) return;
  const bool first = synced.empty();
  synced = hash;
  if (first) return;  // the Deployment's creation is no rollout
  EndRollout(key, "superseded");
  active_rollout_[key] = rollouts_.size();
  rollouts_.push_back(
      {key, d.meta.name + "-" + hash, engine_.Now(), std::nullopt, "progressing", 0});
  if (on_rollout_) on_rollout_(rollouts_.size() - 1);
}

void DeploymentController::EndRollout(const std::string& key, const char* outcome) {
  const auto it = active_rollout_.find(key);
  if (it == active_rollout_.end()) return;
  const std::size_t index = it->second;
  active_rollout_.erase(it);
  rollouts_[index].ended = engine_.Now();
  rollouts_[index].outcome = outcome;
  if (on_rollout_) on_rollout_(index);
}

Result DeploymentController::Reconcile(const std::string& key) {
  const Deployment* d = api_.Get<Deployment>(key);
  if (d == nullptr || d->meta.deleting) return Result::Done();
  const std::string hash = TemplateHash(d->pod_template);
  const sim::Time now = engine_.Now();
  TrackTemplate(key, *d, hash);

  const ReplicaSet* new_rs = nullptr;
  std::vector<const ReplicaSet*> old;
  for (const std::string& rs_key : replicasets_by_owner_.Get(std::to_string(d->meta.uid))) {
    const ReplicaSet* rs = api_.Get<ReplicaSet>(rs_key);
    if (rs == nullptr) continue;
    if (rs->template_hash == hash) {
      new_rs = rs;
    } else {
      old.push_back(rs);
    }
  }
  std::sort(old.begin(), old.end(), Older);
  // A template an old revision had (a rollback): its ReplicaSet becomes the
  // new one with the next revision.
  std::int64_t max_old = 0;
  for (const ReplicaSet* rs : old)
    max_old = std::max(max_old, rs->revision);
  if (new_rs != nullptr && new_rs->revision <= max_old) {
    // Written first; its watch brings the sync that goes on from it.
    api_.Patch<ReplicaSet>(new_rs->meta.Key(),
                           [revision = max_old + 1](ReplicaSet& r) { r.revision = revision; });
    return Result::Done();
  }

  // deployment_util.go DeploymentComplete, of a status.
  auto complete = [&](const DeploymentStatus& st) {
    return st.updated_replicas == d->replicas && st.replicas == d->replicas &&
           st.available_replicas == d->replicas && st.observed_generation >= d->meta.generation;
  };
  created_.clear();
  // sync.go: a paused Deployment, or one resized since its controller last
  // wrote its active ReplicaSets (isScalingEvent: their desired-replicas
  // annotation), is scaled proportionally and makes no rollout step.
  bool scaling_event = false;
  std::vector<const ReplicaSet*> all = old;
  if (new_rs != nullptr) all.push_back(new_rs);
  for (const ReplicaSet* rs : all) {
    if (rs->replicas > 0 && rs->desired_replicas >= 0 && rs->desired_replicas != d->replicas) {
      scaling_event = true;
    }
  }
  if (d->paused || scaling_event) {
    std::vector<rollout::ScaledSet> sets;
    for (const ReplicaSet* rs : all) {
      sets.push_back({rs->replicas, rs->status.available_replicas, rs->max_replicas,
                      rs->desired_replicas, rs->meta.creation_time, rs->meta.name});
    }
    const std::vector<int> sizes = rollout::ProportionalScale(
        *d, d->status.replicas, sets, new_rs != nullptr ? static_cast<int>(all.size()) - 1 : -1);
    // scaleReplicaSet: a write where the size or the annotations change.
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (sizes[i] != all[i]->replicas || all[i]->replicas > 0) Scale(key, *d, *all[i], sizes[i]);
    }
  } else {
    const bool moved = d->recreate ? Recreate(key, *d, new_rs, old) : Rolling(key, *d, new_rs, old);
    if (!moved && complete(d->status)) CleanUp(*d, old);
  }

  // calculateStatus, from the ReplicaSets as the store has them.
  DeploymentStatus status = d->status;
  status.replicas = status.ready_replicas = status.available_replicas = 0;
  status.updated_replicas = 0;
  int total = 0;  // spec replicas of every ReplicaSet
  for (const ReplicaSet* rs : old) {
    status.replicas += rs->status.replicas;
    status.ready_replicas += rs->status.ready_replicas;
    status.available_replicas += rs->status.available_replicas;
    total += rs->replicas;
  }
  if (new_rs != nullptr) {
    status.replicas += new_rs->status.replicas;
    status.ready_replicas += new_rs->status.ready_replicas;
    status.available_replicas += new_rs->status.available_replicas;
    status.updated_replicas = new_rs->status.replicas;
    total += new_rs->replicas;
  }
  status.unavailable_replicas = std::max(0, total - status.available_replicas);
  status.observed_generation = d->meta.generation;
  status.available = status.available_replicas >= d->replicas - rollout::MaxUnavailable(*d);

  // The Progressing condition: progress.go syncRolloutStatus, and
  // checkPausedConditions for a paused Deployment.
  const DeploymentStatus& old_status = d->status;
  auto set = [&](const char* truth, const char* reason) {
    status.progressing = truth;
    status.progressing_reason = reason;
    status.progressing_update = now;
  };
  if (d->paused) {
    if (status.progressing_reason != "DeploymentPaused") set("Unknown", "DeploymentPaused");
  } else if (status.progressing_reason == "DeploymentPaused") {
    set("Unknown", "DeploymentResumed");  // the deadline's clock starts again
  }
  if (!created_.empty()) {
    set("True", "NewReplicaSetCreated");
  } else if (status.progressing_reason.empty() && new_rs != nullptr) {
    set("True", "FoundNewReplicaSet");
  }
  const bool complete_before = status.replicas == status.updated_replicas &&
                               status.progressing_reason == "NewReplicaSetAvailable";
  if (!d->paused && !complete_before) {
    const bool progress = status.updated_replicas > old_status.updated_replicas ||
                          status.replicas - status.updated_replicas <
                              old_status.replicas - old_status.updated_replicas ||
                          status.ready_replicas > old_status.ready_replicas ||
                          status.available_replicas > old_status.available_replicas;
    if (complete(status)) {
      if (status.progressing_reason != "NewReplicaSetAvailable") {
        set("True", "NewReplicaSetAvailable");
      }
    } else if (progress) {
      set("True", "ReplicaSetUpdated");
    } else if (status.progressing_reason != "ProgressDeadlineExceeded" &&
               status.progressing_reason != "NewReplicaSetAvailable" &&
               !status.progressing_reason.empty() &&
               sim::SatAdd(status.progressing_update, d->progress_deadline) < now) {
      // DeploymentTimedOut: never from a completed rollout's condition.
      set("False", "ProgressDeadlineExceeded");
    }
  }

  if (status.replicas != old_status.replicas ||
      status.updated_replicas != old_status.updated_replicas ||
      status.ready_replicas != old_status.ready_replicas ||
      status.available_replicas != old_status.available_replicas ||
      status.unavailable_replicas != old_status.unavailable_replicas ||
      status.observed_generation != old_status.observed_generation ||
      status.available != old_status.available || status.progressing != old_status.progressing ||
      status.progressing_reason != old_status.progressing_reason ||
      status.progressing_update != old_status.progressing_update) {
    // Written against the Deployment as read, so that a sync working from
    // a status that has since changed fails instead of reporting its
    // changes twice; its condition events once it has landed.
    Deployment updated = *d;
    updated.status = status;
    const std::string subject = new_rs != nullptr   ? "ReplicaSet \"" + new_rs->meta.name + "\""
                                : !created_.empty() ? "ReplicaSet \"" + created_ + "\""
                                                    : "Deployment \"" + d->meta.name + "\"";
    api_.Update(std::move(updated),
                [this, key, status, before = old_status, subject](WriteStatus result) {
                  if (result != WriteStatus::kOk) {
                    queue_.Add(key);
                    return;
                  }
                  ReportConditions(key, before, status, subject);
                });
  }
  // requeueStuckDeployment: look again when the deadline would pass.
  if (!d->paused && status.progressing == "True" &&
      status.progressing_reason != "NewReplicaSetAvailable") {
    const sim::Time at = sim::SatAdd(status.progressing_update, d->progress_deadline);
    return Result::RequeueAfter(std::max<sim::Time>(at - now, 0) + 1);
  }
  return Result::Done();
}

void DeploymentController::ReportConditions(const std::string& key, const DeploymentStatus& before,
                                            const DeploymentStatus& after,
                                            const std::string& subject) {
  const sim::Time now = engine_.Now();
  if ((after.progressing_reason != before.progressing_reason ||
       after.progressing != before.progressing) &&
      after.progressing_reason != "NewReplicaSetCreated") {  // emitted as it is created
    const std::string& reason = after.progressing_reason;
    std::string message;
    if (reason == "FoundNewReplicaSet") {
      message = "Found new replica set " + subject.substr(subject.find('"'));
    } else if (reason == "ReplicaSetUpdated") {
      message = subject + " is progressing.";
    } else if (reason == "NewReplicaSetAvailable") {
      message = subject + " has successfully progressed.";
    } else if (reason == "ProgressDeadlineExceeded") {
      message = subject + " has timed out progressing.";
    } else if (reason == "DeploymentPaused") {
      message = "Deployment is paused";
    } else {
      message = "Deployment is resumed";
    }
    events_.Emit({now,
                  reason,
                  "Deployment",
                  key,
                  message,
                  {{"condition", "Progressing"}, {"status", after.progressing}}});
  }
  // The condition turning NewReplicaSetAvailable ends a rollout (during a
  // Recreate's scale-down it can still read so from the last one).
  if (after.progressing_reason == "NewReplicaSetAvailable" &&
      before.progressing_reason != "NewReplicaSetAvailable") {
    EndRollout(key, "complete");
  } else if (after.progressing_reason == "ProgressDeadlineExceeded") {
    if (const auto it = active_rollout_.find(key); it != active_rollout_.end()) {
      rollouts_[it->second].outcome = "progress deadline exceeded";
    }
  }
  if (after.available != before.available) {
    events_.Emit({now,
                  after.available ? "Available" : "Unavailable",
                  "Deployment",
                  key,
                  after.available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                  {}});
  }
}

}  // namespace platsim::platform
