#include "platform/serving/activator.h"

namespace platsim::platform {

Activator::Activator(sim::Engine& engine, RequestTable& table, ServiceProxy& backend,
                     int container_concurrency, sim::Time timeout, std::function<void()> report)
    : engine_(engine),
      table_(table),
      backend_(backend),
      cc_(container_concurrency),
      timeout_(timeout),
      report_(std::move(report)),
      rng_(engine.Stream("activator/" + backend.service_key())) {
  table_.AddObserver(this);
  backend_.OnEndpointsChanged([this](std::size_t) { ScheduleDrain(); });
}

Hop* Activator::Pick() {
  const std::vector<Hop*>& pods = backend_.endpoints();
  const std::size_t n = pods.size();
  if (n == 0) return nullptr;
  auto load = [this](const Hop* pod) {
    const auto it = in_flight_.find(pod);
    return it == in_flight_.end() ? 0 : it->second;
  };
  if (cc_ == 0) {  // randomChoice2Policy
    if (n == 1) return pods[0];
    const std::uint64_t a = rng_.UniformInt(n);
    std::uint64_t b = rng_.UniformInt(n - 1);
    if (b >= a) ++b;
    return load(pods[b]) < load(pods[a]) ? pods[b] : pods[a];
  }
  if (cc_ <= 3) {  // firstAvailableLBPolicy
    for (Hop* pod : pods) {
      if (load(pod) < cc_) return pod;
    }
    return nullptr;
  }
  if (round_robin_ >= n) round_robin_ = 0;  // roundRobinPolicy
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = (round_robin_ + i) % n;
    if (load(pods[at]) < cc_) {
      round_robin_ = at + 1;
      return pods[at];
    }
  }
  return nullptr;
}

void Activator::Send(RequestId id, Hop* pod) {
  if (sent_to_.size() <= id) sent_to_.resize(id + 1, nullptr);
  sent_to_[id] = pod;
  ++in_flight_[pod];
  table_[id].holder = nullptr;
  pod->Accept(id);
}

void Activator::Accept(RequestId id) {
  const sim::Time now = engine_.Now();
  if (through_ == 0 && now - idle_since_ >= sim::kSecond && report_) report_();
  ++through_;
  if (buffered_ == 0) {
    if (Hop* pod = Pick()) {
      Send(id, pod);
      return;
    }
  }
  Request& r = table_[id];
  r.holder = this;
  r.queue_seq = pushed_++;
  queue_.push_back({table_.Ref(id), now});
  ++buffered_;
  ++outstanding_;
  if (r.measured) ++ever_buffered_;
  ArmTimeout();
}

void Activator::Withdraw(RequestId id) {
  queue_[table_[id].queue_seq - popped_].ref.generation = 0;
  --buffered_;
  --outstanding_;
  DropWithdrawnFront();
}

void Activator::DropWithdrawnFront() {
  while (!queue_.empty() && queue_.front().ref.generation == 0) {
    queue_.pop_front();
    ++popped_;
  }
}

void Activator::OnEnd(const Request& request, Outcome, sim::Time now) {
  const RequestId id = table_.IdOf(request);
  const bool sent = id < sent_to_.size() && sent_to_[id] != nullptr;
  if (sent || request.holder == this) {  // through the activator
    if (--through_ == 0) idle_since_ = now;
  }
  if (!sent) return;
  --in_flight_[sent_to_[id]];
  sent_to_[id] = nullptr;
  if (buffered_ > 0 && cc_ > 0) ScheduleDrain();
}

// Never from inside another hop's call: the pod that just finished a
// request may be in the middle of its own bookkeeping.
void Activator::ScheduleDrain() {
  if (drain_scheduled_ || buffered_ == 0) return;
  drain_scheduled_ = true;
  engine_.ScheduleCallbackAt(engine_.Now(), [this] {
    drain_scheduled_ = false;
    Drain();
  });
}

void Activator::Drain() {
  DropWithdrawnFront();
  while (buffered_ > 0) {
    Hop* pod = Pick();
    if (pod == nullptr) return;
    const Waiting w = queue_.pop_front();
    ++popped_;
    --buffered_;
    --outstanding_;
    Send(w.ref.id, pod);
    DropWithdrawnFront();
  }
}

void Activator::ArmTimeout() {
  if (timer_armed_ || timeout_ == 0) return;
  DropWithdrawnFront();
  if (queue_.empty()) return;
  timer_armed_ = true;
  engine_.ScheduleCallbackAt(sim::SatAdd(queue_.front().arrived, timeout_), [this] {
    timer_armed_ = false;
    OnTimeout();
  });
}

void Activator::OnTimeout() {
  const sim::Time now = engine_.Now();
  DropWithdrawnFront();
  while (!queue_.empty() && sim::SatAdd(queue_.front().arrived, timeout_) <= now) {
    const Waiting w = queue_.pop_front();
    ++popped_;
    --buffered_;
    --outstanding_;
    table_.End(w.ref.id, Outcome::kTimedOut, now);
    DropWithdrawnFront();
  }
  ArmTimeout();
}

}  // namespace platsim::platform
