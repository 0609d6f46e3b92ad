// Knative's queue-proxy, the sidecar in front of a revision pod's server:
// its breaker enforces the revision's containerConcurrency (CC) per pod,
// whoever sends the requests (the activator, or the Service proxy once the
// activator is out of the path).
//
// As upstream builds it (knative/serving pkg/queue/sharedmain/main.go
// buildBreaker; pkg/queue/breaker.go Maybe): at most CC requests are in the
// server at once; up to 10 x CC more wait in the queue-proxy, and take a
// free slot in arrival order; a request past those (11 x CC in all) is
// refused at once with 503 "pending request queue full" (kQueueFull). CC 0
// builds no breaker: every request goes straight on. A waiting request
// whose client gives up leaves the queue (the breaker's wait ends with its
// context).
//
// A slot frees when a request the server took ends, however it ends; the
// data plane tells the pod's QueueProxy through QueueProxies, a
// RequestObserver. Waiting requests then move on in an event of their own,
// never inside the server's call that ended one.
//
// Shutdown: the pod's deletion reaches the queue-proxy first, which drains
// as upstream's does (pkg/queue/sharedmain/main.go on TERM; the Drainer of
// knative.dev/pkg/network/handlers/drain.go with QuietPeriod =
// drainSleepDuration, 30 s): it goes on taking and forwarding requests
// (those the Service proxy still sends before it learns the pod is gone)
// until 30 s have passed with no new request; the user container's preStop
// hook waits for that drain, so only then, with nothing left waiting here,
// is the server told to stop, with what is left of the grace period (it
// finishes what it holds and refuses anything new). When the grace period
// ends first, what still waits ends as terminated and the server is killed.
//
// Its timeout handler (the revision's timeoutSeconds) is the deadline the
// data plane gives the clients of Knative routes. Not modelled: its latency
// and CPU beyond the 25m request the loader gives the container.
#ifndef PLATSIM_PLATFORM_SERVING_QUEUE_PROXY_H_
#define PLATSIM_PLATFORM_SERVING_QUEUE_PROXY_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "platform/ring_queue.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class QueueProxy : public Hop, public sim::EventHandler {
 public:
  // Borrows everything. `server` is the pod's model server; `cc` the
  // revision's containerConcurrency (0: no breaker).
  QueueProxy(sim::Engine& engine, RequestTable& table, Hop& server, int cc);

  void Accept(RequestId id) override;
  void Withdraw(RequestId id) override;  // while it waits here
  // An LLM server's gauges, with the requests waiting here as waiting.
  bool Gauges(LlmGauges& out) const override {
    if (!server_.Gauges(out)) return false;
    out.waiting += static_cast<double>(waiting_);
    return true;
  }
  // A request the server took from here has ended.
  void Released();
  // The pod is deleted with `grace`: drain as above, then call
  // `stop_server` with the grace left (0 if it has run out) once.
  void Stop(sim::Time grace, std::function<void(sim::Time grace_left)> stop_server);
  // The drainer's quiet period (drainSleepDuration).
  static constexpr sim::Time kDrainQuietPeriod = 30 * sim::kSecond;

  std::size_t waiting() const { return waiting_; }
  int in_server() const { return in_server_; }

  void OnEvent(std::uint64_t payload) override;

 private:
  struct Waiting {
    RequestRef ref;  // generation 0: withdrawn
  };
  void Forward(RequestId id);
  void DropWithdrawnFront();
  // The oldest waiting request, out of the queue. REQUIRES: waiting_ > 0.
  RequestId PopWaiting();
  // Once stopping and nothing waits: the server's turn to stop.
  void MaybeStopServer();
  void OnQuietCheck();
  void OnGraceEnd();

  sim::Engine& engine_;
  RequestTable& table_;
  Hop& server_;
  const int cc_;
  const std::size_t queue_depth_;  // 10 x cc
  const sim::HandlerId handler_;
  RingQueue<Waiting> queue_;  // withdrawn entries stay until they reach the front
  std::uint32_t pushed_ = 0, popped_ = 0;
  std::size_t waiting_ = 0;
  int in_server_ = 0;
  bool drain_scheduled_ = false;
  bool stopping_ = false;
  bool drained_ = false;       // the quiet period has passed (or the grace period)
  sim::Time quiet_until_ = 0;  // while stopping: 30 s after the last request
  sim::Time stop_deadline_ = 0;
  std::function<void(sim::Time)> stop_server_;  // until called
};

// Tells each pod's QueueProxy when a request its server took ends: the
// requests whose `pod` is set (the model server sets it when it takes one).
class QueueProxies : public RequestObserver {
 public:
  // `proxy` (borrowed, or null) is pod `pod`'s.
  void Set(std::uint32_t pod, QueueProxy* proxy) {
    if (by_pod_.size() <= pod) by_pod_.resize(pod + 1, nullptr);
    by_pod_[pod] = proxy;
  }
  QueueProxy* Of(std::uint32_t pod) const { return pod < by_pod_.size() ? by_pod_[pod] : nullptr; }
  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request& request, Outcome, sim::Time) override {
    if (QueueProxy* proxy = Of(request.pod)) proxy->Released();
  }

 private:
  std::vector<QueueProxy*> by_pod_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_QUEUE_PROXY_H_
