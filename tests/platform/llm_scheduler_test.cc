#include "platform/serving/llm_scheduler.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>
#include <set>
#include <tuple>
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

// Preemption by recompute, derived by hand. 4 usable blocks of 4 tokens
// (5 with vLLM's null block). Step 1: A
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
      {.max_num_seqs = 10, .max_num_batched_tokens = 100, .block_size = 4, .num_gpu_blocks = 5});
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
               .chunked_prefill = false,
               .max_model_len = 8});
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

// Runs `s` until every request has finished (at most `limit` steps);
// returns per request the step of its first token and of its finish, and
// per step the scheduled (request, tokens).
struct Trace {
  std::map<Scheduler::SeqId, int> first, finished;
  std::vector<std::vector<std::pair<Scheduler::SeqId, int>>> steps;
  std::vector<std::int64_t> free_after;
};
Trace RunAll(Scheduler& s, int limit = 1000) {
  Trace run;
  for (int step = 1; step <= limit && s.running() + s.waiting() > 0; ++step) {
    std::vector<std::pair<Scheduler::SeqId, int>> scheduled;
    for (const auto& e : s.Schedule().entries)
      scheduled.emplace_back(e.seq, e.tokens);
    run.steps.push_back(scheduled);
    const auto& o = s.Complete();
    for (const auto id : o.first_token)
      run.first[id] = step;
    for (const auto id : o.finished)
      run.finished[id] = step;
    run.free_after.push_back(s.free_blocks());
  }
  return run;
}

// Example 1 of a derivation from vLLM's rules (block 16, budget 64, 8
// sequences, 9 blocks with the null one): A (40, 10), B (30, 20), C (20,
// 5). Step 1: A 40, B a chunk of 24; step 2: A 1, B its last 6, C 20 (its
// whole prompt fits: 2 of the 3 free blocks); first tokens at steps 1, 2,
// 2; B's third block at step 5; C done at 6, A (its 4th block) at 10, B
// at 21, with all 8 blocks free again. With a long-prefill threshold of
// 16: A 16, B 16, C 16; then A 16, B 14, C 4; then A 8, B 1, C 1.
TEST(LlmScheduler, FollowsExampleOneOfVllmsRules) {
  const SchedulerConfig config{
      .max_num_seqs = 8, .max_num_batched_tokens = 64, .block_size = 16, .num_gpu_blocks = 9};
  Scheduler s(config);
  const auto a = s.Add(40, 10), b = s.Add(30, 20), c = s.Add(20, 5);
  const Trace run = RunAll(s);
  using Step = std::vector<std::pair<Scheduler::SeqId, int>>;
  EXPECT_EQ(run.steps[0], (Step{{a, 40}, {b, 24}}));
  EXPECT_EQ(run.steps[1], (Step{{a, 1}, {b, 6}, {c, 20}}));
  EXPECT_EQ(run.free_after[0], 3);
  EXPECT_EQ(run.free_after[1], 1);
  EXPECT_EQ(run.free_after[4], 0);  // B's third block
  EXPECT_EQ(run.free_after[5], 2);  // C gone
  EXPECT_EQ(run.first, (std::map<Scheduler::SeqId, int>{{a, 1}, {b, 2}, {c, 2}}));
  EXPECT_EQ(run.finished, (std::map<Scheduler::SeqId, int>{{a, 10}, {b, 21}, {c, 6}}));
  EXPECT_EQ(run.free_after.back(), 8);

  SchedulerConfig capped = config;
  capped.long_prefill_token_threshold = 16;
  Scheduler t(capped);
  const auto ta = t.Add(40, 10), tb = t.Add(30, 20), tc = t.Add(20, 5);
  const Trace r = RunAll(t, 3);
  EXPECT_EQ(r.steps[0], (Step{{ta, 16}, {tb, 16}, {tc, 16}}));
  EXPECT_EQ(r.steps[1], (Step{{ta, 16}, {tb, 14}, {tc, 4}}));
  EXPECT_EQ(r.steps[2], (Step{{ta, 8}, {tb, 1}, {tc, 1}}));
}

// Example 2 of that derivation (5 blocks with the null one): A (16, 40), B
// (16, 40), C (20, 4) all admitted at step 1. Step 2: A's second block
// preempts C, the last running; nothing is admitted in that step, and C
// (2 blocks for its 21 tokens) waits. Step 18: A's third block preempts B
// (then at the head of the queue, blocking C). A finishes at 40; B
// recomputes 33 tokens (16 of prompt, 17 generated) at 41 and finishes at
// 63; C recomputes 21 at 64 and finishes at 66. Two preemptions.
TEST(LlmScheduler, FollowsExampleTwoOfVllmsRules) {
  Scheduler s(
      {.max_num_seqs = 8, .max_num_batched_tokens = 64, .block_size = 16, .num_gpu_blocks = 5});
  const auto a = s.Add(16, 40), b = s.Add(16, 40), c = s.Add(20, 4);
  const Trace run = RunAll(s);
  using Step = std::vector<std::pair<Scheduler::SeqId, int>>;
  EXPECT_EQ(run.steps[0], (Step{{a, 16}, {b, 16}, {c, 20}}));
  EXPECT_EQ(run.steps[1], (Step{{a, 1}, {b, 1}}));
  EXPECT_EQ(run.steps[17], (Step{{a, 1}}));
  EXPECT_EQ(run.steps[40], (Step{{b, 33}}));
  EXPECT_EQ(run.steps[63], (Step{{c, 21}}));
  EXPECT_EQ(run.finished, (std::map<Scheduler::SeqId, int>{{a, 40}, {b, 63}, {c, 66}}));
  EXPECT_EQ(s.preemptions(), 2u);
  EXPECT_EQ(run.free_after.back(), 4);
}

// vLLM's sizing, on the derivation's example: Llama-3-8B in bf16 keeps
// 2 x 32 layers x 8 KV heads x 128 dims x 2 bytes = 128 KiB a token, 2 MiB a
// block of 16; 40 GiB left for KV (here 50 GiB at utilization 1, less 8 GiB
// of weights and 2 GiB of the rest) hold 20,480 blocks. At the default
// utilization of 0.92, 46 GiB exactly (rounded up to the byte): 36 GiB for
// KV, 18,432 blocks.
TEST(LlmScheduler, KvBlocksAreWhatTheMemoryLeftHolds) {
  const double gib = 1024.0 * 1024 * 1024;
  KvMemory m{.gpu_memory_bytes = 50 * gib,
             .utilization = 1.0,
             .weight_bytes = 8 * gib,
             .other_bytes = 2 * gib,
             .block_size = 16,
             .kv_bytes_per_token = 131072};
  EXPECT_EQ(KvBlocks(m), 20480);
  m.utilization = 0.92;
  EXPECT_EQ(KvBlocks(m), 18432);
  m.weight_bytes = 60 * gib;
  EXPECT_EQ(KvBlocks(m), 0);
}

// What vLLM refuses: a configuration whose longest request cannot fit its
// KV cache (or, without chunked prefill, its budget), and a request whose
// prompt and output exceed max_model_len. One of 90 + 10 = 100 tokens is
// served: 64 of its prompt, then 26 and its first token, then 9 decodes
// (finished at step 11). A request in the step scheduled cannot be removed
// until the step completes, nor one removed twice.
TEST(LlmScheduler, RefusesWhatVllmRefusesAndKeepsItsIdsStraight) {
  EXPECT_NE(SchedulerConfig({.num_gpu_blocks = 5, .max_model_len = 100}).Problem(), "");
  EXPECT_NE(SchedulerConfig(
                {.max_num_batched_tokens = 8, .num_gpu_blocks = 100, .chunked_prefill = false})
                .Problem(),
            "");
  EXPECT_EQ(SchedulerConfig({.block_size = 16, .num_gpu_blocks = 9}).ModelLen(), 128);
  Scheduler s(
      {.max_num_batched_tokens = 64, .block_size = 16, .num_gpu_blocks = 9, .max_model_len = 100});
  EXPECT_FALSE(s.Accepts(100, 1));
  EXPECT_FALSE(s.Accepts(0, 1));
  EXPECT_TRUE(s.Accepts(90, 10));
  const auto a = s.Add(90, 10);
  const Trace run = RunAll(s, 20);
  EXPECT_EQ(run.first.at(a), 2);
  EXPECT_EQ(run.finished.at(a), 11);
  EXPECT_EQ(s.output_tokens(a), 10);
  EXPECT_EQ(s.used_blocks(), 0);

  const auto b = s.Add(10, 5);
  s.Schedule();
  EXPECT_FALSE(s.Remove(b));  // in the step
  s.Complete();
  EXPECT_TRUE(s.Remove(b));
  EXPECT_FALSE(s.Remove(b));  // gone
  const auto c = s.Add(10, 5), d = s.Add(10, 5);
  EXPECT_NE(c, d);
}

// Invariants over a random workload: the blocks in use never exceed the
// pool and always equal what the requests hold; every request finishes
// exactly once, after exactly its output tokens, its first token once; the
// step never exceeds its budget nor max_num_seqs.
// With and without requests sharing one of 5 prefixes of two 64-token
// chunks (then blocks are shared: the distinct blocks held are the blocks
// in use), and with FCFS or the priority policy over 3 priorities.
class LlmSchedulerInvariants : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(LlmSchedulerInvariants, HoldOverARandomWorkload) {
  const auto [shared, priority] = GetParam();
  const SchedulerConfig config{.max_num_seqs = 8,
                               .max_num_batched_tokens = 64,
                               .block_size = 16,
                               .num_gpu_blocks = 41,
                               .priority_policy = priority};
  Scheduler s(config);
  std::mt19937_64 rng(7);
  std::uint64_t ids[5][2];
  for (int g = 0; g < 5; ++g) {
    ids[g][0] = 100 + g;
    ids[g][1] = 200 + g;
  }
  std::map<Scheduler::SeqId, int> live;  // seq -> output tokens wanted
  std::set<Scheduler::SeqId> first;
  int added = 0, finished = 0, removed = 0;
  std::uint64_t tokens_out = 0, tokens_wanted = 0;
  // Until every request has finished (a bound against a livelock).
  for (int step = 0; step < 1'000'000 && (added < 2000 || !live.empty()); ++step) {
    if (added < 2000 && rng() % 3 == 0) {
      const int prompt = 1 + static_cast<int>(rng() % 200);
      const int out = 1 + static_cast<int>(rng() % 100);
      const PromptPrefix prefix = shared ? PromptPrefix{ids[rng() % 5], 2, 64} : PromptPrefix{};
      const auto id = s.Add(prompt, out, prefix, priority ? static_cast<int>(rng() % 3) : 0);
      ASSERT_FALSE(live.count(id));
      live[id] = out;
      tokens_wanted += static_cast<std::uint64_t>(out);
      ++added;
    }
    const auto& batch = s.Schedule();
    ASSERT_LE(batch.tokens, config.max_num_batched_tokens);
    ASSERT_LE(s.running(), static_cast<std::size_t>(config.max_num_seqs));
    ASSERT_LE(s.used_blocks(), config.num_gpu_blocks - 1);  // the null block never
    std::int64_t held = 0;
    std::set<std::int32_t> distinct;
    for (const auto& [id, want] : live) {
      held += s.blocks_of(id);
      const std::vector<std::int32_t> ids = s.block_ids(id);
      ASSERT_EQ(s.blocks_of(id), static_cast<std::int64_t>(ids.size()));
      distinct.insert(ids.begin(), ids.end());
    }
    if (!shared) ASSERT_EQ(held, s.used_blocks());
    ASSERT_EQ(static_cast<std::int64_t>(distinct.size()), s.used_blocks());
    ASSERT_FALSE(distinct.count(0));  // the null block
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
    // Now and then a client gives up: its request leaves with what it has.
    if (!live.empty() && rng() % 40 == 0) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(rng() % live.size()));
      const auto [id, want] = *it;
      const int generated = s.output_tokens(id);
      ASSERT_TRUE(s.Remove(id));
      tokens_wanted -= static_cast<std::uint64_t>(want - generated);
      live.erase(it);
      first.erase(id);
      ++removed;
    }
  }
  EXPECT_EQ(added, 2000);
  EXPECT_EQ(finished + removed, 2000);
  EXPECT_GT(removed, 0);
  EXPECT_EQ(tokens_out, tokens_wanted);
  EXPECT_EQ(s.used_blocks(), 0);
  EXPECT_GT(s.preemptions(), 0u) << "the workload should be tight enough to preempt";
  if (shared) EXPECT_GT(s.prefix_hit_tokens(), 0u);
}
INSTANTIATE_TEST_SUITE_P(LlmScheduler, LlmSchedulerInvariants,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

// Runs steps until `seq` is scheduled; its entry then (the step left
// uncompleted).
Scheduler::Batch::Entry StepUntilScheduled(Scheduler& s, Scheduler::SeqId seq) {
  for (int step = 0; step < 10000; ++step) {
    const Scheduler::Batch& b = s.Schedule();
    for (const auto& e : b.entries) {
      if (e.seq == seq) return e;
    }
    s.Complete();
  }
  ADD_FAILURE() << "never scheduled";
  return {};
}

// Prefix caching, derived by hand. Blocks of 16; one chunk of 64 shared
// tokens (id 7). A (prompt 100, 1 token out) runs and frees its 7 blocks:
// its 4 shared full blocks stay cached. B (prompt 80, the same prefix)
// finds all 4 (at most its 80 - 1 tokens: 4 blocks) and computes 16 tokens
// at context 64; C (prompt 64) finds 3, since the last token is always
// computed (63 / 16).
TEST(LlmScheduler, ARequestSharingAPrefixStartsFromItsCachedBlocks) {
  const std::uint64_t id7[] = {7};
  const PromptPrefix prefix{id7, 1, 64};
  Scheduler s(
      {.max_num_seqs = 8, .max_num_batched_tokens = 1000, .block_size = 16, .num_gpu_blocks = 101});
  const auto a = s.Add(100, 1, prefix);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{a, 100, 0, true}}));
  s.Complete();
  EXPECT_EQ(s.used_blocks(), 0);
  const auto b = s.Add(80, 2, prefix);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{b, 16, 64, true}}));
  EXPECT_EQ(s.used_blocks(), 5);  // its 4 cached blocks and a new one
  s.Complete();
  const auto c = s.Add(64, 1, prefix);
  const auto batch = Entries(s.Schedule());
  EXPECT_EQ(batch, (std::vector<Entry>{{b, 1, 80, false}, {c, 16, 48, true}}));
  EXPECT_EQ(s.prefix_hit_tokens(), 64u + 48u);
  EXPECT_EQ(s.prefix_query_tokens(), 100u + 80u + 64u);
  // Without prefix caching B computes its whole prompt.
  Scheduler off({.max_num_seqs = 8,
                 .max_num_batched_tokens = 1000,
                 .block_size = 16,
                 .num_gpu_blocks = 101,
                 .prefix_caching = false});
  off.Add(100, 1, prefix);
  off.Schedule();
  off.Complete();
  const auto b2 = off.Add(80, 2, prefix);
  EXPECT_EQ(Entries(off.Schedule()), (std::vector<Entry>{{b2, 80, 0, true}}));
}

// Freed blocks are evicted least recently freed first, a request's last
// block first. 8 usable blocks of 16 (ids 1-8, free in that order). A
// (prompt 64, the shared prefix) takes 1-4; freed, the queue is 5 6 7 8 4
// 3 2 1. D (prompt 80, nothing shared) takes 5-8 and 4 (A's last shared
// block, evicted). B (prompt 80, the prefix) then finds A's first 3.
TEST(LlmScheduler, CachedBlocksAreEvictedLeastRecentlyFreedFirst) {
  const std::uint64_t id7[] = {7};
  const PromptPrefix prefix{id7, 1, 64};
  Scheduler s(
      {.max_num_seqs = 8, .max_num_batched_tokens = 1000, .block_size = 16, .num_gpu_blocks = 9});
  s.Add(64, 1, prefix);
  s.Schedule();
  s.Complete();
  const auto d = s.Add(80, 1);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{d, 80, 0, true}}));
  s.Complete();
  const auto b = s.Add(80, 1, prefix);
  EXPECT_EQ(Entries(s.Schedule()), (std::vector<Entry>{{b, 32, 48, true}}));
}

// A preempted request finds its own blocks again, those not evicted since.
// 10 usable blocks of 16. A and B (64 in, 40 out) prefill together (4
// blocks each) and take their 5th at step 2: all 10 in use. Step 18: A
// needs a 6th; B (81 tokens, 80 computed: 5 full blocks) is preempted, its
// blocks freed to the back (its last first) and A takes B's 5th. Step 34:
// A's 7th evicts B's 4th. B's recompute (81 tokens, 6 blocks) fits only
// once A has finished (step 40): it finds its first 3 blocks and computes
// 33 tokens at context 48. Without prefix caching it computes all 81.
TEST(LlmScheduler, APreemptedRequestsRecomputeFindsItsOwnBlocks) {
  for (const bool caching : {true, false}) {
    Scheduler s({.max_num_seqs = 8,
                 .max_num_batched_tokens = 1000,
                 .block_size = 16,
                 .num_gpu_blocks = 11,
                 .prefix_caching = caching});
    s.Add(64, 40);
    const auto b = s.Add(64, 40);
    s.Schedule();  // step 1
    s.Complete();
    int step = 1;
    bool preempted = false;
    while (!preempted) {
      ++step;
      preempted = !s.Schedule().preempted.empty();
      s.Complete();
    }
    EXPECT_EQ(step, 18);
    const Scheduler::Batch::Entry e = StepUntilScheduled(s, b);
    EXPECT_EQ(e.tokens, caching ? 33 : 81);
    EXPECT_EQ(e.computed, caching ? 48 : 0);
    EXPECT_EQ(s.running(), 1u);  // A has finished
  }
}

// Priority scheduling, derived by hand. The waiting queue is ordered by
// priority, then arrival: with one sequence at a time, B (priority 0) runs
// before A and C (priority 1, in arrival order).
TEST(LlmScheduler, WithThePriorityPolicyTheWaitingQueueGoesByPriorityThenArrival) {
  Scheduler s({.max_num_seqs = 1,
               .max_num_batched_tokens = 100,
               .block_size = 4,
               .num_gpu_blocks = 100,
               .priority_policy = true});
  const auto a = s.Add(4, 1, {}, 1), b = s.Add(4, 1, {}, 0), c = s.Add(4, 1, {}, 1);
  std::vector<Scheduler::SeqId> order;
  for (int step = 0; step < 3; ++step) {
    order.push_back(s.Schedule().entries.at(0).seq);
    s.Complete();
  }
  EXPECT_EQ(order, (std::vector<Scheduler::SeqId>{b, a, c}));
}

// The two cases below: 4 usable blocks of 4; A (priority 1, prompt 4) runs
// alone at step 1, B (priority 0, `b_prompt`) joins at step 2, after A in
// the running order, and each decodes a token a step. Steps 2 to
// `last_quiet` preempt nobody; the next step is returned, scheduled.
struct PreemptionCase {
  Scheduler s;
  Scheduler::SeqId a, b;
  PreemptionCase(bool priority, int b_prompt, int last_quiet)
      : s({.max_num_seqs = 4,
           .max_num_batched_tokens = 100,
           .block_size = 4,
           .num_gpu_blocks = 5,
           .priority_policy = priority}) {
    a = s.Add(4, 10, {}, 1);
    s.Schedule();
    s.Complete();
    b = s.Add(b_prompt, 10, {}, 0);
    for (int step = 2; step <= last_quiet; ++step) {
      EXPECT_TRUE(s.Schedule().preempted.empty()) << step;
      s.Complete();
    }
  }
};

// At step 6 A needs a third block and none is free. FCFS preempts the last
// running request, B, and A runs; the priority policy preempts the lowest
// priority, A itself, and B after it still runs.
TEST(LlmScheduler, ThePriorityPolicyPreemptsTheLowestPriorityWhereFcfsPreemptsTheLast) {
  for (const bool priority : {false, true}) {
    PreemptionCase c(priority, 4, 5);
    const auto& batch = c.s.Schedule();
    EXPECT_EQ(batch.preempted, (std::vector<Scheduler::SeqId>{priority ? c.a : c.b}));
    EXPECT_EQ(Entries(batch),
              (std::vector<Entry>{priority ? Entry{c.b, 1, 7, false} : Entry{c.a, 1, 8, false}}));
  }
}

// The victim may already be scheduled in this step: with B's prompt 6, at
// step 5 A is scheduled (8 tokens, its 2 blocks), then B needs a third
// block for its 9th token. The priority policy takes A out of the step
// (its token back to the budget) and preempts it; FCFS preempts B, the
// last, itself.
TEST(LlmScheduler, APriorityVictimScheduledEarlierInTheStepLeavesIt) {
  for (const bool priority : {false, true}) {
    PreemptionCase c(priority, 6, 4);
    const auto& batch = c.s.Schedule();
    EXPECT_EQ(batch.preempted, (std::vector<Scheduler::SeqId>{priority ? c.a : c.b}));
    EXPECT_EQ(Entries(batch),
              (std::vector<Entry>{priority ? Entry{c.b, 1, 8, false} : Entry{c.a, 1, 7, false}}));
    EXPECT_EQ(batch.tokens, 1);
  }
}

}  // namespace
}  // namespace platsim::platform::llm
