// The pending-event set of one engine.
//
// Order: events pop in increasing time; events at equal times pop in the
// order they were pushed (FIFO), so a run is a pure function of its inputs.
// The key is (time, sequence number); the sequence number counts pushes.
//
// Structure: a 4-ary min-heap of 16-byte entries laid out so that the four
// children of a node share one 64-byte cache line, plus a slot table that
// holds each event's target and payload. Cancellation is O(1): it marks the
// slot, and the heap entry is discarded when it reaches the top (lazy
// deletion, as ns-3 does). Storage grows geometrically and is reused, so a
// steady-state run allocates nothing per event.
//
//   operation      cost
//   Push           O(log n)
//   Pop            O(log n)
//   Cancel         O(1)
//   TopTime        O(1) amortised (discards cancelled tops)
//
// Limits: 2^24 (16.7 million) events pending at once and 2^40 (1.1 trillion)
// pushes per queue; exceeding either aborts with a message.
#ifndef PLATSIM_SIM_EVENT_QUEUE_H_
#define PLATSIM_SIM_EVENT_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/time.h"

namespace platsim::sim {

// Identifies a scheduled event for cancellation. Default-constructed: refers
// to no event. Stays safe to use after the event ran or was cancelled (the
// generation no longer matches and Cancel returns false).
struct EventId {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;
  std::uint32_t queue = 0;  // which of an engine's queues (sim/engine.h); 0 for a lone queue
  bool valid() const { return generation != 0; }
};

// A part of the world whose events an engine may run ahead of the others'
// (sim/engine.h); 0: the global partition.
using Partition = std::uint32_t;

// An event's place in the order of events, (time, sequence number), as one
// number: an engine with several queues compares their tops by it.
__extension__ using EventRank = unsigned __int128;
inline constexpr EventRank kNoEventRank = ~EventRank{0};  // after every event

// What pops out: when, to whom, and an opaque payload the target decodes.
struct Event {
  Time time;
  std::uint32_t target;
  std::uint64_t payload;
};

class EventQueue {
 public:
  EventQueue();
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Schedules an event. REQUIRES: time >= 0.
  EventId Push(Time time, std::uint32_t target, std::uint64_t payload);
  // The same with a sequence number the caller counts (one counter over
  // several queues, so that their events have one order). REQUIRES:
  // sequence numbers increase over the pushes of this queue.
  EventId PushInSequence(Time time, std::uint64_t sequence, std::uint32_t target,
                         std::uint64_t payload);

  // Cancels a pending event. Returns false (and does nothing) if the event has
  // already popped or been cancelled.
  bool Cancel(EventId id);

  // True if the event is still pending.
  bool IsPending(EventId id) const;

  // Number of pending (not cancelled) events.
  std::size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }

  // Time of the earliest pending event, or kNever if none.
  Time TopTime();
  // Rank of the earliest pending event, or kNoEventRank if none.
  EventRank TopRank();

  // Removes and returns the earliest pending event. REQUIRES: !empty().
  Event Pop();

  // If the earliest pending event is at or before `until`, removes it into
  // `out` and returns true; otherwise returns false. One pass: the engine's
  // main loop.
  bool PopUntil(Time until, Event* out) { return PopBefore(RankAfter(until), out); }
  // The same for the earliest event ranked before `bound`.
  bool PopBefore(EventRank bound, Event* out);
  // A rank after every event at or before `t`, and before any after it.
  static EventRank RankAfter(Time t) {
    return static_cast<EventRank>(static_cast<std::uint64_t>(t)) << 64 | ~std::uint64_t{0};
  }

  // Target of the earliest entry (perhaps a cancelled one: then, or when
  // empty, a value no target has), for prefetching what it will touch.
  std::uint32_t TopTargetHint() const {
    return end_ > kRoot ? slots_[heap_[kRoot].key & kSlotMask].target : kCancelled;
  }

  // Target of a pending event. REQUIRES: IsPending(id).
  std::uint32_t TargetOf(EventId id) const { return slots_[id.slot].target; }
  std::uint64_t PayloadOf(EventId id) const { return slots_[id.slot].payload; }

 private:
  struct Entry {
    Time time;
    std::uint64_t key;  // sequence << kSlotBits | slot
  };
  struct Slot {
    std::uint64_t payload;
    std::uint32_t target;
    std::uint32_t generation;  // odd: free or pending; bumped on pop and cancel
  };
  static constexpr int kSlotBits = 24;
  static constexpr std::uint64_t kSlotMask = (1ULL << kSlotBits) - 1;
  static constexpr std::uint32_t kCancelled = 0xffffffffu;
  // The root sits at index kRoot so that children 4i-8 .. 4i-5 start on a
  // multiple of four entries (one cache line).
  static constexpr std::size_t kRoot = 3;

  // (time, key) as one 128-bit unsigned number: times are never negative, so
  // this is the lexicographic order, compared without branches.
  using Key128 = EventRank;
  static Key128 Rank(const Entry& e) {
    return static_cast<Key128>(static_cast<std::uint64_t>(e.time)) << 64 | e.key;
  }
  static bool Less(const Entry& a, const Entry& b) { return Rank(a) < Rank(b); }
  void Grow();
  void SiftUp(std::size_t i, Entry e);
  void SiftDown(std::size_t i, Entry e);
  void PopTop();  // removes heap_[kRoot] without looking at its slot
  std::uint32_t AllocateSlot();
  void FreeSlot(std::uint32_t slot);

  Entry* heap_ = nullptr;     // 64-byte aligned; valid entries [kRoot, end_)
  std::size_t end_ = kRoot;   // one past the last heap entry
  std::size_t capacity_ = 0;  // entries allocated
  std::vector<Slot> slots_;
  std::uint32_t free_head_ = 0;  // first free slot; 0 (never handed out): none
  std::uint64_t next_sequence_ = 0;
  std::size_t live_ = 0;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_EVENT_QUEUE_H_
