#include "sim/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace platsim::sim {
namespace {

struct Log : EventHandler {
  Engine* engine = nullptr;
  std::vector<std::pair<Time, std::uint64_t>> seen;
  void OnEvent(std::uint64_t payload) override { seen.emplace_back(engine->Now(), payload); }
};

TEST(Engine, RunsHandlersInTimeOrderAndAdvancesTheClock) {
  Engine engine(1);
  Log log;
  log.engine = &engine;
  const HandlerId h = engine.AddHandler(&log);
  engine.ScheduleAt(30, h, 3);
  engine.ScheduleAt(10, h, 1);
  engine.ScheduleAt(20, h, 2);
  engine.Run();
  ASSERT_EQ(log.seen.size(), 3u);
  EXPECT_EQ(log.seen[0], std::make_pair(Time{10}, std::uint64_t{1}));
  EXPECT_EQ(log.seen[2], std::make_pair(Time{30}, std::uint64_t{3}));
  EXPECT_EQ(engine.Now(), 30);
  EXPECT_EQ(engine.events_executed(), 3u);
}

TEST(Engine, RunUntilStopsAtTheBoundaryAndSetsTheClockToIt) {
  Engine engine(1);
  std::vector<Time> fired;
  for (Time t : {5, 10, 15})
    engine.ScheduleCallbackAt(t, [&] { fired.push_back(engine.Now()); });
  engine.RunUntil(10);
  EXPECT_EQ(fired, (std::vector<Time>{5, 10})) << "events at exactly `until` run";
  EXPECT_EQ(engine.Now(), 10);
  engine.RunUntil(12);
  EXPECT_EQ(engine.Now(), 12) << "clock moves to `until` even without events";
  engine.Run();
  EXPECT_EQ(fired.back(), 15);
}

TEST(Engine, EventScheduledForNowRunsAfterThoseAlreadyPending) {
  Engine engine(1);
  std::string order;
  engine.ScheduleCallbackAt(5, [&] {
    order += 'a';
    engine.ScheduleCallbackAfter(0, [&] { order += 'c'; });
  });
  engine.ScheduleCallbackAt(5, [&] { order += 'b'; });
  engine.Run();
  EXPECT_EQ(order, "abc");
}

TEST(Engine, CancelledCallbackNeverRuns) {
  Engine engine(1);
  int runs = 0;
  const EventId id = engine.ScheduleCallbackAt(5, [&] { ++runs; });
  engine.ScheduleCallbackAt(6, [&] { ++runs; });
  EXPECT_TRUE(engine.Cancel(id));
  EXPECT_FALSE(engine.Cancel(id));
  engine.Run();
  EXPECT_EQ(runs, 1);
}

TEST(Engine, StopReturnsAfterTheCurrentEvent) {
  Engine engine(1);
  int runs = 0;
  engine.ScheduleCallbackAt(1, [&] {
    ++runs;
    engine.Stop();
  });
  engine.ScheduleCallbackAt(2, [&] { ++runs; });
  engine.Run();
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(engine.Now(), 1);
  engine.Run();
  EXPECT_EQ(runs, 2);
}

TEST(Engine, NamedStreamsDependOnSeedAndNameOnly) {
  Engine a(42);
  Engine b(42);
  Engine c(43);
  RandomStream a1 = a.Stream("arrivals");
  RandomStream b1 = b.Stream("arrivals");
  RandomStream a2 = a.Stream("service");
  RandomStream c1 = c.Stream("arrivals");
  const std::uint64_t x = a1.NextU64();
  EXPECT_EQ(x, b1.NextU64());
  EXPECT_NE(x, a2.NextU64());
  EXPECT_NE(x, c1.NextU64());
}

TEST(EngineDeathTest, SchedulingInThePastAbortsNamingTheTime) {
  Engine engine(1);
  engine.RunUntil(100);
  EXPECT_DEATH(engine.ScheduleCallbackAt(50, [] {}), "t=100ns.*in the past");
}

TEST(Engine, PollsEveryNEventsAndStopsWhenThePollSaysSo) {
  Engine engine(1);
  for (Time t = 1; t <= 100; ++t)
    engine.ScheduleCallbackAt(t, [] {});
  std::vector<std::uint64_t> polled_at;
  engine.SetPoll(10, [&] {
    polled_at.push_back(engine.events_executed());
    return engine.events_executed() == 30;
  });
  engine.RunUntil(1000);
  EXPECT_EQ(polled_at, (std::vector<std::uint64_t>{10, 20, 30}));
  EXPECT_TRUE(engine.stopped());
  EXPECT_EQ(engine.Now(), 30) << "the clock stays at the last event run";
  engine.RunUntil(1000);
  EXPECT_FALSE(engine.stopped());
  EXPECT_EQ(engine.events_executed(), 100u);
  EXPECT_EQ(engine.Now(), 1000);
}

TEST(Engine, DelaysPastNeverSaturateAtNever) {
  Engine engine(1);
  engine.ScheduleCallbackAt(kMaxDuration, [] {});
  engine.Run();
  bool ran = false;
  const EventId id = engine.ScheduleCallbackAfter(kNever, [&] { ran = true; });
  EXPECT_TRUE(engine.IsPending(id));
  engine.RunUntil(kMaxDuration + kHour);
  EXPECT_FALSE(ran);
  EXPECT_EQ(SatAdd(kNever - 5, 10), kNever);
  EXPECT_EQ(SatAdd(5, 10), 15);
}

// A world of partitions for comparing a partitioned engine with the plain
// one-queue engine (every handler in partition 0, where pins do nothing).
// Every choice an event makes comes from its payload alone, so both engines
// build the same tree of events whatever order they run them in.
class PartitionWorld {
 public:
  static constexpr int kPartitions = 6;
  static constexpr int kHandlersPerPartition = 3;
  static constexpr int kGlobalHandlers = 2;
  static constexpr Time kEnd = 20000;

  // `threads`: what the partitioned engine runs stretches on; `pins`:
  // whether global events pin partitions (ranks cannot).
  explicit PartitionWorld(bool one_order, int threads = 1, bool pins = true)
      : engine_(7), pin_(pins) {
    engine_.SetThreads(threads);
    for (int g = 0; g < kGlobalHandlers; ++g)
      global_.push_back(Add(0));
    for (int p = 1; p <= kPartitions; ++p) {
      const Partition partition = one_order ? 0 : engine_.AddPartition();
      EXPECT_EQ(partition, one_order ? 0 : static_cast<Partition>(p));
      Engine::PartitionScope scope(engine_, partition);
      for (int h = 0; h < kHandlersPerPartition; ++h)
        handlers_[p].push_back(Add(static_cast<Partition>(p)));
    }
    one_order_ = one_order;
    ran_.assign(kPartitions + 1, 0);
    pins_.assign(kPartitions + 1, 0);
    for (std::uint64_t i = 0; i < 24; ++i) {
      const std::uint64_t x = Mix(i + 1);
      const int p = static_cast<int>(x % (kPartitions + 1));
      const HandlerId h =
          p == 0 ? global_[x / 7 % kGlobalHandlers] : handlers_[p][x / 7 % kHandlersPerPartition];
      engine_.ScheduleAt(static_cast<Time>(x / 97 % 50), h, x);
    }
  }

  void Run() {
    for (const Time until : {Time{0}, Time{300}, Time{301}, Time{9000}, kEnd + 500})
      engine_.RunUntil(until);
  }

  // What each partition ran, in order (0: the global order: global
  // handlers and partitions while pinned), and what every partition had
  // run when each global event ran.
  std::vector<std::vector<std::pair<Time, std::uint64_t>>> logs{kPartitions + 1};
  std::vector<std::vector<std::uint64_t>> seen_by_global;
  // The threads each partition's events ran on.
  std::vector<std::set<std::thread::id>> threads{kPartitions + 1};
  Engine& engine() { return engine_; }

 private:
  struct Handler : EventHandler {
    PartitionWorld* world;
    Partition partition;
    HandlerId id = 0;
    EventId last;
    void OnEvent(std::uint64_t payload) override { world->On(*this, payload); }
  };

  static std::uint64_t Mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }

  HandlerId Add(Partition partition) {
    auto h = std::make_unique<Handler>();
    h->world = this;
    h->partition = partition;
    h->id = engine_.AddHandler(h.get());
    storage_.push_back(std::move(h));
    return storage_.back()->id;
  }

  void On(Handler& h, std::uint64_t x) {
    const Time now = engine_.Now();
    ++ran_[h.partition];
    logs[h.partition].emplace_back(now, x);
    threads[h.partition].insert(std::this_thread::get_id());
    if (h.partition == 0) {
      seen_by_global.push_back(ran_);
      seen_by_global.back().push_back(x);
    }
    if (now > kEnd) return;
    // An event goes on in one event of its handler's partition; a global
    // one, now and then, also in one of a partition.
    const int children = h.partition == 0 && Mix(x) % 2 == 0 ? 2 : 1;
    for (int c = 0; c < children; ++c) {
      const std::uint64_t y = Mix(x * 31 + static_cast<std::uint64_t>(c) + 1);
      const Time delays[] = {0, 1, 5, static_cast<Time>(y % 100)};
      const Time at = now + delays[y / 5 % 4];
      HandlerId target;
      if (h.partition != 0) {
        target = handlers_[h.partition][y / 11 % kHandlersPerPartition];  // its own only
      } else if (c == 0) {
        target = global_[y / 13 % kGlobalHandlers];
      } else {  // a partition's: global lineages neither grow nor die out
        const int p = 1 + static_cast<int>(y / 11 % kPartitions);
        target = handlers_[p][y / 13 % kHandlersPerPartition];
      }
      const EventId id = engine_.ScheduleAt(at, target, y);
      if (target == h.id) h.last = id;
    }
    // Now and then an event cancels the last one its handler scheduled
    // for itself.
    if (Mix(x + 5) % 29 == 0) engine_.Cancel(h.last);
    if (h.partition == 0 && pin_) {
      // Global events pin and unpin partitions.
      const std::uint64_t z = Mix(x + 9);
      const auto p = static_cast<Partition>(1 + z % kPartitions);
      if (z / 64 % 3 == 0) {
        if (!one_order_) engine_.Pin(p);
        ++pins_[p];
      } else if (z / 64 % 3 == 1 && pins_[p] > 0) {
        if (!one_order_) engine_.Unpin(p);
        --pins_[p];
      }
    }
  }

  Engine engine_;
  std::vector<std::unique_ptr<Handler>> storage_;
  std::vector<HandlerId> global_;
  std::vector<HandlerId> handlers_[kPartitions + 1];
  std::vector<std::uint64_t> ran_;
  std::vector<int> pins_;
  bool one_order_ = false;
  const bool pin_;
};

TEST(EnginePartitions, RunEveryEventInTheOrderOfOneQueueWhereItMatters) {
  PartitionWorld one(/*one_order=*/true), split(/*one_order=*/false);
  one.Run();
  split.Run();
  std::size_t total = 0;
  for (int p = 0; p <= PartitionWorld::kPartitions; ++p) {
    EXPECT_EQ(split.logs[p], one.logs[p]) << "partition " << p;
    total += one.logs[p].size();
  }
  // Every global event saw each partition exactly as far as one queue had
  // run it: nothing ranked before it left undone, nothing after it done.
  EXPECT_EQ(split.seen_by_global, one.seen_by_global);
  EXPECT_GT(total, 10000u);
  EXPECT_GT(one.seen_by_global.size(), 300u);
  EXPECT_EQ(split.engine().events_executed(), one.engine().events_executed());
  EXPECT_EQ(split.engine().Now(), one.engine().Now());
  EXPECT_EQ(split.engine().pending_events(), 0u);
}

// On three threads: the same events in the same order.
TEST(EnginePartitions, ThreadsRunTheSameEventsInTheSameOrder) {
  PartitionWorld one(/*one_order=*/true), threaded(/*one_order=*/false, /*threads=*/3);
  one.Run();
  threaded.Run();
  ASSERT_EQ(threaded.engine().threads(), 3);
  for (int p = 0; p <= PartitionWorld::kPartitions; ++p)
    EXPECT_EQ(threaded.logs[p], one.logs[p]) << "partition " << p;
  EXPECT_EQ(threaded.seen_by_global, one.seen_by_global);
  EXPECT_EQ(threaded.engine().events_executed(), one.engine().events_executed());
  EXPECT_EQ(threaded.engine().Now(), one.engine().Now());
  EXPECT_EQ(threaded.threads[0].size(), 1u) << "the global order runs on one thread";
}

// On three ranks (processes in platsim-mpi, three engines here): every
// rank runs the global order of one queue, and the partitions it owns
// exactly as one queue runs them; the others' never. Nothing passes between
// them.
TEST(EnginePartitions, RanksRunTheGlobalOrderEachAndTheirOwnPartitions) {
  constexpr int kRanks = 3;
  PartitionWorld one(/*one_order=*/true, 1, /*pins=*/false);
  one.Run();
  std::uint64_t run_ahead = 0;
  for (int r = 0; r < kRanks; ++r) {
    // The last rank runs its stretches on two threads.
    PartitionWorld w(/*one_order=*/false, r == kRanks - 1 ? 2 : 1, /*pins=*/false);
    w.engine().SetRanked();
    for (Partition p = 1; p <= PartitionWorld::kPartitions; ++p) {
      if (static_cast<int>(p) % kRanks != r) w.engine().RunElsewhere(p);
    }
    w.Run();
    EXPECT_EQ(w.logs[0], one.logs[0]) << "the global order, on rank " << r;
    for (int p = 1; p <= PartitionWorld::kPartitions; ++p) {
      if (p % kRanks == r) {
        EXPECT_EQ(w.logs[p], one.logs[p]) << "partition " << p << " on its rank " << r;
      } else {
        EXPECT_TRUE(w.logs[p].empty()) << "partition " << p << " on rank " << r;
      }
    }
    EXPECT_EQ(w.engine().global_events(), one.logs[0].size());
    run_ahead += w.engine().events_run_ahead();
  }
  EXPECT_EQ(one.logs[0].size() + run_ahead, one.engine().events_executed());
  EXPECT_GT(one.logs[0].size(), 300u);
}

// A pin on ranks aborts.
TEST(EnginePartitionsDeathTest, RanksCannotPin) {
  Engine engine(1);
  const Partition p = engine.AddPartition();
  engine.SetRanked();
  EXPECT_DEATH(engine.Pin(p), "a run on ranks does not support that yet");
}

// Two partitions' stretches run at once: each one's event waits for the
// other's to have begun, which one thread after another never gets to.
TEST(EnginePartitions, ThreadsRunStretchesAtOnce) {
  Engine engine(1);
  engine.SetThreads(2);
  std::atomic<int> arrived{0};
  struct Meet : EventHandler {
    std::atomic<int>* arrived;
    bool met = false;
    void OnEvent(std::uint64_t) override {
      arrived->fetch_add(1);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (arrived->load() < 2 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
      met = arrived->load() == 2;
    }
  };
  Meet a, b;
  a.arrived = b.arrived = &arrived;
  for (Meet* m : {&a, &b}) {
    Engine::PartitionScope scope(engine, engine.AddPartition());
    engine.ScheduleAt(10, engine.AddHandler(m), 0);
  }
  engine.Run();
  EXPECT_TRUE(a.met);
  EXPECT_TRUE(b.met);
  EXPECT_EQ(engine.events_run_ahead(), 2u);
}

// A partition runs ahead of the global order; the order of its events and
// the global events' view of it are checked above. Here: that it does run
// ahead, in one go, rather than event by event.
TEST(EnginePartitions, AnUnpinnedPartitionRunsUpToTheNextGlobalEventInOneGo) {
  Engine engine(1);
  std::string order;
  const Partition a = engine.AddPartition(), b = engine.AddPartition();
  struct Tick : EventHandler {
    Engine* engine;
    std::string* order;
    char name;
    HandlerId self = 0;
    void OnEvent(std::uint64_t n) override {
      *order += name;
      if (n > 1) engine->ScheduleAfter(10, self, n - 1);
    }
  };
  Tick ta, tb;
  for (auto [t, p, name] : {std::tuple{&ta, a, 'a'}, std::tuple{&tb, b, 'b'}}) {
    Engine::PartitionScope scope(engine, p);
    t->engine = &engine;
    t->order = &order;
    t->name = name;
    t->self = engine.AddHandler(t);
  }
  engine.ScheduleAt(0, ta.self, 4);  // a at 0, 10, 20, 30
  engine.ScheduleAt(5, tb.self, 4);  // b at 5, 15, 25, 35
  engine.ScheduleCallbackAt(22, [&] { order += '|'; });
  engine.Run();
  EXPECT_EQ(order, "aaabb|bba")
      << "a to the global event at 22, then b; then each to the end, the earliest first";
  EXPECT_EQ(engine.Now(), 35);
}

// Where a partition running ahead schedules another partition's event (here
// the global one's), the event's place among events of the same time would
// depend on how far the partitions happen to have run: the engine stops.
// Pinned, the partition runs in the global order and may.
// On two threads, with two partitions running at once: the same abort.
TEST(EnginePartitionsDeathTest, OnThreadsTooAPartitionCannotReachAnother) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // the engine's workers are threads
  Engine engine(1);
  engine.SetThreads(2);
  struct Reach : EventHandler {
    Engine* engine;
    HandlerId other = 0;
    void OnEvent(std::uint64_t payload) override {
      if (payload == 1) engine->ScheduleAt(engine->Now() + 5, other, 0);
    }
  };
  Reach a, b;
  a.engine = b.engine = &engine;
  HandlerId ha, hb;
  {
    Engine::PartitionScope scope(engine, engine.AddPartition());
    ha = engine.AddHandler(&a);
  }
  {
    Engine::PartitionScope scope(engine, engine.AddPartition());
    hb = engine.AddHandler(&b);
  }
  a.other = hb;
  engine.ScheduleCallbackAt(100, [] {});
  engine.ScheduleAt(10, ha, 0);
  engine.ScheduleAt(10, hb, 0);
  engine.RunUntil(50);  // both partitions at once, each on its own
  engine.ScheduleAt(60, ha, 1);
  engine.ScheduleAt(60, hb, 0);
  EXPECT_DEATH(engine.RunUntil(200),
               "partition 1, running ahead of the global order, reached "
               "partition 2 at t=65ns");
}

TEST(EnginePartitionsDeathTest, AnEventOfAPartitionRunningAheadCannotScheduleAnotherPartitions) {
  Engine engine(1);
  const Partition p = engine.AddPartition();
  struct Reach : EventHandler {
    Engine* engine;
    Time at;
    void OnEvent(std::uint64_t) override {
      engine->ScheduleCallbackAt(at, [] {});
    }
  };
  Reach reach;
  reach.engine = &engine;
  HandlerId h;
  {
    Engine::PartitionScope scope(engine, p);
    h = engine.AddHandler(&reach);
  }
  engine.ScheduleCallbackAt(100, [] {});
  engine.Pin(p);
  reach.at = 300;
  engine.ScheduleAt(10, h, 0);
  engine.RunUntil(50);
  EXPECT_EQ(engine.pending_events(), 2u);
  engine.Unpin(p);
  engine.ScheduleAt(55, h, 0);
  EXPECT_DEATH(engine.RunUntil(200),
               "partition 1, running ahead of the global order, reached "
               "partition 0 at t=300ns");
}

TEST(EnginePartitions, APinnedPartitionRunsInTheGlobalOrder) {
  Engine engine(1);
  const Partition p = engine.AddPartition();
  std::string order;
  struct Mark : EventHandler {
    std::string* order;
    void OnEvent(std::uint64_t c) override { *order += static_cast<char>(c); }
  };
  Mark mark;
  mark.order = &order;
  HandlerId h;
  {
    Engine::PartitionScope scope(engine, p);
    h = engine.AddHandler(&mark);
  }
  engine.Pin(p);
  engine.ScheduleAt(10, h, 'x');
  engine.ScheduleCallbackAt(20, [&] { order += '|'; });
  engine.ScheduleAt(30, h, 'y');
  engine.ScheduleCallbackAt(40, [&] {
    order += '|';
    engine.Unpin(p);
  });
  engine.ScheduleAt(50, h, 'z');
  engine.ScheduleAt(70, h, 'w');
  engine.ScheduleCallbackAt(60, [&] { order += '|'; });
  engine.Run();
  EXPECT_EQ(order, "x|y|z|w");
  EXPECT_TRUE(engine.pinned(0));
  EXPECT_FALSE(engine.pinned(p));
}

}  // namespace
}  // namespace platsim::sim
