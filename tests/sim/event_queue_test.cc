#include "sim/event_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "sim/random.h"

namespace platsim::sim {
namespace {

TEST(EventQueue, EqualTimesRunInScheduleOrder) {
  EventQueue q;
  for (std::uint64_t i = 0; i < 100; ++i)
    q.Push(5, 1, i);
  for (std::uint64_t i = 0; i < 100; ++i) {
    const Event e = q.Pop();
    EXPECT_EQ(e.time, 5);
    EXPECT_EQ(e.payload, i) << "FIFO order broken at position " << i;
  }
  EXPECT_TRUE(q.empty());
}

TEST(EventQueue, PopsInTimeThenInsertionOrderAgainstSortedReference) {
  EventQueue q;
  RandomStream rng(7);
  std::vector<std::pair<Time, std::uint64_t>> expected;
  for (std::uint64_t i = 0; i < 20000; ++i) {
    const Time t = static_cast<Time>(rng.UniformInt(500));  // many ties
    q.Push(t, 1, i);
    expected.emplace_back(t, i);
  }
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [t, payload] : expected) {
    ASSERT_FALSE(q.empty());
    const Event e = q.Pop();
    ASSERT_EQ(e.time, t);
    ASSERT_EQ(e.payload, payload);
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.TopTime(), kNever);
}

TEST(EventQueue, CancelRemovesTheEventAndMakesItsIdStale) {
  EventQueue q;
  const EventId a = q.Push(10, 1, 1);
  const EventId b = q.Push(20, 1, 2);
  EXPECT_TRUE(q.IsPending(a));
  EXPECT_TRUE(q.Cancel(a));
  EXPECT_FALSE(q.IsPending(a));
  EXPECT_FALSE(q.Cancel(a)) << "second cancel must be a no-op";
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.TopTime(), 20);
  const Event e = q.Pop();
  EXPECT_EQ(e.payload, 2u);
  EXPECT_FALSE(q.Cancel(b)) << "cancel after pop must be a no-op";
  EXPECT_FALSE(q.Cancel(EventId{})) << "the empty id refers to no event";
}

TEST(EventQueue, ReusedSlotDoesNotHonourAnOldId) {
  EventQueue q;
  const EventId old_id = q.Push(1, 1, 1);
  q.Pop();
  const EventId new_id = q.Push(2, 1, 2);
  EXPECT_EQ(old_id.slot, new_id.slot) << "test expects the slot to be reused";
  EXPECT_FALSE(q.Cancel(old_id));
  EXPECT_TRUE(q.IsPending(new_id));
}

// Random interleaving of push, pop and cancel against an ordered-set model.
TEST(EventQueue, MatchesOrderedSetModelUnderRandomOperations) {
  EventQueue q;
  RandomStream rng(11);
  std::set<std::tuple<Time, std::uint64_t>> model;  // (time, sequence)
  std::map<std::uint64_t, EventId> ids;             // sequence -> id
  std::map<std::uint64_t, Time> times;              // sequence -> time
  std::vector<std::uint64_t> live;
  std::uint64_t seq = 0;
  Time now = 0;
  for (int step = 0; step < 200000; ++step) {
    const auto op = rng.UniformInt(10);
    if (op < 5) {
      const Time t = now + static_cast<Time>(rng.UniformInt(1000));
      ids[seq] = q.Push(t, 1, seq);
      times[seq] = t;
      model.emplace(t, seq);
      live.push_back(seq);
      ++seq;
    } else if (op < 8) {
      if (model.empty()) {
        ASSERT_TRUE(q.empty());
        continue;
      }
      const auto [t, s] = *model.begin();
      model.erase(model.begin());
      const Event e = q.Pop();
      ASSERT_EQ(e.time, t) << "step " << step;
      ASSERT_EQ(e.payload, s) << "step " << step;
      now = t;
    } else if (!live.empty()) {
      const auto pick = rng.UniformInt(live.size());
      const std::uint64_t s = live[pick];
      live[pick] = live.back();
      live.pop_back();
      const bool pending = model.erase({times[s], s}) == 1;
      ASSERT_EQ(q.Cancel(ids[s]), pending) << "step " << step;
    }
    ASSERT_EQ(q.size(), model.size()) << "step " << step;
  }
}

}  // namespace
}  // namespace platsim::sim
