#include "platform/controllers/deployment.h"

#include "platform/names.h"

namespace platsim::platform {

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
}

int DeploymentController::DefaultMaxUnavailable(int replicas) {
  const int surge = (replicas * 25 + 99) / 100;  // maxSurge 25% rounds up
  const int unavailable = replicas * 25 / 100;   // maxUnavailable 25% rounds down
  return (surge == 0 && unavailable == 0) ? 1 : unavailable;
}

Result DeploymentController::Reconcile(const std::string& key) {
  const Deployment* d = api_.Get<Deployment>(key);
  if (d == nullptr || d->meta.deleting) return Result::Done();
  const std::string hash = TemplateHash(d->pod_template);

  const ReplicaSet* current = nullptr;
  DeploymentStatus status;
  for (const std::string& rs_key : replicasets_by_owner_.Get(std::to_string(d->meta.uid))) {
    const ReplicaSet* owned = api_.Get<ReplicaSet>(rs_key);
    if (owned == nullptr) continue;
    const ReplicaSet& rs = *owned;
    status.replicas += rs.status.replicas;
    status.ready_replicas += rs.status.ready_replicas;
    status.available_replicas += rs.status.available_replicas;
    if (rs.template_hash == hash) {
      current = &rs;
      status.updated_replicas = rs.status.replicas;
      continue;
    }
    if (rs.replicas != 0) {
      ReplicaSet scaled = rs;
      scaled.replicas = 0;
      api_.Update(std::move(scaled));
      events_.Emit({engine_.Now(),
                    "ScalingReplicaSet",
                    "Deployment",
                    key,
                    "Scaled down replica set " + rs.meta.name + " to 0",
                    {}});
    }
  }

  if (current == nullptr) {
    ReplicaSet rs;
    rs.meta.name = d->meta.name + "-" + hash;
    rs.meta.namespace_name = d->meta.namespace_name;
    rs.meta.labels = d->pod_template.labels;
    rs.meta.labels["pod-template-hash"] = hash;
    rs.meta.owner_kind = "Deployment";
    rs.meta.owner_name = d->meta.name;
    rs.meta.owner_uid = d->meta.uid;
    rs.replicas = d->replicas;
    rs.selector = d->selector;
    rs.selector["pod-template-hash"] = hash;
    rs.pod_template = d->pod_template;
    rs.pod_template.labels["pod-template-hash"] = hash;
    rs.template_hash = hash;
    rs.min_ready = d->min_ready;
    const std::string name = rs.meta.name;
    api_.Create(std::move(rs), [this, key](WriteStatus s) {
      if (s != WriteStatus::kOk) queue_.Add(key);
    });
    events_.Emit({engine_.Now(),
                  "ScalingReplicaSet",
                  "Deployment",
                  key,
                  "Scaled up replica set " + name + " to " + std::to_string(d->replicas),
                  {}});
  } else if (current->replicas != d->replicas) {
    ReplicaSet scaled = *current;
    const bool up = d->replicas > current->replicas;
    scaled.replicas = d->replicas;
    // A conflict means someone else wrote first; the watch requeues us.
    api_.Update(std::move(scaled));
    events_.Emit({engine_.Now(),
                  "ScalingReplicaSet",
                  "Deployment",
                  key,
                  std::string(up ? "Scaled up" : "Scaled down") + " replica set " +
                      current->meta.name + " to " + std::to_string(d->replicas),
                  {}});
  }

  status.observed_generation = d->meta.generation;
  status.available = status.available_replicas >= d->replicas - DefaultMaxUnavailable(d->replicas);
  const DeploymentStatus& old = d->status;
  if (status.replicas != old.replicas || status.updated_replicas != old.updated_replicas ||
      status.ready_replicas != old.ready_replicas ||
      status.available_replicas != old.available_replicas ||
      status.observed_generation != old.observed_generation || status.available != old.available) {
    if (status.available != old.available) {
      events_.Emit({engine_.Now(),
                    status.available ? "Available" : "Unavailable",
                    "Deployment",
                    key,
                    status.available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                    {}});
    }
    api_.Patch<Deployment>(key, [status](Deployment& dep) { dep.status = status; });
  }
  return Result::Done();
}

}  // namespace platsim::platform
