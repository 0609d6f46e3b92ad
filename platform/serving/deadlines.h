// A client's deadlines, which arrive in the order they were set (one
// timeout, requests in arrival order). The client wakes at NextDeadline()
// and calls Expire(); entries whose request has ended are dropped from the
// front then, and when the queue has doubled since the last drop, so memory
// stays within twice the requests that arrived since the oldest live one
// did, at O(1) amortized cost per entry.
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
  void Add(const RequestTable& table, RequestRef ref, sim::Time deadline) {
    if (queue_.size() >= drop_at_) {
      DropEnded(table);
      drop_at_ = std::max<std::size_t>(64, 2 * queue_.size());
    }
    queue_.push_back({ref, deadline});
  }
  // The earliest deadline held (maybe of a request gone since); kNever if
  // none.
  sim::Time NextDeadline() const { return queue_.empty() ? sim::kNever : queue_.front().deadline; }
  // Calls `expire(id)` for every live request whose deadline is at or
  // before `now`, in order.
  template <class OnExpired>
  void Expire(sim::Time now, const RequestTable& table, OnExpired expire) {
    while (!queue_.empty() && queue_.front().deadline <= now) {
      const Entry e = queue_.pop_front();
      if (table.Live(e.ref)) expire(e.ref.id);
    }
    DropEnded(table);
  }

 private:
  struct Entry {
    RequestRef ref;
    sim::Time deadline;
  };
  void DropEnded(const RequestTable& table) {
    while (!queue_.empty() && !table.Live(queue_.front().ref))
      queue_.pop_front();
  }

  RingQueue<Entry> queue_;
  std::size_t drop_at_ = 64;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_DEADLINES_H_
