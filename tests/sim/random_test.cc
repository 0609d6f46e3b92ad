#include "sim/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "sim/stats.h"

namespace platsim::sim {
namespace {

constexpr int kDraws = 400000;

// The sample mean of n draws lies within 5 standard errors of the true mean
// (fails by chance with probability about 6e-7).
void ExpectMeanWithin(const RunningStats& s, double mean, double stddev) {
  EXPECT_NEAR(s.mean(), mean, 5.0 * stddev / std::sqrt(static_cast<double>(s.count())));
}

TEST(RandomStream, SameSeedGivesSameSequence) {
  RandomStream a(123);
  RandomStream b(123);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(a.NextU64(), b.NextU64());
}

TEST(DeriveSeed, DistinctNamesAndSeedsGiveDistinctSeeds) {
  EXPECT_NE(DeriveSeed(1, "a"), DeriveSeed(1, "b"));
  EXPECT_NE(DeriveSeed(1, "a"), DeriveSeed(2, "a"));
  EXPECT_EQ(DeriveSeed(1, "a"), DeriveSeed(1, "a"));
  EXPECT_EQ(ReplicationSeed(99, 0), 99u);
  EXPECT_NE(ReplicationSeed(99, 1), ReplicationSeed(99, 2));
}

TEST(RandomStream, UniformHasMeanHalfAndVarianceOneTwelfth) {
  RandomStream rng(1);
  RunningStats s;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    s.Add(u);
  }
  ExpectMeanWithin(s, 0.5, std::sqrt(1.0 / 12.0));
  EXPECT_NEAR(s.variance(), 1.0 / 12.0, 0.002);
}

TEST(RandomStream, UniformIntIsUnbiasedByChiSquare) {
  RandomStream rng(2);
  constexpr int kBins = 7;
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kDraws; ++i)
    ++counts[rng.UniformInt(kBins)];
  const double expected = static_cast<double>(kDraws) / kBins;
  double chi2 = 0;
  for (int c : counts)
    chi2 += (c - expected) * (c - expected) / expected;
  // The 0.9999 quantile of chi-square with 6 degrees of freedom is 27.86.
  EXPECT_LT(chi2, 27.86);
}

TEST(RandomStream, ExponentialHasTheRequestedMean) {
  RandomStream rng(3);
  RunningStats s;
  for (int i = 0; i < kDraws; ++i)
    s.Add(rng.Exponential(2.5));
  ExpectMeanWithin(s, 2.5, 2.5);
  EXPECT_NEAR(s.variance(), 6.25, 0.15);
}

TEST(RandomStream, NormalHasMeanZeroVarianceOne) {
  RandomStream rng(4);
  RunningStats s;
  for (int i = 0; i < kDraws; ++i)
    s.Add(rng.Normal());
  ExpectMeanWithin(s, 0.0, 1.0);
  EXPECT_NEAR(s.variance(), 1.0, 0.015);
}

TEST(RandomStream, LogNormalMeanIsExpOfMuPlusHalfSigmaSquared) {
  RandomStream rng(5);
  RunningStats s;
  const double mu = -1.0, sigma = 0.5;
  for (int i = 0; i < kDraws; ++i)
    s.Add(rng.LogNormal(mu, sigma));
  const double mean = std::exp(mu + sigma * sigma / 2);
  const double sd = mean * std::sqrt(std::exp(sigma * sigma) - 1);
  ExpectMeanWithin(s, mean, sd);
}

}  // namespace
}  // namespace platsim::sim
