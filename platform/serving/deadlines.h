// Deadlines that arrive in the order they were set (one timeout, requests in
// arrival order). The owner wakes at NextDeadline() and calls Expire();
// entries whose request has ended or moved on are dropped from the front
// then, and when the queue has doubled since the last drop, so memory stays
// within twice the requests that arrived since the oldest one still waiting
// did, at O(1) amortized cost per entry.
//
// `still(id)` says whether a live request is still this queue's to expire
// (a request the server has started running has left its queue).
#ifndef PLATSIM_PLATFORM_SERVING_DEADLINES_H_
#define PLATSIM_PLATFORM_SERVING_DEADLINES_H_

#include <algorithm>

#include "platform/ring_queue.h"
#include "platform/serving/request.h"
#include "sim/time.h"

namespace platsim::platform {

class DeadlineQueue {
 public:
  // REQUIRES: deadline >= the deadline of every entry added before.
  template <class Still>
  void Add(const RequestTable& table, RequestRef ref, sim::Time deadline, Still still) {
    if (queue_.size() >= drop_at_) {
      DropGone(table, still);
      drop_at_ = std::max<std::size_t>(64, 2 * queue_.size());
    }
    queue_.push_back({ref, deadline});
  }
  // The earliest deadline held (maybe of a request gone since); kNever if
  // none.
  sim::Time NextDeadline() const { return queue_.empty() ? sim::kNever : queue_.front().deadline; }
  // Calls `expire(id)` for every entry still waiting whose deadline is at or
  // before `now`, in order.
  template <class Still, class OnExpired>
  void Expire(sim::Time now, const RequestTable& table, Still still, OnExpired expire) {
    while (!queue_.empty() && queue_.front().deadline <= now) {
      const Entry e = queue_.pop_front();
      if (table.Live(e.ref) && still(e.ref.id)) expire(e.ref.id);
    }
    DropGone(table, still);
  }
  void Clear() { queue_.clear(); }

 private:
  struct Entry {
    RequestRef ref;
    sim::Time deadline;
  };
  template <class Still>
  void DropGone(const RequestTable& table, Still still) {
    while (!queue_.empty() && (!table.Live(queue_.front().ref) || !still(queue_.front().ref.id))) {
      queue_.pop_front();
    }
  }

  RingQueue<Entry> queue_;
  std::size_t drop_at_ = 64;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_DEADLINES_H_
