// The kubelets of all nodes: each takes the pods bound to its node through
// their lifecycle.
//
//   bound -> image pull (skipped if the node has the image; pulls on a node
//   run one at a time, as with the default serializeImagePulls=true; a pod
//   whose image is being pulled waits for that pull)
//   -> containers started (phase Running) -> readiness probes every
//   periodSeconds from initialDelaySeconds after start; the pod turns Ready
//   after successThreshold consecutive successes. Without a readiness probe a
//   pod is Ready as soon as its containers start, whether or not the model
//   has loaded (as in Kubernetes).
//   A pulled image is added to the Node's status.images (with its size) as
//   soon as the pull ends; the kubelet reports it at its next node status
//   update, within nodeStatusUpdateFrequency (10s), which is not simulated.
//   deletion -> not Ready; the container runtime drains for at most
//   terminationGracePeriodSeconds; then the pod object is removed.
//
// A container that exits (ContainerRuntime::CrashAfter) is restarted with
// CrashLoopBackOff as the kubelet does it (pkg/kubelet/kubelet.go
// backOffPeriod 10 s and MaxContainerBackOff 300 s; client-go
// flowcontrol.Backoff): the first restart at once, then after 10 s,
// doubling to 300 s (event BackOff), the count reset once a container has
// run for 600 s; the pod is not Ready meanwhile, and loads again at each
// start. Restarts follow the crash at once (the kubelet's next pod sync is
// not modelled).
//
// Defaults from pkg/apis/core/v1/defaults.go (probe period 10s, success
// threshold 1, grace period 30s). Probing stops once a pod is Ready: the
// simulated model servers do not fail after loading.
#ifndef PLATSIM_PLATFORM_KUBELET_H_
#define PLATSIM_PLATFORM_KUBELET_H_

#include <functional>
#include <map>
#include <set>
#include <string>

#include "platform/api_server.h"
#include "platform/events.h"

namespace platsim::platform {

// What a kubelet runs pods with: the model servers of the data plane.
class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;
  // The pod is admitted to its node (its GPUs are held from now on).
  virtual void Admit(const Pod& pod) = 0;
  // Its image is present: start the containers (the model starts loading).
  virtual void StartContainers(const Pod& pod) = 0;
  // The readiness probe: true once the server answers.
  virtual bool ProbeReady(const std::string& pod_key) = 0;
  // Stop the pod's containers, draining for at most `grace`; call `stopped`
  // when done. Called at most once per pod.
  virtual void Stop(const std::string& pod_key, sim::Time grace, std::function<void()> stopped) = 0;
  // The machine under the pod died: its containers end at once, and what
  // they held with them.
  virtual void Kill(const std::string& pod_key) = 0;
  // The pod's container exited (a crash): what it held ends; StartContainers
  // starts it again.
  virtual void Crash(const std::string& pod_key) = 0;
  // How long after it starts the pod's container exits; 0: never.
  virtual sim::Time CrashAfter(const std::string& pod_key) const = 0;
  // The machine under a killed pod is back: StartContainers starts it again.
  virtual void Revive(const std::string& pod_key) = 0;
  // The pod's GPU failed: its container exits now and soon after every
  // start from now on.
  virtual void BreakDevice(const std::string& pod_key) = 0;
};

class Kubelets {
 public:
  // What pulling an image not yet on the node takes, and its size.
  struct ImageInfo {
    sim::Time pull = 0;
    std::int64_t size_bytes = 0;
  };
  using PullTime = std::function<ImageInfo(const std::string& image)>;

  // Borrows everything; registers its watches.
  Kubelets(sim::Engine& engine, ApiServer& api, EventSink& events, ContainerRuntime& runtime,
           PullTime pull_time);

  // Node `name` dies now: its pods' containers end, and its kubelet does
  // nothing more (no pod bound to it starts, none deleted goes away).
  void FailNode(const std::string& name);
  // Node `name` is back (rebooted, repaired): its kubelet confirms the
  // deletion of pods deleted meanwhile and starts the containers of the
  // others again (the images it had are still there).
  void RecoverNode(const std::string& name);
  // `gpus` of node `name`'s GPUs fail: the pods holding them (in key order)
  // crash, and crash again at every restart (CrashLoopBackOff) until they
  // are deleted. Returns their keys.
  std::vector<std::string> FailGpus(const std::string& name, std::int64_t gpus);

 private:
  struct PodState {
    std::string node;
    sim::Time admitted = 0;  // status.startTime
    bool stopping = false;
    int successes = 0;
    sim::EventId timer;
    int restarts = 0;          // after crashes, since the last long run
    sim::Time started = 0;     // its container's latest start
    sim::EventId crash_timer;  // its container's next crash, or its restart
    bool running = false;      // its containers have started (at least once)
    bool broken = false;       // its GPU failed
  };
  struct NodeState {
    bool dead = false;
    std::set<std::string> images;
    std::map<std::string, sim::Time> pulling;  // image -> when its pull ends
    sim::Time puller_free_at = 0;
  };
  void OnPod(WatchType type, const Pod& pod);
  void Admit(const Pod& pod);
  // Its image (pulled if the node lacks it), then its containers.
  void StartPod(const Pod& pod);
  void ContainersStarted(const std::string& key);
  // The container exited: CrashLoopBackOff until it starts again.
  void Crashed(const std::string& key);
  void Probe(const std::string& key);
  void Terminate(const Pod& pod);

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  ContainerRuntime& runtime_;
  PullTime pull_time_;
  std::map<std::string, PodState> pods_;
  std::map<std::string, NodeState> nodes_;
  int dead_nodes_ = 0;  // nodes failed (their pods' events are not followed)
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_KUBELET_H_
