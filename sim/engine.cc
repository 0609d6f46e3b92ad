#include "sim/engine.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace platsim::sim {
namespace {

template <typename Heap, typename Listing>
void PushListing(Heap& heap, Listing listing) {
  heap.push_back(listing);
  std::push_heap(heap.begin(), heap.end(), std::greater<>());
}

template <typename Heap>
void PopListing(Heap& heap) {
  std::pop_heap(heap.begin(), heap.end(), std::greater<>());
  heap.pop_back();
}

}  // namespace

thread_local Engine::Lane* Engine::lane_ = nullptr;

Engine::Engine(std::uint64_t seed) : seed_(seed) {
  lanes_.push_back(std::make_unique<Lane>());
  queues_.push_back(std::make_unique<EventQueue>());
  pins_.push_back(0);
  elsewhere_.push_back(0);
  listed_.push_back(kNoEventRank);
  handlers_.push_back({&callbacks_, 0});
}

Engine::~Engine() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
  }
  start_.notify_all();
  for (std::thread& t : workers_)
    t.join();
}

void Engine::SetThreads(int threads) {
  if (threads < 1) threads = 1;
  const std::lock_guard<std::mutex> lock(mutex_);
  while (static_cast<int>(lanes_.size()) < threads) {
    lanes_.push_back(std::make_unique<Lane>());
    workers_.emplace_back(&Engine::Worker, this, lanes_.back().get(), round_);
  }
}

HandlerId Engine::AddHandler(EventHandler* handler) {
  if (parallel_) DieAcross(0, lane_->now);
  handlers_.push_back({handler, registering_});
  return static_cast<HandlerId>(handlers_.size() - 1);
}

Partition Engine::AddPartition() {
  if (parallel_) DieAcross(0, lane_->now);
  queues_.push_back(std::make_unique<EventQueue>());
  pins_.push_back(0);
  elsewhere_.push_back(0);
  listed_.push_back(kNoEventRank);
  return static_cast<Partition>(queues_.size() - 1);
}

void Engine::List(Partition p) {
  if (elsewhere_[p]) return;
  const EventRank rank = queues_[p]->TopRank();
  if (rank == listed_[p]) return;
  listed_[p] = rank;
  if (rank != kNoEventRank) PushListing(pinned(p) ? pinned_ : unpinned_, Listing{rank, p});
}

void Engine::Pin(Partition p) {
  if (p == 0) return;
  if (ranked_) DiePinnedOnRanks(p);
  if (running_ != 0 || parallel_) DieAcross(p, Now());
  if (pins_[p]++ == 0 && !all_pinned_) {
    listed_[p] = kNoEventRank;  // its unpinned listing goes stale
    List(p);
  }
}

void Engine::Unpin(Partition p) {
  if (p == 0 || pins_[p] == 0) return;
  if (running_ != 0 || parallel_) DieAcross(p, Now());
  if (--pins_[p] == 0 && !all_pinned_) {
    listed_[p] = kNoEventRank;
    List(p);
  }
}

void Engine::PinAll() {
  if (running_ != 0 || parallel_) DieAcross(0, Now());
  if (ranked_) DiePinnedOnRanks(0);
  all_pinned_ = true;
  for (Partition p = 1; p < queues_.size(); ++p) {
    listed_[p] = kNoEventRank;
    List(p);
  }
  unpinned_.clear();
}

std::size_t Engine::pending_events() const {
  std::size_t n = 0;
  for (const auto& q : queues_)
    n += q->size();
  return n;
}

void Engine::DieInThePast(Time at) const {
  std::fprintf(stderr,
               "platsim: engine invariant broken at t=%" PRId64
               "ns: event scheduled in the past "
               "(t=%" PRId64 "ns)\n",
               Now(), at);
  std::abort();
}

void Engine::RunElsewhere(Partition p) {
  if (p == 0) return;
  elsewhere_[p] = 1;
  // Never listed again: an event scheduled for it finds it listed earlier.
  listed_[p] = 0;
}

void Engine::SetExchange(Time lookahead, std::function<bool()> active,
                         std::function<bool()> exchange) {
  lookahead_ = lookahead;
  exchange_active_ = std::move(active);
  exchange_ = std::move(exchange);
}

void Engine::DieBeforeFrontier(Partition p, Time at) const {
  std::fprintf(stderr,
               "platsim: engine invariant broken at t=%" PRId64
               "ns: a global event scheduled an event of partition %u at t=%" PRId64
               "ns, where it has run to t=%" PRId64
               "ns on its rank (a reaction quicker than "
               "the ranks' lookahead)\n",
               Now(), p, at, frontier_);
  std::abort();
}

void Engine::DiePinnedOnRanks(Partition p) const {
  std::fprintf(stderr,
               "platsim: at t=%" PRId64
               "ns partition %u was to run in the global order (a server draining, a "
               "queue-proxy, a trace, or Services that come to share pods); a run on ranks "
               "does not support that yet\n",
               Now(), p);
  std::abort();
}

void Engine::DieAcross(Partition to, Time at) const {
  std::fprintf(stderr,
               "platsim: engine invariant broken at t=%" PRId64
               "ns: partition %u, running ahead of the global order, reached partition %u "
               "at t=%" PRId64 "ns (only the global order may reach another partition)\n",
               Now(), parallel_ ? lane_->running : running_, to, at);
  std::abort();
}

EventId Engine::ScheduleElsewhere(Time at, HandlerId handler, std::uint64_t payload) {
  if (at < now_) DieInThePast(at);
  const Partition p = handlers_[handler].partition;
  // A partition running ahead schedules its own events only: one for
  // another partition would take its place in the global order (its
  // sequence number) by where the partitions happen to have run to, not
  // by the order of the events that scheduled them.
  if (running_ != 0) DieAcross(p, at);
  if (ranked_ && p != 0 && at < frontier_) DieBeforeFrontier(p, at);
  const std::uint64_t sequence = next_sequence_++;
  EventId id = queues_[p]->PushInSequence(at, sequence, handler, payload);
  id.queue = p;
  // A partition is listed by its earliest event: this one, if earlier.
  const EventRank rank =
      static_cast<EventRank>(static_cast<std::uint64_t>(at)) << 64 | (sequence << 24 | id.slot);
  if (p != 0 && rank < listed_[p]) {
    listed_[p] = rank;
    PushListing(pinned(p) ? pinned_ : unpinned_, Listing{rank, p});
  }
  return id;
}

EventId Engine::ScheduleInLane(Time at, HandlerId handler, std::uint64_t payload) {
  Lane& lane = *lane_;
  if (at < lane.now) DieInThePast(at);
  const Partition p = handlers_[handler].partition;
  if (p != lane.running) DieAcross(p, at);
  EventId id = queues_[p]->PushInSequence(at, lane.next_sequence++, handler, payload);
  id.queue = p;
  return id;
}

EventId Engine::ScheduleCallbackAt(Time at, std::function<void()> fn) {
  if (parallel_) DieAcross(0, at);  // callbacks are the global partition's
  if (at < now_) DieInThePast(at);
  return ScheduleAt(at, 0, callbacks_.Add(std::move(fn)));
}

bool Engine::Cancel(EventId id) {
  if (!id.valid()) return false;
  // Running ahead, only its own events, pending or not: another partition's
  // queue may be running on another thread.
  if (parallel_ && id.queue != lane_->running) DieAcross(id.queue, lane_->now);
  if (running_ != 0 && id.queue != running_) DieAcross(id.queue, now_);
  if (!IsPending(id)) return false;
  EventQueue& q = *queues_[id.queue];
  const bool is_callback = q.TargetOf(id) == 0;
  const std::uint64_t payload = q.PayloadOf(id);
  q.Cancel(id);
  if (is_callback) callbacks_.Release(static_cast<std::uint32_t>(payload));
  return true;
}

void Engine::SetPoll(std::uint32_t every, std::function<bool()> poll) {
  poll_every_ = every;
  poll_countdown_ = every;
  poll_ = std::move(poll);
}

bool Engine::Dispatch(const Event& e) {
  now_ = e.time;
  ++events_executed_;
  handlers_[e.target].handler->OnEvent(e.payload);
  if (--poll_countdown_ == 0) {
    poll_countdown_ = poll_every_;
    if (poll_ && poll_()) stop_requested_ = true;
  }
  return stop_requested_;
}

EventRank Engine::NextGlobal(Partition* from) {
  EventRank next = queues_[0]->TopRank();
  *from = 0;
  while (!pinned_.empty()) {
    const Listing top = pinned_.front();
    if (listed_[top.partition] != top.rank || !pinned(top.partition)) {
      PopListing(pinned_);  // stale
      continue;
    }
    // A listing can be early (its event was cancelled): list it again.
    const EventRank rank = queues_[top.partition]->TopRank();
    if (rank != top.rank) {
      PopListing(pinned_);
      listed_[top.partition] = kNoEventRank;
      List(top.partition);
      continue;
    }
    if (rank < next) {
      next = rank;
      *from = top.partition;
    }
    break;
  }
  return next;
}

Time Engine::ProgressTime() const {
  if (catch_up_total_ == 0) return now_;
  const double done = static_cast<double>(std::min(catch_up_done_, catch_up_total_)) /
                      static_cast<double>(catch_up_total_);
  return catch_up_from_ +
         static_cast<Time>(static_cast<double>(catch_up_to_ - catch_up_from_) * done);
}

void Engine::RunStretch(Lane& lane, Partition p) {
  EventQueue& q = *queues_[p];
  lane.running = p;
  lane.next_sequence = jobs_base_;
  Event e;
  while (q.PopBefore(jobs_bound_, &e)) {
    const std::uint32_t next = q.TopTargetHint();
    if (next < handlers_.size()) __builtin_prefetch(handlers_[next].handler);
    lane.now = e.time;
    ++lane.events;
    handlers_[e.target].handler->OnEvent(e.payload);
  }
  lane.running = 0;
  lane.high_sequence = std::max(lane.high_sequence, lane.next_sequence);
  lane.latest = std::max(lane.latest, lane.now);
}

void Engine::RunJobs(Lane& lane) {
  lane_ = &lane;
  for (;;) {
    const std::size_t i = next_job_.fetch_add(1, std::memory_order_relaxed);
    if (i >= jobs_.size()) break;
    lane.now = now_;
    RunStretch(lane, jobs_[i]);
  }
  lane_ = nullptr;
}

void Engine::Worker(Lane* lane, std::uint64_t seen) {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return shutdown_ || round_ != seen; });
      if (shutdown_) return;
      seen = round_;
    }
    RunJobs(*lane);
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

bool Engine::CatchUp(EventRank bound) {
  if (unpinned_.empty() || unpinned_.front().rank >= bound) return true;
  // The partitions with events before `bound`; none can add to another's.
  jobs_.clear();
  while (!unpinned_.empty() && unpinned_.front().rank < bound) {
    const Listing top = unpinned_.front();
    PopListing(unpinned_);
    const Partition p = top.partition;
    if (listed_[p] != top.rank || pinned(p)) continue;  // stale
    listed_[p] = kNoEventRank;
    jobs_.push_back(p);
  }
  // Every stretch numbers its events from here, so that their ranks do not
  // depend on which ran first.
  jobs_base_ = next_sequence_;
  jobs_bound_ = bound;
  std::uint64_t high = jobs_base_;
  bool stop = false;
  if (workers_.empty() || jobs_.size() < 2) {
    catch_up_from_ = now_;
    catch_up_to_ = static_cast<Time>(bound >> 64);
    catch_up_total_ = jobs_.size();
    catch_up_done_ = 0;
    for (const Partition p : jobs_) {
      running_ = p;
      next_sequence_ = jobs_base_;
      EventQueue& q = *queues_[p];
      Event e;
      const std::uint64_t before = events_executed_;
      while (!stop && q.PopBefore(bound, &e)) {
        // The partition's next event is likely its next handler's: start
        // fetching it while this one runs.
        const std::uint32_t next = q.TopTargetHint();
        if (next < handlers_.size()) __builtin_prefetch(handlers_[next].handler);
        stop = Dispatch(e);
      }
      running_ = 0;
      high = std::max(high, next_sequence_);
      events_run_ahead_ += events_executed_ - before;
      latest_ = std::max(latest_, now_);
      ++catch_up_done_;
      if (stop) break;
    }
    catch_up_total_ = 0;
  } else {
    next_job_.store(0, std::memory_order_relaxed);
    for (auto& lane : lanes_) {
      lane->high_sequence = jobs_base_;
      lane->events = 0;
      lane->latest = now_;
    }
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      parallel_ = true;
      busy_ = static_cast<int>(workers_.size());
      ++round_;
    }
    start_.notify_all();
    RunJobs(*lanes_[0]);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return busy_ == 0; });
      parallel_ = false;
    }
    std::uint64_t events = 0;
    for (const auto& lane : lanes_) {
      high = std::max(high, lane->high_sequence);
      events += lane->events;
      latest_ = std::max(latest_, lane->latest);
    }
    events_executed_ += events;
    events_run_ahead_ += events;
    // The poll, as often as the events would have called it.
    if (events >= poll_countdown_) {
      poll_countdown_ = poll_every_;
      if (poll_ && poll_()) stop = true;
    } else {
      poll_countdown_ -= static_cast<std::uint32_t>(events);
    }
    if (stop) stop_requested_ = true;
  }
  next_sequence_ = high;
  for (const Partition p : jobs_)
    List(p);
  if (stop) {
    // Stopped part way (an incomplete run): the clock at the latest time
    // any partition reached, so that nothing reads a time before its own.
    now_ = latest_;
    return false;
  }
  return true;
}

void Engine::RunUntil(Time until) {
  stop_requested_ = false;
  EventQueue& global = *queues_[0];
  const EventRank end = EventQueue::RankAfter(until);
  Event e;
  for (;;) {
    if (!ranked_ && unpinned_.empty() && pinned_.empty()) {
      // Only the global queue holds events: one queue, as simple as that.
      if (!global.PopUntil(until, &e)) break;
      const std::uint32_t next = global.TopTargetHint();
      if (next < handlers_.size()) __builtin_prefetch(handlers_[next].handler);
      if (Dispatch(e)) return;
      continue;
    }
    Partition from = 0;
    const EventRank next = NextGlobal(&from);
    EventRank bound = std::min(next, end);
    // Ranks: while partitions may tell the global order something, they
    // run at most the lookahead past their last catch-up, and what they
    // told comes in as global events (no earlier than the catch-up began).
    const bool exchanging = ranked_ && exchange_active_ && exchange_active_();
    if (exchanging) {
      bound = std::min(
          bound, static_cast<EventRank>(static_cast<std::uint64_t>(SatAdd(frontier_, lookahead_)))
                     << 64);
    }
    const Time global_now = now_;
    if (!CatchUp(bound)) return;
    if (ranked_) frontier_ = std::max(frontier_, static_cast<Time>(bound >> 64));
    if (exchanging) {
      // The global order's clock (a stretch on this thread moved it).
      now_ = global_now;
      if (exchange_() || bound < std::min(next, end)) continue;
    }
    if (next > end) break;
    if (from != 0) {
      // The pinned partition is listed by this event: it goes stale.
      listed_[from] = kNoEventRank;
    }
    queues_[from]->PopBefore(kNoEventRank, &e);
    const bool stop = Dispatch(e);
    if (from != 0) List(from);
    if (stop) return;
  }
  // The partitions' latest event may be later than the global order's.
  now_ = std::max(now_, latest_);
  if (until != kNever && until > now_) now_ = until;
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
