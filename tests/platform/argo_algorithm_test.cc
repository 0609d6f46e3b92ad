#include "platform/controllers/argo_algorithm.h"

#include <gtest/gtest.h>

namespace platsim::platform::argo {
namespace {

// Rows of argoproj/argo-rollouts utils/replicaset/canary_test.go
// TestApproximateWeightedNewStableReplicaCounts (maxWeight 100):
// (replicas, weight, surge) -> (canary, stable).
TEST(ArgoCanary, ApproximatesTheWeightAsUpstreamsTable) {
  struct Row {
    int replicas, weight, surge, canary, stable;
  };
  const Row rows[] = {{10, 1, 0, 1, 9}, {10, 15, 0, 2, 8}, {10, 1, 1, 1, 10}, {10, 24, 1, 3, 8},
                      {3, 49, 1, 2, 2}, {3, 50, 0, 2, 1},  {1, 49, 0, 0, 1},  {1, 50, 0, 1, 0},
                      {2, 99, 1, 2, 1}, {0, 50, 1, 0, 0}};
  for (const Row& r : rows) {
    EXPECT_EQ(
        ApproximateWeightedCanaryStableReplicaCounts(r.replicas, r.weight, kMaxWeight, r.surge),
        std::make_pair(r.canary, r.stable))
        << r.replicas << " replicas at " << r.weight << "% with surge " << r.surge;
  }
}

// Rows of TestCalculateReplicaCountsForCanary: one setWeight step, a stable
// and a canary ReplicaSet (spec/available), maxSurge and maxUnavailable
// resolved as upstream resolves the table's values.
TEST(ArgoCanary, CountsFollowUpstreamsTable) {
  struct Row {
    const char* name;
    int replicas, weight, surge, unavailable;
    rollout::Set stable, canary;
    std::vector<rollout::Set> older;
    Counts expected;  // canary, stable
  };
  const Row rows[] = {
      {"Use max surge int to scale up canary", 10, 20, 2, 0, {10, 10}, {0, 0}, {}, {2, 10}},
      {"Scale down extra stable replicas", 10, 20, 2, 0, {10, 10}, {2, 2}, {}, {2, 8}},
      {"Do not go past max surge", 10, 30, 2, 0, {10, 10}, {0, 0}, {}, {2, 10}},
      {"Use max unavailable int to scale down stableRS",
       10,
       20,
       0,
       2,
       {10, 10},
       {0, 0},
       {},
       {0, 8}},
      {"Use Max Surge and Max Unavailable", 10, 50, 2, 1, {10, 10}, {0, 0}, {}, {2, 9}},
      {"Scale canaryRS to zero on setWeight of 0%", 10, 0, 1, 1, {10, 10}, {1, 1}, {}, {0, 10}},
      {"Scale up Stable before canaryRS", 10, 30, 1, 0, {1, 1}, {0, 0}, {{3, 3}}, {1, 7}},
      {"Scale down canaryRS and stable", 10, 30, 0, 3, {8, 5}, {4, 4}, {}, {3, 7}},
      {"Scale down stable and canary available", 10, 100, 1, 0, {10, 2}, {10, 8}, {}, {9, 2}},
      {"Do not round past maxSurge with uneven setWeight divisor",
       10,
       5,
       0,
       1,
       {10, 10},
       {0, 0},
       {},
       {0, 9}},
      {"... part 2", 10, 5, 0, 1, {9, 9}, {0, 0}, {}, {1, 9}},
      // "0%" and "0%": resolveFenceposts makes maxUnavailable 1.
      {"Use maxUnavailable of 1 when both resolve to 0",
       10,
       10,
       0,
       1,
       {10, 10},
       {0, 0},
       {},
       {0, 9}},
      {"honor maxUnavailable when aborting part 1", 4, 0, 1, 0, {0, 0}, {4, 4}, {}, {4, 1}},
      {"honor maxUnavailable when aborting part 3", 4, 0, 1, 0, {1, 1}, {4, 4}, {}, {3, 1}},
      {"Scale stableRS down to zero on >=50 weight without surge",
       1,
       51,
       0,
       1,
       {1, 1},
       {0, 0},
       {},
       {0, 0}},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(BasicCanaryCounts(r.replicas, r.weight, r.surge, r.unavailable, &r.canary, &r.stable,
                                r.older),
              r.expected)
        << r.name;
  }
}

TEST(ArgoCanary, WithoutAStableTheCanaryTakesEveryReplica) {
  // TestCalculateReplicaCountsForNewDeployment: the new ReplicaSet is the
  // stable one.
  const rollout::Set fresh{0, 0};
  EXPECT_EQ(BasicCanaryCounts(10, 20, 3, 2, &fresh, nullptr, {}), (Counts{10, 0}));
}

TEST(ArgoCanary, TrafficWeightRoundsUp) {
  // TestTrafficWeightToReplicas.
  EXPECT_EQ(TrafficWeightToReplicas(10, 25, kMaxWeight), 3);
  EXPECT_EQ(TrafficWeightToReplicas(10, 33, kMaxWeight), 4);
  EXPECT_EQ(TrafficWeightToReplicas(10, 0, kMaxWeight), 0);
}

TEST(ArgoCanary, CurrentSetWeightLooksBackToTheLastSetWeight) {
  ArgoRollout r;
  r.steps = {{CanaryStep::Kind::kSetWeight, 20},
             {CanaryStep::Kind::kPause},
             {CanaryStep::Kind::kSetWeight, 50},
             {CanaryStep::Kind::kAnalysis}};
  r.status.step_index = 1;
  EXPECT_EQ(CurrentSetWeight(r), 20);
  r.status.step_index = 3;
  EXPECT_EQ(CurrentSetWeight(r), 50);
  r.status.step_index = 4;
  EXPECT_EQ(CurrentSetWeight(r), 100) << "past the last step";
  r.status.abort = true;
  EXPECT_EQ(CurrentSetWeight(r), 0) << "aborted";
  r.status.abort = false;
  r.steps.insert(r.steps.begin(), CanaryStep{CanaryStep::Kind::kPause});
  r.status.step_index = 0;
  EXPECT_EQ(CurrentSetWeight(r), 0) << "no setWeight yet";
}

TEST(ArgoCanary, FencepostsDefaultTo25Percent) {
  ArgoRollout r;
  r.replicas = 10;
  EXPECT_EQ(MaxSurge(r), 3);
  EXPECT_EQ(MaxUnavailable(r), 2);
  r.blue_green = true;
  EXPECT_EQ(MaxSurge(r), 0);
}

}  // namespace
}  // namespace platsim::platform::argo
