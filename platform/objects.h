// The Kubernetes objects platsim simulates, as plain typed values.
//
// Only the fields the simulation acts on are here; the scenario loader lists
// every other manifest field as "not simulated". Names and semantics follow
// the upstream API types (k8s.io/api core/v1 and apps/v1).
#ifndef PLATSIM_PLATFORM_OBJECTS_H_
#define PLATSIM_PLATFORM_OBJECTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/time.h"

namespace platsim::platform {

using Labels = std::map<std::string, std::string>;

// The well-known label of a node's zone (k8s.io/api core/v1 LabelTopologyZone).
inline constexpr const char* kZoneLabel = "topology.kubernetes.io/zone";
// The labels Knative puts on a revision's pods: its Service's and its own.
inline constexpr const char* kKnativeServiceLabel = "serving.knative.dev/service";
inline constexpr const char* kKnativeRevisionLabel = "serving.knative.dev/revision";

// True if every selector pair is in `labels` (a matchLabels selector). An
// empty selector matches nothing, as for a Service without a selector.
bool SelectorMatches(const Labels& selector, const Labels& labels);

struct ObjectMeta {
  std::string name;
  std::string namespace_name;
  Labels labels;
  std::uint64_t uid = 0;              // set by the API server on create
  std::int64_t resource_version = 0;  // set by the API server on every write
  std::int64_t generation = 0;        // spec changes (Deployments, ReplicaSets)
  sim::Time creation_time = 0;
  std::string owner_kind;  // the controller ownerReference, if any
  std::string owner_name;
  std::uint64_t owner_uid = 0;
  bool deleting = false;  // deletionTimestamp is set
  sim::Time deletion_time = 0;

  std::string Key() const { return namespace_name.empty() ? name : namespace_name + "/" + name; }
};

// Resource amounts. CPU in millicores, memory in bytes, GPUs whole devices.
struct Resources {
  std::int64_t cpu_milli = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t gpus = 0;
  std::int64_t pods = 0;  // only meaningful as node allocatable

  Resources& operator+=(const Resources& o) {
    cpu_milli += o.cpu_milli;
    memory_bytes += o.memory_bytes;
    gpus += o.gpus;
    pods += o.pods;
    return *this;
  }
  Resources& operator-=(const Resources& o) {
    cpu_milli -= o.cpu_milli;
    memory_bytes -= o.memory_bytes;
    gpus -= o.gpus;
    pods -= o.pods;
    return *this;
  }
};

// core/v1 NodeSelectorRequirement: a label of the node against values.
struct NodeSelectorRequirement {
  enum class Operator { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
  std::string key;
  Operator op = Operator::kIn;
  std::vector<std::string> values;
};

// core/v1 NodeSelectorTerm (matchExpressions; matchFields is not simulated):
// every requirement must hold.
struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> match_expressions;
};

// core/v1 PreferredSchedulingTerm.
struct PreferredSchedulingTerm {
  int weight = 1;  // 1..100
  NodeSelectorTerm preference;
};

enum class TaintEffect { kNoSchedule, kPreferNoSchedule, kNoExecute };

// core/v1 Taint.
struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::kNoSchedule;
};

// core/v1 Toleration. An empty key with `exists` tolerates every taint; no
// effect tolerates every effect.
struct Toleration {
  std::string key;
  bool exists = false;  // operator Exists; otherwise Equal (the default)
  std::string value;
  bool any_effect = true;
  TaintEffect effect = TaintEffect::kNoSchedule;
  // tolerationSeconds, for a NoExecute taint: how long the pod stays once
  // tainted; none: for ever.
  std::optional<sim::Time> seconds;
};

// Where a pod may run and prefers to: nodeSelector, node affinity and
// tolerations of its spec.
struct Placement {
  Labels node_selector;
  // requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms; any
  // term may match. Absent: no requirement.
  bool has_required_terms = false;
  std::vector<NodeSelectorTerm> required_terms;
  std::vector<PreferredSchedulingTerm> preferred;
  std::vector<Toleration> tolerations;
};

struct Namespace {
  static constexpr const char* kKind = "Namespace";
  ObjectMeta meta;
};

struct Node {
  static constexpr const char* kKind = "Node";
  ObjectMeta meta;
  std::string pool;
  Resources allocatable;
  std::vector<Taint> taints;
  bool ready = true;
  // status.images: images present on the node (normalized names, as
  // NormalizedImageName) and their sizes in bytes.
  std::map<std::string, std::int64_t> images;
};

// An image name as the container runtime reports it: ":latest" added when
// it has no tag (imagelocality normalizedImageName).
std::string NormalizedImageName(const std::string& image);

// core/v1 Probe, the part that decides readiness timing.
struct Probe {
  sim::Time initial_delay = 0;           // initialDelaySeconds, default 0
  sim::Time period = 10 * sim::kSecond;  // periodSeconds, default 10
  int success_threshold = 1;             // successThreshold, default 1
};

struct PodTemplate {
  Labels labels;
  std::string image;      // the first container's image: the model server
  std::string model_uri;  // an InferenceService's storageUri: the model its server loads
  int containers = 1;     // containers in the pod (init containers are not simulated)
  Resources requests;     // summed over containers, with limits as request defaults
  bool has_readiness_probe = false;
  Probe readiness;
  sim::Time termination_grace = 30 * sim::kSecond;  // terminationGracePeriodSeconds
  Placement placement;
};

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed };

struct Pod {
  static constexpr const char* kKind = "Pod";
  ObjectMeta meta;
  PodTemplate spec;
  std::string template_owner;  // namespace/name of the Deployment whose template this is
  std::string node_name;       // empty until bound
  PodPhase phase = PodPhase::kPending;
  bool unschedulable = false;  // PodScheduled=False, reason Unschedulable
  bool ready = false;          // condition Ready
  sim::Time ready_since = 0;
  // status.startTime: when the kubelet took the pod (recorded with the
  // phase Running it writes next; the HPA looks at it only then).
  std::optional<sim::Time> start_time;
};

struct DeploymentStatus {
  int replicas = 0;
  int updated_replicas = 0;
  int ready_replicas = 0;
  int available_replicas = 0;
  int unavailable_replicas = 0;
  std::int64_t observed_generation = 0;
  bool available = false;  // condition Available (MinimumReplicasAvailable)
  // Condition Progressing: its status ("True", "False" or "Unknown"),
  // reason, and when it last changed or (while ReplicaSetUpdated) last saw
  // progress.
  std::string progressing = "True";
  std::string progressing_reason;  // "" until the first sync
  sim::Time progressing_update = 0;
};

// An intstr.IntOrString of a rolling update: a count, or a percent of the
// replicas.
struct IntOrPercent {
  int value = 25;
  bool percent = true;
  bool operator==(const IntOrPercent&) const = default;
};

struct Deployment {
  static constexpr const char* kKind = "Deployment";
  ObjectMeta meta;
  int replicas = 1;
  Labels selector;
  PodTemplate pod_template;
  sim::Time min_ready = 0;  // minReadySeconds
  // spec.strategy: RollingUpdate (with maxSurge and maxUnavailable, 25%
  // each by default) or Recreate.
  bool recreate = false;
  IntOrPercent max_surge, max_unavailable;
  int revision_history_limit = 10;
  sim::Time progress_deadline = 600 * sim::kSecond;  // progressDeadlineSeconds
  bool paused = false;
  DeploymentStatus status;
};

struct ReplicaSetStatus {
  int replicas = 0;
  int ready_replicas = 0;
  int available_replicas = 0;
  std::int64_t observed_generation = 0;
};

struct ReplicaSet {
  static constexpr const char* kKind = "ReplicaSet";
  ObjectMeta meta;
  int replicas = 0;
  Labels selector;
  PodTemplate pod_template;
  std::string template_hash;  // pod-template-hash label value
  sim::Time min_ready = 0;
  std::int64_t revision = 0;  // deployment.kubernetes.io/revision
  // deployment.kubernetes.io/desired-replicas and max-replicas: the
  // Deployment's replicas, and with its maxSurge, when its controller last
  // wrote this ReplicaSet (-1: not set).
  int desired_replicas = -1;
  int max_replicas = -1;
  ReplicaSetStatus status;
};

struct Service {
  static constexpr const char* kKind = "Service";
  ObjectMeta meta;
  Labels selector;
};

// One endpoint of a Service, with discovery/v1 EndpointConditions as the
// EndpointSlice controller sets them (kubernetes/endpointslice utils.go
// podToEndpoint): serving is the pod's Ready condition, terminating that it
// is being deleted, ready = serving && !terminating.
struct Endpoint {
  std::string pod;  // the pod's name, in the Service's namespace
  bool ready = false;
  bool serving = false;
  bool terminating = false;
  bool operator==(const Endpoint&) const = default;
};

// The endpoints of one Service: its EndpointSlices merged into one object
// (no 100-endpoint slices), named as the Service.
struct Endpoints {
  static constexpr const char* kKind = "EndpointSlice";
  ObjectMeta meta;
  std::vector<Endpoint> endpoints;  // ordered by pod name
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_OBJECTS_H_
