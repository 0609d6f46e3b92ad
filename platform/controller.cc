#include "platform/controller.h"

#include <algorithm>

namespace platsim::platform {

WorkQueue::WorkQueue(sim::Engine& engine, Reconciler& reconciler, EventSink& events)
    : engine_(engine), reconciler_(reconciler), events_(events) {}

sim::Time WorkQueue::Backoff(int failures) {
  const sim::Time base = 5 * sim::kMillisecond;
  const sim::Time cap = 1000 * sim::kSecond;
  if (failures >= 40) return cap;
  return std::min(cap, base << failures);
}

void WorkQueue::Add(const std::string& key) {
  if (!queued_.insert(key).second) return;
  queue_.push_back(key);
  if (!scheduled_) {
    scheduled_ = true;
    engine_.ScheduleCallbackAfter(0, [this] { Process(); });
  }
}

void WorkQueue::AddAfter(const std::string& key, sim::Time delay) {
  const sim::Time at = sim::SatAdd(engine_.Now(), delay);
  if (const auto it = waiting_.find(key); it != waiting_.end()) {
    if (it->second.at <= at) return;  // an earlier wake-up already covers this one
    engine_.Cancel(it->second.event);
  }
  const sim::EventId event = engine_.ScheduleCallbackAt(at, [this, key] {
    waiting_.erase(key);
    Add(key);
  });
  waiting_[key] = Waiting{at, event};
}

void WorkQueue::Process() {
  scheduled_ = false;
  // Keys added while processing wait for the next round, so a reconciler
  // that requeues itself cannot starve the others.
  std::deque<std::string> batch;
  batch.swap(queue_);
  for (const std::string& key : batch)
    queued_.erase(key);
  for (const std::string& key : batch) {
    const Result r = reconciler_.Reconcile(key);
    switch (r.kind()) {
      case Result::Kind::kDone:
        failures_.erase(key);
        break;
      case Result::Kind::kRequeueAfter:
        failures_.erase(key);
        AddAfter(key, r.delay());
        break;
      case Result::Kind::kRetry: {
        const int n = failures_[key]++;
        AddAfter(key, Backoff(n));
        break;
      }
      case Result::Kind::kTerminal:
        failures_.erase(key);
        events_.Emit(
            ClusterEvent{engine_.Now(), "ReconcileError", reconciler_.Name(), key, r.error(), {}});
        break;
    }
  }
}

}  // namespace platsim::platform
