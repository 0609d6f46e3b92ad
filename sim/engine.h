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
//
// Partitions (locality at scale). A handler belongs to a partition, by
// default 0, the global one. The handlers of a partition other than 0 are a
// part of the world that no other part reads or writes while it runs: one
// Service's client, proxy and model servers, say. Such a partition's events
// need not interleave with those of other partitions, only with the global
// order, so the engine runs each one on its own up to the next event of the
// global order, with its state hot in the caches, instead of hopping between
// partitions event by event. The contract:
// - A global event (partition 0, or a pinned partition's) runs only after
//   every event of every partition ranked before it, and before any ranked
//   after it: it may read and write anything, as in a one-queue engine.
// - An event of an unpinned partition touches only its partition's state
//   and schedules (and cancels) events of its own partition only; one for
//   any other partition, the global one included, aborts the run.
// - A partition whose events are about to touch more than its own state
//   (a server draining towards a kubelet's callback, a proxy balancing over
//   another partition's pods) is pinned, from a global event: its events
//   then run in the global order, exactly as if it were partition 0.
// Within a partition and within the global order, events keep the order of
// a one-queue engine, so a run's results do not depend on partitioning.
//
// Threads. Between two global events the unpinned partitions are
// independent, so SetThreads(n) runs them on n threads (this one and n - 1
// workers), each partition on one thread from start to end of its stretch.
// The events a partition schedules while it runs ahead are numbered from
// the global counter's value when the stretch began, partition by
// partition, so every event's rank, and so every run, is the same on any
// number of threads. Handlers of unpinned partitions must then touch
// nothing that another partition's handlers touch (the data plane keeps
// such state per partition).
#ifndef PLATSIM_SIM_ENGINE_H_
#define PLATSIM_SIM_ENGINE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
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
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The current time: of the event running on this thread.
  Time Now() const {
    if (__builtin_expect(parallel_, false)) return LaneNow();
    return now_;
  }

  // Runs the unpinned partitions' stretches on `threads` threads, this one
  // included (1, the default: one after another). Before running.
  void SetThreads(int threads);
  int threads() const { return static_cast<int>(lanes_.size()); }
  std::uint64_t seed() const { return seed_; }

  // Registers a handler, in the partition a PartitionScope names (0 outside
  // any). The engine borrows it: REQUIRES it outlive every event scheduled
  // for it.
  HandlerId AddHandler(EventHandler* handler);

  // A new partition, empty and unpinned (pinned if PinAll was called).
  Partition AddPartition();
  // Partitions so far, the global one included.
  std::size_t partitions() const { return queues_.size(); }
  // Handlers registered while a scope lives go into `partition`.
  class PartitionScope {
   public:
    PartitionScope(Engine& engine, Partition partition)
        : engine_(engine), outer_(engine.registering_) {
      engine.registering_ = partition;
    }
    ~PartitionScope() { engine_.registering_ = outer_; }
    PartitionScope(const PartitionScope&) = delete;
    PartitionScope& operator=(const PartitionScope&) = delete;

   private:
    Engine& engine_;
    const Partition outer_;
  };
  // Pins `partition` (counted: pinned until as many Unpin calls). From a
  // global event or before running. Partition 0 is always global.
  void Pin(Partition partition);
  void Unpin(Partition partition);
  // Pins every partition, now and to come, for good: one global order.
  void PinAll();
  bool pinned(Partition partition) const {
    return partition == 0 || all_pinned_ || pins_[partition] > 0;
  }

  // Ranks (platsim-mpi): this engine is one of several processes that
  // each run every global event, the same ones in the same order, and the
  // stretches of the partitions they own. Nothing else is shared: the
  // events a global event schedules are numbered after every stretch this
  // rank ran before it, which orders them against this rank's partitions
  // as one engine of all partitions would (another rank's partitions are
  // never compared with them). Pinning a partition aborts: its events would
  // join the global order on one rank only. Before running.
  void SetRanked() { ranked_ = true; }
  // Ranks: what partitions tell the global order. While `active()` (the
  // same on every rank), the partitions run at most `lookahead` past where
  // they last caught up, and after each catch-up `exchange()`, a collective
  // call, delivers what they told as global events at their times (none
  // before the catch-up began); it returns whether it scheduled any. A
  // global event scheduling a partition's event before where the partitions
  // have run to aborts: the lookahead was shorter than the reaction.
  // REQUIRES: lookahead > 0.
  void SetExchange(Time lookahead, std::function<bool()> active, std::function<bool()> exchange);
  // Partition `p` runs on another rank: its events are kept, never run.
  void RunElsewhere(Partition p);
  // The global order's events so far (the same on every rank).
  std::uint64_t global_events() const { return events_executed_ - events_run_ahead_; }

  // Schedules an event for `handler` at absolute time `at`.
  // REQUIRES: at >= Now(), handler returned by AddHandler.
  EventId ScheduleAt(Time at, HandlerId handler, std::uint64_t payload) {
    if (__builtin_expect(parallel_, false)) return ScheduleInLane(at, handler, payload);
    // The common case inline: an event for the partition whose event runs.
    const Partition p = handlers_[handler].partition;
    if (at < now_ || p != running_) return ScheduleElsewhere(at, handler, payload);
    EventId id = queues_[p]->PushInSequence(at, next_sequence_++, handler, payload);
    id.queue = p;
    return id;
  }
  // `delay` from now, saturating: a delay past kNever is scheduled at kNever,
  // which no run reaches (runs end by kMaxDuration). REQUIRES: delay >= 0.
  EventId ScheduleAfter(Time delay, HandlerId handler, std::uint64_t payload) {
    return ScheduleAt(SatAdd(Now(), delay), handler, payload);
  }

  // Schedules `fn` to run at `at`. REQUIRES: at >= Now().
  EventId ScheduleCallbackAt(Time at, std::function<void()> fn);
  EventId ScheduleCallbackAfter(Time delay, std::function<void()> fn) {
    return ScheduleCallbackAt(SatAdd(Now(), delay), std::move(fn));
  }

  // Cancels a pending event in O(1). Returns false if it already ran or was
  // cancelled, or for a default EventId. A cancelled callback is destroyed
  // at once. From a partition running ahead: its own events only.
  bool Cancel(EventId id);
  bool IsPending(EventId id) const {
    return id.queue < queues_.size() && queues_[id.queue]->IsPending(id);
  }

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

  std::size_t pending_events() const;
  // How far the run has got, for a progress line: Now(), or while the
  // partitions catch up with the global order, a time between the global
  // order's last event and where they run to, by the share of them done.
  Time ProgressTime() const;
  std::uint64_t events_executed() const { return events_executed_; }
  // Of those, the events partitions ran ahead of the global order.
  std::uint64_t events_run_ahead() const { return events_run_ahead_; }

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

  struct Handler {
    EventHandler* handler;
    Partition partition;
  };
  // A partition waiting to run, by the rank of its earliest event. A
  // partition has at most one listing that counts, the one listed_ holds;
  // the others are stale and skipped.
  struct Listing {
    EventRank rank;
    Partition partition;
    bool operator>(const Listing& o) const { return rank > o.rank; }
  };
  using ListingHeap = std::vector<Listing>;  // a min-heap (std::push_heap, greater)

  [[noreturn]] void DieInThePast(Time at) const;
  [[noreturn]] void DieAcross(Partition to, Time at) const;
  [[noreturn]] void DiePinnedOnRanks(Partition p) const;
  [[noreturn]] void DieBeforeFrontier(Partition p, Time at) const;
  // What runs one partition's stretch on a thread of a parallel catch-up:
  // its clock, its partition and the next sequence number it gives.
  struct alignas(64) Lane {  // its own cache lines
    Time now = 0;
    Partition running = 0;
    std::uint64_t next_sequence = 0;
    std::uint64_t high_sequence = 0;  // the most any of its stretches reached
    std::uint64_t events = 0;
    Time latest = 0;
  };
  // The lane of this thread while a parallel catch-up runs.
  static thread_local Lane* lane_;
  [[gnu::noinline]] static Time LaneNow() { return lane_->now; }
  // ScheduleAt from an event of a parallel catch-up.
  EventId ScheduleInLane(Time at, HandlerId handler, std::uint64_t payload);
  // Runs partition `p`'s events ranked before jobs_bound_ on `lane`.
  void RunStretch(Lane& lane, Partition p);
  // Runs the stretches of jobs_ on the lanes, this thread included.
  void RunJobs(Lane& lane);
  // A worker thread: runs the rounds after `seen` (round_ when it started).
  void Worker(Lane* lane, std::uint64_t seen);
  // ScheduleAt for another partition than the running one's (or in the past).
  EventId ScheduleElsewhere(Time at, HandlerId handler, std::uint64_t payload);
  // Lists `p` by its earliest event, in the heap of its pin state.
  void List(Partition p);
  // The earliest event of the global order (the global queue's and the
  // pinned partitions'), and its partition.
  EventRank NextGlobal(Partition* from);
  // Runs every unpinned partition's events ranked before `bound`, partition
  // by partition. False if the run was stopped.
  bool CatchUp(EventRank bound);
  // Runs one event; true if the run is to stop.
  bool Dispatch(const Event& e);

  const std::uint64_t seed_;
  Time now_ = 0;
  std::uint64_t events_executed_ = 0;
  std::uint64_t events_run_ahead_ = 0;
  bool stop_requested_ = false;
  std::uint32_t poll_every_ = UINT32_MAX;
  std::uint32_t poll_countdown_ = UINT32_MAX;
  std::function<bool()> poll_;
  std::uint64_t next_sequence_ = 0;  // over every queue
  bool ranked_ = false;              // one rank of several (SetRanked)
  Time lookahead_ = 0;               // SetExchange's
  std::function<bool()> exchange_active_, exchange_;
  Time frontier_ = 0;                    // with ranks: every partition event before it has run
  std::vector<std::uint8_t> elsewhere_;  // by partition: run on another rank
  // Queue p holds partition p's events; queues_[0] the global partition's.
  std::vector<std::unique_ptr<EventQueue>> queues_;
  CallbackPool callbacks_;
  std::vector<Handler> handlers_;
  Partition registering_ = 0;
  std::vector<std::uint32_t> pins_;  // by partition
  bool all_pinned_ = false;
  std::vector<EventRank> listed_;  // by partition: its listing's rank, or kNoEventRank
  ListingHeap unpinned_, pinned_;
  Partition running_ = 0;  // the unpinned partition running ahead, or 0
  Time latest_ = 0;        // of the events the partitions ran ahead
  // The catch-up under way: from when, to when, partitions to run and run.
  Time catch_up_from_ = 0, catch_up_to_ = 0;
  std::size_t catch_up_total_ = 0, catch_up_done_ = 0;
  // Threads: a lane per thread (lanes_[0] this one's), the workers, and the
  // catch-up they share: its partitions, bound and first sequence number.
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::thread> workers_;
  bool parallel_ = false;  // a parallel catch-up runs
  std::vector<Partition> jobs_;
  EventRank jobs_bound_ = 0;
  std::uint64_t jobs_base_ = 0;
  std::atomic<std::size_t> next_job_{0};
  std::mutex mutex_;
  std::condition_variable start_, done_;
  std::uint64_t round_ = 0;  // catch-ups started, under mutex_
  int busy_ = 0;             // workers still running this round, under mutex_
  bool shutdown_ = false;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_ENGINE_H_
