// The arithmetic of Knative Serving's autoscaler (the KPA), as upstream
// computes it: the metric windows, the decider (stable and panic modes,
// rate limits, the scale-down delay, excess burst capacity) and the
// PodAutoscaler reconciler's scaler (min, max and initial scale, scale to
// zero after the stable window and the grace period, the Active
// condition). Pure functions and small state machines of their inputs, so
// that each can be checked against upstream's own test tables; the
// controller that collects metrics and writes the scale is built on them.
//
// Upstream: knative/serving at v1.23 (commit 98e5ef9). Each piece names the
// file and function it follows.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_KPA_ALGORITHM_H_
#define PLATSIM_PLATFORM_CONTROLLERS_KPA_ALGORITHM_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "sim/time.h"

namespace platsim::platform::kpa {

enum class Metric { kConcurrency, kRps };

// The cluster-wide defaults: the config-autoscaler ConfigMap
// (pkg/autoscaler/config/config.go defaultConfig).
struct Config {
  double container_concurrency_target_fraction = 0.7;  // container-concurrency-target-percentage
  double container_concurrency_target_default = 100;
  double target_utilization = 0.7;  // for rps (no ConfigMap key)
  double rps_target_default = 200;  // requests-per-second-target-default
  double target_burst_capacity = 211;
  sim::Time stable_window = 60 * sim::kSecond;
  double panic_window_percentage = 10;
  double panic_threshold_percentage = 200;
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  double activator_capacity = 100;
  bool enable_scale_to_zero = true;
  sim::Time scale_to_zero_grace_period = 30 * sim::kSecond;
  sim::Time scale_to_zero_pod_retention_period = 0;
  sim::Time scale_down_delay = 0;
  int initial_scale = 1;
  bool allow_zero_initial_scale = false;
  int min_scale = 0;
  int max_scale = 0;  // 0: unbounded
  // config-deployment progress-deadline (pkg/apis/config/defaults.go):
  // how long a revision may take to activate.
  sim::Time progress_deadline = 600 * sim::kSecond;
};

// A revision's autoscaling.knative.dev/* annotations; unset: the Config's.
struct Annotations {
  Metric metric = Metric::kConcurrency;
  std::optional<double> target;
  std::optional<double> target_utilization_percentage;
  std::optional<double> target_burst_capacity;
  std::optional<double> panic_window_percentage;
  std::optional<double> panic_threshold_percentage;
  std::optional<sim::Time> window;  // the stable window
  std::optional<sim::Time> scale_down_delay;
  std::optional<sim::Time> scale_to_zero_pod_retention_period;
  std::optional<int> min_scale, max_scale, initial_scale, activation_scale;
  bool weighted_exponential = false;           // metric-aggregation-algorithm
  std::optional<sim::Time> progress_deadline;  // serving.knative.dev/progress-deadline
  bool operator==(const Annotations&) const = default;
};

// What the decider scales against (pkg/reconciler/autoscaling/resources/
// target.go ResolveMetricTarget): `total` is what one pod takes at most,
// `target` what it should carry (total x utilization, at least 0.01).
struct MetricTarget {
  double target = 0, total = 0;
};
MetricTarget ResolveMetricTarget(const Config& config, const Annotations& a,
                                 int container_concurrency);

// The decider's spec (pkg/reconciler/autoscaling/kpa/resources/decider.go
// MakeDecider, metric.go MakeMetric for the panic window).
struct DeciderSpec {
  Metric metric = Metric::kConcurrency;
  double target_value = 70, total_value = 100;
  double target_burst_capacity = 211;  // -1: unlimited (activator always in path)
  double panic_threshold = 2.0;        // a fraction
  double max_scale_up_rate = 1000, max_scale_down_rate = 2;
  double activator_capacity = 100;
  sim::Time stable_window = 60 * sim::kSecond;
  sim::Time panic_window = 6 * sim::kSecond;
  sim::Time scale_down_delay = 0;
  int activation_scale = 1;
  int initial_scale = 1;
  bool reachable = true;
  bool weighted_exponential = false;
};
DeciderSpec MakeDecider(const Config& config, const Annotations& a, int container_concurrency);

// initial-scale: the annotation, else the ConfigMap's
// (kpa/resources/scale.go GetInitialScale).
int InitialScale(const Config& config, const Annotations& a);
// min-scale and max-scale (pkg/apis/autoscaling/v1alpha1/pa_lifecycle.go
// ScaleBounds): min is 0 for an unreachable revision; max 0 is unbounded.
struct Bounds {
  int min = 0, max = 0;
};
Bounds ScaleBounds(const Config& config, const Annotations& a, bool reachable);

// A value per second over a window (pkg/autoscaler/aggregation/
// bucketing.go TimedFloat64Buckets): values recorded in the same second
// add up; WindowAverage is the plain mean over the seconds written within
// the window (a window not yet full is averaged over the seconds since the
// first write; seconds after the last write are left out of the divisor),
// rounded to 6 digits. With `weighted`, WeightedFloat64Buckets: an
// exponentially weighted sum, newest first.
class Buckets {
 public:
  Buckets(sim::Time window, sim::Time granularity, bool weighted);
  void Record(sim::Time now, double value);
  bool IsEmpty(sim::Time now) const;
  double WindowAverage(sim::Time now) const;

 private:
  std::int64_t Index(sim::Time t) const { return t / granularity_; }
  sim::Time Truncate(sim::Time t) const { return t - t % granularity_; }

  sim::Time window_, granularity_;
  bool weighted_;
  double smoothing_ = 0;
  std::vector<double> buckets_;
  bool written_ = false;
  sim::Time first_write_ = 0, last_write_ = 0;
  double window_total_ = 0;
};

// The maximum of the values recorded over the last `size` indices
// (pkg/autoscaler/aggregation/max/window.go): the scale-down delay.
class MaxWindow {
 public:
  explicit MaxWindow(int size) : size_(size) {}
  void Record(std::int64_t index, std::int32_t value);
  std::int32_t Current() const { return entries_.front().value; }

 private:
  struct Entry {
    std::int64_t index;
    std::int32_t value;
  };
  int size_;
  std::deque<Entry> entries_;  // decreasing values, increasing indices
};

// A decider's result (pkg/autoscaler/scaling/autoscaler.go ScaleResult).
struct ScaleResult {
  std::int32_t desired = 0;
  std::int32_t excess_burst_capacity = 0;
  bool valid = false;
};

// The stable and panic averages of the decider's metric.
struct Observed {
  double stable = 0, panic = 0;
};

// One revision's decider (pkg/autoscaler/scaling/autoscaler.go
// newAutoscaler, Scale).
class Autoscaler {
 public:
  // Starts in panic mode if more than one pod is ready at creation.
  Autoscaler(const DeciderSpec& spec, int ready_at_creation, sim::Time now);
  // `observed`: nothing when there is no data yet (ErrNoData: an invalid
  // result, which the caller ignores).
  ScaleResult Scale(sim::Time now, int ready, std::optional<Observed> observed);
  bool panicking() const { return panic_time_.has_value(); }
  // A new spec for the same revision (autoscaler.go Update): its
  // reachability, say.
  void Update(const DeciderSpec& spec) { spec_ = spec; }

  // A test hook, as upstream's tests set the panic state.
  void SetPanic(sim::Time since, std::int32_t max_panic_pods) {
    panic_time_ = since;
    max_panic_pods_ = max_panic_pods;
  }

 private:
  DeciderSpec spec_;
  std::optional<sim::Time> panic_time_;
  std::int32_t max_panic_pods_ = 0;
  std::optional<MaxWindow> delay_window_;
};

// How many activators a revision is spread over (kpa/kpa.go
// computeNumActivators).
int NumActivators(int ready, const DeciderSpec& spec);

// The PodAutoscaler's status as its reconciler keeps it.
enum class Activity {
  kActivating,
  kActive,
  kInactive
};  // the Active condition: Unknown, True, False
struct PodAutoscalerStatus {
  Activity activity = Activity::kActivating;
  sim::Time activity_since = 0;  // the condition's last transition
  bool initialized = false;      // ScaleTargetInitialized
  std::optional<std::int32_t> desired_scale;
  bool proxy = true;          // the ServerlessService's mode: activator in path
  sim::Time proxy_since = 0;  // ProxyFor counts from here
};

// What the scaler decided (kpa/scaler.go scale, handleScaleToZero):
// `scale` is the count to apply when `apply` (else what the reconciler
// reports as wanted: -1 for no data yet); `requeue_after` > 0: reconcile
// again then.
struct ScalerDecision {
  std::int32_t scale = -1;
  bool apply = false;
  sim::Time requeue_after = 0;
};
// `desired` is the decider's desired scale (-1: none yet). Assumes the
// activator probe succeeds (the activator is simulated as always
// reachable).
ScalerDecision Scaler(const Config& config, const Annotations& a, const DeciderSpec& spec,
                      const PodAutoscalerStatus& status, std::int32_t desired, sim::Time now);

// The rest of a reconcile (kpa/kpa.go ReconcileKind after the scaler): the
// ServerlessService's mode, then computeStatus and computeActiveCondition
// with `ready` pods. Updates `status`.
void Reconciled(const Config& config, const Annotations& a, const DeciderSpec& spec,
                std::int32_t want, std::int32_t excess_burst_capacity, int ready, sim::Time now,
                PodAutoscalerStatus& status);

}  // namespace platsim::platform::kpa

#endif  // PLATSIM_PLATFORM_CONTROLLERS_KPA_ALGORITHM_H_
