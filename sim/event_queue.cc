#include "sim/event_queue.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace platsim::sim {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "platsim: event queue invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

EventQueue::EventQueue() {
  capacity_ = 64;
  heap_ = static_cast<Entry*>(::operator new (capacity_ * sizeof(Entry), std::align_val_t{64}));
  // Slot 0 is never handed out, so EventId{} (generation 0) is never valid.
  slots_.push_back(Slot{0, 0, 0});
}

EventQueue::~EventQueue() {
  ::operator delete (heap_, std::align_val_t{64});
}

void EventQueue::Grow() {
  const std::size_t capacity = capacity_ * 2;
  auto* heap = static_cast<Entry*>(::operator new (capacity * sizeof(Entry), std::align_val_t{64}));
  std::memcpy(heap, heap_, end_ * sizeof(Entry));
  ::operator delete (heap_, std::align_val_t{64});
  heap_ = heap;
  capacity_ = capacity;
}

std::uint32_t EventQueue::AllocateSlot() {
  if (free_head_ != 0) {
    // Free slots form a list threaded through their payload fields.
    const std::uint32_t slot = free_head_;
    free_head_ = static_cast<std::uint32_t>(slots_[slot].payload);
    return slot;
  }
  if (slots_.size() > kSlotMask) Die("more than 2^24 events pending");
  slots_.push_back(Slot{0, 0, 1});
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void EventQueue::FreeSlot(std::uint32_t slot) {
  // Generations stay odd (they start at 1 and step by 2, wrapping), so they
  // never equal 0, the generation of EventId{}.
  Slot& s = slots_[slot];
  s.generation += 2;
  s.payload = free_head_;
  free_head_ = slot;
}

EventId EventQueue::Push(Time time, std::uint32_t target, std::uint64_t payload) {
  return PushInSequence(time, next_sequence_++, target, payload);
}

EventId EventQueue::PushInSequence(Time time, std::uint64_t sequence, std::uint32_t target,
                                   std::uint64_t payload) {
  if (time < 0) Die("event scheduled at negative time");
  if (sequence >> (64 - kSlotBits)) Die("more than 2^40 events pushed");
  const std::uint32_t slot = AllocateSlot();
  Slot& s = slots_[slot];
  s.payload = payload;
  s.target = target;
  if (end_ == capacity_) Grow();
  const Entry e{time, (sequence << kSlotBits) | slot};
  SiftUp(end_++, e);
  ++live_;
  return EventId{slot, s.generation};
}

bool EventQueue::IsPending(EventId id) const {
  return id.valid() && id.slot < slots_.size() && slots_[id.slot].generation == id.generation &&
         slots_[id.slot].target != kCancelled;
}

bool EventQueue::Cancel(EventId id) {
  if (!IsPending(id)) return false;
  // The heap entry still names this slot, so the slot is freed only when the
  // entry pops. Bumping the generation now makes the id stale at once.
  Slot& s = slots_[id.slot];
  s.target = kCancelled;
  s.generation += 2;
  --live_;
  return true;
}

Time EventQueue::TopTime() {
  while (end_ > kRoot) {
    const auto slot = static_cast<std::uint32_t>(heap_[kRoot].key & kSlotMask);
    if (slots_[slot].target != kCancelled) return heap_[kRoot].time;
    PopTop();
    FreeSlot(slot);
  }
  return kNever;
}

EventRank EventQueue::TopRank() {
  TopTime();  // discards cancelled tops
  return end_ > kRoot ? Rank(heap_[kRoot]) : kNoEventRank;
}

bool EventQueue::PopBefore(EventRank bound, Event* out) {
  while (end_ > kRoot) {
    const Entry top = heap_[kRoot];
    if (Rank(top) >= bound) return false;
    PopTop();
    const auto slot = static_cast<std::uint32_t>(top.key & kSlotMask);
    const Slot s = slots_[slot];
    FreeSlot(slot);
    if (s.target == kCancelled) continue;
    --live_;
    *out = Event{top.time, s.target, s.payload};
    return true;
  }
  return false;
}

Event EventQueue::Pop() {
  Event e;
  if (!PopUntil(kNever, &e)) Die("Pop on an empty queue");
  return e;
}

void EventQueue::PopTop() {
  const Entry last = heap_[--end_];
  if (end_ > kRoot) SiftDown(kRoot, last);
}

// Both sifts work on local copies of heap_ and end_: stores into the heap
// (64-bit fields) could otherwise alias those members and force reloads.
void EventQueue::SiftUp(std::size_t i, Entry e) {
  Entry* const heap = heap_;
  const Key128 rank = Rank(e);
  while (i > kRoot) {
    const std::size_t parent = (i >> 2) + 2;
    if (rank >= Rank(heap[parent])) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = e;
}

void EventQueue::SiftDown(std::size_t i, Entry e) {
  Entry* const heap = heap_;
  const std::size_t end = end_;
  const Key128 rank = Rank(e);
  for (;;) {
    const std::size_t first = 4 * i - 8;
    if (first >= end) break;
    std::size_t best;
    Key128 best_rank;
    if (first + 4 <= end) {
      // All four children exist (the common case): a tournament of three.
      const Key128 r0 = Rank(heap[first]), r1 = Rank(heap[first + 1]);
      const Key128 r2 = Rank(heap[first + 2]), r3 = Rank(heap[first + 3]);
      const std::size_t a = r1 < r0 ? first + 1 : first;
      const Key128 ra = r1 < r0 ? r1 : r0;
      const std::size_t b = r3 < r2 ? first + 3 : first + 2;
      const Key128 rb = r3 < r2 ? r3 : r2;
      best = rb < ra ? b : a;
      best_rank = rb < ra ? rb : ra;
    } else {
      best = first;
      best_rank = Rank(heap[first]);
      for (std::size_t c = first + 1; c < end; ++c) {
        const Key128 rc = Rank(heap[c]);
        if (rc < best_rank) {
          best = c;
          best_rank = rc;
        }
      }
    }
    if (rank <= best_rank) break;
    heap[i] = heap[best];
    i = best;
  }
  heap[i] = e;
}

}  // namespace platsim::sim
