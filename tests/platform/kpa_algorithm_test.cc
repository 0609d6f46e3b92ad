// The KPA's arithmetic against upstream's own test tables: every case is
// named after the upstream test it transcribes (knative/serving at v1.23,
// pkg/autoscaler/scaling/autoscaler_test.go, pkg/autoscaler/aggregation/
// bucketing_test.go, pkg/reconciler/autoscaling/kpa/scaler_test.go and
// kpa_test.go), with upstream's inputs and expected outputs.
#include "platform/controllers/kpa_algorithm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace platsim::platform::kpa {
namespace {

constexpr sim::Time kS = sim::kSecond;

// autoscaler_test.go newTestAutoscalerWithScalingMetric: total = target /
// 0.75, panic threshold 2, rates 10, a 60-second stable window, activator
// capacity 150; created with one pod ready.
DeciderSpec TestSpec(double target, double tbc) {
  DeciderSpec s;
  s.target_value = target;
  s.total_value = target / 0.75;
  s.target_burst_capacity = tbc;
  s.panic_threshold = 2;
  s.max_scale_up_rate = 10;
  s.max_scale_down_rate = 10;
  s.activator_capacity = 150;
  s.stable_window = 60 * kS;
  s.reachable = true;
  s.activation_scale = 0;
  return s;
}

// autoscaler_test.go expectedEBC.
std::int32_t ExpectedEbc(double target, double tbc, double panic, double pods) {
  return static_cast<std::int32_t>(std::floor(target / 0.75 * pods - tbc - panic));
}

// Upstream's "now" is the wall clock: an arbitrary instant, not on a
// second.
constexpr sim::Time kNow = 1'000'000 * kS + 300 * sim::kMillisecond;

void ExpectScale(Autoscaler& a, sim::Time now, int ready, Observed observed, std::int32_t desired,
                 std::int32_t ebc) {
  const ScaleResult r = a.Scale(now, ready, observed);
  EXPECT_TRUE(r.valid);
  EXPECT_EQ(r.desired, desired);
  EXPECT_EQ(r.excess_burst_capacity, ebc);
}

struct ScaleCase {
  const char* label;  // TestAutoscalerScale's
  double target, tbc, stable, panic;
  int ready;
  bool panicking = false;  // prepFunc: panicking since 5 s ago, holding 5 pods
  double max_scale_up_rate = 10, max_scale_down_rate = 10;
  bool reachable = true;
  std::int32_t want, want_ebc;
};

TEST(KpaAutoscaler, TestAutoscalerScaleTable) {
  // Excess burst capacity worked out by hand: floor(target / 0.75 x ready -
  // TBC - panic), e.g. floor(13.33 - 100 - 0) = -87 for the first.
  const ScaleCase cases[] = {
      {"AutoscalerNoDataAtZeroNoAutoscale", 10, 100, 0, 0, 1, false, 10, 10, true, 0, -87},
      {"AutoscalerStableModeUnlimitedTBC", 181, -1, 21, 26, 1, false, 10, 10, true, 1, -1},
      {"Autoscaler0TBC", 10, 0, 50, 49, 1, false, 10, 10, true, 5, 0},
      {"AutoscalerStableModeNoChange", 10, 100, 50, 50, 1, false, 10, 10, true, 5, -137},
      {"AutoscalerPanicStableLargerThanPanic", 1, 100, 50, 30, 5, true, 10, 10, true, 50, -124},
      {"AutoscalerPanicStableLessThanPanic", 1, 100, 20, 30, 5, true, 10, 10, true, 30, -124},
      {"AutoscalerStableModeNoChangeAlreadyScaled", 10, 100, 50, 50, 5, false, 10, 10, true, 5,
       -84},
      {"AutoscalerStableModeIncreaseWithSmallScaleUpRate", 1, 1982, 3, 3.1, 2, false, 1.1, 10, true,
       3, -1983},
      {"AutoscalerStableModeDecreaseWithSmallScaleDownRate", 10, 1982, 1, 1, 100, false, 10, 1.1,
       true, 90, -650},
      {"AutoscalerStableModeDecreaseNonReachable", 10, 1982, 1, 1, 100, false, 10, 1.1, false, 1,
       -650},
      {"AutoscalerPanicModeDoublePodCount", 10, 84, 50, 100, 1, false, 10, 10, true, 10, -171},
  };
  for (const ScaleCase& c : cases) {
    SCOPED_TRACE(c.label);
    DeciderSpec spec = TestSpec(c.target, c.tbc);
    spec.max_scale_up_rate = c.max_scale_up_rate;
    spec.max_scale_down_rate = c.max_scale_down_rate;
    spec.reachable = c.reachable;
    Autoscaler a(spec, 1, kNow);
    if (c.panicking) a.SetPanic(kNow - 5 * kS, 5);
    ExpectScale(a, kNow, c.ready, {c.stable, c.panic}, c.want, c.want_ebc);
  }
}

TEST(KpaAutoscaler, TestAutoscalerNoDataNoAutoscale) {
  Autoscaler a(TestSpec(10, 100), 1, kNow);
  EXPECT_FALSE(a.Scale(kNow, 1, std::nullopt).valid);
}

TEST(KpaAutoscaler, TestAutoscalerStableModeIncreaseWithRPS) {
  DeciderSpec spec = TestSpec(10, 101);
  spec.metric = Metric::kRps;
  Autoscaler a(spec, 1, kNow);
  ExpectScale(a, kNow, 1, {50, 50}, 5, ExpectedEbc(10, 101, 50, 1));
  ExpectScale(a, kNow, 1, {100, 99}, 10, ExpectedEbc(10, 101, 99, 1));
}

TEST(KpaAutoscaler, TestAutoscalerUnpanicAfterSlowIncrease) {
  Autoscaler a(TestSpec(1, 98), 1, kNow);
  sim::Time t = kNow;
  ExpectScale(a, t, 10, {11, 25}, 25, ExpectedEbc(1, 98, 25, 10));
  EXPECT_TRUE(a.panicking());
  // Half the stable window later, 15 more pods: 41 / 40 is under the
  // threshold, so the panic is not extended.
  t += 30 * kS;
  ExpectScale(a, t, 40, {30, 41}, 41, ExpectedEbc(1, 98, 41, 40));
  // A stable window and a tick after it began, the panic ends.
  t += 30 * kS + 2 * kS;
  ExpectScale(a, t, 55, {50, 56}, 50, ExpectedEbc(1, 98, 56, 55));
  EXPECT_FALSE(a.panicking());
}

TEST(KpaAutoscaler, TestAutoscalerExtendPanicWindow) {
  Autoscaler a(TestSpec(1, 98), 1, kNow);
  ExpectScale(a, kNow, 10, {11, 25}, 25, ExpectedEbc(1, 98, 25, 10));
  ExpectScale(a, kNow + 30 * kS, 40, {30, 80}, 80, ExpectedEbc(1, 98, 80, 40));
  // Still surging at +30 s: the panic now lasts until +91 s.
  ExpectScale(a, kNow + 89 * kS, 80, {30, 30}, 80, ExpectedEbc(1, 98, 30, 80));
  ExpectScale(a, kNow + 91 * kS, 80, {30, 30}, 30, ExpectedEbc(1, 98, 30, 80));
}

TEST(KpaAutoscaler, TestAutoscalerStableModeDecrease) {
  Autoscaler a(TestSpec(10, 98), 1, kNow);
  ExpectScale(a, kNow, 8, {100, 100}, 10, ExpectedEbc(10, 98, 100, 8));
  ExpectScale(a, kNow, 8, {50, 50}, 5, ExpectedEbc(10, 98, 50, 8));
}

TEST(KpaAutoscaler, TestAutoscalerStableModeNoTrafficScaleToZero) {
  Autoscaler a(TestSpec(10, 75), 1, kNow);
  ExpectScale(a, kNow, 1, {1, 0}, 1, ExpectedEbc(10, 75, 0, 1));
  ExpectScale(a, kNow, 1, {0, 0}, 0, ExpectedEbc(10, 75, 0, 1));
}

TEST(KpaAutoscaler, TestAutoscalerActivationScale) {
  DeciderSpec spec = TestSpec(10, 75);
  spec.activation_scale = 2;
  Autoscaler a(spec, 1, kNow);
  ExpectScale(a, kNow, 1, {0, 0}, 0, ExpectedEbc(10, 75, 0, 1));
  ExpectScale(a, kNow, 1, {1, 0}, 2, ExpectedEbc(10, 75, 0, 1));
}

TEST(KpaAutoscaler, TestAutoscalerPanicModeExponentialTrackAndStabilize) {
  Autoscaler a(TestSpec(1, 101), 1, kNow);
  ExpectScale(a, kNow, 1, {6, 6}, 6, ExpectedEbc(1, 101, 6, 1));
  sim::Time t = kNow;
  ExpectScale(a, t, 6, {36, 36}, 36, ExpectedEbc(1, 101, 36, 6));
  EXPECT_TRUE(a.panicking());
  t += kS;
  ExpectScale(a, t, 36, {216, 216}, 216, ExpectedEbc(1, 101, 216, 36));
  ExpectScale(a, t, 216, {1296, 1296}, 1296, ExpectedEbc(1, 101, 1296, 216));
  t += kS;
  ExpectScale(a, t, 1296, {1296, 1296}, 1296, ExpectedEbc(1, 101, 1296, 1296));
}

TEST(KpaAutoscaler, TestAutoscalerPanicThenUnPanicScaleDown) {
  Autoscaler a(TestSpec(10, 93), 1, kNow);
  ExpectScale(a, kNow, 1, {100, 100}, 10, ExpectedEbc(10, 93, 100, 1));
  const sim::Time panic = kNow + kS;
  ExpectScale(a, panic, 10, {100, 1000}, 100, ExpectedEbc(10, 93, 1000, 10));
  // Traffic dropped, but the panic holds the scale.
  ExpectScale(a, panic + 30 * kS, 10, {1, 1}, 100, ExpectedEbc(10, 93, 1, 10));
  ExpectScale(a, panic + 61 * kS, 10, {1, 1}, 1, ExpectedEbc(10, 93, 1, 10));
}

TEST(KpaAutoscaler, TestAutoscalerRateLimitScaleUpAndDown) {
  Autoscaler up(TestSpec(10, 61), 1, kNow);
  ExpectScale(up, kNow, 1, {1000, 1001}, 10, ExpectedEbc(10, 61, 1001, 1));
  ExpectScale(up, kNow, 10, {1000, 1001}, 100, ExpectedEbc(10, 61, 1001, 10));
  Autoscaler down(TestSpec(10, 61), 1, kNow);
  ExpectScale(down, kNow, 100, {1, 1}, 10, ExpectedEbc(10, 61, 1, 100));
  ExpectScale(down, kNow, 10, {1, 1}, 1, ExpectedEbc(10, 61, 1, 10));
}

TEST(KpaAutoscaler, TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound) {
  Autoscaler a(TestSpec(10, 81), 1, kNow);
  ExpectScale(a, kNow, 0, {1000, 888}, 10, ExpectedEbc(10, 81, 888, 0));
}

// autoscaler_test.go TestAutoscalerScaleDownDelay: target 10, rates 10,
// a threshold of 100 (never panics), a 5-minute delay, from the zero time.
TEST(KpaAutoscaler, TestAutoscalerScaleDownDelay) {
  DeciderSpec spec;
  spec.target_value = 10;
  spec.max_scale_down_rate = 10;
  spec.max_scale_up_rate = 10;
  spec.panic_threshold = 100;
  spec.scale_down_delay = 5 * sim::kMinute;
  spec.target_burst_capacity = 0;
  Autoscaler a(spec, 0, 0);
  auto desired = [&](sim::Time t, double c) { return a.Scale(t, 0, Observed{c, c}).desired; };
  // simple
  EXPECT_EQ(desired(2 * kS, 40), 4);
  EXPECT_EQ(desired(5 * sim::kMinute, 0), 4);
  EXPECT_EQ(desired(5 * sim::kMinute + 2 * kS, 0), 0);
  // gradual
  EXPECT_EQ(desired(9 * sim::kMinute, 40), 4);
  EXPECT_EQ(desired(10 * sim::kMinute, 30), 4);  // 4 still dominates
  EXPECT_EQ(desired(11 * sim::kMinute, 0), 4);
  EXPECT_EQ(desired(14 * sim::kMinute, 0), 3);  // 4 scrolls out
  EXPECT_EQ(desired(15 * sim::kMinute, 0), 0);
}

TEST(KpaAutoscaler, TestAutoscalerScaleDownDelayZero) {
  DeciderSpec spec;
  spec.target_value = 10;
  spec.max_scale_down_rate = 10;
  spec.max_scale_up_rate = 10;
  spec.panic_threshold = 100;
  Autoscaler a(spec, 0, 0);
  EXPECT_EQ(a.Scale(0, 0, Observed{40, 40}).desired, 4);
  EXPECT_EQ(a.Scale(500 * sim::kMillisecond, 0, Observed{20, 20}).desired, 2);
}

TEST(KpaAutoscaler, TestStartInPanicMode) {
  const DeciderSpec spec = TestSpec(100, 1);
  for (int ready = 0; ready < 2; ++ready)
    EXPECT_FALSE(Autoscaler(spec, ready, kNow).panicking()) << ready;
  EXPECT_TRUE(Autoscaler(spec, 2, kNow).panicking());
}

// bucketing_test.go TestTimedFloat64BucketsWindowAverage: a 5-second
// window of 1-second buckets.
TEST(KpaBuckets, TestTimedFloat64BucketsWindowAverage) {
  sim::Time now = kNow;
  Buckets b(5 * kS, kS, false);
  b.Record(now, 1);
  EXPECT_EQ(b.WindowAverage(now), 1.0);  // averaged since the first write, not over 5
  for (int i = 1; i < 5; ++i)
    b.Record(now + i * kS, i + 1);
  EXPECT_EQ(b.WindowAverage(now + 4 * kS), 15.0 / 5);
  EXPECT_EQ(b.WindowAverage(now + 3600 * sim::kMillisecond), 15.0 / 5);  // now lags
  EXPECT_EQ(b.WindowAverage(now + 6 * kS), (15.0 - 1 - 2) / (5 - 2));    // a short hole
  EXPECT_EQ(b.WindowAverage(now + 10 * kS), 0.0);                        // a long hole
  b.Record(now + 6 * kS, 91);
  EXPECT_EQ(b.WindowAverage(now + 6 * kS), (15.0 - 1 - 2 + 91) / 5);
  now += sim::kMinute;
  b.Record(now, 1984);
  EXPECT_EQ(b.WindowAverage(now), 1984.0);
  b.Record(now - 3 * kS, 4);  // an earlier time
  EXPECT_EQ(b.WindowAverage(now), (4.0 + 1984) / 4);
  now += kS;
  b.Record(now, 5);
  EXPECT_EQ(b.WindowAverage(now), (4.0 + 1984 + 5) / 5);
  b.Record(now - 3 * kS, 10);
  EXPECT_EQ(b.WindowAverage(now), (4.0 + 10 + 1984 + 5) / 5);
  b.Record(now - 6 * kS, 10);  // too early: ignored
  EXPECT_EQ(b.WindowAverage(now), (4.0 + 10 + 1984 + 5) / 5);
  b.Record(now - 5 * kS, 10);  // on the bound: ignored
  EXPECT_EQ(b.WindowAverage(now), (4.0 + 10 + 1984 + 5) / 5);
  b.Record(now + 5 * kS, 10);  // silent for exactly a window: starts over
  EXPECT_EQ(b.WindowAverage(now + 5 * kS), 10.0);
}

TEST(KpaBuckets, TestDescendingRecord) {
  Buckets b(5 * kS, kS, false);
  for (sim::Time i = 8 * kS; i >= 0; i -= kS)
    b.Record(kNow + i, 5);
  EXPECT_EQ(b.WindowAverage(kNow + 5 * kS), 5.0);
}

TEST(KpaBuckets, TestTimedFloat64BucketsSimpleSumsWithinASecond) {
  // "granularity = 1s": an activator's 1 and a scrape's 10 in one second.
  const sim::Time t = kNow - kNow % kS;
  Buckets b(2 * sim::kMinute, kS, false);
  EXPECT_TRUE(b.IsEmpty(t));
  b.Record(t, 1);
  b.Record(t + 100 * sim::kMillisecond, 10);
  EXPECT_EQ(b.WindowAverage(t), 11.0);
  b.Record(t + kS, 1);
  b.Record(t + 3 * kS, 1);
  EXPECT_EQ(b.WindowAverage(t + 3 * kS), (11.0 + 1 + 0 + 1) / 4);
}

// bucketing_test.go TestTimedFloat64BucketsWeightedAverage: a 5-second
// window, so a smoothing coefficient of 1 - 0.0001^(1/5).
TEST(KpaBuckets, TestTimedFloat64BucketsWeightedAverage) {
  const double m = 1.0 - std::pow(1.0 - 0.9999, 1.0 / 5);
  Buckets b(5 * kS, kS, true);
  b.Record(kNow, 2);
  double want = 2 * m;
  EXPECT_DOUBLE_EQ(b.WindowAverage(kNow), want);
  want *= 1 - m;  // a second later, no writes
  EXPECT_DOUBLE_EQ(b.WindowAverage(kNow + kS), want);
  b.Record(kNow + kS, 2);
  want += 2 * m;
  EXPECT_DOUBLE_EQ(b.WindowAverage(kNow + kS), want);
  for (int i = 0; i < 5; ++i)
    b.Record(kNow + (2 + i) * kS, i + 2);
  want = 6 * m + 5 * m * (1 - m) + 4 * m * std::pow(1 - m, 2) + 3 * m * std::pow(1 - m, 3) +
         2 * m * std::pow(1 - m, 4);
  EXPECT_DOUBLE_EQ(b.WindowAverage(kNow + 6 * kS), want);
  EXPECT_EQ(b.WindowAverage(kNow + 16 * kS), 0.0);
}

// kpa_test.go TestComputeActivatorNum: total 100, activator capacity 100.
TEST(KpaActivators, TestComputeActivatorNum) {
  struct Case {
    int ready;
    double tbc;
    int want;
  };
  for (const Case& c :
       {Case{0, 200, 2}, Case{1, 200, 3}, Case{100, 0, 2}, Case{5, -1, 5}, Case{15, 200, 17}}) {
    DeciderSpec spec;
    spec.total_value = 100;
    spec.activator_capacity = 100;
    spec.target_burst_capacity = c.tbc;
    EXPECT_EQ(NumActivators(c.ready, spec), c.want) << c.ready << " " << c.tbc;
  }
}

// target_test.go TestResolveMetricTarget and the documented defaults.
TEST(KpaTarget, ResolveMetricTarget) {
  const Config config;
  Annotations a;
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 0).target, 70);
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 0).total, 100);
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 10).target, 7);
  a.target = 20;  // a target above containerConcurrency is capped by it
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 10).total, 10);
  a.target_utilization_percentage = 50;
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 0).target, 10);
  a.target = 0.01;  // never below 0.01
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, a, 0).target, 0.01);
  Annotations rps;
  rps.metric = Metric::kRps;
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, rps, 0).target, 140);
  EXPECT_DOUBLE_EQ(ResolveMetricTarget(config, rps, 0).total, 200);
}

TEST(KpaTarget, MakeDeciderPanicWindowIsAShareOfTheStableOneRoundedToTheSecond) {
  Config config;
  Annotations a;
  EXPECT_EQ(MakeDecider(config, a, 0).panic_window, 6 * kS);
  a.window = 15 * kS;  // 1.5 s rounds to 2 s
  EXPECT_EQ(MakeDecider(config, a, 0).panic_window, 2 * kS);
  a.panic_window_percentage = 1;  // 0.15 s: the 1-second bucket at least
  EXPECT_EQ(MakeDecider(config, a, 0).panic_window, kS);
  a.panic_threshold_percentage = 300;
  EXPECT_DOUBLE_EQ(MakeDecider(config, a, 0).panic_threshold, 3.0);
}

// scaler_test.go TestScaler: a 60-second grace period, a 5-minute stable
// window (45 s by annotation where named), a 121-second progress deadline;
// the ServerlessService serves unless a case puts it in proxy mode.
struct ScalerCase {
  const char* label;
  int start_replicas;
  std::int32_t scale_to;
  Activity activity;
  sim::Time for_how_long;  // in that activity
  std::int32_t want_replicas;
  bool want_scaling;
  bool want_requeue;
  std::optional<sim::Time> proxy_for;
  std::optional<sim::Time> config_retention, annotation_retention;
  std::optional<sim::Time> pa_window;
  std::optional<int> min_scale;
  bool unreachable = false;
};

TEST(KpaScaler, TestScalerTable) {
  constexpr sim::Time kGrace = 60 * kS, kWindow = 5 * sim::kMinute, kPaWindow = 45 * kS;
  constexpr sim::Time kActivationTimeout = 121 * kS + 30 * kS;
  const ScalerCase cases[] = {
      {"waits to scale to zero (just before idle period)", 1, 0, Activity::kActive, kWindow - kS, 1,
       false, true},
      {"waits to scale to zero (just before idle period), custom PA window",
       1,
       0,
       Activity::kActive,
       kPaWindow - kS,
       1,
       false,
       true,
       {},
       {},
       {},
       kPaWindow},
      {"custom PA window, check for standard window, no probe",
       1,
       0,
       Activity::kActive,
       kWindow,
       0,
       false,
       false,
       {},
       {},
       {},
       kPaWindow},
      {"scale to 1 waiting for idle expires", 10, 0, Activity::kActive, kWindow - kS, 1, true,
       true},
      {"waits to scale to zero after idle period", 1, 0, Activity::kActive, kWindow, 0, false,
       false},
      {"waits to scale to zero after idle period; sks in proxy mode", 1, 0, Activity::kActive,
       kWindow, 0, false, true, sim::Time{0}},
      {"can scale to zero after grace period, but 0 PA retention",
       1,
       0,
       Activity::kInactive,
       kGrace,
       0,
       true,
       false,
       {},
       2 * kGrace,
       sim::Time{0}},
      {"can't scale to zero after grace period, but before last pod retention",
       1,
       0,
       Activity::kInactive,
       kGrace,
       0,
       false,
       true,
       {},
       2 * kGrace},
      {"can't scale to zero after grace period, but before last pod retention, pa defined",
       1,
       0,
       Activity::kInactive,
       kGrace,
       0,
       false,
       true,
       {},
       sim::Time{0},
       2 * kGrace},
      {"scale to zero after grace period, and after last pod retention",
       1,
       0,
       Activity::kInactive,
       kGrace,
       0,
       true,
       false,
       {},
       kGrace},
      {"scale to zero after grace period", 1, 0, Activity::kInactive, kGrace, 0, true, false},
      {"waits to scale to zero (just before grace period)", 1, 0, Activity::kInactive, kGrace - kS,
       0, false, true},
      {"waits to scale to zero (just before grace period, sks short)", 1, 0, Activity::kInactive,
       kGrace - kS, 0, false, true, kGrace - kS},
      {"waits to scale to zero (just before grace period, sks in proxy long) and last pod timeout "
       "positive",
       1, 0, Activity::kInactive, kGrace - kS, 0, true, false, kGrace, 42 * kS},
      {"waits to scale to zero (just before grace period, sks in proxy long)", 1, 0,
       Activity::kInactive, kGrace - kS, 0, true, false, kGrace},
      {"waits to scale to zero while activating until after deadline exceeded", 1, 0,
       Activity::kActivating, kActivationTimeout / 2, -1, false, true},
      {"scale to zero while activating after deadline exceeded", 1, 0, Activity::kActivating,
       kActivationTimeout + kS, 0, true, false},
      {"scale down to minScale before grace period",
       10,
       0,
       Activity::kInactive,
       kGrace - kS,
       2,
       true,
       false,
       {},
       {},
       {},
       {},
       2},
      {"scale down to minScale after grace period",
       10,
       0,
       Activity::kInactive,
       kGrace,
       2,
       true,
       false,
       {},
       {},
       {},
       {},
       2},
      {"scale to zero ignore last pod retention if revision is unreachable",
       1,
       0,
       Activity::kInactive,
       kGrace,
       0,
       true,
       false,
       {},
       10 * kGrace,
       {},
       {},
       {},
       true},
      {"can't scale to zero if revision is unreachable, but before deadline",
       1,
       0,
       Activity::kInactive,
       kGrace - kS,
       0,
       false,
       true,
       {},
       10 * kGrace,
       {},
       {},
       {},
       true},
      {"ignore minScale if unreachable",
       10,
       0,
       Activity::kInactive,
       kGrace,
       0,
       true,
       false,
       {},
       {},
       {},
       {},
       2,
       true},
  };
  for (const ScalerCase& c : cases) {
    SCOPED_TRACE(c.label);
    Config config;
    config.scale_to_zero_grace_period = kGrace;
    config.stable_window = kWindow;
    config.progress_deadline = 121 * kS;
    if (c.config_retention) config.scale_to_zero_pod_retention_period = *c.config_retention;
    Annotations a;
    a.window = c.pa_window;
    a.scale_to_zero_pod_retention_period = c.annotation_retention;
    a.min_scale = c.min_scale;
    DeciderSpec spec = MakeDecider(config, a, 0);
    spec.reachable = !c.unreachable;
    PodAutoscalerStatus status;
    status.activity = c.activity;
    status.activity_since = kNow - c.for_how_long;
    status.initialized = true;
    status.proxy = c.proxy_for.has_value();
    status.proxy_since = kNow - c.proxy_for.value_or(0);
    const ScalerDecision d = Scaler(config, a, spec, status, c.scale_to, kNow);
    EXPECT_EQ(d.scale, c.want_replicas);
    EXPECT_EQ(d.apply && d.scale != c.start_replicas, c.want_scaling);
    EXPECT_EQ(d.requeue_after > 0, c.want_requeue);
  }
}

TEST(KpaScaler, TestScalerBoundsAndInitialScale) {
  Config config;
  PodAutoscalerStatus status;
  status.activity = Activity::kActive;
  status.initialized = true;
  Annotations a;
  a.max_scale = 8;  // "scale up to maxScale"
  EXPECT_EQ(Scaler(config, a, MakeDecider(config, a, 0), status, 10, kNow).scale, 8);
  EXPECT_EQ(Scaler(config, a, MakeDecider(config, a, 0), status, -1, kNow).scale, -1);
  // "initial scale not yet reached": initial-scale 2, not initialized.
  Annotations initial;
  initial.initial_scale = 2;
  status.initialized = false;
  status.activity = Activity::kActivating;
  const ScalerDecision d =
      Scaler(config, initial, MakeDecider(config, initial, 0), status, 1, kNow);
  EXPECT_EQ(d.scale, 2);
  EXPECT_TRUE(d.apply);
  // Once initialized, scaling to zero from Active waits out the window at 1.
  status.initialized = true;
  status.activity = Activity::kActive;
  status.activity_since = kNow - 2 * sim::kMinute;
  const ScalerDecision e =
      Scaler(config, initial, MakeDecider(config, initial, 0), status, 0, kNow);
  EXPECT_EQ(e.scale, 0);
  EXPECT_FALSE(e.apply);  // active for longer than the window: marked inactive
  config.enable_scale_to_zero = false;
  EXPECT_EQ(Scaler(config, initial, MakeDecider(config, initial, 0), status, 0, kNow).scale, 1);
}

// kpa.go computeActiveCondition and the ServerlessService's mode.
TEST(KpaReconcile, ActiveConditionAndMode) {
  Config config;
  Annotations a;
  const DeciderSpec spec = MakeDecider(config, a, 0);
  PodAutoscalerStatus s;  // a new revision: activating, proxied
  Reconciled(config, a, spec, -1, 0, 0, kNow, s);
  EXPECT_EQ(s.activity, Activity::kActivating);
  EXPECT_TRUE(s.proxy);
  Reconciled(config, a, spec, 1, -100, 1, kNow + kS,
             s);  // ready, but the burst needs the activator
  EXPECT_EQ(s.activity, Activity::kActive);
  EXPECT_EQ(s.activity_since, kNow + kS);
  EXPECT_TRUE(s.initialized);
  EXPECT_TRUE(s.proxy);
  Reconciled(config, a, spec, 3, 10, 3, kNow + 2 * kS, s);  // enough capacity: serve
  EXPECT_FALSE(s.proxy);
  Reconciled(config, a, spec, 0, 10, 1, kNow + 3 * kS, s);  // nothing wanted: inactive, proxied
  EXPECT_EQ(s.activity, Activity::kInactive);
  EXPECT_TRUE(s.proxy);
  EXPECT_EQ(s.proxy_since, kNow + 3 * kS);
  Reconciled(config, a, spec, -1, 10, 0, kNow + 4 * kS, s);  // no data does not erase want 0
  EXPECT_EQ(s.desired_scale, 0);
  Reconciled(config, a, spec, 1, -5, 0, kNow + 5 * kS, s);  // a request: activating
  EXPECT_EQ(s.activity, Activity::kActivating);
}

}  // namespace
}  // namespace platsim::platform::kpa
