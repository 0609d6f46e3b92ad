#include "platform/kubelet.h"

#include <algorithm>

#include "models/input/units.h"

namespace platsim::platform {

Kubelets::Kubelets(sim::Engine& engine, ApiServer& api, EventSink& events,
                   ContainerRuntime& runtime, PullTime pull_time)
    : engine_(engine),
      api_(api),
      events_(events),
      runtime_(runtime),
      pull_time_(std::move(pull_time)) {
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
}

void Kubelets::FailNode(const std::string& name) {
  if (!nodes_[name].dead) ++dead_nodes_;
  nodes_[name].dead = true;
  for (auto& [key, state] : pods_) {
    if (state.node != name) continue;  // draining ones die too
    state.stopping = true;
    engine_.Cancel(state.timer);
    engine_.Cancel(state.crash_timer);
    runtime_.Kill(key);
  }
}

void Kubelets::RecoverNode(const std::string& name) {
  NodeState& node = nodes_[name];
  if (!node.dead) return;
  node.dead = false;
  --dead_nodes_;
  std::vector<std::string> keys;
  for (const auto& [key, state] : pods_) {
    if (state.node == name) keys.push_back(key);
  }
  for (const std::string& key : keys) {
    const Pod* pod = api_.Get<Pod>(key);
    if (pod == nullptr || pod->meta.deleting) {
      // Its containers are gone: the deletion completes.
      pods_.erase(key);
      if (pod != nullptr) api_.Delete<Pod>(key);
      continue;
    }
    PodState& state = pods_[key];
    state.stopping = false;
    state.successes = 0;
    ++state.restarts;
    runtime_.Revive(key);
    StartPod(*pod);  // its image, if the pull had not ended, is pulled again
  }
  // Pods bound to it while it was down, which it never saw: it runs them,
  // or confirms their deletion.
  std::vector<std::string> unseen;
  for (const auto& [key, pod] : api_.List<Pod>()) {
    if (pod.node_name == name && !pods_.count(key)) unseen.push_back(key);
  }
  for (const std::string& key : unseen) {
    const Pod* pod = api_.Get<Pod>(key);
    if (pod->meta.deleting) {
      api_.Delete<Pod>(key);
    } else {
      Admit(*pod);
    }
  }
}

std::vector<std::string> Kubelets::FailGpus(const std::string& name, std::int64_t gpus) {
  std::vector<std::string> broken;
  for (auto& [key, state] : pods_) {
    if (gpus <= 0) break;
    if (state.node != name || state.stopping || state.broken) continue;
    const Pod* pod = api_.Get<Pod>(key);
    if (pod == nullptr || pod->spec.requests.gpus <= 0) continue;
    gpus -= pod->spec.requests.gpus;
    broken.push_back(key);
  }
  for (const std::string& key : broken) {
    PodState& state = pods_[key];
    state.broken = true;
    runtime_.BreakDevice(key);
    // A container running now crashes now; one not started yet (its image
    // still pulling) crashes once it starts.
    if (state.running) {
      engine_.Cancel(state.crash_timer);
      Crashed(key);
    }
  }
  return broken;
}

void Kubelets::OnPod(WatchType type, const Pod& pod) {
  if (type == WatchType::kDeleted || pod.node_name.empty()) return;
  if (dead_nodes_ > 0) {
    if (const auto node = nodes_.find(pod.node_name); node != nodes_.end() && node->second.dead) {
      return;  // nobody there to run or stop it
    }
  }
  const std::string key = pod.meta.Key();
  const auto it = pods_.find(key);
  if (it == pods_.end()) {
    if (!pod.meta.deleting) Admit(pod);
    return;
  }
  if (pod.meta.deleting && !it->second.stopping) Terminate(pod);
}

void Kubelets::Admit(const Pod& pod) {
  const std::string key = pod.meta.Key();
  PodState& state = pods_[key];
  state.node = pod.node_name;
  state.admitted = engine_.Now();
  runtime_.Admit(pod);
  StartPod(pod);
}

void Kubelets::StartPod(const Pod& pod) {
  const std::string key = pod.meta.Key();
  PodState& state = pods_[key];
  NodeState& node = nodes_[pod.node_name];
  const std::string image = pod.spec.image;
  auto already_present = [this, key, image] {
    events_.Emit({engine_.Now(),
                  "Pulled",
                  "Pod",
                  key,
                  "Container image \"" + image + "\" already present on machine",
                  {}});
    ContainersStarted(key);
  };
  if (node.images.count(image)) {
    already_present();
    return;
  }
  if (const auto pulling = node.pulling.find(image);
      pulling != node.pulling.end() && pulling->second >= engine_.Now()) {
    // The serialized puller finds the image present once the running pull ends.
    state.timer = engine_.ScheduleCallbackAt(pulling->second, already_present);
    return;
  }
  const sim::Time start = std::max(engine_.Now(), node.puller_free_at);
  const ImageInfo info = pull_time_(image);
  const sim::Time done = sim::SatAdd(start, info.pull);
  node.puller_free_at = done;
  node.pulling[image] = done;
  events_.Emit({engine_.Now(), "Pulling", "Pod", key, "Pulling image \"" + image + "\"", {}});
  // The pull is the node's: it ends whatever becomes of the pod that asked
  // for it, unless the node goes down first (then a later pod pulls again).
  engine_.ScheduleCallbackAt(
      done, [this, image, node_name = pod.node_name, done, size = info.size_bytes] {
        NodeState& n = nodes_[node_name];
        if (const auto it = n.pulling.find(image); it != n.pulling.end() && it->second == done) {
          n.pulling.erase(it);
        }
        if (n.dead) return;
        n.images.insert(image);
        api_.Patch<Node>(node_name, [name = NormalizedImageName(image), size](Node& x) {
          x.images[name] = size;
        });
      });
  state.timer = engine_.ScheduleCallbackAt(done, [this, key, image, start] {
    events_.Emit({engine_.Now(),
                  "Pulled",
                  "Pod",
                  key,
                  "Successfully pulled image \"" + image + "\" in " +
                      input::FormatDuration(engine_.Now() - start),
                  {}});
    ContainersStarted(key);
  });
}

void Kubelets::ContainersStarted(const std::string& key) {
  const Pod* pod = api_.Get<Pod>(key);
  if (pod == nullptr) return;
  PodState& state = pods_[key];
  runtime_.StartContainers(*pod);
  const sim::Time now = engine_.Now();
  api_.Patch<Pod>(key, [admitted = state.admitted](Pod& p) {
    p.phase = PodPhase::kRunning;
    p.start_time = admitted;
  });
  events_.Emit({now, "Started", "Pod", key, "Started container", {}});
  state.started = now;
  state.running = true;
  if (const sim::Time crash = runtime_.CrashAfter(key); crash > 0) {
    state.crash_timer = engine_.ScheduleCallbackAfter(crash, [this, key] { Crashed(key); });
  }
  if (!pod->spec.has_readiness_probe) {
    api_.Patch<Pod>(key, [now](Pod& p) {
      p.ready = true;
      p.ready_since = now;
    });
    events_.Emit({now, "PodReady", "Pod", key, "Ready (no readiness probe)", {}});
    return;
  }
  state.timer =
      engine_.ScheduleCallbackAfter(pod->spec.readiness.initial_delay, [this, key] { Probe(key); });
}

void Kubelets::Crashed(const std::string& key) {
  const Pod* pod = api_.Get<Pod>(key);
  PodState& state = pods_[key];
  if (pod == nullptr || state.stopping) return;
  engine_.Cancel(state.timer);  // no probes while it is down
  state.successes = 0;
  runtime_.Crash(key);
  // Unconditionally: a Ready write of ours may still be on its way.
  api_.Patch<Pod>(key, [](Pod& p) { p.ready = false; });
  // A container that ran for 2 x MaxContainerBackOff resets the back-off.
  const sim::Time now = engine_.Now();
  if (now - state.started >= 600 * sim::kSecond) state.restarts = 0;
  // At once the first time, then 10 s doubling to at most 300 s.
  const sim::Time backoff =
      state.restarts == 0
          ? 0
          : std::min<sim::Time>(10 * sim::kSecond << std::min(state.restarts - 1, 5),
                                300 * sim::kSecond);
  ++state.restarts;
  if (backoff > 0) {
    events_.Emit({now,
                  "BackOff",
                  "Pod",
                  key,
                  "Back-off restarting failed container in pod " + key,
                  {{"restarts", std::to_string(state.restarts)}}});
  }
  state.crash_timer = engine_.ScheduleCallbackAfter(backoff, [this, key] {
    const Pod* p = api_.Get<Pod>(key);
    const auto it = pods_.find(key);
    if (p == nullptr || it == pods_.end() || it->second.stopping) return;
    ContainersStarted(key);
  });
}

void Kubelets::Probe(const std::string& key) {
  const Pod* pod = api_.Get<Pod>(key);
  PodState& state = pods_[key];
  if (pod == nullptr || state.stopping) return;
  if (runtime_.ProbeReady(key)) {
    if (++state.successes >= pod->spec.readiness.success_threshold) {
      const sim::Time now = engine_.Now();
      api_.Patch<Pod>(key, [now](Pod& p) {
        p.ready = true;
        p.ready_since = now;
      });
      events_.Emit({now, "PodReady", "Pod", key, "Readiness probe succeeded", {}});
      return;
    }
  } else {
    state.successes = 0;
  }
  state.timer =
      engine_.ScheduleCallbackAfter(pod->spec.readiness.period, [this, key] { Probe(key); });
}

void Kubelets::Terminate(const Pod& pod) {
  const std::string key = pod.meta.Key();
  PodState& state = pods_[key];
  state.stopping = true;
  engine_.Cancel(state.timer);
  engine_.Cancel(state.crash_timer);
  events_.Emit({engine_.Now(), "Killing", "Pod", key, "Stopping container", {}});
  if (pod.ready) api_.Patch<Pod>(key, [](Pod& p) { p.ready = false; });
  runtime_.Stop(key, pod.spec.termination_grace, [this, key, node = state.node] {
    if (nodes_[node].dead) return;  // no kubelet left to confirm it
    pods_.erase(key);
    api_.Delete<Pod>(key);  // the second delete removes the object
  });
}

}  // namespace platsim::platform
