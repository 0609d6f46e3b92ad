#include "sim/stats.h"

#include <gtest/gtest.h>

#include <ostream>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "sim/random.h"

namespace platsim::sim {
namespace {

double ExactQuantile(std::vector<double> sorted, double q) {
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1));
  return sorted[rank];
}

struct SketchCase {
  const char* name;
  double accuracy;
  int n;
};

std::ostream& operator<<(std::ostream& os, const SketchCase& c) {
  return os << c.name;
}

class QuantileSketchAccuracy : public ::testing::TestWithParam<SketchCase> {};

TEST_P(QuantileSketchAccuracy, EveryQuantileIsWithinTheRelativeBound) {
  const SketchCase c = GetParam();
  RandomStream rng(99);
  QuantileSketch sketch(c.accuracy);
  std::vector<double> values;
  for (int i = 0; i < c.n; ++i) {
    // Heavy-tailed, spanning about six decades.
    const double v = rng.LogNormal(std::log(0.05), 1.5);
    values.push_back(v);
    sketch.Add(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
    const double exact = ExactQuantile(values, q);
    const double got = sketch.Quantile(q);
    EXPECT_LE(std::fabs(got - exact) / exact, c.accuracy * (1 + 1e-9))
        << "q=" << q << " exact=" << exact << " sketch=" << got;
  }
  EXPECT_EQ(sketch.count(), static_cast<std::uint64_t>(c.n));
  EXPECT_EQ(sketch.min(), values.front());
  EXPECT_EQ(sketch.max(), values.back());
}

INSTANTIATE_TEST_SUITE_P(Cases, QuantileSketchAccuracy,
                         ::testing::Values(SketchCase{"default", 0.001, 200000},
                                           SketchCase{"one_percent", 0.01, 50000},
                                           SketchCase{"few", 0.001, 7}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(QuantileSketch, MergeEqualsTheSketchOfTheUnion) {
  RandomStream rng(5);
  QuantileSketch a, b, all;
  for (int i = 0; i < 20000; ++i) {
    const double x = rng.Exponential(1.0);
    const double y = rng.Exponential(100.0);  // disjoint-ish range forces growth both ways
    a.Add(x);
    b.Add(y);
    all.Add(x);
    all.Add(y);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q = 0.0; q <= 1.0; q += 0.01)
    EXPECT_EQ(a.Quantile(q), all.Quantile(q)) << q;
}

// What summary.json reports: the default sketch, within 0.1% of the exact
// order statistic.
// Buckets count in 32 bits and carry past 4.3 billion: a bucket of 2^32 + 5
// values is read, and merged, at its whole count.
TEST(QuantileSketch, ABucketPastFourBillionKeepsItsCount) {
  constexpr std::uint64_t kMany = (1ULL << 32) + 5;
  QuantileSketch a;
  a.AddCount(1.0, 0.0, kMany);
  a.Add(2.0);
  EXPECT_EQ(a.count(), kMany + 1);
  EXPECT_NEAR(a.Quantile(0.5), 1.0, 1e-3);
  EXPECT_NEAR(a.Quantile(1.0 - 0.5 / static_cast<double>(kMany)), 1.0, 1e-3)
      << "every rank but the last is in the big bucket";
  EXPECT_DOUBLE_EQ(a.Quantile(1.0), 2.0);
  QuantileSketch b;
  b.Add(2.0);
  b.Add(2.0);
  b.Merge(a);
  EXPECT_EQ(b.count(), kMany + 3);
  // Ranks: kMany ones, then three twos; the 0.99999999-quantile is still 1.
  EXPECT_NEAR(b.Quantile(0.99999999), 1.0, 1e-3);
  EXPECT_NEAR(b.Quantile(1.0), 2.0, 2e-3);
}

// What another rank reads back is the sketch: every quantile, the count,
// the extremes, zeros and a bucket past 2^32, whatever the reader held.
TEST(QuantileSketch, SavedAndLoadedIsTheSameSketch) {
  QuantileSketch a(0.01);
  RandomStream rng(3);
  for (int i = 0; i < 5000; ++i)
    a.Add(rng.Exponential(2.0));
  a.Add(0.0);
  a.AddCount(1.0, 0.0, (1ULL << 32) + 7);
  std::vector<std::byte> bytes;
  ByteWriter out(bytes);
  a.Save(out);
  QuantileSketch b;  // another accuracy, and values of its own
  b.Add(42.0);
  ByteReader in(bytes);
  b.Load(in);
  EXPECT_EQ(b.count(), a.count());
  EXPECT_EQ(b.min(), a.min());
  EXPECT_EQ(b.max(), a.max());
  EXPECT_EQ(b.relative_accuracy(), a.relative_accuracy());
  for (const double q : {0.0, 1e-6, 0.1, 0.5, 0.9, 0.99, 0.9999999999, 1.0})
    EXPECT_EQ(b.Quantile(q), a.Quantile(q)) << q;
  // And it goes on like the original.
  a.Add(7.0);
  b.Add(7.0);
  EXPECT_EQ(b.Quantile(1.0), a.Quantile(1.0));
  EXPECT_EQ(b.count(), a.count());
}

TEST(QuantileSketch, TheDefaultIsWithinOneTenthOfAPercent) {
  RandomStream rng(7);
  QuantileSketch sketch;
  std::vector<double> values;
  for (int i = 0; i < 100000; ++i) {
    values.push_back(rng.Exponential(0.1));
    sketch.Add(values.back());
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = ExactQuantile(values, q);
    EXPECT_LE(std::fabs(sketch.Quantile(q) - exact) / exact, 0.001) << q;
  }
}

// Replications of one distribution: their medians differ by about 0.2%
// (the median's standard error at this n), less than a 1% bucket, so a
// bucket's fixed representative would report the same value for several
// and a confidence interval of zero width. Interpolated, all differ.
TEST(QuantileSketch, ReplicationsThatDifferGiveDifferentQuantiles) {
  std::vector<double> medians;
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    RandomStream rng(seed);
    QuantileSketch sketch(0.005);
    for (int i = 0; i < 200000; ++i)
      sketch.Add(rng.Exponential(1.0));
    medians.push_back(sketch.Quantile(0.5));
  }
  std::sort(medians.begin(), medians.end());
  EXPECT_EQ(std::adjacent_find(medians.begin(), medians.end()), medians.end())
      << medians[0] << " " << medians[1] << " " << medians[2] << " " << medians[3] << " "
      << medians[4];
}

TEST(QuantileSketch, ZerosAreCountedAndReportedAsZero) {
  QuantileSketch s;
  for (int i = 0; i < 10; ++i)
    s.Add(0.0);
  for (int i = 0; i < 10; ++i)
    s.Add(1.0);
  EXPECT_EQ(s.Quantile(0.3), 0.0);
  EXPECT_NEAR(s.Quantile(0.9), 1.0, 0.005);
  EXPECT_TRUE(std::isnan(QuantileSketch().Quantile(0.5)));
}

TEST(RunningStats, MatchesTwoPassMeanAndVarianceAndMerges) {
  const std::vector<double> xs{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5};
  double mean = 0;
  for (double x : xs)
    mean += x;
  mean /= xs.size();
  double ss = 0;
  for (double x : xs)
    ss += (x - mean) * (x - mean);
  RunningStats whole, left, right;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    whole.Add(xs[i]);
    (i < 4 ? left : right).Add(xs[i]);
  }
  EXPECT_NEAR(whole.mean(), mean, 1e-12);
  EXPECT_NEAR(whole.variance(), ss / (xs.size() - 1), 1e-12);
  left.Merge(right);
  EXPECT_NEAR(left.mean(), mean, 1e-12);
  EXPECT_NEAR(left.variance(), ss / (xs.size() - 1), 1e-12);
}

TEST(TimeAverage, IntegratesAPiecewiseConstantSignal) {
  TimeAverage avg(0, 2.0);  // 2 on [0,10)
  avg.Set(10, 4.0);         // 4 on [10,30)
  avg.Set(30, 0.0);         // 0 on [30,40]
  EXPECT_DOUBLE_EQ(avg.Mean(40), (2.0 * 10 + 4.0 * 20) / 40);
  avg.Reset(40);
  avg.Set(50, 1.0);
  EXPECT_DOUBLE_EQ(avg.Mean(60), 0.5);
}

TEST(StudentTQuantile, MatchesClosedFormsForOneAndTwoDegrees) {
  for (double p : {0.6, 0.9, 0.975, 0.995}) {
    // dof 1 is the Cauchy distribution.
    EXPECT_NEAR(StudentTQuantile(p, 1), std::tan(std::numbers::pi * (p - 0.5)), 1e-9) << p;
    // dof 2: t = (2p-1) / sqrt(2p(1-p)).
    EXPECT_NEAR(StudentTQuantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-9) << p;
  }
  EXPECT_NEAR(StudentTQuantile(0.025, 2), -StudentTQuantile(0.975, 2), 1e-12);
}

TEST(StudentTQuantile, ApproachesTheNormalQuantileForLargeDof) {
  // The normal 0.975 quantile, from erfc by bisection (independent of the t code).
  double lo = 0, hi = 5;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < 0.975 ? lo : hi) = mid;
  }
  EXPECT_NEAR(StudentTQuantile(0.975, 100000), lo, 1e-4);
}

TEST(ConfidenceInterval, CoversTheTrueMeanAboutNinetyFivePercentOfTheTime) {
  RandomStream rng(8);
  constexpr int kTrials = 4000;
  int covered = 0;
  for (int t = 0; t < kTrials; ++t) {
    std::vector<double> xs;
    for (int i = 0; i < 5; ++i)
      xs.push_back(10.0 + 3.0 * rng.Normal());
    const Estimate e = ConfidenceInterval(xs);
    if (std::fabs(e.mean - 10.0) <= e.half_width) ++covered;
  }
  // Binomial(4000, 0.95): standard deviation 13.8; allow 5 of them.
  EXPECT_NEAR(covered, 0.95 * kTrials, 5 * 13.8);
}

TEST(StudentTCdf, MatchesClosedFormsAndTheDensityIntegratedAtNonWholeDof) {
  for (double t : {-3.0, -0.4, 0.0, 0.7, 2.5, 12.0}) {
    // One degree: Cauchy; two: 1/2 + t / (2 sqrt(2 + t^2)).
    EXPECT_NEAR(StudentTCdf(t, 1.0), 0.5 + std::atan(t) / std::numbers::pi, 1e-12) << t;
    EXPECT_NEAR(StudentTCdf(t, 2.0), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-12) << t;
  }
  // 2.5 degrees: Simpson's rule over the density from 0 to t.
  const double v = 2.5;
  const double c =
      std::exp(std::lgamma((v + 1) / 2) - std::lgamma(v / 2)) / std::sqrt(v * std::numbers::pi);
  auto density = [&](double x) { return c * std::pow(1 + x * x / v, -(v + 1) / 2); };
  const double t = 1.7;
  const int n = 2000;
  double integral = density(0) + density(t);
  for (int i = 1; i < n; ++i)
    integral += (i % 2 ? 4 : 2) * density(t * i / n);
  EXPECT_NEAR(StudentTCdf(t, v), 0.5 + integral * t / n / 3, 1e-10);
}

TEST(WelchGreater, AWorkedExample) {
  // a: mean 2.5, variance 5/3; b: mean 6, variance 10. Standard error
  // sqrt(5/12 + 2); t = 3.5 / that = 2.25144; Welch-Satterthwaite
  // (29/12)^2 / ((5/12)^2 / 3 + 2^2 / 4) = 5.52079 degrees. scipy.stats'
  // ttest_ind(b, a, equal_var=False, alternative="greater") gives p =
  // 0.0345668, and with b less 1.5, p = 0.124783.
  const std::vector<double> a = {1, 2, 3, 4}, b = {2, 4, 6, 8, 10};
  const TestResult r = WelchGreater(a, b, 0);
  EXPECT_NEAR(r.statistic, 3.5 / std::sqrt(5.0 / 12 + 2), 1e-12);
  EXPECT_NEAR(r.dof, (29.0 / 12) * (29.0 / 12) / (25.0 / 144 / 3 + 1), 1e-12);
  EXPECT_NEAR(r.p_value, 0.0345668, 1e-6);
  EXPECT_NEAR(WelchGreater(a, b, 1.5).p_value, 0.124783, 1e-6);
  // Constant samples: certain either way.
  const std::vector<double> two = {2, 2}, three = {3, 3, 3};
  EXPECT_EQ(WelchGreater(two, three, 0.5).p_value, 0);
  EXPECT_EQ(WelchGreater(two, three, 1.0).p_value, 1);
}

// P(U >= observed) by listing every way to label the pooled values.
double EnumeratedMannWhitney(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> all = a;
  all.insert(all.end(), b.begin(), b.end());
  auto u_of = [](const std::vector<double>& x, const std::vector<double>& y) {
    double u = 0;
    for (double yi : y) {
      for (double xi : x)
        u += yi > xi ? 1 : yi == xi ? 0.5 : 0;
    }
    return u;
  };
  const double observed = u_of(a, b);
  std::vector<int> pick(all.size(), 0);
  std::fill(pick.end() - static_cast<long>(b.size()), pick.end(), 1);
  int total = 0, at_least = 0;
  do {
    std::vector<double> x, y;
    for (std::size_t i = 0; i < all.size(); ++i)
      (pick[i] ? y : x).push_back(all[i]);
    ++total;
    at_least += u_of(x, y) >= observed - 1e-9;
  } while (std::next_permutation(pick.begin(), pick.end()));
  return static_cast<double>(at_least) / total;
}

TEST(MannWhitneyGreater, ExactWithoutTiesAsEveryLabellingCounts) {
  const std::vector<double> a = {3.1, 1.2, 5.5, 2.0}, b = {8.2, 4.4, 6.1};
  const TestResult r = MannWhitneyGreater(a, b, 0);
  EXPECT_EQ(r.statistic, 11);
  EXPECT_NEAR(r.p_value, EnumeratedMannWhitney(a, b), 1e-12);
  EXPECT_NEAR(r.p_value, 2.0 / 35, 1e-12);  // scipy.stats.mannwhitneyu, exact
  const std::vector<double> c = {4.4, 6.1, 2.5, 7.0, 8.2}, d = {3.1, 1.2, 5.5, 2.0};
  EXPECT_NEAR(MannWhitneyGreater(c, d, 0).p_value, EnumeratedMannWhitney(c, d), 1e-12);
  EXPECT_NEAR(MannWhitneyGreater(c, d, 0).p_value, 0.968253968, 1e-9);
  // A margin shifts b down: with 2 off, b's 4.4 falls below a's 3.1.
  const std::vector<double> shifted = {6.2, 2.4, 4.1};
  EXPECT_NEAR(MannWhitneyGreater(a, b, 2.0).p_value, EnumeratedMannWhitney(a, shifted), 1e-12);
}

TEST(MannWhitneyGreater, WithTiesTheNormalApproximationWithCorrections) {
  // scipy.stats.mannwhitneyu(b, a, alternative="greater",
  // method="asymptotic", use_continuity=True): U = 18.5, p = 0.120922.
  const std::vector<double> a = {1, 2, 2, 3, 5}, b = {2, 3, 4, 4, 6};
  const TestResult r = MannWhitneyGreater(a, b, 0);
  EXPECT_EQ(r.statistic, 18.5);
  EXPECT_NEAR(r.p_value, 0.12092215, 1e-7);
}

}  // namespace
}  // namespace platsim::sim
