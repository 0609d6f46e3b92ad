#include "platform/serving/llm_engine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace platsim::platform::llm {
namespace {

using sim::kMillisecond;

// Records what the engine tells, as "t_ms request what".
class Log : public Engine::Observer {
 public:
  explicit Log(sim::Engine& engine) : engine_(engine) {}
  void OnFirstToken(std::uint64_t r, sim::Time now) override { Add(now, r, "first"); }
  void OnToken(std::uint64_t r, sim::Time gap, sim::Time now) override {
    Add(now, r, "token+" + std::to_string(gap / kMillisecond));
  }
  void OnFinished(std::uint64_t r, sim::Time now) override { Add(now, r, "done"); }
  void OnPreempted(std::uint64_t r, sim::Time now) override { Add(now, r, "preempted"); }
  std::vector<std::string> lines;

 private:
  void Add(sim::Time now, std::uint64_t r, const std::string& what) {
    lines.push_back(std::to_string(now / kMillisecond) + " " + std::to_string(r) + " " + what);
  }
  sim::Engine& engine_;
};

const SchedulerConfig kConfig{
    .max_num_seqs = 4, .max_num_batched_tokens = 8, .block_size = 4, .num_gpu_blocks = 100};

// The scheduler's hand-derived timeline (llm_scheduler_test.cc) at 10 ms a
// step: A (prompt 10, 3 out) and B (3, 2) at 0; steps end at 10, 20, 30,
// 40 ms. Both first tokens at 20 ms; B's second and last at 30; A's second
// at 30 and last at 40, each 10 ms after the one before.
TEST(LlmEngine, TokensComeAtTheEndsOfTheStepsThatMakeThem) {
  sim::Engine sim(1);
  Log log(sim);
  Engine engine(
      sim, kConfig, [](const models::StepShape&) { return 10 * kMillisecond; }, log);
  engine.Add(1, 10, 3);
  engine.Add(2, 3, 2);
  sim.RunUntil(sim::kSecond);
  EXPECT_EQ(log.lines,
            (std::vector<std::string>{"20 1 first", "20 2 first", "30 1 token+10", "30 2 token+10",
                                      "30 2 done", "40 1 token+10", "40 1 done"}));
  EXPECT_EQ(engine.steps(), 4u);
  EXPECT_EQ(engine.busy_time(), 40 * kMillisecond);
  EXPECT_FALSE(engine.busy());
}

// A request arriving during a step waits for the next: A (4, 2) at 0 is
// prefilled in [0, 10) ms; C (4, 1) at 5 ms joins the step of [10, 20),
// whose shape is C's 4 prompt tokens from no context and A's decode at KV
// length 5 (its 4 prompt tokens and its first output), 10 + 1 ms a
// prefill token and a decode sequence here.
TEST(LlmEngine, ARequestArrivingDuringAStepWaitsForTheNextAndStepsTakeTheirShapesTime) {
  sim::Engine sim(1);
  Log log(sim);
  std::vector<models::StepShape> shapes;
  Engine engine(
      sim, kConfig,
      [&](const models::StepShape& s) {
        shapes.push_back(s);
        return (10 + s.prefill_tokens + s.decode_seqs) * kMillisecond;
      },
      log);
  engine.Add(1, 4, 2);
  sim.ScheduleCallbackAt(5 * kMillisecond, [&] { engine.Add(3, 4, 1); });
  sim.RunUntil(sim::kSecond);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_EQ(shapes[0].prefill_tokens, 4);
  EXPECT_EQ(shapes[1].prefill_seqs, 1);
  EXPECT_EQ(shapes[1].prefill_tokens, 4);
  EXPECT_EQ(shapes[1].prefill_context, 0);
  EXPECT_EQ(shapes[1].decode_seqs, 1);
  EXPECT_EQ(shapes[1].decode_kv, 5);
  // Step 1: 14 ms; step 2: 10 + 4 + 1 = 15 ms, ending at 29.
  // At a step's end, its tokens in batch order, then what finished.
  EXPECT_EQ(log.lines, (std::vector<std::string>{"14 1 first", "29 1 token+15", "29 3 first",
                                                 "29 1 done", "29 3 done"}));
}

// A request whose client has gone: waiting, it leaves at once; in a step,
// at the step's end; nothing is told of either.
TEST(LlmEngine, AbortedRequestsLeaveSilently) {
  sim::Engine sim(1);
  Log log(sim);
  Engine engine(
      sim, kConfig, [](const models::StepShape&) { return 10 * kMillisecond; }, log);
  const auto a = engine.Add(1, 8, 5);  // takes the first step's whole budget
  const auto b = engine.Add(2, 4, 1);  // waits
  engine.Abort(*b);
  sim.ScheduleCallbackAt(5 * kMillisecond, [&] { engine.Abort(*a); });
  sim.RunUntil(sim::kSecond);
  EXPECT_TRUE(log.lines.empty());
  EXPECT_EQ(engine.scheduler().running() + engine.scheduler().waiting(), 0u);
  EXPECT_EQ(engine.scheduler().used_blocks(), 0);
  EXPECT_EQ(engine.steps(), 1u);
}

}  // namespace
}  // namespace platsim::platform::llm
