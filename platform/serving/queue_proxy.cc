#include "platform/serving/queue_proxy.h"

#include <algorithm>

namespace platsim::platform {

QueueProxy::QueueProxy(sim::Engine& engine, RequestTable& table, Hop& server, int cc)
    : engine_(engine),
      table_(table),
      server_(server),
      cc_(cc),
      queue_depth_(static_cast<std::size_t>(10) * static_cast<std::size_t>(cc)),
      handler_(engine.AddHandler(this)) {}

void QueueProxy::Accept(RequestId id) {
  if (stopping_) quiet_until_ = sim::SatAdd(engine_.Now(), kDrainQuietPeriod);
  if (cc_ == 0 || (in_server_ < cc_ && waiting_ == 0)) {
    Forward(id);
    return;
  }
  // breaker.go tryAcquirePending: the slots are QueueDepth + MaxConcurrency.
  if (waiting_ + static_cast<std::size_t>(in_server_) >=
      queue_depth_ + static_cast<std::size_t>(cc_)) {
    table_.End(id, Outcome::kQueueFull, engine_.Now());
    return;
  }
  Request& r = table_[id];
  r.holder = this;
  r.queue_seq = pushed_++;
  queue_.push_back({table_.Ref(id)});
  ++waiting_;
  ++outstanding_;
}

void QueueProxy::Forward(RequestId id) {
  const RequestRef ref = table_.Ref(id);
  server_.Accept(id);
  // Refused at once (not loaded, stopping, its queue full): no slot taken.
  if (!table_.Live(ref) || table_[id].holder != &server_) return;
  ++in_server_;
  ++outstanding_;
}

void QueueProxy::Withdraw(RequestId id) {
  queue_[table_[id].queue_seq - popped_].ref.generation = 0;
  --waiting_;
  --outstanding_;
  DropWithdrawnFront();
  MaybeStopServer();
}

void QueueProxy::DropWithdrawnFront() {
  while (!queue_.empty() && queue_.front().ref.generation == 0) {
    queue_.pop_front();
    ++popped_;
  }
}

RequestId QueueProxy::PopWaiting() {
  DropWithdrawnFront();
  const RequestId id = queue_.front().ref.id;
  queue_.pop_front();
  ++popped_;
  --waiting_;
  --outstanding_;
  table_[id].holder = nullptr;  // held by no hop as it goes on (or ends)
  return id;
}

void QueueProxy::Released() {
  --in_server_;
  --outstanding_;
  if (waiting_ > 0 && !drain_scheduled_) {
    drain_scheduled_ = true;
    engine_.ScheduleAt(engine_.Now(), handler_, 0);
  }
}

void QueueProxy::OnEvent(std::uint64_t) {
  drain_scheduled_ = false;
  while (in_server_ < cc_ && waiting_ > 0)
    Forward(PopWaiting());
  DropWithdrawnFront();
  MaybeStopServer();
}

void QueueProxy::Stop(sim::Time grace, std::function<void(sim::Time)> stop_server) {
  stopping_ = true;
  const sim::Time now = engine_.Now();
  stop_deadline_ = sim::SatAdd(now, grace);
  quiet_until_ = sim::SatAdd(now, kDrainQuietPeriod);
  stop_server_ = std::move(stop_server);
  engine_.ScheduleCallbackAt(std::min(quiet_until_, stop_deadline_), [this] { OnQuietCheck(); });
  engine_.ScheduleCallbackAt(stop_deadline_, [this] { OnGraceEnd(); });
}

void QueueProxy::OnQuietCheck() {
  if (drained_) return;
  if (engine_.Now() < quiet_until_) {
    // A request came since: the quiet period restarts from it.
    engine_.ScheduleCallbackAt(quiet_until_, [this] { OnQuietCheck(); });
    return;
  }
  drained_ = true;
  MaybeStopServer();
}

void QueueProxy::MaybeStopServer() {
  if (!drained_ || waiting_ > 0 || !stop_server_) return;
  auto stop = std::move(stop_server_);
  stop_server_ = nullptr;
  stop(std::max<sim::Time>(0, stop_deadline_ - engine_.Now()));
}

void QueueProxy::OnGraceEnd() {
  if (!stop_server_) return;  // drained in time
  drained_ = true;
  const sim::Time now = engine_.Now();
  while (waiting_ > 0)
    table_.End(PopWaiting(), Outcome::kTerminated, now);
  DropWithdrawnFront();
  MaybeStopServer();
}

}  // namespace platsim::platform
