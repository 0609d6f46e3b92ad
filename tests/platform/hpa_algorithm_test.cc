// The HPA's arithmetic against upstream's own test tables: every case is
// named after the upstream test it transcribes (kubernetes/kubernetes
// pkg/controller/podautoscaler/replica_calculator_test.go and
// horizontal_test.go), with upstream's inputs and expected outputs.
#include "platform/controllers/hpa_algorithm.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace platsim::platform::hpa {
namespace {

// Upstream's test harness: "now" is the wall clock and unset times are the
// zero time, long before; its controller constants (defaultTesting*) are a
// 2-minute CPU initialization period and a 10-second readiness delay. Each
// pod has two containers, each requesting `request` cores and using
// `level` millicores, so a pod's request and usage are twice those.
constexpr sim::Time kNow = 24 * sim::kHour;

ControllerOptions TestOptions() {
  ControllerOptions o;
  o.cpu_initialization_period = 2 * sim::kMinute;
  o.initial_readiness_delay = 10 * sim::kSecond;
  return o;
}

struct TestPod {
  double request = 1.0;      // cores per container
  std::optional<int> level;  // millicores per container; none: no metric
  bool ready = true;
  PodPhase phase = PodPhase::kRunning;
  bool deleting = false;
  sim::Time start = 0;  // hotCPUCreationTime: kNow
};

struct Pods {
  std::vector<PodState> states;
  PodMetrics metrics;
};

Pods Make(const std::vector<TestPod>& pods) {
  Pods out;
  for (std::size_t i = 0; i < pods.size(); ++i) {
    PodState s;
    s.name = "test-pod-" + std::to_string(i);
    s.phase = pods[i].phase;
    s.deleting = pods[i].deleting;
    s.ready = pods[i].ready;
    s.start_time = pods[i].start;
    s.request_milli = static_cast<std::int64_t>(2 * pods[i].request * 1000 + 0.5);
    out.states.push_back(s);
    if (pods[i].level) out.metrics[s.name] = PodMetric{2LL * *pods[i].level, 0, sim::kMinute};
  }
  return out;
}

std::vector<TestPod> Levels(std::vector<int> levels) {
  std::vector<TestPod> pods;
  for (int l : levels)
    pods.push_back(TestPod{1.0, l});
  return pods;
}

void ExpectResource(const std::vector<TestPod>& pods, int current, int target, int replicas,
                    int utilization, std::int64_t raw, const char* upstream) {
  const Pods p = Make(pods);
  const Proposal got =
      ResourceUtilizationReplicas(current, target, p.states, p.metrics, true, kNow, TestOptions());
  ASSERT_TRUE(got.ok) << upstream << ": " << got.error;
  EXPECT_EQ(got.replicas, replicas) << upstream;
  EXPECT_EQ(got.utilization, utilization) << upstream;
  EXPECT_EQ(got.usage, raw) << upstream;
}

TEST(HpaReplicaCalculator, ResourceUtilizationAsUpstreamsTables) {
  ExpectResource(Levels({300, 500, 700}), 3, 30, 5, 50, 2 * 500, "TestReplicaCalcScaleUp");
  {
    auto pods = Levels({300, 500, 700});
    pods[0].ready = false;
    ExpectResource(pods, 3, 30, 4, 60, 2 * 600, "TestReplicaCalcScaleUpUnreadyLessScale");
  }
  {
    auto pods = Levels({400, 500, 700});
    pods[1].ready = pods[2].ready = false;
    ExpectResource(pods, 3, 30, 3, 40, 2 * 400, "TestReplicaCalcScaleUpUnreadyNoScale");
  }
  {
    auto pods = Levels({500, 700});
    pods.push_back(TestPod{1.0, std::nullopt, false, PodPhase::kFailed});
    pods.push_back(TestPod{1.0, std::nullopt, false, PodPhase::kFailed});
    ExpectResource(pods, 2, 30, 4, 60, 2 * 600, "TestReplicaCalcScaleUpIgnoresFailedPods");
  }
  {
    auto pods = Levels({500, 700});
    pods.push_back(TestPod{1.0, std::nullopt, false, PodPhase::kRunning, true});
    pods.push_back(TestPod{1.0, std::nullopt, false, PodPhase::kRunning, true});
    ExpectResource(pods, 2, 30, 4, 60, 2 * 600, "TestReplicaCalcScaleUpIgnoresDeletionPods");
  }
  ExpectResource(Levels({100, 300, 500, 250, 250}), 5, 50, 3, 28, 2 * 280,
                 "TestReplicaCalcScaleDown");
  {
    auto pods = Levels({100, 300, 500, 250, 250});
    pods[3].ready = pods[4].ready = false;
    ExpectResource(pods, 5, 50, 2, 30, 2 * 300, "TestReplicaCalcScaleDownExcludeUnreadyPods");
  }
  {
    std::vector<TestPod> pods = Levels({100});
    for (int i = 0; i < 4; ++i)
      pods.push_back(TestPod{1.0, std::nullopt, false, PodPhase::kPending});
    ExpectResource(pods, 5, 50, 1, 10, 2 * 100, "TestReplicaCalcScaleDownExcludeUnscheduledPods");
  }
  {
    auto pods = Levels({100, 300, 500, 250, 250});
    pods[3].start = pods[4].start = kNow;  // hot: still initialising
    ExpectResource(pods, 5, 50, 2, 30, 2 * 300, "TestReplicaCalcScaleDownIgnoreHotCpuPods");
  }
  {
    std::vector<TestPod> pods = {{0.9, 1010}, {1.0, 1030}, {1.1, 1020}};
    ExpectResource(pods, 3, 100, 3, 102, 2 * 1020, "TestReplicaCalcTolerance");
  }
  {
    auto pods = Levels({400, 95});
    pods.push_back(TestPod{1.0, std::nullopt});
    pods.push_back(TestPod{1.0, std::nullopt});
    ExpectResource(pods, 4, 100, 3, 24, 495, "TestReplicaCalcMissingMetrics");
  }
  {
    std::vector<TestPod> pods = {{1.0, 200, false}, {1.0, 100}, {2.0, 100}, {2.0, std::nullopt}};
    ExpectResource(pods, 4, 300, 2, 6, 2 * 100,
                   "TestReplicaCalcMissingMetricsScaleDownTargetOver100");
  }
  {
    std::vector<TestPod> pods = {{1.0, 100, false}, {1.0, 2000}, {1.0, std::nullopt}};
    ExpectResource(pods, 3, 50, 4, 200, 2 * 2000, "TestReplicaCalcMissingMetricsUnreadyScaleUp");
  }
  {
    std::vector<TestPod> pods = {{1.0, 100, false}, {1.0, 450}, {1.0, std::nullopt}};
    ExpectResource(pods, 3, 50, 3, 45, 2 * 450, "TestReplicaCalcMissingMetricsUnreadyChange");
  }
  {
    std::vector<TestPod> pods = {{1.0, 100}, {1.0, 100}, {1.0, std::nullopt}};
    ExpectResource(pods, 2, 50, 2, 10, 2 * 100, "TestReplicaCalcDuringRollingUpdateWithMaxSurge");
  }
}

// Not an upstream case: missing metrics filled in at 100% of request turn
// a scale-down (25% against a 50% target) into a scale-up (75%), and the
// direction check keeps the count (without it, ceil(1.5 x 3) = 5).
TEST(HpaReplicaCalculator, FilledInMetricsThatReverseTheDirectionKeepTheCount) {
  std::vector<TestPod> pods = {{1.0, 250}, {1.0, std::nullopt}, {1.0, std::nullopt}};
  ExpectResource(pods, 3, 50, 3, 25, 2 * 250, "reversal");
}

TEST(HpaReplicaCalculator, MetricsOfPodsTheListerDoesNotKnowCountAsUpstreams) {
  // TestReplicaCalcSuperfluousMetrics: six samples for four pods.
  Pods p = Make(Levels({4000, 9500, 3000, 7000}));
  p.metrics["test-pod-4"] = PodMetric{2 * 3200, 0, sim::kMinute};
  p.metrics["test-pod-5"] = PodMetric{2 * 2000, 0, sim::kMinute};
  const Proposal got =
      ResourceUtilizationReplicas(4, 100, p.states, p.metrics, true, kNow, TestOptions());
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.replicas, 24);
  EXPECT_EQ(got.utilization, 587);
  EXPECT_EQ(got.usage, 2 * 5875);
}

// metrics-server serves every pod of the cluster; the HPA asks for its
// target's (upstream's metrics client lists by the target's selector). The
// pods of another workload change nothing: not the count on a scale-up
// with a pod missing its metric (upstream multiplies by len(metrics)), nor
// an average value.
TEST(HpaReplicaCalculator, AnotherWorkloadsPodsDoNotCount) {
  std::vector<TestPod> pods = Levels({900, 900, 900});
  pods[2].level = std::nullopt;  // missing: counted at 0 on a scale-up
  Pods p = Make(pods);
  const Proposal alone =
      ResourceUtilizationReplicas(3, 50, p.states, p.metrics, true, kNow, TestOptions());
  for (int i = 0; i < 5; ++i)
    p.metrics["other-pod-" + std::to_string(i)] = PodMetric{2 * 100, 0, sim::kMinute};
  const Proposal with_others =
      ResourceUtilizationReplicas(3, 50, p.states, p.metrics, true, kNow, TestOptions());
  ASSERT_TRUE(alone.ok && with_others.ok) << alone.error << with_others.error;
  // Two pods at 90% of their request, a third missing: 90% against 50%
  // is 1.8; with the missing pod at 0 the ratio is 1.2 over 3 pods: 4.
  EXPECT_EQ(alone.replicas, 4);
  EXPECT_EQ(with_others.replicas, 4);
  // An average value of 900m a pod (two containers at 450m), target 600m:
  // 1.5 x 2 ready pods = 3, the others' 100m left out.
  Pods q = Make(Levels({450, 450}));
  for (int i = 0; i < 5; ++i)
    q.metrics["other-pod-" + std::to_string(i)] = PodMetric{100, 0, sim::kMinute};
  const Proposal average =
      AverageValueReplicas(2, 600, q.states, q.metrics, true, kNow, TestOptions());
  ASSERT_TRUE(average.ok) << average.error;
  EXPECT_EQ(average.usage, 900);
  EXPECT_EQ(average.replicas, 3);
}

TEST(HpaReplicaCalculator, NoPodsOrNoMetricsAreErrorsWithUpstreamsMessages) {
  const Proposal none = ResourceUtilizationReplicas(3, 50, {}, {}, true, kNow, TestOptions());
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(none.error, "no pods returned by selector while calculating replica count");
  auto pods = Levels({100});
  pods[0].ready = false;
  const Pods p = Make(pods);
  const Proposal unready =
      ResourceUtilizationReplicas(1, 50, p.states, p.metrics, true, kNow, TestOptions());
  EXPECT_FALSE(unready.ok);
  EXPECT_EQ(unready.error, "did not receive metrics for targeted pods (pods might be unready)");
}

// Pods metrics (GetMetricReplicas): readiness is not looked at.
TEST(HpaReplicaCalculator, PodsMetricsAsUpstreamsTables) {
  auto run = [](std::vector<TestPod> pods, int current, std::int64_t target) {
    // Upstream's custom-metric cases give one value per pod (no doubling).
    Pods p = Make(pods);
    for (auto& [name, m] : p.metrics)
      m.value_milli /= 2;
    return AverageValueReplicas(current, target, p.states, p.metrics, false, kNow, TestOptions());
  };
  Proposal got = run(Levels({20000, 10000, 30000}), 3, 15000);
  EXPECT_EQ(got.replicas, 4) << "TestReplicaCalcScaleUpCM";
  EXPECT_EQ(got.usage, 20000);
  auto hot = Levels({50000, 15000, 30000});
  hot[0].ready = hot[2].ready = false;
  hot[0].start = hot[2].start = kNow;
  got = run(hot, 3, 15000);
  EXPECT_EQ(got.replicas, 7) << "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown";
  EXPECT_EQ(got.usage, 31666);
  got = run(Levels({20000, 21000, 21000}), 3, 20000);
  EXPECT_EQ(got.replicas, 3) << "TestReplicaCalcToleranceCM";
  EXPECT_EQ(got.usage, 20666);
}

TEST(HpaReplicaCalculator, ObjectAndExternalMetricsAsUpstreamsTables) {
  const Tolerances t;
  const Pods ready = Make(Levels({1, 1, 1}));
  Proposal got = ValueReplicas(3, 20000, 15000, ready.states, t);
  EXPECT_EQ(got.replicas, 4) << "TestReplicaCalcScaleUpCMObject";
  EXPECT_EQ(got.usage, 20000);
  auto some = Levels({1, 1, 1});
  some[0].ready = some[2].ready = false;
  const Pods one_ready = Make(some);
  got = ValueReplicas(3, 50000, 10000, one_ready.states, t);
  EXPECT_EQ(got.replicas, 5) << "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods";
  got = ValueReplicas(3, 8600, 4400, one_ready.states, t);
  EXPECT_EQ(got.replicas, 2) << "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods";
  const Pods five = Make(Levels({1, 1, 1, 1, 1}));
  got = ValueReplicas(5, 8600, 14334, five.states, t);
  EXPECT_EQ(got.replicas, 3) << "TestReplicaCalcScaleDownCMExternal";

  got = PerPodValueReplicas(3, 20000, 5000, t);
  EXPECT_EQ(got.replicas, 4) << "TestReplicaCalcScaleUpCMPerPodObject";
  EXPECT_EQ(got.usage, 6667);
  got = PerPodValueReplicas(4, 20166, 5000, t);
  EXPECT_EQ(got.replicas, 4) << "TestReplicaCalcTolerancePerPodCMObject";
  EXPECT_EQ(got.usage, 5042);
  got = PerPodValueReplicas(5, 6000, 2000, t);
  EXPECT_EQ(got.replicas, 3) << "TestReplicaCalcScaleDownPerPodCMObject";
  EXPECT_EQ(got.usage, 1200);
  got = PerPodValueReplicas(3, 8600, 2150, t);
  EXPECT_EQ(got.replicas, 4) << "TestReplicaCalcScaleUpPerPodCMExternal";
  EXPECT_EQ(got.usage, 2867);
  got = PerPodValueReplicas(3, 8600, 2900, t);
  EXPECT_EQ(got.replicas, 3) << "TestReplicaCalcTolerancePerPodCMExternal";
  EXPECT_EQ(got.usage, 2867);
}

// ---- horizontal_test.go

// generateScalingRules(pods, podsPeriod, percent, percentPeriod, window):
// a policy for each non-zero value, selectPolicy Max.
ScalingRules Rules(std::int32_t pods, std::int32_t pods_period, std::int32_t percent,
                   std::int32_t percent_period, std::int32_t window) {
  ScalingRules r{window, SelectPolicy::kMax, {}};
  if (pods != 0) r.policies.push_back({PolicyType::kPods, pods, pods_period});
  if (percent != 0) r.policies.push_back({PolicyType::kPercent, percent, percent_period});
  return r;
}

// generateEventsUniformDistribution(changes, period): n events spread
// evenly over the period, each in the middle of its share: 100 s, 60 s
// and 20 s ago for three in 120 s.
std::vector<ScaleHistory::ScaleEvent> Events(std::vector<std::int32_t> changes,
                                             std::int32_t period) {
  std::vector<ScaleHistory::ScaleEvent> events;
  if (changes.empty()) return events;
  const sim::Time step = period * sim::kSecond / static_cast<sim::Time>(changes.size());
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const sim::Time ago = period * sim::kSecond - step / 2 - static_cast<sim::Time>(i) * step;
    events.push_back({changes[i], kNow - ago, false});
  }
  return events;
}

struct RuleCase {
  const char* name;
  std::vector<std::int32_t> up_events, down_events;
  std::int32_t period;
  std::optional<ScalingRules> up, down;
  std::int32_t current, desired, min, max, want;
  const char* reason;
};

TEST(HpaNormalization, ScalingWithRulesAsUpstreamsTable) {
  const std::vector<RuleCase> cases = {
      {"scaleUp with default behavior", {}, {}, 60, {}, {}, 10, 50, 1, 1000, 20, "ScaleUpLimit"},
      {"scaleUp with pods policy larger than percent policy",
       {},
       {},
       60,
       Rules(100, 60, 100, 60, 0),
       {},
       10,
       500,
       1,
       1000,
       110,
       "ScaleUpLimit"},
      {"scaleUp with pod policy limitation",
       {},
       {},
       60,
       Rules(30, 60, 0, 0, 0),
       {},
       10,
       50,
       1,
       1000,
       40,
       "ScaleUpLimit"},
      {"scaleUp with pod policy and previous scale up events",
       {1, 5, 9},
       {},
       120,
       Rules(150, 120, 0, 0, 0),
       {},
       100,
       500,
       1,
       1000,
       235,
       "ScaleUpLimit"},
      {"scaleUp with percent policy and previous scale up and down events",
       {4},
       {2},
       120,
       Rules(0, 0, 300, 300, 0),
       {},
       6,
       24,
       1,
       1000,
       16,
       "ScaleUpLimit"},
      {"scaleUp with currentReplicas limitation",
       {1, 5, 9},
       {},
       120,
       Rules(5, 120, 0, 0, 0),
       {},
       100,
       500,
       1,
       1000,
       100,
       "ScaleUpLimit"},
      {"scaleDown with percent policy larger than pod policy",
       {},
       {},
       60,
       {},
       Rules(20, 60, 1, 60, 300),
       100,
       2,
       1,
       1000,
       80,
       "ScaleDownLimit"},
      {"scaleDown with percent policy limitation and previous events",
       {},
       {2, 4, 6},
       120,
       {},
       Rules(0, 0, 50, 120, 300),
       100,
       0,
       0,
       1000,
       56,
       "ScaleDownLimit"},
      {"scaleDown with percent policy and previous scale up and down events",
       {2},
       {4},
       120,
       {},
       Rules(0, 0, 50, 180, 300),
       10,
       1,
       1,
       1000,
       6,
       "ScaleDownLimit"},
      {"scaleDown with previous events preventing further scale down",
       {},
       {10, 10, 10},
       120,
       {},
       Rules(0, 0, 10, 120, 300),
       100,
       0,
       0,
       1000,
       100,
       "ScaleDownLimit"},
      {"scaleDown with spec MinReplicas limitation with large percent policy",
       {},
       {},
       60,
       {},
       Rules(0, 0, 100, 60, 300),
       10,
       2,
       5,
       1000,
       5,
       "TooFewReplicas"},
      {"desired replica count is more than the maximum replica count",
       {},
       {},
       60,
       {},
       {},
       100,
       1000,
       100,
       150,
       150,
       "TooManyReplicas"},
  };
  for (const RuleCase& c : cases) {
    ScaleHistory h;
    h.up_events = Events(c.up_events, c.period);
    h.down_events = Events(c.down_events, c.period);
    Behavior b;
    if (c.up) b.scale_up = *c.up;
    if (c.down) b.scale_down = *c.down;
    const auto [replicas, reason] =
        ConvertWithBehaviorRate(h, b, c.current, c.desired, c.min, c.max, kNow);
    EXPECT_EQ(replicas, c.want) << c.name;
    EXPECT_EQ(reason, c.reason) << c.name;
  }
}

TEST(HpaNormalization, SelectPolicyMinTakesTheSmallestChange) {
  // TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors.
  ScalingRules rules{
      0, SelectPolicy::kMin, {{PolicyType::kPods, 2, 60}, {PolicyType::kPercent, 50, 60}}};
  const ScaleHistory none;
  EXPECT_EQ(ScaleUpLimit(1, none, rules, kNow), 2);
  EXPECT_EQ(ScaleDownLimit(5, none, rules, kNow), 3);
  rules.select = SelectPolicy::kDisabled;
  EXPECT_EQ(ScaleUpLimit(1, none, rules, kNow), 1);
  EXPECT_EQ(ScaleDownLimit(5, none, rules, kNow), 5);
}

TEST(HpaNormalization, LegacyRulesAsUpstreamsTable) {
  // TestConvertDesiredReplicasWithRules: (current, desired, min, max).
  EXPECT_EQ(ConvertWithRules(5, 7, 3, 8), std::make_pair(7, std::string("DesiredWithinRange")));
  EXPECT_EQ(ConvertWithRules(3, 1, 2, 8), std::make_pair(2, std::string("TooFewReplicas")));
  EXPECT_EQ(ConvertWithRules(1, 0, 0, 10), std::make_pair(0, std::string("DesiredWithinRange")));
  EXPECT_EQ(ConvertWithRules(20, 1000, 1, 10), std::make_pair(10, std::string("TooManyReplicas")));
  EXPECT_EQ(ConvertWithRules(3, 1000, 1, 2000), std::make_pair(6, std::string("ScaleUpLimit")));
}

TEST(HpaNormalization, LegacyStabilizationAsUpstreamsTable) {
  // TestNormalizeDesiredReplicas: the highest recommendation of the last
  // five minutes; the oldest stale slot is reused.
  struct Case {
    std::vector<ScaleHistory::Recommendation> recs;
    std::int32_t desired, want;
    std::size_t length;
  };
  const sim::Time m = sim::kMinute;
  const std::vector<Case> cases = {
      {{{4, kNow - 2 * m}, {5, kNow - 1 * m}}, 3, 5, 3},
      {{{10, kNow - 10 * m}, {9, kNow - 9 * m}}, 3, 3, 2},
      {{{10, kNow - 10 * m}, {4, kNow - 1 * m}, {5, kNow - 2 * m}, {9, kNow - 9 * m}}, 3, 5, 4},
      {{}, 5, 5, 1},
  };
  for (const Case& c : cases) {
    ScaleHistory h;
    h.recommendations = c.recs;
    EXPECT_EQ(StabilizeRecommendation(h, c.desired, kNow, 5 * m), c.want);
    EXPECT_EQ(h.recommendations.size(), c.length);
  }
}

TEST(HpaNormalization, StabilizationWithBehaviorAsUpstreamsTable) {
  // TestNormalizeDesiredReplicasWithBehavior (windows 0 unless given).
  const sim::Time m = sim::kMinute;
  struct Case {
    std::vector<ScaleHistory::Recommendation> recs;
    std::int32_t current, desired, up_window, down_window, want;
    std::vector<std::int32_t> stored;  // empty: not checked
  };
  const std::vector<Case> cases = {
      {{{4, kNow - 2 * m}, {5, kNow - 1 * m}}, 100, 3, 0, 180, 5, {4, 5, 3}},
      {{{4, kNow - 2 * m}, {5, kNow - 1 * m}}, 1, 7, 300, 0, 4, {}},
      {{{10, kNow - 100 * m}, {6, kNow - 1 * m}, {5, kNow - 2 * m}, {9, kNow - 3 * m}},
       1,
       100,
       300,
       0,
       5,
       {100, 6, 5, 9}},
      {{{2, kNow - 100 * m}, {3, kNow - 3 * m}}, 2, 1, 300, 300, 2, {}},
      {{{2, kNow - 100 * m}, {1, kNow - 3 * m}}, 2, 3, 300, 300, 2, {}},
  };
  for (const Case& c : cases) {
    ScaleHistory h;
    h.recommendations = c.recs;
    Behavior b;
    b.scale_up.stabilization_window_seconds = c.up_window;
    b.scale_down.stabilization_window_seconds = c.down_window;
    const Normalized n =
        NormalizeWithBehavior(h, b, c.current, c.desired, 1, 1000, kNow, 5 * sim::kMinute);
    EXPECT_EQ(n.replicas, c.want);
    if (!c.stored.empty()) {
      std::vector<std::int32_t> stored;
      for (const auto& r : h.recommendations)
        stored.push_back(r.replicas);
      EXPECT_EQ(stored, c.stored);
    }
  }
}

TEST(HpaNormalization, ScaleEventsReuseTheirOutdatedSlots) {
  // TestStoreScaleEvents: a Pods 10/60s policy; events 61 s and 59 s old.
  Behavior b;
  b.scale_up = ScalingRules{0, SelectPolicy::kMax, {{PolicyType::kPods, 10, 60}}};
  ScaleHistory h;
  h.up_events = {{7, kNow - 61 * sim::kSecond, false}, {6, kNow - 59 * sim::kSecond, false}};
  EXPECT_EQ(ScaleUpLimit(0, h, b.scale_up, kNow), -6 + 10);  // 6 added within the period
  h.StoreScaleEvent(b, 10, 15, kNow);
  ASSERT_EQ(h.up_events.size(), 2u);
  EXPECT_EQ(h.up_events[0].change, 5);
  EXPECT_EQ(h.up_events[1].change, 6);
}

}  // namespace
}  // namespace platsim::platform::hpa
