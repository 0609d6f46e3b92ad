#include "platform/controllers/kpa_algorithm.h"

#include <algorithm>
#include <cmath>

namespace platsim::platform::kpa {
namespace {

// autoscaling.TargetMin (pkg/apis/autoscaling/register.go).
constexpr double kTargetMin = 0.01;
// The decider's tick (pkg/autoscaler/scaling/multiscaler.go tickInterval):
// the scale-down delay window counts in these.
constexpr sim::Time kTickInterval = 2 * sim::kSecond;
// kpa/kpa.go minActivators; kpa/scaler.go activationTimeoutBuffer.
constexpr int kMinActivators = 2;
constexpr sim::Time kActivationTimeoutBuffer = 30 * sim::kSecond;

double RoundTo6Digits(double x) {
  return std::round(x * 1e6) / 1e6;
}

}  // namespace

MetricTarget ResolveMetricTarget(const Config& config, const Annotations& a,
                                 int container_concurrency) {
  double total = 0, utilization = 0;
  if (a.metric == Metric::kRps) {
    total = config.rps_target_default;
    utilization = config.target_utilization;
  } else {
    total = container_concurrency != 0 ? container_concurrency
                                       : config.container_concurrency_target_default;
    utilization = config.container_concurrency_target_fraction;
  }
  if (a.target) {
    total = *a.target;
    if (a.metric == Metric::kConcurrency && container_concurrency != 0) {
      total = std::min(*a.target, static_cast<double>(container_concurrency));
    }
  }
  if (a.target_utilization_percentage) utilization = *a.target_utilization_percentage / 100.0;
  return {std::max(kTargetMin, total * utilization), total};
}

int InitialScale(const Config& config, const Annotations& a) {
  if (!a.initial_scale || (*a.initial_scale == 0 && !config.allow_zero_initial_scale)) {
    return config.initial_scale;
  }
  return *a.initial_scale;
}

Bounds ScaleBounds(const Config& config, const Annotations& a, bool reachable) {
  Bounds b;
  if (reachable) b.min = a.min_scale.value_or(config.min_scale);
  b.max = a.max_scale.value_or(config.max_scale);
  return b;
}

DeciderSpec MakeDecider(const Config& config, const Annotations& a, int container_concurrency) {
  DeciderSpec d;
  d.metric = a.metric;
  const MetricTarget t = ResolveMetricTarget(config, a, container_concurrency);
  d.target_value = t.target;
  d.total_value = t.total;
  d.target_burst_capacity = a.target_burst_capacity.value_or(config.target_burst_capacity);
  d.panic_threshold =
      a.panic_threshold_percentage.value_or(config.panic_threshold_percentage) / 100.0;
  d.max_scale_up_rate = config.max_scale_up_rate;
  d.max_scale_down_rate = config.max_scale_down_rate;
  d.activator_capacity = config.activator_capacity;
  d.stable_window = a.window.value_or(config.stable_window);
  // metric.go MakeMetric: the panic window is a share of the stable one,
  // rounded to the second, at least the 1-second bucket.
  const double percentage = a.panic_window_percentage.value_or(config.panic_window_percentage);
  const double panic_ns = static_cast<double>(d.stable_window) * percentage / 100.0;
  d.panic_window = std::max<sim::Time>(
      sim::kSecond, static_cast<sim::Time>(std::round(panic_ns / 1e9)) * sim::kSecond);
  d.scale_down_delay = a.scale_down_delay.value_or(config.scale_down_delay);
  d.activation_scale = a.activation_scale.value_or(0);
  d.initial_scale = InitialScale(config, a);
  d.weighted_exponential = a.weighted_exponential;
  return d;
}

Buckets::Buckets(sim::Time window, sim::Time granularity, bool weighted)
    : window_(window), granularity_(granularity), weighted_(weighted) {
  const auto n = static_cast<std::size_t>((window + granularity - 1) / granularity);
  buckets_.assign(std::max<std::size_t>(1, n), 0.0);
  // computeSmoothingCoeff: max(1 - (1 - 0.9999)^(1/n), 0.2).
  smoothing_ =
      std::max(1.0 - std::pow(1.0 - 0.9999, 1.0 / static_cast<double>(buckets_.size())), 0.2);
}

bool Buckets::IsEmpty(sim::Time now) const {
  return !written_ || Truncate(now) - last_write_ > window_;
}

void Buckets::Record(sim::Time now, double value) {
  const sim::Time bucket_time = Truncate(now);
  const std::int64_t write_index = Index(now);
  const auto n = static_cast<std::int64_t>(buckets_.size());
  if (!written_ || last_write_ != bucket_time) {
    // A write more than a window before the last is dropped.
    if (written_ && bucket_time + window_ <= last_write_) return;
    if (!written_ || first_write_ > bucket_time) first_write_ = bucket_time;
    if (!written_ || bucket_time > last_write_) {
      if (!written_ || bucket_time - last_write_ >= window_) {
        // Silent for a whole window: start over.
        first_write_ = bucket_time;
        std::fill(buckets_.begin(), buckets_.end(), 0.0);
        window_total_ = 0;
      } else {
        for (std::int64_t i = Index(last_write_) + 1; i <= write_index; ++i) {
          double& b = buckets_[static_cast<std::size_t>(i % n)];
          window_total_ -= b;
          b = 0;
        }
      }
      last_write_ = bucket_time;
      written_ = true;
    }
  }
  buckets_[static_cast<std::size_t>(write_index % n)] += value;
  window_total_ += value;
}

double Buckets::WindowAverage(sim::Time now) const {
  now = Truncate(now);
  if (!written_) return 0;
  const auto n = static_cast<std::int64_t>(buckets_.size());
  if (weighted_) {
    if (IsEmpty(now)) return 0;
    std::int64_t count = n;
    double multiplier = smoothing_;
    if (now > last_write_) {
      const std::int64_t zeros = (now - last_write_) / granularity_;
      multiplier *= std::pow(1.0 - smoothing_, static_cast<double>(zeros));
      count -= zeros;
    }
    const std::int64_t start = Index(last_write_) + n;
    double sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      sum += buckets_[static_cast<std::size_t>((start - i) % n)] * multiplier;
      multiplier *= 1.0 - smoothing_;
    }
    return sum;
  }
  const sim::Time d = now - last_write_;
  const auto written_seconds = static_cast<double>((last_write_ - first_write_) / granularity_ + 1);
  if (d <= 0) {
    return RoundTo6Digits(window_total_ / std::min(written_seconds, static_cast<double>(n)));
  }
  if (d < window_) {
    const std::int64_t first = Index(last_write_), last = Index(now);
    double total = window_total_;
    for (std::int64_t i = first + 1; i <= last; ++i)
      total -= buckets_[static_cast<std::size_t>(i % n)];
    return RoundTo6Digits(total /
                          std::min(written_seconds, static_cast<double>(n - (last - first))));
  }
  return 0;
}

void MaxWindow::Record(std::int64_t index, std::int32_t value) {
  // Values no larger than the new one can never be the maximum again.
  while (!entries_.empty() && entries_.back().value <= value)
    entries_.pop_back();
  while (!entries_.empty() && index - entries_.front().index >= size_)
    entries_.pop_front();
  entries_.push_back({index, value});
}

Autoscaler::Autoscaler(const DeciderSpec& spec, int ready_at_creation, sim::Time now)
    : spec_(spec) {
  // newAutoscaler: a revision created with more than one pod ready starts
  // in panic mode, holding them.
  max_panic_pods_ = ready_at_creation;
  if (ready_at_creation > 1) panic_time_ = now;
  if (spec_.scale_down_delay > 0) {
    delay_window_.emplace(
        static_cast<int>((spec_.scale_down_delay + kTickInterval - 1) / kTickInterval));
  }
}

ScaleResult Autoscaler::Scale(sim::Time now, int ready, std::optional<Observed> observed) {
  if (!observed) return {};
  const double ready_pods = std::max(1.0, static_cast<double>(ready));
  const double max_scale_up = std::ceil(spec_.max_scale_up_rate * ready_pods);
  const double max_scale_down =
      spec_.reachable ? std::floor(ready_pods / spec_.max_scale_down_rate) : 0.0;
  const double dspc = std::ceil(observed->stable / spec_.target_value);
  const double dppc = std::ceil(observed->panic / spec_.target_value);
  auto desired_stable =
      static_cast<std::int32_t>(std::min(std::max(dspc, max_scale_down), max_scale_up));
  auto desired_panic =
      static_cast<std::int32_t>(std::min(std::max(dppc, max_scale_down), max_scale_up));
  if (spec_.activation_scale > 1) {
    if (dspc > 0 && spec_.activation_scale > desired_stable)
      desired_stable = spec_.activation_scale;
    if (dppc > 0 && spec_.activation_scale > desired_panic) desired_panic = spec_.activation_scale;
  }
  const bool over_threshold = dppc / ready_pods >= spec_.panic_threshold;
  if (over_threshold) {
    panic_time_ = now;  // enter panic, or extend it
  } else if (panic_time_ && *panic_time_ + spec_.stable_window < now) {
    panic_time_.reset();  // the surge has reached the stable window
    max_panic_pods_ = 0;
  }
  std::int32_t desired = desired_stable;
  if (panic_time_) {
    // Never scale down while panicking.
    desired = std::max(desired, desired_panic);
    max_panic_pods_ = std::max(max_panic_pods_, desired);
    desired = max_panic_pods_;
  }
  if (spec_.reachable && delay_window_) {
    delay_window_->Record(now / kTickInterval, desired);
    desired = delay_window_->Current();
  }
  double ebc = -1;
  if (spec_.target_burst_capacity == 0) {
    ebc = 0;
  } else if (spec_.target_burst_capacity > 0) {
    ebc = std::floor(ready * spec_.total_value - spec_.target_burst_capacity - observed->panic);
  }
  return {desired, static_cast<std::int32_t>(ebc), true};
}

int NumActivators(int ready, const DeciderSpec& spec) {
  if (spec.target_burst_capacity == 0) return kMinActivators;
  double capacity = ready * spec.total_value;
  if (spec.target_burst_capacity > 0) capacity += spec.target_burst_capacity;
  return std::max(kMinActivators, static_cast<int>(std::ceil(capacity / spec.activator_capacity)));
}

ScalerDecision Scaler(const Config& config, const Annotations& a, const DeciderSpec& spec,
                      const PodAutoscalerStatus& status, std::int32_t desired, sim::Time now) {
  const bool activating = status.activity == Activity::kActivating;
  if (desired < 0 && !activating) return {desired, false, 0};  // no metrics yet
  Bounds bounds = ScaleBounds(config, a, spec.reachable);
  if (spec.initial_scale > 1 && !status.initialized && spec.reachable) {
    bounds.min = std::max(bounds.min, spec.initial_scale);
  }
  if (desired < bounds.min) {
    desired = bounds.min;
  } else if (bounds.max != 0 && desired > bounds.max) {
    desired = bounds.max;
  }
  if (desired != 0) return {desired, true, 0};

  // handleScaleToZero: only once the revision has been active for the
  // stable window (then marked inactive) and backed by the activator for
  // the grace period; or when it never activated within the deadline.
  if (!config.enable_scale_to_zero) return {1, true, 0};
  const sim::Time since = now - status.activity_since;
  switch (status.activity) {
    case Activity::kActivating: {
      const sim::Time timeout =
          a.progress_deadline.value_or(config.progress_deadline) + kActivationTimeoutBuffer;
      if (since > timeout) return {0, true, 0};
      return {-1, false, timeout};
    }
    case Activity::kActive: {
      if (since >= spec.stable_window) {
        // Marked inactive by this reconcile; in proxy mode nothing else
        // would reconcile it soon.
        return {0, false, status.proxy ? 3 * sim::kSecond : 0};
      }
      return {1, true, spec.stable_window - since};
    }
    case Activity::kInactive: {
      const sim::Time retention = spec.reachable ? a.scale_to_zero_pod_retention_period.value_or(
                                                       config.scale_to_zero_pod_retention_period)
                                                 : 0;
      if (since >= std::max(config.scale_to_zero_grace_period, retention)) return {0, true, 0};
      if (retention > 0 && since < retention) return {0, false, retention - since};
      const sim::Time proxy_for = status.proxy ? now - status.proxy_since : 0;
      const sim::Time left = config.scale_to_zero_grace_period - proxy_for;
      if (left <= 0) return {0, true, 0};
      return {0, false, left};
    }
  }
  return {desired, true, 0};
}

void Reconciled(const Config& config, const Annotations& a, const DeciderSpec& spec,
                std::int32_t want, std::int32_t excess_burst_capacity, int ready, sim::Time now,
                PodAutoscalerStatus& status) {
  // The ServerlessService: the activator leaves the path only while pods
  // are wanted and can take the burst capacity without it.
  const bool proxy = !(want > 0 && excess_burst_capacity >= 0);
  if (proxy && !status.proxy) status.proxy_since = now;
  status.proxy = proxy;

  // computeStatus: "no data" does not overwrite a known desired scale.
  if (!(want == -1 && status.desired_scale && *status.desired_scale >= 0)) {
    status.desired_scale = want;
  }
  // computeActiveCondition.
  const Bounds bounds = ScaleBounds(config, a, spec.reachable);
  const int min_ready =
      status.initialized ? std::max(bounds.min, 1) : std::max(bounds.min, InitialScale(config, a));
  if (ready >= min_ready) status.initialized = true;
  auto mark = [&](Activity activity) {
    if (status.activity != activity) {
      status.activity = activity;
      status.activity_since = now;
    }
  };
  if (want == 0 || min_ready == 0) {
    mark(Activity::kInactive);
  } else if (ready < min_ready) {
    mark(want > 0 || status.activity != Activity::kInactive ? Activity::kActivating
                                                            : Activity::kInactive);
  } else if (want > 0 || status.activity != Activity::kInactive) {
    mark(Activity::kActive);
  }
}

}  // namespace platsim::platform::kpa
