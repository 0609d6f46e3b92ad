// Knative's request path in front of one revision: the ingress hop (the
// revision's public Service, which the ServerlessService points at the
// activator or at the pods) and the activator.
//
// KnativeIngress sends a request to the activator while the
// ServerlessService is in proxy mode, or while the revision has no ready
// pod (the public Service then keeps the activator's endpoints: serving
// mode with no endpoints falls back to them); otherwise straight to the
// revision's private Service proxy, which balances over the ready pods.
//
// The Activator buffers requests until a pod can take them and then
// balances them as upstream does (knative/serving pkg/activator/net/
// throttler.go newRevisionThrottler, lb_policy.go), by containerConcurrency
// (CC):
// - CC 0 (unlimited): the pod with fewer of the activator's requests in
//   flight of two picked at random (randomChoice2Policy); one pod: it;
// - CC 1 to 3: the first pod, in endpoint order, with a free slot
//   (firstAvailableLBPolicy);
// - CC above 3: round robin from where the last pick left off, skipping
//   pods without a free slot (roundRobinPolicy).
// A pod's slots are CC minus the activator's requests in flight to it (its
// tracker's breaker). The revision's breaker never refuses: its slots are
// a queue depth of 10,000 plus MaxInt32. A request still buffered when the
// revision's timeoutSeconds has passed since it reached the activator ends
// timed out (the activator's timeout handler).
//
// A request already sent to a pod is bounded by the same timeoutSeconds,
// from its arrival (the data plane gives Knative routes' clients a deadline
// of at most it: activator or queue-proxy, the answer is a 504 then).
//
// Not modelled: several activator replicas and their subsetting of pods (one
// activator holds every pod's slots, which the replicas' subsets add up
// to), the activator's own latency and CPU.
#ifndef PLATSIM_PLATFORM_SERVING_ACTIVATOR_H_
#define PLATSIM_PLATFORM_SERVING_ACTIVATOR_H_

#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "platform/ring_queue.h"
#include "platform/serving/proxy.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class Activator : public Hop, public RequestObserver {
 public:
  // Borrows engine, table and backend (the revision's private Service
  // proxy, whose endpoints are the ready pods). `report` is called at a
  // request that finds the revision without a stats entry: none of its
  // requests in flight through the activator for a whole 1-second
  // reporting period (the concurrency reporter's immediate stat,
  // pkg/activator/handler/concurrency_reporter.go getOrCreateStat). Registers
  // itself as an observer of `table`.
  Activator(sim::Engine& engine, RequestTable& table, ServiceProxy& backend,
            int container_concurrency, sim::Time timeout, std::function<void()> report);

  void Accept(RequestId id) override;
  void Withdraw(RequestId id) override;
  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request& request, Outcome outcome, sim::Time now) override;

  // Requests buffered now (waiting for a pod).
  std::size_t buffered() const { return buffered_; }
  // Requests arrived at or after the warm-up that had to wait in the
  // activator.
  std::uint64_t ever_buffered() const { return ever_buffered_; }

 private:
  struct Waiting {
    RequestRef ref;  // generation 0: withdrawn
    sim::Time arrived;
  };
  void DropWithdrawnFront();
  void ScheduleDrain();
  // A pod for the next request, or null if none has a free slot.
  Hop* Pick();
  void Send(RequestId id, Hop* pod);
  // Sends buffered requests while pods have free slots.
  void Drain();
  void ArmTimeout();
  void OnTimeout();

  sim::Engine& engine_;
  RequestTable& table_;
  ServiceProxy& backend_;
  const int cc_;
  const sim::Time timeout_;
  const std::function<void()> report_;
  sim::RandomStream rng_;
  RingQueue<Waiting> queue_;  // withdrawn entries stay until they reach the front
  std::uint32_t pushed_ = 0, popped_ = 0;
  std::size_t buffered_ = 0;
  std::uint64_t ever_buffered_ = 0;
  std::size_t round_robin_ = 0;
  std::unordered_map<const Hop*, int> in_flight_;  // the activator's requests per pod
  std::vector<Hop*> sent_to_;                      // by request id: the pod, or null
  std::size_t through_ = 0;                        // requests buffered or sent and not yet ended
  sim::Time idle_since_ = -sim::kSecond;           // when through_ last fell to 0
  bool timer_armed_ = false;
  bool drain_scheduled_ = false;
};

class KnativeIngress : public Hop {
 public:
  // Borrows both hops.
  KnativeIngress(Activator& activator, ServiceProxy& pods) : activator_(activator), pods_(pods) {}
  // The ServerlessService's mode: true while the activator is in the path.
  void SetProxy(bool proxy) { proxy_ = proxy; }
  bool proxy() const { return proxy_; }
  void Accept(RequestId id) override {
    if (proxy_ || pods_.endpoint_count() == 0) {
      activator_.Accept(id);
    } else {
      pods_.Accept(id);
    }
  }
  void Withdraw(RequestId) override {}  // never holds one

 private:
  Activator& activator_;
  ServiceProxy& pods_;
  bool proxy_ = true;  // a new revision's ServerlessService starts in proxy mode
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_ACTIVATOR_H_
