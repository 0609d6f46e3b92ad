#include "platform/controller.h"

#include <gtest/gtest.h>

#include <vector>

namespace platsim::platform {
namespace {

struct Recording : Reconciler {
  sim::Engine* engine = nullptr;
  std::vector<std::pair<sim::Time, std::string>> calls;
  int fail_times = 0;
  Result Reconcile(const std::string& key) override {
    calls.emplace_back(engine->Now(), key);
    if (fail_times > 0) {
      --fail_times;
      return Result::Retry("not yet");
    }
    return Result::Done();
  }
  const char* Name() const override { return "Recording"; }
};

TEST(WorkQueue, AKeyAddedTwiceBeforeProcessingReconcilesOnce) {
  sim::Engine engine(1);
  NullEventSink events;
  Recording r;
  r.engine = &engine;
  WorkQueue q(engine, r, events);
  q.Add("a");
  q.Add("b");
  q.Add("a");
  engine.Run();
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[0].second, "a");
  EXPECT_EQ(r.calls[1].second, "b");
}

TEST(WorkQueue, RetryBacksOffExponentiallyFromFiveMilliseconds) {
  sim::Engine engine(1);
  NullEventSink events;
  Recording r;
  r.engine = &engine;
  r.fail_times = 3;
  WorkQueue q(engine, r, events);
  q.Add("a");
  engine.Run();
  ASSERT_EQ(r.calls.size(), 4u);
  // Failures at 0, then retries after 5ms, 10ms and 20ms.
  EXPECT_EQ(r.calls[1].first - r.calls[0].first, 5 * sim::kMillisecond);
  EXPECT_EQ(r.calls[2].first - r.calls[1].first, 10 * sim::kMillisecond);
  EXPECT_EQ(r.calls[3].first - r.calls[2].first, 20 * sim::kMillisecond);
  EXPECT_EQ(WorkQueue::Backoff(60), 1000 * sim::kSecond) << "capped at 1000s";
}

TEST(WorkQueue, ADelayedKeyKeepsItsEarliestWakeUpOnly) {
  sim::Engine engine(1);
  NullEventSink events;
  Recording r;
  r.engine = &engine;
  WorkQueue q(engine, r, events);
  q.AddAfter("a", 10 * sim::kMillisecond);
  q.AddAfter("a", 5 * sim::kMillisecond);   // earlier: replaces the 10ms wake-up
  q.AddAfter("a", 20 * sim::kMillisecond);  // later: covered by the 5ms one
  engine.Run();
  ASSERT_EQ(r.calls.size(), 1u);
  EXPECT_EQ(r.calls[0].first, 5 * sim::kMillisecond);
  // Once it has fired, the key can wait again.
  q.AddAfter("a", sim::kMillisecond);
  engine.Run();
  ASSERT_EQ(r.calls.size(), 2u);
  EXPECT_EQ(r.calls[1].first, 6 * sim::kMillisecond);
}

}  // namespace
}  // namespace platsim::platform
