// Deadlines that arrive in the order they were set (one timeout, requests in
// arrival order), expired with one pending event per queue: the event waits
// for the oldest entry still waiting; entries whose request has ended or
// moved on are dropped when they reach the front. Memory: the requests that
// arrived since the oldest one still waiting did.
//
// `still(id)` says whether a live request is still this queue's to expire
// (a request the server has started running has left its queue).
#ifndef PLATSIM_PLATFORM_SERVING_DEADLINES_H_
#define PLATSIM_PLATFORM_SERVING_DEADLINES_H_

#include "platform/ring_queue.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class DeadlineQueue {
 public:
  struct Entry {
    RequestRef ref;
    sim::Time deadline;
  };

  // REQUIRES: deadline >= the deadline of every entry added before.
  // `handler` and `payload` name the event that calls Expire().
  template <class Still>
  void Add(sim::Engine& engine, const RequestTable& table, RequestRef ref, sim::Time deadline,
           sim::HandlerId handler, std::uint64_t payload, Still still) {
    DropGone(table, still);
    queue_.push_back({ref, deadline});
    Arm(engine, handler, payload);
  }
  // Calls `expire(id)` for every entry still waiting whose deadline has
  // come, in order; then waits for the next one.
  template <class Still, class OnExpired>
  void Expire(sim::Engine& engine, const RequestTable& table, sim::HandlerId handler,
              std::uint64_t payload, Still still, OnExpired expire) {
    const sim::Time now = engine.Now();
    while (!queue_.empty() && queue_.front().deadline <= now) {
      const Entry e = queue_.pop_front();
      if (table.Live(e.ref) && still(e.ref.id)) expire(e.ref.id);
    }
    DropGone(table, still);
    Arm(engine, handler, payload);
  }
  void Clear(sim::Engine& engine) {
    engine.Cancel(timer_);
    queue_.clear();
  }

 private:
  template <class Still>
  void DropGone(const RequestTable& table, Still still) {
    while (!queue_.empty() && (!table.Live(queue_.front().ref) || !still(queue_.front().ref.id))) {
      queue_.pop_front();
    }
  }
  void Arm(sim::Engine& engine, sim::HandlerId handler, std::uint64_t payload) {
    if (queue_.empty() || engine.IsPending(timer_)) return;
    timer_ = engine.ScheduleAt(queue_.front().deadline, handler, payload);
  }

  RingQueue<Entry> queue_;
  sim::EventId timer_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_DEADLINES_H_
