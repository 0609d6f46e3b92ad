// The discrete-event engine: a clock, an event queue, named random streams.
//
// Semantics (the contract every component relies on):
// - The clock is integer nanoseconds (sim/time.h) and never goes backwards.
// - Events at equal times run in the order they were scheduled (FIFO).
// - An event scheduled for the current time runs after every event already
//   pending at that time, never before the current handler returns.
// - A run is a pure function of (inputs, seed): no wall clock, no global
//   state. Many engines may live in one process.
//
// Two ways to receive events:
// - Hot path: a component implements EventHandler, registers once, and
//   schedules (target, 64-bit payload) events. Nothing is allocated per event.
// - Cold path (controllers, periodic samplers): ScheduleCallback with any
//   callable; the callable is stored in a pool until it runs.
#ifndef PLATSIM_SIM_ENGINE_H_
#define PLATSIM_SIM_ENGINE_H_

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "sim/event_queue.h"
#include "sim/random.h"
#include "sim/time.h"

namespace platsim::sim {

class Engine;

// A receiver of hot-path events. The payload is whatever the handler packed
// into it when scheduling (an index, a kind and an index, ...).
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  virtual void OnEvent(std::uint64_t payload) = 0;
};

using HandlerId = std::uint32_t;

class Engine {
 public:
  explicit Engine(std::uint64_t seed);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Time Now() const { return now_; }
  std::uint64_t seed() const { return seed_; }

  // Registers a handler. The engine borrows it: REQUIRES it outlive every
  // event scheduled for it.
  HandlerId AddHandler(EventHandler* handler);

  // Schedules an event for `handler` at absolute time `at`.
  // REQUIRES: at >= Now(), handler returned by AddHandler.
  EventId ScheduleAt(Time at, HandlerId handler, std::uint64_t payload);
  // `delay` from now, saturating: a delay past kNever is scheduled at kNever,
  // which no run reaches (runs end by kMaxDuration). REQUIRES: delay >= 0.
  EventId ScheduleAfter(Time delay, HandlerId handler, std::uint64_t payload) {
    return ScheduleAt(SatAdd(now_, delay), handler, payload);
  }

  // Schedules `fn` to run at `at`. REQUIRES: at >= Now().
  EventId ScheduleCallbackAt(Time at, std::function<void()> fn);
  EventId ScheduleCallbackAfter(Time delay, std::function<void()> fn) {
    return ScheduleCallbackAt(SatAdd(now_, delay), std::move(fn));
  }

  // Cancels a pending event in O(1). Returns false if it already ran or was
  // cancelled. A cancelled callback is destroyed at once.
  bool Cancel(EventId id);
  bool IsPending(EventId id) const { return queue_.IsPending(id); }

  // Runs every event with time <= `until`, then sets the clock to `until`
  // (if later). Returns early, leaving the clock at the last event, if Stop()
  // is called. REQUIRES: until >= Now().
  void RunUntil(Time until);
  // Runs until no event is pending or Stop() is called.
  void Run() { RunUntil(kNever); }
  // Makes the running RunUntil return after the current event.
  void Stop() { stop_requested_ = true; }
  // Calls `poll` after every `every` events; when it returns true, RunUntil
  // returns as if Stop() had been called. For checks outside the simulated
  // world (a signal, wall-clock progress, a memory budget): `poll` must not
  // change simulation state, so a run is the same with or without it.
  // REQUIRES: every >= 1.
  void SetPoll(std::uint32_t every, std::function<bool()> poll);
  // True if the last RunUntil returned early (Stop() or the poll).
  bool stopped() const { return stop_requested_; }

  // A stream seeded from (seed, name). Calling twice with one name gives two
  // streams with the same sequence; give each component its own name.
  RandomStream Stream(std::string_view name) const { return RandomStream(DeriveSeed(seed_, name)); }

  std::size_t pending_events() const { return queue_.size(); }
  std::uint64_t events_executed() const { return events_executed_; }

 private:
  // The callback pool is handler 0.
  class CallbackPool : public EventHandler {
   public:
    std::uint32_t Add(std::function<void()> fn);
    void Release(std::uint32_t index);
    void OnEvent(std::uint64_t payload) override;

   private:
    std::vector<std::function<void()>> fns_;
    std::vector<std::uint32_t> free_;
  };

  [[noreturn]] void DieInThePast(Time at) const;

  const std::uint64_t seed_;
  Time now_ = 0;
  std::uint64_t events_executed_ = 0;
  bool stop_requested_ = false;
  std::uint32_t poll_every_ = UINT32_MAX;
  std::uint32_t poll_countdown_ = UINT32_MAX;
  std::function<bool()> poll_;
  EventQueue queue_;
  CallbackPool callbacks_;
  std::vector<EventHandler*> handlers_;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_ENGINE_H_
