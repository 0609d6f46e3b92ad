#include "platform/serving/llm_scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

namespace platsim::platform::llm {
namespace {

using Entry = std::tuple<Scheduler::SeqId, int, int, bool>;  // seq, tokens, computed, prefill

std::vector<Entry> Entries(const Scheduler::Batch& b) {
  std::vector<Entry> out;
  for (const auto& e : b.entries)
    out.emplace_back(e.seq, e.tokens, e.computed, e.prefill);
  return out;
}

// A step-by-step timeline derived by hand. Budget 8 tokens, blocks of 4.
// Step 1: A (prompt 10) takes the whole budget, 8 tokens of its prompt (2
// blocks); B waits. Step 2: A's last 2 prompt tokens (3 blocks), then B's 3
// (1 block): both sample their first token. Step 3: one decode token each;
// B has its 2 tokens and finishes. Step 4: A's third and last.
TEST(LlmScheduler, ChunkedPrefillThenDecodeAsDerivedByHand) {
  Scheduler s(
      {.max_num_seqs = 4, .max_num_batched_tokens = 8, .block_size = 4, .num_gpu_blocks = 100});
  const auto a = s.Add(10, 3), b = s.Add(3, 2);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 8, 0, true}}));
  EXPECT_TRUE(s.Complete().first_token.empty());
  EXPECT_EQ(s.used_blocks(), 2);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 2, 8, true}, {b, 3, 0, true}}));
  auto o = s.Complete();
  EXPECT_EQ(o.first_token, (std::vector<Scheduler::SeqId>{a, b}));
  EXPECT_EQ(o.tokens_out, 2);
  EXPECT_EQ(s.used_blocks(), 4);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 1, 10, false}, {b, 1, 3, false}}));
  o = s.Complete();
  EXPECT_EQ(o.finished, (std::vector<Scheduler::SeqId>{b}));
  EXPECT_EQ(s.used_blocks(), 3);  // B's block back
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 1, 11, false}}));
  o = s.Complete();
  EXPECT_EQ(o.finished, (std::vector<Scheduler::SeqId>{a}));
  EXPECT_EQ(s.used_blocks(), 0);
  EXPECT_TRUE(s.Schedule().empty());
}

// Preemption by recompute, derived by hand. 4 blocks of 4 tokens. Step 1: A
// (prompt 8: 2 blocks) and B (prompt 4: 1 block) prefill and sample.
// Step 2: A's decode needs a third block (the last free); B's needs a
// second, none is free: B, the last running, is preempted (its block
// freed, its 5 tokens to compute again) and nobody is admitted. Steps 3-6:
// A decodes alone (B needs 2 blocks, 1 is free), its 4th block at step 6,
// when it finishes (6 tokens) and frees all 4. Step 7: B recomputes its 5
// tokens (prompt and its first output) and samples its second token; not a
// first token again. Steps 8-11: B decodes to its 6th.
TEST(LlmScheduler, PreemptsTheLastRunningRequestAndRecomputesItAsDerivedByHand) {
  Scheduler s(
      {.max_num_seqs = 10, .max_num_batched_tokens = 100, .block_size = 4, .num_gpu_blocks = 4});
  const auto a = s.Add(8, 6), b = s.Add(4, 6);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 8, 0, true}, {b, 4, 0, true}}));
  EXPECT_EQ(s.Complete().first_token.size(), 2u);
  const auto& step2 = s.Schedule();
  EXPECT_EQ(Entries(step2), (std::vector<Entry>{{a, 1, 8, false}}));
  EXPECT_EQ(step2.preempted, (std::vector<Scheduler::SeqId>{b}));
  EXPECT_EQ(s.computed_tokens(b), 0);
  EXPECT_EQ(s.output_tokens(b), 1);
  EXPECT_EQ(s.waiting(), 1u);
  s.Complete();
  for (int step = 3; step <= 6; ++step) {
    EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 1, 6 + step, false}})) << step;
    const auto& o = s.Complete();
    EXPECT_EQ(o.finished.size(), step == 6 ? 1u : 0u) << step;
    EXPECT_EQ(s.used_blocks(), step == 6 ? 0 : 3) << step;
  }
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{b, 5, 0, true}}));
  auto o = s.Complete();
  EXPECT_TRUE(o.first_token.empty());
  EXPECT_EQ(s.output_tokens(b), 2);
  for (int step = 8; step <= 11; ++step) {
    EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{b, 1, step - 3, false}})) << step;
    o = s.Complete();
  }
  EXPECT_EQ(o.finished, (std::vector<Scheduler::SeqId>{b}));
  EXPECT_EQ(s.preemptions(), 1u);
}

// Without chunked prefill a prompt that does not fit the budget left waits
// for the next step; max_num_seqs bounds the running requests.
TEST(LlmScheduler, WithoutChunkedPrefillAPromptWaitsForRoomAndMaxNumSeqsBoundsTheBatch) {
  Scheduler s({.max_num_seqs = 4,
               .max_num_batched_tokens = 8,
               .block_size = 4,
               .num_gpu_blocks = 100,
               .chunked_prefill = false});
  const auto a = s.Add(5, 1), b = s.Add(5, 1);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 5, 0, true}}));
  EXPECT_EQ(s.Complete().finished, (std::vector<Scheduler::SeqId>{a}));
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{b, 5, 0, true}}));
  s.Complete();

  Scheduler one(
      {.max_num_seqs = 1, .max_num_batched_tokens = 64, .block_size = 4, .num_gpu_blocks = 100});
  const auto c = one.Add(4, 2), d = one.Add(4, 1);
  EXPECT_EQ(Entries(one.Schedule()), (std::vector<Entry>{{c, 4, 0, true}}));
  one.Complete();
  EXPECT_EQ(Entries(one.Schedule()), (std::vector<Entry>{{c, 1, 4, false}}));
  one.Complete();
  EXPECT_EQ(Entries(one.Schedule()), (std::vector<Entry>{{d, 4, 0, true}}));
}

// long_prefill_token_threshold caps a prompt's chunk, leaving budget for
// others.
TEST(LlmScheduler, TheLongPrefillThresholdCapsAChunk) {
  Scheduler s({.max_num_seqs = 4,
               .max_num_batched_tokens = 16,
               .block_size = 4,
               .num_gpu_blocks = 100,
               .long_prefill_token_threshold = 6});
  const auto a = s.Add(20, 1), b = s.Add(3, 1);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 6, 0, true}, {b, 3, 0, true}}));
}

// Invariants over a random workload: the blocks in use never exceed the
// pool and always equal what the requests hold; every request finishes
// exactly once, after exactly its output tokens, its first token once; the
// step never exceeds its budget nor max_num_seqs.
TEST(LlmScheduler, InvariantsHoldOverARandomWorkload) {
  const SchedulerConfig config{
      .max_num_seqs = 8, .max_num_batched_tokens = 64, .block_size = 16, .num_gpu_blocks = 40};
  Scheduler s(config);
  std::mt19937_64 rng(7);
  std::map<Scheduler::SeqId, int> live;  // seq -> output tokens wanted
  std::set<Scheduler::SeqId> first;
  int added = 0, finished = 0;
  std::uint64_t tokens_out = 0, tokens_wanted = 0;
  // Until every request has finished (a bound against a livelock).
  for (int step = 0; step < 1'000'000 && (added < 2000 || !live.empty()); ++step) {
    if (added < 2000 && rng() % 3 == 0) {
      const int prompt = 1 + static_cast<int>(rng() % 200);
      const int out = 1 + static_cast<int>(rng() % 100);
      const auto id = s.Add(prompt, out);
      ASSERT_FALSE(live.count(id));
      live[id] = out;
      tokens_wanted += static_cast<std::uint64_t>(out);
      ++added;
    }
    const auto& batch = s.Schedule();
    ASSERT_LE(batch.tokens, config.max_num_batched_tokens);
    ASSERT_LE(s.running(), static_cast<std::size_t>(config.max_num_seqs));
    ASSERT_LE(s.used_blocks(), config.num_gpu_blocks);
    std::int64_t held = 0;
    for (const auto& [id, want] : live)
      held += s.blocks_of(id);
    ASSERT_EQ(held, s.used_blocks());
    const auto& o = s.Complete();
    tokens_out += static_cast<std::uint64_t>(o.tokens_out);
    for (const auto id : o.first_token)
      ASSERT_TRUE(first.insert(id).second);
    for (const auto id : o.finished) {
      ASSERT_EQ(s.output_tokens(id), live.at(id));
      live.erase(id);
      first.erase(id);
      ++finished;
    }
  }
  EXPECT_EQ(added, 2000);
  EXPECT_EQ(finished, 2000);
  EXPECT_EQ(tokens_out, tokens_wanted);
  EXPECT_EQ(s.used_blocks(), 0);
  EXPECT_GT(s.preemptions(), 0u) << "the workload should be tight enough to preempt";
}

}  // namespace
}  // namespace platsim::platform::llm
