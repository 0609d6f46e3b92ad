// The autoscaling/v2 HorizontalPodAutoscaler as the simulator keeps it:
// its spec as the manifest gives it (with upstream's defaults,
// pkg/apis/autoscaling/v2/defaults.go) and the status its controller
// writes. The controller's arithmetic is in controllers/hpa_algorithm.h.
#ifndef PLATSIM_PLATFORM_AUTOSCALING_H_
#define PLATSIM_PLATFORM_AUTOSCALING_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "platform/objects.h"
#include "sim/time.h"

namespace platsim::platform {
namespace hpa {

// replica_calculator.go Tolerances.isWithin: no change while
// 1 - down <= ratio <= 1 + up (both ends included). Upstream's default is
// 0.1 both ways (--horizontal-pod-autoscaler-tolerance).
struct Tolerances {
  double down = 0.1;
  double up = 0.1;
  bool IsWithin(double ratio) const { return 1.0 - down <= ratio && ratio <= 1.0 + up; }
};

// The controller's settings (config/v1alpha1/defaults.go
// RecommendedDefaultHPAControllerConfiguration).
struct ControllerOptions {
  sim::Time sync_period = 15 * sim::kSecond;
  Tolerances tolerances;
  sim::Time cpu_initialization_period = 5 * sim::kMinute;
  sim::Time initial_readiness_delay = 30 * sim::kSecond;
  sim::Time downscale_stabilization = 5 * sim::kMinute;  // without spec.behavior
};

// HPAScalingPolicy and HPAScalingRules.
enum class PolicyType { kPods, kPercent };
struct ScalingPolicy {
  PolicyType type = PolicyType::kPods;
  std::int32_t value = 0;
  std::int32_t period_seconds = 0;
};
enum class SelectPolicy { kMax, kMin, kDisabled };
struct ScalingRules {
  std::optional<std::int32_t> stabilization_window_seconds;
  SelectPolicy select = SelectPolicy::kMax;
  std::vector<ScalingPolicy> policies;
};
// defaults.go GenerateHPAScaleUpRules: no window, {4 pods, 100%} per 15s,
// Max.
inline ScalingRules DefaultScaleUpRules() {
  return ScalingRules{
      0, SelectPolicy::kMax, {{PolicyType::kPods, 4, 15}, {PolicyType::kPercent, 100, 15}}};
}
// GenerateHPAScaleDownRules: {100%} per 15s, Max; the window left unset
// takes the controller's downscale stabilization (300s).
inline ScalingRules DefaultScaleDownRules() {
  return ScalingRules{std::nullopt, SelectPolicy::kMax, {{PolicyType::kPercent, 100, 15}}};
}
struct Behavior {
  ScalingRules scale_up = DefaultScaleUpRules();
  ScalingRules scale_down = DefaultScaleDownRules();
};

// A condition as the HPA's status reports it.
struct Condition {
  std::string type;  // AbleToScale, ScalingActive, ScalingLimited
  bool status = false;
  std::string reason;
  std::string message;
  bool operator==(const Condition&) const = default;
};

// One entry of spec.metrics. Simulated: Resource cpu, with a Utilization
// (percent of request) or AverageValue (millicores per pod) target; Pods
// metrics of the model servers (kPodsMetricNames) with an AverageValue
// target.
struct MetricSpec {
  // spec.metrics[].type.
  enum class Source { kResource, kPods, kObject, kExternal };
  // target.type: Utilization (Resource only), AverageValue, Value (Object
  // and External only).
  enum class Target { kUtilization, kAverageValue, kValue };
  Source source = Source::kResource;
  Target target = Target::kUtilization;
  std::string resource = "cpu";  // kResource
  std::string name;              // kPods, kObject, kExternal
  std::string service;           // kObject: describedObject; kExternal: the selector's service
  std::int32_t average_utilization = 80;  // kUtilization, percent
  std::int64_t value_milli = 0;           // kAverageValue, kValue
  bool of_service() const { return source == Source::kObject || source == Source::kExternal; }
};

// The per-pod custom metrics a model server's pods offer through
// Prometheus and its adapter, by the names an HPA asks for:
// nv_inference_pending_request_count (Triton's gauge of requests waiting),
// nv_inference_request_success_per_second (the rate of Triton's success
// counter) and inflight_requests (waiting and executing); and an LLM
// server's gauges under vLLM's names (vllm/v1/metrics/loggers.py):
// vllm:num_requests_waiting, vllm:num_requests_running and
// vllm:kv_cache_usage_perc (a fraction, 1 is full). Google Cloud's managed
// Prometheus names them prometheus.googleapis.com|NAME|gauge, which reads as
// NAME.
inline constexpr const char* kPodsMetricNames[] = {"nv_inference_pending_request_count",
                                                   "nv_inference_request_success_per_second",
                                                   "inflight_requests",
                                                   "vllm:num_requests_waiting",
                                                   "vllm:num_requests_running",
                                                   "vllm:kv_cache_usage_perc"};

// The metrics a Service object offers an HPA's Object metric: the rate of
// requests arriving at it (as an ingress or mesh proxy counts them).
inline constexpr const char* kServiceMetricNames[] = {"requests_per_second"};
// The External metrics of a Service, chosen by the selector
// `matchLabels: {service: NAME}` (as a KEDA Prometheus trigger or an
// adapter's external rule sums a Service's pods): its request rate, and
// the requests waiting in its pods' queues.
inline constexpr const char* kExternalMetricNames[] = {"service_requests_per_second",
                                                       "service_pending_requests"};

// Prometheus and prometheus-adapter as the custom metrics reach the HPA:
// scraped every `scrape_interval` (kube-prometheus-stack's 30s), a
// counter's rate over `rate_window` (the adapter chart's default rules use
// [5m]), a gauge's latest sample.
struct PrometheusOptions {
  sim::Time scrape_interval = 30 * sim::kSecond;
  sim::Time rate_window = 5 * sim::kMinute;
};

}  // namespace hpa

// What an autoscaler shows at a time-series sample: the replicas it wants
// its target to have, its first metric's value and target as it last
// computed them (in the target's units: percent of request for a
// Utilization target, else the value), and whether it is panicking (the
// KPA's panic mode; never for an HPA).
struct AutoscalerObservation {
  std::int32_t desired = 0;
  double metric = std::numeric_limits<double>::quiet_NaN();
  double target = std::numeric_limits<double>::quiet_NaN();
  bool panic = false;
};

struct HorizontalPodAutoscalerStatus {
  std::int32_t current_replicas = 0;
  std::int32_t desired_replicas = 0;
  std::optional<sim::Time> last_scale_time;
  std::vector<hpa::Condition> conditions;
  bool operator==(const HorizontalPodAutoscalerStatus&) const = default;
};

struct HorizontalPodAutoscaler {
  static constexpr const char* kKind = "HorizontalPodAutoscaler";
  ObjectMeta meta;
  std::string target;  // namespace/name of the Deployment (scaleTargetRef)
  std::int32_t min_replicas = 1;
  std::int32_t max_replicas = 1;
  // Absent from the manifest: one cpu Utilization target of 80%.
  std::vector<hpa::MetricSpec> metrics = {hpa::MetricSpec{}};
  std::optional<hpa::Behavior> behavior;
  HorizontalPodAutoscalerStatus status;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_AUTOSCALING_H_
