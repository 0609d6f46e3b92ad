// Argo Rollouts (argoproj.io/v1alpha1) as the simulator keeps it: the
// Rollout, with its canary or blue-green strategy, and the analysis it runs
// (AnalysisTemplate metrics on the Prometheus provider). Fields and defaults
// follow argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go and
// utils/defaults/defaults.go; only what the simulation acts on is here.
#ifndef PLATSIM_PLATFORM_ARGO_H_
#define PLATSIM_PLATFORM_ARGO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/objects.h"

namespace platsim::platform {

// An argument of an analysis: a value, or the pod template hash of the
// Rollout's stable or latest ReplicaSet (valueFrom.podTemplateHashValue).
struct AnalysisArg {
  std::string name;
  std::string value;
  enum class From { kValue, kStableHash, kLatestHash };
  From from = From::kValue;
};

// One metric of an AnalysisTemplate (AnalysisTemplate spec.metrics[]).
struct AnalysisMetric {
  std::string name;
  sim::Time interval = 0;  // 0: none
  int count = 0;           // 0: unset (EffectiveCount)
  sim::Time initial_delay = 0;
  std::string success_condition;  // expr-lang over `result`; empty: none
  std::string failure_condition;
  int failure_limit = 0;  // -1: never fails on failed measurements
  int inconclusive_limit = 0;
  int consecutive_error_limit = 4;
  std::string query;  // provider.prometheus.query, args unresolved
};

struct AnalysisTemplate {
  std::string key;                // namespace/name
  std::vector<AnalysisArg> args;  // with their defaults (value empty: required)
  std::vector<AnalysisMetric> metrics;
};

// The analysis a Rollout asks for at a step, in the background, or around a
// blue-green promotion: its templates (merged, in order) and arguments.
struct AnalysisRef {
  std::vector<std::string> templates;  // namespace/name of each
  std::vector<AnalysisArg> args;
};

// A canary step (RolloutStrategy.canary.steps[]).
struct CanaryStep {
  enum class Kind { kSetWeight, kPause, kAnalysis, kSetCanaryScale };
  Kind kind = Kind::kSetWeight;
  int weight = 0;                     // kSetWeight
  std::optional<sim::Time> duration;  // kPause; none: until promoted
  std::string text;                   // as CanaryStepString writes it
  AnalysisRef analysis;               // kAnalysis
  // kSetCanaryScale: replicas or weight, or follow the traffic weight.
  std::optional<int> scale_replicas, scale_weight;
  bool match_traffic_weight = false;
};

// status.pauseConditions[].
struct PauseCondition {
  std::string reason;  // CanaryPauseStep, BlueGreenPause, InconclusiveAnalysisRun
  sim::Time start = 0;
  bool operator==(const PauseCondition&) const = default;
};

struct ArgoRolloutStatus {
  std::string current_hash;  // currentPodHash
  std::string stable_hash;   // stableRS
  int step_index = 0;        // currentStepIndex
  bool abort = false;
  std::string abort_message;
  bool promote_full = false;
  bool controller_pause = false;
  std::vector<PauseCondition> pauses;
  int weight = 0;  // status.canary.weights.canary.weight, with traffic routing
  std::string active_selector, preview_selector;  // blue-green services' hashes
  std::string phase;                              // Progressing, Paused, Healthy, Degraded
  std::string message;
  // The Progressing condition's reason, and when it last changed or saw
  // progress.
  std::string progressing_reason;
  sim::Time progressing_update = 0;
  int replicas = 0, updated_replicas = 0, available_replicas = 0;
  bool operator==(const ArgoRolloutStatus&) const = default;
};

struct ArgoRollout {
  static constexpr const char* kKind = "Rollout";
  ObjectMeta meta;
  int replicas = 1;
  Labels selector;
  PodTemplate pod_template;
  sim::Time min_ready = 0;
  int revision_history_limit = 10;
  sim::Time progress_deadline = 600 * sim::kSecond;
  bool paused = false;  // spec.paused

  bool blue_green = false;
  // Canary.
  std::vector<CanaryStep> steps;
  IntOrPercent max_surge, max_unavailable;     // "25", read as 25%
  std::string canary_service, stable_service;  // namespace/name, or empty
  bool traffic_routing = false;                // a weighted split at the Service proxy
  std::optional<AnalysisRef> background;
  int starting_step = 0;
  // Blue-green.
  std::string active_service, preview_service;
  bool auto_promotion_enabled = true;
  sim::Time auto_promotion_seconds = 0;
  std::optional<int> preview_replica_count;
  std::optional<AnalysisRef> pre_promotion, post_promotion;
  // Both: before a replaced ReplicaSet goes to 0 (30 s for blue-green and a
  // traffic-routed canary, 0 for a basic canary) and after an abort (30 s;
  // 0: never).
  sim::Time scale_down_delay = 0;
  sim::Time abort_scale_down_delay = 30 * sim::kSecond;

  ArgoRolloutStatus status;
};

// The label Argo Rollouts adds to a Rollout's ReplicaSets, their pods and
// the Services it manages.
inline constexpr const char* kRolloutsHashLabel = "rollouts-pod-template-hash";

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_ARGO_H_
