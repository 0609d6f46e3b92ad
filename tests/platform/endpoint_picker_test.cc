// The endpoint picker's choices worked out by hand from its scorers
// (endpoint_picker.h): stale gauges, weighted scores, the prefix index and
// its LRU.
#include "platform/serving/endpoint_picker.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace platsim::platform {
namespace {

class FakeServer : public Hop {
 public:
  void Accept(RequestId) override {}
  void Withdraw(RequestId) override {}
  bool Gauges(LlmGauges& out) const override {
    out = gauges;
    return true;
  }
  LlmGauges gauges;
};

struct Fixture {
  sim::Engine engine{1};
  RequestTable table;
  sim::RandomStream rng{3};
  FakeServer a, b, c;
  std::vector<Hop*> endpoints{&a, &b, &c};
  Fixture() { table.EnableTokens(); }
  // A request of `prompt` tokens whose first `shared` share prefix `id`.
  RequestId Request(int prompt, int shared = 0, const std::uint64_t* id = nullptr) {
    const RequestId r = table.Arrive(0, engine.Now(), true);
    LlmTokens& t = table.tokens(r);
    t.prompt = prompt;
    t.output = 1;
    if (shared > 0) {
      t.prefix_ids = id;
      t.prefix_chunks = 1;
      t.prefix_chunk_tokens = shared;
    }
    return r;
  }
};

TEST(EndpointPicker, TheDefaultProfileWeighsQueueAndKvCacheFromTheLastScrape) {
  Fixture f;
  f.a.gauges = {5, 0.2, 1000};
  f.b.gauges = {1, 0.9, 1000};
  f.c.gauges = {3, 0.6, 1000};
  EndpointPicker picker(f.engine, f.table, PickerWeights{}, 50 * sim::kMillisecond);
  picker.SetEndpoints(f.endpoints);  // scrapes now
  // Queue scores (5 - q) / 4: A 0, B 1, C 0.5; KV 1 - usage: 0.8, 0.1, 0.4.
  // 2 x queue + 2 x KV: A 1.6, B 2.2, C 1.8.
  EXPECT_EQ(picker.Pick(f.Request(100), f.endpoints, f.rng), &f.b);
  EndpointPicker kv(f.engine, f.table, PickerWeights{0, 1, 0}, 50 * sim::kMillisecond);
  kv.SetEndpoints(f.endpoints);
  EXPECT_EQ(kv.Pick(f.Request(100), f.endpoints, f.rng), &f.a);
  // B fills up; until the next scrape, 50 ms on, the picker sees it as it was.
  f.b.gauges = {10, 0.9, 1000};
  f.engine.RunUntil(49 * sim::kMillisecond);
  EXPECT_EQ(picker.Pick(f.Request(100), f.endpoints, f.rng), &f.b);
  f.engine.RunUntil(50 * sim::kMillisecond);
  // Queue (10 - q) / 7 (the fewest waiting is C's 3): A 0.714, B 0, C 1:
  // A 3.03, B 0.2, C 2.8.
  EXPECT_EQ(picker.Pick(f.Request(100), f.endpoints, f.rng), &f.a);
}

TEST(EndpointPicker, EqualScoresAreBrokenAtRandom) {
  Fixture f;
  for (FakeServer* s : {&f.a, &f.b, &f.c})
    s->gauges = {2, 0.5, 1000};
  EndpointPicker picker(f.engine, f.table, PickerWeights{}, 50 * sim::kMillisecond);
  picker.SetEndpoints(f.endpoints);
  std::map<const Hop*, int> picks;
  for (int i = 0; i < 3000; ++i)
    ++picks[picker.Pick(f.Request(8), f.endpoints, f.rng)];  // under a block: no prefix
  for (const Hop* h : f.endpoints)
    EXPECT_NEAR(picks[h], 1000, 4 * 25.8);  // binomial(3000, 1/3): sd 25.8
}

TEST(EndpointPicker, APromptGoesWhereItsPrefixWasSentUntilTheLruForgetsIt) {
  Fixture f;
  for (FakeServer* s : {&f.a, &f.b, &f.c})
    s->gauges = {0, 0, 12};  // 12 blocks: each LRU holds 12 hashes
  EndpointPicker picker(f.engine, f.table, PickerWeights{}, 50 * sim::kMillisecond);
  picker.SetEndpoints(f.endpoints);
  sim::Time now = 0;
  auto waiting = [&](const Hop* on, double there, double elsewhere) {
    for (FakeServer* s : {&f.a, &f.b, &f.c})
      s->gauges.waiting = s == on ? there : elsewhere;
    f.engine.RunUntil(now += 50 * sim::kMillisecond);  // scraped
  };
  // 64-token prompts, all 4 blocks shared.
  const std::uint64_t ids[] = {1, 2, 3, 4};
  const Hop* first = picker.Pick(f.Request(64, 64, &ids[0]), f.endpoints, f.rng);
  // One more waiting there: queue 0 against 1 elsewhere, but its prefix
  // matches 4 of 4 blocks: 0 + 2 + 3 against 2 + 2.
  waiting(first, 1, 0);
  EXPECT_EQ(picker.Pick(f.Request(64, 64, &ids[0]), f.endpoints, f.rng), first);
  // Three other prefixes sent there (its queue the shortest): 12 newer
  // hashes, and prefix one's 4 leave its LRU.
  waiting(first, 0, 5);
  for (int i = 1; i <= 3; ++i)
    EXPECT_EQ(picker.Pick(f.Request(64, 64, &ids[i]), f.endpoints, f.rng), first);
  // Forgotten: 0 + 2 + 0 there against 2 + 2 elsewhere.
  waiting(first, 1, 0);
  EXPECT_NE(picker.Pick(f.Request(64, 64, &ids[0]), f.endpoints, f.rng), first);
  // The last prefix sent is still there.
  EXPECT_EQ(picker.Pick(f.Request(64, 64, &ids[3]), f.endpoints, f.rng), first);
}

}  // namespace
}  // namespace platsim::platform
