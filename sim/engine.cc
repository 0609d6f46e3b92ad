#include "sim/engine.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace platsim::sim {

Engine::Engine(std::uint64_t seed) : seed_(seed) {
  handlers_.push_back(&callbacks_);
}

HandlerId Engine::AddHandler(EventHandler* handler) {
  handlers_.push_back(handler);
  return static_cast<HandlerId>(handlers_.size() - 1);
}

void Engine::DieInThePast(Time at) const {
  std::fprintf(stderr,
               "platsim: engine invariant broken at t=%" PRId64
               "ns: event scheduled in the past "
               "(t=%" PRId64 "ns)\n",
               now_, at);
  std::abort();
}

EventId Engine::ScheduleAt(Time at, HandlerId handler, std::uint64_t payload) {
  if (at < now_) DieInThePast(at);
  return queue_.Push(at, handler, payload);
}

EventId Engine::ScheduleCallbackAt(Time at, std::function<void()> fn) {
  if (at < now_) DieInThePast(at);
  return queue_.Push(at, 0, callbacks_.Add(std::move(fn)));
}

bool Engine::Cancel(EventId id) {
  if (!queue_.IsPending(id)) return false;
  const bool is_callback = queue_.TargetOf(id) == 0;
  const std::uint64_t payload = queue_.PayloadOf(id);
  queue_.Cancel(id);
  if (is_callback) callbacks_.Release(static_cast<std::uint32_t>(payload));
  return true;
}

void Engine::SetPoll(std::uint32_t every, std::function<bool()> poll) {
  poll_every_ = every;
  poll_countdown_ = every;
  poll_ = std::move(poll);
}

void Engine::RunUntil(Time until) {
  stop_requested_ = false;
  Event e;
  while (!stop_requested_ && queue_.PopUntil(until, &e)) {
    now_ = e.time;
    ++events_executed_;
    // The next event's handler is likely the one at the top now: start
    // fetching its object while this event runs (on a large platform, the
    // handlers' state does not fit in the caches).
    const std::uint32_t next = queue_.TopTargetHint();
    if (next < handlers_.size()) __builtin_prefetch(handlers_[next]);
    handlers_[e.target]->OnEvent(e.payload);
    if (--poll_countdown_ == 0) {
      poll_countdown_ = poll_every_;
      if (poll_ && poll_()) stop_requested_ = true;
    }
  }
  if (!stop_requested_ && until != kNever && until > now_) now_ = until;
}

std::uint32_t Engine::CallbackPool::Add(std::function<void()> fn) {
  if (!free_.empty()) {
    const std::uint32_t index = free_.back();
    free_.pop_back();
    fns_[index] = std::move(fn);
    return index;
  }
  fns_.push_back(std::move(fn));
  return static_cast<std::uint32_t>(fns_.size() - 1);
}

void Engine::CallbackPool::Release(std::uint32_t index) {
  fns_[index] = nullptr;
  free_.push_back(index);
}

void Engine::CallbackPool::OnEvent(std::uint64_t payload) {
  const auto index = static_cast<std::uint32_t>(payload);
  // Move out first: the callback may schedule callbacks that reuse the slot.
  std::function<void()> fn = std::move(fns_[index]);
  Release(index);
  fn();
}

}  // namespace platsim::sim
