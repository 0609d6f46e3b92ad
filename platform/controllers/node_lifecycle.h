// What happens to a node that stops (a machine or kubelet failure), as the
// node lifecycle controller and the taint eviction controller of
// kubernetes/kubernetes pkg/controller/nodelifecycle and
// pkg/controller/tainteviction handle it:
// - the kubelet renews its node lease every 10 s (nodeLeaseDurationSeconds
//   40 x renew fraction 0.25); the controller looks every node-monitor-period
//   (5 s) and, once node-monitor-grace-period (50 s) has passed since the
//   last renewal, sets the node's Ready condition Unknown
//   (event NodeNotReady), taints it node.kubernetes.io/unreachable with
//   NoSchedule and NoExecute, and marks its pods not Ready (MarkPodsNotReady:
//   the endpoints controller then takes them out of their Services);
// - each pod on it is evicted (deleted: event TaintManagerEviction) once
//   its toleration of the NoExecute taint runs out: tolerationSeconds, 300 s
//   unless the pod says otherwise (the DefaultTolerationSeconds admission
//   plugin); a pod that tolerates it without seconds stays. A deleted pod
//   stays Terminating, as its kubelet never confirms; its ReplicaSet counts
//   it no more and creates a replacement.
// Until then requests routed to its pods fail: the pods' containers died
// with the node (the data plane's Kill).
//
// Not simulated: eviction rate limits by zone health (--node-eviction-rate,
// and the full disruption mode of a zone whose nodes are all down, where
// upstream stops evicting), the pod GC of pods on deleted nodes.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_NODE_LIFECYCLE_H_
#define PLATSIM_PLATFORM_CONTROLLERS_NODE_LIFECYCLE_H_

#include <map>
#include <string>

#include "platform/api_server.h"
#include "platform/events.h"
#include "sim/engine.h"

namespace platsim::platform {

class NodeLifecycleController {
 public:
  struct Options {
    sim::Time monitor_period = 5 * sim::kSecond;        // --node-monitor-period
    sim::Time grace_period = 50 * sim::kSecond;         // --node-monitor-grace-period
    sim::Time lease_renew = 10 * sim::kSecond;          // kubelet lease renew interval
    sim::Time default_toleration = 300 * sim::kSecond;  // DefaultTolerationSeconds
  };
  // Borrows everything.
  NodeLifecycleController(sim::Engine& engine, ApiServer& api, EventSink& events, Options options);
  NodeLifecycleController(sim::Engine& engine, ApiServer& api, EventSink& events)
      : NodeLifecycleController(engine, api, events, Options()) {}

  // Node `name`'s kubelet stopped now: its last lease renewal was the last
  // multiple of the renew interval.
  void NodeStopped(const std::string& name);
  // Node `name`'s kubelet is back now and renews its lease at once: at the
  // controller's next look the node is Ready again (event NodeReady), its
  // unreachable taints go, and evictions not yet done are cancelled (the
  // taint eviction controller's, once the taint is gone).
  void NodeRecovered(const std::string& name);
  // When the controller marks a node that stopped at `at` unhealthy.
  sim::Time DetectedAt(sim::Time at) const;

 private:
  void MarkUnhealthy(const std::string& name, std::uint64_t outage);
  void MarkHealthy(const std::string& name, std::uint64_t outage);
  // Per node: its outages so far (each NodeStopped starts one), and whether
  // the current one has ended.
  struct Outage {
    std::uint64_t count = 0;
    bool over = true;
  };
  std::map<std::string, Outage> outages_;

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  const Options options_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_NODE_LIFECYCLE_H_
