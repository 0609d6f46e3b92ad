// Controllers as reconcilers over watched objects (the controller-runtime
// model). A Reconciler has one method; a request is only an object's key;
// reconciling is level-based and idempotent. A WorkQueue deduplicates keys
// and runs the reconciler for each, one at a time, at the simulated time the
// key was queued (reconciling itself takes no simulated time; its writes take
// the API server's latency).
#ifndef PLATSIM_PLATFORM_CONTROLLER_H_
#define PLATSIM_PLATFORM_CONTROLLER_H_

#include <deque>
#include <map>
#include <set>
#include <string>

#include "platform/events.h"
#include "sim/engine.h"

namespace platsim::platform {

// The outcome of one reconcile: exactly one of done, requeue after a delay,
// retry with backoff (an error), or a terminal error (not retried).
class Result {
 public:
  enum class Kind { kDone, kRequeueAfter, kRetry, kTerminal };
  static Result Done() { return Result(Kind::kDone, 0, {}); }
  static Result RequeueAfter(sim::Time delay) { return Result(Kind::kRequeueAfter, delay, {}); }
  static Result Retry(std::string error) { return Result(Kind::kRetry, 0, std::move(error)); }
  static Result Terminal(std::string error) { return Result(Kind::kTerminal, 0, std::move(error)); }

  Kind kind() const { return kind_; }
  sim::Time delay() const { return delay_; }
  const std::string& error() const { return error_; }

 private:
  Result(Kind kind, sim::Time delay, std::string error)
      : kind_(kind), delay_(delay), error_(std::move(error)) {}
  Kind kind_;
  sim::Time delay_;
  std::string error_;
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  virtual Result Reconcile(const std::string& key) = 0;
  virtual const char* Name() const = 0;
};

// A deduplicating queue of keys for one reconciler. A key added while already
// queued is not added twice. A key added after a delay while it already waits
// keeps the earlier of the two wake-ups, as client-go's delaying queue does,
// so repeated requeues never pile up timers. Retry uses per-key exponential
// backoff, 5ms doubling to at most 1000s (controller-runtime's default
// ItemExponentialFailureRateLimiter, client-go util/workqueue).
class WorkQueue {
 public:
  // Borrows all three for the queue's lifetime.
  WorkQueue(sim::Engine& engine, Reconciler& reconciler, EventSink& events);

  void Add(const std::string& key);
  void AddAfter(const std::string& key, sim::Time delay);

  static sim::Time Backoff(int failures);

 private:
  void Process();

  sim::Engine& engine_;
  Reconciler& reconciler_;
  EventSink& events_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_;
  struct Waiting {
    sim::Time at;
    sim::EventId event;
  };
  std::map<std::string, Waiting> waiting_;  // keys added after a delay, not yet due
  std::map<std::string, int> failures_;
  bool scheduled_ = false;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLER_H_
