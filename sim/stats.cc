#include "sim/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace platsim::sim {

QuantileSketch::QuantileSketch(double relative_error)
    : alpha_(relative_error),
      log_gamma_(std::log1p(relative_error)),
      inv_log_gamma_(1.0 / log_gamma_),
      min_(std::numeric_limits<double>::infinity()),
      max_(-std::numeric_limits<double>::infinity()) {}

int QuantileSketch::IndexOf(double log_value) const {
  // Bucket i holds (gamma^(i-1), gamma^i].
  return static_cast<int>(std::ceil(log_value * inv_log_gamma_));
}

double QuantileSketch::ValueOf(int index, double position) const {
  // gamma^(i - 1 + position): geometric interpolation across the bucket.
  return std::exp(log_gamma_ * (static_cast<double>(index) - 1.0 + position));
}

void QuantileSketch::AddCount(double value, double log_value, std::uint64_t n) {
  if (n == 0) return;
  count_ += n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  if (!(value > kMinPositive)) {
    zero_count_ += n;
    return;
  }
  AddToBucket(IndexOf(log_value), n);
}

void QuantileSketch::AddToBucket(int index, std::uint64_t n) {
  if (buckets_.empty()) {
    offset_ = index;
    buckets_.assign(1, 0);
  } else if (index < offset_) {
    buckets_.insert(buckets_.begin(), static_cast<std::size_t>(offset_ - index), 0);
    offset_ = index;
  } else if (index >= offset_ + static_cast<int>(buckets_.size())) {
    buckets_.resize(static_cast<std::size_t>(index - offset_ + 1), 0);
  }
  std::uint32_t& bucket = buckets_[static_cast<std::size_t>(index - offset_)];
  const std::uint64_t total = bucket + n;
  bucket = static_cast<std::uint32_t>(total);
  if (total >> 32) carries_[index] += total >> 32;
}

std::uint64_t QuantileSketch::CountOf(std::size_t i) const {
  std::uint64_t count = buckets_[i];
  if (!carries_.empty()) {
    const auto it = carries_.find(offset_ + static_cast<int>(i));
    if (it != carries_.end()) count += it->second << 32;
  }
  return count;
}

void QuantileSketch::Merge(const QuantileSketch& other) {
  if (other.count_ == 0) return;
  if (&other == this) {
    const QuantileSketch copy = other;
    Merge(copy);
    return;
  }
  count_ += other.count_;
  zero_count_ += other.zero_count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) {
    const std::uint64_t n = other.CountOf(i);
    if (n > 0) AddToBucket(other.offset_ + static_cast<int>(i), n);
  }
}

void QuantileSketch::Save(ByteWriter& out) const {
  for (const double d : {alpha_, log_gamma_, inv_log_gamma_, min_, max_})
    out.Put(d);
  out.Put(offset_);
  out.Put(zero_count_);
  out.Put(count_);
  out.PutVector(buckets_);
  out.Put<std::uint64_t>(carries_.size());
  for (const auto& [index, carries] : carries_) {
    out.Put(index);
    out.Put(carries);
  }
}

void QuantileSketch::Load(ByteReader& in) {
  for (double* d : {&alpha_, &log_gamma_, &inv_log_gamma_, &min_, &max_})
    *d = in.Get<double>();
  offset_ = in.Get<int>();
  zero_count_ = in.Get<std::uint64_t>();
  count_ = in.Get<std::uint64_t>();
  in.GetVector(buckets_);
  carries_.clear();
  for (auto n = in.Get<std::uint64_t>(); n > 0; --n) {
    const int index = in.Get<int>();
    carries_[index] = in.Get<std::uint64_t>();
  }
}

void QuantileSketch::Clear() {
  buckets_.clear();
  carries_.clear();
  zero_count_ = 0;
  count_ = 0;
  min_ = std::numeric_limits<double>::infinity();
  max_ = -std::numeric_limits<double>::infinity();
}

double QuantileSketch::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1));
  if (rank < zero_count_) return std::clamp(0.0, min_, max_);
  std::uint64_t seen = zero_count_;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    const std::uint64_t n = CountOf(i);
    if (seen + n > rank) {
      // The rank's place among the bucket's values, at the middle of its
      // share of the bucket.
      const double position = (static_cast<double>(rank - seen) + 0.5) / static_cast<double>(n);
      return std::clamp(ValueOf(offset_ + static_cast<int>(i), position), min_, max_);
    }
    seen += n;
  }
  return max_;
}

void RunningStats::Add(double x) {
  ++n_;
  const double delta = x - mean_;
  mean_ += delta / static_cast<double>(n_);
  m2_ += delta * (x - mean_);
}

void RunningStats::Merge(const RunningStats& other) {
  if (other.n_ == 0) return;
  if (n_ == 0) {
    *this = other;
    return;
  }
  const double n = static_cast<double>(n_ + other.n_);
  const double delta = other.mean_ - mean_;
  mean_ += delta * static_cast<double>(other.n_) / n;
  m2_ += other.m2_ + delta * delta * static_cast<double>(n_) * static_cast<double>(other.n_) / n;
  n_ += other.n_;
}

double RunningStats::variance() const {
  return n_ < 2 ? 0.0 : m2_ / static_cast<double>(n_ - 1);
}

double TimeAverage::Mean(Time now) const {
  if (now <= start_) return value_;
  const double integral = integral_ + value_ * static_cast<double>(now - last_);
  return integral / static_cast<double>(now - start_);
}

void TimeAverage::Reset(Time now) {
  start_ = now;
  last_ = now;
  integral_ = 0.0;
}

namespace {

// Continued fraction for the regularized incomplete beta function
// (modified Lentz's method).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return h;
}

// I_x(a, b).
double RegularizedIncompleteBeta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

}  // namespace

double StudentTCdf(double t, double dof) {
  const double tail = 0.5 * RegularizedIncompleteBeta(dof / 2.0, 0.5, dof / (dof + t * t));
  return t >= 0 ? 1.0 - tail : tail;
}

TestResult WelchGreater(std::span<const double> a, std::span<const double> b, double margin) {
  RunningStats sa, sb;
  for (double x : a)
    sa.Add(x);
  for (double x : b)
    sb.Add(x);
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = sa.variance() / na, vb = sb.variance() / nb;
  const double diff = sb.mean() - sa.mean() - margin;
  TestResult r;
  if (va + vb == 0) {
    r.statistic = diff > 0 ? INFINITY : diff < 0 ? -INFINITY : 0;
    r.p_value = diff > 0 ? 0.0 : 1.0;
    return r;
  }
  r.statistic = diff / std::sqrt(va + vb);
  r.dof = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
  r.p_value = 1.0 - StudentTCdf(r.statistic, r.dof);
  return r;
}

TestResult MannWhitneyGreater(std::span<const double> a, std::span<const double> b, double margin) {
  const std::size_t m = a.size(), n = b.size();
  // U and the sizes of tied groups over both samples (b shifted).
  std::vector<std::pair<double, int>> all;
  for (double x : a)
    all.emplace_back(x, 0);
  for (double y : b)
    all.emplace_back(y - margin, 1);
  std::sort(all.begin(), all.end());
  // Ascending, each group of equal values at once: each b of the group is
  // above the a's before it and ties with the group's own.
  double u = 0, tie_term = 0, a_below = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    double as = 0, bs = 0;
    while (j < all.size() && all[j].first == all[i].first) {
      (all[j].second == 0 ? as : bs) += 1;
      ++j;
    }
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    u += bs * (a_below + 0.5 * as);
    a_below += as;
    i = j;
  }
  TestResult r;
  r.statistic = u;
  const double mn = static_cast<double>(m) * static_cast<double>(n);
  if (tie_term == 0 && m <= 50 && n <= 50) {
    // N(i, j, u), the orderings of i a's and j b's with U = u: the largest
    // is an a (above no b) or a b (above all i a's), so N(i, j, u) =
    // N(i - 1, j, u) + N(i, j - 1, u - i). One layer of i at a time.
    const std::size_t top = m * n;
    std::vector<std::vector<double>> prev(n + 1, std::vector<double>(top + 1, 0.0));
    for (std::size_t j = 0; j <= n; ++j)
      prev[j][0] = 1;  // no a's: U = 0
    for (std::size_t i = 1; i <= m; ++i) {
      std::vector<std::vector<double>> cur(n + 1, std::vector<double>(top + 1, 0.0));
      cur[0][0] = 1;
      for (std::size_t j = 1; j <= n; ++j) {
        for (std::size_t v = 0; v <= i * j; ++v) {
          cur[j][v] = prev[j][v] + (v >= i ? cur[j - 1][v - i] : 0.0);
        }
      }
      prev = std::move(cur);
    }
    double total = 0, at_least = 0;
    const auto observed = static_cast<std::size_t>(std::llround(u));
    for (std::size_t v = 0; v <= top; ++v) {
      total += prev[n][v];
      if (v >= observed) at_least += prev[n][v];
    }
    r.p_value = at_least / total;
    return r;
  }
  const double big_n = static_cast<double>(m + n);
  const double variance = mn / 12.0 * ((big_n + 1) - tie_term / (big_n * (big_n - 1)));
  if (variance <= 0) {
    r.p_value = u > mn / 2 ? 0.0 : 1.0;
    return r;
  }
  const double z = (u - mn / 2 - 0.5) / std::sqrt(variance);
  r.p_value = 0.5 * std::erfc(z / std::sqrt(2.0));
  return r;
}

double StudentTQuantile(double p, int dof) {
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -StudentTQuantile(1.0 - p, dof);
  double lo = 0.0;
  double hi = 1.0;
  while (StudentTCdf(hi, static_cast<double>(dof)) < p)
    hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (StudentTCdf(mid, static_cast<double>(dof)) < p) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return 0.5 * (lo + hi);
}

Estimate ConfidenceInterval(std::span<const double> samples, double confidence) {
  Estimate e;
  e.samples = static_cast<int>(samples.size());
  RunningStats stats;
  for (double x : samples)
    stats.Add(x);
  e.mean = stats.mean();
  if (samples.size() >= 2) {
    const double t = StudentTQuantile(0.5 + confidence / 2.0, e.samples - 1);
    e.half_width = t * std::sqrt(stats.variance() / e.samples);
  }
  return e;
}

}  // namespace platsim::sim
