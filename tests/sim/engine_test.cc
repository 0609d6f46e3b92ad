#include "sim/engine.h"

#include <gtest/gtest.h>

#include <string>
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

}  // namespace
}  // namespace platsim::sim
