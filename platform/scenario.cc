#include "platform/scenario.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>

#include "models/input/yaml_reader.h"
#include "models/power.h"
#include "models/service_time.h"
#include "platform/analysis/condition.h"
#include "platform/analysis/promql.h"
#include "platform/names.h"
#include "platform/placement.h"

namespace platsim::platform {
namespace {

using input::Diagnostics;
using input::MapReader;
using input::Node;

constexpr const char* kApiVersion = "platsim.dev/v1alpha1";
constexpr const char* kNotSimulated = "not simulated by platsim; ignored";
constexpr std::size_t kMaxDesigns = 1000;

std::string Key(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

// The value at `key` of mapping `map` (its first, if repeated), or absent.
Node Field(const Node& map, std::string_view key) {
  for (const auto& [k, v] : map.Entries()) {
    if (k.IsScalar() && k.scalar() == key) return v;
  }
  return map.Absent(key);
}

// A mapping of strings to strings (labels, selectors).
Labels ReadLabels(const Node& node, Diagnostics& diags) {
  Labels out;
  MapReader m(node, diags);
  for (const std::string& key : m.Keys()) {
    const auto value = input::ReadString(m.Get(key), diags);
    if (value) out[key] = *value;
  }
  return out;
}

// The largest amounts a node or pod may name. Far beyond any machine, and
// small enough that the scheduler's sums and its scores' `x * 100`
// (upstream's integer math) cannot overflow.
constexpr std::int64_t kMaxCpuMilli = 1'000'000'000'000'000;              // 1e12 cores
constexpr std::int64_t kMaxMemoryMilli = (std::int64_t{1} << 50) * 1000;  // 1Pi bytes
constexpr std::int64_t kMaxGpuMilli = 1'000'000'000;                      // 1e6 devices
constexpr std::int64_t kMaxPodsMilli = 1'000'000'000;                     // 1e6 pods

// Resource amounts from a requests/limits mapping.
struct ResourceFields {
  std::optional<std::int64_t> cpu_milli, memory_milli, gpu_milli;
};

ResourceFields ReadResourceList(const Node& node, Diagnostics& diags) {
  ResourceFields r;
  MapReader m(node, diags);
  if (const Node n = m.Get("cpu"); n.present()) {
    r.cpu_milli = input::ReadQuantityMilli(n, diags, 0, kMaxCpuMilli);
  }
  if (const Node n = m.Get("memory"); n.present()) {
    r.memory_milli = input::ReadQuantityMilli(n, diags, 0, kMaxMemoryMilli);
  }
  if (const Node n = m.Get("nvidia.com/gpu"); n.present()) {
    r.gpu_milli = input::ReadQuantityMilli(n, diags, 0, kMaxGpuMilli);
    if (r.gpu_milli && *r.gpu_milli % 1000 != 0) {
      diags.Error(n.location(), n.path(), "GPUs are whole devices (got " + n.scalar() + ")");
      r.gpu_milli.reset();
    }
  }
  m.WarnUnknown("resource not simulated by platsim; ignored");
  return r;
}

// True if `list` is present and a list; reports it if present and not one.
bool IsList(const Node& list, const char* of_what, Diagnostics& diags) {
  if (!list.present()) return false;
  if (!list.IsSequence()) {
    diags.Error(list.location(), list.path(), std::string("expected a list of ") + of_what);
    return false;
  }
  return true;
}

// The elements of an optional list field: none if it is absent or null;
// reported (and none) if it is something else.
std::vector<Node> ListElements(const Node& node, const char* of_what, Diagnostics& diags) {
  if (node.IsNull() || !IsList(node, of_what, diags)) return {};
  return node.Elements();
}

std::optional<TaintEffect> ReadTaintEffect(MapReader& m, bool required, Diagnostics& diags) {
  const Node n = required ? m.Require("effect") : m.Get("effect");
  if (!n.present() || (!required && n.IsScalar() && n.scalar().empty())) return std::nullopt;
  const auto e = input::ReadEnum(n, diags, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
  if (!e) return std::nullopt;
  return *e == "NoSchedule"         ? TaintEffect::kNoSchedule
         : *e == "PreferNoSchedule" ? TaintEffect::kPreferNoSchedule
                                    : TaintEffect::kNoExecute;
}

// core/v1 NodeSelectorTerm, checked as the API server validates it
// (ValidateNodeSelectorRequirement): In and NotIn need values, Exists and
// DoesNotExist none, Gt and Lt one integer.
NodeSelectorTerm ReadNodeSelectorTerm(const Node& node, Diagnostics& diags) {
  NodeSelectorTerm term;
  MapReader m(node, diags);
  for (const Node& e : ListElements(m.Get("matchExpressions"), "{key, operator, values}", diags)) {
    MapReader r(e, diags);
    NodeSelectorRequirement req;
    req.key = r.RequiredString("key").value_or("");
    const Node op_node = r.Require("operator");
    const auto op =
        op_node.present()
            ? input::ReadEnum(op_node, diags, {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"})
            : std::nullopt;
    using Op = NodeSelectorRequirement::Operator;
    if (op) {
      req.op = *op == "In"             ? Op::kIn
               : *op == "NotIn"        ? Op::kNotIn
               : *op == "Exists"       ? Op::kExists
               : *op == "DoesNotExist" ? Op::kDoesNotExist
               : *op == "Gt"           ? Op::kGt
                                       : Op::kLt;
    }
    const Node values = r.Get("values");
    for (const Node& v : ListElements(values, "strings", diags)) {
      if (auto s = input::ReadString(v, diags)) req.values.push_back(*s);
    }
    r.RejectUnknown();
    if (!op) continue;
    const Node at = values.present() ? values : e;
    if ((req.op == Op::kIn || req.op == Op::kNotIn) && req.values.empty()) {
      diags.Error(at.location(), e.path() + ".values", "must be specified for operator " + *op);
    } else if ((req.op == Op::kExists || req.op == Op::kDoesNotExist) && !req.values.empty()) {
      diags.Error(at.location(), e.path() + ".values", "must be empty for operator " + *op);
    } else if ((req.op == Op::kGt || req.op == Op::kLt) &&
               (req.values.size() != 1 || !ParseGoInt64(req.values[0]))) {
      diags.Error(at.location(), e.path() + ".values", "must be one integer for operator " + *op);
    }
    term.match_expressions.push_back(std::move(req));
  }
  if (m.Has("matchFields")) {
    const Node f = m.Get("matchFields");
    diags.Error(f.location(), f.path(), "matchFields is not simulated yet (only matchExpressions)");
  }
  m.RejectUnknown();
  return term;
}

// nodeSelector, affinity.nodeAffinity and tolerations of a pod spec.
Placement ReadPlacement(MapReader& spec, Diagnostics& diags) {
  Placement p;
  p.node_selector = ReadLabels(spec.Get("nodeSelector"), diags);
  MapReader affinity(spec.Get("affinity"), diags);
  MapReader node_affinity(affinity.Get("nodeAffinity"), diags);
  // A null requirement is no requirement, as upstream reads it; a present
  // one needs at least one term (the API server's validation).
  if (const Node req = node_affinity.Get("requiredDuringSchedulingIgnoredDuringExecution");
      req.present() && !req.IsNull()) {
    MapReader r(req, diags);
    const Node terms = r.Require("nodeSelectorTerms");
    p.has_required_terms = true;
    for (const Node& t : ListElements(terms, "node selector terms", diags))
      p.required_terms.push_back(ReadNodeSelectorTerm(t, diags));
    if (terms.present() && (terms.IsNull() || terms.IsSequence()) && p.required_terms.empty()) {
      diags.Error(terms.location(), terms.path(), "must have at least one node selector term");
    }
    r.RejectUnknown();
  }
  for (const Node& e :
       ListElements(node_affinity.Get("preferredDuringSchedulingIgnoredDuringExecution"),
                    "{weight, preference}", diags)) {
    MapReader m(e, diags);
    PreferredSchedulingTerm t;
    t.weight = static_cast<int>(m.Int("weight", 1, 1, 100));
    if (!m.Has("weight")) m.Require("weight");
    t.preference = ReadNodeSelectorTerm(m.Require("preference"), diags);
    m.RejectUnknown();
    p.preferred.push_back(std::move(t));
  }
  node_affinity.RejectUnknown();
  affinity.WarnUnknown(kNotSimulated);
  for (const Node& e :
       ListElements(spec.Get("tolerations"), "{key, operator, value, effect}", diags)) {
    MapReader m(e, diags);
    Toleration t;
    t.key = m.String("key", "");
    // An empty operator is Equal (core/v1 Toleration).
    t.exists = m.Enum("operator", "Equal", {"Equal", "Exists", ""}) == "Exists";
    t.value = m.String("value", "");
    if (const auto effect = ReadTaintEffect(m, false, diags)) {
      t.any_effect = false;
      t.effect = *effect;
    }
    if (m.Has("tolerationSeconds") && (t.any_effect || t.effect != TaintEffect::kNoExecute)) {
      const Node at = m.Get("tolerationSeconds");
      diags.Error(at.location(), at.path(),
                  "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (m.Has("tolerationSeconds")) {
      t.seconds =
          m.Int("tolerationSeconds", 0, INT64_MIN / sim::kSecond, INT64_MAX / sim::kSecond) *
          sim::kSecond;
      // A negative one evicts at once (taint eviction treats it as 0).
      if (*t.seconds < 0) t.seconds = 0;
    }
    m.WarnUnknown(kNotSimulated);
    // As the API server validates tolerations (ValidateTolerations).
    if (t.exists && !t.value.empty()) {
      diags.Error(e.location(), e.path() + ".value", "must be empty when operator is Exists");
    }
    if (t.key.empty() && !t.exists) {
      diags.Error(e.location(), e.path() + ".operator",
                  "must be Exists when key is empty (an empty key tolerates every taint)");
    }
    p.tolerations.push_back(std::move(t));
  }
  return p;
}

struct ManifestContext {
  Diagnostics& diags;
  std::map<std::string, Node> objects;   // kind/namespace/name -> its document
  std::vector<Node> autoscaler_targets;  // each HPA's scaleTargetRef.name, in order
  // What Rollouts name, checked once every manifest is read: Services, and
  // AnalysisTemplates (with the analysis that names them, for its args).
  std::vector<std::pair<std::string, Node>> service_refs;
  struct AnalysisUse {
    std::string key;
    Node at, analysis;
  };
  std::vector<AnalysisUse> analysis_refs;
};

// `annotations`, if given, receives metadata.annotations (else they are
// warned about as not simulated).
void ReadMetadata(MapReader& object, ObjectMeta& meta, bool namespaced, Diagnostics& diags,
                  Node* annotations = nullptr) {
  MapReader m(object.Require("metadata"), diags);
  if (const auto name = m.RequiredString("name")) meta.name = *name;
  if (namespaced) meta.namespace_name = m.String("namespace", "default");
  meta.labels = ReadLabels(m.Get("labels"), diags);
  if (annotations != nullptr) *annotations = m.Get("annotations");
  m.WarnUnknown(kNotSimulated);
}

// What a pod template of another kind adds (a Knative revision template):
// fields of its metadata and spec read by the caller, and containers
// whose names are optional.
struct TemplateExtras {
  std::function<void(MapReader& metadata)> metadata;
  std::function<void(MapReader& spec)> spec;
  bool container_names_optional = false;
  // The node is a PodSpec itself (an InferenceService's predictor), not a
  // template of metadata and spec.
  bool spec_only = false;
  // A KServe model under this key of the spec: read as the first container
  // (without an image: its serving runtime's), which makes `containers`
  // optional; `model` reads its own fields.
  std::string model_key;
  std::function<void(MapReader& model)> model;
};

PodTemplate ReadPodTemplate(const Node& node, Diagnostics& diags,
                            const TemplateExtras& extras = {}) {
  PodTemplate t;
  MapReader tmpl(node, diags);
  if (!extras.spec_only) {
    MapReader meta(tmpl.Get("metadata"), diags);
    t.labels = ReadLabels(meta.Get("labels"), diags);
    if (extras.metadata) extras.metadata(meta);
    meta.WarnUnknown(kNotSimulated);
  }
  MapReader spec_reader(extras.spec_only ? Node() : tmpl.Require("spec"), diags);
  MapReader& spec = extras.spec_only ? tmpl : spec_reader;
  if (extras.spec) extras.spec(spec);
  t.termination_grace =
      spec.Int("terminationGracePeriodSeconds", 30, 0, 1'000'000'000) * sim::kSecond;
  t.placement = ReadPlacement(spec, diags);
  std::int64_t cpu_milli = 0, memory_milli = 0, gpu_milli = 0;  // over all containers
  const Node model = extras.model_key.empty() ? Node() : spec.Get(extras.model_key);
  const Node containers = model.present() ? spec.Get("containers") : spec.Require("containers");
  std::vector<Node> list;
  if (model.present()) list.push_back(model);
  if (containers.present() && !containers.IsSequence()) {
    diags.Error(containers.location(), containers.path(), "expected a list of containers");
  } else if (containers.present()) {
    for (const Node& c : containers.Elements())
      list.push_back(c);
    if (list.empty()) diags.Error(containers.location(), containers.path(), "needs a container");
  }
  if (!list.empty()) {
    t.containers = static_cast<int>(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      MapReader c(list[i], diags);
      const bool is_model = model.present() && i == 0;
      if (is_model) {
        extras.model(c);
      } else if (extras.container_names_optional) {
        c.String("name", "");
      } else {
        c.RequiredString("name");
      }
      const auto image = is_model ? c.String("image", "") : c.RequiredString("image");
      if (i == 0 && image) t.image = *image;
      MapReader resources(c.Get("resources"), diags);
      const ResourceFields requests = ReadResourceList(resources.Get("requests"), diags);
      const Node limits_node = resources.Get("limits");
      const ResourceFields limits = ReadResourceList(limits_node, diags);
      resources.WarnUnknown(kNotSimulated);
      // Requests default to limits (core/v1 defaulting). Sums over the
      // containers stop just past the cap, which is then reported.
      auto add = [](std::int64_t& total, std::int64_t x, std::int64_t cap) {
        total = std::min(total + x, cap + 1);
      };
      add(cpu_milli, requests.cpu_milli.value_or(limits.cpu_milli.value_or(0)), kMaxCpuMilli);
      add(memory_milli, requests.memory_milli.value_or(limits.memory_milli.value_or(0)),
          kMaxMemoryMilli);
      add(gpu_milli, limits.gpu_milli.value_or(0), kMaxGpuMilli);
      if (requests.gpu_milli && limits.gpu_milli != requests.gpu_milli) {
        diags.Error(list[i].location(), list[i].path() + ".resources",
                    "nvidia.com/gpu must be set in limits, and requests must equal limits");
      }

      if (const Node probe = c.Get("readinessProbe"); probe.present() && i == 0) {
        MapReader p(probe, diags);
        t.has_readiness_probe = true;
        t.readiness.initial_delay =
            p.Int("initialDelaySeconds", 0, 0, 1'000'000'000) * sim::kSecond;
        t.readiness.period = p.Int("periodSeconds", 10, 1, 1'000'000'000) * sim::kSecond;
        t.readiness.success_threshold =
            static_cast<int>(p.Int("successThreshold", 1, 1, 1'000'000));
        p.WarnUnknown("not simulated (the model server's readiness decides the probe); ignored");
      }
      c.WarnUnknown(kNotSimulated);
    }
  }
  if (cpu_milli > kMaxCpuMilli || memory_milli > kMaxMemoryMilli || gpu_milli > kMaxGpuMilli) {
    diags.Error(containers.location(), containers.path(),
                "the containers' resources add up past what any node may hold (at most 1e12 cpu, "
                "1Pi memory, 1e6 nvidia.com/gpu)");
  } else {
    t.requests.cpu_milli = cpu_milli;
    t.requests.memory_bytes = memory_milli / 1000 + (memory_milli % 1000 != 0 ? 1 : 0);
    t.requests.gpus = gpu_milli / 1000;
  }
  spec.WarnUnknown(kNotSimulated);
  if (!extras.spec_only) tmpl.WarnUnknown(kNotSimulated);
  return t;
}

// An intstr.IntOrString of a rolling update: an integer >= 0 or "N%".
std::optional<IntOrPercent> ReadIntOrPercent(const Node& n, bool at_most_100_percent,
                                             Diagnostics& diags) {
  if (!n.IsScalar()) {
    diags.Error(n.location(), n.path(),
                "expected an integer or a percent like \"25%\", got " + n.Describe());
    return std::nullopt;
  }
  std::string text = n.scalar();
  IntOrPercent v;
  v.percent = !text.empty() && text.back() == '%';
  if (v.percent) text.pop_back();
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value < 0) {
    // ValidatePositiveIntOrPercent.
    diags.Error(n.location(), n.path(),
                "must be an integer >= 0 or a percent like \"25%\" (got '" + n.scalar() + "')");
    return std::nullopt;
  }
  if (v.percent && value > 100 && at_most_100_percent) {  // IsNotMoreThan100Percent
    diags.Error(n.location(), n.path(), "must not be greater than 100%");
    return std::nullopt;
  }
  v.value = value;
  return v;
}

// spec.strategy, revisionHistoryLimit, progressDeadlineSeconds and paused,
// with apps/v1 defaults and ValidateDeploymentSpec's rules.
void ReadDeploymentStrategy(MapReader& spec, Deployment& d, Diagnostics& diags) {
  d.revision_history_limit = static_cast<int>(spec.Int("revisionHistoryLimit", 10, 0, 1'000'000));
  const Node deadline = spec.Get("progressDeadlineSeconds");
  d.progress_deadline = spec.Int("progressDeadlineSeconds", 600, 1, INT32_MAX) * sim::kSecond;
  if (d.progress_deadline <= d.min_ready) {  // after defaulting, as the API server checks
    const Node at = deadline.present() ? deadline : spec.Get("minReadySeconds");
    diags.Error(at.location(), at.path(),
                deadline.present() ? "must be greater than minReadySeconds"
                                   : "must be less than progressDeadlineSeconds (default 600)");
  }
  d.paused = spec.Bool("paused", false);
  const Node strategy_node = spec.Get("strategy");
  MapReader strategy(strategy_node, diags);
  const std::string type = strategy.Enum("type", "RollingUpdate", {"RollingUpdate", "Recreate"});
  d.recreate = type == "Recreate";
  const Node rolling_node = strategy.Get("rollingUpdate");
  if (d.recreate && rolling_node.present()) {
    diags.Error(rolling_node.location(), rolling_node.path(),
                "may not be specified when strategy `type` is 'Recreate'");
  }
  MapReader rolling(rolling_node, diags);
  for (const auto& [field, value] :
       {std::pair{"maxSurge", &d.max_surge}, std::pair{"maxUnavailable", &d.max_unavailable}}) {
    if (const Node n = rolling.Get(field); n.present()) {
      if (const auto v = ReadIntOrPercent(n, value == &d.max_unavailable, diags)) *value = *v;
    }
  }
  if (!d.recreate && d.max_surge.value == 0 && d.max_unavailable.value == 0) {
    const Node at = rolling.Get("maxUnavailable");
    diags.Error(at.location(), at.present() ? at.path() : rolling_node.path() + ".maxUnavailable",
                "may not be 0 when `maxSurge` is 0");
  }
  rolling.WarnUnknown(kNotSimulated);
  strategy.WarnUnknown(kNotSimulated);
}

void ReadDeployment(MapReader& m, Scenario& s, Diagnostics& diags) {
  Deployment d;
  ReadMetadata(m, d.meta, true, diags);
  MapReader spec(m.Require("spec"), diags);
  d.replicas = static_cast<int>(spec.Int("replicas", 1, 0, 100000));
  d.min_ready = spec.Int("minReadySeconds", 0, 0, 1'000'000'000) * sim::kSecond;
  ReadDeploymentStrategy(spec, d, diags);
  const Node selector = spec.Require("selector");
  MapReader sel(selector, diags);
  d.selector = ReadLabels(sel.Get("matchLabels"), diags);
  if (sel.Has("matchExpressions")) {
    const Node e = sel.Get("matchExpressions");
    diags.Error(e.location(), e.path(), "matchExpressions is not simulated yet (only matchLabels)");
  }
  sel.RejectUnknown();
  const Node tmpl = spec.Require("template");
  if (tmpl.present()) {
    d.pod_template = ReadPodTemplate(tmpl, diags);
    if (selector.present() && !SelectorMatches(d.selector, d.pod_template.labels)) {
      diags.Error(selector.location(), selector.path(),
                  "selector does not match template labels (or is empty)");
    }
  }
  spec.WarnUnknown(kNotSimulated);
  s.deployments.push_back(std::move(d));
}

void ReadService(MapReader& m, Scenario& s, Diagnostics& diags) {
  Service svc;
  ReadMetadata(m, svc.meta, true, diags);
  MapReader spec(m.Require("spec"), diags);
  const Node selector = spec.Require("selector");
  svc.selector = ReadLabels(selector, diags);
  if (selector.present() && svc.selector.empty()) {
    diags.Error(selector.location(), selector.path(), "needs at least one label");
  }
  spec.WarnUnknown(kNotSimulated);
  s.services.push_back(std::move(svc));
}

// autoscaling/v2 HPAScalingRules, with upstream's defaults for what is
// left out (pkg/apis/autoscaling/v2/defaults.go: a field given replaces the
// default whole) and its validation ranges (pkg/apis/autoscaling/
// validation: windows 0..3600 s, periods 1..1800 s, values above 0).
hpa::ScalingRules ReadScalingRules(const Node& node, hpa::ScalingRules rules, Diagnostics& diags) {
  if (!node.present()) return rules;
  MapReader m(node, diags);
  if (m.Has("stabilizationWindowSeconds")) {
    rules.stabilization_window_seconds =
        static_cast<std::int32_t>(m.Int("stabilizationWindowSeconds", 0, 0, 3600));
  }
  const std::string select = m.Enum("selectPolicy", "Max", {"Max", "Min", "Disabled"});
  rules.select = select == "Min"        ? hpa::SelectPolicy::kMin
                 : select == "Disabled" ? hpa::SelectPolicy::kDisabled
                                        : hpa::SelectPolicy::kMax;
  const Node policies = m.Get("policies");
  if (policies.present() && IsList(policies, "policies", diags)) {
    rules.policies.clear();
    for (const Node& p : policies.Elements()) {
      MapReader pm(p, diags);
      hpa::ScalingPolicy policy;
      const std::string type = pm.Enum("type", "", {"Pods", "Percent"});
      if (!pm.Has("type")) diags.Error(p.location(), p.path() + ".type", "is required");
      policy.type = type == "Percent" ? hpa::PolicyType::kPercent : hpa::PolicyType::kPods;
      policy.value = static_cast<std::int32_t>(pm.Int("value", 0, 1, 1'000'000));
      if (!pm.Has("value")) diags.Error(p.location(), p.path() + ".value", "is required");
      policy.period_seconds = static_cast<std::int32_t>(pm.Int("periodSeconds", 0, 1, 1800));
      if (!pm.Has("periodSeconds")) {
        diags.Error(p.location(), p.path() + ".periodSeconds", "is required");
      }
      pm.RejectUnknown();
      rules.policies.push_back(policy);
    }
    if (rules.policies.empty()) {
      diags.Error(policies.location(), policies.path(), "needs at least one policy");
    }
  }
  m.WarnUnknown(kNotSimulated);
  return rules;
}

// A metric's name, which must be one that platsim's metrics pipelines
// offer (`known`); the error names `what` kind of metric and who `offers`
// which.
template <std::size_t N>
void ReadMetricName(MapReader& m, const Node& metric_node, const char* const (&known)[N],
                    const std::string& what, const std::string& offers, hpa::MetricSpec& metric,
                    Diagnostics& diags) {
  auto name = m.RequiredString("name");
  if (!name) return;
  // Google Cloud's managed Prometheus: prometheus.googleapis.com|NAME|gauge.
  const std::string gmp = "prometheus.googleapis.com|", gauge = "|gauge";
  if (name->size() > gmp.size() + gauge.size() && name->starts_with(gmp) &&
      name->ends_with(gauge)) {
    *name = name->substr(gmp.size(), name->size() - gmp.size() - gauge.size());
  }
  metric.name = *name;
  if (std::find(std::begin(known), std::end(known), *name) != std::end(known)) return;
  std::string list;
  for (const char* k : known)
    list += std::string(list.empty() ? "" : ", ") + k;
  diags.Error(m.Get("name").location(), metric_node.path() + ".name",
              "no " + what + " metric " + *name + " (" + offers + " " + list + ")");
}

// The target of a metric: Value or AverageValue, or with `average_only`
// AverageValue alone (all the API allows for a Pods metric).
void ReadValueTarget(MapReader& parent, hpa::MetricSpec& metric, const char* kind,
                     bool average_only, Diagnostics& diags) {
  const Node target_node = parent.Require("target");
  MapReader target(target_node, diags);
  const auto type = target.RequiredString("type");
  const char* field = "value";
  metric.target = hpa::MetricSpec::Target::kValue;
  if (average_only || type == std::optional<std::string>("AverageValue")) {
    field = "averageValue";
    metric.target = hpa::MetricSpec::Target::kAverageValue;
  }
  if (type && *type != "AverageValue" && (average_only || *type != "Value")) {
    diags.Error(target.Get("type").location(), target_node.path() + ".type",
                average_only
                    ? std::string("must be AverageValue for a ") + kind + " metric"
                    : std::string("must be Value or AverageValue for an ") + kind + " metric");
  }
  const Node value = target.Require(field);
  if (value.present()) {
    metric.value_milli = input::ReadQuantityMilli(value, diags, 1, kMaxCpuMilli).value_or(1);
  }
  target.RejectUnknown();
}

// A Pods metric: one of the model servers' custom metrics, with an
// AverageValue target.
hpa::MetricSpec ReadPodsMetric(MapReader& e, Diagnostics& diags) {
  hpa::MetricSpec metric;
  metric.source = hpa::MetricSpec::Source::kPods;
  const Node pods_node = e.Require("pods");
  MapReader pods(pods_node, diags);
  const Node metric_node = pods.Require("metric");
  MapReader m(metric_node, diags);
  ReadMetricName(m, metric_node, hpa::kPodsMetricNames, "pod", "the model servers offer", metric,
                 diags);
  if (m.Has("selector")) {
    const Node sel = m.Get("selector");
    diags.Error(sel.location(), sel.path(), "metric selectors are not simulated yet");
  }
  m.RejectUnknown();
  ReadValueTarget(pods, metric, "Pods", true, diags);
  pods.RejectUnknown();
  return metric;
}

// An External metric: a Service's metric chosen by `matchLabels: {service:
// NAME}`.
hpa::MetricSpec ReadExternalMetric(MapReader& e, const std::string& ns, Diagnostics& diags) {
  hpa::MetricSpec metric;
  metric.source = hpa::MetricSpec::Source::kExternal;
  const Node external_node = e.Require("external");
  MapReader external(external_node, diags);
  const Node metric_node = external.Require("metric");
  MapReader m(metric_node, diags);
  ReadMetricName(m, metric_node, hpa::kExternalMetricNames, "external", "simulated:", metric,
                 diags);
  const Node selector = m.Require("selector");
  MapReader sel(selector, diags);
  const Labels labels = ReadLabels(sel.Get("matchLabels"), diags);
  const auto service = labels.find("service");
  if (selector.present() && (service == labels.end() || labels.size() != 1)) {
    diags.Error(selector.location(), selector.path(),
                "must be matchLabels: {service: NAME}, naming the Service whose metric it is");
  } else if (service != labels.end()) {
    metric.service = Key(ns, service->second);
  }
  sel.RejectUnknown();
  m.RejectUnknown();
  ReadValueTarget(external, metric, "External", false, diags);
  external.RejectUnknown();
  return metric;
}

// An Object metric: the request rate of a v1 Service, with a Value or an
// AverageValue target.
hpa::MetricSpec ReadObjectMetric(MapReader& e, const std::string& ns, Diagnostics& diags) {
  hpa::MetricSpec metric;
  metric.source = hpa::MetricSpec::Source::kObject;
  const Node object_node = e.Require("object");
  MapReader object(object_node, diags);
  const Node described = object.Require("describedObject");
  MapReader d(described, diags);
  const std::string api = d.String("apiVersion", "v1");
  const std::string kind = d.String("kind", "");
  if (kind != "Service" || api != "v1") {
    diags.Error(described.location(), described.path(),
                "an Object metric of " + (kind.empty() ? std::string("no kind") : kind) +
                    " is not simulated yet (simulated: v1 Service)");
  }
  if (const auto name = d.RequiredString("name")) metric.service = Key(ns, *name);
  d.RejectUnknown();
  const Node metric_node = object.Require("metric");
  MapReader m(metric_node, diags);
  ReadMetricName(m, metric_node, hpa::kServiceMetricNames, "Service", "a Service offers", metric,
                 diags);
  m.RejectUnknown();
  ReadValueTarget(object, metric, "Object", false, diags);
  object.RejectUnknown();
  return metric;
}

void ReadHorizontalPodAutoscaler(MapReader& m, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  HorizontalPodAutoscaler h;
  ReadMetadata(m, h.meta, true, diags);
  MapReader spec(m.Require("spec"), diags);
  const Node ref_node = spec.Require("scaleTargetRef");
  MapReader ref(ref_node, diags);
  const std::string api = ref.String("apiVersion", "apps/v1");
  const std::string kind = ref.String("kind", "");
  if (!ref.Has("kind")) diags.Error(ref_node.location(), ref_node.path() + ".kind", "is required");
  if (ref.Has("kind") && (api != "apps/v1" || kind != "Deployment")) {
    diags.Error(ref.Get("kind").location(), ref_node.path(),
                kind + " of " + api +
                    " as a scale target is not simulated yet (simulated: apps/v1 Deployment)");
  }
  const Node target_name = ref.Get("name");
  if (const auto name = ref.RequiredString("name")) h.target = Key(h.meta.namespace_name, *name);
  ref.RejectUnknown();
  ctx.autoscaler_targets.push_back(target_name);
  if (spec.Has("minReplicas")) {
    const Node min = spec.Get("minReplicas");
    if (min.IsScalar() && min.scalar() == "0") {
      diags.Error(min.location(), min.path(),
                  "0 needs the HPAScaleToZero feature gate, which is not simulated");
    }
  }
  h.min_replicas = static_cast<std::int32_t>(spec.Int("minReplicas", 1, 0, 100000));
  h.max_replicas = static_cast<std::int32_t>(spec.Int("maxReplicas", 1, 1, 100000));
  if (!spec.Has("maxReplicas")) {
    diags.Error(spec.Get("maxReplicas").location(), m.Get("spec").path() + ".maxReplicas",
                "is required");
  } else if (h.max_replicas < h.min_replicas) {
    const Node max = spec.Get("maxReplicas");
    diags.Error(max.location(), max.path(), "must be at least minReplicas");
  }
  const Node metrics = spec.Get("metrics");
  if (metrics.present() && IsList(metrics, "metrics", diags)) {
    h.metrics.clear();
    for (const Node& entry : metrics.Elements()) {
      MapReader e(entry, diags);
      const auto type = e.RequiredString("type");
      if (type == std::optional<std::string>("Pods")) {
        h.metrics.push_back(ReadPodsMetric(e, diags));
        e.RejectUnknown();
        continue;
      }
      if (type == std::optional<std::string>("External")) {
        h.metrics.push_back(ReadExternalMetric(e, h.meta.namespace_name, diags));
        e.RejectUnknown();
        continue;
      }
      if (type == std::optional<std::string>("Object")) {
        h.metrics.push_back(ReadObjectMetric(e, h.meta.namespace_name, diags));
        e.RejectUnknown();
        continue;
      }
      if (type && *type != "Resource") {
        diags.Error(
            e.Get("type").location(), entry.path() + ".type",
            *type +
                " metrics are not simulated yet (simulated: Resource cpu, Pods, Object, External)");
        e.AcceptRest();
        continue;
      }
      const Node res_node = e.Require("resource");
      MapReader res(res_node, diags);
      hpa::MetricSpec metric;
      if (const auto name = res.RequiredString("name")) {
        if (*name != "cpu" && *name != "memory") {
          diags.Error(res.Get("name").location(), res_node.path() + ".name",
                      *name + " is not simulated (the serving layer models cpu and memory usage)");
        }
        metric.resource = *name;
      }
      const Node target_node = res.Require("target");
      MapReader target(target_node, diags);
      const auto target_type = target.RequiredString("type");
      if (target_type == std::optional<std::string>("Utilization")) {
        metric.target = hpa::MetricSpec::Target::kUtilization;
        metric.average_utilization =
            static_cast<std::int32_t>(target.Int("averageUtilization", 0, 1, 1'000'000));
        if (!target.Has("averageUtilization")) {
          diags.Error(target_node.location(), target_node.path() + ".averageUtilization",
                      "is required for a Utilization target");
        }
      } else if (target_type == std::optional<std::string>("AverageValue")) {
        metric.target = hpa::MetricSpec::Target::kAverageValue;
        const Node value = target.Require("averageValue");
        if (value.present()) {
          metric.value_milli = input::ReadQuantityMilli(value, diags, 1, kMaxCpuMilli).value_or(1);
        }
      } else if (target_type) {
        diags.Error(target.Get("type").location(), target_node.path() + ".type",
                    "must be Utilization or AverageValue for a Resource metric");
      }
      target.RejectUnknown();
      res.RejectUnknown();
      e.RejectUnknown();
      h.metrics.push_back(metric);
    }
    if (h.metrics.empty() && metrics.IsSequence() && metrics.Elements().empty()) {
      diags.Error(metrics.location(), metrics.path(), "needs at least one metric");
    }
  }
  const Node behavior = spec.Get("behavior");
  if (behavior.present()) {
    MapReader b(behavior, diags);
    hpa::Behavior rules;
    rules.scale_up = ReadScalingRules(b.Get("scaleUp"), hpa::DefaultScaleUpRules(), diags);
    rules.scale_down = ReadScalingRules(b.Get("scaleDown"), hpa::DefaultScaleDownRules(), diags);
    b.WarnUnknown(kNotSimulated);
    h.behavior = rules;
  }
  spec.WarnUnknown(kNotSimulated);
  s.autoscalers.push_back(std::move(h));
}

// Knative Serving.

// Reads one value of a Knative annotation or ConfigMap key (strings there;
// unquoted numbers read as their text) with the project's readers, then
// reports one outside upstream's rule `rule`.
struct KnativeValues {
  const Node& at;
  Diagnostics& diags;
  bool Check(bool ok, const std::string& rule) const {
    if (!ok) diags.Error(at.location(), at.path(), "invalid value '" + at.scalar() + "': " + rule);
    return ok;
  }
  std::optional<double> Number(const std::function<bool(double)>& ok, const std::string& rule) {
    const auto x = input::ReadNumber(at, diags, -HUGE_VAL, HUGE_VAL);
    if (!x || !Check(ok(*x), rule)) return std::nullopt;
    return x;
  }
  std::optional<int> Int32(std::int64_t min, const std::string& rule) {
    const auto x = input::ReadInt(at, diags, INT32_MIN, INT32_MAX);
    if (!x || !Check(*x >= min, rule)) return std::nullopt;
    return static_cast<int>(*x);
  }
  // A Go duration; `whole_seconds`: at most second precision.
  std::optional<sim::Time> Duration(sim::Time min, sim::Time max, bool whole_seconds,
                                    const std::string& rule) {
    const auto d = input::ReadDuration(at, diags, 0, sim::kMaxDuration);
    if (!d || !Check(*d >= min && *d <= max && (!whole_seconds || *d % sim::kSecond == 0), rule)) {
      return std::nullopt;
    }
    return d;
  }
  std::optional<bool> Bool() { return input::ReadBool(at, diags); }
  std::optional<std::string> String() { return input::ReadString(at, diags); }
};

// spec.knative: the cluster's Knative configuration as the data of its
// ConfigMaps, config-autoscaler (keys, defaults and validation of
// knative/serving pkg/autoscaler/config/config.go NewConfigFromMap and
// validate) and config-deployment's progress-deadline.
void ReadKnativeConfig(const Node& node, Scenario& s, Diagnostics& diags) {
  if (!node.present()) return;
  MapReader knative(node, diags);
  kpa::Config& c = s.knative_autoscaler;
  const Node autoscaler = knative.Get("config-autoscaler");
  if (autoscaler.present() && !autoscaler.IsMap()) {
    diags.Error(autoscaler.location(), autoscaler.path(),
                "expected the config-autoscaler ConfigMap's data (a map)");
  } else if (autoscaler.present()) {
    const sim::Time kHourNs = sim::kHour;
    Node initial_scale_at = autoscaler;
    for (const auto& e : autoscaler.Entries()) {
      const std::string key = e.key.IsScalar() ? e.key.scalar() : "";
      KnativeValues v{e.value, diags};
      auto positive = [](double x) { return x > 0; };
      if (key == "enable-scale-to-zero") {
        c.enable_scale_to_zero = v.Bool().value_or(c.enable_scale_to_zero);
      } else if (key == "allow-zero-initial-scale") {
        c.allow_zero_initial_scale = v.Bool().value_or(c.allow_zero_initial_scale);
      } else if (key == "max-scale-up-rate" || key == "max-scale-down-rate") {
        double& rate = key == "max-scale-up-rate" ? c.max_scale_up_rate : c.max_scale_down_rate;
        rate =
            v.Number([](double r) { return r > 1.0; }, "must be greater than 1.0").value_or(rate);
      } else if (key == "container-concurrency-target-percentage") {
        // Values above 1 are percentages (legacy: fractions in (0, 1]).
        if (const auto x =
                v.Number([](double p) { return p > 0 && (p > 1.0 ? p / 100.0 : p) <= 1.0; },
                         "outside of valid range of (0, 100]")) {
          c.container_concurrency_target_fraction = *x > 1.0 ? *x / 100.0 : *x;
        }
      } else if (key == "container-concurrency-target-default") {
        c.container_concurrency_target_default =
            v.Number(positive, "must be positive").value_or(c.container_concurrency_target_default);
      } else if (key == "requests-per-second-target-default") {
        c.rps_target_default = v.Number([](double x) { return x >= 0.01; }, "must be at least 0.01")
                                   .value_or(c.rps_target_default);
      } else if (key == "target-burst-capacity") {
        c.target_burst_capacity = v.Number([](double x) { return x >= 0 || x == -1; },
                                           "must be either non-negative or -1 (for unlimited)")
                                      .value_or(c.target_burst_capacity);
      } else if (key == "panic-window-percentage") {
        c.panic_window_percentage =
            v.Number([](double x) { return x >= 1 && x <= 100; }, "must be in [1, 100] interval")
                .value_or(c.panic_window_percentage);
      } else if (key == "panic-threshold-percentage") {
        c.panic_threshold_percentage =
            v.Number(positive, "must be positive").value_or(c.panic_threshold_percentage);
      } else if (key == "activator-capacity") {
        c.activator_capacity = v.Number([](double x) { return x >= 1; }, "must be at least 1")
                                   .value_or(c.activator_capacity);
      } else if (key == "initial-scale") {
        if (const auto x = v.Int32(0, "must be at least 0")) c.initial_scale = *x;
        initial_scale_at = e.value;
      } else if (key == "min-scale") {
        if (const auto x = v.Int32(0, "must be at least 0")) c.min_scale = *x;
      } else if (key == "max-scale") {
        if (const auto x = v.Int32(0, "must be at least 0")) c.max_scale = *x;
      } else if (key == "stable-window") {
        c.stable_window = v.Duration(6 * sim::kSecond, kHourNs, true,
                                     "must be in [6s; 1h0m0s] range, with at most second precision")
                              .value_or(c.stable_window);
      } else if (key == "scale-down-delay") {
        c.scale_down_delay =
            v.Duration(0, sim::kMaxDuration, true,
                       "cannot be negative, and must be specified with at most second precision")
                .value_or(c.scale_down_delay);
      } else if (key == "scale-to-zero-grace-period") {
        c.scale_to_zero_grace_period = v.Duration(1, sim::kMaxDuration, false, "must be positive")
                                           .value_or(c.scale_to_zero_grace_period);
      } else if (key == "scale-to-zero-pod-retention-period") {
        c.scale_to_zero_pod_retention_period =
            v.Duration(0, sim::kMaxDuration, false, "cannot be negative")
                .value_or(c.scale_to_zero_pod_retention_period);
      } else if (key == "pod-autoscaler-class") {
        if (const auto text = v.String(); text && *text != "kpa.autoscaling.knative.dev") {
          diags.Error(e.value.location(), e.value.path(),
                      "only kpa.autoscaling.knative.dev is simulated (got '" + *text + "')");
        }
      } else {
        diags.Warning(e.key.location(), e.value.path(), kNotSimulated);
      }
    }
    if (c.initial_scale == 0 && !c.allow_zero_initial_scale) {
      diags.Error(initial_scale_at.location(), initial_scale_at.path(),
                  "initial-scale = 0, must be at least 1 when allow-zero-initial-scale is false");
    }
    if (c.container_concurrency_target_fraction * c.container_concurrency_target_default < 0.01) {
      diags.Error(autoscaler.location(), autoscaler.path(),
                  "container-concurrency-target-percentage and "
                  "container-concurrency-target-default yield a target concurrency under 0.01");
    }
    if (c.max_scale > 0 && c.min_scale > c.max_scale) {
      diags.Error(autoscaler.location(), autoscaler.path() + ".min-scale",
                  "min-scale (" + std::to_string(c.min_scale) + ") must be less than max-scale (" +
                      std::to_string(c.max_scale) + ")");
    }
  }
  const Node deployment = knative.Get("config-deployment");
  if (deployment.present()) {
    MapReader d(deployment, diags);
    if (const Node pd = d.Get("progress-deadline"); pd.present()) {
      KnativeValues v{pd, diags};
      c.progress_deadline = v.Duration(sim::kSecond, sim::kMaxDuration, true,
                                       "must be a positive whole number of seconds")
                                .value_or(c.progress_deadline);
    }
    d.WarnUnknown(kNotSimulated);
  }
  knative.RejectUnknown();
}

// A revision's autoscaling.knative.dev/* annotations, as knative/serving
// pkg/apis/autoscaling/annotation_validation.go validates them (the
// camelCase aliases of register.go accepted).
kpa::Annotations ReadKnativeAnnotations(const Node& node, const kpa::Config& config,
                                        Diagnostics& diags) {
  kpa::Annotations a;
  if (!node.present()) return a;
  if (!node.IsMap()) {
    diags.Error(node.location(), node.path(), "expected a map of annotations");
    return a;
  }
  static const std::map<std::string, std::string> kAliases = {
      {"initialScale", "initial-scale"},
      {"maxScale", "max-scale"},
      {"metricAggregationAlgorithm", "metric-aggregation-algorithm"},
      {"minScale", "min-scale"},
      {"panicThresholdPercentage", "panic-threshold-percentage"},
      {"panicWindowPercentage", "panic-window-percentage"},
      {"scaleDownDelay", "scale-down-delay"},
      {"scaleToZeroPodRetentionPeriod", "scale-to-zero-pod-retention-period"},
      {"targetBurstCapacity", "target-burst-capacity"},
      {"targetUtilizationPercentage", "target-utilization-percentage"},
  };
  const std::string prefix = "autoscaling.knative.dev/";
  Node activation_at;  // a copy: Entries() is a temporary
  std::string activation_path;
  for (const auto& e : node.Entries()) {
    const std::string full = e.key.IsScalar() ? e.key.scalar() : "";
    if (full == "serving.knative.dev/progress-deadline") {
      // pkg/apis/serving/metadata_validation.go: a positive whole number of
      // seconds.
      KnativeValues v{e.value, diags};
      a.progress_deadline = v.Duration(sim::kSecond, sim::kMaxDuration, true,
                                       "must be a positive whole number of seconds");
      continue;
    }
    if (full.rfind(prefix, 0) != 0) continue;  // not an autoscaling annotation
    std::string key = full.substr(prefix.size());
    if (const auto alias = kAliases.find(key); alias != kAliases.end()) key = alias->second;
    KnativeValues v{e.value, diags};
    if (key == "class") {
      const auto text = v.String();
      if (text && *text != "kpa.autoscaling.knative.dev") {
        diags.Error(e.value.location(), e.value.path(),
                    "class '" + *text +
                        "' is not simulated (only kpa.autoscaling.knative.dev; for an HPA, give "
                        "an autoscaling/v2 HorizontalPodAutoscaler)");
      }
    } else if (key == "metric") {
      const auto text = v.String();
      if (text && *text == "rps") {
        a.metric = kpa::Metric::kRps;
      } else if (text && *text != "concurrency") {
        diags.Error(e.value.location(), e.value.path(),
                    "invalid value '" + *text + "': the KPA scales on concurrency or rps");
      }
    } else if (key == "target") {
      a.target = v.Number([](double x) { return x >= 0.01; }, "must be at least 0.01");
    } else if (key == "target-utilization-percentage") {
      a.target_utilization_percentage =
          v.Number([](double x) { return x >= 1 && x <= 100; }, "must be in [1, 100]");
    } else if (key == "target-burst-capacity") {
      a.target_burst_capacity = v.Number([](double x) { return x >= 0 || x == -1; },
                                         "must be either non-negative or -1 (for unlimited)");
    } else if (key == "panic-window-percentage") {
      a.panic_window_percentage =
          v.Number([](double x) { return x >= 1 && x <= 100; }, "must be in [1, 100]");
    } else if (key == "panic-threshold-percentage") {
      a.panic_threshold_percentage =
          v.Number([](double x) { return x >= 110 && x <= 1000; }, "must be in [110, 1000]");
    } else if (key == "window") {
      a.window = v.Duration(6 * sim::kSecond, sim::kHour, true,
                            "must be in [6s, 1h0m0s], with at most second precision");
    } else if (key == "scale-down-delay") {
      a.scale_down_delay =
          v.Duration(0, sim::kHour, true, "must be in [0s, 1h0m0s], with at most second precision");
    } else if (key == "scale-to-zero-pod-retention-period") {
      a.scale_to_zero_pod_retention_period =
          v.Duration(0, sim::kHour, false, "must be in [0s, 1h0m0s]");
    } else if (key == "min-scale") {
      a.min_scale = v.Int32(0, "must be at least 0");
    } else if (key == "max-scale") {
      a.max_scale = v.Int32(0, "must be at least 0");
    } else if (key == "initial-scale") {
      a.initial_scale = v.Int32(0, "must be at least 0");
      if (a.initial_scale == 0 && !config.allow_zero_initial_scale) {
        diags.Error(e.value.location(), e.value.path(),
                    "invalid value '0': initial-scale=0 requires allow-zero-initial-scale in "
                    "config-autoscaler");
      }
    } else if (key == "activation-scale") {
      a.activation_scale = v.Int32(INT32_MIN, "");
      activation_at = e.value;
      activation_path = e.value.path();
    } else if (key == "metric-aggregation-algorithm") {
      const auto text = v.String();
      if (text && (*text == "weighted-exponential" || *text == "weightedExponential")) {
        a.weighted_exponential = true;
      } else if (text && *text != "linear") {
        diags.Error(e.value.location(), e.value.path(),
                    "invalid value '" + *text + "': linear or weighted-exponential");
      }
    } else {
      diags.Warning(e.key.location(), e.value.path(),
                    "an unknown Knative autoscaling annotation; ignored");
    }
  }
  const int min = a.min_scale.value_or(0), max = a.max_scale.value_or(0);
  if (max != 0 && max < min) {
    diags.Error(
        node.location(), node.path(),
        "max-scale=" + std::to_string(max) + " is less than min-scale=" + std::to_string(min));
  }
  if (a.activation_scale && activation_at.present()) {
    const int n = *a.activation_scale;
    std::string problem;
    if (min > n) {
      problem = "min-scale=" + std::to_string(min) +
                " is greater than activation-scale=" + std::to_string(n);
    } else if (max != 0 && max < n) {
      problem = "max-scale=" + std::to_string(max) +
                " is less than activation-scale=" + std::to_string(n);
    } else if (n < 2) {
      problem = "activation-scale=" + std::to_string(n) + " must be greater than 1";
    }
    if (!problem.empty()) {
      diags.Error(activation_at.location(), activation_path, problem);
      a.activation_scale.reset();
    }
  }
  return a;
}

// Objects a controller creates for `owner` (kind/namespace/name) clash with
// a manifest's object of that name.
void ClaimRendered(ManifestContext& ctx, const Node& doc, const std::string& owner,
                   const std::vector<std::string>& rendered) {
  for (const std::string& r : rendered) {
    if (!ctx.objects.emplace(r, doc).second) {
      ctx.diags.Error(doc.location(), doc.path(),
                      owner + " creates " + r + ", which is already among the manifests");
    }
  }
}

// The objects of revision `rev` (its name, concurrency, timeout,
// annotations and given template set) of Knative Service `meta`, as
// Knative's controllers render them (knative/serving pkg/reconciler/
// revision/resources/deploy.go): a Deployment REVISION-deployment at the
// initial scale, whose pods carry the revision's labels and the
// queue-proxy sidecar (requests.cpu 25m, pkg/deployment/config.go
// QueueSidecarCPURequestDefault), and a private Service REVISION-private
// selecting them. Sets the revision's deployment and private_service.
std::pair<Deployment, Service> RenderRevisionObjects(const ObjectMeta& meta, KnativeRevision& rev,
                                                     const kpa::Config& config) {
  PodTemplate pod = rev.given;
  pod.labels[kKnativeServiceLabel] = meta.name;
  pod.labels["serving.knative.dev/configuration"] = meta.name;
  pod.labels[kKnativeRevisionLabel] = rev.name;
  pod.requests.cpu_milli += 25;  // the queue-proxy
  pod.containers += 1;
  // deploy.go: the pod's grace period is the revision's timeout.
  pod.termination_grace = rev.timeout;
  // Without a readiness probe of its own, a revision gets a TCP probe that
  // the queue-proxy runs every 50 ms until it passes (revision defaulting;
  // pkg/queue/readiness/probe.go retryInterval), and the activator probes
  // the queue-proxy itself: a pod takes requests as soon as its model has
  // loaded.
  if (!pod.has_readiness_probe) {
    pod.has_readiness_probe = true;
    pod.readiness = Probe{0, 50 * sim::kMillisecond, 1};
  }
  Deployment d;
  d.meta.name = rev.name + "-deployment";
  d.meta.namespace_name = meta.namespace_name;
  d.meta.labels = meta.labels;
  d.replicas = kpa::InitialScale(config, rev.annotations);
  d.selector = {{kKnativeRevisionLabel, rev.name}};
  d.pod_template = std::move(pod);
  rev.deployment = d.meta.Key();
  Service svc;
  svc.meta.name = rev.name + "-private";
  svc.meta.namespace_name = meta.namespace_name;
  svc.selector = d.selector;
  rev.private_service = svc.meta.Key();
  return {std::move(d), std::move(svc)};
}

// Renders a Knative Service's first revision (`rev`) into the scenario,
// its objects among the deployments and services, and adds `k` with it.
// `doc` is the manifest it came from.
void RenderKnativeRevision(const ObjectMeta& meta, KnativeRevision rev, KnativeServiceSpec k,
                           const Node& doc, Scenario& s, ManifestContext& ctx) {
  auto [d, svc] = RenderRevisionObjects(meta, rev, s.knative_autoscaler);
  ClaimRendered(ctx, doc, "Knative Service " + k.key,
                {"Deployment/" + rev.deployment, "Service/" + rev.private_service});
  s.deployments.push_back(std::move(d));
  s.services.push_back(std::move(svc));
  k.revisions.push_back(std::move(rev));
  s.knative_services.push_back(std::move(k));
}

// A Service's spec.traffic (knative/serving pkg/apis/serving/v1
// route_validation.go, with route_defaults.go: a target without
// revisionName is the latest revision): targets of a named revision or of
// the latest, percents in [0, 100] summing to 100, tags unique DNS-1035
// labels. Named revisions are checked against the Service's when the
// whole scenario is read (CheckKnativeTraffic).
std::vector<KnativeTrafficTarget> ReadKnativeTraffic(const Node& list, Diagnostics& diags) {
  std::vector<KnativeTrafficTarget> out;
  // None, or an empty list: the latest revision takes everything.
  if (!list.present() || (list.IsSequence() && list.Elements().empty())) return {{}};
  std::int64_t sum = 0;
  std::map<std::string, std::string> tags;  // tag -> path of its first use
  for (const Node& entry : ListElements(list, "traffic targets", diags)) {
    MapReader t(entry, diags);
    KnativeTrafficTarget target;
    target.revision = t.String("revisionName", "");
    const bool pinned = !target.revision.empty();
    if (t.Has("latestRevision")) {
      const bool latest = t.Bool("latestRevision", !pinned);
      if (latest == pinned) {
        diags.Error(t.Get("latestRevision").location(), t.Get("latestRevision").path(),
                    "may not set revisionName \"" + target.revision + "\" when latestRevision is " +
                        (latest ? "true" : "false"));
      }
    }
    if (t.Has("configurationName")) {
      diags.Error(t.Get("configurationName").location(), t.Get("configurationName").path(),
                  "must not set the field(s): a Service's route targets its own configuration");
    }
    target.percent = static_cast<int>(t.Int("percent", 0, 0, 100));
    sum += target.percent;
    if (t.Has("tag") && !t.String("tag", "").empty()) {  // "": no tag
      const std::string tag = t.String("tag", "");
      if (!IsDnsLabel(tag) || !std::isalpha(static_cast<unsigned char>(tag[0]))) {
        diags.Error(t.Get("tag").location(), t.Get("tag").path(), "not a DNS 1035 label");
      } else if (!tags.emplace(tag, t.Get("tag").path()).second) {
        diags.Error(t.Get("tag").location(), t.Get("tag").path(),
                    "Multiple definitions for \"" + tag + "\" (also at " + tags[tag] + ")");
      }
    }
    t.RejectUnknown();
    out.push_back(std::move(target));
  }
  if (sum != 100 && list.IsSequence()) {
    diags.Error(list.location(), list.path(),
                "Traffic targets sum to " + std::to_string(sum) + ", want 100");
  }
  return out;
}

// The revisions a Knative Service's traffic names are among those it has
// created by then (upstream, the route waits for them, not ready).
void CheckKnativeTraffic(const KnativeServiceSpec& k,
                         const std::vector<KnativeTrafficTarget>& traffic, const Node& at,
                         Diagnostics& diags) {
  for (const KnativeTrafficTarget& t : traffic) {
    if (t.revision.empty()) continue;
    const bool known = std::any_of(k.revisions.begin(), k.revisions.end(),
                                   [&](const KnativeRevision& r) { return r.name == t.revision; });
    if (!known) {
      const Node traffic_at = Field(Field(at, "spec"), "traffic");
      diags.Error(traffic_at.location(), traffic_at.path(),
                  "Knative Service " + k.key + " has no revision " + t.revision +
                      " (so far: it waits for it, and is not ready)");
    }
  }
}

// A serving.knative.dev/v1 Service: its template read, then rendered
// (RenderKnativeRevision). The revision is template.metadata.name, else
// <name>-00001.
void ReadKnativeService(MapReader& m, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  KnativeServiceSpec k;
  ObjectMeta meta;
  ReadMetadata(m, meta, true, diags);
  k.key = meta.Key();
  MapReader spec(m.Require("spec"), diags);
  const Node tmpl = spec.Require("template");
  k.traffic = ReadKnativeTraffic(spec.Get("traffic"), diags);
  spec.WarnUnknown(kNotSimulated);
  if (!tmpl.present()) return;
  Node annotations;
  std::optional<std::string> revision_name;
  std::optional<std::int64_t> cc, timeout;
  TemplateExtras extras;
  extras.container_names_optional = true;
  extras.metadata = [&](MapReader& md) {
    annotations = md.Get("annotations");
    if (md.Has("name")) revision_name = md.String("name", "");
  };
  extras.spec = [&](MapReader& ts) {
    // pkg/apis/serving/v1 revision validation: containerConcurrency in
    // [0, 1000], timeoutSeconds in [0, 600] (max-revision-timeout-seconds).
    if (ts.Has("containerConcurrency")) cc = ts.Int("containerConcurrency", 0, 0, 1000);
    if (ts.Has("timeoutSeconds")) timeout = ts.Int("timeoutSeconds", 300, 0, 600);
  };
  KnativeRevision rev;
  rev.given = ReadPodTemplate(tmpl, diags, extras);
  rev.annotations = ReadKnativeAnnotations(annotations, s.knative_autoscaler, diags);
  rev.container_concurrency = static_cast<int>(cc.value_or(0));
  // timeoutSeconds 0 takes the default (revision defaulting).
  rev.timeout = (timeout.value_or(0) == 0 ? 300 : *timeout) * sim::kSecond;
  rev.name = revision_name.value_or(meta.name + "-00001");
  rev.named = revision_name.has_value();
  if (revision_name && revision_name->rfind(meta.name + "-", 0) != 0) {
    diags.Error(
        tmpl.location(), input::ChildPath(tmpl.path(), "metadata.name"),
        "must have the Service's name followed by '-' as its prefix (" + meta.name + "-...)");
  }
  RenderKnativeRevision(meta, std::move(rev), std::move(k), m.node(), s, ctx);
}

// A serving.kserve.io/v1beta1 InferenceService's predictor, rendered as
// KServe's controller renders it (kserve/kserve v0.20; pkg/apis/serving/
// v1beta1 component.go and inference_service_validation.go for the fields
// and their rules, pkg/controller/v1beta1/inferenceservice/reconcilers for
// the objects). The deployment mode is the serving.kserve.io/deploymentMode
// annotation (Knative or its old name Serverless; Standard or
// RawDeployment), else spec.kserve.defaultDeploymentMode.
// - Knative: a Knative Service NAME-predictor whose revision carries
//   min-scale = minReplicas (default 1; 0 scales to zero), max-scale =
//   maxReplicas unless 0, target = scaleTarget, metric = scaleMetric
//   (concurrency or rps), containerConcurrency and timeoutSeconds = timeout
//   (reconcilers/knative, SetAutoScalingAnnotations).
// - Standard: a Deployment and a Service NAME-predictor (pods labelled
//   app: isvc.NAME-predictor, with a TCP readiness probe at its defaults)
//   and, for the autoscaler class hpa (serving.kserve.io/autoscalerClass,
//   the default), an HPA on cpu utilization at scaleTarget (default 80%)
//   from max(1, minReplicas) to max(maxReplicas, min) (reconcilers/hpa).
// The model (predictor.model: modelFormat, runtime, storageUri and the
// container's resources) is the pod's first container; its image is the
// serving runtime's, named kserve-runtime/RUNTIME-or-FORMAT here.
void ReadInferenceService(MapReader& m, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  const Node doc = m.node();
  ObjectMeta meta;
  Node annotations;
  ReadMetadata(m, meta, true, diags, &annotations);
  InferenceServiceSpec isvc;
  isvc.key = meta.Key();
  isvc.knative = s.kserve_default_knative;
  std::string autoscaler_class = "hpa";
  Node class_at;
  if (annotations.present() && annotations.IsMap()) {
    for (const auto& e : annotations.Entries()) {
      const std::string key = e.key.IsScalar() ? e.key.scalar() : "";
      if (key == "serving.kserve.io/deploymentMode") {
        const auto mode = input::ReadString(e.value, diags);
        if (mode == "Knative" || mode == "Serverless") {
          isvc.knative = true;
        } else if (mode == "Standard" || mode == "RawDeployment") {
          isvc.knative = false;
        } else if (mode == "ModelMesh") {
          diags.Error(e.value.location(), e.value.path(), "ModelMesh is not simulated");
        } else if (mode) {
          diags.Warning(e.value.location(), e.value.path(),
                        "unknown deployment mode '" + *mode +
                            "': KServe uses its default, as here (Knative, Serverless, Standard "
                            "or RawDeployment)");
        }
      } else if (key == "serving.kserve.io/autoscalerClass") {
        autoscaler_class = input::ReadString(e.value, diags).value_or(autoscaler_class);
        class_at = e.value;
      }
    }
  }
  if (class_at.present() && !isvc.knative) {
    // validateInferenceServiceAutoscaler.
    if (autoscaler_class == "keda") {
      diags.Error(class_at.location(), class_at.path(),
                  "the keda autoscaler class is not simulated");
    } else if (autoscaler_class != "hpa" && autoscaler_class != "external" &&
               autoscaler_class != "none") {
      diags.Error(class_at.location(), class_at.path(),
                  "[" + autoscaler_class + "] is not a supported autoscaler class type");
    }
  }
  MapReader spec(m.Require("spec"), diags);
  const Node predictor = spec.Require("predictor");
  for (const char* other : {"transformer", "explainer"}) {
    if (const Node n = spec.Get(other); n.present()) {
      diags.Warning(n.location(), n.path(), "not simulated yet: requests go to the predictor only");
    }
  }
  spec.WarnUnknown(kNotSimulated);
  if (!predictor.present()) return;

  // ComponentExtensionSpec, with ComponentExtensionSpec.Validate's rules.
  std::optional<std::int64_t> min_replicas, scale_target, cc, timeout, canary;
  std::int64_t max_replicas = 0;
  std::string metric;
  Node metric_at, target_at, canary_at;
  Labels predictor_labels;
  std::string model_format, runtime, storage_uri;
  TemplateExtras extras;
  extras.spec_only = true;
  extras.container_names_optional = true;
  extras.model_key = "model";
  extras.model = [&](MapReader& model) {
    MapReader format(model.Require("modelFormat"), diags);
    model_format = format.RequiredString("name").value_or("");
    format.String("version", "");
    format.RejectUnknown();
    runtime = model.String("runtime", "");
    storage_uri = model.String("storageUri", "");
    for (const char* f : {"protocolVersion", "runtimeVersion"})
      model.String(f, "");
  };
  extras.spec = [&](MapReader& p) {
    auto at_least_zero = [&](const char* field, const char* rule) -> std::optional<std::int64_t> {
      if (!p.Has(field)) return std::nullopt;
      const std::int64_t x = p.Int(field, 0, INT32_MIN, INT32_MAX);
      if (x < 0) diags.Error(p.Get(field).location(), p.Get(field).path(), rule);
      return std::max<std::int64_t>(0, x);
    };
    min_replicas = at_least_zero("minReplicas", "'MinReplicas' cannot be less than 0");
    max_replicas = at_least_zero("maxReplicas", "'MaxReplicas' cannot be less than 0").value_or(0);
    if (min_replicas.value_or(1) > max_replicas && max_replicas != 0) {
      diags.Error(p.Get("minReplicas").location(), p.Get("minReplicas").path(),
                  "'MinReplicas' cannot be greater than MaxReplicas");
    }
    cc = at_least_zero("containerConcurrency", "parallelism cannot be less than 0");
    if (p.Has("timeout")) timeout = p.Int("timeout", 0, 0, 600);
    if (p.Has("scaleTarget")) {
      scale_target = p.Int("scaleTarget", 0, INT32_MIN, INT32_MAX);
      target_at = p.Get("scaleTarget");
    }
    if (p.Has("scaleMetric")) {
      metric = p.Enum("scaleMetric", "", {"cpu", "memory", "concurrency", "rps"});
      metric_at = p.Get("scaleMetric");
    }
    // ComponentExtensionSpec validation: canaryTrafficPercent in [0, 100].
    if (p.Has("canaryTrafficPercent")) {
      canary = p.Int("canaryTrafficPercent", 100, 0, 100);
      canary_at = p.Get("canaryTrafficPercent");
    }
    predictor_labels = ReadLabels(p.Get("labels"), diags);
  };
  PodTemplate pod = ReadPodTemplate(predictor, diags, extras);
  if (pod.image.empty()) {
    pod.image = "kserve-runtime/" + (runtime.empty() ? model_format : runtime);
  }
  pod.model_uri = storage_uri;
  for (const auto& [k, v] : predictor_labels)
    pod.labels[k] = v;
  pod.labels["serving.kserve.io/inferenceservice"] = meta.name;
  pod.labels["component"] = "predictor";
  const std::string name = meta.name + "-predictor";

  if (isvc.knative) {
    // validateScalingKPACompExtension.
    if (!metric.empty() && metric != "concurrency" && metric != "rps") {
      diags.Error(metric_at.location(), metric_at.path(),
                  "[" + metric +
                      "] is not a supported metric (the KPA scales on concurrency or "
                      "rps; cpu and memory need the Standard deployment mode)");
    }
    if (metric == "rps" && scale_target && *scale_target < 1) {
      diags.Error(target_at.location(), target_at.path(),
                  "the target for rps should be greater than 1");
    } else if (scale_target && *scale_target < 1) {
      // The annotation it becomes must be at least 0.01 (Knative's
      // annotation validation).
      diags.Error(target_at.location(), target_at.path(),
                  "must be at least 1: it becomes autoscaling.knative.dev/target, which must be "
                  "at least 0.01");
    }
    KnativeServiceSpec k;
    k.key = Key(meta.namespace_name, name);
    // KServe's ksvc reconciler writes the traffic (knative/
    // ksvc_reconciler.go createKnativeService).
    k.kserve = true;
    if (canary) k.canary_percent = static_cast<int>(*canary);
    KnativeRevision rev;
    rev.name = name + "-00001";
    rev.annotations = ReadKnativeAnnotations(annotations, s.knative_autoscaler, diags);
    // min-scale and max-scale annotations on the InferenceService are
    // dropped (constants.ServiceAnnotationDisallowedList); the spec sets them.
    rev.annotations.min_scale = static_cast<int>(min_replicas.value_or(1));
    rev.annotations.max_scale.reset();
    if (max_replicas != 0) rev.annotations.max_scale = static_cast<int>(max_replicas);
    if (scale_target) rev.annotations.target = static_cast<double>(*scale_target);
    if (metric == "rps") rev.annotations.metric = kpa::Metric::kRps;
    rev.container_concurrency = static_cast<int>(cc.value_or(0));
    if (timeout.value_or(0) > 0) rev.timeout = *timeout * sim::kSecond;
    rev.given = std::move(pod);
    ObjectMeta ksvc = meta;
    ksvc.name = name;
    isvc.service = k.key;
    isvc.deployment = Key(meta.namespace_name, rev.name + "-deployment");
    RenderKnativeRevision(ksvc, std::move(rev), std::move(k), doc, s, ctx);
    s.inference_services.push_back(std::move(isvc));
    return;
  }

  if (canary) {
    diags.Warning(canary_at.location(), canary_at.path(),
                  "has no effect in the Standard deployment mode: KServe splits traffic between "
                  "revisions in Knative mode only; a new predictor rolls out as a Deployment does");
  }
  // Standard: validateScalingHPACompExtension for the hpa class.
  const bool hpa = autoscaler_class == "hpa";
  if (hpa && !metric.empty() && metric != "cpu" && metric != "memory") {
    diags.Error(metric_at.location(), metric_at.path(),
                "[" + metric + "] is not a supported metric (an HPA scales on cpu or memory)");
  }
  if (hpa && scale_target && (*scale_target < 1 || *scale_target > 100)) {
    diags.Error(target_at.location(), target_at.path(),
                "the target utilization percentage should be a [1-100] integer");
  }
  const Labels selector = {{"app", "isvc." + name}};
  for (const auto& [k, v] : selector)
    pod.labels[k] = v;
  if (!pod.has_readiness_probe) pod.has_readiness_probe = true;  // TCP, at its defaults
  Deployment d;
  d.meta.name = name;
  d.meta.namespace_name = meta.namespace_name;
  d.meta.labels = meta.labels;
  d.replicas = autoscaler_class == "none" && min_replicas ? static_cast<int>(*min_replicas) : 1;
  d.selector = selector;
  d.pod_template = std::move(pod);
  Service svc;
  svc.meta = d.meta;
  svc.selector = selector;
  isvc.service = svc.meta.Key();
  isvc.deployment = d.meta.Key();
  std::vector<std::string> rendered = {"Deployment/" + d.meta.Key(), "Service/" + svc.meta.Key()};
  if (hpa) {
    HorizontalPodAutoscaler h;
    h.meta.name = name;
    h.meta.namespace_name = meta.namespace_name;
    h.target = d.meta.Key();
    h.min_replicas = static_cast<std::int32_t>(std::max<std::int64_t>(1, min_replicas.value_or(1)));
    h.max_replicas = std::max(h.min_replicas, static_cast<std::int32_t>(max_replicas));
    // hpa_reconciler.go getHPAMetrics: a Resource Utilization metric, of
    // cpu at scaleTarget or 80%, or of memory at scaleTarget; memory with
    // no scaleTarget gives no metric, and the API server then defaults the
    // HPA to cpu at 80% (autoscaling/v2 SetDefaults_HorizontalPodAutoscaler).
    hpa::MetricSpec resource;  // Resource cpu, Utilization
    resource.average_utilization = static_cast<std::int32_t>(scale_target.value_or(80));
    if (metric == "memory" && scale_target) resource.resource = "memory";
    h.metrics = {resource};
    rendered.push_back("HorizontalPodAutoscaler/" + h.meta.Key());
    s.autoscalers.push_back(std::move(h));
    ctx.autoscaler_targets.push_back(doc);
  }
  ClaimRendered(ctx, doc, "InferenceService " + isvc.key, rendered);
  s.deployments.push_back(std::move(d));
  s.services.push_back(std::move(svc));
  s.inference_services.push_back(std::move(isvc));
}

// Argo Rollouts (argoproj.io/v1alpha1), as argoproj/argo-rollouts
// pkg/apis/rollouts/v1alpha1/types.go and analysis_types.go define them,
// with utils/defaults/defaults.go's defaults and pkg/apis/rollouts/
// validation's rules.

// An argument of a template (`name`, optional `value`) or of a Rollout's
// analysis (`value`, or `valueFrom.podTemplateHashValue`).
AnalysisArg ReadAnalysisArg(const Node& node, bool of_template, Diagnostics& diags) {
  MapReader m(node, diags);
  AnalysisArg a;
  a.name = m.RequiredString("name").value_or("");
  const Node value = m.Get("value");
  if (value.present()) a.value = input::ReadString(value, diags).value_or("");
  if (!of_template) {
    MapReader from(m.Get("valueFrom"), diags);
    const Node hash = from.Get("podTemplateHashValue");
    if (hash.present()) {
      if (value.present()) {
        diags.Error(node.location(), node.path(), "needs one of value or valueFrom");
      }
      const std::string which = from.Enum("podTemplateHashValue", "Stable", {"Stable", "Latest"});
      a.from = which == "Stable" ? AnalysisArg::From::kStableHash : AnalysisArg::From::kLatestHash;
    } else if (!value.present()) {
      diags.Error(node.location(), node.path(),
                  "needs a value or valueFrom.podTemplateHashValue (fieldRef and secretKeyRef "
                  "are not simulated)");
    }
    from.RejectUnknown();
  }
  m.RejectUnknown();
  return a;
}

// A Rollout's analysis (a step's, the background's, a promotion's):
// templates by name in the Rollout's namespace, and arguments. The
// templates' existence is checked once every manifest is read.
AnalysisRef ReadAnalysisRef(MapReader& m, const std::string& ns, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  AnalysisRef ref;
  const Node templates = m.Require("templates");
  for (const Node& t : ListElements(templates, "templates", diags)) {
    MapReader tm(t, diags);
    if (tm.Bool("clusterScope", false)) {
      diags.Error(t.location(), t.path(), "ClusterAnalysisTemplates are not simulated yet");
    }
    if (const auto name = tm.RequiredString("templateName")) {
      ref.templates.push_back(Key(ns, *name));
      ctx.analysis_refs.push_back({Key(ns, *name), tm.Get("templateName"), m.node()});
    }
    tm.RejectUnknown();
  }
  if (templates.present() && ref.templates.empty()) {
    diags.Error(templates.location(), templates.path(), "needs at least one template");
  }
  for (const Node& a : ListElements(m.Get("args"), "args", diags))
    ref.args.push_back(ReadAnalysisArg(a, false, diags));
  m.WarnUnknown(kNotSimulated);
  return ref;
}

// A canary step: exactly one of setWeight, pause, analysis, setCanaryScale
// (validation.go ValidateRolloutStrategyCanary).
CanaryStep ReadCanaryStep(const Node& node, const std::string& ns, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  MapReader m(node, diags);
  CanaryStep step;
  const std::vector<std::string> keys = m.Keys();
  if (keys.size() != 1) {
    diags.Error(node.location(), node.path(),
                "a step needs exactly one of setWeight, pause, analysis or setCanaryScale");
    m.AcceptRest();
    return step;
  }
  const std::string& kind = keys[0];
  if (kind == "setWeight") {
    step.kind = CanaryStep::Kind::kSetWeight;
    step.weight = static_cast<int>(m.Int("setWeight", 0, 0, 100));
    step.text = "setWeight: " + std::to_string(step.weight);
  } else if (kind == "pause") {
    step.kind = CanaryStep::Kind::kPause;
    step.text = "pause";
    MapReader p(m.Get("pause"), diags);
    const Node d = p.Get("duration");
    if (d.present() && d.IsScalar()) {
      // RolloutPause.DurationSeconds: an integer (or numeric string) is
      // seconds, else a Go duration.
      const std::string text = d.scalar();
      std::int64_t seconds = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      std::string error;
      if (ec == std::errc() && end == text.data() + text.size() && seconds >= 0 &&
          seconds < 1'000'000'000) {
        step.duration = seconds * sim::kSecond;
      } else if (const auto t = input::ParseDuration(text, &error); t && *t >= 0) {
        step.duration = *t;
      } else {
        diags.Error(d.location(), d.path(),
                    "expected seconds or a duration like \"30s\" or \"1h\", got '" + text + "'");
      }
      step.text = "pause: " + text;
    } else if (d.present()) {
      diags.Error(d.location(), d.path(), "expected seconds or a duration, got " + d.Describe());
    }
    p.RejectUnknown();
  } else if (kind == "analysis") {
    step.kind = CanaryStep::Kind::kAnalysis;
    step.text = "analysis";
    MapReader a(m.Get("analysis"), diags);
    step.analysis = ReadAnalysisRef(a, ns, ctx);
  } else if (kind == "setCanaryScale") {
    step.kind = CanaryStep::Kind::kSetCanaryScale;
    const Node at = m.Get("setCanaryScale");
    MapReader c(at, diags);
    const bool replicas = c.Has("replicas"), weight = c.Has("weight"),
               match = c.Has("matchTrafficWeight");
    if (replicas + weight + match != 1) {
      diags.Error(at.location(), at.path(),
                  "needs exactly one of replicas, weight or matchTrafficWeight");
    }
    if (replicas) {
      step.scale_replicas = static_cast<int>(c.Int("replicas", 0, 0, 100000));
      step.text = "setCanaryScale{replicas: " + std::to_string(*step.scale_replicas) + "}";
    } else if (weight) {
      step.scale_weight = static_cast<int>(c.Int("weight", 0, 0, 100));
      step.text = "setCanaryScale{weight: " + std::to_string(*step.scale_weight) + "}";
    } else {
      step.match_traffic_weight = c.Bool("matchTrafficWeight", false);
      step.text = "setCanaryScale{matchTrafficWeight: true}";
    }
    c.RejectUnknown();
  } else {
    const Node at = m.Get(kind);
    diags.Error(
        at.location(), at.path(),
        kind == "experiment" || kind == "setHeaderRoute" || kind == "setMirrorRoute" ||
                kind == "plugin"
            ? kind + " steps are not simulated yet"
            : "unknown step " + kind + " (simulated: setWeight, pause, analysis, setCanaryScale)");
  }
  return step;
}

// A Service a Rollout names: same namespace; its existence is checked with
// the other references.
std::string ReadRolloutService(MapReader& m, const char* field, const std::string& ns,
                               ManifestContext& ctx) {
  const auto name = m.String(field, "");
  if (name.empty()) return "";
  ctx.service_refs.push_back({Key(ns, name), m.Get(field)});
  return Key(ns, name);
}

void ReadRollout(MapReader& m, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  ArgoRollout r;
  ReadMetadata(m, r.meta, true, diags);
  const std::string& ns = r.meta.namespace_name;
  MapReader spec(m.Require("spec"), diags);
  r.replicas = static_cast<int>(spec.Int("replicas", 1, 0, 100000));
  r.min_ready = spec.Int("minReadySeconds", 0, 0, 1'000'000'000) * sim::kSecond;
  r.revision_history_limit = static_cast<int>(spec.Int("revisionHistoryLimit", 10, 0, 1'000'000));
  r.progress_deadline = spec.Int("progressDeadlineSeconds", 600, 1, INT32_MAX) * sim::kSecond;
  r.paused = spec.Bool("paused", false);
  if (spec.Has("workloadRef")) {
    const Node w = spec.Get("workloadRef");
    diags.Error(w.location(), w.path(), "workloadRef is not simulated yet (give the template)");
  }
  const Node selector = spec.Require("selector");
  MapReader sel(selector, diags);
  r.selector = ReadLabels(sel.Get("matchLabels"), diags);
  sel.RejectUnknown();
  const Node tmpl = spec.Require("template");
  if (tmpl.present()) {
    r.pod_template = ReadPodTemplate(tmpl, diags);
    if (selector.present() && !SelectorMatches(r.selector, r.pod_template.labels)) {
      diags.Error(selector.location(), selector.path(),
                  "selector does not match template labels (or is empty)");
    }
  }
  const Node strategy_node = spec.Require("strategy");
  MapReader strategy(strategy_node, diags);
  const Node canary_node = strategy.Get("canary");
  const Node blue_green_node = strategy.Get("blueGreen");
  if (strategy_node.present() && canary_node.present() == blue_green_node.present()) {
    diags.Error(strategy_node.location(), strategy_node.path(),
                "needs exactly one of canary or blueGreen");
  }
  strategy.RejectUnknown();
  if (blue_green_node.present()) {
    MapReader bg(blue_green_node, diags);
    r.blue_green = true;
    if (!bg.Has("activeService")) bg.Require("activeService");
    r.active_service = ReadRolloutService(bg, "activeService", ns, ctx);
    r.preview_service = ReadRolloutService(bg, "previewService", ns, ctx);
    if (!r.preview_service.empty() && r.preview_service == r.active_service) {
      const Node at = bg.Get("previewService");
      diags.Error(at.location(), at.path(), "must differ from activeService");
    }
    r.auto_promotion_enabled = bg.Bool("autoPromotionEnabled", true);
    r.auto_promotion_seconds = bg.Int("autoPromotionSeconds", 0, 0, 1'000'000'000) * sim::kSecond;
    if (bg.Has("previewReplicaCount")) {
      r.preview_replica_count = static_cast<int>(bg.Int("previewReplicaCount", 0, 0, 100000));
    }
    r.scale_down_delay = bg.Int("scaleDownDelaySeconds", 30, 0, 1'000'000'000) * sim::kSecond;
    r.abort_scale_down_delay =
        bg.Int("abortScaleDownDelaySeconds", 30, 0, 1'000'000'000) * sim::kSecond;
    if (const Node a = bg.Get("prePromotionAnalysis"); a.present()) {
      MapReader am(a, diags);
      r.pre_promotion = ReadAnalysisRef(am, ns, ctx);
    }
    if (const Node a = bg.Get("postPromotionAnalysis"); a.present()) {
      MapReader am(a, diags);
      r.post_promotion = ReadAnalysisRef(am, ns, ctx);
    }
    if (const Node u = bg.Get("maxUnavailable"); u.present()) {
      if (const auto v = ReadIntOrPercent(u, true, diags)) r.max_unavailable = *v;
    }
    bg.WarnUnknown(kNotSimulated);
  } else if (canary_node.present()) {
    MapReader c(canary_node, diags);
    r.canary_service = ReadRolloutService(c, "canaryService", ns, ctx);
    r.stable_service = ReadRolloutService(c, "stableService", ns, ctx);
    for (const auto& [field, value] :
         {std::pair{"maxSurge", &r.max_surge}, std::pair{"maxUnavailable", &r.max_unavailable}}) {
      if (const Node n = c.Get(field); n.present()) {
        if (const auto v = ReadIntOrPercent(n, value == &r.max_unavailable, diags)) *value = *v;
      }
    }
    if (r.max_surge.value == 0 && r.max_unavailable.value == 0) {
      const Node at = c.Get("maxUnavailable");
      diags.Error(at.location(), at.present() ? at.path() : canary_node.path() + ".maxUnavailable",
                  "may not be 0 when `maxSurge` is 0");
    }
    const Node routing = c.Get("trafficRouting");
    if (routing.present()) {
      // Any provider: the split is exact, at the stable Service's proxy.
      r.traffic_routing = true;
      MapReader tr(routing, diags);
      if (tr.Int("maxTrafficWeight", 100, 1, 1'000'000) != 100) {
        const Node at = tr.Get("maxTrafficWeight");
        diags.Error(at.location(), at.path(), "only the default 100 is simulated");
      }
      tr.AcceptRest();
      if (r.canary_service.empty() || r.stable_service.empty()) {
        diags.Error(routing.location(), routing.path(),
                    "traffic routing needs canaryService and stableService");
      }
    }
    if (!r.canary_service.empty() && r.canary_service == r.stable_service) {
      const Node at = c.Get("stableService");
      diags.Error(at.location(), at.path(), "must differ from canaryService");
    }
    r.scale_down_delay =
        r.traffic_routing ? c.Int("scaleDownDelaySeconds", 30, 0, 1'000'000'000) * sim::kSecond : 0;
    if (!r.traffic_routing && c.Has("scaleDownDelaySeconds")) {
      const Node at = c.Get("scaleDownDelaySeconds");
      diags.Error(at.location(), at.path(), "is only for a canary with trafficRouting");
    }
    r.abort_scale_down_delay =
        c.Int("abortScaleDownDelaySeconds", 30, 0, 1'000'000'000) * sim::kSecond;
    for (const Node& step : ListElements(c.Get("steps"), "steps", diags))
      r.steps.push_back(ReadCanaryStep(step, ns, ctx));
    for (const CanaryStep& step : r.steps) {
      if (step.kind == CanaryStep::Kind::kSetCanaryScale && !r.traffic_routing) {
        diags.Error(c.Get("steps").location(), c.Get("steps").path(),
                    "setCanaryScale needs trafficRouting");
        break;
      }
    }
    if (const Node a = c.Get("analysis"); a.present()) {
      MapReader am(a, diags);
      r.starting_step = static_cast<int>(am.Int("startingStep", 0, 0, 1000));
      if (r.starting_step > static_cast<int>(r.steps.size())) {
        const Node at = am.Get("startingStep");
        diags.Error(at.location(), at.path(), "is beyond the steps");
      }
      r.background = ReadAnalysisRef(am, ns, ctx);
    }
    if (c.Bool("dynamicStableScale", false)) {
      const Node at = c.Get("dynamicStableScale");
      diags.Error(at.location(), at.path(), "dynamicStableScale is not simulated yet");
    }
    c.WarnUnknown(kNotSimulated);
  }
  spec.WarnUnknown(kNotSimulated);
  s.rollouts.push_back(std::move(r));
}

void ReadAnalysisTemplate(MapReader& m, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  ObjectMeta meta;
  ReadMetadata(m, meta, true, diags);
  AnalysisTemplate t;
  t.key = meta.Key();
  MapReader spec(m.Require("spec"), diags);
  std::set<std::string> arg_names;
  for (const Node& a : ListElements(spec.Get("args"), "args", diags)) {
    t.args.push_back(ReadAnalysisArg(a, true, diags));
    if (!arg_names.insert(t.args.back().name).second) {
      diags.Error(a.location(), a.path(), "duplicate argument " + t.args.back().name);
    }
  }
  const Node metrics = spec.Require("metrics");
  std::set<std::string> names;
  for (const Node& node : ListElements(metrics, "metrics", diags)) {
    MapReader mm(node, diags);
    AnalysisMetric metric;
    metric.name = mm.RequiredString("name").value_or("");
    if (!metric.name.empty() && !names.insert(metric.name).second) {
      diags.Error(node.location(), node.path(), "duplicate metric " + metric.name);
    }
    metric.interval = mm.Duration("interval", 0, sim::kSecond);
    metric.count = static_cast<int>(mm.Int("count", 0, 0, 1'000'000));
    if (metric.count > 1 && metric.interval == 0) {
      const Node at = mm.Get("count");
      diags.Error(at.location(), at.path(), "a count above 1 needs an interval");
    }
    metric.initial_delay = mm.Duration("initialDelay", 0);
    metric.failure_limit = static_cast<int>(mm.Int("failureLimit", 0, -1, 1'000'000));
    metric.inconclusive_limit = static_cast<int>(mm.Int("inconclusiveLimit", 0, -1, 1'000'000));
    metric.consecutive_error_limit =
        static_cast<int>(mm.Int("consecutiveErrorLimit", 4, -1, 1'000'000));
    for (const auto& [field, out] : {std::pair{"successCondition", &metric.success_condition},
                                     std::pair{"failureCondition", &metric.failure_condition}}) {
      const Node c = mm.Get(field);
      if (!c.present()) continue;
      *out = input::ReadString(c, diags).value_or("");
      std::string error;
      if (!out->empty() && !analysis::ParseCondition(*out, &error)) {
        diags.Error(c.location(), c.path(), "does not parse: " + error);
      }
    }
    MapReader provider(mm.Require("provider"), diags);
    const Node prom = provider.Get("prometheus");
    if (mm.Has("provider") && !prom.present()) {
      const std::vector<std::string> keys = provider.Keys();
      diags.Error(mm.Get("provider").location(), mm.Get("provider").path(),
                  (keys.empty() ? std::string("a provider") : keys[0] + " provider") +
                      " is not simulated (simulated: prometheus, answered by platsim's "
                      "Prometheus model)");
    }
    provider.AcceptRest();
    MapReader p(prom, diags);
    const Node query = p.Require("query");
    if (query.present()) {
      metric.query = input::ReadString(query, diags).value_or("");
      // Checked with each argument replaced by a placeholder value.
      std::string probe = metric.query;
      for (std::size_t at = probe.find("{{"); at != std::string::npos; at = probe.find("{{")) {
        const std::size_t end = probe.find("}}", at);
        if (end == std::string::npos) break;
        probe.replace(at, end + 2 - at, "x");
      }
      std::string error;
      if (!analysis::ParseQuery(probe, &error)) {
        diags.Error(query.location(), query.path(), "does not parse: " + error);
      }
    }
    p.Get("address");              // whatever it is, the simulated Prometheus answers
    p.WarnUnknown(kNotSimulated);  // timeout, headers, authentication
    mm.WarnUnknown(kNotSimulated);
    t.metrics.push_back(std::move(metric));
  }
  if (metrics.present() && t.metrics.empty()) {
    diags.Error(metrics.location(), metrics.path(), "needs at least one metric");
  }
  spec.WarnUnknown(kNotSimulated);
  s.analysis_templates[t.key] = std::move(t);
}

// What a Rollout names: its Services and its analysis templates (with every
// argument a template requires given).
void CheckRollouts(Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  std::set<std::string> services;
  for (const Service& svc : s.services)
    services.insert(svc.meta.Key());
  for (const auto& [key, at] : ctx.service_refs) {
    if (!services.count(key)) {
      diags.Error(at.location(), at.path(), "no Service " + key + " among the manifests");
    }
  }
  for (const auto& ref : ctx.analysis_refs) {
    const auto t = s.analysis_templates.find(ref.key);
    if (t == s.analysis_templates.end()) {
      diags.Error(ref.at.location(), ref.at.path(),
                  "no AnalysisTemplate " + ref.key + " among the manifests");
      continue;
    }
    std::set<std::string> given;
    for (const Node& a : ListElements(Field(ref.analysis, "args"), "args", diags)) {
      if (const Node n = Field(a, "name"); n.IsScalar()) given.insert(n.scalar());
    }
    for (const AnalysisArg& a : t->second.args) {
      if (a.value.empty() && !given.count(a.name)) {
        diags.Error(ref.analysis.location(), ref.analysis.path(),
                    "AnalysisTemplate " + ref.key + " needs argument " + a.name);
      }
    }
  }
}

void ReadManifest(const Node& doc, Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  MapReader m(doc, diags);
  if (!m.ok()) return;
  const auto api = m.RequiredString("apiVersion");
  const auto kind = m.RequiredString("kind");
  if (!api || !kind) {
    m.AcceptRest();
    return;
  }
  const std::size_t deployments = s.deployments.size(), services = s.services.size(),
                    namespaces = s.namespaces.size(), autoscalers = s.autoscalers.size(),
                    knative = s.knative_services.size(), isvcs = s.inference_services.size();
  // What platsim simulates is a kind of one API group and version: a
  // Knative Service (serving.knative.dev/v1) is not a v1 Service.
  std::string name;
  if (*api == "apps/v1" && *kind == "Deployment") {
    ReadDeployment(m, s, diags);
    if (s.deployments.size() > deployments) name = s.deployments.back().meta.Key();
  } else if (*api == "v1" && *kind == "Service") {
    ReadService(m, s, diags);
    if (s.services.size() > services) name = s.services.back().meta.Key();
  } else if (*api == "serving.knative.dev/v1" && *kind == "Service") {
    ReadKnativeService(m, s, ctx);
    if (s.knative_services.size() > knative) name = s.knative_services.back().key;
  } else if (*api == "serving.kserve.io/v1beta1" && *kind == "InferenceService") {
    ReadInferenceService(m, s, ctx);
    if (s.inference_services.size() > isvcs) name = s.inference_services.back().key;
  } else if (*api == "autoscaling/v2" && *kind == "HorizontalPodAutoscaler") {
    ReadHorizontalPodAutoscaler(m, s, ctx);
    if (s.autoscalers.size() > autoscalers) name = s.autoscalers.back().meta.Key();
  } else if (*api == "argoproj.io/v1alpha1" && *kind == "Rollout") {
    const std::size_t before = s.rollouts.size();
    ReadRollout(m, s, ctx);
    if (s.rollouts.size() > before) name = s.rollouts.back().meta.Key();
  } else if (*api == "argoproj.io/v1alpha1" && *kind == "AnalysisTemplate") {
    ReadAnalysisTemplate(m, s, ctx);
    name = Key(Field(Field(doc, "metadata"), "namespace").IsScalar()
                   ? Field(Field(doc, "metadata"), "namespace").scalar()
                   : "default",
               Field(Field(doc, "metadata"), "name").IsScalar()
                   ? Field(Field(doc, "metadata"), "name").scalar()
                   : "");
  } else if (*api == "v1" && *kind == "Namespace") {
    Namespace ns;
    ReadMetadata(m, ns.meta, false, diags);
    m.WarnUnknown(kNotSimulated);
    s.namespaces.push_back(ns);
    if (s.namespaces.size() > namespaces) name = ns.meta.name;
  } else {
    diags.Warning(doc.location(), doc.path(),
                  *kind + " of " + *api +
                      " is not simulated yet; the object is ignored (simulated: apps/v1 "
                      "Deployment, v1 Service, v1 Namespace, autoscaling/v2 "
                      "HorizontalPodAutoscaler, serving.knative.dev/v1 Service, "
                      "serving.kserve.io/v1beta1 InferenceService, argoproj.io/v1alpha1 "
                      "Rollout and AnalysisTemplate)");
    m.AcceptRest();
    return;
  }
  m.WarnUnknown(kNotSimulated);
  const std::string kind_key = *api == "serving.knative.dev/v1" ? "KnativeService" : *kind;
  if (!name.empty() && !ctx.objects.emplace(kind_key + "/" + name, doc).second) {
    diags.Error(doc.location(), doc.path(), "duplicate " + *kind + " " + name);
  }
}

// One `{file}` or `{inline}` entry of manifests.
void ReadManifestEntry(const Node& entry, const std::filesystem::path& base, Scenario& s,
                       ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  MapReader m(entry, diags);
  const Node file = m.Get("file");
  const Node inline_doc = m.Get("inline");
  m.RejectUnknown();
  if (file.present() == inline_doc.present()) {
    diags.Error(entry.location(), entry.path(), "needs exactly one of file or inline");
    return;
  }
  if (inline_doc.present()) {
    ReadManifest(inline_doc, s, ctx);
    return;
  }
  const auto name = input::ReadString(file, diags);
  if (!name) return;
  const std::filesystem::path path = base / *name;
  const std::string display = path.lexically_normal().string();
  input::Diagnostics file_diags;
  auto source = input::LoadYamlFile(path.string(), display, file_diags);
  input::ReportReferenced(file, file_diags, diags);
  if (!source) return;
  for (std::size_t i = 0; i < source->documents.size(); ++i) {
    ReadManifest(source->documents[i].WithPath(
                     source->documents.size() > 1 ? "document[" + std::to_string(i) + "]" : ""),
                 s, ctx);
  }
}

void ReadManifests(const Node& list, const std::filesystem::path& base, Scenario& s,
                   ManifestContext& ctx) {
  if (!IsList(list, "{file} or {inline}", ctx.diags)) return;
  for (const Node& entry : list.Elements())
    ReadManifestEntry(entry, base, s, ctx);
}

// spec.timeline: actions at times within the run, on Deployments among the
// manifests; checked before anything runs.
// A Knative Service (or an InferenceService's) applied on the timeline.
struct KnativeApply {
  TimelineAction action;  // its time
  KnativeServiceSpec applied;
  Node doc;
  std::string isvc;  // the InferenceService's key, if it is one's
  Labels labels;     // the Service's, which its revisions' Deployments carry
};

// Knative Services applied on the timeline, in time order, as Knative's
// configuration reconciler takes them (pkg/reconciler/configuration): a
// changed template (the pod template, the revision's annotations,
// containerConcurrency, timeoutSeconds, its name) is a new revision,
// <service>-<generation as 5 digits> unless the template names it; the
// route's traffic is the apply's (spec.traffic, defaulted to the latest
// revision), or for an InferenceService what KServe makes of its
// canaryTrafficPercent.
void AddKnativeRevisions(std::vector<KnativeApply>& applies, Scenario& s, Diagnostics& diags) {
  std::stable_sort(applies.begin(), applies.end(),
                   [](const auto& x, const auto& y) { return x.action.at < y.action.at; });
  std::set<std::string> objects;  // Deployment/KEY and Service/KEY of the scenario
  for (const Deployment& d : s.deployments)
    objects.insert("Deployment/" + d.meta.Key());
  for (const Service& svc : s.services)
    objects.insert("Service/" + svc.meta.Key());
  for (KnativeApply& x : applies) {
    const std::string& key = x.applied.key;
    const auto k = std::find_if(s.knative_services.begin(), s.knative_services.end(),
                                [&](const KnativeServiceSpec& y) { return y.key == key; });
    if (k == s.knative_services.end() || k->kserve != !x.isvc.empty()) {
      diags.Error(x.doc.location(), x.doc.path(),
                  x.isvc.empty() ? "no Knative Service " + key + " among the scenario's manifests"
                                 : "no InferenceService " + x.isvc +
                                       " in Knative mode among the scenario's "
                                       "manifests");
      continue;
    }
    KnativeRevision rev = x.applied.first();
    const KnativeRevision& latest = k->revisions.back();
    const std::string ns = key.substr(0, key.find('/'));
    const std::string name = key.substr(key.find('/') + 1);
    const bool named = rev.named;
    const bool changed = TemplateHash(rev.given) != TemplateHash(latest.given) ||
                         !(rev.annotations == latest.annotations) ||
                         rev.container_concurrency != latest.container_concurrency ||
                         rev.timeout != latest.timeout || named != latest.named ||
                         (named && rev.name != latest.name);
    TimelineAction a = x.action;
    a.knative = key;
    a.traffic = x.applied.traffic;
    a.canary_percent = x.applied.canary_percent;
    if (changed) {
      if (!named) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "-%05zu", k->revisions.size() + 1);
        rev.name = name + suffix;
      }
      const bool taken = std::any_of(k->revisions.begin(), k->revisions.end(),
                                     [&](const KnativeRevision& r) { return r.name == rev.name; });
      if (taken) {
        const Node at = Field(Field(Field(x.doc, "spec"), "template"), "metadata");
        diags.Error(at.location(), at.path(),
                    "a changed template needs a new revision name: " + rev.name + " exists");
        continue;
      }
      if (rev.timeout != k->first().timeout) {
        const Node at = Field(Field(x.doc, "spec"), "template");
        diags.Error(at.location(), at.path(),
                    "revisions of one Service with different timeoutSeconds are not simulated "
                    "yet");
      }
      ObjectMeta meta;
      meta.namespace_name = ns;
      meta.name = name;
      meta.labels = x.labels;
      auto [d, svc] = RenderRevisionObjects(meta, rev, s.knative_autoscaler);
      for (const std::string& o :
           {"Deployment/" + rev.deployment, "Service/" + rev.private_service}) {
        if (!objects.insert(o).second) {
          diags.Error(x.doc.location(), x.doc.path(),
                      "Knative Service " + key + " creates " + o +
                          ", which is already among the manifests");
        }
      }
      rev.deployment_object = std::move(d);
      rev.service_object = std::move(svc);
      a.revision = static_cast<int>(k->revisions.size());
      k->revisions.push_back(std::move(rev));
    }
    CheckKnativeTraffic(*k, a.traffic, x.doc, diags);
    s.timeline.push_back(std::move(a));
  }
}

void ReadTimeline(const Node& list, const std::filesystem::path& base, Scenario& s,
                  Diagnostics& diags) {
  // The node actions, checked in time order once all are read.
  struct Outage {
    sim::Time at;
    TimelineAction::Kind kind;
    std::string node;
    Node named;
  };
  std::vector<Outage> outages;
  // Each traffic entry's new arrival processes, by entry.
  std::map<std::size_t, std::vector<models::SwitchedArrivals::Phase>> changes;
  std::set<std::string> deployments;
  for (const Deployment& d : s.deployments)
    deployments.insert(d.meta.Key());
  // Applies of Knative Services, made into revisions in time order once
  // all are read.
  std::vector<KnativeApply> knative_applies;
  for (const Node& entry : ListElements(list, "timeline actions", diags)) {
    MapReader m(entry, diags);
    TimelineAction a;
    a.at = m.RequiredDuration("at").value_or(0);
    if (m.Has("at") && a.at >= s.duration) {
      diags.Error(m.Get("at").location(), m.Get("at").path(),
                  "is at or after the end of the run (spec.duration " +
                      input::FormatDuration(s.duration) + ")");
    }
    const Node apply = m.Get("apply");
    const Node scale = m.Get("scale");
    const Node undo = m.Get("undo");
    const Node fail = m.Get("fail");
    const Node recover = m.Get("recover");
    const Node promote = m.Get("promote");
    const Node abort = m.Get("abort");
    const Node traffic = m.Get("traffic");
    if (apply.present() + scale.present() + undo.present() + fail.present() + recover.present() +
            promote.present() + abort.present() + traffic.present() !=
        1) {
      diags.Error(entry.location(), entry.path(),
                  "needs exactly one of apply, scale, undo, fail, recover, promote, abort or "
                  "traffic");
      m.AcceptRest();
      continue;
    }
    if (traffic.present()) {
      // A new arrival process for a traffic entry from then on.
      MapReader t(traffic, diags);
      const std::string name = t.RequiredString("service").value_or("");
      a.kind = TimelineAction::Kind::kTraffic;
      a.service = Key(t.String("namespace", "default"), name);
      std::vector<std::size_t> entries;
      for (std::size_t i = 0; i < s.traffic.size(); ++i) {
        if (s.traffic[i].service == a.service) entries.push_back(i);
      }
      if (!name.empty() && entries.size() != 1) {
        const Node at = t.Get("service");
        diags.Error(at.location(), at.path(),
                    entries.empty() ? "no traffic entry for " + a.service
                                    : "several traffic entries for " + a.service +
                                          ": which one changes is ambiguous");
      }
      const Node arrivals = t.Require("arrivals");
      std::shared_ptr<const models::ArrivalProcess> process;
      if (arrivals.present()) process = models::ArrivalsFromScenario(arrivals, base, diags);
      t.RejectUnknown();
      m.RejectUnknown();
      if (entries.size() == 1 && process) {
        changes[entries[0]].push_back({a.at, std::move(process)});
      }
      s.timeline.push_back(std::move(a));
      continue;
    }
    if (promote.present() || abort.present()) {
      // kubectl argo rollouts promote [--full] / abort ROLLOUT.
      MapReader target(promote.present() ? promote : abort, diags);
      a.kind = promote.present() ? TimelineAction::Kind::kPromote : TimelineAction::Kind::kAbort;
      const std::string name = target.RequiredString("rollout").value_or("");
      a.rollout = Key(target.String("namespace", "default"), name);
      if (!name.empty() &&
          std::none_of(s.rollouts.begin(), s.rollouts.end(),
                       [&](const ArgoRollout& r) { return r.meta.Key() == a.rollout; })) {
        const Node at = target.Get("rollout");
        diags.Error(at.location(), at.path(),
                    "no Rollout " + a.rollout + " among the scenario's manifests");
      }
      if (promote.present()) a.full = target.Bool("full", false);
      target.RejectUnknown();
      m.RejectUnknown();
      s.timeline.push_back(std::move(a));
      continue;
    }
    if (fail.present() || recover.present()) {
      // Nodes of pools: one by name (POOL-INDEX, as the pools' nodes are
      // named), or every node of the pools in a zone.
      const Node target_node = fail.present() ? fail : recover;
      MapReader f(target_node, diags);
      const bool by_node = f.Has("node"), by_zone = f.Has("zone");
      std::vector<std::string> nodes;
      Node named = f.Get(by_zone ? "zone" : "node");
      if (by_node == by_zone) {
        diags.Error(target_node.location(), target_node.path(),
                    "needs exactly one of node or zone");
      } else if (by_node) {
        const std::string node = f.RequiredString("node").value_or("");
        const bool exists =
            std::any_of(s.node_pools.begin(), s.node_pools.end(), [&](const NodePool& p) {
              for (int i = 0; i < p.count; ++i) {
                if (node == p.name + "-" + std::to_string(i)) return true;
              }
              return false;
            });
        if (!node.empty() && !exists) {
          diags.Error(named.location(), named.path(),
                      "no node " + node +
                          " (nodes are named POOL-INDEX, from 0 to the pool's "
                          "count - 1)");
        } else if (!node.empty()) {
          nodes.push_back(node);
        }
      } else {
        a.zone = f.RequiredString("zone").value_or("");
        for (const NodePool& p : s.node_pools) {
          const auto z = p.labels.find(kZoneLabel);
          if (z == p.labels.end() || z->second != a.zone) continue;
          for (int i = 0; i < p.count; ++i)
            nodes.push_back(p.name + "-" + std::to_string(i));
        }
        if (nodes.empty() && !a.zone.empty()) {
          diags.Error(
              named.location(), named.path(),
              "no node pool in zone " + a.zone + " (its label " + std::string(kZoneLabel) + ")");
        }
      }
      a.kind =
          recover.present() ? TimelineAction::Kind::kRecoverNode : TimelineAction::Kind::kFailNode;
      if (fail.present() && f.Has("gpus")) {
        const Node g = f.Get("gpus");
        a.kind = TimelineAction::Kind::kFailGpus;
        a.gpus = f.Int("gpus", 1, 1, 1'000'000);
        if (by_zone) diags.Error(g.location(), g.path(), "a GPU fault names one node");
        for (const NodePool& p : s.node_pools) {
          if (!nodes.empty() && nodes[0].rfind(p.name + "-", 0) == 0 &&
              a.gpus > p.allocatable.gpus) {
            diags.Error(g.location(), g.path(),
                        "is more than the node's " + std::to_string(p.allocatable.gpus) + " GPUs");
          }
        }
      }
      f.RejectUnknown();
      m.RejectUnknown();
      for (const std::string& node : nodes) {
        TimelineAction one = a;
        one.node = node;
        outages.push_back({one.at, one.kind, node, named});
        s.timeline.push_back(std::move(one));
      }
      continue;
    }
    if (apply.present()) {
      // The manifest, read as the scenario's are; only Deployments that
      // exist can be changed so far.
      a.kind = TimelineAction::Kind::kApply;
      // Read with the scenario's Knative and KServe settings.
      Scenario applied;
      applied.knative_autoscaler = s.knative_autoscaler;
      applied.kserve_default_knative = s.kserve_default_knative;
      ManifestContext actx{diags, {}, {}, {}, {}};
      ReadManifestEntry(apply, base, applied, actx);
      // A Knative Service (an InferenceService's in Knative mode too)
      // renders one Deployment and one Service: its revision's.
      std::set<std::string> rendered;
      for (const KnativeServiceSpec& k : applied.knative_services)
        rendered.insert(k.first().deployment);
      const auto standard_isvcs =
          std::count_if(applied.inference_services.begin(), applied.inference_services.end(),
                        [](const InferenceServiceSpec& i) { return !i.knative; });
      const std::size_t others = applied.services.size() - applied.knative_services.size() +
                                 applied.autoscalers.size() + applied.namespaces.size() +
                                 applied.analysis_templates.size() +
                                 static_cast<std::size_t>(standard_isvcs);
      if (others > 0 || (applied.deployments.size() == rendered.size() &&
                         applied.rollouts.empty() && applied.knative_services.empty())) {
        diags.Error(apply.location(), apply.path(),
                    "a timeline apply takes Deployments, Rollouts, Knative Services and "
                    "InferenceServices in Knative mode only (so far): changes to other kinds "
                    "are not simulated yet");
      }
      for (KnativeServiceSpec& k : applied.knative_services) {
        const InferenceServiceSpec* isvc = nullptr;
        for (const InferenceServiceSpec& i : applied.inference_services) {
          if (i.service == k.key) isvc = &i;
        }
        const Node doc = isvc != nullptr ? actx.objects["InferenceService/" + isvc->key]
                                         : actx.objects["KnativeService/" + k.key];
        Deployment rendered_deployment;
        for (const Deployment& d : applied.deployments) {
          if (d.meta.Key() == k.first().deployment) rendered_deployment = d;
        }
        knative_applies.push_back({a, std::move(k), doc, isvc != nullptr ? isvc->key : "",
                                   rendered_deployment.meta.labels});
      }
      // A Rollout's analysis must name templates the scenario has.
      CheckRollouts(s, actx);
      for (const ArgoRollout& r : applied.rollouts) {
        const Node doc = actx.objects["Rollout/" + r.meta.Key()];
        const auto now =
            std::find_if(s.rollouts.begin(), s.rollouts.end(),
                         [&](const ArgoRollout& x) { return x.meta.Key() == r.meta.Key(); });
        if (now == s.rollouts.end()) {
          diags.Error(doc.location(), doc.path(),
                      "no Rollout " + r.meta.Key() + " among the scenario's manifests");
          continue;
        }
        if (r.selector != now->selector) {
          const Node sel = Field(Field(doc, "spec"), "selector");
          diags.Error(sel.location(), sel.path(), "field is immutable");
        }
        TimelineAction one = a;
        one.rollout = r.meta.Key();
        one.rollout_manifest = r;
        for (const auto& [key, value] : Field(doc, "spec").Entries()) {
          if (key.IsScalar()) one.spec_fields.insert(key.scalar());
        }
        s.timeline.push_back(std::move(one));
      }
      for (const Deployment& d : applied.deployments) {
        if (rendered.count(d.meta.Key())) continue;
        if (!deployments.count(d.meta.Key())) {
          const Node doc = actx.objects["Deployment/" + d.meta.Key()];
          diags.Error(doc.location(), doc.path(),
                      "no Deployment " + d.meta.Key() + " among the scenario's manifests");
          continue;
        }
        const Deployment& now =
            *std::find_if(s.deployments.begin(), s.deployments.end(),
                          [&](const Deployment& x) { return x.meta.Key() == d.meta.Key(); });
        if (d.selector != now.selector) {
          const Node doc = actx.objects["Deployment/" + d.meta.Key()];
          const Node sel = Field(Field(doc, "spec"), "selector");
          diags.Error(sel.location(), sel.path(), "field is immutable");
        }
        TimelineAction one = a;
        one.deployment = d.meta.Key();
        one.manifest = d;
        const Node spec = Field(actx.objects["Deployment/" + d.meta.Key()], "spec");
        for (const auto& [key, value] : spec.Entries()) {
          if (key.IsScalar()) one.spec_fields.insert(key.scalar());
        }
        s.timeline.push_back(std::move(one));
      }
    } else {
      MapReader target(scale.present() ? scale : undo, diags);
      const std::string name = target.RequiredString("deployment").value_or("");
      const std::string ns = target.String("namespace", "default");
      a.deployment = Key(ns, name);
      if (!name.empty() && !deployments.count(a.deployment)) {
        const Node at = target.Get("deployment");
        diags.Error(at.location(), at.path(),
                    "no Deployment " + a.deployment + " among the scenario's manifests");
      }
      if (scale.present()) {
        a.kind = TimelineAction::Kind::kScale;
        target.Require("replicas");  // reported if missing
        a.replicas = static_cast<int>(target.Int("replicas", 0, 0, 100000));
      } else {
        a.kind = TimelineAction::Kind::kUndo;
        a.to_revision = target.Int("toRevision", 0, 0, INT64_MAX);
      }
      target.RejectUnknown();
      s.timeline.push_back(std::move(a));
    }
    m.RejectUnknown();
  }
  AddKnativeRevisions(knative_applies, s, diags);
  std::stable_sort(s.timeline.begin(), s.timeline.end(),
                   [](const TimelineAction& x, const TimelineAction& y) { return x.at < y.at; });
  for (auto& [entry, phases] : changes) {
    std::stable_sort(phases.begin(), phases.end(),
                     [](const auto& x, const auto& y) { return x.from < y.from; });
    TrafficSpec& t = s.traffic[entry];
    if (!t.arrivals) continue;  // reported
    phases.insert(phases.begin(), {0, t.arrivals});
    t.arrivals = std::make_shared<models::SwitchedArrivals>(std::move(phases));
  }
  // A node goes down only when it is up, and comes back only when down.
  std::stable_sort(outages.begin(), outages.end(),
                   [](const Outage& x, const Outage& y) { return x.at < y.at; });
  std::map<std::string, sim::Time> down;  // node -> since
  for (const Outage& o : outages) {
    const auto it = down.find(o.node);
    if (o.kind == TimelineAction::Kind::kFailNode) {
      if (it != down.end()) {
        diags.Error(o.named.location(), o.named.path(),
                    "node " + o.node + " is already down at " + input::FormatDuration(o.at) +
                        " (since " + input::FormatDuration(it->second) + ")");
      } else {
        down.emplace(o.node, o.at);
      }
    } else if (o.kind == TimelineAction::Kind::kRecoverNode) {
      if (it == down.end()) {
        diags.Error(o.named.location(), o.named.path(),
                    "node " + o.node + " is not down at " + input::FormatDuration(o.at));
      } else {
        down.erase(it);
      }
    }
  }
}

// A pool's power figures: what `power` gives, else for its GPUs the device
// catalogue's figures for its nvidia.com/gpu.product label.
void ReadPower(const Node& node, const Node& entry,
               const std::optional<std::vector<models::GpuPower>>& gpu_power, NodePool& pool,
               Diagnostics& diags) {
  MapReader p(node, diags);
  pool.node_base_w = p.Number("nodeBaseWatts", 0.0, 0.0, 1e7);
  const Node idle = p.Get("gpuIdleWatts");
  const Node max = p.Get("gpuMaxWatts");
  p.RejectUnknown();
  const auto label = pool.labels.find(kGpuProductLabel);
  const models::GpuPower* device = gpu_power && label != pool.labels.end()
                                       ? models::FindGpuPower(*gpu_power, label->second)
                                       : nullptr;
  if (device != nullptr) {
    pool.gpu_idle_w = device->idle_w;
    pool.gpu_max_w = device->max_w;
  }
  if (idle.present()) pool.gpu_idle_w = input::ReadNumber(idle, diags, 0.0, 1e5).value_or(0.0);
  if (max.present()) pool.gpu_max_w = input::ReadNumber(max, diags, 0.0, 1e5).value_or(0.0);
  if (pool.gpu_idle_w > pool.gpu_max_w) {
    diags.Error(node.location(), node.path(), "gpuIdleWatts is above gpuMaxWatts");
  }
  if (pool.allocatable.gpus > 0 && device == nullptr && !max.present()) {
    diags.Warning(entry.location(), entry.path(),
                  "no GPU power figures: " +
                      (label == pool.labels.end() ? std::string("no nvidia.com/gpu.product label")
                                                  : "nvidia.com/gpu.product " + label->second +
                                                        " is not in the device catalogue") +
                      "; its GPUs count 0 W in energy_kwh (set power.gpuIdleWatts and "
                      "power.gpuMaxWatts)");
  }
}

void ReadNodePools(const Node& list, Scenario& s, Diagnostics& diags) {
  if (!IsList(list, "node pools", diags)) return;
  // The catalogue comes with platsim; if it cannot be read, that is reported
  // against it and no figures are taken from it.
  input::Diagnostics catalogue_diags;
  const auto gpu_power = models::ReadGpuPower(models::DefaultDeviceCatalogue(), catalogue_diags);
  for (const auto& d : catalogue_diags.all()) {
    if (d.severity == input::Severity::kError) {
      diags.Error(d.location, d.path, d.message);
    } else {
      diags.Warning(d.location, d.path, d.message);
    }
  }
  std::set<std::string> names;
  for (const Node& entry : list.Elements()) {
    MapReader m(entry, diags);
    NodePool pool;
    if (const auto name = m.RequiredString("name")) pool.name = *name;
    if (!pool.name.empty() && !names.insert(pool.name).second) {
      diags.Error(entry.location(), entry.path() + ".name", "duplicate node pool " + pool.name);
    }
    pool.count = static_cast<int>(m.Int("count", 1, 0, 5000));
    pool.labels = ReadLabels(m.Get("labels"), diags);
    for (const Node& e : ListElements(m.Get("taints"), "{key, value, effect}", diags)) {
      MapReader t(e, diags);
      Taint taint;
      taint.key = t.RequiredString("key").value_or("");
      taint.value = t.String("value", "");
      taint.effect = ReadTaintEffect(t, true, diags).value_or(TaintEffect::kNoSchedule);
      t.RejectUnknown();
      pool.taints.push_back(std::move(taint));
    }
    MapReader a(m.Require("allocatable"), diags);
    auto quantity = [&](const char* key, std::int64_t fallback_milli, std::int64_t max_milli) {
      const Node n = a.Get(key);
      if (!n.present()) return fallback_milli;
      return input::ReadQuantityMilli(n, diags, 0, max_milli).value_or(fallback_milli);
    };
    pool.allocatable.cpu_milli = quantity("cpu", 0, kMaxCpuMilli);
    pool.allocatable.memory_bytes = quantity("memory", 0, kMaxMemoryMilli) / 1000;
    pool.allocatable.gpus = quantity("nvidia.com/gpu", 0, kMaxGpuMilli) / 1000;
    // kubelet maxPods default 110
    pool.allocatable.pods = quantity("pods", 110'000, kMaxPodsMilli) / 1000;
    a.RejectUnknown();
    // Prices: on demand, and optionally spot.
    const double on_demand = m.Number("pricePerHour", 0.0, 0.0, 1e9);
    const Node spot_price = m.Get("spotPricePerHour");
    pool.spot = m.Bool("spot", false);
    pool.price_usd_per_hour = on_demand;
    if (pool.spot) {
      if (!spot_price.present()) {
        diags.Error(entry.location(), entry.path() + ".spot",
                    "a spot pool needs spotPricePerHour, the price it is billed at");
      } else {
        pool.price_usd_per_hour = input::ReadNumber(spot_price, diags, 0.0, 1e9).value_or(0.0);
      }
    } else if (spot_price.present()) {
      input::ReadNumber(spot_price, diags, 0.0, 1e9);  // checked; billed on demand
    }
    ReadPower(m.Get("power"), entry, gpu_power, pool, diags);
    if (const Node as = m.Get("autoscaling"); as.present()) {
      // The cluster autoscaler's node group: min and max size (the pool's
      // count is where it starts), how long a node takes to register (a
      // duration, or {min, max} for a uniform draw), and how long its GPUs
      // take after that.
      MapReader a(as, diags);
      NodePool::Autoscaling g;
      g.min_size = static_cast<int>(a.Int("minSize", 0, 0, 5000));
      const bool max_given = a.Require("maxSize").present();
      g.max_size = static_cast<int>(a.Int("maxSize", 0, 0, 5000));
      if (max_given && (g.max_size < g.min_size || g.max_size < 1 || pool.count < g.min_size ||
                        pool.count > g.max_size)) {
        diags.Error(a.Get("maxSize").location(), a.Get("maxSize").path(),
                    "must be at least 1 and minSize, and count must lie in [minSize, maxSize]");
      }
      const Node delay = a.Get("provisioningDelay");
      if (delay.IsMap()) {
        MapReader d(delay, diags);
        g.provision_min = d.RequiredDuration("min").value_or(0);
        g.provision_max = d.RequiredDuration("max").value_or(g.provision_min);
        if (g.provision_max < g.provision_min) {
          diags.Error(delay.location(), delay.path() + ".max", "must be at least min");
        }
        d.RejectUnknown();
      } else {
        g.provision_min = g.provision_max = a.Duration("provisioningDelay", 2 * sim::kMinute);
      }
      g.gpu_ready_delay = a.Duration("gpuReadyDelay", 0);
      a.RejectUnknown();
      pool.autoscaling = g;
    }
    m.RejectUnknown();
    s.node_pools.push_back(std::move(pool));
  }
}

// Reads `field` (an object's name) and `namespace` (default "default") of
// an entry that refers to a manifest object; reports it if no such object is
// among `objects` or an earlier entry named it. Returns namespace/name, or ""
// if the name is missing.
// The objects of a list by key, to look references up in.
template <class T>
std::map<std::string, const T*> ByKey(const std::vector<T>& objects) {
  std::map<std::string, const T*> out;
  for (const T& o : objects)
    out.emplace(o.meta.Key(), &o);
  return out;
}

template <class T>
std::map<std::string, const T*> ByItsKey(const std::vector<T>& objects) {
  std::map<std::string, const T*> out;
  for (const T& o : objects)
    out.emplace(o.key, &o);
  return out;
}

std::map<std::string, const KnativeServiceSpec*> KnativeByKey(const Scenario& s) {
  return ByItsKey(s.knative_services);
}

std::map<std::string, const InferenceServiceSpec*> InferenceServicesByKey(const Scenario& s) {
  return ByItsKey(s.inference_services);
}

template <class T>
std::string ReadReference(MapReader& m, const Node& entry, const char* field,
                          const std::map<std::string, const T*>& objects,
                          std::set<std::string>& seen, const char* entry_kind, Diagnostics& diags) {
  const auto name = m.RequiredString(field);
  const std::string ns = m.String("namespace", "default");
  if (!name) return "";
  const std::string key = Key(ns, *name);
  if (!objects.count(key)) {
    diags.Error(m.Get(field).location(), entry.path() + "." + field,
                std::string("no ") + T::kKind + " " + key + " among the manifests");
  }
  if (!seen.insert(key).second) {
    diags.Error(entry.location(), entry.path(),
                std::string("duplicate ") + entry_kind + " for " + key);
  }
  return key;
}

// A vLLM server split over more GPUs than its pods request would not start
// ("World size is larger than the number of available GPUs",
// vllm/config/parallel.py). A pod whose node has no service time would
// serve nothing: every node pool the Deployment's pods may land on (node
// selector, required affinity, taints, GPUs) needs a service time for its
// nvidia.com/gpu.product, or the default one.
void CheckPodsCanServe(const Node& entry, const ModelServerSpec& spec, const Scenario& s,
                       const std::map<std::string, const Deployment*>& deployments,
                       Diagnostics& diags) {
  const ModelServerConfig& c = spec.config;
  const auto found = deployments.find(spec.deployment);
  if (c.llm && found != deployments.end() &&
      found->second->pod_template.requests.gpus < c.llm->tensor_parallel) {
    diags.Error(entry.location(), entry.path(),
                "vLLM would not start: vllm.tensorParallelSize " +
                    std::to_string(c.llm->tensor_parallel) +
                    " needs as many GPUs in the pod, and "
                    "the pods of " +
                    spec.deployment + " request " +
                    std::to_string(found->second->pod_template.requests.gpus) + " nvidia.com/gpu");
  }
  // An LLM server: covered by its default profile, or by one per product.
  auto covered = [&c](const std::string& product) {
    return c.llm ? c.llm->On(product) != nullptr : c.service_time_by_gpu.count(product) > 0;
  };
  if (c.llm ? c.llm->any.step_time != nullptr || c.llm->by_gpu.empty()
            : c.service_time || c.service_time_by_gpu.empty()) {
    return;  // all covered, or reported
  }
  if (found == deployments.end()) return;
  const Deployment* d = found->second;
  const PodTemplate& pod = d->pod_template;
  for (const NodePool& pool : s.node_pools) {
    if (pool.count == 0 || pool.allocatable.gpus < pod.requests.gpus ||
        !MatchesRequiredNodeAffinity(pod.placement, pool.labels) ||
        FirstUntoleratedTaint(pool.taints, pod.placement.tolerations) != nullptr) {
      continue;
    }
    const auto label = pool.labels.find(kGpuProductLabel);
    const std::string product = label == pool.labels.end() ? "" : label->second;
    if (covered(product)) continue;
    diags.Error(entry.location(), entry.path(),
                "pods of " + spec.deployment + " can run on node pool " + pool.name +
                    (product.empty() ? " (no nvidia.com/gpu.product label)"
                                     : " (nvidia.com/gpu.product: " + product + ")") +
                    ", which has no service time: add it to serviceTimeByGpu (measured with "
                    "`platsim profile`, or a roofline estimate from `platsim profile "
                    "--estimate`), give a default serviceTime, or keep the pods off that pool");
  }
}

// spec.horizontalPodAutoscaler: the controller's flags, with upstream's
// defaults (RecommendedDefaultHPAControllerConfiguration);
// spec.metricsServer.resolution: how often metrics-server scrapes the
// kubelets (its --metric-resolution: 15s in the components.yaml it is
// released with).
void ReadAutoscalingSettings(MapReader& spec, Scenario& s, Diagnostics& diags) {
  MapReader h(spec.Get("horizontalPodAutoscaler"), diags);
  hpa::ControllerOptions& o = s.hpa_controller;
  o.sync_period = h.Duration("syncPeriod", o.sync_period, sim::kSecond);
  const double tolerance = h.Number("tolerance", 0.1, 0.0, 1.0);
  o.tolerances = hpa::Tolerances{tolerance, tolerance};
  o.cpu_initialization_period = h.Duration("cpuInitializationPeriod", o.cpu_initialization_period);
  o.initial_readiness_delay = h.Duration("initialReadinessDelay", o.initial_readiness_delay);
  o.downscale_stabilization = h.Duration("downscaleStabilization", o.downscale_stabilization);
  h.RejectUnknown();
  MapReader ms(spec.Get("metricsServer"), diags);
  s.metrics_resolution = ms.Duration("resolution", s.metrics_resolution, sim::kSecond);
  ms.RejectUnknown();
  MapReader prom(spec.Get("prometheus"), diags);
  s.prometheus.scrape_interval =
      prom.Duration("scrapeInterval", s.prometheus.scrape_interval, sim::kSecond);
  s.prometheus.rate_window = prom.Duration("rateWindow", s.prometheus.rate_window, sim::kSecond);
  prom.RejectUnknown();
}

// Each HPA's target is a Deployment among the manifests, targeted by no
// other HPA (two would fight over its replicas), whose pods request CPU
// and have a model server (else there is no usage to measure).
void CheckAutoscalers(const Scenario& s, ManifestContext& ctx) {
  Diagnostics& diags = ctx.diags;
  const auto deployments = ByKey(s.deployments);
  const auto services = ByKey(s.services);
  std::set<std::string> servers, targeted, idle, no_memory;
  for (const auto& m : s.model_servers) {
    servers.insert(m.deployment);
    if (m.config.cpu_base_milli == 0 && m.config.cpu_per_request == 0) idle.insert(m.deployment);
    if (m.config.memory_base_bytes == 0 && m.config.memory_per_request_bytes == 0) {
      no_memory.insert(m.deployment);
    }
  }
  for (std::size_t i = 0; i < s.autoscalers.size(); ++i) {
    const HorizontalPodAutoscaler& h = s.autoscalers[i];
    const Node& at = ctx.autoscaler_targets[i];
    if (h.target.empty()) continue;
    const auto d = deployments.find(h.target);
    if (d == deployments.end()) {
      diags.Error(at.location(), at.path(), "no Deployment " + h.target + " among the manifests");
      continue;
    }
    if (!targeted.insert(h.target).second) {
      diags.Error(at.location(), at.path(),
                  "Deployment " + h.target + " is the target of another HorizontalPodAutoscaler");
    }
    for (const hpa::MetricSpec& m : h.metrics) {
      if (m.of_service() && !m.service.empty() && !services.count(m.service)) {
        diags.Error(at.location(), at.path(),
                    "the Object metric of HorizontalPodAutoscaler " + h.meta.Key() +
                        " describes Service " + m.service + ", which is not among the manifests");
      }
    }
    auto on_resource = [&](const char* resource) {
      return std::any_of(h.metrics.begin(), h.metrics.end(), [&](const hpa::MetricSpec& m) {
        return m.source == hpa::MetricSpec::Source::kResource && m.resource == resource;
      });
    };
    const bool on_cpu = on_resource("cpu");
    if (on_resource("memory")) {
      if (d->second->pod_template.requests.memory_bytes <= 0) {
        diags.Warning(at.location(), at.path(),
                      "the pods of Deployment " + h.target +
                          " request no memory: a memory Utilization target cannot be computed");
      }
      if (no_memory.count(h.target)) {
        diags.Warning(at.location(), at.path(),
                      "the model server of Deployment " + h.target +
                          " uses no memory (memoryBase and memoryPerRequest are 0): the HPA sees "
                          "0 and scales it down to minReplicas");
      }
    }
    if (on_cpu && d->second->pod_template.requests.cpu_milli <= 0) {
      diags.Warning(at.location(), at.path(),
                    "the pods of Deployment " + h.target +
                        " request no CPU: a cpu Utilization target cannot be computed");
    }
    if (on_cpu && idle.count(h.target)) {
      diags.Warning(at.location(), at.path(),
                    "the model server of Deployment " + h.target +
                        " uses no CPU (cpuBase and cpuPerRequest are 0): the HPA sees 0% and "
                        "scales it down to minReplicas");
    }
    if (!servers.count(h.target)) {
      diags.Warning(at.location(), at.path(),
                    "Deployment " + h.target +
                        " has no model server: its pods have no usage or request metrics, so "
                        "the HPA scales it down to minReplicas");
    }
  }
}

// A Knative Service owns the v1 Service of its name (upstream, a ksvc fails
// on a Service it does not own) and its revision's Deployment is scaled by
// the KPA alone.
void CheckKnative(const Scenario& s, ManifestContext& ctx) {
  const auto services = ByKey(s.services);
  std::map<std::string, std::string> scaled;  // revision Deployment -> Knative Service
  for (const KnativeServiceSpec& k : s.knative_services) {
    scaled.emplace(k.first().deployment, k.key);
    const Node& at = ctx.objects["KnativeService/" + k.key];
    if (services.count(k.key)) {
      ctx.diags.Error(at.location(), at.path(),
                      "Knative Service " + k.key +
                          " needs the v1 Service of its name, which another manifest defines");
    }
    CheckKnativeTraffic(k, k.traffic, at, ctx.diags);
  }
  for (std::size_t i = 0; i < s.autoscalers.size(); ++i) {
    const auto k = scaled.find(s.autoscalers[i].target);
    if (k == scaled.end()) continue;
    const Node& at = ctx.autoscaler_targets[i];
    ctx.diags.Error(at.location(), at.path(),
                    "Deployment " + k->first + " is the revision of Knative Service " + k->second +
                        ", which its KPA scales");
  }
}

// Calls `fn` with each entry of a serviceTimeByGpu mapping (if present),
// keyed by nvidia.com/gpu.product values, after checking its shape.
void ForEachGpuProduct(const Node& by_gpu, const std::string& values, Diagnostics& diags,
                       const std::function<void(const std::string&, const Node&)>& fn) {
  if (!by_gpu.present()) return;
  if (!by_gpu.IsMap() || by_gpu.Entries().empty()) {
    diags.Error(
        by_gpu.location(), by_gpu.path(),
        "must map nvidia.com/gpu.product values to " + values + " (got " + by_gpu.Describe() + ")");
    return;
  }
  for (const auto& entry : by_gpu.Entries()) {
    const std::string product = entry.key.IsScalar() ? entry.key.scalar() : "";
    if (product.empty()) {
      diags.Error(entry.key.location(), by_gpu.path(),
                  "keys are nvidia.com/gpu.product values (non-empty strings)");
      continue;
    }
    fn(product, entry.value);
  }
}

// An LLM server's model on one kind of GPU: `node` names a profile with
// prefill and decode grids ({kind: profile, file}) over `tensor_parallel`
// GPUs, whose provenance gives the model's shape and the GPU's memory for
// the KV cache (unless numGpuBlocks is given). `c` is the scheduler as
// configured so far; its max_model_len (0: the profile's context) and batch
// defaults are settled from the first profile read.
std::optional<LlmOnGpu> ReadLlmModel(const Node& node, MapReader& vllm, int tensor_parallel,
                                     llm::SchedulerConfig& c, bool& defaults_set,
                                     const std::filesystem::path& base, Diagnostics& diags) {
  MapReader m(node, diags);
  m.Enum("kind", "profile", {"profile"});
  const auto file = m.RequiredString("file");
  for (const char* fixed : {"promptTokens", "outputTokens", "sequenceLength"}) {
    if (const Node n = m.Get(fixed); n.present()) {
      diags.Error(n.location(), n.path(),
                  "not with engine: vllm (each request's tokens come from its traffic)");
    }
  }
  m.RejectUnknown();
  if (!file) return std::nullopt;
  const std::filesystem::path path = base / *file;
  const std::string display = path.lexically_normal().string();
  Diagnostics file_diags;
  const auto profile = models::ReadLatencyProfile(path, display, file_diags);
  input::ReportReferenced(m.Get("file"), file_diags, diags);
  if (!profile) return std::nullopt;
  if (!profile->prefill || !profile->decode) {
    diags.Error(node.location(), node.path(),
                display + " has no prefill and decode grids (engine: vllm needs a decoder's)");
    return std::nullopt;
  }
  if (profile->tensor_parallel != tensor_parallel) {
    const auto gpus = [](int n) { return std::to_string(n) + (n == 1 ? " GPU" : " GPUs"); };
    diags.Error(node.location(), node.path(),
                display + " is a profile of the model on " + gpus(profile->tensor_parallel) +
                    ", and vllm.tensorParallelSize splits it over " + gpus(tensor_parallel) +
                    (profile->tensor_parallel == 1
                         ? ": measure one over that many, or derive an estimate with `platsim "
                           "profile --from " +
                               display + " --tensor-parallel " + std::to_string(tensor_parallel) +
                               " --device DEVICE --out FILE`"
                         : ": name a profile over that many"));
    return std::nullopt;
  }
  const Node memory = vllm.Get("gpuMemory");
  double gpu_memory = profile->device_memory_bytes;
  if (memory.present()) {
    gpu_memory = static_cast<double>(
        input::ReadQuantityMilli(memory, diags, 1, kMaxMemoryMilli).value_or(0) / 1000);
  }
  if (!defaults_set) {
    defaults_set = true;
    // vllm/engine/arg_utils.py get_batch_defaults (the OpenAI server's):
    // 16384 tokens and 1024 sequences from 160 GiB of GPU memory; 8192 and
    // 1024 from 70 GiB but not on an A100; 2048 and 256 otherwise.
    constexpr double kGiB = 1024.0 * 1024 * 1024;
    std::string name = profile->device_name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    const bool large = gpu_memory >= 70 * kGiB && name.find("a100") == std::string::npos;
    c.max_num_batched_tokens = static_cast<int>(vllm.Int("maxNumBatchedTokens",
                                                         gpu_memory >= 160 * kGiB ? 16384
                                                         : large                  ? 8192
                                                                                  : 2048,
                                                         1, 1 << 24));
    c.max_num_seqs = static_cast<int>(vllm.Int("maxNumSeqs", large ? 1024 : 256, 1, 1 << 20));
    // vLLM's default max_model_len is the model's context.
    c.max_model_len =
        static_cast<int>(vllm.Int("maxModelLen", profile->context_tokens, 1, 1 << 26));
  }
  LlmOnGpu out;
  out.step_time = std::make_shared<const models::StepTimeModel>(*profile);
  out.source = "profile " + display + " (" + profile->name + ")";
  out.estimate = profile->estimate;
  if (vllm.Has("numGpuBlocks")) {
    out.num_gpu_blocks = vllm.Int("numGpuBlocks", 0, 2, llm::kMaxGpuBlocks);
    return out;
  }
  if (!profile->model || gpu_memory <= 0) {
    diags.Error(node.location(), node.path(),
                display +
                    " records no model shape or GPU memory: give vllm.numGpuBlocks "
                    "(vLLM logs it as \"# GPU blocks\") or vllm.gpuMemory");
    return std::nullopt;
  }
  llm::KvMemory kv;
  kv.gpu_memory_bytes = gpu_memory;
  kv.utilization = vllm.Number("gpuMemoryUtilization", 0.92, 0.01, 1.0);
  // vLLM sizes the cache on each GPU of the split (gpu_worker.py
  // determine_available_memory; kv_cache_planning.py get_kv_cache_configs
  // keeps the smallest count over the GPUs, all alike here): its share of
  // the weights (bf16) and of the KV heads.
  kv.weight_bytes = profile->model->Parameters() * 2 / tensor_parallel;
  // What vLLM's profiling run measures besides the weights (activations of a
  // full-budget pass, CUDA graphs, non-torch memory): an estimate unless
  // given.
  const Node other = vllm.Get("nonKvMemory");
  out.blocks_estimated = !other.present();
  kv.other_bytes =
      other.present()
          ? static_cast<double>(
                input::ReadQuantityMilli(other, diags, 0, kMaxMemoryMilli).value_or(0) / 1000)
          : 4.0 * 1024 * 1024 * 1024;
  kv.block_size = c.block_size;
  kv.kv_bytes_per_token = profile->model->KvBytesPerToken(2, tensor_parallel);
  out.num_gpu_blocks = llm::KvBlocks(kv);
  if (out.num_gpu_blocks > llm::kMaxGpuBlocks) {
    diags.Error(node.location(), node.path(),
                "the KV cache would have " + std::to_string(out.num_gpu_blocks) +
                    " blocks, more than platsim simulates (" + std::to_string(llm::kMaxGpuBlocks) +
                    "): check gpuMemory");
    return std::nullopt;
  }
  if (out.num_gpu_blocks < 2) {
    diags.Error(node.location(), node.path(),
                "no GPU memory is left for the KV cache on " + display +
                    " (vLLM refuses to start): lower nonKvMemory or raise gpuMemoryUtilization");
    return std::nullopt;
  }
  return out;
}

// An LLM server's fields (engine: vllm): its `vllm` settings and its
// profiles, per GPU product as serviceTimeByGpu gives them.
void ReadVllmServer(MapReader& m, ModelServerConfig& c, const std::filesystem::path& base,
                    Diagnostics& diags) {
  for (const char* batch : {"maxBatchSize", "maxQueueDelay", "maxConcurrency", "queueTimeout"}) {
    if (const Node n = m.Get(batch); n.present()) {
      diags.Error(n.location(), n.path(),
                  "a field of the dynamic batcher: engine: vllm batches continuously (see vllm)");
    }
  }
  auto llm = std::make_shared<LlmServerConfig>();
  llm::SchedulerConfig& sc = llm->scheduler;
  const Node vllm_node = m.Get("vllm");
  MapReader v(vllm_node, diags);
  sc.block_size = std::stoi(v.Enum("blockSize", "16", {"8", "16", "32", "64", "128"}));
  sc.chunked_prefill = v.Bool("enableChunkedPrefill", true);
  sc.prefix_caching = v.Bool("enablePrefixCaching", true);
  sc.priority_policy = v.Enum("schedulingPolicy", "fcfs", {"fcfs", "priority"}) == "priority";
  sc.long_prefill_token_threshold =
      static_cast<int>(v.Int("longPrefillTokenThreshold", 0, 0, 1 << 24));
  llm->tensor_parallel = static_cast<int>(v.Int("tensorParallelSize", 1, 1, 64));
  bool defaults_set = false;
  const Node by_gpu = m.Get("serviceTimeByGpu");
  const Node st = by_gpu.present() ? m.Get("serviceTime") : m.Require("serviceTime");
  std::vector<std::pair<Node, const LlmOnGpu*>> read;
  if (st.present()) {
    if (auto e = ReadLlmModel(st, v, llm->tensor_parallel, sc, defaults_set, base, diags)) {
      llm->any = std::move(*e);
    }
    read.emplace_back(st, &llm->any);
  }
  ForEachGpuProduct(by_gpu, "profiles", diags, [&](const std::string& product, const Node& n) {
    if (auto e = ReadLlmModel(n, v, llm->tensor_parallel, sc, defaults_set, base, diags)) {
      llm->by_gpu[product] = std::move(*e);
      read.emplace_back(n, &llm->by_gpu[product]);
    }
  });
  v.Get("gpuMemory");
  v.Get("nonKvMemory");
  v.Get("gpuMemoryUtilization");
  v.Get("numGpuBlocks");
  v.Get("maxNumBatchedTokens");
  v.Get("maxNumSeqs");
  v.Get("maxModelLen");
  v.RejectUnknown();
  // vLLM refuses to start where a request of max_model_len cannot fit.
  for (const auto& [node, gpu] : read) {
    if (gpu->step_time == nullptr) continue;
    llm::SchedulerConfig on = sc;
    on.num_gpu_blocks = gpu->num_gpu_blocks;
    if (const std::string problem = on.Problem(); !problem.empty()) {
      diags.Error(node.location(), node.path(), "vLLM would not start: " + problem);
    }
  }
  c.llm = std::move(llm);
}

// The serving fields of a model server entry (all but what it names): into
// `spec`, as `m` gives them.
void ReadServerFields(MapReader& m, ModelServerSpec& spec, const std::filesystem::path& base,
                      Diagnostics& diags) {
  ModelServerConfig& c = spec.config;
  const bool vllm = m.Enum("engine", "batch", {"batch", "vllm"}) == "vllm";
  if (!vllm && m.Has("vllm")) {
    const Node n = m.Get("vllm");
    diags.Error(n.location(), n.path(), "only with engine: vllm");
  }
  c.max_concurrency = static_cast<int>(m.Int("maxConcurrency", 1, 1, 4096));
  c.max_batch_size = static_cast<int>(m.Int("maxBatchSize", 1, 1, 65536));
  c.max_queue_delay = m.Duration("maxQueueDelay", 0);
  c.max_queue_length = static_cast<int>(m.Int("maxQueueLength", 0, 0, 100'000'000));
  if (const Node moved = m.Get("requestTimeout"); moved.present()) {
    diags.Error(moved.location(), moved.path(),
                "no longer a model server field: the client's timeout is traffic[].timeout "
                "(from arrival, default 60s), the server's is queueTimeout (while queued)");
  }
  c.queue_timeout = m.Duration("queueTimeout", 0);
  // vLLM aborts a request whose client has gone wherever it is.
  const std::string abandoned =
      vllm ? m.Enum("abandonedRequests", "abort", {"keep", "abort"})
           : m.Enum("abandonedRequests", "dequeue", {"keep", "dequeue", "abort"});
  c.abandoned = abandoned == "keep"    ? AbandonPolicy::kKeep
                : abandoned == "abort" ? AbandonPolicy::kAbort
                                       : AbandonPolicy::kDequeue;
  if (const Node cpu = m.Get("cpuBase"); cpu.present()) {
    c.cpu_base_milli = input::ReadQuantityMilli(cpu, diags, 0, kMaxCpuMilli).value_or(0);
  }
  c.cpu_per_request = m.Duration("cpuPerRequest", 0);
  for (const auto& [field, bytes] : {std::pair{"memoryBase", &c.memory_base_bytes},
                                     std::pair{"memoryPerRequest", &c.memory_per_request_bytes}}) {
    if (const Node n = m.Get(field); n.present()) {
      // Kept below 1Pi per pod however many requests it holds (at most
      // 1e9 in a run): well inside 64 bits when an HPA sums pods.
      *bytes = input::ReadQuantityMilli(n, diags, 0, kMaxMemoryMilli).value_or(0) / 1000;
    }
  }
  c.model_load = m.Duration("modelLoad", 0);
  spec.image_pull = m.Duration("imagePull", 0);
  if (const Node size = m.Get("imageSize"); size.present()) {
    spec.image_size_bytes =
        input::ReadQuantityMilli(size, diags, 0, kMaxMemoryMilli).value_or(0) / 1000;
  }
  if (vllm) {
    ReadVllmServer(m, c, base, diags);
    c.error_rate = m.Number("errorRate", 0.0, 0.0, 1.0);
    c.crash_after = m.Duration("crashAfter", 0);
    return;
  }
  auto read_model = [&](const Node& node) {
    std::shared_ptr<const models::ServiceTimeModel> model(
        models::ServiceTimeFromScenario(node, base, diags));
    if (model) {
      if (const std::string beyond = model->BeyondMeasured(c.max_batch_size); !beyond.empty()) {
        diags.Warning(node.location(), node.path(), "used beyond its measured profile: " + beyond);
      }
    }
    return model;
  };
  const Node by_gpu = m.Get("serviceTimeByGpu");
  const Node st = by_gpu.present() ? m.Get("serviceTime") : m.Require("serviceTime");
  if (st.present()) c.service_time = read_model(st);
  ForEachGpuProduct(by_gpu, "service times", diags, [&](const std::string& product, const Node& n) {
    if (auto model = read_model(n)) c.service_time_by_gpu[product] = model;
  });
  c.error_rate = m.Number("errorRate", 0.0, 0.0, 1.0);
  c.crash_after = m.Duration("crashAfter", 0);
}

void ReadModelServers(const Node& list, const std::filesystem::path& base, Scenario& s,
                      Diagnostics& diags) {
  if (!IsList(list, "model servers", diags)) return;
  std::set<std::string> seen, seen_knative, seen_isvc;
  const auto deployments = ByKey(s.deployments);
  const auto rollouts = ByKey(s.rollouts);
  const auto knative = KnativeByKey(s);
  const auto isvcs = InferenceServicesByKey(s);
  for (const Node& entry : list.Elements()) {
    MapReader m(entry, diags);
    ModelServerSpec spec;
    if (m.Has("inferenceService")) {
      // The InferenceService's predictor Deployment.
      spec.deployment =
          ReadReference(m, entry, "inferenceService", isvcs, seen_isvc, "model server", diags);
      if (const auto i = isvcs.find(spec.deployment); i != isvcs.end()) {
        spec.deployment = i->second->deployment;
        if (!seen.insert(spec.deployment).second) {
          diags.Error(entry.location(), entry.path(),
                      "duplicate model server for " + spec.deployment + " (InferenceService " +
                          i->first + "'s predictor)");
        }
      }
      for (const char* other : {"deployment", "knativeService"}) {
        if (m.Has(other)) {
          diags.Error(entry.location(), entry.path(),
                      "needs one of deployment, knativeService or inferenceService");
        }
      }
    } else if (m.Has("knativeService")) {
      // The Knative Service's revision Deployment.
      spec.deployment =
          ReadReference(m, entry, "knativeService", knative, seen_knative, "model server", diags);
      if (const auto k = knative.find(spec.deployment); k != knative.end()) {
        spec.deployment = k->second->first().deployment;
        if (!seen.insert(spec.deployment).second) {
          diags.Error(entry.location(), entry.path(),
                      "duplicate model server for " + spec.deployment + " (Knative Service " +
                          k->first + "'s revision)");
        }
      }
      if (m.Has("deployment")) {
        diags.Error(entry.location(), entry.path(), "needs one of deployment or knativeService");
      }
    } else if (m.Has("rollout")) {
      // An Argo Rollout's pods, every ReplicaSet's.
      spec.deployment = ReadReference(m, entry, "rollout", rollouts, seen, "model server", diags);
      if (m.Has("deployment")) {
        diags.Error(entry.location(), entry.path(), "needs one of deployment or rollout");
      }
    } else {
      spec.deployment =
          ReadReference(m, entry, "deployment", deployments, seen, "model server", diags);
    }
    ReadServerFields(m, spec, base, diags);
    // Versions: each image's own fields, each replacing the entry's.
    for (const Node& version : ListElements(m.Get("versions"), "versions", diags)) {
      MapReader v(version, diags);
      // A version is an image's, or an InferenceService's model's (its
      // storageUri: the runtime's image stays).
      std::optional<std::string> image;
      const bool model = v.Has("storageUri");
      if (model) {
        const Node uri = v.Get("storageUri");
        image = v.String("storageUri", "");
        if (v.Has("image")) {
          diags.Error(version.location(), version.path(), "needs one of image or storageUri");
        } else if (!m.Has("inferenceService")) {
          diags.Error(uri.location(), uri.path(),
                      "a model's version is an InferenceService's: this entry names none (a "
                      "version of other pods is by image)");
        } else if (image->empty()) {
          diags.Error(uri.location(), uri.path(), "must not be empty");
        }
        for (const char* field : {"imagePull", "imageSize"}) {
          if (v.Has(field)) {
            diags.Warning(v.Get(field).location(), v.Get(field).path(),
                          "ignored: a model's version runs the runtime's image, which pulls as "
                          "the entry says");
          }
        }
      } else {
        image = v.RequiredString("image");
      }
      v.AcceptRest();
      if (!version.IsMap()) continue;
      input::Diagnostics own;
      const Node merged = input::Override(entry, version, own);
      MapReader vm(merged, own);
      for (const char* named : {"deployment", "rollout", "knativeService", "inferenceService",
                                "namespace", "versions", "image", "storageUri"}) {
        vm.Get(named);
      }
      ModelServerSpec vs;
      vs.deployment = spec.deployment;
      ReadServerFields(vm, vs, base, own);
      // A version's service times replace the entry's, both fields together.
      const bool times = Field(version, "serviceTime").present();
      const bool times_by_gpu = Field(version, "serviceTimeByGpu").present();
      if (times && !times_by_gpu) vs.config.service_time_by_gpu.clear();
      if (times_by_gpu && !times) vs.config.service_time = nullptr;
      if (vs.config.llm && times != times_by_gpu) {
        auto llm = std::make_shared<LlmServerConfig>(*vs.config.llm);
        if (times) llm->by_gpu.clear();
        if (times_by_gpu) llm->any = LlmOnGpu{};
        vs.config.llm = std::move(llm);
      }
      vm.RejectUnknown();
      // What the entry's own reading reported already is not said twice.
      for (const input::Diagnostic& d : own.all()) {
        const bool said = std::any_of(diags.all().begin(), diags.all().end(), [&](const auto& x) {
          return x.location.line == d.location.line && x.location.column == d.location.column &&
                 x.location.file == d.location.file && x.message == d.message;
        });
        if (said) continue;
        if (d.severity == input::Severity::kError) {
          diags.Error(d.location, d.path, d.message);
        } else {
          diags.Warning(d.location, d.path, d.message);
        }
      }
      CheckPodsCanServe(version, vs, s, deployments, diags);
      if (!image) continue;
      if (!spec.versions
               .emplace(*image, ModelServerVersion{vs.config, vs.image_pull, vs.image_size_bytes})
               .second) {
        diags.Error(
            version.location(), version.path() + ".image",
            std::string(model ? "a second version of model " : "a second version of image ") +
                *image);
      }
    }
    CheckPodsCanServe(entry, spec, s, deployments, diags);
    m.RejectUnknown();
    s.model_servers.push_back(std::move(spec));
  }
}

void ReadTraffic(const Node& list, const std::filesystem::path& base, Scenario& s,
                 Diagnostics& diags) {
  if (!IsList(list, "traffic sources", diags)) return;
  std::set<std::string> seen;
  const auto services = ByKey(s.services);
  const auto knative = KnativeByKey(s);
  const auto isvcs = InferenceServicesByKey(s);
  for (const Node& entry : list.Elements()) {
    MapReader m(entry, diags);
    TrafficSpec t;
    // A Knative Service or a v1 Service (they cannot share a name: Knative
    // creates a v1 Service of its own name).
    const std::string wanted = Key(m.String("namespace", "default"), m.String("service", ""));
    if (const auto isvc = isvcs.find(wanted); isvc != isvcs.end()) {
      // An InferenceService: the Service its predictor is reached at.
      ReadReference(m, entry, "service", isvcs, seen, "traffic", diags);
      t.service = isvc->second->service;
    } else if (knative.count(wanted)) {
      t.service = ReadReference(m, entry, "service", knative, seen, "traffic", diags);
    } else {
      t.service = ReadReference(m, entry, "service", services, seen, "traffic", diags);
    }
    t.stream = m.String("randomStream", "");
    const std::string lb = m.Enum("loadBalancing", "least-request",
                                  {"random", "round-robin", "least-request", "least-waiting",
                                   "least-kv-cache", "endpoint-picker"});
    t.balancer = lb == "random"            ? Balancer::kRandom
                 : lb == "round-robin"     ? Balancer::kRoundRobin
                 : lb == "least-waiting"   ? Balancer::kLeastWaiting
                 : lb == "least-kv-cache"  ? Balancer::kLeastKvCache
                 : lb == "endpoint-picker" ? Balancer::kEndpointPicker
                                           : Balancer::kLeastRequest;
    t.timeout = m.Duration("timeout", 60 * sim::kSecond);
    const Node arrivals = m.Require("arrivals");
    if (arrivals.present()) {
      t.arrivals = std::shared_ptr<const models::ArrivalProcess>(
          models::ArrivalsFromScenario(arrivals, base, diags));
    }
    for (const auto& [field, tokens] : {std::pair{"promptTokens", &t.prompt_tokens},
                                        std::pair{"outputTokens", &t.output_tokens}}) {
      if (const Node n = m.Get(field); n.present()) {
        *tokens =
            std::shared_ptr<const models::TokenDistribution>(models::TokensFromScenario(n, diags));
      }
    }
    // vLLM's request priority (lower first), for a server with
    // schedulingPolicy: priority.
    t.priority = static_cast<int>(m.Int("priority", 0, -1'000'000, 1'000'000));
    if (const Node shared = m.Get("sharedPrefix"); shared.present()) {
      // Requests of `groups` kinds, each kind's prompts starting with the
      // same `tokens` (a system prompt, a template): what prefix caching
      // reuses.
      MapReader sp(shared, diags);
      t.shared_prefix_tokens = static_cast<int>(sp.Int("tokens", 0, 1, 10'000'000));
      sp.Require("tokens");
      t.prefix_groups = static_cast<int>(sp.Int("groups", 1, 1, 1'000'000));
      sp.RejectUnknown();
    }
    if (const Node slo = m.Get("slo"); slo.present()) {
      MapReader sm(slo, diags);
      // An LLM service's objectives (time to first token, time per output
      // token) may stand without an end-to-end latency.
      t.llm_objectives.ttft = sm.Duration("ttft", 0, 1);
      t.llm_objectives.tpot = sm.Duration("tpot", 0, 1);
      const bool llm = t.llm_objectives.ttft > 0 || t.llm_objectives.tpot > 0;
      t.slo_latency =
          llm ? sm.Duration("latency", 0, 1) : sm.RequiredDuration("latency", 1).value_or(0);
      t.slo_target = sm.Number("target", 0.99, 0.0, 1.0);
      sm.RejectUnknown();
    }
    if (const Node conn = m.Get("connections"); conn.present()) {
      // Long-lived connections (connections.h): gRPC's connection backoff
      // by default (grpc/grpc doc/connection-backoff.md), and for a
      // WebSocket client a reconnect a second after a close, buffering.
      MapReader cm(conn, diags);
      ConnectionConfig& c = t.connections;
      c.clients = static_cast<int>(cm.Int("clients", 0, 1, 1'000'000));
      cm.Require("clients");
      c.websocket = cm.Enum("protocol", "grpc", {"grpc", "websocket"}) == "websocket";
      c.handshake = cm.Duration("handshake", 0);
      c.reconnect_delay = cm.Duration("reconnectDelay", c.websocket ? sim::kSecond : 0);
      c.initial_backoff = cm.Duration("initialBackoff", sim::kSecond, sim::kMillisecond);
      c.max_backoff = cm.Duration("maxBackoff", 120 * sim::kSecond, sim::kMillisecond);
      c.multiplier = cm.Number("multiplier", 1.6, 1.0, 100.0);
      c.jitter = cm.Number("jitter", 0.2, 0.0, 1.0);
      c.fail_fast = cm.Bool("failFast", !c.websocket);
      if (c.max_backoff < c.initial_backoff) {
        const Node at = cm.Get("maxBackoff");
        diags.Error(at.present() ? at.location() : conn.location(),
                    at.present() ? at.path() : conn.path(), "must be at least initialBackoff");
      }
      cm.RejectUnknown();
      if (knative.count(t.service)) {
        diags.Error(conn.location(), conn.path(),
                    "long-lived connections to a Knative Service are not simulated yet");
      }
      for (const ArgoRollout& r : s.rollouts) {
        if (r.traffic_routing && r.stable_service == t.service) {
          diags.Error(conn.location(), conn.path(),
                      "long-lived connections through a Rollout's traffic split are not "
                      "simulated yet");
        }
      }
    }
    m.RejectUnknown();
    s.traffic.push_back(std::move(t));
  }
}

// Reads a scenario's spec (its own, or a design's merged over it) into `s`.
void ReadSpec(const Node& spec_node, const std::filesystem::path& base, Scenario& s,
              Diagnostics& diags) {
  MapReader spec(spec_node, diags);
  spec.Get("designs");  // read by LoadScenarioSource
  s.seed = static_cast<std::uint64_t>(spec.Int("seed", 1, 0, INT64_MAX));
  s.duration = spec.RequiredDuration("duration", sim::kMillisecond).value_or(s.duration);
  s.warmup = spec.Duration("warmup", 0);
  s.sample_interval = spec.Duration("sampleInterval", 10 * sim::kSecond, sim::kMillisecond);
  if (s.warmup >= s.duration) {
    diags.Error(spec.Get("warmup").location(), "spec.warmup", "must be shorter than spec.duration");
  }
  MapReader api(spec.Get("apiServer"), diags);
  s.api_request_latency = api.Duration("requestLatency", 10 * sim::kMillisecond);
  api.RejectUnknown();
  MapReader proxy(spec.Get("serviceProxy"), diags);
  s.service_proxy.min_sync_period = proxy.Duration("minSyncPeriod", sim::kSecond);
  s.service_proxy.programming_delay = proxy.Duration("programmingDelay", 0);
  proxy.RejectUnknown();
  ReadNodePools(spec.Require("nodePools"), s, diags);
  ReadKnativeConfig(spec.Get("knative"), s, diags);
  // spec.kserve.defaultDeploymentMode: the inferenceservice-config
  // ConfigMap's deploy.defaultDeploymentMode (Serverless, i.e. Knative, as
  // KServe ships it).
  MapReader kserve(spec.Get("kserve"), diags);
  const std::string mode = kserve.Enum("defaultDeploymentMode", "Knative",
                                       {"Knative", "Serverless", "Standard", "RawDeployment"});
  s.kserve_default_knative = mode == "Knative" || mode == "Serverless";
  kserve.RejectUnknown();
  ManifestContext ctx{diags, {}, {}, {}, {}};
  ReadManifests(spec.Require("manifests"), base, s, ctx);
  ReadModelServers(spec.Get("modelServers"), base, s, diags);
  // A revision's pods have the queue-proxy in front of their server, with
  // its breaker at the revision's containerConcurrency (whatever version).
  for (const KnativeServiceSpec& k : s.knative_services) {
    for (ModelServerSpec& m : s.model_servers) {
      if (m.deployment != k.first().deployment) continue;
      m.config.queue_proxy = true;
      m.config.container_concurrency = k.first().container_concurrency;
      for (auto& [image, v] : m.versions) {
        v.config.queue_proxy = true;
        v.config.container_concurrency = k.first().container_concurrency;
      }
    }
  }
  ReadTraffic(spec.Require("traffic"), base, s, diags);
  ReadAutoscalingSettings(spec, s, diags);
  {
    // spec.clusterAutoscaler: the flags, with upstream's defaults.
    MapReader c(spec.Get("clusterAutoscaler"), diags);
    ca::Options& o = s.cluster_autoscaler;
    o.scan_interval = c.Duration("scanInterval", o.scan_interval, sim::kSecond);
    const std::string expander =
        c.Enum("expander", "least-waste", {"least-waste", "most-pods", "price", "random"});
    o.expander = expander == "most-pods" ? ca::Expander::kMostPods
                 : expander == "price"   ? ca::Expander::kPrice
                 : expander == "random"  ? ca::Expander::kRandom
                                         : ca::Expander::kLeastWaste;
    // The price expander's pod prices, per hour: GCE's base prices unless
    // given.
    MapReader pricing(c.Get("podPricing"), diags);
    o.pod_pricing.cpu = pricing.Number("cpuPerHour", o.pod_pricing.cpu, 0, 1e6);
    o.pod_pricing.memory_gib = pricing.Number("memoryGiBPerHour", o.pod_pricing.memory_gib, 0, 1e6);
    o.pod_pricing.gpu = pricing.Number("gpuPerHour", o.pod_pricing.gpu, 0, 1e6);
    pricing.RejectUnknown();
    o.scale_down_unneeded_time = c.Duration("scaleDownUnneededTime", o.scale_down_unneeded_time);
    o.scale_down_delay_after_add =
        c.Duration("scaleDownDelayAfterAdd", o.scale_down_delay_after_add);
    o.scale_down_utilization_threshold =
        c.Number("scaleDownUtilizationThreshold", o.scale_down_utilization_threshold, 0, 1);
    o.scale_down_gpu_utilization_threshold =
        c.Number("scaleDownGpuUtilizationThreshold", o.scale_down_gpu_utilization_threshold, 0, 1);
    c.RejectUnknown();
  }
  CheckAutoscalers(s, ctx);
  CheckKnative(s, ctx);
  CheckRollouts(s, ctx);
  ReadTimeline(spec.Get("timeline"), base, s, diags);
  // spec.failures: random outages of a pool's nodes.
  for (const Node& entry : ListElements(spec.Get("failures"), "failures", diags)) {
    MapReader f(entry, diags);
    FailureModel model;
    model.pool = f.RequiredString("pool").value_or("");
    if (!model.pool.empty() &&
        std::none_of(s.node_pools.begin(), s.node_pools.end(),
                     [&](const NodePool& p) { return p.name == model.pool; })) {
      const Node at = f.Get("pool");
      diags.Error(at.location(), at.path(), "no node pool " + model.pool);
    }
    model.mtbf = f.RequiredDuration("mtbf", sim::kSecond).value_or(sim::kHour);
    model.repair = f.RequiredDuration("repair", sim::kSecond).value_or(sim::kHour);
    model.repair_exponential =
        f.Enum("repairDistribution", "exponential", {"exponential", "constant"}) == "exponential";
    f.RejectUnknown();
    s.failures.push_back(std::move(model));
  }
  spec.RejectUnknown();

  // What makes results meaningless without being an error. Deployments are
  // found by a label of the Service's selector, not by trying each.
  std::map<std::string, std::vector<const Deployment*>> by_label;  // "ns/key=value"
  for (const auto& d : s.deployments) {
    for (const auto& [k, v] : d.pod_template.labels)
      by_label[d.meta.namespace_name + "/" + k + "=" + v].push_back(&d);
  }
  std::set<std::string> with_traffic, with_server;
  for (const auto& t : s.traffic)
    with_traffic.insert(t.service);
  for (const auto& m : s.model_servers)
    with_server.insert(m.deployment);
  for (const auto& svc : s.services) {
    std::vector<const Deployment*> selected;
    if (!svc.selector.empty()) {
      const auto& [k, v] = *svc.selector.begin();
      const auto candidates = by_label.find(svc.meta.namespace_name + "/" + k + "=" + v);
      if (candidates != by_label.end()) {
        for (const Deployment* d : candidates->second) {
          if (SelectorMatches(svc.selector, d->pod_template.labels)) selected.push_back(d);
        }
      }
    }
    const bool has_traffic = with_traffic.count(svc.meta.Key()) > 0;
    const input::Node doc = ctx.objects[std::string("Service/") + svc.meta.Key()];
    const input::Location at = doc.location();
    const std::string path = input::ChildPath(doc.path(), "spec.selector");
    // A Rollout's pods count as a Deployment's (its model server entry or
    // not, as below).
    const auto rollout = std::find_if(s.rollouts.begin(), s.rollouts.end(), [&](const auto& r) {
      return r.meta.namespace_name == svc.meta.namespace_name &&
             SelectorMatches(svc.selector, r.pod_template.labels);
    });
    if (selected.empty() && rollout != s.rollouts.end()) {
      if (has_traffic && !with_server.count(rollout->meta.Key())) {
        diags.Warning(at, path,
                      "Service " + svc.meta.Key() + " receives traffic, but the pods it selects " +
                          "(Rollout " + rollout->meta.Key() +
                          ") have no model server: every request is refused");
      }
      continue;
    }
    if (selected.empty()) {
      diags.Warning(at, path,
                    "Service " + svc.meta.Key() + " selects no Deployment's pods" +
                        (has_traffic ? ": every request to it is dropped (no endpoint)" : ""));
      continue;
    }
    const bool served = std::any_of(selected.begin(), selected.end(), [&](const Deployment* d) {
      return with_server.count(d->meta.Key()) > 0;
    });
    if (has_traffic && !served) {
      diags.Warning(at, path,
                    "Service " + svc.meta.Key() + " receives traffic, but the pods it selects (" +
                        "Deployment " + selected.front()->meta.Key() +
                        (selected.size() > 1 ? " and others" : "") +
                        ") have no model server: every request is refused");
    }
  }

  for (const auto& r : s.rollouts) {
    if (!with_server.count(r.meta.Key())) {
      diags.Warning(spec.Get("modelServers").location(), "spec.modelServers",
                    "Rollout " + r.meta.Key() +
                        " has no model server entry: its pods run but refuse requests");
    }
  }
  for (const auto& d : s.deployments) {
    if (!with_server.count(d.meta.Key())) {
      const input::Node servers = spec.Get("modelServers");
      diags.Warning(servers.location(), "spec.modelServers",
                    "Deployment " + d.meta.Key() +
                        " has no model server entry: its pods run but refuse requests");
    }
  }
  std::set<std::string> namespaces;
  for (const auto& ns : s.namespaces)
    namespaces.insert(ns.meta.name);
  auto add_namespace = [&](const std::string& name) {
    if (namespaces.insert(name).second) {
      Namespace ns;
      ns.meta.name = name;
      s.namespaces.push_back(ns);
    }
  };
  for (const auto& d : s.deployments)
    add_namespace(d.meta.namespace_name);
  for (const auto& svc : s.services)
    add_namespace(svc.meta.namespace_name);
}

// The scenario's designs: each a name, a description and a patch of spec.
struct DesignEntry {
  std::string name, description;
  Node patch;
  bool ok = true;  // false: its spec is not a mapping (reported), so it is not read
};

std::vector<DesignEntry> ReadDesigns(const Node& list, Diagnostics& diags) {
  std::vector<DesignEntry> out;
  if (!IsList(list, "designs", diags)) return out;
  const auto elements = list.Elements();
  if (elements.empty()) {
    diags.Error(list.location(), list.path(), "must name at least one design");
  }
  if (elements.size() > kMaxDesigns) {
    diags.Error(list.location(), list.path(),
                "more than " + std::to_string(kMaxDesigns) + " designs (got " +
                    std::to_string(elements.size()) + ")");
    return out;
  }
  std::set<std::string> names;
  for (const Node& e : elements) {
    MapReader d(e, diags);
    DesignEntry design;
    design.name = d.RequiredString("name").value_or("");
    const Node name_at = d.Get("name");
    if (name_at.present() && !design.name.empty() && !IsDnsLabel(design.name)) {
      diags.Error(name_at.location(), name_at.path(),
                  "'" + design.name +
                      "' is not a DNS-1123 label (lower-case letters, digits and '-', starting "
                      "and ending with a letter or digit, at most 63 characters): it names the "
                      "design's output folder");
    } else if (!design.name.empty() && !names.insert(design.name).second) {
      diags.Error(name_at.location(), name_at.path(),
                  "design '" + design.name + "' is named twice");
    }
    design.description = d.String("description", "");
    design.patch = d.Get("spec");
    if (design.patch.present() && !design.patch.IsMap()) {
      diags.Error(
          design.patch.location(), design.patch.path(),
          "expected a mapping (merged over the scenario's spec), got " + design.patch.Describe());
      design.ok = false;
    } else if (design.patch.present()) {
      // Designs compare under one seed, and do not nest.
      for (const char* key : {"seed", "designs"}) {
        const Node n = Field(design.patch, key);
        if (n.present()) {
          diags.Error(n.location(), n.path(),
                      std::string(key) == "seed"
                          ? "a design cannot change the seed: every design runs on spec.seed, so "
                            "that all see the same traffic (common random numbers)"
                          : "designs do not nest");
        }
      }
    }
    d.RejectUnknown();
    out.push_back(std::move(design));
  }
  return out;
}

std::optional<std::vector<Scenario>> LoadScenarioSource(std::optional<input::Source> source,
                                                        const std::string& path,
                                                        const std::filesystem::path& base,
                                                        Diagnostics& diags) {
  const int errors_before = diags.error_count();
  if (!source) return std::nullopt;
  if (source->documents.size() != 1) {
    diags.Error(
        {path, 1, 1}, "",
        "expected one Scenario document, found " + std::to_string(source->documents.size()));
    return std::nullopt;
  }
  Scenario s;
  s.file = path;
  MapReader root(source->documents[0], diags);
  if (!root.ok()) return std::nullopt;
  if (const auto api = root.RequiredString("apiVersion"); api && *api != kApiVersion) {
    diags.Error(root.Get("apiVersion").location(), "apiVersion",
                "unsupported (got '" + *api + "', expected " + kApiVersion + ")");
  }
  if (const auto kind = root.RequiredString("kind"); kind && *kind != "Scenario") {
    diags.Error(root.Get("kind").location(), "kind",
                "wrong kind (got '" + *kind + "', expected Scenario)");
  }
  MapReader meta(root.Require("metadata"), diags);
  s.name = meta.RequiredString("name").value_or("");
  meta.RejectUnknown();
  const Node spec = root.Require("spec");
  root.RejectUnknown();

  std::vector<Scenario> out;
  const Node designs_node = spec.IsMap() ? Field(spec, "designs") : Node();
  if (!designs_node.present()) {
    ReadSpec(spec, base, s, diags);
    out.push_back(std::move(s));
  } else {
    const std::vector<DesignEntry> designs = ReadDesigns(designs_node, diags);
    // Each design is read on its own; a problem that every design shares
    // (one in the common part) is reported once, one that only some have
    // names them.
    struct Seen {
      input::Diagnostic d;
      std::vector<std::string> designs;
    };
    std::vector<Seen> seen;
    for (const DesignEntry& design : designs) {
      Diagnostics own;
      Scenario d = s;
      d.design = design.name;
      d.design_description = design.description;
      if (design.ok) ReadSpec(input::MergePatch(spec, design.patch, own), base, d, own);
      for (const input::Diagnostic& x : own.all()) {
        const auto it = std::find_if(seen.begin(), seen.end(), [&](const Seen& y) {
          return y.d.severity == x.severity && y.d.location.file == x.location.file &&
                 y.d.location.line == x.location.line && y.d.location.column == x.location.column &&
                 y.d.path == x.path && y.d.message == x.message;
        });
        if (it == seen.end()) {
          seen.push_back(Seen{x, {design.name}});
        } else if (it->designs.back() != design.name) {
          it->designs.push_back(design.name);
        }
      }
      out.push_back(std::move(d));
    }
    for (const Seen& x : seen) {
      std::string message = x.d.message;
      if (x.designs.size() < designs.size()) {
        message += " (in design";
        message += x.designs.size() == 1 ? " " : "s ";
        for (std::size_t i = 0; i < x.designs.size(); ++i)
          message += (i == 0 ? "" : ", ") + x.designs[i];
        message += ")";
      }
      if (x.d.severity == input::Severity::kError) {
        diags.Error(x.d.location, x.d.path, message);
      } else {
        diags.Warning(x.d.location, x.d.path, message);
      }
    }
  }
  if (diags.error_count() != errors_before) return std::nullopt;
  return out;
}

// The one design of a file, or an error naming the designs it holds.
std::optional<Scenario> OnlyDesign(std::optional<std::vector<Scenario>> designs,
                                   const std::string& path, Diagnostics& diags) {
  if (!designs) return std::nullopt;
  if (designs->size() != 1 || !designs->front().design.empty()) {
    std::string names;
    for (const Scenario& d : *designs)
      names += (names.empty() ? "" : ", ") + d.design;
    diags.Error({path, 0, 0}, "spec.designs",
                "this scenario holds designs (" + names +
                    "): platsim run runs them all, or the ones --design names");
    return std::nullopt;
  }
  return std::move(designs->front());
}

}  // namespace

std::optional<std::vector<Scenario>> LoadDesigns(const std::string& path, Diagnostics& diags) {
  return LoadScenarioSource(input::LoadYamlFile(path, path, diags), path,
                            std::filesystem::path(path).parent_path(), diags);
}

std::optional<std::vector<Scenario>> LoadDesignsText(const std::string& text,
                                                     const std::string& display_name,
                                                     const std::filesystem::path& base_dir,
                                                     Diagnostics& diags) {
  return LoadScenarioSource(input::ParseYaml(text, display_name, diags), display_name, base_dir,
                            diags);
}

std::optional<Scenario> LoadScenario(const std::string& path, Diagnostics& diags) {
  return OnlyDesign(LoadDesigns(path, diags), path, diags);
}

std::optional<Scenario> LoadScenarioText(const std::string& text, const std::string& display_name,
                                         const std::filesystem::path& base_dir,
                                         Diagnostics& diags) {
  return OnlyDesign(LoadDesignsText(text, display_name, base_dir, diags), display_name, diags);
}

}  // namespace platsim::platform
