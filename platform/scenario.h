// A scenario: the whole platform design one run simulates, loaded and
// checked from a scenario file (apiVersion platsim.dev/v1alpha1, kind
// Scenario) and the Kubernetes manifests it references. scenarios/README.md
// documents every field. Nothing after the loader reads raw input.
#ifndef PLATSIM_PLATFORM_SCENARIO_H_
#define PLATSIM_PLATFORM_SCENARIO_H_

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "models/arrivals.h"
#include "models/input/diagnostics.h"
#include "models/tokens.h"
#include "platform/argo.h"
#include "platform/autoscaling.h"
#include "platform/controllers/cluster_autoscaler.h"
#include "platform/controllers/kpa_algorithm.h"
#include "platform/objects.h"
#include "platform/serving/config.h"
#include "platform/serving/llm_stats.h"

namespace platsim::platform {

struct NodePool {
  std::string name;
  int count = 0;
  Resources allocatable;
  Labels labels;
  std::vector<Taint> taints;
  // What a node costs per hour of its life, at the price it is billed at
  // (on demand, or spot).
  double price_usd_per_hour = 0;
  bool spot = false;
  // Power: a base for the node, and per GPU idle + (max - idle) x busy.
  double node_base_w = 0;
  double gpu_idle_w = 0;
  double gpu_max_w = 0;
  // The cluster autoscaler's node group, if the pool autoscales.
  struct Autoscaling {
    int min_size = 0, max_size = 0;
    sim::Time provision_min = 0, provision_max = 0;
    sim::Time gpu_ready_delay = 0;
  };
  std::optional<Autoscaling> autoscaling;
};

// How the pods of one image of a Deployment serve (modelServers[].versions).
struct ModelServerVersion {
  ModelServerConfig config;
  sim::Time image_pull = 0;
  std::int64_t image_size_bytes = 0;
};

struct ModelServerSpec {
  std::string deployment;  // namespace/name of its Deployment or Rollout
  std::string node;        // kFailNode
  ModelServerConfig config;
  sim::Time image_pull = 0;
  std::int64_t image_size_bytes = 0;  // for the scheduler's ImageLocality score
  // By image: the pods running that image serve as its version says (its
  // fields merged over the entry's); other pods as the entry says.
  std::map<std::string, ModelServerVersion> versions;
};

struct TrafficSpec {
  std::string service;  // namespace/name
  // The random stream of its arrivals: entries that share one (with the
  // same arrivals) send identical traffic, to compare designs side by side.
  std::string stream;
  Balancer balancer = Balancer::kLeastRequest;
  std::shared_ptr<const models::ArrivalProcess> arrivals;  // restarted for each run
  sim::Time timeout = 60 * sim::kSecond;                   // the client's; 0: none
  sim::Time slo_latency = 0;                               // 0: no SLO
  double slo_target = 0.0;                                 // fraction, for reports
  ConnectionConfig connections;                            // clients 0: none
  // LLM requests' tokens where the arrivals do not carry them (null: none),
  // and the objectives of goodput.
  std::shared_ptr<const models::TokenDistribution> prompt_tokens, output_tokens;
  int shared_prefix_tokens = 0, prefix_groups = 0;  // sharedPrefix
  int priority = 0;
  LlmObjectives llm_objectives;
};

// One revision of a Knative Service, as its template renders it: a
// Deployment <revision>-deployment, which its KPA scales, and a private
// Service <revision>-private selecting its pods.
struct KnativeRevision {
  std::string name;             // the revision's name
  bool named = false;           // by the template (metadata.name), not by its generation
  std::string deployment;       // namespace/<revision>-deployment
  std::string private_service;  // namespace/<revision>-private
  int container_concurrency = 0;
  sim::Time timeout = 300 * sim::kSecond;  // timeoutSeconds
  kpa::Annotations annotations;
  // The template as given (before the revision's labels and queue-proxy),
  // to tell whether a later apply changes it.
  PodTemplate given;
  // A revision that a timeline apply creates: its objects, created then
  // (the first revision's are among the scenario's deployments and
  // services).
  std::optional<Deployment> deployment_object;
  std::optional<Service> service_object;
};

// A route's traffic target (spec.traffic[]): a named revision, or the
// latest ready revision of the Service's configuration.
struct KnativeTrafficTarget {
  std::string revision;  // empty: latestRevision
  int percent = 100;
  bool operator==(const KnativeTrafficTarget&) const = default;
};

// A Knative Service (serving.knative.dev/v1) as the loader renders it: its
// first revision's Deployment and private Service are among the scenario's
// deployments and services; traffic to the Knative Service goes through its
// ingress, split over its revisions, and each revision's activator.
struct KnativeServiceSpec {
  static constexpr const char* kKind = "Knative Service";
  std::string key;  // namespace/name of the Knative Service
  // Every revision the run creates: the first, then one per timeline apply
  // that changes the template, in order.
  std::vector<KnativeRevision> revisions;
  std::vector<KnativeTrafficTarget> traffic = {{}};  // spec.traffic
  // An InferenceService's predictor: KServe writes the traffic from its
  // canaryTrafficPercent (none: every request to the latest revision).
  bool kserve = false;
  std::optional<int> canary_percent;
  const KnativeRevision& first() const { return revisions.front(); }
};

// A KServe InferenceService (serving.kserve.io/v1beta1) as the loader
// renders its predictor: in Knative mode a Knative Service (among
// knative_services), in Standard mode a Deployment, a Service and an HPA.
struct InferenceServiceSpec {
  static constexpr const char* kKind = "InferenceService";
  std::string key;         // namespace/name of the InferenceService
  bool knative = true;     // the deployment mode: Knative (Serverless), else Standard
  std::string service;     // what its traffic reaches: the Knative Service or v1 Service key
  std::string deployment;  // the predictor's Deployment
};

// A change made at a simulated time (spec.timeline), as a user would make
// it with kubectl.
struct TimelineAction {
  enum class Kind {
    kApply,        // kubectl apply of a Deployment manifest
    kScale,        // kubectl scale deployment
    kUndo,         // kubectl rollout undo deployment
    kFailNode,     // a node goes down (its machine or kubelet stops)
    kRecoverNode,  // a node that went down comes back
    kFailGpus,     // GPUs of a node fail
    kPromote,      // kubectl argo rollouts promote [--full]
    kAbort,        // kubectl argo rollouts abort
    kTraffic,      // a traffic entry's arrivals change (built into its arrivals)
  };
  sim::Time at = 0;
  Kind kind = Kind::kApply;
  std::string deployment;  // namespace/name
  std::string node;        // kFailNode, kRecoverNode, kFailGpus
  std::string zone;        // the zone the action named, if it named one
  std::int64_t gpus = 0;   // kFailGpus
  // kApply: the Deployment as the manifest has it, and the fields of its
  // spec that the manifest gives: those it leaves out keep their current
  // values (replicas, as when an HPA owns them; strategy; ...).
  std::optional<Deployment> manifest;
  std::set<std::string> spec_fields;
  // kApply of a Rollout (then `rollout` is its key), kPromote, kAbort.
  std::string rollout;
  std::optional<ArgoRollout> rollout_manifest;
  bool full = false;    // kPromote --full
  std::string service;  // kTraffic: the traffic entry's Service
  // kApply of a Knative Service or an InferenceService in Knative mode:
  // `knative` is the Knative Service's key; `revision` the index of the
  // revision the apply creates (-1: the template is unchanged); its
  // traffic, or its predictor's canaryTrafficPercent, from then on.
  std::string knative;
  int revision = -1;
  std::vector<KnativeTrafficTarget> traffic;
  std::optional<int> canary_percent;
  int replicas = 0;              // kScale
  std::int64_t to_revision = 0;  // kUndo: 0 is the revision before the current
};

// Random failures of a pool's nodes (spec.failures): each node goes down
// after an exponential time with mean `mtbf`, and comes back `repair` later
// (an exponential time with that mean, or exactly that), again and again.
struct FailureModel {
  std::string pool;
  sim::Time mtbf = 0;
  sim::Time repair = 0;
  bool repair_exponential = true;
};

struct Scenario {
  std::string name;
  std::string file;
  // The design this is, for a scenario file that holds several (spec.designs);
  // empty for one that does not.
  std::string design;
  std::string design_description;
  std::uint64_t seed = 1;
  sim::Time duration = sim::kHour;
  sim::Time warmup = 0;
  sim::Time sample_interval = 10 * sim::kSecond;
  sim::Time api_request_latency = 10 * sim::kMillisecond;
  ProxyConfig service_proxy;
  std::vector<NodePool> node_pools;
  std::vector<Namespace> namespaces;
  std::vector<Deployment> deployments;
  std::vector<ArgoRollout> rollouts;                           // argoproj.io/v1alpha1 Rollouts
  std::map<std::string, AnalysisTemplate> analysis_templates;  // by namespace/name
  std::vector<Service> services;
  std::vector<ModelServerSpec> model_servers;
  std::vector<TrafficSpec> traffic;
  std::vector<HorizontalPodAutoscaler> autoscalers;
  hpa::ControllerOptions hpa_controller;             // spec.horizontalPodAutoscaler
  sim::Time metrics_resolution = 15 * sim::kSecond;  // spec.metricsServer.resolution
  hpa::PrometheusOptions prometheus;                 // spec.prometheus
  std::vector<KnativeServiceSpec> knative_services;
  kpa::Config knative_autoscaler;  // spec.knative.config-autoscaler (and config-deployment)
  std::vector<InferenceServiceSpec> inference_services;
  bool kserve_default_knative = true;    // spec.kserve.defaultDeploymentMode
  ca::Options cluster_autoscaler;        // spec.clusterAutoscaler
  std::vector<TimelineAction> timeline;  // spec.timeline, in time order
  std::vector<FailureModel> failures;    // spec.failures
};

// Loads `path`: one Scenario per design of its spec.designs, in file order,
// each the scenario's spec with the design's spec merged over it as a JSON
// Merge Patch (RFC 7386); or, for a file without designs, its one Scenario
// (with an empty `design`). Every problem goes to `diags` (errors and
// warnings, all at once; one that only some designs have names them);
// returns nullopt if there was any error.
std::optional<std::vector<Scenario>> LoadDesigns(const std::string& path,
                                                 input::Diagnostics& diags);
// The same for a scenario given as text; files it names resolve against
// `base_dir`.
std::optional<std::vector<Scenario>> LoadDesignsText(const std::string& text,
                                                     const std::string& display_name,
                                                     const std::filesystem::path& base_dir,
                                                     input::Diagnostics& diags);
// A scenario file without designs (one with designs is an error).
std::optional<Scenario> LoadScenario(const std::string& path, input::Diagnostics& diags);
std::optional<Scenario> LoadScenarioText(const std::string& text, const std::string& display_name,
                                         const std::filesystem::path& base_dir,
                                         input::Diagnostics& diags);

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SCENARIO_H_
