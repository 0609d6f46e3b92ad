#include "platform/controllers/argo_rollout.h"

#include <algorithm>
#include <memory>

#include "platform/controllers/argo_algorithm.h"
#include "platform/names.h"

namespace platsim::platform {

struct ArgoRolloutController::Sync {
  std::string key;
  const ArgoRollout* stored = nullptr;
  ArgoRollout r;                       // status changed in place, written at the end
  const ReplicaSet* fresh = nullptr;   // the current template's
  const ReplicaSet* stable = nullptr;  // status.stableRS, unless it is `fresh`
  std::vector<const ReplicaSet*> others;
  std::int64_t revision = 0;  // the current template's
  bool scaled = false;
  sim::Time requeue = -1;  // the soonest timed look again, if any
  // What follows once the status is written (events, the update's end);
  // at once if the status did not change.
  std::vector<std::function<void()>> on_landing;
  void RequeueAt(sim::Time at, sim::Time now) {
    const sim::Time delay = std::max<sim::Time>(at - now, 0);
    if (requeue < 0 || delay < requeue) requeue = delay;
  }
};

namespace {

rollout::Set SetOf(const ReplicaSet* rs) {
  return {rs->replicas, rs->status.available_replicas};
}

std::string Revision(std::int64_t r) {
  return std::to_string(r);
}

// An AnalysisTemplate's {{args.NAME}} placeholders (utils/analysis
// ResolveArgs), with the arguments' values; unknown names stay as written.
std::string ResolveArgs(std::string text, const std::map<std::string, std::string>& args) {
  std::string out;
  std::size_t at = 0;
  while (true) {
    const std::size_t open = text.find("{{", at);
    if (open == std::string::npos) break;
    const std::size_t close = text.find("}}", open);
    if (close == std::string::npos) break;
    std::string inner = text.substr(open + 2, close - open - 2);
    const auto b = inner.find_first_not_of(' ');
    const auto e = inner.find_last_not_of(' ');
    inner = b == std::string::npos ? "" : inner.substr(b, e - b + 1);
    out += text.substr(at, open - at);
    const auto it = inner.rfind("args.", 0) == 0 ? args.find(inner.substr(5)) : args.end();
    out += it != args.end() ? it->second : text.substr(open, close + 2 - open);
    at = close + 2;
  }
  return out + text.substr(at);
}

}  // namespace

ArgoRolloutController::ArgoRolloutController(
    sim::Engine& engine, ApiServer& api, EventSink& events, AnalysisRunner& analysis,
    std::map<std::string, AnalysisTemplate> templates,
    std::function<void(const std::string&, int)> set_weight)
    : engine_(engine),
      api_(api),
      events_(events),
      analysis_(analysis),
      templates_(std::move(templates)),
      set_weight_(std::move(set_weight)),
      queue_(engine, *this, events) {
  api_.Watch<ArgoRollout>([this](WatchType, const ArgoRollout& r) { queue_.Add(r.meta.Key()); });
  api_.Watch<ReplicaSet>([this](WatchType type, const ReplicaSet& rs) {
    if (rs.meta.owner_kind != ArgoRollout::kKind) return;
    if (type == WatchType::kDeleted) {
      replicasets_by_owner_.Remove(rs.meta.Key());
    } else {
      replicasets_by_owner_.Set(rs.meta.Key(), {std::to_string(rs.meta.owner_uid)});
    }
    queue_.Add(rs.meta.namespace_name + "/" + rs.meta.owner_name);
  });
}

void ArgoRolloutController::Scale(Sync& s, const ReplicaSet& rs, int replicas) {
  if (rs.replicas == replicas) return;
  s.scaled = true;
  ReplicaSet scaled = rs;
  scaled.replicas = replicas;
  api_.Update(std::move(scaled), [this, key = s.key, name = rs.meta.name, revision = rs.revision,
                                  from = rs.replicas, replicas](WriteStatus status) {
    if (status != WriteStatus::kOk) return;
    if (const auto it = active_update_.find(key); it != active_update_.end()) {
      ++updates_[it->second].scalings;
    }
    // rollout/replicaset.go scaleReplicaSetAndRecordEvent.
    events_.Emit({engine_.Now(),
                  "ScalingReplicaSet",
                  ArgoRollout::kKind,
                  key,
                  std::string("Scaled ") + (replicas > from ? "up" : "down") + " ReplicaSet " +
                      name + " (revision " + Revision(revision) + ") from " + std::to_string(from) +
                      " to " + std::to_string(replicas),
                  {}});
  });
}

void ArgoRolloutController::CreateReplicaSet(const std::string& key, const ArgoRollout& r,
                                             const std::string& hash, std::int64_t revision) {
  // rollout/sync.go createDesiredReplicaSet: at 0 replicas; the next sync
  // scales it.
  ReplicaSet rs;
  rs.meta.name = r.meta.name + "-" + hash;
  rs.meta.namespace_name = r.meta.namespace_name;
  rs.meta.labels = r.pod_template.labels;
  rs.meta.labels[kRolloutsHashLabel] = hash;
  rs.meta.owner_kind = ArgoRollout::kKind;
  rs.meta.owner_name = r.meta.name;
  rs.meta.owner_uid = r.meta.uid;
  rs.replicas = 0;
  rs.selector = r.selector;
  rs.selector[kRolloutsHashLabel] = hash;
  rs.pod_template = r.pod_template;
  rs.pod_template.labels[kRolloutsHashLabel] = hash;
  rs.template_hash = hash;
  rs.min_ready = r.min_ready;
  rs.revision = revision;
  const std::string name = rs.meta.name;
  api_.Create(std::move(rs), [this, key, name, revision](WriteStatus status) {
    if (status != WriteStatus::kOk) {
      queue_.Add(key);
      return;
    }
    events_.Emit({engine_.Now(),
                  "NewReplicaSetCreated",
                  ArgoRollout::kKind,
                  key,
                  "Created ReplicaSet " + name + " (revision " + Revision(revision) + ")",
                  {}});
  });
}

void ArgoRolloutController::PointService(Sync& s, const std::string& service,
                                         const std::string& hash) {
  if (service.empty() || hash.empty()) return;
  const Service* svc = api_.Get<Service>(service);
  if (svc == nullptr) return;
  const auto it = svc->selector.find(kRolloutsHashLabel);
  if (it != svc->selector.end() && it->second == hash) return;
  auto changed = std::make_shared<std::string>();
  api_.Patch<Service>(
      service,
      [hash, changed](Service& x) {
        std::string& v = x.selector[kRolloutsHashLabel];
        if (v != hash) *changed = v.empty() ? "-" : v;
        v = hash;
      },
      [this, key = s.key, service, changed, hash](WriteStatus status) {
        if (status != WriteStatus::kOk || changed->empty()) return;
        const std::string from = *changed == "-" ? "" : *changed;
        const std::string name = service.substr(service.find('/') + 1);
        events_.Emit(
            {engine_.Now(),
             "SwitchService",
             ArgoRollout::kKind,
             key,
             "Switched selector for service '" + name + "' from '" + from + "' to '" + hash + "'",
             {}});
      });
}

void ArgoRolloutController::SetWeight(Sync& s, int weight) {
  ArgoRolloutStatus& st = s.r.status;
  st.weight = weight;
  auto [it, first] = weights_.try_emplace(s.key, 0);
  if (it->second == weight) return;
  const int from = it->second;
  it->second = weight;
  set_weight_(s.r.stable_service, weight);
  events_.Emit(
      {engine_.Now(),
       "TrafficWeightUpdated",
       ArgoRollout::kKind,
       s.key,
       "Traffic weight updated from " + std::to_string(from) + " to " + std::to_string(weight),
       {}});
}

AnalysisPhase ArgoRolloutController::RunAnalysis(Sync& s, const std::string& use,
                                                 const AnalysisRef& ref) {
  std::string& name = runs_[s.key][use];
  if (name.empty()) {
    // rollout/analysis.go names: <rollout>-<hash>-<revision>[-<step>|-pre|-post].
    name = s.key + "-" + s.r.status.current_hash + "-" + Revision(s.revision);
    if (use.rfind("step-", 0) == 0) name += "-" + use.substr(5);
    if (use == "pre" || use == "post") name += "-" + use;
    for (int n = 1; analysis_.Exists(name); ++n) {
      if (n > 1) name.erase(name.rfind('.'));
      name += "." + std::to_string(n);
    }
    // The templates' metrics, their arguments resolved: the Rollout's
    // values over the templates' defaults.
    std::map<std::string, std::string> args;
    for (const std::string& t : ref.templates) {
      for (const AnalysisArg& a : templates_.at(t).args)
        args[a.name] = a.value;
    }
    for (const AnalysisArg& a : ref.args) {
      switch (a.from) {
        case AnalysisArg::From::kValue:
          args[a.name] = a.value;
          break;
        case AnalysisArg::From::kStableHash:
          args[a.name] = s.r.status.stable_hash;
          break;
        case AnalysisArg::From::kLatestHash:
          args[a.name] = s.r.status.current_hash;
          break;
      }
    }
    std::vector<AnalysisMetric> metrics;
    for (const std::string& t : ref.templates) {
      for (AnalysisMetric m : templates_.at(t).metrics) {
        m.query = ResolveArgs(m.query, args);
        metrics.push_back(std::move(m));
      }
    }
    if (const auto it = active_update_.find(s.key); it != active_update_.end()) {
      updates_[it->second].analysis_runs.push_back(name);
    }
    const std::string kind = use == "background" ? "Background"
                             : use == "pre"      ? "PrePromotion"
                             : use == "post"     ? "PostPromotion"
                                                 : "Step";
    events_.Emit({engine_.Now(),
                  "AnalysisRunRunning",
                  ArgoRollout::kKind,
                  s.key,
                  kind + " Analysis Run '" + name.substr(name.find('/') + 1) +
                      "' Status New: 'Running' Previous: 'NoPreviousStatus'",
                  {}});
    // emitAnalysisRunStatusChanges: its ending on the Rollout too.
    analysis_.Start(name, std::move(metrics), [this, key = s.key, kind, name] {
      const std::string phase = AnalysisPhaseName(analysis_.PhaseOf(name));
      std::vector<std::pair<std::string, std::string>> fields;
      if (phase == "Failed" || phase == "Error") fields.emplace_back("type", "Warning");
      events_.Emit({engine_.Now(), "AnalysisRun" + phase, ArgoRollout::kKind, key,
                    kind + " Analysis Run '" + name.substr(name.find('/') + 1) + "' Status New: '" +
                        phase + "' Previous: 'Running'",
                    std::move(fields)});
      queue_.Add(key);
    });
  }
  return analysis_.PhaseOf(name);
}

bool ArgoRolloutController::PausedFor(const ArgoRolloutStatus& st, const char* reason) {
  return std::any_of(st.pauses.begin(), st.pauses.end(),
                     [&](const PauseCondition& p) { return p.reason == reason; });
}

void ArgoRolloutController::RetryInconclusive(Sync& s, const std::string& use) {
  // needsNewAnalysisRun: a run that was inconclusive, once a promote has
  // cleared its pause, is run again.
  const ArgoRolloutStatus& st = s.r.status;
  const auto it = runs_[s.key].find(use);
  if (it != runs_[s.key].end() && st.controller_pause && !PausedFor(st, "CanaryPauseStep") &&
      !PausedFor(st, "BlueGreenPause") &&
      analysis_.PhaseOf(it->second) == AnalysisPhase::kInconclusive) {
    runs_[s.key].erase(it);
  }
}

void ArgoRolloutController::Judge(Sync& s, const std::string& use, AnalysisPhase phase,
                                  const std::string& what) {
  ArgoRolloutStatus& st = s.r.status;
  if (phase == AnalysisPhase::kFailed || phase == AnalysisPhase::kError) {
    const std::string m = analysis_.MessageOf(runs_[s.key][use]);
    Abort(s, what + " phase error/failed" + (m.empty() ? "" : ": " + m));
  } else if (phase == AnalysisPhase::kInconclusive && !PausedFor(st, "InconclusiveAnalysisRun")) {
    st.pauses.push_back({"InconclusiveAnalysisRun", engine_.Now()});
    st.controller_pause = true;
  }
}

void ArgoRolloutController::Abort(Sync& s, const std::string& message) {
  ArgoRolloutStatus& st = s.r.status;
  if (st.abort) return;
  st.abort = true;
  st.abort_message = message;
  st.pauses.clear();
  st.controller_pause = false;
}

void ArgoRolloutController::Promote(Sync& s, const std::string& reason) {
  ArgoRolloutStatus& st = s.r.status;
  const bool initial = st.stable_hash.empty();
  st.stable_hash = st.current_hash;
  st.step_index = static_cast<int>(s.r.steps.size());
  st.pauses.clear();
  st.controller_pause = false;
  st.abort = false;
  st.abort_message.clear();
  st.promote_full = false;
  const std::string message = "Rollout completed update to revision " + Revision(s.revision) +
                              " (" + st.current_hash + "): " + reason;
  s.on_landing.push_back([this, key = s.key, message, initial] {
    events_.Emit({engine_.Now(), "RolloutCompleted", ArgoRollout::kKind, key, message, {}});
    if (!initial) EndUpdate(key, "complete", "");
  });
}

bool ArgoRolloutController::ScaleDownOthers(Sync& s, bool delayed) {
  const sim::Time now = engine_.Now();
  const ArgoRollout& r = s.r;
  // Unhealthy replicas first (cleanupUnhealthyReplicas), then within what
  // keeps replicas - maxUnavailable available, newest revision first
  // (scaleDownOldReplicaSetsForCanary); a delayed scale-down waits for the
  // ReplicaSet's deadline (scaleDownDelayHelper).
  std::vector<const ReplicaSet*> others = s.others;
  std::sort(others.begin(), others.end(),
            [](const ReplicaSet* a, const ReplicaSet* b) { return a->revision > b->revision; });
  bool any = false;
  if (!delayed) {
    for (const ReplicaSet* rs : others) {
      if (rs->replicas > rs->status.available_replicas) {
        Scale(s, *rs, rs->status.available_replicas);
        any = true;
      }
    }
    if (any) return true;
  }
  int available = 0;
  for (const ReplicaSet* rs : s.others)
    available += rs->status.available_replicas;
  if (s.fresh != nullptr) available += s.fresh->status.available_replicas;
  if (s.stable != nullptr) available += s.stable->status.available_replicas;
  int max_down = available - (r.replicas - argo::MaxUnavailable(r));
  if (!delayed && max_down <= 0) return false;
  for (const ReplicaSet* rs : others) {
    if (rs->replicas == 0) continue;
    if (!delayed && max_down <= 0) break;
    int to = 0;
    if (delayed) {
      auto [it, added] = scale_down_at_.try_emplace(rs->meta.Key(), now + r.scale_down_delay);
      if (now < it->second) {
        s.RequeueAt(it->second, now);
        continue;
      }
    } else if (rs->replicas > max_down) {
      to = rs->replicas - max_down;
    }
    max_down -= rs->replicas - to;
    Scale(s, *rs, to);
    if (to == 0) scale_down_at_.erase(rs->meta.Key());
    any = true;
  }
  return any;
}

void ArgoRolloutController::Canary(Sync& s) {
  ArgoRollout& r = s.r;
  ArgoRolloutStatus& st = r.status;
  const sim::Time now = engine_.Now();
  const int n = static_cast<int>(r.steps.size());
  if (st.stable_hash.empty()) Promote(s, "Initial deploy");
  const bool promoted = st.stable_hash == st.current_hash;
  if (promoted) s.stable = nullptr;

  // Analysis (rollout/analysis.go reconcileAnalysisRuns).
  if (!promoted && !st.abort && !st.promote_full) {
    // reconcileBackgroundAnalysisRun: from startingStep on.
    if (r.background && st.step_index >= r.starting_step &&
        !PausedFor(st, "InconclusiveAnalysisRun")) {
      RetryInconclusive(s, "background");
      Judge(s, "background", RunAnalysis(s, "background", *r.background), "Background analysis");
    }
    // reconcileStepBasedAnalysisRun: not while paused.
    if (!st.abort && st.step_index < n && st.pauses.empty() &&
        r.steps[static_cast<std::size_t>(st.step_index)].kind == CanaryStep::Kind::kAnalysis) {
      const std::string use = "step-" + std::to_string(st.step_index);
      RetryInconclusive(s, use);
      Judge(s, use, RunAnalysis(s, use, r.steps[static_cast<std::size_t>(st.step_index)].analysis),
            "Step-based analysis");
    }
  }
  if (promoted || st.abort || st.promote_full) {
    for (const auto& [use, name] : runs_[s.key])
      analysis_.Terminate(name);
  }

  // The replicas each ReplicaSet should have now.
  const int weight = (st.promote_full || promoted) ? argo::kMaxWeight : argo::CurrentSetWeight(r);
  argo::Counts want;
  std::vector<rollout::Set> others;
  int others_available = 0;
  for (const ReplicaSet* rs : s.others) {
    others.push_back(SetOf(rs));
    others_available += rs->status.available_replicas;
  }
  const rollout::Set fresh = s.fresh != nullptr ? SetOf(s.fresh) : rollout::Set{};
  const rollout::Set stable = s.stable != nullptr ? SetOf(s.stable) : rollout::Set{};
  if (!r.traffic_routing) {
    want = argo::BasicCanaryCounts(r.replicas, weight, argo::MaxSurge(r), argo::MaxUnavailable(r),
                                   &fresh, s.stable != nullptr ? &stable : nullptr, others);
  } else if (s.stable == nullptr) {
    want = {r.replicas, 0};
  } else {
    const CanaryStep* scale = argo::SetCanaryScale(r);
    if (scale != nullptr && scale->scale_replicas) {
      want.canary = *scale->scale_replicas;
    } else {
      const int w = scale != nullptr && scale->scale_weight ? *scale->scale_weight : weight;
      want.canary = argo::TrafficWeightToReplicas(r.replicas, w, argo::kMaxWeight);
    }
    want.stable = r.replicas;
  }
  // AtDesiredReplicaCountsForCanary.
  const bool at_desired = s.fresh != nullptr && fresh.replicas == want.canary &&
                          fresh.available == want.canary &&
                          (promoted || (s.stable != nullptr && stable.replicas == want.stable &&
                                        s.stable->status.replicas == want.stable)) &&
                          (r.traffic_routing || others_available == 0);

  // Traffic routing (rollout/trafficrouting.go), before the scaling.
  if (r.traffic_routing) {
    int w = 0;
    if (promoted) {
      // Weight 0 sends everything to the stable Service, which takes the
      // new pods once its selector's patch has landed; until then the
      // weight stays where it was.
      const Service* svc = api_.Get<Service>(r.stable_service);
      const auto hash = svc != nullptr ? svc->selector.find(kRolloutsHashLabel)
                                       : std::map<std::string, std::string>::const_iterator();
      const bool switched =
          svc == nullptr || (hash != svc->selector.end() && hash->second == st.stable_hash);
      w = switched ? 0 : weights_[s.key];
      if (!switched) s.RequeueAt(now + std::max(api_.request_latency(), sim::kMillisecond), now);
    } else if (st.abort || s.fresh == nullptr || fresh.available == 0) {
      w = 0;
    } else if (st.promote_full) {
      w = st.weight;
    } else if (!at_desired) {
      // The setWeight before the current step's.
      for (int i = std::min(st.step_index, n) - 1; i >= 0; --i) {
        if (r.steps[static_cast<std::size_t>(i)].kind == CanaryStep::Kind::kSetWeight) {
          w = r.steps[static_cast<std::size_t>(i)].weight;
          break;
        }
      }
    } else {
      w = st.step_index < n ? argo::CurrentSetWeight(r) : argo::kMaxWeight;
    }
    SetWeight(s, w);
    PointService(s, r.stable_service, st.stable_hash);
    PointService(s, r.canary_service, st.abort ? st.stable_hash : st.current_hash);
  } else {
    PointService(s, r.stable_service, st.stable_hash);
    PointService(s, r.canary_service, st.abort ? st.stable_hash : st.current_hash);
  }

  // rollout/canary.go reconcileCanaryReplicaSets: the stable, then the new
  // one, then the others; a group that scaled ends the pass. Nothing moves
  // while halted (haltProgress: spec.paused, or an inconclusive analysis).
  if (r.paused || PausedFor(st, "InconclusiveAnalysisRun")) return;
  if (s.stable != nullptr && !promoted) Scale(s, *s.stable, want.stable);
  if (!s.scaled && s.fresh != nullptr) {
    int to = want.canary;
    if (st.abort && r.traffic_routing) {
      // shouldDelayScaleDownOnAbort: the canary keeps its pods until
      // abortScaleDownDelaySeconds after the stable is whole; 0: never.
      to = fresh.replicas;
      if (r.abort_scale_down_delay > 0 && s.stable != nullptr &&
          s.stable->status.available_replicas >= r.replicas) {
        auto [it, added] = abort_scale_down_at_.try_emplace(s.key, now + r.abort_scale_down_delay);
        if (now >= it->second) {
          to = 0;
        } else {
          s.RequeueAt(it->second, now);
        }
      }
    }
    Scale(s, *s.fresh, to);
  }
  if (!s.scaled) ScaleDownOthers(s, r.traffic_routing && (promoted || st.promote_full));
  if (s.scaled) return;

  // reconcileCanaryPause, then syncRolloutStatusCanary's step completion.
  // shouldFullPromote: past the last step (or promoted in full), once the
  // new ReplicaSet has every replica available.
  if (st.promote_full || st.step_index >= n) {
    if (!promoted && !st.abort && s.fresh != nullptr && fresh.available >= r.replicas) {
      Promote(s, st.promote_full ? "Full promotion requested"
                                 : "Completed all " + std::to_string(n) + " canary steps");
    }
    return;
  }
  if (r.paused || st.abort || promoted) return;
  const CanaryStep& step = r.steps[static_cast<std::size_t>(st.step_index)];
  auto pause_of = [&](const char* reason) {
    return std::find_if(st.pauses.begin(), st.pauses.end(),
                        [&](const PauseCondition& p) { return p.reason == reason; });
  };
  bool done = false;
  switch (step.kind) {
    case CanaryStep::Kind::kSetWeight:
    case CanaryStep::Kind::kSetCanaryScale:
      done = at_desired;
      break;
    case CanaryStep::Kind::kPause: {
      auto it = pause_of("CanaryPauseStep");
      if (it == st.pauses.end()) {
        if (st.controller_pause) {
          done = true;  // promoted: the pause was cleared
        } else {
          st.pauses.push_back({"CanaryPauseStep", now});
          st.controller_pause = true;
          it = st.pauses.end() - 1;
        }
      }
      if (!done && step.duration) {
        // Upstream's "after the end" (CompletedCanaryPauseStep) is the
        // requeue at the end here: no wall clock moves on between.
        const sim::Time end = it->start + *step.duration;
        if (now >= end) {
          done = true;
        } else {
          s.RequeueAt(end, now);
        }
      }
      if (done) {
        st.pauses.erase(std::remove_if(st.pauses.begin(), st.pauses.end(),
                                       [](const PauseCondition& p) {
                                         return p.reason == std::string("CanaryPauseStep");
                                       }),
                        st.pauses.end());
        st.controller_pause = !st.pauses.empty();
      }
      break;
    }
    case CanaryStep::Kind::kAnalysis: {
      const auto it = runs_[s.key].find("step-" + std::to_string(st.step_index));
      done =
          it != runs_[s.key].end() && analysis_.PhaseOf(it->second) == AnalysisPhase::kSuccessful;
      break;
    }
  }
  if (done) {
    ++st.step_index;
    const std::string message = "Rollout step " + std::to_string(st.step_index) + "/" +
                                std::to_string(n) + " completed (" + step.text + ")";
    s.on_landing.push_back([this, key = s.key, message] {
      events_.Emit({engine_.Now(), "RolloutStepCompleted", ArgoRollout::kKind, key, message, {}});
      if (const auto it = active_update_.find(key); it != active_update_.end()) {
        ++updates_[it->second].steps;
      }
    });
  }
}

void ArgoRolloutController::BlueGreen(Sync& s) {
  ArgoRollout& r = s.r;
  ArgoRolloutStatus& st = r.status;
  const sim::Time now = engine_.Now();
  const bool initial = st.stable_hash.empty();
  const bool promoted = !initial && st.stable_hash == st.current_hash;
  if (promoted) s.stable = nullptr;
  // promote --full (isBlueGreenFastTracked): no preview count, pause or
  // pre-promotion analysis.
  const bool full = st.promote_full && !promoted;
  if (full) {
    st.pauses.clear();
    st.controller_pause = false;
  }
  const bool halted = r.paused || PausedFor(st, "InconclusiveAnalysisRun");
  if (!halted) PointService(s, r.preview_service, st.current_hash);

  // NewRSNewReplicas: previewReplicaCount until the preview checkpoint.
  if (!halted) RetryInconclusive(s, "pre");
  const auto pre_name = runs_[s.key].find("pre");
  const bool pre_done = full || !r.pre_promotion ||
                        (pre_name != runs_[s.key].end() &&
                         analysis_.PhaseOf(pre_name->second) == AnalysisPhase::kSuccessful);
  const bool manages_pause = !full && (!r.auto_promotion_enabled || r.auto_promotion_seconds > 0);
  const auto pause = std::find_if(st.pauses.begin(), st.pauses.end(), [](const PauseCondition& p) {
    return p.reason == "BlueGreenPause";
  });
  // CompletedBlueGreenPause.
  bool pause_done = false;
  if (!manages_pause) {
    pause_done = true;
  } else if (r.auto_promotion_enabled) {
    pause_done = pause != st.pauses.end() && now >= pause->start + r.auto_promotion_seconds;
    if (pause != st.pauses.end() && !pause_done) {
      s.RequeueAt(pause->start + r.auto_promotion_seconds, now);
    }
  } else {
    pause_done = st.controller_pause && pause == st.pauses.end();
  }
  const int fresh_available = s.fresh != nullptr ? s.fresh->status.available_replicas : 0;
  int target = r.replicas;
  if (r.preview_replica_count && !full && !initial && !promoted && !st.abort &&
      !(pre_done && pause_done && fresh_available >= *r.preview_replica_count)) {
    target = *r.preview_replica_count;
  }
  if (st.abort && !promoted) {
    target = s.fresh != nullptr ? s.fresh->replicas : 0;
    if (r.abort_scale_down_delay > 0 && s.stable != nullptr &&
        s.stable->status.available_replicas >= r.replicas) {
      auto [it, added] = abort_scale_down_at_.try_emplace(s.key, now + r.abort_scale_down_delay);
      if (now >= it->second) {
        target = 0;
      } else {
        s.RequeueAt(it->second, now);
      }
    }
  }
  // The stable at every replica, then the new one in one step, then the
  // old ones after their delay.
  if (s.stable != nullptr) Scale(s, *s.stable, r.replicas);
  if (!s.scaled && s.fresh != nullptr) Scale(s, *s.fresh, target);
  if (!s.scaled && !halted) ScaleDownOthers(s, true);

  const bool ready = s.fresh != nullptr && s.fresh->replicas == target &&
                     fresh_available == target;  // ReadyForPause
  const bool saturated =
      s.fresh != nullptr && s.fresh->replicas == r.replicas && fresh_available == r.replicas;
  if (st.abort) {
    st.active_selector = st.stable_hash;
    PointService(s, r.active_service, st.active_selector);
    return;
  }
  if (halted) return;
  // Pre-promotion analysis once the preview is whole.
  if (!full && !initial && !promoted && r.pre_promotion && ready &&
      st.active_selector != st.current_hash) {
    Judge(s, "pre", RunAnalysis(s, "pre", *r.pre_promotion), "Blue/green pre-promotion analysis");
    if (st.abort || PausedFor(st, "InconclusiveAnalysisRun")) return;
  }
  // reconcileBlueGreenPause.
  if (!initial && !promoted && manages_pause && ready && pre_done && !st.controller_pause &&
      pause == st.pauses.end() && st.active_selector != st.current_hash) {
    st.pauses.push_back({"BlueGreenPause", now});
    st.controller_pause = true;
    if (r.auto_promotion_enabled) s.RequeueAt(now + r.auto_promotion_seconds, now);
    return;
  }
  // reconcileActiveService: fast-tracked the first time (or promoted in
  // full), else after the pause and the pre-promotion analysis, with every
  // replica available.
  const bool fast = initial || st.active_selector.empty() || promoted || full;
  if (ready && saturated && (fast || (pause_done && pre_done)) &&
      st.active_selector != st.current_hash) {
    st.active_selector = st.current_hash;
    st.pauses.clear();
    st.controller_pause = false;
  }
  PointService(s, r.active_service,
               st.active_selector.empty() ? st.stable_hash : st.active_selector);
  if (st.active_selector != st.current_hash || promoted) return;
  // Post-promotion analysis, then the new ReplicaSet is the stable one.
  if (!initial && !full && r.post_promotion) {
    RetryInconclusive(s, "post");
    const AnalysisPhase p = RunAnalysis(s, "post", *r.post_promotion);
    Judge(s, "post", p, "Blue/green post-promotion analysis");
    if (st.abort) {
      st.active_selector = st.stable_hash;
      PointService(s, r.active_service, st.active_selector);
      return;
    }
    if (p != AnalysisPhase::kSuccessful) return;
  }
  Promote(s, initial ? "Initial deploy"
             : full  ? "Full promotion requested"
                     : "Completed blue-green update");
}

void ArgoRolloutController::EndUpdate(const std::string& key, const char* outcome,
                                      const std::string& message) {
  const auto it = active_update_.find(key);
  if (it == active_update_.end()) return;
  Update& u = updates_[it->second];
  u.ended = engine_.Now();
  u.outcome = outcome;
  u.message = message;
  const std::size_t index = it->second;
  active_update_.erase(it);
  // One update settles at a time: an earlier one still settling is
  // overtaken (its window ends now).
  if (const auto earlier = settling_.find(key); earlier != settling_.end()) {
    updates_[earlier->second].settled = engine_.Now();
    if (on_update_) on_update_(earlier->second);
  }
  settling_[key] = index;
  if (on_update_) on_update_(index);
}

Result ArgoRolloutController::Reconcile(const std::string& key) {
  const ArgoRollout* stored = api_.Get<ArgoRollout>(key);
  if (stored == nullptr || stored->meta.deleting) return Result::Done();
  const sim::Time now = engine_.Now();
  Sync s;
  s.key = key;
  s.stored = stored;
  s.r = *stored;
  ArgoRollout& r = s.r;
  ArgoRolloutStatus& st = r.status;
  const std::string hash = TemplateHash(r.pod_template);

  std::int64_t max_revision = 0;
  for (const std::string& rs_key : replicasets_by_owner_.Get(std::to_string(r.meta.uid))) {
    const ReplicaSet* rs = api_.Get<ReplicaSet>(rs_key);
    if (rs == nullptr) continue;
    max_revision = std::max(max_revision, rs->revision);
    if (rs->template_hash == hash) {
      s.fresh = rs;
    } else if (rs->template_hash == st.stable_hash) {
      s.stable = rs;
    } else {
      s.others.push_back(rs);
    }
  }
  std::sort(s.others.begin(), s.others.end(),
            [](const ReplicaSet* a, const ReplicaSet* b) { return a->revision < b->revision; });
  // An ended update settles once only the stable version has pods.
  if (const auto it = settling_.find(key); it != settling_.end()) {
    bool gone = true;
    for (const std::string& rs_key : replicasets_by_owner_.Get(std::to_string(r.meta.uid))) {
      const ReplicaSet* rs = api_.Get<ReplicaSet>(rs_key);
      if (rs != nullptr && rs->template_hash != st.stable_hash &&
          (rs->replicas > 0 || rs->status.replicas > 0)) {
        gone = false;
      }
    }
    if (gone) {
      const std::size_t index = it->second;
      settling_.erase(it);
      updates_[index].settled = engine_.Now();
      if (on_update_) on_update_(index);
    }
  }
  if (s.fresh == nullptr) {
    CreateReplicaSet(key, r, hash, max_revision + 1);
    return Result::Done();  // its watch brings the next sync
  }
  // A scale-down deadline belongs to a ReplicaSet while it is neither the
  // new one nor the stable one.
  scale_down_at_.erase(s.fresh->meta.Key());
  if (s.stable != nullptr) scale_down_at_.erase(s.stable->meta.Key());
  s.revision = s.fresh->revision;

  // A new template: a new update from its first step (a template that is
  // the stable one's goes back at once: SkipSteps). The status says so until
  // this sync's write lands; what the controller does for it (events, the
  // update's record, its analysis) it does once, as the template it last
  // saw tells.
  if (st.current_hash != hash) {
    st.current_hash = hash;
    st.step_index = hash == st.stable_hash ? static_cast<int>(r.steps.size()) : 0;
    st.abort = false;
    st.abort_message.clear();
    st.promote_full = false;
    st.pauses.clear();
    st.controller_pause = false;
  }
  if (std::string& seen = seen_hash_[key]; seen != hash) {
    const bool first = seen.empty();
    seen = hash;
    for (const auto& [use, name] : runs_[key])
      analysis_.Terminate(name);
    runs_.erase(key);
    abort_scale_down_at_.erase(key);
    abort_reported_.erase(key);
    if (!first) {
      EndUpdate(key, "superseded", "");
      active_update_[key] = updates_.size();
      updates_.push_back({key, s.fresh->meta.name, s.revision, now});
      if (on_update_) on_update_(updates_.size() - 1);
      events_.Emit({now,
                    "RolloutNotCompleted",
                    ArgoRollout::kKind,
                    key,
                    "Rollout not completed, started update to revision " + Revision(s.revision) +
                        " (" + hash + ")",
                    {}});
      if (hash == st.stable_hash) {
        // Back to the stable version: nothing to step through; it is done.
        events_.Emit(
            {now, "SkipSteps", ArgoRollout::kKind, key, "Rollback to stable ReplicaSets", {}});
        EndUpdate(key, "complete", "");
      }
    }
  }

  if (r.blue_green) {
    BlueGreen(s);
  } else {
    Canary(s);
  }
  if (st.abort && abort_reported_[key] != hash) {
    // The stable (or active) Service is already back; the update ends.
    std::string message = "Rollout aborted update to revision " + Revision(s.revision);
    if (!st.abort_message.empty()) message += ": " + st.abort_message;
    s.on_landing.push_back([this, key, hash, message] {
      if (abort_reported_[key] == hash) return;
      abort_reported_[key] = hash;
      events_.Emit({engine_.Now(),
                    "RolloutAborted",
                    ArgoRollout::kKind,
                    key,
                    message,
                    {{"type", "Warning"}}});
      EndUpdate(key, "aborted", message);
    });
  }

  // Status: counts and phase (utils/rollout/rolloututil.go
  // CalculateRolloutPhase).
  st.replicas = st.available_replicas = 0;
  for (const std::string& rs_key : replicasets_by_owner_.Get(std::to_string(r.meta.uid))) {
    if (const ReplicaSet* rs = api_.Get<ReplicaSet>(rs_key)) {
      st.replicas += rs->status.replicas;
      st.available_replicas += rs->status.available_replicas;
    }
  }
  st.updated_replicas = s.fresh->status.replicas;
  const bool complete = st.stable_hash == st.current_hash;
  if (st.abort) {
    st.phase = "Degraded";
    st.message = "RolloutAborted: Rollout aborted update to revision " + Revision(s.revision) +
                 (st.abort_message.empty() ? "" : ": " + st.abort_message);
  } else if (r.paused) {
    st.phase = "Paused";
    st.message = "manually paused";
  } else if (!st.pauses.empty()) {
    st.phase = "Paused";
    st.message = st.pauses.front().reason;
  } else if (st.updated_replicas < r.replicas) {
    st.phase = "Progressing";
    st.message = "more replicas need to be updated";
  } else if (s.fresh->status.available_replicas < st.updated_replicas) {
    st.phase = "Progressing";
    st.message = "updated replicas are still becoming available";
  } else if (r.blue_green && st.active_selector != st.current_hash) {
    st.phase = "Progressing";
    st.message = "active service cutover pending";
  } else if (!complete) {
    st.phase = "Progressing";
    st.message = r.blue_green ? "waiting for post-promotion verification to complete"
                              : "waiting for all steps to complete";
  } else if (!r.blue_green && !r.traffic_routing && st.replicas > st.updated_replicas) {
    st.phase = "Progressing";
    st.message = "old replicas are pending termination";
  } else {
    st.phase = "Healthy";
    st.message.clear();
  }

  if (!(st == stored->status)) {
    const bool paused_before = !stored->status.pauses.empty();
    const bool paused_after = !st.pauses.empty();
    std::string pause_event;
    if (paused_after && !paused_before) {
      pause_event = "Rollout is paused (" + st.pauses.front().reason + ")";
    } else if (!paused_after && paused_before && !st.abort) {
      pause_event = "Rollout is resumed";
    }
    if (!pause_event.empty()) {
      s.on_landing.insert(s.on_landing.begin(), [this, key, pause_event] {
        events_.Emit({engine_.Now(),
                      pause_event == "Rollout is resumed" ? "RolloutResumed" : "RolloutPaused",
                      ArgoRollout::kKind,
                      key,
                      pause_event,
                      {}});
      });
    }
    ArgoRollout updated = *stored;
    updated.status = st;
    api_.Update(std::move(updated),
                [this, key, landing = std::move(s.on_landing)](WriteStatus status) {
                  if (status != WriteStatus::kOk) {
                    queue_.Add(key);
                    return;
                  }
                  for (const auto& fn : landing)
                    fn();
                });
  } else {
    for (const auto& fn : s.on_landing)
      fn();
  }
  if (s.requeue >= 0) return Result::RequeueAfter(s.requeue);
  return Result::Done();
}

}  // namespace platsim::platform
