// The arithmetic of the HorizontalPodAutoscaler controller (autoscaling/v2),
// as upstream computes it: the replica calculator (how many replicas one
// metric asks for, with its handling of missing metrics and unready pods)
// and the normalization of a proposal (stabilization windows, scaling
// policies, min and max). Pure functions of their inputs, so that each can
// be checked against upstream's own test tables; the controller that
// samples metrics and writes the scale is built on them.
//
// Upstream: kubernetes/kubernetes pkg/controller/podautoscaler/
// replica_calculator.go (as of 1.34: tolerances per direction, and a
// missing metric on a scale-down counts at max(100%, target) of its
// request), horizontal.go and metrics/utilization.go. Each function names
// the upstream function it follows. Not yet here: the per-HPA tolerance of
// behavior.scaleUp/scaleDown.tolerance (HPAConfigurableTolerance, alpha in
// 1.33), container resource metrics.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_HPA_ALGORITHM_H_
#define PLATSIM_PLATFORM_CONTROLLERS_HPA_ALGORITHM_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "platform/autoscaling.h"
#include "sim/time.h"

namespace platsim::platform::hpa {

// A pod the HPA's selector matches, as the controller's pod lister sees it.
struct PodState {
  std::string name;
  PodPhase phase = PodPhase::kRunning;
  bool deleting = false;  // metadata.deletionTimestamp set
  // The Ready condition, if the pod has one.
  bool has_ready_condition = true;
  bool ready = true;
  sim::Time ready_transition = 0;                      // its lastTransitionTime
  std::optional<sim::Time> start_time = sim::Time{0};  // status.startTime
  // The resource's request, summed over containers, in the units of its
  // metric (milli-cores for CPU).
  std::int64_t request_milli = 0;
  std::int64_t memory_request_bytes = 0;  // the pod's memory request (for a memory metric)
};

// One pod's sample from the metrics API (metrics-server or an adapter).
struct PodMetric {
  std::int64_t value_milli = 0;
  sim::Time timestamp = 0;
  sim::Time window = sim::kMinute;
};
using PodMetrics = std::map<std::string, PodMetric>;  // by pod name

// What a replica calculation gives: the replica count, or an error with
// upstream's message. `usage` is the metric's current value as the HPA's
// status reports it (milli-units; per pod for Resource, Pods and
// AverageValue targets); `utilization` is the percent of request
// (Resource Utilization targets only).
struct Proposal {
  bool ok = false;
  std::string error;
  std::int32_t replicas = 0;
  std::int64_t usage = 0;
  std::int32_t utilization = 0;
};

// A Resource metric with an Utilization target (percent of request):
// ReplicaCalculator.GetResourceReplicas. `cpu`: the resource is CPU, whose
// samples from pods still starting are not trusted (groupPods).
Proposal ResourceUtilizationReplicas(std::int32_t current_replicas, std::int32_t target_utilization,
                                     const std::vector<PodState>& pods, const PodMetrics& metrics,
                                     bool cpu, sim::Time now, const ControllerOptions& options);

// A per-pod average against a target value: a Resource metric with an
// AverageValue target (GetRawResourceReplicas: `cpu` as above) or a Pods
// metric (GetMetricReplicas: `cpu` false). calcPlainMetricReplicas.
Proposal AverageValueReplicas(std::int32_t current_replicas, std::int64_t target_milli,
                              const std::vector<PodState>& pods, const PodMetrics& metrics,
                              bool cpu, sim::Time now, const ControllerOptions& options);

// An Object or External metric with a Value target (GetObjectMetricReplicas,
// GetExternalMetricReplicas with the values already summed):
// getUsageRatioReplicaCount over the pods that are running and ready.
Proposal ValueReplicas(std::int32_t current_replicas, std::int64_t usage_milli,
                       std::int64_t target_milli, const std::vector<PodState>& pods,
                       const Tolerances& tolerances);

// An Object or External metric with an AverageValue target, against the
// target's status replicas (GetObjectPerPodMetricReplicas,
// GetExternalPerPodMetricReplicas).
Proposal PerPodValueReplicas(std::int32_t status_replicas, std::int64_t usage_milli,
                             std::int64_t target_average_milli, const Tolerances& tolerances);

// ---- Normalization (horizontal.go).

// What one HPA remembers between syncs for normalization: its recent
// recommendations and (with spec.behavior) its recent scale events.
class ScaleHistory {
 public:
  struct Recommendation {
    std::int32_t replicas;
    sim::Time at;
  };
  struct ScaleEvent {
    std::int32_t change;
    sim::Time at;
    bool outdated = false;
  };

  // recordInitialRecommendation: the first sync records the current count.
  void RecordInitial(std::int32_t current, sim::Time now);
  // storeScaleEvent (with spec.behavior only).
  void StoreScaleEvent(const Behavior& behavior, std::int32_t previous, std::int32_t next,
                       sim::Time now);

  std::vector<Recommendation> recommendations;
  std::vector<ScaleEvent> up_events, down_events;
};

struct Normalized {
  std::int32_t replicas = 0;
  Condition
      able_to_scale;  // AbleToScale: ScaleDownStabilized, ScaleUpStabilized or ReadyForNewScale
  Condition scaling_limited;  // ScalingLimited: its reason, True when the limit changed the count
};

// Without spec.behavior: normalizeDesiredReplicas (stabilizeRecommendation
// over `downscale_stabilization`, then convertDesiredReplicasWithRules:
// scale up to at most max(2 x current, 4)).
Normalized NormalizeLegacy(ScaleHistory& history, std::int32_t current, std::int32_t desired,
                           std::int32_t min_replicas, std::int32_t max_replicas, sim::Time now,
                           sim::Time downscale_stabilization);

// With spec.behavior: normalizeDesiredReplicasWithBehaviors. A scale-down
// window left unset takes `downscale_stabilization`
// (maybeInitScaleDownStabilizationWindow).
Normalized NormalizeWithBehavior(ScaleHistory& history, Behavior behavior, std::int32_t current,
                                 std::int32_t desired, std::int32_t min_replicas,
                                 std::int32_t max_replicas, sim::Time now,
                                 sim::Time downscale_stabilization);

// The steps inside, exposed for upstream's tests of each.
// stabilizeRecommendation.
std::int32_t StabilizeRecommendation(ScaleHistory& history, std::int32_t desired, sim::Time now,
                                     sim::Time window);
// convertDesiredReplicasWithRules: the count and the ScalingLimited reason.
std::pair<std::int32_t, std::string> ConvertWithRules(std::int32_t current, std::int32_t desired,
                                                      std::int32_t min_replicas,
                                                      std::int32_t max_replicas);
// convertDesiredReplicasWithBehaviorRate.
std::pair<std::int32_t, std::string> ConvertWithBehaviorRate(
    const ScaleHistory& history, const Behavior& behavior, std::int32_t current,
    std::int32_t desired, std::int32_t min_replicas, std::int32_t max_replicas, sim::Time now);
// calculateScaleUpLimitWithScalingRules, calculateScaleDownLimitWithBehaviors.
std::int32_t ScaleUpLimit(std::int32_t current, const ScaleHistory& history,
                          const ScalingRules& rules, sim::Time now);
std::int32_t ScaleDownLimit(std::int32_t current, const ScaleHistory& history,
                            const ScalingRules& rules, sim::Time now);

}  // namespace platsim::platform::hpa

#endif  // PLATSIM_PLATFORM_CONTROLLERS_HPA_ALGORITHM_H_
