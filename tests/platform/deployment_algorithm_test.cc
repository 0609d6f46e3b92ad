// The rollout arithmetic against upstream's own test tables
// (kubernetes/kubernetes pkg/controller/deployment/rolling_test.go and
// util/deployment_util_test.go), each case as the table has it.
#include "platform/controllers/deployment_algorithm.h"

#include <gtest/gtest.h>

#include <map>

namespace platsim::platform::rollout {
namespace {

IntOrPercent Count(int n) {
  return {n, false};
}
IntOrPercent Percent(int n) {
  return {n, true};
}

Deployment Rolling(int replicas, IntOrPercent surge, IntOrPercent unavailable) {
  Deployment d;
  d.replicas = replicas;
  d.max_surge = surge;
  d.max_unavailable = unavailable;
  return d;
}

// util/deployment_util_test.go TestResolveFenceposts (the valid rows), and
// the 25%/25% default at 10 and 8 replicas.
TEST(Rollout, ResolveFencepostsAsUpstreamsTable) {
  EXPECT_EQ(ResolveFenceposts(Percent(0), Percent(0), 0), std::make_pair(0, 1));
  EXPECT_EQ(ResolveFenceposts(Percent(39), Percent(39), 10), std::make_pair(4, 3));
  EXPECT_EQ(ResolveFenceposts(Percent(25), Percent(25), 8), std::make_pair(2, 2));
  EXPECT_EQ(ResolveFenceposts(Count(1), Count(1), 2), std::make_pair(1, 1));
  EXPECT_EQ(ResolveFenceposts(Percent(25), Percent(25), 10), std::make_pair(3, 2));
  // MaxUnavailable: at most the replicas; 0 for Recreate.
  EXPECT_EQ(MaxUnavailable(Rolling(3, Count(0), Count(10))), 3);
  EXPECT_EQ(MaxUnavailable(Rolling(10, Percent(0), Percent(30))), 3);
  Deployment recreate = Rolling(10, Percent(25), Percent(25));
  recreate.recreate = true;
  EXPECT_EQ(MaxUnavailable(recreate), 0);
  EXPECT_EQ(NewRSNewReplicas(recreate, 10, 0), 10);
  // A surge beyond any count is bounded, and the sum cannot overflow.
  EXPECT_EQ(MaxSurge(Rolling(10, Count(2'000'000'000), Count(0))), kMaxScaled);
  EXPECT_EQ(NewRSNewReplicas(Rolling(10, Percent(2'000'000'000), Count(0)), 0, 0), 10);
}

// rolling_test.go TestDeploymentController_reconcileNewReplicaSet:
// maxUnavailable 0; the new ReplicaSet's replicas after the step, or no
// change.
TEST(Rollout, NewReplicaSetStepAsUpstreamsTable) {
  const struct {
    int deployment, surge, old, fresh, expected;
  } cases[] = {
      {10, 0, 10, 0, 0},  // should not scale up
      {10, 2, 10, 0, 2},
      {10, 2, 5, 0, 7},
      {10, 2, 10, 2, 2},
  };
  for (const auto& c : cases) {
    const Deployment d = Rolling(c.deployment, Count(c.surge), Count(0));
    EXPECT_EQ(NewRSNewReplicas(d, c.old + c.fresh, c.fresh), c.expected)
        << c.deployment << " " << c.surge << " " << c.old << " " << c.fresh;
  }
  // {10, 2, old 2, new 11}: scaled down to the Deployment's 10, which the
  // controller does before NewRSNewReplicas (reconcileNewReplicaSet).
}

// rolling_test.go TestDeploymentController_reconcileOldReplicaSets:
// maxSurge 0; whether the old ReplicaSet scales, and to what (the table's
// expectedOldReplicas).
TEST(Rollout, OldReplicaSetsStepAsUpstreamsTable) {
  const struct {
    int deployment, unavailable, old, fresh, old_ready, new_ready;
    bool scale;
    int expected_old;
  } cases[] = {
      {10, 0, 10, 0, 10, 0, true, 9}, {10, 2, 10, 0, 10, 0, true, 8},
      {10, 2, 10, 0, 8, 0, true, 8},  // the unhealthy ones cleaned up
      {10, 2, 10, 0, 9, 0, true, 8},  // one unhealthy cleaned, one ready scaled down
      {10, 2, 8, 2, 8, 0, false, 8},  // the new ReplicaSet's unavailable pods hold it
  };
  for (const auto& c : cases) {
    const Deployment d = Rolling(c.deployment, Count(0), Count(c.unavailable));
    const ScaleDown down =
        ReconcileOldReplicaSets(d, {{c.old, c.old_ready}}, {c.fresh, c.new_ready});
    EXPECT_EQ(down.cleaned + down.scaled > 0, c.scale) << c.old_ready;
    EXPECT_EQ(down.replicas.at(0), c.expected_old) << c.old_ready;
  }
}

// A status from before a scale-down (more available than replicas): the
// clean-up would be a scale-up, which upstream refuses, and nothing scales
// (old A {2 replicas, 4 available} and B {8, 3}, against 8 available).
TEST(Rollout, AStaleStatusScalesNothingDown) {
  const Deployment d = Rolling(10, Count(0), Count(2));
  const ScaleDown down = ReconcileOldReplicaSets(d, {{2, 4}, {8, 3}}, {0, 0});
  EXPECT_EQ(down.replicas, (std::vector<int>{2, 8}));
  EXPECT_EQ(down.cleaned + down.scaled, 0);
}

// rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas.
TEST(Rollout, CleanupUnhealthyReplicasAsUpstreamsTable) {
  const struct {
    int old, ready, max_cleanup, expected;
  } cases[] = {{10, 8, 1, 1}, {10, 8, 3, 2}, {10, 8, 0, 0}, {10, 10, 3, 0}};
  for (const auto& c : cases) {
    std::vector<int> replicas = {c.old};
    EXPECT_EQ(CleanupUnhealthyReplicas({{c.old, c.ready}}, c.max_cleanup, replicas), c.expected);
    EXPECT_EQ(replicas[0], c.old - c.expected);
  }
}

// rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate:
// maxSurge 0, the old ReplicaSet alone.
TEST(Rollout, ScaleDownOldReplicaSetsAsUpstreamsTable) {
  const struct {
    int deployment, unavailable, ready, old;
    bool scale;
    int expected_old;
  } cases[] = {
      {10, 0, 10, 10, true, 9}, {10, 2, 10, 10, true, 8},  {10, 2, 8, 10, false, 10},
      {10, 2, 10, 0, false, 0}, {10, 2, 1, 10, false, 10},
  };
  for (const auto& c : cases) {
    const Deployment d = Rolling(c.deployment, Count(0), Count(c.unavailable));
    std::vector<int> replicas = {c.old};
    const int scaled = ScaleDownOldReplicaSetsForRollingUpdate(d, c.ready, replicas);
    EXPECT_EQ(scaled > 0, c.scale) << c.ready << " " << c.old;
    EXPECT_EQ(replicas[0], c.expected_old) << c.ready << " " << c.old;
  }
}

// The worked example of K8S-SEMANTICS.md: 10 replicas at 25%/25% (surge 3,
// unavailable 2). Updating the template, the first sync creates the new
// ReplicaSet at 3 and takes the old one to 8; the next, with 11 pods, lets
// the new one grow to 5 (13 = 10 + surge) and scales nothing down while its
// 5 are unavailable.
TEST(Rollout, TheTenReplicaWorkedExample) {
  const Deployment d = Rolling(10, Percent(25), Percent(25));
  const int fresh = NewRSNewReplicas(d, 10, 0);
  EXPECT_EQ(fresh, 3);
  const ScaleDown first = ReconcileOldReplicaSets(d, {{10, 10}}, {fresh, 0});
  EXPECT_EQ(first.replicas.at(0), 8);
  EXPECT_EQ(NewRSNewReplicas(d, 8 + 3, 3), 5);
  EXPECT_EQ(ReconcileOldReplicaSets(d, {{8, 8}}, {5, 0}).replicas.at(0), 8);
  // Once the 5 are available, 5 old ones may go (13 - 8 - 0).
  EXPECT_EQ(ReconcileOldReplicaSets(d, {{8, 8}}, {5, 5}).replicas.at(0), 3);
}

// sync_test.go TestScale: a Deployment (maxSurge and maxUnavailable 0
// unless given, as the test's newDeployment makes it) resized from `from`
// with its ReplicaSets annotated as the table sets them (desired-replicas
// `from`, max-replicas `from` + maxSurge at `from`), newest first.
TEST(Rollout, ProportionalScalingAsUpstreamsTable) {
  struct Row {
    const char* name;
    int to, from;
    int surge_to, surge_from;
    std::vector<int> sizes;  // the new ReplicaSet first (if any), then older ones
    bool has_new;
    std::vector<int> expected;
    std::map<int, int> desired;  // index -> desired-replicas annotation, where not `from`
  };
  const Row rows[] = {
      {"normal scaling event: 10 -> 12", 12, 10, 0, 0, {10}, true, {12}, {}},
      {"normal scaling event: 10 -> 5", 5, 10, 0, 0, {10}, true, {5}, {}},
      {"proportional scaling: 5 -> 10", 10, 5, 0, 0, {2, 3}, true, {4, 6}, {}},
      {"proportional scaling: 5 -> 3", 3, 5, 0, 0, {2, 3}, true, {1, 2}, {}},
      {"proportional scaling: 9 -> 4", 4, 9, 0, 0, {8, 1}, true, {4, 0}, {}},
      {"proportional scaling: 7 -> 10", 10, 7, 0, 0, {2, 3, 2}, true, {3, 4, 3}, {}},
      {"proportional scaling: 13 -> 8", 8, 13, 0, 0, {2, 8, 3}, true, {1, 5, 2}, {}},
      {"leftover distribution: 3 -> 4", 4, 3, 0, 0, {1, 1, 1}, true, {2, 1, 1}, {}},
      {"leftover distribution: 3 -> 2", 2, 3, 0, 0, {1, 1, 1}, true, {1, 1, 0}, {}},
      {"proportional scaling (no new rs): 4 -> 5", 5, 4, 0, 0, {2, 2}, false, {3, 2}, {}},
      {"proportional scaling: 6 -> 0", 0, 6, 0, 0, {3, 2, 1}, true, {0, 0, 0}, {}},
      {"proportional scaling: 0 -> 6", 6, 6, 0, 0, {0, 0, 0}, true, {6, 0, 0}, {}},
      {"failed rs update", 5, 5, 0, 0, {2, 1, 1}, true, {2, 2, 1}, {{1, 3}}},
      {"deployment with surge pods", 20, 10, 2, 2, {6, 6}, true, {11, 11}, {}},
      {"change both surge and size", 50, 10, 6, 3, {5, 8}, true, {22, 34}, {}},
  };
  for (const Row& r : rows) {
    Deployment d = Rolling(r.to, Count(r.surge_to), Count(0));
    std::vector<ScaledSet> sets;
    for (std::size_t i = 0; i < r.sizes.size(); ++i) {
      ScaledSet s;
      s.replicas = r.sizes[i];
      s.available = r.sizes[i];
      const auto d_it = r.desired.find(static_cast<int>(i));
      s.desired_replicas = d_it != r.desired.end() ? d_it->second : r.from;
      s.max_replicas = s.desired_replicas + r.surge_from;
      // newTimestamp, oldTimestamp, olderTimestamp: the first is the newest.
      s.created = static_cast<sim::Time>(r.sizes.size() - i) * sim::kHour;
      s.name = "foo-v" + std::to_string(r.sizes.size() - i);
      sets.push_back(s);
    }
    EXPECT_EQ(ProportionalScale(d, r.from, sets, r.has_new ? 0 : -1), r.expected) << r.name;
  }
  // "saturated but broken new replica set does not affect old pods": the
  // new one has its replicas but none available; nothing moves.
  Deployment d = Rolling(2, Count(1), Count(1));
  std::vector<ScaledSet> sets = {{2, 0, 3, 2, 2 * sim::kHour, "foo-v2"},
                                 {1, 1, 3, 2, sim::kHour, "foo-v1"}};
  EXPECT_EQ(ProportionalScale(d, 3, sets, 0), (std::vector<int>{2, 1}));
}

}  // namespace
}  // namespace platsim::platform::rollout
