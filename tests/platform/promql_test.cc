// The PromQL subset against values worked out by hand from Prometheus'
// definitions: extrapolatedRate (promql/functions.go) for rate and increase,
// bucketQuantile (promql/quantile.go) for histogram_quantile, and the
// operators' and aggregations' documented semantics. Each expected value is
// derived in the comment beside it, not by running the code.
#include "platform/analysis/promql.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <variant>
#include <vector>

namespace platsim::platform::analysis {
namespace {

constexpr sim::Time kS = sim::kSecond;
constexpr double kInf = std::numeric_limits<double>::infinity();

// What a Prometheus server has scraped, in memory.
class FakeSource : public SeriesSource {
 public:
  void Add(std::string name, Labels labels, std::vector<Sample> samples) {
    series_.push_back({std::move(name), std::move(labels), std::move(samples)});
  }

  void Select(
      std::string_view name, sim::Time from, sim::Time to,
      const std::function<void(const Labels&, std::span<const Sample>)>& fn) const override {
    for (const Stored& s : series_) {
      if (s.name != name) continue;
      std::vector<Sample> in;
      for (const Sample& x : s.samples) {
        if (x.t > from && x.t <= to) in.push_back(x);
      }
      fn(s.labels, in);
    }
  }

 private:
  struct Stored {
    std::string name;
    Labels labels;
    std::vector<Sample> samples;
  };
  std::vector<Stored> series_;
};

// Samples at first_s, first_s + step_s, ... (n of them), valued v0, v0 + dv, ...
std::vector<Sample> Ramp(int first_s, int step_s, int n, double v0, double dv) {
  std::vector<Sample> out;
  for (int i = 0; i < n; ++i)
    out.push_back({(first_s + i * step_s) * kS, v0 + i * dv});
  return out;
}

std::vector<Sample> At(std::vector<std::pair<int, double>> points) {
  std::vector<Sample> out;
  for (auto [t, v] : points)
    out.push_back({t * kS, v});
  return out;
}

// Parses and evaluates `text`, failing the test on an error.
QueryResult RunQuery(const SeriesSource& source, std::string_view text, sim::Time now,
                     sim::Time lookback = 5 * sim::kMinute) {
  std::string error;
  const std::optional<Query> q = ParseQuery(text, &error);
  if (!q) {
    ADD_FAILURE() << text << ": " << error;
    return {};
  }
  auto result = Evaluate(*q, source, now, lookback);
  if (const auto* e = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << text << ": " << *e;
    return {};
  }
  return std::get<QueryResult>(std::move(result));
}

// The one value of a one-element vector (or of a scalar).
double One(const SeriesSource& source, std::string_view text, sim::Time now) {
  const QueryResult r = RunQuery(source, text, now);
  if (r.values.size() != 1) {
    ADD_FAILURE() << text << ": " << r.values.size() << " values, expected 1";
    return std::nan("");
  }
  return r.values[0];
}

// --- rate and increase -----------------------------------------------------

// A counter scraped every 15 s, rising 10 per scrape from 100 (so its zero
// point lies far before the range), evaluated over [1m] at t = 60 s.
TEST(PromqlRate, AlignedSamplesExtrapolateToTheRangeStart) {
  FakeSource src;
  src.Add("c", {}, Ramp(0, 15, 5, 100, 10));  // t = 0..60 s: 100..140
  // The range is (0, 60]: the sample at 0 is out. Samples 15..60 s, values
  // 110..140: delta 30 over a sampled 45 s, average interval 15 s, threshold
  // 16.5 s. To the start 15 s < 16.5: extrapolate fully; to the end 0.
  // increase = 30 * (45 + 15 + 0) / 45 = 40; rate = 40 / 60 = 2/3.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 40);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m])", 60 * kS), 40.0 / 60);
}

TEST(PromqlRate, GapsBelowThresholdExtrapolateAllTheWay) {
  FakeSource src;
  src.Add("c", {}, Ramp(16, 15, 3, 110, 10));  // 16, 31, 46 s
  // Range (0, 60]: delta 20 over 30 s, average 15 s, threshold 16.5 s.
  // To the start 16 s (< 16.5: all of it), to the end 14 s (all of it).
  // increase = 20 * (30 + 16 + 14) / 30 = 40. A threshold of 1.0 x the
  // average would cut the start to 7.5 s: 20 * 51.5 / 30 = 34.33.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 40);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m])", 60 * kS), 40.0 / 60);
}

TEST(PromqlRate, GapsAboveThresholdExtrapolateHalfAnInterval) {
  FakeSource src;
  src.Add("c", {}, Ramp(17, 15, 3, 110, 10));  // 17, 32, 47 s
  // To the start 17 s >= 16.5: only half an interval, 7.5 s. To the end
  // 13 s: all of it. increase = 20 * (30 + 7.5 + 13) / 30 = 33.666...
  // Without the threshold it would be 20 * (30 + 17 + 13) / 30 = 40.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 20 * 50.5 / 30);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m])", 60 * kS), 20 * 50.5 / 30 / 60);

  // A series that stopped: samples at 15 and 30 s, then nothing up to 60 s.
  FakeSource stopped;
  stopped.Add("c", {}, Ramp(15, 15, 2, 110, 10));
  // Delta 10 over 15 s; to the start 15 s (< 16.5, all); to the end 30 s
  // (>= 16.5: 7.5 s). increase = 10 * (15 + 15 + 7.5) / 15 = 25.
  EXPECT_DOUBLE_EQ(One(stopped, "increase(c[1m])", 60 * kS), 25);
}

TEST(PromqlRate, CounterIsNotExtrapolatedBelowZero) {
  FakeSource src;
  src.Add("c", {}, Ramp(15, 15, 4, 5, 10));  // 15..60 s: 5, 15, 25, 35
  // Delta 30 over 45 s; to the start 15 s is under the threshold, but the
  // line through the samples reaches zero 45 * 5 / 30 = 7.5 s before the
  // first: increase = 30 * (45 + 7.5) / 45 = 35 (40 without the limit).
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 35);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m])", 60 * kS), 35.0 / 60);

  // A counter born inside the range at 0: no extrapolation to the start.
  FakeSource born;
  born.Add("c", {}, Ramp(15, 15, 4, 0, 10));  // 0, 10, 20, 30
  // Zero point 45 * 0 / 30 = 0 s before the first: 30 * 45 / 45 = 30.
  EXPECT_DOUBLE_EQ(One(born, "increase(c[1m])", 60 * kS), 30);
}

TEST(PromqlRate, ZeroPointLimitAppliesAfterTheThreshold) {
  FakeSource src;
  src.Add("c", {}, Ramp(30, 15, 3, 10, 10));  // 30, 45, 60 s: 10, 20, 30
  // To the start 30 s >= 16.5: cut to 7.5 s. The zero point is 30 * 10 / 20
  // = 15 s back, farther than 7.5 s, so it does not bind:
  // increase = 20 * (30 + 7.5) / 30 = 25. (Before prometheus#13725 the zero
  // point came first, 15 s passed the threshold, and the answer was 30.)
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 25);
}

TEST(PromqlRate, CounterResetAddsThePreviousValue) {
  FakeSource src;
  src.Add("c", {}, At({{15, 100}, {30, 110}, {45, 5}, {60, 15}}));
  // Raw delta 15 - 100 = -85, plus 110 at the reset: 25 (10 + 5 + 10).
  // To the start 15 s (zero point 45 * 100 / 25 = 180 s back: no limit):
  // increase = 25 * 60 / 45 = 33.33; rate = 33.33 / 60.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m])", 60 * kS), 25.0 * 60 / 45);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m])", 60 * kS), 25.0 * 60 / 45 / 60);
}

TEST(PromqlRate, CompoundDurationAndLeftOpenRange) {
  FakeSource src;
  src.Add("c", {}, Ramp(0, 15, 5, 100, 10));  // 0..60 s: 100..140
  // [1m30s] at 60 s is (-30, 60]: all five samples, delta 40 over 60 s.
  // To the start 30 s >= 16.5: 7.5 s; zero point 60 * 100 / 40 = 150 s.
  // increase = 40 * (60 + 7.5) / 60 = 45; rate = 45 / 90 = 0.5.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[1m30s])", 60 * kS), 45);
  EXPECT_DOUBLE_EQ(One(src, "rate(c[1m30s])", 60 * kS), 0.5);
  // [45s] at 60 s is (15, 60]: the sample at 15 s is out. 30, 45, 60 s:
  // delta 20 over 30 s; to the start 15 s (< 16.5): 20 * 45 / 30 = 30.
  EXPECT_DOUBLE_EQ(One(src, "increase(c[45s])", 60 * kS), 30);
  EXPECT_DOUBLE_EQ(One(src, "increase(c[45000ms])", 60 * kS), 30);
}

TEST(PromqlRate, FewerThanTwoSamplesGiveNoElement) {
  FakeSource src;
  src.Add("c", {{"pod", "a"}}, At({{60, 5}}));
  src.Add("c", {{"pod", "b"}}, At({{45, 1}, {60, 2}}));
  const QueryResult r = RunQuery(src, "rate(c[1m])", 60 * kS);
  ASSERT_EQ(r.values.size(), 1u);
  EXPECT_EQ(r.labels[0], (Labels{{"pod", "b"}}));  // the metric name dropped
}

TEST(PromqlRate, IrateTakesTheLastTwoSamples) {
  FakeSource src;
  src.Add("c", {{"pod", "a"}}, Ramp(0, 15, 5, 100, 10));
  src.Add("c", {{"pod", "b"}}, At({{45, 110}, {60, 5}}));
  const QueryResult r = RunQuery(src, "irate(c[1m])", 60 * kS);
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_DOUBLE_EQ(r.values[0], 10.0 / 15);  // (140 - 130) / 15 s
  EXPECT_DOUBLE_EQ(r.values[1], 5.0 / 15);   // a reset: the last value / 15 s
}

// --- aggregation and vector matching ---------------------------------------

// Requests by pod and outcome, scraped every 15 s, counters from 1000 so
// that the aligned rate is exactly the per-scrape step over 15 s (see
// AlignedSamplesExtrapolateToTheRangeStart).
FakeSource Requests() {
  FakeSource src;
  src.Add("http_requests_total", {{"pod", "a"}, {"outcome", "error"}}, Ramp(0, 15, 5, 1000, 1));
  src.Add("http_requests_total", {{"pod", "a"}, {"outcome", "ok"}}, Ramp(0, 15, 5, 1000, 9));
  src.Add("http_requests_total", {{"pod", "b"}, {"outcome", "error"}}, Ramp(0, 15, 5, 1000, 3));
  src.Add("http_requests_total", {{"pod", "b"}, {"outcome", "ok"}}, Ramp(0, 15, 5, 1000, 17));
  return src;
}

TEST(PromqlAggregation, ErrorRateIsTheRatioOfTwoSums) {
  const FakeSource src = Requests();
  // Rates 1/15, 9/15, 3/15, 17/15. Errors (1 + 3)/15, all 30/15: 4/30.
  const QueryResult r = RunQuery(src,
                                 "sum(rate(http_requests_total{outcome=\"error\"}[1m])) / "
                                 "sum(rate(http_requests_total[1m]))",
                                 60 * kS);
  ASSERT_FALSE(r.scalar);
  ASSERT_EQ(r.values.size(), 1u);
  EXPECT_NEAR(r.values[0], 4.0 / 30, 1e-12);
  EXPECT_EQ(r.labels[0], Labels{});
}

TEST(PromqlAggregation, SumByAndWithoutGroup) {
  const FakeSource src = Requests();
  const sim::Time now = 60 * kS;
  for (const char* q : {"sum by (pod) (rate(http_requests_total[1m]))",
                        "sum(rate(http_requests_total[1m])) by (pod)",
                        "sum without (outcome) (rate(http_requests_total[1m]))"}) {
    const QueryResult r = RunQuery(src, q, now);
    ASSERT_EQ(r.values.size(), 2u) << q;
    EXPECT_EQ(r.labels[0], (Labels{{"pod", "a"}})) << q;
    EXPECT_NEAR(r.values[0], 10.0 / 15, 1e-12) << q;  // (1 + 9) / 15
    EXPECT_EQ(r.labels[1], (Labels{{"pod", "b"}})) << q;
    EXPECT_NEAR(r.values[1], 20.0 / 15, 1e-12) << q;  // (3 + 17) / 15
  }
  // Instant values at 60 s: 1004, 1036, 1012, 1068.
  EXPECT_DOUBLE_EQ(One(src, "avg(http_requests_total)", now), (1004 + 1036 + 1012 + 1068) / 4.0);
  EXPECT_DOUBLE_EQ(One(src, "min(http_requests_total)", now), 1004);
  EXPECT_DOUBLE_EQ(One(src, "max(http_requests_total)", now), 1068);
  EXPECT_DOUBLE_EQ(One(src, "count(http_requests_total)", now), 4);
  const QueryResult by_outcome = RunQuery(src, "max by (outcome) (http_requests_total)", now);
  ASSERT_EQ(by_outcome.values.size(), 2u);
  EXPECT_EQ(by_outcome.labels[0], (Labels{{"outcome", "error"}}));
  EXPECT_DOUBLE_EQ(by_outcome.values[0], 1012);
  EXPECT_DOUBLE_EQ(by_outcome.values[1], 1068);
}

TEST(PromqlAggregation, PerPodErrorRateMatchesOneToOne) {
  const FakeSource src = Requests();
  const QueryResult r =
      RunQuery(src,
               "sum by (pod) (rate(http_requests_total{outcome=\"error\"}[1m])) / "
               "sum by (pod) (rate(http_requests_total[1m]))",
               60 * kS);
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_EQ(r.labels[0], (Labels{{"pod", "a"}}));
  EXPECT_NEAR(r.values[0], 0.1, 1e-12);   // 1 / 10
  EXPECT_NEAR(r.values[1], 0.15, 1e-12);  // 3 / 20
}

TEST(PromqlMatching, LabelSetsMustMatchUnlessOnOrIgnoring) {
  const FakeSource src = Requests();
  const sim::Time now = 60 * kS;
  // {pod, outcome=error} and {pod, outcome=ok} never share a label set.
  EXPECT_TRUE(
      RunQuery(src, "http_requests_total{outcome=\"error\"} / http_requests_total{outcome=\"ok\"}",
               now)
          .values.empty());
  const QueryResult ignoring =
      RunQuery(src,
               "http_requests_total{outcome=\"error\"} / ignoring(outcome) "
               "http_requests_total{outcome=\"ok\"}",
               now);
  ASSERT_EQ(ignoring.values.size(), 2u);
  EXPECT_EQ(ignoring.labels[0], (Labels{{"pod", "a"}}));
  EXPECT_DOUBLE_EQ(ignoring.values[0], 1004.0 / 1036);
  EXPECT_DOUBLE_EQ(ignoring.values[1], 1012.0 / 1068);
  const QueryResult on = RunQuery(
      src, "http_requests_total{outcome=\"ok\"} - on(pod) http_requests_total{outcome=\"error\"}",
      now);
  ASSERT_EQ(on.values.size(), 2u);
  EXPECT_EQ(on.labels[1], (Labels{{"pod", "b"}}));
  EXPECT_DOUBLE_EQ(on.values[0], 32);  // 1036 - 1004
  EXPECT_DOUBLE_EQ(on.values[1], 56);  // 1068 - 1012
}

TEST(PromqlMatching, ManyToManyIsAnError) {
  const FakeSource src = Requests();
  std::string error;
  const std::optional<Query> lhs_many = ParseQuery("http_requests_total / on() vector(1)", &error);
  ASSERT_TRUE(lhs_many) << error;
  auto r = Evaluate(*lhs_many, src, 60 * kS);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("many-to-one matching must be explicit"),
            std::string::npos)
      << std::get<std::string>(r);
  const std::optional<Query> rhs_many = ParseQuery("vector(1) / on() http_requests_total", &error);
  ASSERT_TRUE(rhs_many) << error;
  r = Evaluate(*rhs_many, src, 60 * kS);
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("duplicate series for the match group {} on the right"),
            std::string::npos)
      << std::get<std::string>(r);
}

// --- selectors ---------------------------------------------------------------

TEST(PromqlSelector, MatchersAreAnchoredAndTreatAbsentLabelsAsEmpty) {
  FakeSource src;
  src.Add("m", {{"pod", "a"}}, At({{60, 1}}));
  src.Add("m", {{"pod", "ab"}}, At({{60, 2}}));
  src.Add("m", {{"pod", "b"}, {"zone", "z1"}}, At({{60, 3}}));
  const sim::Time now = 60 * kS;
  auto values = [&](std::string_view q) { return RunQuery(src, q, now).values; };
  EXPECT_EQ(values("m{pod=\"a\"}"), (std::vector<double>{1}));
  EXPECT_EQ(values("m{pod!=\"a\"}"), (std::vector<double>{2, 3}));
  EXPECT_EQ(values("m{pod=~\"a\"}"), (std::vector<double>{1}));  // not "ab"
  EXPECT_EQ(values("m{pod=~\"a.*\"}"), (std::vector<double>{1, 2}));
  EXPECT_EQ(values("m{pod!~'a|b'}"), (std::vector<double>{2}));
  EXPECT_EQ(values("m{zone=\"\"}"), (std::vector<double>{1, 2}));
  EXPECT_EQ(values("m{zone!=\"\",}"), (std::vector<double>{3}));
  EXPECT_EQ(values("{__name__=\"m\", pod=`b`}"), (std::vector<double>{3}));
  // A bare selector keeps the metric name, as Prometheus' answers do.
  const QueryResult r = RunQuery(src, "m{pod=\"a\"}", now);
  EXPECT_EQ(r.labels[0], (Labels{{"__name__", "m"}, {"pod", "a"}}));
}

TEST(PromqlSelector, InstantSelectorLooksBackFiveMinutes) {
  FakeSource src;
  src.Add("m", {}, At({{0, 1}, {60, 2}}));
  // The latest sample in (now - 5m, now].
  EXPECT_DOUBLE_EQ(One(src, "m", 60 * kS), 2);
  EXPECT_DOUBLE_EQ(One(src, "m", 30 * kS), 1);
  EXPECT_DOUBLE_EQ(One(src, "m", 359 * kS), 2);
  EXPECT_TRUE(RunQuery(src, "m", 360 * kS).values.empty());  // 60 s is not after 360 - 300
  EXPECT_TRUE(RunQuery(src, "m", 120 * kS, 30 * kS).values.empty());
}

TEST(PromqlSelector, EmptySelectionIsAnEmptyVector) {
  const FakeSource src = Requests();
  const sim::Time now = 60 * kS;
  for (const char* q : {"nothing", "rate(nothing[1m])", "sum(nothing)", "count(nothing)",
                        "sum(rate(nothing{outcome=\"error\"}[1m])) / sum(rate(nothing[1m]))",
                        "http_requests_total{pod=\"c\"} * 2", "histogram_quantile(0.9, nothing)"}) {
    const QueryResult r = RunQuery(src, q, now);
    EXPECT_FALSE(r.scalar) << q;
    EXPECT_TRUE(r.values.empty()) << q;
  }
  const QueryResult s = RunQuery(src, "scalar(sum(nothing))", now);
  ASSERT_TRUE(s.scalar);
  EXPECT_TRUE(std::isnan(s.values[0]));
}

// --- operators ---------------------------------------------------------------

TEST(PromqlOperators, ScalarArithmeticFollowsPromqlPrecedence) {
  const FakeSource src;
  struct Case {
    const char* query;
    double want;
  };
  const Case cases[] = {
      {"1 + 2 * 3", 7},   {"(1 + 2) * 3", 9}, {"10 - 4 - 3", 3}, {"2 ^ 3 ^ 2", 512},
      {"-2 ^ 2", -4},     {"-2 * 3", -6},     {"8 / 2 / 2", 2},  {"7 % 4", 3},
      {"1e3 / 4", 250},   {"0x10", 16},       {".5 + 1.5", 2},   {"2 * -3", -6},
      {"1 < bool 2", 1},  {"2 == bool 3", 0}, {"- - 3", 3},      {"+4", 4},
      {"1 / 0", kInf},    {"-1 / 0", -kInf},  {"Inf - 1", kInf}, {"scalar(vector(5))", 5},
      {"time() + 1", 61},
  };
  for (const Case& c : cases) {
    const QueryResult r = RunQuery(src, c.query, 60 * kS);
    ASSERT_TRUE(r.scalar) << c.query;
    EXPECT_EQ(r.values[0], c.want) << c.query;
  }
  EXPECT_TRUE(std::isnan(One(src, "0 / 0", 0)));
  EXPECT_TRUE(std::isnan(One(src, "NaN", 0)));
}

TEST(PromqlOperators, VectorArithmeticDropsTheNameAndComparisonsFilter) {
  const FakeSource src = Requests();
  const sim::Time now = 60 * kS;
  const QueryResult times =
      RunQuery(src, "http_requests_total{pod=\"a\", outcome=\"ok\"} * 2", now);
  ASSERT_EQ(times.values.size(), 1u);
  EXPECT_DOUBLE_EQ(times.values[0], 2072);  // 1036 * 2
  EXPECT_EQ(times.labels[0], (Labels{{"outcome", "ok"}, {"pod", "a"}}));
  EXPECT_DOUBLE_EQ(One(src, "2000 - http_requests_total{pod=\"a\", outcome=\"ok\"}", now), 964);
  EXPECT_DOUBLE_EQ(One(src, "-http_requests_total{pod=\"a\", outcome=\"ok\"}", now), -1036);
  // Values 1004 (a/error), 1036 (a/ok), 1012 (b/error), 1068 (b/ok).
  const QueryResult above = RunQuery(src, "http_requests_total > 1010", now);
  EXPECT_EQ(above.values, (std::vector<double>{1012, 1036, 1068}));
  EXPECT_EQ(above.labels[0].at("__name__"), "http_requests_total");
  const QueryResult below = RunQuery(src, "1010 > http_requests_total", now);
  EXPECT_EQ(below.values, (std::vector<double>{1004}));  // the vector's value is kept
  const QueryResult as_bool = RunQuery(src, "http_requests_total > bool 1010", now);
  EXPECT_EQ(as_bool.values, (std::vector<double>{0, 1, 1, 1}));
  EXPECT_EQ(as_bool.labels[0].count("__name__"), 0u);
  const QueryResult vv =
      RunQuery(src, "sum by (pod) (http_requests_total) > bool on(pod) vector(2050)", now);
  EXPECT_TRUE(vv.values.empty());  // {pod} never matches {}
}

TEST(PromqlOperators, FunctionsOfVectors) {
  FakeSource src;
  src.Add("g", {{"k", "a"}}, At({{60, -3}}));
  src.Add("g", {{"k", "b"}}, At({{60, 2}}));
  const sim::Time now = 60 * kS;
  EXPECT_EQ(RunQuery(src, "abs(g)", now).values, (std::vector<double>{3, 2}));
  EXPECT_EQ(RunQuery(src, "clamp_min(g, 0)", now).values, (std::vector<double>{0, 2}));
  EXPECT_EQ(RunQuery(src, "clamp_max(g, 0)", now).values, (std::vector<double>{-3, 0}));
  EXPECT_TRUE(std::isnan(One(src, "scalar(g)", now)));  // two elements
  const QueryResult v = RunQuery(src, "vector(7)", now);
  ASSERT_FALSE(v.scalar);
  EXPECT_EQ(v.values, (std::vector<double>{7}));
}

// --- histogram_quantile ------------------------------------------------------

void AddBuckets(FakeSource* src, const char* name, Labels base,
                std::vector<std::pair<const char*, double>> buckets) {
  for (auto [le, count] : buckets) {
    Labels l = base;
    l["le"] = le;
    src->Add(name, l, At({{60, count}}));
  }
}

TEST(PromqlHistogramQuantile, InterpolatesWithinTheBucket) {
  FakeSource src;
  // Cumulative: 10 <= 0.1, 30 <= 0.5, 45 <= 1, 50 in all.
  AddBuckets(&src, "h_bucket", {{"version", "a"}},
             {{"0.1", 10}, {"0.5", 30}, {"1", 45}, {"+Inf", 50}});
  // Version b has no observations.
  AddBuckets(&src, "h_bucket", {{"version", "b"}}, {{"0.1", 0}, {"1", 0}, {"+Inf", 0}});
  struct Case {
    const char* q;
    double want;
  };
  const Case cases[] = {
      // rank 5 in the first bucket, from 0: 0 + 0.1 * 5/10.
      {"0.1", 0.05},
      // rank 25: bucket (0.1, 0.5] holds 20, rank 15 into it: 0.1 + 0.4 * 15/20.
      {"0.5", 0.4},
      // rank 40: (0.5, 1] holds 15, 10 into it: 0.5 + 0.5 * 10/15.
      {"0.8", 0.5 + 0.5 * 10 / 15},
      // rank 45 is exactly the le=1 count: the top of that bucket.
      {"0.9", 1},
      // rank 47.5 falls in the +Inf bucket: the highest finite bound.
      {"0.95", 1},
      {"1", 1},
      {"0", 0},
      {"-0.5", -kInf},
      {"1.5", kInf},
  };
  for (const Case& c : cases) {
    const QueryResult r =
        RunQuery(src, std::string("histogram_quantile(") + c.q + ", h_bucket)", 60 * kS);
    ASSERT_EQ(r.values.size(), 2u) << c.q;
    EXPECT_EQ(r.labels[0], (Labels{{"version", "a"}})) << c.q;
    if (std::isinf(c.want)) {
      EXPECT_EQ(r.values[0], c.want) << c.q;
    } else {
      EXPECT_NEAR(r.values[0], c.want, 1e-12) << c.q;
    }
    EXPECT_TRUE(std::isnan(r.values[1]) || std::isinf(c.want)) << c.q;  // no observations
  }
  EXPECT_TRUE(std::isnan(RunQuery(src, "histogram_quantile(NaN, h_bucket)", 60 * kS).values[0]));
}

TEST(PromqlHistogramQuantile, SpecialBucketSets) {
  FakeSource src;
  // No +Inf bucket: NaN.
  AddBuckets(&src, "h_bucket", {{"set", "1-no-inf"}}, {{"0.1", 1}, {"1", 2}});
  // Only a +Inf bucket: fewer than two buckets, NaN.
  AddBuckets(&src, "h_bucket", {{"set", "2-only-inf"}}, {{"+Inf", 4}});
  // A first bucket with a bound <= 0 is not interpolated from 0: q = 0.25
  // is rank 2.5 <= 5, the answer is that bound, -1.
  AddBuckets(&src, "h_bucket", {{"set", "3-negative"}}, {{"-1", 5}, {"0", 10}, {"+Inf", 10}});
  // Counts that fall with the bound are raised to the running maximum:
  // 8 at 0.5 becomes 10. q = 0.25 is rank 5 of 20, in the first bucket:
  // 0.1 * 5/10 = 0.05. (Checked with 0.6 below.)
  AddBuckets(&src, "h_bucket", {{"set", "4-non-monotonic"}},
             {{"0.1", 10}, {"0.5", 8}, {"1", 20}, {"+Inf", 20}});
  // A series without le is ignored.
  src.Add("h_bucket", {{"set", "5-no-le"}}, At({{60, 3}}));
  const QueryResult r = RunQuery(src, "histogram_quantile(0.25, h_bucket)", 60 * kS);
  ASSERT_EQ(r.values.size(), 4u);
  EXPECT_TRUE(std::isnan(r.values[0]));
  EXPECT_TRUE(std::isnan(r.values[1]));
  EXPECT_DOUBLE_EQ(r.values[2], -1);
  EXPECT_DOUBLE_EQ(r.values[3], 0.05);
  // q = 0.75 on the negative set: rank 7.5, bucket (-1, 0] holds 5, 2.5 into
  // it: -1 + 1 * 2.5/5 = -0.5.
  EXPECT_DOUBLE_EQ(One(src, "histogram_quantile(0.75, h_bucket{set=\"3-negative\"})", 60 * kS),
                   -0.5);
  // q = 0.6 on the non-monotonic set: rank 12; (0.5, 1] holds 20 - 10 = 10
  // (with the raw 8 it would hold 12 and give 0.5 + 0.5 * 4/12 = 0.667),
  // 2 into it: 0.5 + 0.5 * 2/10 = 0.6.
  EXPECT_DOUBLE_EQ(One(src, "histogram_quantile(0.6, h_bucket{set=\"4-non-monotonic\"})", 60 * kS),
                   0.6);
  // q = 0.5 there: rank 10 equals the first bucket's count, and the search
  // takes the first bucket whose count reaches the rank: its top, 0.1, not
  // the empty (0.1, 0.5] above it (which would give 0.5).
  EXPECT_DOUBLE_EQ(One(src, "histogram_quantile(0.5, h_bucket{set=\"4-non-monotonic\"})", 60 * kS),
                   0.1);
}

TEST(PromqlHistogramQuantile, OfSummedBucketRates) {
  FakeSource src;
  // Two pods' bucket counters, rising per 15 s scrape by (le: 0.1, 0.5, 1,
  // +Inf) = (1, 3, 4, 5) and (1, 3, 5, 5): summed rates (2, 6, 9, 10) / 15.
  const std::pair<const char*, std::pair<double, double>> steps[] = {
      {"0.1", {1, 1}}, {"0.5", {3, 3}}, {"1", {4, 5}}, {"+Inf", {5, 5}}};
  for (const auto& [le, step] : steps) {
    src.Add("lat_bucket", {{"pod", "a"}, {"le", le}}, Ramp(0, 15, 5, 1000, step.first));
    src.Add("lat_bucket", {{"pod", "b"}, {"le", le}}, Ramp(0, 15, 5, 1000, step.second));
  }
  // q = 0.5: rank 5/15; (0.1, 0.5] holds 4/15, 3/15 into it: 0.1 + 0.4 * 3/4.
  // q = 0.9: rank 9/15 is exactly the le=1 count: 1.
  const char* sum = "sum by (le) (rate(lat_bucket[1m]))";
  EXPECT_NEAR(One(src, std::string("histogram_quantile(0.5, ") + sum + ")", 60 * kS), 0.4, 1e-12);
  EXPECT_NEAR(One(src, std::string("histogram_quantile(0.9, ") + sum + ")", 60 * kS), 1, 1e-12);
}

// --- parse errors --------------------------------------------------------------

TEST(PromqlParse, ErrorsNameTheColumn) {
  struct Case {
    const char* query;
    const char* error;
  };
  const Case cases[] = {
      {"rate(x[1m]", "column 11: expected \",\" or \")\" in call to \"rate\", got end of input"},
      {"x{a=\"b\"", "column 8: expected \",\" or \"}\" in the selector, got end of input"},
      {"x{a=b}", "column 5: expected a string after the label matching operator, got \"b\""},
      {"x[5x]", "column 3: bad number or duration \"5x\""},
      {"x[30s1m]", "column 3: bad number or duration \"30s1m\""},
      {"x[0s]", "column 3: the range must be greater than 0"},
      {"rate(x)",
       "column 6: expected type range vector in call to function \"rate\", got "
       "instant vector"},
      {"rate(x[1m], 2)", "column 1: expected 1 argument(s) in call to \"rate\", got 2"},
      {"foo(x)", "column 1: unknown function with name \"foo\""},
      {"1 > 2", "column 3: comparisons between scalars must use BOOL modifier"},
      {"x{a=~\"(\"}", "column 6: invalid regular expression"},
      {"x[1m]", "column 1: a range vector cannot be a query's result"},
      {"x[1m] + 1", "column 7: binary expression must contain only scalar and instant vector"},
      {"x + ", "column 5: unexpected end of input"},
      {"1 $ 2", "column 3: unexpected character '$'"},
      {"sum(x) by (a) by (b)", "column 15: unexpected \"by\""},
      {"sum by (a) (x) by (b)", "column 16: the grouping is given twice"},
      {"sum(x[1m])",
       "column 5: expected type instant vector in aggregation expression, got "
       "range vector"},
      {"(x)[1m]", "column 4: ranges are only allowed on vector selectors"},
      {"x offset 5m", "column 3: unexpected \"offset\""},
      {"x + 5m", "column 5: unexpected duration \"5m\""},
      {"x + 1.5.2", "column 5: bad number or duration \"1.5.2\""},
      {"x / on(a) 2", "column 3: vector matching only allowed between instant vectors"},
      {"x + bool y", "column 5: bool modifier can only be used on comparison operators"},
      {"x[5m:1m]", "column 5: subqueries"},
      {"{a=\"b\"}", "column 1: a selector needs a metric name"},
      {"\"s\"", "column 1: string literals are only allowed in label matchers"},
      {"sum(\n  rate(x[1m)\n)", "line 2, column 12: expected \"]\" to close the range, got \")\""},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_FALSE(ParseQuery(c.query, &error)) << c.query;
    EXPECT_EQ(error.rfind(c.error, 0), 0u)
        << c.query << "\n  got:  " << error << "\n  want: " << c.error << "...";
  }
}

TEST(PromqlParse, NestingIsLimitedTo200Levels) {
  std::string error;
  // 100 additions, left-deep: 101 levels of nodes.
  std::string sum = "1";
  for (int i = 0; i < 100; ++i)
    sum += " + 1";
  ASSERT_TRUE(ParseQuery(sum, &error)) << error;
  EXPECT_DOUBLE_EQ(One(FakeSource(), sum, 0), 101);
  for (int i = 0; i < 200; ++i)
    sum += " + 1";
  EXPECT_FALSE(ParseQuery(sum, &error));
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  const std::string parens = std::string(300, '(') + "1" + std::string(300, ')');
  EXPECT_FALSE(ParseQuery(parens, &error));
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
}

TEST(PromqlParse, QueryKeepsItsTextAndType) {
  std::string error;
  const std::optional<Query> q = ParseQuery(" sum(rate(x[1m])) # a comment", &error);
  ASSERT_TRUE(q) << error;
  EXPECT_EQ(q->text(), " sum(rate(x[1m])) # a comment");
  EXPECT_FALSE(q->returns_scalar());
  const Query copy = *q;  // copies share the parsed tree
  EXPECT_EQ(copy.text(), q->text());
  EXPECT_TRUE(ParseQuery("scalar(x) * 2", &error)->returns_scalar());
}

}  // namespace
}  // namespace platsim::platform::analysis
