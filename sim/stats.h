// Streaming statistics: a mergeable quantile sketch with bounded relative
// error, running moments, a time-weighted average, and confidence intervals
// over replications.
#ifndef PLATSIM_SIM_STATS_H_
#define PLATSIM_SIM_STATS_H_

#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "sim/ranks.h"
#include "sim/time.h"

namespace platsim::sim {

// A log-bucketed quantile sketch (the DDSketch construction, Masson et al.,
// VLDB 2019), read by interpolating inside a bucket. Bucket i holds the
// values in (g^(i-1), g^i] with g = 1 + relative_error; the sample's order
// statistic of rank r = floor(q*(n-1)) lies in the bucket where the
// cumulative count passes r, and Quantile(q) places it inside that bucket
// by its rank among the bucket's values (geometrically). So Quantile(q) is
// within `relative_error` of that order statistic, and, unlike a bucket's
// fixed representative, it moves with the data: replications that differ
// give different quantiles, and their confidence interval does not collapse
// to zero. Values at or below kMinPositive (including zero and negatives,
// which latencies never are) are counted in a zero bucket and reported as 0.
// Merging two sketches of the same accuracy gives exactly the sketch of the
// union. Memory grows with log(max/min) of the values seen, not with n:
// about 4,600 buckets (18 KB) span two decades at 0.1%.
class QuantileSketch {
 public:
  static constexpr double kMinPositive = 1e-12;

  // REQUIRES: 0 < relative_error < 1. The default keeps error under 0.1%.
  explicit QuantileSketch(double relative_error = 0.001);

  void Add(double value) { AddWithLog(value, value > kMinPositive ? std::log(value) : 0.0); }
  // The same, with log(value) already computed (several sketches of one
  // stream share it). REQUIRES: log_value == std::log(value) if value >
  // kMinPositive.
  void AddWithLog(double value, double log_value) { AddCount(value, log_value, 1); }
  // `n` copies of `value`, with its logarithm as for AddWithLog.
  void AddCount(double value, double log_value, std::uint64_t n);
  // REQUIRES: other.relative_accuracy() == relative_accuracy().
  void Merge(const QuantileSketch& other);
  void Clear();

  std::uint64_t count() const { return count_; }
  double relative_accuracy() const { return alpha_; }  // the relative_error bound
  double min() const { return min_; }                  // exact; +inf when empty
  double max() const { return max_; }                  // exact; -inf when empty

  // The q-quantile, q in [0, 1]; NaN when empty. Clamped to [min, max].
  double Quantile(double q) const;

  // Writes the whole sketch, and reads it back (on another rank).
  void Save(ByteWriter& out) const;
  void Load(ByteReader& in);

 private:
  int IndexOf(double log_value) const;
  // The value at `position` (0..1) across bucket `index`.
  double ValueOf(int index, double position) const;

  double alpha_;
  double log_gamma_;
  double inv_log_gamma_;
  // The count of bucket offset_ + i: buckets_[i] plus 2^32 for each carry
  // recorded in carries_ (32-bit counters halve the memory a sketch touches;
  // a bucket passing 4.3 billion is rare, so its carries live aside).
  std::uint64_t CountOf(std::size_t i) const;
  void AddToBucket(int index, std::uint64_t n);
  std::vector<std::uint32_t> buckets_;
  std::map<int, std::uint64_t> carries_;  // by bucket index
  int offset_ = 0;
  std::uint64_t zero_count_ = 0;
  std::uint64_t count_ = 0;
  double min_;
  double max_;
};

// Count, mean and variance of a stream (Welford's algorithm); mergeable.
class RunningStats {
 public:
  void Add(double x);
  void Merge(const RunningStats& other);
  std::uint64_t count() const { return n_; }
  double mean() const { return mean_; }  // 0 when empty
  double variance() const;               // sample variance (n-1); 0 when n < 2
  double sum() const { return mean_ * static_cast<double>(n_); }

 private:
  std::uint64_t n_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
};

// The time average of a piecewise-constant quantity (queue length, replicas).
// Set() records a new value from `now` on; Mean() integrates up to `now`.
class TimeAverage {
 public:
  // The quantity is `initial` from `start` on.
  explicit TimeAverage(Time start = 0, double initial = 0.0)
      : start_(start), last_(start), value_(initial) {}

  // REQUIRES: now >= the time of the previous Set(). Inline: it runs twice
  // per request.
  void Set(Time now, double value) {
    integral_ += value_ * static_cast<double>(now - last_);
    last_ = now;
    value_ = value;
  }
  void Add(Time now, double delta) { Set(now, value_ + delta); }
  double value() const { return value_; }
  // Mean over [start, now]; the current value if now == start.
  double Mean(Time now) const;
  // The integral over [start, now], in value x nanoseconds.
  double Integral(Time now) const { return integral_ + value_ * static_cast<double>(now - last_); }
  // Restarts the average at `now`, keeping the current value.
  void Reset(Time now);

 private:
  Time start_;
  Time last_;
  double value_;
  double integral_ = 0.0;  // value x nanoseconds since start_
};

// The p-quantile of Student's t distribution with `dof` degrees of freedom.
// REQUIRES: dof >= 1, 0 < p < 1.
double StudentTQuantile(double p, int dof);
// P(T <= t) for Student's t with `dof` (> 0, not necessarily whole)
// degrees of freedom.
double StudentTCdf(double t, double dof);

// One-sided two-sample tests of whether `b` is larger than `a` by more
// than `margin`: the null hypothesis is that it is not. `p_value` is the
// probability, under the null, of a statistic at least as large.
struct TestResult {
  double statistic = 0;
  double p_value = 1;
  double dof = 0;  // Welch's degrees of freedom
};
// Welch's t-test (unequal variances): t = (mean(b) - mean(a) - margin) /
// sqrt(var(a)/n_a + var(b)/n_b), with the Welch-Satterthwaite degrees of
// freedom. Where both samples are constant the difference is certain: p is
// 0 if it exceeds the margin, else 1. REQUIRES: two or more of each.
TestResult WelchGreater(std::span<const double> a, std::span<const double> b, double margin);
// The Mann-Whitney U test: U counts the pairs (a_i, b_j) with b_j - margin
// above a_i, a tie counting a half. Without ties and with at most 50 of
// each, p is exact (the count of orderings with U at least as large, over
// all); otherwise the normal approximation with the tie correction and a
// continuity correction. REQUIRES: one or more of each.
TestResult MannWhitneyGreater(std::span<const double> a, std::span<const double> b, double margin);

// A mean and the half-width of its two-sided confidence interval.
struct Estimate {
  double mean = 0.0;
  double half_width = 0.0;  // 0 when fewer than two samples
  int samples = 0;
};

// Mean and 95% (by default) Student-t confidence interval of independent
// replication results.
Estimate ConfidenceInterval(std::span<const double> samples, double confidence = 0.95);

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_STATS_H_
