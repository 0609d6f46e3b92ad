#include "platform/serving/split.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/testing/counting_hop.h"

namespace platsim::platform {
namespace {

using Sink = testing::CountingHop;

TEST(WeightedSplit, SendsRequestsInProportionToTheWeights) {
  sim::Engine engine(1);
  RequestTable table;
  Sink stable(engine, table), canary(engine, table), idle(engine, table);
  WeightedSplit split(engine, table, "default/app", {{&stable, 90}, {&canary, 10}, {&idle, 0}});
  constexpr int kRequests = 100'000;
  for (int i = 0; i < kRequests; ++i)
    split.Accept(table.Arrive(0, 0, true));
  // Binomial(100000, 0.1): mean 10000, sd 94.9; within 5 sd.
  EXPECT_NEAR(canary.count, 10'000, 5 * std::sqrt(kRequests * 0.1 * 0.9));
  EXPECT_EQ(stable.count + canary.count, kRequests);
  EXPECT_EQ(idle.count, 0) << "a weight of 0 takes nothing";

  // Shifting all the weight moves all the traffic; no weight drops it.
  split.SetWeights({0, 1, 0});
  const int before = canary.count;
  split.Accept(table.Arrive(0, 0, true));
  EXPECT_EQ(canary.count, before + 1);
  split.SetWeights({0, 0, 0});
  split.Accept(table.Arrive(0, 0, true));
  EXPECT_EQ(table.live(), 0u) << "dropped, as having no endpoint";
  EXPECT_EQ(stable.count + canary.count, kRequests + 1);
}

}  // namespace
}  // namespace platsim::platform
