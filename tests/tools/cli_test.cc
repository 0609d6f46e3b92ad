#include "tools/cli.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>
#include "gpu/catalogue.h"
#include "gpu/profiler.h"
#include "models/input/diagnostics.h"
#include "models/service_time.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace platsim::tools {
namespace {

using platsim::testing::ReadFile;
using platsim::testing::SourceDir;
using platsim::testing::TempDir;

struct CliResult {
  int code;
  std::string out;
  std::string err;
};

CliResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), "platsim");
  std::ostringstream out, err;
  const int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::string Quickstart() {
  return (SourceDir() / "scenarios/quickstart.yaml").string();
}

TEST(Cli, SameSeedGivesByteIdenticalOutputsAndAnotherSeedDoesNot) {
  TempDir dir;
  const std::string a = (dir.path() / "a").string(), b = (dir.path() / "b").string(),
                    c = (dir.path() / "c").string();
  ASSERT_EQ(Cli({"run", Quickstart(), "--out", a, "--duration", "2h", "--seed", "7"}).code, 0);
  ASSERT_EQ(Cli({"run", Quickstart(), "--out", b, "--duration", "2h", "--seed", "7"}).code, 0);
  ASSERT_EQ(Cli({"run", Quickstart(), "--out", c, "--duration", "2h", "--seed", "8"}).code, 0);
  for (const char* file : {"summary.json", "timeseries.csv", "events.jsonl"}) {
    const std::string first = ReadFile(dir.path() / "a" / file);
    ASSERT_FALSE(first.empty()) << file;
    EXPECT_EQ(first, ReadFile(dir.path() / "b" / file)) << file << " differs between equal seeds";
  }
  EXPECT_NE(ReadFile(dir.path() / "a/summary.json"), ReadFile(dir.path() / "c/summary.json"));
  EXPECT_NE(ReadFile(dir.path() / "a/timeseries.csv"), ReadFile(dir.path() / "c/timeseries.csv"));
}

TEST(Cli, ReplicationsReportConfidenceIntervalsAndEveryRun) {
  TempDir dir;
  const CliResult r = Cli({"run", Quickstart(), "--out", dir.path().string(), "--duration", "30m",
                           "--replications", "3", "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty()) << "--quiet prints nothing on success";
  const std::string summary = ReadFile(dir.path() / "summary.json");
  EXPECT_NE(summary.find("\"replications\": 3"), std::string::npos);
  EXPECT_NE(summary.find("\"ci95_half_width\""), std::string::npos);
  EXPECT_NE(summary.find("\"replication\": 2"), std::string::npos);
  // The quickstart's SLO, reported beside the attainment it is judged by.
  EXPECT_NE(summary.find("\"slo\": {\n        \"latency_s\": 0.25,\n        \"target\": 0.99\n"),
            std::string::npos)
      << summary.substr(0, 1200);
  const std::string series = ReadFile(dir.path() / "timeseries.csv");
  EXPECT_EQ(series.rfind("replication,time_s,series,", 0), 0u) << "one header line first";
  EXPECT_NE(series.find("\n2,"), std::string::npos) << "rows of the third run";
}

TEST(Cli, HelpAndVersionExitZero) {
  const CliResult help = Cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("run"), std::string::npos);
  EXPECT_NE(help.out.find("validate"), std::string::npos);
  const CliResult run_help = Cli({"run", "--help"});
  EXPECT_EQ(run_help.code, 0);
  EXPECT_NE(run_help.out.find("--replications"), std::string::npos);
}

TEST(Cli, BadFlagsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"run"},
           {"run", Quickstart(), "--replications", "0"},
           {"run", Quickstart(), "--duration", "soon"},
           {"run", Quickstart(), "--duration", "5m"},  // shorter than the warm-up
           {"run", Quickstart(), "--no-such-flag"},
           {"run", Quickstart(), "--out", "/proc/platsim-cannot-write-here"},
       }) {
    std::string joined;
    for (const auto& a : args)
      joined += a + " ";
    const CliResult r = Cli(args);
    EXPECT_EQ(r.code, kExitBadInput) << joined << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << joined;
  }
}

// A valid scenario with one field replaced, for the table of broken inputs.
std::string ValidScenario() {
  return R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 10m
  nodePools:
  - name: pool
    count: 1
    allocatable: {cpu: "8", memory: 64Gi, nvidia.com/gpu: "1"}
  manifests:
  - file: app.yaml
  modelServers:
  - deployment: app
    serviceTime: {kind: constant, value: 10ms}
  traffic:
  - service: app
    arrivals: {kind: poisson, rate: 10}
)";
}

std::string Manifests() {
  return platsim::testing::AppManifests(1, false);
}

// An Argo Rollout canary with an analysis step, after Manifests().
constexpr const char* kRollout = R"(---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: ro}
spec:
  replicas: 2
  selector: {matchLabels: {app: ro}}
  template:
    metadata: {labels: {app: ro}}
    spec:
      containers:
      - {name: s, image: "ro:1"}
  strategy:
    canary:
      steps:
      - setWeight: 50
      - analysis: {templates: [{templateName: rate}]}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: rate}
spec:
  metrics:
  - name: m
    successCondition: result[0] >= 0.9
    provider: {prometheus: {query: 'sum(rate(platsim_requests_total[1m]))'}}
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// The scenario with a client that never gives up.
std::string WithoutClientTimeout(const std::string& scenario) {
  return Replace(scenario, "  - service: app\n", "  - service: app\n    timeout: 0s\n");
}

struct BrokenCase {
  std::string name;
  std::string scenario;   // contents of s.yaml
  std::string manifests;  // contents of app.yaml
  std::string expected;   // a substring of stderr naming file and line
  std::string also = "";  // another substring of stderr, if not empty
};

// True if every line of `err` names a file and a line, except platsim's
// closing "platsim: FILE: N errors".
bool EveryLineNamesAFileAndLine(const std::string& err) {
  static const std::regex kLocated(R"(^[^ ]+\.(yaml|json|csv):[0-9]+(:[0-9]+)?: .*)");
  std::istringstream in(err);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("platsim: ", 0) == 0) continue;
    if (!std::regex_match(line, kLocated)) return false;
  }
  return true;
}

// The valid scenario (one replica) as two designs: `one` as it is, and
// `three` with three replicas.
std::string TwoDesigns() {
  return ValidScenario() +
         "  designs:\n"
         "  - name: one\n"
         "    description: one replica\n"
         "  - name: three\n"
         "    spec:\n"
         "      manifests: [{file: app3.yaml}]\n";
}

TEST(Cli, DesignsRunInFoldersOfTheirOwnOnTheSameTrafficAndTheSummaryComparesThem) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  dir.Write("app3.yaml", Replace(Manifests(), "replicas: 1", "replicas: 3"));
  const std::string path = dir.Write("s.yaml", TwoDesigns()).string();
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path, "--out", out.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2 designs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  three  default/app"), std::string::npos) << r.out;

  const auto comparison = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(comparison["kind"], "DesignComparison");
  ASSERT_EQ(comparison["designs"].size(), 2u);
  const auto& one = comparison["designs"][0];
  const auto& three = comparison["designs"][1];
  EXPECT_EQ(one["name"], "one");
  EXPECT_EQ(one["description"], "one replica");
  EXPECT_EQ(three["folder"], "three");
  // Each design as its manifests say; both on the same requests.
  const auto& a = one["services"]["default/app"]["metrics"];
  const auto& b = three["services"]["default/app"]["metrics"];
  EXPECT_EQ(a["ready_replicas_final"], 1.0);
  EXPECT_EQ(b["ready_replicas_final"], 3.0);
  EXPECT_GT(a["arrived"].get<double>(), 5000);
  EXPECT_EQ(a["arrived"], b["arrived"]) << "designs see the same traffic";
  // Each folder is a run of its own, the same as a run of that design alone.
  const auto alone = dir.path() / "alone";
  const CliResult single = Cli({"run", path, "--design", "three", "--out", alone.string()});
  ASSERT_EQ(single.code, 0) << single.err;
  EXPECT_NE(single.out.find("design three"), std::string::npos) << single.out;
  for (const char* file : {"summary.json", "timeseries.csv", "events.jsonl"}) {
    EXPECT_EQ(ReadFile(alone / file), ReadFile(out / "three" / file)) << file;
  }
  const auto own = nlohmann::json::parse(ReadFile(alone / "summary.json"));
  EXPECT_EQ(own["design"]["name"], "three");
  EXPECT_EQ(own["services"]["default/app"]["metrics"], three["services"]["default/app"]["metrics"]);

  // validate lists the designs; --design must name one.
  const CliResult v = Cli({"validate", path});
  EXPECT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find(" design one: ok"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find(" design three: ok"), std::string::npos) << v.out;
  const CliResult bad = Cli({"run", path, "--design", "two", "--out", alone.string()});
  EXPECT_EQ(bad.code, kExitBadInput);
  EXPECT_NE(bad.err.find("no design 'two' in " + path + " (it holds one, three)"),
            std::string::npos)
      << bad.err;

  // A design's folder holding another scenario's results stops the run
  // before any design runs.
  const auto taken = dir.path() / "taken";
  std::filesystem::create_directories(taken / "three");
  dir.Write("taken/three/summary.json",
            R"({"kind": "RunSummary", "scenario": {"name": "other", "file": "o.yaml"}})");
  const CliResult refused = Cli({"run", path, "--out", taken.string(), "--quiet"});
  EXPECT_EQ(refused.code, kExitBadInput);
  EXPECT_NE(refused.err.find("three holds the results of scenario 'other'"), std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(taken / "one" / "summary.json"));

  // A later run of other designs leaves nothing of the earlier ones.
  dir.Write("s.yaml", Replace(TwoDesigns(), "name: three", "name: many"));
  ASSERT_EQ(Cli({"run", path, "--out", out.string(), "--quiet"}).code, 0);
  EXPECT_FALSE(std::filesystem::exists(out / "three"));
  EXPECT_TRUE(std::filesystem::exists(out / "many" / "summary.json"));
}

TEST(Cli, TheValidScenarioOfTheBrokenTableIsValid) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  const auto path = dir.Write("s.yaml", ValidScenario());
  const CliResult r = Cli({"validate", path.string()});
  EXPECT_EQ(r.code, 0) << r.err;
}

// Manifests() with an HPA on the app's CPU, as document[2] (from line 18).
std::string WithAutoscaler() {
  return Manifests() + R"(---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: app}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app}
  maxReplicas: 5
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
)";
}

// A Knative Service `app` as document[0]: its annotations from line 8.
std::string KnativeManifests() {
  return R"(apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: app}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/window: 60s
    spec:
      containers:
      - image: "app:1"
)";
}

// A KServe InferenceService `app` as document[0] (the predictor's fields
// from line 9).
std::string InferenceServiceManifest() {
  return R"(apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: app
  annotations:
    serving.kserve.io/deploymentMode: Serverless
spec:
  predictor:
    minReplicas: 2
    maxReplicas: 3
    scaleTarget: 4
    model:
      modelFormat: {name: sklearn}
      storageUri: gs://models/app
      resources: {requests: {cpu: "1", memory: 2Gi}}
)";
}

TEST(Cli, BrokenScenariosExitTwoNamingTheFileAndLine) {
  const std::string v = ValidScenario();
  const std::string m = Manifests();
  const std::string h = WithAutoscaler();
  const std::string kv = Replace(v, "- deployment: app", "- knativeService: app");
  const std::string k0 = KnativeManifests();
  const std::string is = InferenceServiceManifest();
  const std::string iv = Replace(v, "- deployment: app", "- inferenceService: app");
  const std::string kn = Replace(k0, "window: 60s", "window: 5s");
  const std::vector<BrokenCase> cases = {
      {"hpa max below min", v, Replace(h, "  maxReplicas: 5", "  minReplicas: 6\n  maxReplicas: 5"),
       "app.yaml:24:", "document[2].spec.maxReplicas: must be at least minReplicas"},
      {"hpa without max", v, Replace(h, "  maxReplicas: 5\n", ""),
       "app.yaml:", "document[2].spec.maxReplicas: is required"},
      {"hpa container resource metric", v, Replace(h, "type: Resource", "type: ContainerResource"),
       "app.yaml:25:",
       "document[2].spec.metrics[0].type: ContainerResource metrics are not simulated yet"},
      {"hpa external metric without a service", v,
       Replace(h,
               "- type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
               "averageUtilization: 50}}",
               "- type: External\n    external: {metric: {name: service_pending_requests, "
               "selector: {matchLabels: {queue: q}}}, target: {type: Value, value: 10}}"),
       "app.yaml:26:", "must be matchLabels: {service: NAME}"},
      {"hpa object of an unknown service", v,
       Replace(h,
               "- type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
               "averageUtilization: 50}}",
               "- type: Object\n    object: {describedObject: {apiVersion: v1, kind: Service, "
               "name: ghost}, metric: {name: requests_per_second}, target: {type: Value, "
               "value: 10}}"),
       "app.yaml:22:", "describes Service default/ghost, which is not among the manifests"},
      {"hpa unknown pods metric", v,
       Replace(h,
               "- type: Resource\n    resource: {name: cpu, target: {type: Utilization, "
               "averageUtilization: 50}}",
               "- type: Pods\n    pods: {metric: {name: bogus}, target: {type: AverageValue, "
               "averageValue: 1}}"),
       "app.yaml:26:", "no pod metric bogus (the model servers offer"},
      {"knative window", kv, kn,
       "app.yaml:8:", "window: invalid value '5s': must be in [6s, 1h0m0s]"},
      {"knative class", kv, Replace(k0, "window: 60s", "class: hpa.autoscaling.knative.dev"),
       "app.yaml:8:", "class 'hpa.autoscaling.knative.dev' is not simulated"},
      {"knative panic threshold", kv,
       Replace(k0, "window: 60s", "panic-threshold-percentage: \"100\""),
       "app.yaml:8:", "must be in [110, 1000]"},
      {"knative max below min", kv,
       Replace(k0, "window: 60s",
               "min-scale: \"3\"\n        autoscaling.knative.dev/max-scale: \"2\""),
       "app.yaml:8:", "max-scale=2 is less than min-scale=3"},
      {"knative container concurrency", kv,
       Replace(k0, "      containers:", "      containerConcurrency: 2000\n      containers:"),
       "app.yaml:10:", "containerConcurrency: out of range"},
      {"knative traffic sum", kv,
       k0 + "  traffic: [{latestRevision: true, percent: 60}, {revisionName: app-00001, "
            "percent: 30}]\n",
       "app.yaml:12:", "Traffic targets sum to 90, want 100"},
      {"knative traffic latestRevision with a name", kv,
       k0 + "  traffic: [{latestRevision: true, revisionName: app-00001, percent: 100}]\n",
       "app.yaml:12:", "may not set revisionName \"app-00001\" when latestRevision is true"},
      {"knative traffic to an unknown revision", kv,
       k0 + "  traffic: [{revisionName: app-00002, percent: 100}]\n",
       "app.yaml:12:", "Knative Service default/app has no revision app-00002"},
      {"knative traffic duplicate tag", kv,
       k0 + "  traffic: [{tag: a, percent: 50}, {tag: a, revisionName: app-00001, percent: "
            "50}]\n",
       "app.yaml:12:", "Multiple definitions for \"a\""},
      {"knative timeline apply reusing a revision name",
       kv + "  timeline:\n  - at: 1m\n    apply: "
            "{inline: {apiVersion: serving.knative.dev/v1, kind: Service, metadata: {name: app}, "
            "spec: {template: {metadata: {name: app-00001}, spec: {containers: [{image: "
            "\"app:2\"}]}}}}}\n",
       k0, "s.yaml:", "a changed template needs a new revision name: app-00001 exists"},
      {"knative timeline apply of an unknown service",
       kv + "  timeline:\n  - at: 1m\n    apply: "
            "{inline: {apiVersion: serving.knative.dev/v1, kind: Service, metadata: {name: other}, "
            "spec: {template: {spec: {containers: [{image: \"app:2\"}]}}}}}\n",
       k0, "s.yaml:20:", "no Knative Service default/other among the scenario's manifests"},
      {"knative timeline traffic to a revision not yet created",
       kv + "  timeline:\n  - at: 1m\n"
            "    apply: {inline: {apiVersion: serving.knative.dev/v1, kind: Service, metadata: "
            "{name: app}, spec: {template: {spec: {containers: [{image: \"app:2\"}]}}, traffic: "
            "[{revisionName: app-00003, percent: 100}]}}}\n",
       k0, "s.yaml:", "Knative Service default/app has no revision app-00003"},
      {"model version of a Deployment",
       Replace(v, "value: 10ms}\n", "value: 10ms}\n    versions: [{storageUri: \"s3://m/2\"}]\n"),
       m, "s.yaml:15:", "a model's version is an InferenceService's: this entry names none"},
      {"empty model version",
       Replace(iv, "value: 10ms}\n", "value: 10ms}\n    versions: [{storageUri: \"\"}]\n"), is,
       "s.yaml:15:", "storageUri: must not be empty"},
      {"canary percent out of range", iv,
       Replace(is, "    minReplicas: 2\n", "    minReplicas: 2\n    canaryTrafficPercent: 120\n"),
       "app.yaml:10:", "canaryTrafficPercent: out of range"},
      {"knative revision name", kv,
       Replace(k0, "    metadata:\n", "    metadata:\n      name: other-00001\n"),
       "app.yaml:", "must have the Service's name followed by '-' as its prefix"},
      {"knative Service beside a v1 Service of its name", kv,
       k0 + "---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\nspec: {selector: "
            "{a: "
            "b}}\n",
       "app.yaml:1:", "needs the v1 Service of its name, which another manifest defines"},
      {"hpa on a knative revision", kv,
       k0 + "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: "
            "{name: "
            "app}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: "
            "app-00001-deployment}\n  maxReplicas: 5\n",
       "app.yaml:17:", "is the revision of Knative Service default/app, which its KPA scales"},
      {"two model servers for a knative revision",
       Replace(kv, "  traffic:",
               "  - deployment: app-00001-deployment\n    serviceTime: {kind: constant, value: "
               "10ms}\n  traffic:"),
       k0, "s.yaml:", "duplicate model server for default/app-00001-deployment"},
      {"isvc min above max", iv, Replace(is, "maxReplicas: 3", "maxReplicas: 1"),
       "app.yaml:9:", "'MinReplicas' cannot be greater than MaxReplicas"},
      {"isvc cpu metric on knative", iv, Replace(is, "scaleTarget: 4", "scaleMetric: cpu"),
       "app.yaml:11:", "[cpu] is not a supported metric (the KPA scales on concurrency or rps"},
      {"isvc target over 100 on an hpa", iv,
       Replace(Replace(is, "Serverless", "RawDeployment"), "scaleTarget: 4", "scaleTarget: 120"),
       "app.yaml:11:", "the target utilization percentage should be a [1-100] integer"},
      {"isvc keda class", iv,
       Replace(is, "deploymentMode: Serverless",
               "deploymentMode: Standard\n    serving.kserve.io/autoscalerClass: keda"),
       "app.yaml:7:", "the keda autoscaler class is not simulated"},
      {"isvc zero concurrency target", iv, Replace(is, "scaleTarget: 4", "scaleTarget: 0"),
       "app.yaml:11:", "must be at least 1: it becomes autoscaling.knative.dev/target"},
      {"isvc model mesh", iv, Replace(is, "Serverless", "ModelMesh"),
       "app.yaml:6:", "ModelMesh is not simulated"},
      {"isvc negative concurrency", iv,
       Replace(is, "scaleTarget: 4", "scaleTarget: 4\n    containerConcurrency: -1"),
       "app.yaml:12:", "parallelism cannot be less than 0"},
      {"node group count outside its sizes",
       Replace(v, "    count: 1\n", "    count: 1\n    autoscaling: {minSize: 2, maxSize: 3}\n"), m,
       "s.yaml:9:", "count must lie in [minSize, maxSize]"},
      {"node group without a max",
       Replace(v, "    count: 1\n", "    count: 1\n    autoscaling: {}\n"), m,
       "s.yaml:9:", "maxSize: required field is missing"},
      {"knative config stable window",
       Replace(kv,
               "  nodePools:", "  knative: {config-autoscaler: {stable-window: 5s}}\n  nodePools:"),
       kn, "s.yaml:6:", "stable-window: invalid value '5s'"},
      {"hpa on ephemeral storage", v, Replace(h, "{name: cpu,", "{name: ephemeral-storage,"),
       "app.yaml:26:",
       "ephemeral-storage is not simulated (the serving layer models cpu and memory usage)"},
      {"hpa target", v,
       Replace(h, "kind: Deployment, name: app}", "kind: Deployment, name: ghost}"),
       "app.yaml:22:", "no Deployment default/ghost among the manifests"},
      {"hpa scale to zero", v, Replace(h, "  maxReplicas: 5", "  minReplicas: 0\n  maxReplicas: 5"),
       "app.yaml:23:", "HPAScaleToZero"},
      {"hpa policy value", v,
       Replace(h, "  maxReplicas: 5",
               "  maxReplicas: 5\n  behavior: {scaleUp: {policies: [{type: Pods, value: 0, "
               "periodSeconds: 15}]}}"),
       "app.yaml:24:", "document[2].spec.behavior.scaleUp.policies[0].value: out of range"},
      {"syntax error", Replace(v, "metadata: {name: t}", "metadata: {name: t"), m, "s.yaml:4:"},
      {"wrong type", Replace(v, "count: 1", "count: many"), m,
       "s.yaml:8:12: spec.nodePools[0].count: expected an integer, got 'many'"},
      {"negative count", Replace(v, "count: 1", "count: -2"), m,
       "s.yaml:8:12: spec.nodePools[0].count: out of range"},
      {"negative rate", Replace(v, "rate: 10", "rate: -10"), m,
       "s.yaml:17:37: spec.traffic[0].arrivals.rate: out of range"},
      {"negative replicas", v, Replace(m, "replicas: 1", "replicas: -1"),
       "app.yaml:5:13: document[0].spec.replicas: out of range"},
      {"unknown field", Replace(v, "duration: 10m", "duration: 10m\n  durration: 5m"), m,
       "s.yaml:6:3: spec.durration: unknown field"},
      {"bad duration", Replace(v, "duration: 10m", "duration: 10"), m,
       "s.yaml:5:13: spec.duration: missing unit"},
      {"bad quantity", Replace(v, "memory: 64Gi", "memory: 64GB"), m,
       "s.yaml:9:37: spec.nodePools[0].allocatable.memory: unknown suffix 'GB'"},
      {"missing manifest file", Replace(v, "file: app.yaml", "file: nope.yaml"), m,
       "s.yaml:11:11: spec.manifests[0].file: ", "nope.yaml: cannot open file: No such file"},
      {"missing profile file",
       Replace(v, "{kind: constant, value: 10ms}", "{kind: profile, file: p.json}"), m,
       "s.yaml:14:40: spec.modelServers[0].serviceTime.file: ",
       "p.json: cannot open file: No such file"},
      {"missing trace file", Replace(v, "{kind: poisson, rate: 10}", "{kind: trace, file: t.csv}"),
       m, "s.yaml:17:35: spec.traffic[0].arrivals.file: ", "t.csv: cannot open file: No such file"},
      {"unknown service", Replace(v, "- service: app", "- service: other"), m,
       "s.yaml:16:14: spec.traffic[0].service: no Service default/other"},
      {"unknown deployment", Replace(v, "- deployment: app", "- deployment: ghost"), m,
       "s.yaml:13:17: spec.modelServers[0].deployment: no Deployment default/ghost"},
      {"duplicate traffic",
       Replace(v, "    arrivals: {kind: poisson, rate: 10}\n",
               "    arrivals: {kind: poisson, rate: 10}\n  - service: app\n"
               "    arrivals: {kind: poisson, rate: 1}\n"),
       m, "s.yaml:18:5: spec.traffic[1]: duplicate traffic for default/app"},
      {"selector mismatch", v, Replace(m, "matchLabels: {app: app}", "matchLabels: {app: x}"),
       "app.yaml:6:13: document[0].spec.selector: selector does not match template labels"},
      {"empty file", "", m, "s.yaml:1:1: file is empty"},
      {"only comments", "# nothing here\n", m, "s.yaml:1:1: file is empty"},
      {"binary garbage",
       std::string("\x7f"
                   "ELF\x02\x01\x01\0\0\0",
                   10),
       m, "s.yaml:1:8: binary data"},
      {"not a mapping", "- just\n- a list\n", m, "s.yaml:1:1: expected a mapping, got a list"},
      {"wrong apiVersion", Replace(v, "platsim.dev/v1alpha1", "platsim.dev/v9"), m,
       "s.yaml:1:13: apiVersion: unsupported"},
      {"two documents", v + "---\n" + v, m, "s.yaml:1:1: expected one Scenario document"},
      {"deep nesting", std::string(50000, '[') + std::string(50000, ']'), m, "s.yaml"},
      {"broken manifest", v, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: [}\n",
       "app.yaml:3:"},
      // Inputs that once hung, crashed or passed validation and then failed.
      {"stray flow comma", "{},", m, "s.yaml:1:3: YAML syntax error"},
      // YAML allows a trailing comma in a flow collection: this parses.
      {"JSON trailing comma", "{\"apiVersion\": \"platsim.dev/v1alpha1\",}\n", m,
       "s.yaml:1:1: kind: required field is missing"},
      {"trailing comma in a manifest", v, "[{\"kind\": \"Service\"}],\n", "app.yaml:1:"},
      {"alias bomb",
       "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, "
       "*a]\n"
       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, "
       "*c, *c, "
       "*c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, "
       "*e, *e, "
       "*e, "
       "*e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
       m, "s.yaml:7:", "more than 4000000 nodes in the file, counting every alias"},
      {"alias to itself", "a: &a [*a]\n", m, "s.yaml:1:8: YAML: alias *a names no anchor"},
      {"surrogate escape", Replace(v, "metadata: {name: t}", "metadata: {name: \"\\ud800\"}"), m,
       "s.yaml:3:", "invalid Unicode character escape"},
      {"escape past U+10FFFF",
       Replace(v, "metadata: {name: t}", "metadata: {name: \"\\U00110000\"}"), m,
       "s.yaml:3:", "invalid Unicode character escape"},
      {"surrogate bytes", Replace(v, "metadata: {name: t}", "metadata: {name: \xed\xa0\x80}"), m,
       "s.yaml:3:18: binary data"},
      {"overlong bytes", Replace(v, "metadata: {name: t}", "metadata: {name: \xe0\x80\xaf}"), m,
       "s.yaml:3:18: binary data"},
      {"bytes past U+10FFFF",
       Replace(v, "metadata: {name: t}", "metadata: {name: \xf4\x90\x80\x80}"), m,
       "s.yaml:3:18: binary data"},
      {"C1 control character", Replace(v, "metadata: {name: t}", "metadata: {name: \xc2\x80}"), m,
       "s.yaml:3:18: YAML syntax error: control characters are not allowed"},
      {"no spec", "apiVersion: platsim.dev/v1alpha1\nkind: Scenario\nmetadata: {name: t}\n", m,
       "s.yaml:1:1: spec: required field is missing", "1 error\n"},
      {"In without values", v,
       Replace(m, "      containers:",
               "      affinity: {nodeAffinity: "
               "{requiredDuringSchedulingIgnoredDuringExecution: "
               "{nodeSelectorTerms: [{matchExpressions: [{key: a, operator: In}]}]}}}\n"
               "      containers:"),
       "app.yaml:10:122: document[0].spec.template.spec.affinity.nodeAffinity."
       "requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]."
       "matchExpressions[0]."
       "values: must be specified for operator In"},
      {"unknown operator", v,
       Replace(m, "      containers:",
               "      affinity: {nodeAffinity: "
               "{preferredDuringSchedulingIgnoredDuringExecution: "
               "[{weight: 5, preference: {matchExpressions: [{key: a, operator: Near}]}}]}}\n"
               "      containers:"),
       "operator: unknown value (got 'Near', expected one of: In, NotIn, Exists, "
       "DoesNotExist, "
       "Gt, Lt)"},
      {"matchFields", v,
       Replace(m, "      containers:",
               "      affinity: {nodeAffinity: "
               "{requiredDuringSchedulingIgnoredDuringExecution: "
               "{nodeSelectorTerms: [{matchFields: [{key: metadata.name, operator: In, values: "
               "[n]}]}]}}}\n      containers:"),
       "matchFields is not simulated yet"},
      {"null nodeSelectorTerms", v,
       Replace(m, "      containers:",
               "      affinity: {nodeAffinity: "
               "{requiredDuringSchedulingIgnoredDuringExecution: "
               "{nodeSelectorTerms: }}}\n      containers:"),
       "nodeSelectorTerms: must have at least one node selector term"},
      {"Exists toleration with a value", v,
       Replace(m, "      containers:",
               "      tolerations: [{key: gpu, operator: Exists, value: x}]\n      "
               "containers:"),
       "app.yaml:10:21: document[0].spec.template.spec.tolerations[0].value: must be empty "
       "when "
       "operator is Exists"},
      {"taint without effect",
       Replace(v, "    count: 1\n", "    count: 1\n    taints: [{key: gpu}]\n"), m,
       "s.yaml:9:14: spec.nodePools[0].taints[0].effect: required field is missing"},
      {"newline in a value", Replace(v, "- service: app", "- service: \"a\\nb\""), m,
       "s.yaml:16:14: spec.traffic[0].service: no Service default/a\\nb among the "
       "manifests"},
      {"error rate above 1",
       Replace(v, "    serviceTime: {kind: constant, value: 10ms}\n",
               "    serviceTime: {kind: constant, value: 10ms}\n    errorRate: 2\n"),
       m, "s.yaml:15:16: spec.modelServers[0].errorRate: out of range"},
      {"version without an image",
       Replace(v, "    serviceTime: {kind: constant, value: 10ms}\n",
               "    serviceTime: {kind: constant, value: 10ms}\n    versions: [{modelLoad: 5s}]\n"),
       m, "s.yaml:15:", "spec.modelServers[0].versions[0].image: required field is missing"},
      {"two versions of one image",
       Replace(v, "    serviceTime: {kind: constant, value: 10ms}\n",
               "    serviceTime: {kind: constant, value: 10ms}\n    versions: [{image: a}, "
               "{image: a}]\n"),
       m, "s.yaml:15:", "a second version of image a"},
      // The timeline, from line 18.
      {"timeline after the end",
       v + "  timeline:\n  - at: 10m\n    scale: {deployment: app, replicas: 2}\n", m,
       "s.yaml:19:9: spec.timeline[0].at: is at or after the end of the run"},
      {"timeline on an unknown Deployment",
       v + "  timeline:\n  - at: 1m\n    scale: {deployment: ghost, replicas: 2}\n", m,
       "s.yaml:20:",
       "spec.timeline[0].scale.deployment: no Deployment default/ghost among the scenario's "
       "manifests"},
      {"timeline entry of two actions",
       v + "  timeline:\n  - at: 1m\n    scale: {deployment: app, replicas: 2}\n    undo: "
           "{deployment: app}\n",
       m,
       "s.yaml:19:5: spec.timeline[0]: needs exactly one of apply, scale, undo, fail, recover, "
       "promote, abort or traffic"},
      {"timeline failure of an unknown node",
       v + "  timeline:\n  - at: 1m\n    fail: {node: pool-7}\n", m,
       "s.yaml:20:18: spec.timeline[0].fail.node: no node pool-7"},
      {"a node failing twice",
       v + "  timeline:\n  - at: 1m\n    fail: {node: pool-0}\n  - at: 2m\n    fail: {node: "
           "pool-0}\n",
       m,
       "s.yaml:22:18: spec.timeline[1].fail.node: node pool-0 is already down at 2m0s (since "
       "1m0s)"},
      {"a node recovering that is not down",
       v + "  timeline:\n  - at: 1m\n    recover: {node: pool-0}\n", m,
       "s.yaml:20:21: spec.timeline[0].recover.node: node pool-0 is not down at 1m0s"},
      {"a zone without nodes", v + "  timeline:\n  - at: 1m\n    fail: {zone: mars-1a}\n", m,
       "s.yaml:20:18: spec.timeline[0].fail.zone: no node pool in zone mars-1a"},
      {"a GPU fault beyond the node's GPUs",
       v + "  timeline:\n  - at: 1m\n    fail: {node: pool-0, gpus: 2}\n", m,
       "s.yaml:20:32: spec.timeline[0].fail.gpus: is more than the node's 1 GPUs"},
      {"a traffic change for a Service without traffic",
       v + "  timeline:\n  - at: 1m\n    traffic: {service: other, arrivals: {kind: poisson, "
           "rate: 1}}\n",
       m, "s.yaml:20:24: spec.timeline[0].traffic.service: no traffic entry for default/other"},
      {"random failures of an unknown pool",
       v + "  failures:\n  - {pool: gpu, mtbf: 100h, repair: 1h}\n", m,
       "s.yaml:19:12: spec.failures[0].pool: no node pool gpu"},
      {"tolerationSeconds without NoExecute", v,
       Replace(m, "      containers:",
               "      tolerations: [{key: gpu, operator: Exists, tolerationSeconds: 5}]\n"
               "      containers:"),
       "app.yaml:10:", "effect must be 'NoExecute' when `tolerationSeconds` is set"},
      {"timeline apply of a Service",
       v + "  timeline:\n  - at: 1m\n    apply: {inline: {apiVersion: v1, kind: Service, "
           "metadata: {name: app}, spec: {selector: {app: app}}}}\n",
       m,
       "s.yaml:20:12: spec.timeline[0].apply: a timeline apply takes Deployments, Rollouts, "
       "Knative Services and InferenceServices in Knative mode only"},
      // Argo Rollouts and their analysis, from line 18 of app.yaml.
      {"an analysis condition that does not parse", v,
       Replace(m + kRollout, "result[0] >= 0.9", "result[0] >="),
       "app.yaml:41:", "document[3].spec.metrics[0].successCondition: does not parse: column 13"},
      {"an analysis query that does not parse", v, Replace(m + kRollout, "[1m]))'", "[1m])'"),
       "app.yaml:42:", "document[3].spec.metrics[0].provider.prometheus.query: does not parse"},
      {"an analysis template that does not exist", v,
       Replace(m + kRollout, "templateName: rate", "templateName: ghost"),
       "app.yaml:33:", "no AnalysisTemplate default/ghost among the manifests"},
      {"an unknown canary step", v, Replace(m + kRollout, "- setWeight: 50", "- setWeigth: 50"),
       "app.yaml:32:", "unknown step setWeigth"},
      {"a provider other than prometheus", v,
       Replace(m + kRollout, "{prometheus: {query: 'sum(rate(platsim_requests_total[1m]))'}}",
               "{datadog: {query: x}}"),
       "app.yaml:42:", "datadog provider is not simulated"},
      {"timeline promote of an unknown Rollout",
       v + "  timeline:\n  - at: 1m\n    promote: {rollout: ghost}\n", m + kRollout,
       "s.yaml:20:", "no Rollout default/ghost among the scenario's manifests"},
      // Deployment strategies (ValidateDeploymentSpec), from line 6 of app.yaml.
      {"maxSurge and maxUnavailable both 0", v,
       Replace(m, "  replicas: 1\n",
               "  replicas: 1\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n"),
       "app.yaml:6:", "maxUnavailable: may not be 0 when `maxSurge` is 0"},
      {"rollingUpdate with Recreate", v,
       Replace(m, "  replicas: 1\n",
               "  replicas: 1\n  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n"),
       "app.yaml:6:", "may not be specified when strategy `type` is 'Recreate'"},
      {"maxUnavailable over 100%", v,
       Replace(m, "  replicas: 1\n",
               "  replicas: 1\n  strategy: {rollingUpdate: {maxUnavailable: 150%}}\n"),
       "app.yaml:6:", "maxUnavailable: must not be greater than 100%"},
      {"maxSurge not a number", v,
       Replace(m, "  replicas: 1\n",
               "  replicas: 1\n  strategy: {rollingUpdate: {maxSurge: lots}}\n"),
       "app.yaml:6:", "maxSurge: must be an integer >= 0 or a percent like \"25%\" (got 'lots')"},
      {"progress deadline within minReadySeconds", v,
       Replace(m, "  replicas: 1\n",
               "  replicas: 1\n  minReadySeconds: 30\n  progressDeadlineSeconds: 20\n"),
       "app.yaml:7:", "progressDeadlineSeconds: must be greater than minReadySeconds"},
      // Designs, from line 18.
      {"design changing the seed", v + "  designs:\n  - name: a\n    spec: {seed: 3}\n", m,
       "s.yaml:20:18: spec.designs[0].spec.seed: a design cannot change the seed"},
      {"design name not a label", v + "  designs:\n  - name: Big_one\n", m,
       "s.yaml:19:11: spec.designs[0].name: 'Big_one' is not a DNS-1123 label"},
      {"design named twice", v + "  designs:\n  - name: a\n  - name: a\n", m,
       "s.yaml:20:11: spec.designs[1].name: design 'a' is named twice"},
      {"no designs", v + "  designs: []\n", m,
       "s.yaml:18:12: spec.designs: must name at least one design"},
      {"design spec not a mapping", v + "  designs:\n  - name: a\n    spec: [1]\n", m,
       "s.yaml:20:11: spec.designs[0].spec: expected a mapping"},
      {"unknown field of a design", v + "  designs:\n  - name: a\n    replicas: 2\n", m,
       "s.yaml:20:5: spec.designs[0].replicas: unknown field"},
      // A problem of one design names it; one of the common part does not.
      {"a problem of one design",
       Replace(v, "rate: 10}", "rate: -1}") +
           "  designs:\n  - name: a\n  - name: b\n    spec:\n      traffic:\n      - "
           "service: "
           "ghost\n        arrivals: {kind: poisson, rate: 1}\n",
       m,
       "s.yaml:23:18: spec.traffic[0].service: no Service default/ghost among the "
       "manifests "
       "(in design b)\n",
       // b replaces the traffic list, so the common part's bad rate is a's.
       "s.yaml:17:37: spec.traffic[0].arrivals.rate: out of range (got -1, expected 1e-09 "
       "to "
       "1e+09) (in design a)\n"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    dir.Write("app.yaml", c.manifests);
    const auto path = dir.Write("s.yaml", c.scenario);
    for (const char* command : {"validate", "run"}) {
      std::vector<std::string> args = {command, path.string()};
      if (std::string(command) == "run") {
        args.insert(args.end(), {"--out", (dir.path() / "out").string(), "--quiet"});
      }
      const CliResult r = Cli(args);
      EXPECT_EQ(r.code, kExitBadInput) << c.name << " (" << command << ")\n" << r.err;
      EXPECT_NE(r.err.find(c.expected), std::string::npos)
          << c.name << " (" << command << "): expected '" << c.expected << "' in:\n"
          << r.err;
      EXPECT_NE(r.err.find(c.also), std::string::npos)
          << c.name << " (" << command << "): expected '" << c.also << "' in:\n"
          << r.err;
      EXPECT_TRUE(EveryLineNamesAFileAndLine(r.err)) << c.name << " (" << command << ")\n" << r.err;
    }
  }
}

// The longest duration any field accepts (sim::kMaxDuration).
constexpr const char* kLongest = "277777h46m40s";

struct ExtremeCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> scenario_edits, manifest_edits;
  // Checks one run's metrics of default/app; empty if exit 0 is the point.
  std::function<void(const nlohmann::json&)> check;
};

// Every field at the largest value the loader accepts: the run ends with
// exit 0 and the numbers say what that value means (a timeout that never
// fires times nothing out; a model that never loads serves nothing).
TEST(Cli, TheLargestAcceptedValuesRunWithoutOverflow) {
  const std::string longest = kLongest;
  const std::string server = "serviceTime: {kind: constant, value: 10ms}";
  const std::string container = "- {name: s, image: \"app:1\"}";
  const std::vector<ExtremeCase> cases = {
      {"modelLoad",
       {{server, server + "\n    modelLoad: " + longest}},
       {},
       [](const nlohmann::json& m) {
         EXPECT_GT(m["arrived"].get<double>(), 0);
         EXPECT_EQ(m["completed"], 0);
         EXPECT_EQ(m["dropped"], m["arrived"]);
         EXPECT_GT(m["dropped_not_loaded"].get<double>(), 0);
       }},
      {"traffic timeout",
       {{"  - service: app\n", "  - service: app\n    timeout: " + longest + "\n"}},
       {},
       [](const nlohmann::json& m) {
         EXPECT_GT(m["completed"].get<double>(), 0);
         EXPECT_EQ(m["timed_out"], 0);
       }},
      {"queueTimeout",
       {{server, server + "\n    queueTimeout: " + longest}},
       {},
       [](const nlohmann::json& m) {
         EXPECT_GT(m["completed"].get<double>(), 0);
         EXPECT_EQ(m["timed_out"], 0);
       }},
      {"imagePull",
       {{server, server + "\n    imagePull: " + longest}},
       {},
       [](const nlohmann::json& m) {
         EXPECT_EQ(m["completed"], 0);
         EXPECT_EQ(m["dropped_no_endpoint"], m["arrived"]);
       }},
      {"constant service time", {{"value: 10ms", "value: " + longest}}, {}, {}},
      {"exponential service time",
       {{"{kind: constant, value: 10ms}", "{kind: exponential, mean: " + longest + "}"}},
       {},
       [](const nlohmann::json& m) { EXPECT_EQ(m["completed"], 0); }},
      {"maxQueueDelay",
       {{server, server + "\n    maxBatchSize: 4\n    maxQueueDelay: " + longest}},
       {},
       [](const nlohmann::json& m) { EXPECT_GT(m["completed"].get<double>(), 0); }},
      {"probes",
       {},
       {{container, container.substr(0, container.size() - 1) +
                        ", readinessProbe: {initialDelaySeconds: 1000000000, periodSeconds: "
                        "1000000000, successThreshold: 1000000}}"}},
       [](const nlohmann::json& m) { EXPECT_EQ(m["ready_replicas_final"], 0); }},
      {"grace period",
       {},
       {{"    spec:\n      containers:",
         "    spec:\n      terminationGracePeriodSeconds: 1000000000\n      containers:"}},
       {}},
      {"API latency",
       {{"duration: 10m", "duration: 10m\n  apiServer: {requestLatency: " + longest + "}"}},
       {},
       [](const nlohmann::json& m) { EXPECT_EQ(m["ready_replicas_final"], 0); }},
      {"burst at the end of time",
       {{"{kind: poisson, rate: 10}",
         "{kind: bursts, rate: 10, bursts: [{at: 277777h46m39s, "
         "duration: 1s, rate: 20}]}"}},
       {},
       {}},
      {"rarest arrivals", {{"rate: 10", "rate: 1e-9"}}, {}, {}},
      {"longest run",
       {{"duration: 10m", "duration: " + longest + "\n  sampleInterval: " + longest},
        {"rate: 10", "rate: 1e-9"}},
       {},
       {}},
      {"largest cpu",
       {{"cpu: \"8\"", "cpu: 1T"}},
       {{container, container.substr(0, container.size() - 1) +
                        ", resources: {requests: {cpu: 1T, memory: 1Pi}}}"}},
       [](const nlohmann::json& m) { EXPECT_EQ(m["ready_replicas_final"], 0); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string scenario = Replace(ValidScenario(), "duration: 10m", "duration: 1m");
    std::string manifests = Manifests();
    for (const auto& [from, to] : c.scenario_edits) {
      ASSERT_NE(scenario.find(from == "duration: 10m" ? "duration: 1m" : from), std::string::npos);
      scenario = Replace(scenario, from == "duration: 10m" ? "duration: 1m" : from, to);
    }
    for (const auto& [from, to] : c.manifest_edits) {
      ASSERT_NE(manifests.find(from), std::string::npos) << from;
      manifests = Replace(manifests, from, to);
    }
    TempDir dir;
    dir.Write("app.yaml", manifests);
    const auto path = dir.Write("s.yaml", scenario);
    const CliResult r =
        Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--quiet"});
    ASSERT_EQ(r.code, 0) << r.err << "\n" << scenario << manifests;
    if (c.check) {
      const auto summary = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
      c.check(summary["runs"][0]["services"]["default/app"]);
    }
  }
}

TEST(Cli, ValuesPastTheLargestAreRefusedWithTheRange) {
  const std::string server = "serviceTime: {kind: constant, value: 10ms}";
  const std::vector<BrokenCase> cases = {
      {"modelLoad", Replace(ValidScenario(), server, server + "\n    modelLoad: 277777h46m41s"),
       Manifests(), "s.yaml:15:16: spec.modelServers[0].modelLoad: out of range",
       "at most 277777h46m40s"},
      {"node cpu", Replace(ValidScenario(), "cpu: \"8\"", "cpu: 2T"), Manifests(),
       "s.yaml:9:24: spec.nodePools[0].allocatable.cpu: out of range",
       "expected 0 to 1000000000000)"},
      {"burst past the end of time",
       Replace(ValidScenario(), "{kind: poisson, rate: 10}",
               "{kind: bursts, rate: 1, bursts: [{at: 277777h46m40s, duration: 1s, rate: 2}]}"),
       Manifests(), "spec.traffic[0].arrivals.bursts[0].duration: the burst ends past"},
      {"pod resources adding up past a node's", ValidScenario(),
       Replace(Manifests(), "- {name: s, image: \"app:1\"}",
               "- {name: s, image: \"app:1\", resources: {requests: {cpu: 1T}}}\n"
               "      - {name: t, image: \"app:1\", resources: {requests: {cpu: 1T}}}"),
       "app.yaml:11:7: document[0].spec.template.spec.containers: the containers' resources add "
       "up past"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    dir.Write("app.yaml", c.manifests);
    const auto path = dir.Write("s.yaml", c.scenario);
    const CliResult r = Cli({"validate", path.string()});
    EXPECT_EQ(r.code, kExitBadInput) << c.name << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << "\n" << r.err;
    EXPECT_NE(r.err.find(c.also), std::string::npos) << c.name << "\n" << r.err;
  }
}

TEST(Cli, FlagsOutOfRangeAreErrorsNotClamped) {
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"run", Quickstart(), "--seed", "99999999999999999999"},
       "--seed: out of range (got '99999999999999999999', expected an integer from 0 to "
       "9223372036854775807)"},
      {{"run", Quickstart(), "--seed", "9223372036854775808"}, "--seed: out of range"},
      {{"run", Quickstart(), "--seed", "-1"}, "--seed: invalid"},
      {{"run", Quickstart(), "--seed", "1.5"}, "--seed: invalid"},
      {{"run", Quickstart(), "--seed", ""}, "--seed: invalid"},
      {{"run", Quickstart(), "--duration", ""}, "--duration: empty duration"},
      {{"run", Quickstart(), "--duration", "277777h46m41s"},
       "--duration: out of range (got '277777h46m41s', expected longer than the scenario's "
       "warm-up of 10m0s, at least 1ms and at most 277777h46m40s)"},
      {{"frobnicate", Quickstart()}, "platsim: unknown command 'frobnicate'"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    std::vector<std::string> args = c.args;
    args.insert(args.end(), {"--out", dir.path().string()});
    if (args[0] != "run") args.resize(2);
    const CliResult r = Cli(args);
    EXPECT_EQ(r.code, kExitBadInput) << c.expected << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "summary.json")) << c.expected;
  }
}

TEST(Cli, KindsOfOtherApiGroupsAreNotSimulatedYet) {
  TempDir dir;
  dir.Write("app.yaml", Manifests() +
                            "---\napiVersion: argoproj.io/v1alpha1\nkind: Experiment\n"
                            "metadata: {name: chat}\nspec: {duration: 1h}\n");
  const auto path = dir.Write("s.yaml", ValidScenario());
  const CliResult r = Cli({"validate", path.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.err.find("app.yaml:18:1: warning: document[2]: Experiment of argoproj.io/v1alpha1 is not "
                 "simulated yet; the object is ignored"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("expected v1"), std::string::npos) << "says what to change: " << r.err;
}

CliResult CliWith(std::vector<std::string> args, const CliContext& ctx) {
  args.insert(args.begin(), "platsim");
  std::ostringstream out, err;
  const int code = RunCli(args, out, err, ctx);
  return {code, out.str(), err.str()};
}

bool AnyPartialFile(const std::filesystem::path& dir) {
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".partial") return true;
  }
  return false;
}

TEST(Cli, AnInterruptedRunWritesWhatItMeasuredMarkedIncomplete) {
  TempDir dir;
  volatile std::sig_atomic_t signal = SIGTERM;  // as if it arrived at once
  CliContext ctx;
  ctx.signal = &signal;
  const CliResult r = CliWith({"run", Quickstart(), "--out", dir.path().string(), "--duration",
                               "2h", "--replications", "3", "--quiet"},
                              ctx);
  EXPECT_EQ(r.code, 128 + SIGTERM) << r.err;
  EXPECT_NE(r.err.find("platsim: interrupted at "), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "summary.json"));
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["replications_requested"], 3);
  ASSERT_EQ(j["runs"].size(), 1u) << "no run starts after an interrupt";
  EXPECT_EQ(j["runs"][0]["complete"], false);
  EXPECT_EQ(j["runs"][0]["stopped_because"], "interrupted");
  EXPECT_LT(j["runs"][0]["simulated_s"].get<double>(), 7200.0);
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "timeseries.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "events.jsonl"));
  EXPECT_FALSE(AnyPartialFile(dir.path()));
}

TEST(Cli, AnOverloadedRunStopsAtItsMemoryBudget) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  const auto path = dir.Write(
      "s.yaml", Replace(Replace(WithoutClientTimeout(ValidScenario()), "rate: 10", "rate: 1000"),
                        "duration: 10m", "duration: 1000h"));
  const CliResult r =
      Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--max-memory", "1Mi"});
  EXPECT_EQ(r.code, kExitInternal) << r.err;
  EXPECT_NE(r.err.find("stopped early at "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("memory budget: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("default/app holds "), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  EXPECT_EQ(j["complete"], false);
  const auto& run = j["runs"][0];
  EXPECT_NE(run["stopped_because"].get<std::string>().find("memory budget"), std::string::npos);
  // 1 MiB holds 8192 requests; 1000/s against a capacity of 100/s passes
  // that within about 9 s.
  EXPECT_GT(run["simulated_s"].get<double>(), 5.0);
  EXPECT_LT(run["simulated_s"].get<double>(), 60.0);
  EXPECT_GT(run["services"]["default/app"]["in_flight_at_end"].get<double>(), 8192.0);
}

TEST(Cli, AnotherScenariosResultsAreReplacedOnlyWithForce) {
  TempDir dir;
  const std::string out = (dir.path() / "out").string();
  ASSERT_EQ(Cli({"run", Quickstart(), "--out", out, "--duration", "30m", "--quiet"}).code, 0);
  const std::string before = ReadFile(dir.path() / "out/timeseries.csv");
  dir.Write("app.yaml", Manifests());
  const auto path = dir.Write("s.yaml", ValidScenario());
  const CliResult refused = Cli({"run", path.string(), "--out", out, "--quiet"});
  EXPECT_EQ(refused.code, kExitBadInput);
  EXPECT_NE(refused.err.find("holds the results of scenario 'quickstart'"), std::string::npos)
      << refused.err;
  EXPECT_EQ(ReadFile(dir.path() / "out/timeseries.csv"), before);
  // The same scenario again replaces every file of the earlier run.
  ASSERT_EQ(Cli({"run", Quickstart(), "--out", out, "--duration", "20m", "--quiet"}).code, 0);
  EXPECT_NE(ReadFile(dir.path() / "out/timeseries.csv"), before);
  const CliResult forced = Cli({"run", path.string(), "--out", out, "--quiet", "--force"});
  EXPECT_EQ(forced.code, 0) << forced.err;
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  EXPECT_EQ(j["scenario"]["name"], "t");
  EXPECT_EQ(ReadFile(dir.path() / "out/timeseries.csv").find("quickstart"), std::string::npos);
}

TEST(Cli, AFullDiskEndsTheRunWithTheFileAndReason) {
  TempDir dir;
  std::filesystem::create_symlink("/dev/full", dir.path() / "events.jsonl.partial");
  const CliResult r =
      Cli({"run", Quickstart(), "--out", dir.path().string(), "--duration", "30m", "--quiet"});
  EXPECT_EQ(r.code, kExitInternal);
  EXPECT_NE(r.err.find("events.jsonl.partial: write failed: No space left on device"),
            std::string::npos)
      << r.err;
  for (const auto& name : {"summary.json", "timeseries.csv", "events.jsonl"})
    EXPECT_FALSE(std::filesystem::exists(dir.path() / name)) << name;
}

// The real binary, sent a real SIGINT part-way through a long run.
TEST(Cli, SigintStopsTheRunAtTheNextEventAndExits130) {
  TempDir dir;
  const std::string out = (dir.path() / "out").string();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::execl(PLATSIM_BINARY, PLATSIM_BINARY, "run", Quickstart().c_str(), "--out", out.c_str(),
            "--duration", "100000h", "--quiet", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Wait (polling, at most a minute) until the run has written rows.
  const auto partial = dir.path() / "out/timeseries.csv.partial";
  std::error_code ec;
  for (int i = 0; i < 6000 && !(std::filesystem::file_size(partial, ec) > 0 && !ec); ++i)
    ::usleep(10'000);
  ::kill(child, SIGINT);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of stopping";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["runs"][0]["stopped_because"], "interrupted");
  EXPECT_FALSE(AnyPartialFile(dir.path() / "out"));
}

// What upstream accepts, platsim accepts: a null required affinity is no
// requirement; an empty toleration operator is Equal.
TEST(Cli, PlacementReadsAsUpstreamDefaultsIt) {
  TempDir dir;
  dir.Write(
      "app.yaml",
      Replace(Manifests(), "      containers:",
              "      affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
              "null}}\n      tolerations: [{key: a, operator: \"\", value: b}]\n"
              "      containers:"));
  const auto path = dir.Write("s.yaml", ValidScenario());
  const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--quiet",
                           "--duration", "1m"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  EXPECT_EQ(j["runs"][0]["services"]["default/app"]["ready_replicas_final"], 1);
}

// A GPU pool tainted and labelled as GPU platforms do, a cpu pool beside
// it: pods that select and tolerate the GPU nodes land only there.
TEST(Cli, PodsLandWhereTheirSelectorAndTolerationsAllow) {
  TempDir dir;
  dir.Write("app.yaml",
            Replace(Replace(Manifests(), "replicas: 1", "replicas: 6"), "      containers:",
                    "      nodeSelector: {nvidia.com/gpu.product: H100}\n"
                    "      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: "
                    "NoSchedule}]\n      containers:"));
  const auto path = dir.Write(
      "s.yaml", Replace(ValidScenario(), "  - name: pool\n    count: 1\n",
                        "  - name: cpu\n    count: 4\n    allocatable: {cpu: \"64\", memory: "
                        "512Gi}\n  - name: gpu\n    count: 2\n    labels: "
                        "{nvidia.com/gpu.product: H100}\n    taints: [{key: nvidia.com/gpu, "
                        "value: present, effect: NoSchedule}]\n"));
  const CliResult r =
      Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  int scheduled = 0;
  std::istringstream events(ReadFile(dir.path() / "out/events.jsonl"));
  for (std::string line; std::getline(events, line);) {
    const auto e = nlohmann::json::parse(line);
    if (e["reason"] != "Scheduled") continue;
    ++scheduled;
    EXPECT_EQ(e["node"].get<std::string>().rfind("gpu-", 0), 0u) << line;
  }
  EXPECT_EQ(scheduled, 6);
}

// Every count of summary.json is over the requests that arrived inside
// the window, so they add up; throughput is what completed inside it. Here
// 100/s arrive for the first minute only (the warm-up) at a server that
// does 20/s, with no timeout: the measured window (1m to 2m) sees no
// arrival, while the server works through the warm-up's backlog all the
// while, one 50 ms batch after another: 1,200 completions, 20/s.
TEST(Cli, CountsAddUpOverTheWindowAndThroughputIsWhatCompletedInIt) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  const std::string server = "serviceTime: {kind: constant, value: 10ms}";
  const auto path = dir.Write(
      "s.yaml", Replace(Replace(Replace(WithoutClientTimeout(ValidScenario()), server,
                                        "serviceTime: {kind: constant, value: 50ms}"),
                                "{kind: poisson, rate: 10}",
                                "{kind: steps, steps: [{at: 0s, rate: 100}, {at: 1m, rate: 0}]}"),
                        "duration: 10m", "duration: 2m\n  warmup: 1m"));
  const CliResult r =
      Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--quiet"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  const auto& m = j["runs"][0]["services"]["default/app"];
  EXPECT_EQ(m["arrived"], 0);
  EXPECT_EQ(m["in_flight_at_end"], 0) << "warm-up arrivals are not in the window's counts";
  EXPECT_NEAR(m["throughput_rps"].get<double>(), 20.0, 1.0 / 60.0);

  // And overloaded throughout (100/s against 20/s, FIFO, nothing dropped or
  // timed out): the warm-up leaves about 4,800 queued, which take the
  // server 240 s, so no request of the window completes within it and
  // every one of them is still in flight at the end.
  const auto over =
      dir.Write("o.yaml", Replace(Replace(Replace(WithoutClientTimeout(ValidScenario()), server,
                                                  "serviceTime: {kind: constant, value: 50ms}"),
                                          "rate: 10", "rate: 100"),
                                  "duration: 10m", "duration: 2m\n  warmup: 1m"));
  ASSERT_EQ(Cli({"run", over.string(), "--out", (dir.path() / "o").string(), "--quiet"}).code, 0);
  const auto k = nlohmann::json::parse(ReadFile(dir.path() / "o/summary.json"));
  const auto& n = k["runs"][0]["services"]["default/app"];
  EXPECT_EQ(n["completed"], 0);
  EXPECT_EQ(n["timed_out"], 0);
  EXPECT_EQ(n["dropped"], 0);
  EXPECT_EQ(n["in_flight_at_end"], n["arrived"]) << "not the warm-up's backlog too";
  EXPECT_NEAR(n["arrived"].get<double>(), 6000.0, 4 * std::sqrt(6000.0));  // Poisson, 4 sigma
}

// Warnings for what makes results meaningless without being an error,
// each with its file and line; validate still passes.
// An HPA on pods whose server uses no CPU would only ever scale down.
TEST(Cli, ValidateWarnsOfAnHpaOnPodsThatUseNoCpu) {
  TempDir dir;
  dir.Write("app.yaml", WithAutoscaler());
  const auto path = dir.Write("s.yaml", ValidScenario());
  const CliResult r = Cli({"validate", path.string()});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.err.find("app.yaml:22:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("uses no CPU (cpuBase and cpuPerRequest are 0)"), std::string::npos)
      << r.err;
  // On memory: pods that request none, a server with no memory model.
  dir.Write("app.yaml", Replace(WithAutoscaler(), "{name: cpu,", "{name: memory,"));
  const CliResult m = Cli({"validate", path.string()});
  EXPECT_EQ(m.code, kExitOk) << m.err;
  EXPECT_NE(m.err.find("app.yaml:22:65: warning: document[2].spec.scaleTargetRef.name: the pods of "
                       "Deployment default/app request no memory"),
            std::string::npos)
      << m.err;
  EXPECT_NE(m.err.find("uses no memory (memoryBase and memoryPerRequest are 0)"), std::string::npos)
      << m.err;
}

TEST(Cli, ValidateWarnsWhereResultsWouldMeanNothing) {
  const std::string profile = R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
 "metadata": {"name": "p"},
 "prefill": {"batchSizes": [1, 2, 4], "tokens": [128, 256, 512],
             "latencySeconds": [[0.01, 0.02, 0.04], [0.02, 0.04, 0.08], [0.04, 0.08, 0.16]]},
 "decode": {"batchSizes": [1, 2, 4], "kvLengths": [128, 256, 512],
            "latencySeconds": [[0.005, 0.006, 0.007], [0.006, 0.007, 0.008], [0.007, 0.008, 0.01]]}}
)";
  struct Case {
    std::string name, scenario, manifests, expected;
  };
  const std::string v = ValidScenario(), m = Manifests();
  const std::vector<Case> cases = {
      {"selector matching no pods", v,
       Replace(m, "spec: {selector: {app: app}}", "spec: {selector: {app: other}}"),
       "app.yaml:13:1: warning: document[1].spec.selector: Service default/app selects no "
       "Deployment's pods: every request to it is dropped (no endpoint)"},
      {"traffic to pods without a model server",
       Replace(
           v,
           "  modelServers:\n  - deployment: app\n    serviceTime: {kind: constant, value: 10ms}\n",
           ""),
       m,
       "app.yaml:13:1: warning: document[1].spec.selector: Service default/app receives traffic, "
       "but the pods it selects (Deployment default/app) have no model server: every request is "
       "refused"},
      {"profile beyond its grid",
       Replace(
           v, "serviceTime: {kind: constant, value: 10ms}",
           "maxBatchSize: 16\n    serviceTime: {kind: profile, file: p.json, promptTokens: 256, "
           "outputTokens: 1000}"),
       m,
       "warning: spec.modelServers[0].serviceTime: used beyond its measured profile: prefill: "
       "batch sizes 1 to 16 (measured 1 to 4); there it follows the fit, whose held-out "
       "relative error is mean "},
  };
  for (const auto& c : cases) {
    TempDir dir;
    dir.Write("app.yaml", c.manifests);
    dir.Write("p.json", profile);
    const auto path = dir.Write("s.yaml", c.scenario);
    const CliResult r = Cli({"validate", path.string()});
    EXPECT_EQ(r.code, 0) << c.name << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << "\n" << r.err;
  }
  // Decode reaches KV lengths 257 to 1256 of a grid measured to 512.
  TempDir dir;
  dir.Write("app.yaml", m);
  dir.Write("p.json", profile);
  const auto path = dir.Write("s.yaml", cases[2].scenario);
  const CliResult r = Cli({"validate", path.string()});
  EXPECT_NE(r.err.find("decode: batch sizes 1 to 16 (measured 1 to 4) and KV lengths 257 to "
                       "1256 (measured 128 to 512)"),
            std::string::npos)
      << r.err;
}

TEST(Cli, ARunSaysOnceWhenServiceTimesAreEstimates) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  dir.Write("p.json", R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
 "metadata": {"name": "p", "estimate": true},
 "batchLatency": [{"batchSize": 1, "latencySeconds": 0.01}]})");
  const auto path = dir.Write("s.yaml", Replace(ValidScenario(), "{kind: constant, value: 10ms}",
                                                "{kind: profile, file: p.json}"));
  const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string(), "--quiet",
                           "--replications", "2", "--duration", "1m"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string note =
      "platsim: note: the service times of default/app are roofline "
      "estimates, not GPU measurements";
  const auto first = r.err.find(note);
  EXPECT_NE(first, std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(note, first + 1), std::string::npos) << "once: " << r.err;
}

TEST(Cli, AMissingScenarioFileExitsTwo) {
  const CliResult r = Cli({"validate", "/nonexistent/scenario.yaml"});
  EXPECT_EQ(r.code, kExitBadInput);
  EXPECT_NE(r.err.find("/nonexistent/scenario.yaml: cannot open file"), std::string::npos) << r.err;
}

TEST(Cli, ValidateAcceptsJsonScenarios) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  const auto path = dir.Write("s.json", R"({"apiVersion": "platsim.dev/v1alpha1",
    "kind": "Scenario", "metadata": {"name": "j"},
    "spec": {"duration": "1m",
      "nodePools": [{"name": "p", "allocatable": {"cpu": "8", "memory": "8Gi"}}],
      "manifests": [{"file": "app.yaml"}],
      "modelServers": [{"deployment": "app", "serviceTime": {"kind": "constant", "value": "5ms"}}],
      "traffic": [{"service": "app", "arrivals": {"kind": "poisson", "rate": 1}}]}})");
  const CliResult r = Cli({"validate", path.string()});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Cli, ProfileCheckReportsTheHeldOutErrorOfEachGrid) {
  TempDir dir;
  // A decode grid of the fit's own form (zero held-out error) and a prefill
  // grid with curvature in batch size (nonzero).
  const auto path = dir.Write("p.json", R"({"apiVersion": "platsim.dev/v1alpha1",
    "kind": "LatencyProfile", "metadata": {"name": "toy"},
    "prefill": {"batchSizes": [1, 2, 4], "tokens": [128, 512],
                "latencySeconds": [[0.010, 0.020], [0.030, 0.040], [0.170, 0.180]]},
    "decode": {"batchSizes": [1, 2, 4], "kvLengths": [128, 512],
               "latencySeconds": [[0.001, 0.002], [0.002, 0.004], [0.004, 0.008]]}})");
  const CliResult r = Cli({"profile", "--check", path.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("decode   extrapolation fit, held-out relative error over 6 points: "
                       "mean 0.00%, max 0.00%"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("prefill  extrapolation fit"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("prefill  extrapolation fit, held-out relative error over 6 points: "
                       "mean 0.00%"),
            std::string::npos)
      << r.out;
  const CliResult bad = Cli({"profile", "--check", (dir.path() / "missing.json").string()});
  EXPECT_EQ(bad.code, kExitBadInput);
}

TEST(Cli, AnEstimatedProfileRunsAndIsLabelledAnEstimateInTheSummary) {
  TempDir dir;
  const std::string profile = (dir.path() / "est.json").string();
  const CliResult est = Cli(
      {"profile", "--estimate", "--model", "llama-3-8b", "--device", "H100-SXM", "--out", profile});
  ASSERT_EQ(est.code, 0) << est.err;
  EXPECT_NE(ReadFile(profile).find("\"estimate\": true"), std::string::npos);
  // Its kernel table gives each kernel's floor from the datasheet: RMSNorm
  // over 4096 x 4096 moves 2 x (2 x 4096^2 + 4096) bytes at H100-SXM's bandwidth.
  std::vector<std::string> errors;
  const auto devices =
      gpu::LoadDeviceCatalogue((SourceDir() / "gpu/catalogue/devices.json").string(), &errors);
  ASSERT_TRUE(devices.has_value());
  double bandwidth = 0;
  for (const auto& d : *devices)
    if (d.name == "H100-SXM") bandwidth = d.memory_bandwidth_gbps * 1e9;
  ASSERT_GT(bandwidth, 0);
  const auto json = nlohmann::json::parse(ReadFile(profile));
  bool found = false;
  for (const auto& k : json.at("kernels")) {
    if (k.at("name") != "rmsnorm") continue;
    found = true;
    EXPECT_DOUBLE_EQ(k.at("floorSeconds").get<double>(),
                     2.0 * (2.0 * 4096 * 4096 + 4096) / bandwidth);
  }
  EXPECT_TRUE(found);
  dir.Write("app.yaml", Manifests());
  const auto scenario = dir.Write(
      "s.yaml", Replace(ValidScenario(), "{kind: constant, value: 10ms}",
                        "{kind: profile, file: est.json, promptTokens: 256, outputTokens: 16}"));
  const std::string out = (dir.path() / "out").string();
  const CliResult run = Cli({"run", scenario.string(), "--out", out, "--quiet"});
  ASSERT_EQ(run.code, 0) << run.err;
  const std::string summary = ReadFile(dir.path() / "out/summary.json");
  EXPECT_NE(summary.find("\"estimate\": true"), std::string::npos) << summary;
  EXPECT_NE(summary.find("roofline estimate"), std::string::npos) << summary;

  const CliResult unknown =
      Cli({"profile", "--estimate", "--model", "llama-3-8b", "--device", "TPU", "--out", profile});
  EXPECT_EQ(unknown.code, kExitBadInput);
  EXPECT_NE(unknown.err.find("known: H100-SXM"), std::string::npos) << unknown.err;
  EXPECT_EQ(Cli({"profile"}).code, kExitBadInput);
}

TEST(Cli, AProfileOverSeveralGpusIsDerivedFromTheMeasuredOneAndLabelled) {
  TempDir dir;
  const std::string measured =
      (SourceDir() / "gpu/profiles/h100-80gb-hbm3/llama-3-8b.json").string();
  const std::string out = (dir.path() / "tp2.json").string();
  const CliResult r = Cli({"profile", "--from", measured, "--tensor-parallel", "2", "--device",
                           "H100-SXM", "--out", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("over 2 GPUs: an estimate"), std::string::npos) << r.out;
  input::Diagnostics diags;
  const auto split = models::ReadLatencyProfile(out, out, diags);
  const auto one = models::ReadLatencyProfile(measured, measured, diags);
  ASSERT_TRUE(split && one);
  EXPECT_EQ(split->tensor_parallel, 2);
  EXPECT_TRUE(split->estimate);
  EXPECT_EQ(split->device_memory_bytes, one->device_memory_bytes);  // of each GPU
  // Each pass is quicker split, but not twice as quick: the activations
  // are whole on each GPU, and the all-reduces are added.
  for (const auto& [b, t] : {std::pair{1, 128}, {16, 4096}}) {
    const double ratio = split->prefill->Seconds(b, t) / one->prefill->Seconds(b, t);
    EXPECT_GT(ratio, 0.5) << b << " x " << t;
    EXPECT_LT(ratio, 0.75) << b << " x " << t;
  }
  EXPECT_EQ(Cli({"profile", "--check", out}).code, kExitOk);

  // Bad requests: exit 2, each saying why.
  const CliResult three = Cli({"profile", "--from", measured, "--tensor-parallel", "3", "--device",
                               "H100-SXM", "--out", out});
  EXPECT_EQ(three.code, kExitBadInput);
  EXPECT_NE(three.err.find("32 attention heads do not divide among 3 GPUs"), std::string::npos)
      << three.err;
  const CliResult one_gpu =
      Cli({"profile", "--from", measured, "--device", "H100-SXM", "--out", out});
  EXPECT_EQ(one_gpu.code, kExitBadInput);
  EXPECT_NE(one_gpu.err.find("--from needs --tensor-parallel"), std::string::npos) << one_gpu.err;
  const auto yaml = dir.Write("p.yaml",
                              "apiVersion: platsim.dev/v1alpha1\nkind: LatencyProfile\n"
                              "batchLatency: [{batchSize: 1, latencySeconds: 0.01}]\n");
  const CliResult not_json = Cli({"profile", "--from", yaml.string(), "--tensor-parallel", "2",
                                  "--device", "H100-SXM", "--out", out});
  EXPECT_EQ(not_json.code, kExitBadInput);
  EXPECT_NE(not_json.err.find("is not JSON"), std::string::npos) << not_json.err;
  const CliResult missing = Cli({"profile", "--from", (dir.path() / "none.json").string(),
                                 "--tensor-parallel", "2", "--device", "H100-SXM", "--out", out});
  EXPECT_EQ(missing.code, kExitBadInput);
}

TEST(Cli, MeasuringWithoutAUsableGpuWritesNothingAndSaysWhy) {
  ::setenv("CUDA_VISIBLE_DEVICES", "", 1);  // hide any device; CUDA reads this as it starts
  TempDir dir;
  const std::string profile = (dir.path() / "p.json").string();
  const CliResult r = Cli({"profile", "--model", "mlp-small", "--out", profile});
  EXPECT_EQ(r.code, kExitInternal);
#ifdef PLATSIM_HAVE_CUDA
  EXPECT_NE(r.err.find("nothing measured, nothing written"), std::string::npos) << r.err;
  const CliResult unknown = Cli({"profile", "--model", "gpt-9", "--out", profile});
  EXPECT_EQ(unknown.code, kExitBadInput);
  EXPECT_NE(unknown.err.find("known: bert-base"), std::string::npos) << unknown.err;
#else
  EXPECT_NE(r.err.find("built without CUDA"), std::string::npos) << r.err;
#endif
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "no profile and no partial file";
  EXPECT_EQ(Cli({"profile", "--model", "mlp-small", "--out", profile, "--repetitions", "5"}).code,
            kExitBadInput)
      << "fewer than 20 repetitions";
}

// A timer with fixed answers: every layer 1 ms, embedding 10 us, head 100 us.
class FixedTimer : public gpu::Timer {
 public:
  gpu::DeviceInfo Device() override { return {.name = "Fixed GPU"}; }
  gpu::Ceilings MeasureCeilings() override {
    return {.copy_bytes = 1e9, .copy = Fixed(1e-3), .gemm_size = 1024, .gemm = Fixed(1e-3)};
  }
  gpu::Timing Layer(gpu::Phase, int, int) override { return Fixed(1e-3); }
  gpu::Timing Embedding(int) override { return Fixed(1e-5); }
  gpu::Timing Head(int) override { return Fixed(1e-4); }
  gpu::Timing Kernel(const gpu::KernelCase&) override { return Fixed(1e-3); }
  static gpu::Timing Fixed(double s) { return gpu::Summarize({s}); }
};

TEST(Cli, AMeasuredProfileIsReadByTheLatencyModelExactlyAtItsGridPoints) {
  TempDir dir;
  std::vector<std::string> errors;
  const auto models =
      gpu::LoadCatalogue((SourceDir() / "gpu/catalogue/models.json").string(), &errors);
  ASSERT_TRUE(models.has_value());
  FixedTimer timer;
  const auto json = gpu::BuildProfile((*models)[1], timer, {"c", "d", 5, 30, {}});
  const auto path = dir.Write("measured.json", json.dump(2));
  input::Diagnostics diags;
  const auto profile = models::ReadLatencyProfile(path, "measured.json", diags);
  ASSERT_TRUE(profile.has_value()) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  EXPECT_FALSE(profile->estimate);
  // Llama: embedding + 32 layers + head at every point.
  EXPECT_DOUBLE_EQ(profile->prefill->Seconds(4, 512), 1e-5 + 32e-3 + 1e-4);
  EXPECT_DOUBLE_EQ(profile->decode->Seconds(64, 2048), 1e-5 + 32e-3 + 1e-4);
  EXPECT_EQ(Cli({"profile", "--check", path.string()}).code, kExitOk);
}

// Every scenario shipped under scenarios/ validates; the H100 one reads the
// profile measured on an H100 (not an estimate), and its results hold
// Little's law (mean requests in the system = arrival rate x mean latency,
// measured apart: one a time average of the pods' gauges, the others counts
// and per-request latencies).
TEST(Cli, TheShippedScenariosValidateAndTheH100OneRunsOnMeasuredServiceTimes) {
  int scenarios = 0;
  for (const auto& e : std::filesystem::directory_iterator(SourceDir() / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    ++scenarios;
    const CliResult r = Cli({"validate", e.path().string()});
    EXPECT_EQ(r.code, kExitOk) << e.path() << ": " << r.err;
  }
  EXPECT_GE(scenarios, 2);
  TempDir dir;
  const std::string out = (dir.path() / "h100").string();
  const CliResult r = Cli({"run", (SourceDir() / "scenarios/embeddings-h100.yaml").string(),
                           "--out", out, "--duration", "6m"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto summary = nlohmann::json::parse(ReadFile(dir.path() / "h100/summary.json"));
  EXPECT_FALSE(summary["modelServers"]["search/embed"]["serviceTimeByGpu"]["NVIDIA-H100-80GB-HBM3"]
                      ["estimate"]
                          .get<bool>());
  const auto& m = summary["services"]["search/embed"]["metrics"];
  const double lambda = m["arrival_rps"].get<double>(), w = m["latency_mean_s"].get<double>();
  EXPECT_NEAR(m["in_system_mean"].get<double>(), lambda * w, 0.05 * lambda * w);
}

// The SuccessfulRescale events of a run in `out`, as (time, new size), each
// checked to carry upstream's message ("New size: N; reason: ...") and the
// same size in its `to` field.
std::vector<std::pair<double, int>> Rescales(const std::filesystem::path& out) {
  std::vector<std::pair<double, int>> rescales;
  std::istringstream events(ReadFile(out / "events.jsonl"));
  for (std::string line; std::getline(events, line);) {
    const auto e = nlohmann::json::parse(line);
    if (e["reason"] != "SuccessfulRescale") continue;
    const std::string message = e["message"];
    const int size = std::stoi(e["to"].get<std::string>());
    EXPECT_EQ(message.rfind("New size: " + std::to_string(size) + "; reason: ", 0), 0u) << message;
    rescales.emplace_back(e["time_s"].get<double>(), size);
  }
  return rescales;
}

// WithAutoscaler() starting from `replicas`, with up to 20, scaling on
// `metric` (one spec.metrics entry) instead of CPU.
std::string ManifestsScalingOn(const std::string& metric, int replicas) {
  const std::string manifests =
      Replace(Replace(WithAutoscaler(), "maxReplicas: 5", "maxReplicas: 20"), "replicas: 1",
              "replicas: " + std::to_string(replicas));
  return Replace(manifests, R"(  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
)",
                 metric);
}

// ValidScenario() on 4 nodes for `duration` with `arrivals`.
std::string ScenarioWith(const std::string& duration, const std::string& arrivals) {
  std::string scenario = Replace(ValidScenario(), "duration: 10m", "duration: " + duration);
  scenario = Replace(scenario, "{kind: poisson, rate: 10}", arrivals);
  return Replace(scenario, "count: 1", "count: 4");
}

// The rows of timeseries.csv in `out` of one series, as column -> text.
std::vector<std::map<std::string, std::string>> SeriesRows(const std::filesystem::path& out,
                                                           const std::string& series) {
  std::istringstream in(ReadFile(out / "timeseries.csv"));
  auto split = [](const std::string& line) {
    std::vector<std::string> cells;
    std::istringstream cells_in(line);
    for (std::string cell; std::getline(cells_in, cell, ',');)
      cells.push_back(cell);
    if (!line.empty() && line.back() == ',') cells.emplace_back();
    return cells;
  };
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    if (cells.size() < 3 || cells[2] != series) continue;
    EXPECT_EQ(cells.size(), header.size()) << line;
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < cells.size() && i < header.size(); ++i)
      row[header[i]] = cells[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

// timeseries.csv's slo_attainment: per interval, the share of the requests
// ended then that met the SLO. With service times of exactly 10 ms at 10
// requests/s on one server, a completed request always meets the 1 s SLO
// and never the 5 ms one, so an interval without lost requests is at 1 or
// 0 (the ones dropped before the pod is ready count as missed).
TEST(Cli, TheTimeSeriesHasEachIntervalsSloAttainment) {
  for (const auto& [slo, want] : {std::pair{"1s", 1.0}, std::pair{"5ms", 0.0}}) {
    TempDir dir;
    dir.Write("app.yaml", Manifests());
    const auto scenario =
        dir.Write("s.yaml", Replace(ValidScenario(), "    arrivals: {kind: poisson, rate: 10}\n",
                                    "    arrivals: {kind: poisson, rate: 10}\n    slo: {latency: " +
                                        std::string(slo) + "}\n"));
    const auto out = dir.path() / "out";
    ASSERT_EQ(Cli({"run", scenario.string(), "--out", out.string(), "--quiet"}).code, kExitOk);
    int rows = 0;
    for (const auto& row : SeriesRows(out, "default/app")) {
      if (row.at("slo_attainment").empty()) continue;  // nothing ended yet
      const bool lost =
          row.at("dropped") != "0" || row.at("timed_out") != "0" || row.at("failed") != "0";
      if (lost) {
        EXPECT_LT(std::stod(row.at("slo_attainment")), 1.0) << row.at("time_s");
        continue;
      }
      EXPECT_EQ(std::stod(row.at("slo_attainment")), want) << row.at("time_s");
      ++rows;
    }
    EXPECT_GE(rows, 8);
  }
}

// For each row of an autoscaler's series, the replicas its events say it
// last set (from `initial`), where no event is within `settle` before the
// row: that is what desired_replicas must read.
void ExpectDesiredReplicasFollowTheEvents(
    const std::vector<std::map<std::string, std::string>>& rows,
    const std::vector<std::pair<double, int>>& changes, int initial, double settle) {
  std::size_t checked = 0;
  for (const auto& row : rows) {
    const double t = std::stod(row.at("time_s"));
    int want = initial;
    bool unsettled = false;
    for (const auto& [at, replicas] : changes) {
      if (at <= t - settle) want = replicas;
      if (at > t - settle && at <= t) unsettled = true;
    }
    if (unsettled || row.at("desired_replicas").empty()) continue;
    EXPECT_EQ(std::stoi(row.at("desired_replicas")), want) << "at " << t;
    ++checked;
  }
  EXPECT_GT(checked, rows.size() / 2);
}

std::vector<nlohmann::json> EventsOf(const std::filesystem::path& out, const std::string& kind) {
  std::vector<nlohmann::json> events;
  std::istringstream in(ReadFile(out / "events.jsonl"));
  for (std::string line; std::getline(in, line);) {
    auto e = nlohmann::json::parse(line);
    if (e["kind"] == kind) events.push_back(std::move(e));
  }
  return events;
}

// Runs ScenarioWith(duration, arrivals) with `manifests` (a Knative
// Service `app`) as its model server, whose serviceTime line is replaced by
// `server`, in `dir`; returns the output folder.
std::filesystem::path RunKnative(const TempDir& dir, const std::string& manifests,
                                 const std::string& duration, const std::string& arrivals,
                                 const std::string& server) {
  dir.Write("app.yaml", manifests);
  const std::string scenario = Replace(
      Replace(ScenarioWith(duration, arrivals), "- deployment: app", "- knativeService: app"),
      "    serviceTime: {kind: constant, value: 10ms}", server);
  const auto path = dir.Write("s.yaml", scenario);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

// containerConcurrency holds each pod to that many requests at once
// whoever sends them: the queue-proxy's breaker (queue_proxy.h). With the
// activator out of the path once the two pods of min-scale are ready
// (target-burst-capacity 0 leaves excess burst capacity at 0, serve mode)
// and a server that would batch up to 8, containerConcurrency 1 makes every
// batch one request: occupancy 1/8 exactly. Without it the same traffic
// batches.
TEST(Cli, AKnativeRevisionsContainerConcurrencyHoldsEachPodToItWithoutTheActivator) {
  double occupancy[2] = {0, 0};
  for (const bool limited : {true, false}) {
    TempDir dir;
    std::string manifests = Replace(KnativeManifests(), "autoscaling.knative.dev/window: 60s",
                                    "autoscaling.knative.dev/target-burst-capacity: \"0\"\n"
                                    "        autoscaling.knative.dev/min-scale: \"2\"");
    if (limited) {
      manifests = Replace(manifests,
                          "      containers:", "      containerConcurrency: 1\n      containers:");
    }
    const auto out =
        RunKnative(dir, manifests, "10m", "{kind: poisson, rate: 15}",
                   "    maxBatchSize: 8\n    serviceTime: {kind: constant, value: 100ms}");
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    const auto& m = summary["services"]["default/app"]["metrics"];
    EXPECT_GT(m["completed"].get<double>(), 8000);
    EXPECT_EQ(m["dropped"].get<double>(), 0);
    occupancy[limited ? 0 : 1] = m["batch_occupancy"].get<double>();
    // The activator left the path: most requests never waited in it.
    const auto serve = EventsOf(out, "PodAutoscaler");
    EXPECT_TRUE(std::any_of(serve.begin(), serve.end(),
                            [](const nlohmann::json& e) { return e["reason"] == "Serve"; }));
  }
  EXPECT_EQ(occupancy[0], 1.0 / 8);
  EXPECT_GT(occupancy[1], 1.05 / 8);
}

// A Knative revision's timeoutSeconds bounds its requests in the pod too:
// with 2-second requests, a timeout of 1 s ends every one as timed out at
// 1 s (the queue-proxy's 504), though the client would wait 60 s; 5 s lets
// every one complete.
TEST(Cli, AKnativeRevisionsTimeoutEndsRequestsAlreadyInThePod) {
  for (const bool short_timeout : {true, false}) {
    SCOPED_TRACE(short_timeout);
    TempDir dir;
    const auto out =
        RunKnative(dir,
                   Replace(KnativeManifests(), "      containers:",
                           std::string("      timeoutSeconds: ") + (short_timeout ? "1" : "5") +
                               "\n      containers:"),
                   "5m", "{kind: poisson, rate: 2}",
                   "    maxBatchSize: 64\n    serviceTime: {kind: constant, value: 2s}");
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    const auto& m = summary["services"]["default/app"]["metrics"];
    EXPECT_GT(m["arrived"].get<double>(), 400);
    if (short_timeout) {
      EXPECT_EQ(m["completed"].get<double>(), 0);
      EXPECT_EQ(m["timed_out"].get<double>() + m["in_flight_at_end"].get<double>(),
                m["arrived"].get<double>());
    } else {
      EXPECT_EQ(m["timed_out"].get<double>(), 0);
      EXPECT_GT(m["completed"].get<double>(), 0.95 * m["arrived"].get<double>());
    }
  }
}

// Scale to zero and back, end to end, against the timeline upstream's
// rules give (knative/serving kpa/scaler.go handleScaleToZero, kpa.go
// computeActiveCondition, multiscaler.go Poke):
// - the pod of the initial scale becomes ready (image pulled, model
//   loaded) and the PodAutoscaler turns Active at the next 2-second tick,
//   T; with no traffic the scaler holds 1 pod until it has been active for
//   the 60-second stable window and then marks it inactive; the activator
//   has been in the path all along (excess burst capacity 1 x 100 - 211 < 0),
//   longer than the 30-second grace period, so the scale goes to 0 at
//   T + 60 exactly;
// - the first request (after 5 minutes) is buffered by the activator, whose
//   stat pokes the decider: the scale goes from 0 to 1 at that request's
//   arrival; the pod is ready a model load later (the image is on the
//   node), 5 s plus the control plane's few API round trips, and every
//   buffered request is then served: none is dropped;
// - traffic stops at 6 minutes; the stable window's average reaches 0 one
//   window after the last busy second, and the scale returns to 0 a tick or
//   two later.
TEST(Cli, AKnativeServiceScalesToZeroAndBackAsUpstreamTimesIt) {
  TempDir dir;
  dir.Write("app.yaml", KnativeManifests());
  std::string scenario = Replace(ScenarioWith("10m",
                                              "{kind: steps, steps: [{at: 5m, rate: 5}, "
                                              "{at: 6m, rate: 0}]}"),
                                 "- deployment: app", "- knativeService: app");
  scenario = Replace(scenario,
                     "    serviceTime:", "    imagePull: 10s\n    modelLoad: 5s\n    serviceTime:");
  scenario = Replace(scenario, "count: 4", "count: 1");
  const auto path = dir.Write("s.yaml", scenario);
  for (const char* out : {"a", "b"}) {
    const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / out).string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
  }
  for (const char* file : {"summary.json", "events.jsonl", "timeseries.csv"})
    EXPECT_EQ(ReadFile(dir.path() / "a" / file), ReadFile(dir.path() / "b" / file)) << file;
  const auto out = dir.path() / "a";
  const auto pa = EventsOf(out, "PodAutoscaler");
  std::vector<std::pair<double, std::string>> scaling, activity;
  for (const auto& e : pa) {
    const std::string reason = e["reason"];
    if (reason == "Scaling") scaling.emplace_back(e["time_s"], e["message"]);
    if (reason == "Active" || reason == "NoTraffic" || reason == "Queued")
      activity.emplace_back(e["time_s"], reason);
  }
  ASSERT_EQ(scaling.size(), 3u) << pa.size();
  ASSERT_GE(activity.size(), 4u);
  // The initial pod: Active at a tick after it is ready, then to zero.
  double first_ready = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "PodReady") {
      first_ready = e["time_s"];
      break;
    }
  }
  EXPECT_GT(first_ready, 15.0);  // a 10 s image pull and a 5 s model load
  EXPECT_EQ(activity[0].second, "Active");
  const double active = activity[0].first;
  EXPECT_GE(active, first_ready);
  EXPECT_LT(active, first_ready + 2.0);
  EXPECT_EQ(std::fmod(active, 2.0), 0.0);
  EXPECT_EQ(scaling[0].second, "Scaling from 1 to 0");
  EXPECT_NEAR(scaling[0].first, active + 60.0, 1e-9);
  // From zero at the first request.
  EXPECT_EQ(scaling[1].second, "Scaling from 0 to 1");
  EXPECT_GE(scaling[1].first, 300.0);
  EXPECT_LT(scaling[1].first, 302.0);
  double ready_again = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "PodReady" && e["time_s"].get<double>() > scaling[1].first) {
      ready_again = e["time_s"];
      break;
    }
  }
  EXPECT_GE(ready_again - scaling[1].first, 5.0);
  EXPECT_LT(ready_again - scaling[1].first, 5.2);
  // Back to zero about a window after the last request.
  EXPECT_EQ(scaling[2].second, "Scaling from 1 to 0");
  EXPECT_GT(scaling[2].first, 420.0);
  EXPECT_LT(scaling[2].first, 428.0);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& m = summary["services"]["default/app"]["metrics"];
  EXPECT_GT(m["arrived"].get<double>(), 200.0);
  EXPECT_EQ(m["completed"].get<double>(), m["arrived"].get<double>());
  // The cold start is in the latency users see: the requests of its 5
  // seconds waited most of it.
  EXPECT_GT(m["latency_p99_s"].get<double>(), 3.0);
  EXPECT_LT(m["latency_p50_s"].get<double>(), 0.1);
  // The time series' autoscaler row: the scale last written (the Scaling
  // events'), the default target of 100 x 70% concurrency, panic mode.
  std::vector<std::pair<double, int>> changes;
  for (const auto& [at, message] : scaling)
    changes.emplace_back(at, std::stoi(message.substr(message.rfind(' ') + 1)));
  const auto rows = SeriesRows(out, "PodAutoscaler/default/app-00001");
  ASSERT_EQ(rows.size(), 61u);  // every 10 s of 10 minutes, both ends
  ExpectDesiredReplicasFollowTheEvents(rows, changes, 1, 0.0);
  for (const auto& row : rows) {
    EXPECT_EQ(row.at("metric_target"), "70");
    EXPECT_TRUE(row.at("panic_mode") == "0" || row.at("panic_mode") == "1");
    EXPECT_EQ(row.at("ready_replicas"), "") << "a service column, empty in an autoscaler's row";
  }
  // The PodAutoscaler is the revision's.
  const auto& kpa = summary["autoscalers"]["default/app-00001"]["metrics"];
  EXPECT_EQ(kpa["scales_to_zero"].get<double>(), 2.0);
  EXPECT_EQ(kpa["scales_from_zero"].get<double>(), 1.0);
  EXPECT_EQ(kpa["replicas_final"].get<double>(), 0.0);
  EXPECT_GE(kpa["activator_buffered_requests"].get<double>(), 10.0);
}

// Two Services whose traffic entries share a random stream receive the
// same requests (common random numbers); with streams of their own they do
// not.
TEST(Cli, TrafficEntriesSharingARandomStreamSendTheSameRequests) {
  TempDir dir;
  // Manifests() and the same again as app2.
  std::string second = Manifests();
  for (const char* from :
       {"{name: app}", "{name: app}", "{app: app}", "{app: app}", "{app: app}"}) {
    second =
        Replace(second, from, std::string(from).replace(std::string(from).size() - 1, 1, "2}"));
  }
  dir.Write("app.yaml", Manifests() + "---\n" + second);
  for (const bool shared : {true, false}) {
    std::string scenario = Replace(ValidScenario(), "  traffic:\n", R"(  - deployment: app2
    serviceTime: {kind: constant, value: 10ms}
  traffic:
  - service: app2
    arrivals: {kind: poisson, rate: 10}
)");
    if (shared) {
      scenario = Replace(scenario, "  - service: app\n", "  - service: app\n    randomStream: s\n");
      scenario =
          Replace(scenario, "  - service: app2\n", "  - service: app2\n    randomStream: s\n");
    }
    const auto path = dir.Write("s.yaml", scenario);
    const auto out = dir.path() / (shared ? "shared" : "own");
    const CliResult r = Cli({"run", path.string(), "--out", out.string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    const double a = summary["services"]["default/app"]["metrics"]["arrived"];
    const double b = summary["services"]["default/app2"]["metrics"]["arrived"];
    EXPECT_GT(a, 5000.0);
    if (shared) {
      EXPECT_EQ(a, b);
      const auto rows_a = SeriesRows(out, "default/app"), rows_b = SeriesRows(out, "default/app2");
      ASSERT_EQ(rows_a.size(), rows_b.size());
      for (std::size_t i = 0; i < rows_a.size(); ++i)
        EXPECT_EQ(rows_a[i].at("arrival_rps"), rows_b[i].at("arrival_rps")) << i;
    } else {
      EXPECT_NE(a, b);
    }
  }
}

// KServe's two deployment modes, end to end, as its controller renders them:
// - Serverless: minReplicas 0 becomes min-scale 0, so the predictor's
//   revision scales to zero and back; maxReplicas 3 caps it (max-scale);
// - RawDeployment: a Deployment, a Service and an HPA named app-predictor;
//   minReplicas 0 is raised to 1, and the HPA scales on cpu at scaleTarget
//   50%. Each pod uses 0.1 + 150 x 0.01 = 1.6 of its 1 core at first, 320%
//   of target, so the first rescale asks for ceil(3.2 x 1) = 4, exactly what
//   the legacy scale-up limit max(2 x 1, 4) allows; on 4 pods each uses
//   0.475 cores, 95% of target, inside the tolerance, where it rests.
TEST(Cli, InferenceServicesRenderAsKServeRendersThem) {
  TempDir dir;
  const std::string serverless =
      Replace(Replace(InferenceServiceManifest(), "minReplicas: 2", "minReplicas: 0"),
              "name: app\n", "name: iris\n");
  const std::string raw =
      Replace(Replace(Replace(Replace(InferenceServiceManifest(), "Serverless", "RawDeployment"),
                              "minReplicas: 2", "minReplicas: 0"),
                      "maxReplicas: 3", "maxReplicas: 10"),
              "scaleTarget: 4", "scaleTarget: 50");
  dir.Write("app.yaml", serverless + "---\n" + raw);
  const auto path = dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: kserve}
spec:
  duration: 10m
  nodePools:
  - name: pool
    count: 4
    allocatable: {cpu: "8", memory: 64Gi}
  manifests:
  - file: app.yaml
  modelServers:
  - inferenceService: iris
    serviceTime: {kind: constant, value: 10ms}
    modelLoad: 5s
  - inferenceService: app
    maxConcurrency: 64
    serviceTime: {kind: constant, value: 1ms}
    cpuBase: 100m
    cpuPerRequest: 10ms
    modelLoad: 5s
  traffic:
  - service: iris
    arrivals: {kind: steps, steps: [{at: 3m, rate: 5}, {at: 4m, rate: 0}]}
  - service: app
    arrivals: {kind: poisson, rate: 150}
)");
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& iris = summary["autoscalers"]["default/iris-predictor-00001"]["metrics"];
  EXPECT_GE(iris["scales_to_zero"].get<double>(), 1.0);
  EXPECT_EQ(iris["scales_from_zero"].get<double>(), 1.0);
  EXPECT_LE(iris["replicas_max"].get<double>(), 3.0);
  const auto& m = summary["services"]["default/iris-predictor"]["metrics"];
  EXPECT_EQ(m["completed"].get<double>(), m["arrived"].get<double>());
  bool revision_pods = false;
  for (const auto& e : EventsOf(out, "ReplicaSet"))
    revision_pods |=
        e["object"].get<std::string>().rfind("default/iris-predictor-00001-deployment-", 0) == 0;
  EXPECT_TRUE(revision_pods);
  const auto rescales = Rescales(out);
  ASSERT_FALSE(rescales.empty());
  EXPECT_EQ(rescales.front().second, 4);
  EXPECT_EQ(rescales.back().second, 4);
  const auto& hpa = summary["autoscalers"]["default/app-predictor"]["metrics"];
  EXPECT_EQ(hpa["replicas_final"].get<double>(), 4.0);
  EXPECT_EQ(summary["services"]["default/app-predictor"]["metrics"]["ready_replicas_final"], 4.0);
}

// Runs scenarios/`file` into `dir`/out, quietly, and returns that folder.
std::filesystem::path RunShippedScenario(const TempDir& dir, const std::string& file) {
  const auto out = dir.path() / "out";
  const CliResult r =
      Cli({"run", (SourceDir() / "scenarios" / file).string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

// A scenario running Knative Service `app` of app.yaml for `duration` at
// `rate` Poisson requests a second (10 ms each, a 5 s model load), with
// `timeline` (its entries) and, if not empty, `knative` (spec.knative).
std::string KnativeTimelineScenario(const std::string& duration, int rate,
                                    const std::string& timeline, const std::string& knative = "") {
  std::string scenario = Replace(
      Replace(ScenarioWith(duration, "{kind: poisson, rate: " + std::to_string(rate) + "}"),
              "- deployment: app", "- knativeService: app"),
      "    serviceTime: {kind: constant, value: 10ms}",
      "    serviceTime: {kind: constant, value: 10ms}\n    modelLoad: 5s\n    maxConcurrency: 8");
  if (!knative.empty()) {
    scenario = Replace(scenario, "  manifests:\n", "  knative:\n" + knative + "  manifests:\n");
  }
  return scenario + "  timeline:\n" + timeline;
}

// A Knative Service's new template is a new revision; spec.traffic splits
// requests over revisions (a latestRevision target going to the latest
// ready one); a revision the route no longer names is unreachable, so its
// min-scale no longer holds it and, without traffic, it scales to zero.
TEST(Cli, AKnativeServiceSplitsTrafficOverItsRevisionsAndLetsAnUnroutedOneGo) {
  TempDir dir;
  const std::string manifests = Replace(KnativeManifests(), "window: 60s", "min-scale: \"1\"");
  const std::string v2 = Replace(manifests, "app:1", "app:2");
  dir.Write("half.yaml", v2 + "  traffic: [{revisionName: app-00001, percent: 50}, "
                              "{latestRevision: true, percent: 50}]\n");
  dir.Write("back.yaml", v2 + "  traffic: [{revisionName: app-00001, percent: 100}]\n");
  dir.Write("app.yaml", manifests);
  const auto path = dir.Write(
      "s.yaml", KnativeTimelineScenario("10m", 100,
                                        "  - at: 2m\n    apply: {file: half.yaml}\n  - at: 5m\n"
                                        "    apply: {file: back.yaml}\n"));
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::pair<double, std::string>> splits, ready;
  for (const auto& e : EventsOf(out, "Route"))
    splits.emplace_back(e["time_s"], e["message"]);
  for (const auto& e : EventsOf(out, "Configuration")) {
    if (e["reason"] == "LatestReadyUpdate") ready.emplace_back(e["time_s"], e["message"]);
  }
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].second, "LatestReadyRevisionName updated to \"app-00002\"");
  ASSERT_EQ(splits.size(), 2u);
  // The split once app-00002 is ready, at the same instant.
  EXPECT_EQ(splits[0].first, ready[1].first);
  EXPECT_EQ(splits[0].second, "traffic: app-00001 50%, app-00002 50%");
  EXPECT_NEAR(splits[1].first, 300.0, 0.1);
  EXPECT_EQ(splits[1].second, "traffic: app-00001 100%, app-00002 0%");
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  double second = 0;  // what app-00002 completed
  for (const auto& [key, rev] : summary["revisions"].items()) {
    if (rev["deployment"] == "default/app-00002-deployment") {
      second += rev["metrics"]["completed"].get<double>();
    }
  }
  const double expected = 50 * (300.0 - splits[0].first);
  EXPECT_NEAR(second, expected, 4 * std::sqrt(expected));
  const auto& old_pa = summary["autoscalers"]["default/app-00001"]["metrics"];
  const auto& new_pa = summary["autoscalers"]["default/app-00002"]["metrics"];
  EXPECT_EQ(old_pa["replicas_final"].get<double>(), 1.0);
  EXPECT_EQ(new_pa["replicas_final"].get<double>(), 0.0);
  EXPECT_EQ(new_pa["scales_to_zero"].get<double>(), 1.0);
  // When: once its stable window (60 s) has seen no traffic, at a tick (2
  // s) and the reconcile after it; the activator has been in its path all
  // along (the default target burst capacity of 211 is more than one pod
  // takes), so the grace period of 30 s in proxy mode has long passed.
  double to_zero = 0;
  for (const auto& e : EventsOf(out, "PodAutoscaler")) {
    if (e["object"] == "default/app-00002" && e["message"] == "Scaling from 1 to 0")
      to_zero = e["time_s"];
  }
  EXPECT_GE(to_zero, 300.0 + 60);
  EXPECT_LE(to_zero, 300.0 + 60 + 6);
  const auto& rollout = summary["rollouts"]["default/app"][0];
  EXPECT_EQ(rollout["outcomes"]["rolled back"], 1);
  const auto& m = summary["services"]["default/app"]["metrics"];
  EXPECT_EQ(m["dropped"].get<double>() + m["failed"].get<double>() + m["timed_out"].get<double>(),
            0.0);
}

// A revision created with no traffic (the route pinned to the first) is
// pending, never named by a route: its min-scale holds it, as upstream's
// Unknown reachability does, so when traffic moves to it at 5 m its two
// pods are there and no request waits in its activator. An empty traffic
// list and an empty tag are Knative's defaults; a timeline apply reads its
// annotations with the scenario's Knative settings (initial-scale 0 needs
// allow-zero-initial-scale).
TEST(Cli, AKnativeRevisionCreatedWithoutTrafficKeepsItsMinScaleUntilTrafficComes) {
  TempDir dir;
  dir.Write("app.yaml",
            Replace(KnativeManifests(), "window: 60s", "min-scale: \"1\"") + "  traffic: []\n");
  const std::string v2 =
      Replace(Replace(KnativeManifests(), "window: 60s",
                      "min-scale: \"2\"\n        autoscaling.knative.dev/initial-scale: \"0\""),
              "app:1", "app:2");
  dir.Write("dark.yaml", v2 + "  traffic: [{revisionName: app-00001, percent: 100, tag: \"\"}]\n");
  dir.Write("move.yaml", v2 + "  traffic: [{revisionName: app-00002, percent: 100}]\n");
  const auto path = dir.Write(
      "s.yaml", KnativeTimelineScenario(
                    "10m", 100,
                    "  - at: 2m\n    apply: {file: dark.yaml}\n  - at: 5m\n    apply: {file: "
                    "move.yaml}\n",
                    "    config-autoscaler: {allow-zero-initial-scale: \"true\"}\n"));
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::pair<double, std::string>> scaling;
  for (const auto& e : EventsOf(out, "PodAutoscaler")) {
    if (e["object"] == "default/app-00002" && e["reason"] == "Scaling") {
      scaling.emplace_back(e["time_s"], e["message"]);
    }
  }
  // Created at initial scale 0, raised to its min-scale of 2 at its first
  // reconcile, and never lower.
  ASSERT_FALSE(scaling.empty());
  EXPECT_EQ(scaling[0].second, "Scaling from 0 to 2");
  EXPECT_LE(scaling[0].first, 120.0 + 2);
  for (const auto& [at, message] : scaling)
    EXPECT_EQ(message.find(" to 0"), std::string::npos) << at << ": " << message;
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& pa = summary["autoscalers"]["default/app-00002"]["metrics"];
  EXPECT_EQ(pa["activator_buffered_requests"], 0.0);
  EXPECT_EQ(pa["scales_to_zero"], 0.0);
  const auto& m = summary["services"]["default/app"]["metrics"];
  EXPECT_EQ(m["dropped"].get<double>() + m["timed_out"].get<double>(), 0.0);
}

// A route naming a revision that is not ready yet waits: it keeps its
// split (every request to app-00001) until app-00002 is ready (its model
// loads in 5 s), then moves at once; app-00001, active before and named no
// more, then loses its min-scale and scales to zero. Nothing is lost.
TEST(Cli, AKnativeRouteWaitsForTheRevisionItNames) {
  TempDir dir;
  const std::string manifests = Replace(KnativeManifests(), "window: 60s", "min-scale: \"1\"");
  dir.Write("app.yaml", manifests);
  dir.Write("next.yaml", Replace(manifests, "app:1", "app:2") +
                             "  traffic: [{revisionName: app-00002, percent: 100}]\n");
  const auto path = dir.Write(
      "s.yaml", KnativeTimelineScenario("6m", 50, "  - at: 2m\n    apply: {file: next.yaml}\n"));
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto splits = EventsOf(out, "Route");
  ASSERT_EQ(splits.size(), 1u);
  EXPECT_EQ(splits[0]["message"], "traffic: app-00001 0%, app-00002 100%");
  const double moved = splits[0]["time_s"];
  EXPECT_GE(moved, 120.0 + 5);
  EXPECT_LE(moved, 120.0 + 5 + 3);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["autoscalers"]["default/app-00001"]["metrics"]["replicas_final"], 0.0);
  EXPECT_EQ(summary["rollouts"]["default/app"][0]["outcomes"]["complete"], 1);
  const auto& m = summary["services"]["default/app"]["metrics"];
  EXPECT_EQ(m["completed"].get<double>() + m["in_flight_at_end"].get<double>(),
            m["arrived"].get<double>());
}

// A KServe canary (predictor canaryTrafficPercent, Knative mode): a new
// model at 2 m with 20% of the traffic, then at 6 m either rolled back
// (canaryTrafficPercent 0) or promoted (the field removed). The new model
// fails 5% of its requests.
TEST(Cli, AnInferenceServiceCanaryTakesItsPercentThenRollsBackOrOut) {
  TempDir dir;
  const std::string base = Replace(InferenceServiceManifest(), "maxReplicas: 3", "maxReplicas: 2");
  dir.Write("app.yaml", base);
  const std::string v2 = Replace(base, "gs://models/app", "gs://models/app-v2");
  dir.Write("canary.yaml", Replace(v2, "    minReplicas: 2\n",
                                   "    minReplicas: 2\n    canaryTrafficPercent: 20\n"));
  dir.Write("back.yaml", Replace(v2, "    minReplicas: 2\n",
                                 "    minReplicas: 2\n    canaryTrafficPercent: 0\n"));
  dir.Write("out.yaml", v2);
  for (const std::string then : {"back", "out"}) {
    const auto path = dir.Write("s.yaml", Replace(R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: kserve-canary}
spec:
  duration: 10m
  nodePools:
  - name: pool
    count: 6
    allocatable: {cpu: "8", memory: 64Gi}
  manifests:
  - file: app.yaml
  modelServers:
  - inferenceService: app
    maxConcurrency: 8
    serviceTime: {kind: constant, value: 10ms}
    modelLoad: 5s
    versions:
    - storageUri: gs://models/app-v2
      errorRate: 0.05
  traffic:
  - service: app
    arrivals: {kind: poisson, rate: 100}
  timeline:
  - at: 2m
    apply: {file: canary.yaml}
  - at: 6m
    apply: {file: THEN.yaml}
)",
                                                  "THEN", then));
    const auto out = dir.path() / then;
    const CliResult r = Cli({"run", path.string(), "--out", out.string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    // The route's splits, in order: the canary's 20% once its pods are
    // ready, then back to 0 or up to 100 at 6 m.
    std::vector<std::pair<double, std::string>> splits;
    for (const auto& e : EventsOf(out, "Route"))
      splits.emplace_back(e["time_s"], e["message"]);
    ASSERT_EQ(splits.size(), 2u);
    const double canary_from = splits[0].first;
    EXPECT_EQ(splits[0].second, "traffic: app-predictor-00001 80%, app-predictor-00002 20%");
    EXPECT_GT(canary_from, 125.0);  // model load 5 s after the apply at 120 s
    EXPECT_LT(canary_from, 140.0);
    EXPECT_NEAR(splits[1].first, 360.0, 0.1);
    EXPECT_EQ(splits[1].second, then == "back"
                                    ? "traffic: app-predictor-00001 100%, app-predictor-00002 0%"
                                    : "traffic: app-predictor-00001 0%, app-predictor-00002 100%");
    bool created = false;
    for (const auto& e : EventsOf(out, "Configuration"))
      created |=
          e["reason"] == "Created" && e["message"] == "Created Revision \"app-predictor-00002\"";
    EXPECT_TRUE(created);
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    // Per revision: the new one's share of what arrived while it had 20%
    // (Poisson arrivals, each to it with probability 0.2: 4 sigma), and 5%
    // of those failed.
    double v2 = 0, v2_failed = 0;
    for (const auto& [key, rev] : summary["revisions"].items()) {
      if (rev["deployment"] != "default/app-predictor-00002-deployment") continue;
      v2 += rev["metrics"]["completed"].get<double>() + rev["metrics"]["failed"].get<double>();
      v2_failed += rev["metrics"]["failed"].get<double>();
    }
    const double canary_s = 360.0 - canary_from;
    const double expected = then == "back" ? 20 * canary_s : 20 * canary_s + 100 * 240;
    EXPECT_NEAR(v2, expected, 4 * std::sqrt(expected)) << then;
    EXPECT_NEAR(v2_failed / v2, 0.05, 4 * std::sqrt(0.05 * 0.95 / v2)) << then;
    const auto& rollout = summary["rollouts"]["default/app-predictor"][0];
    EXPECT_EQ(rollout["kind"], "Knative Service");
    EXPECT_EQ(rollout["outcomes"][then == "back" ? "rolled back" : "complete"], 1);
    EXPECT_EQ(rollout["metrics"]["steps"], 2.0);
    EXPECT_NEAR(rollout["metrics"]["started_s"].get<double>(), 120.0, 0.1);
    EXPECT_NEAR(rollout["metrics"]["ended_s"].get<double>(), 360.0, 0.1);
    // What the canary failed while the release went on: all it failed when
    // rolled back; rolled out, the rest came after, at 5% of 100/s for 240 s.
    const double during = rollout["metrics"]["failed"];
    const double after = then == "back" ? 0 : 0.05 * 100 * 240;
    EXPECT_NEAR(v2_failed - during, after, 4 * std::sqrt(after)) << then;
    // Rolled back, the canary at 0% is still named (latestRevision): its
    // min-scale holds it at 2. Rolled out, the old revision is no longer
    // routable: min-scale lets it go, and with no traffic it goes to zero.
    const auto& old_pa = summary["autoscalers"]["default/app-predictor-00001"]["metrics"];
    const auto& new_pa = summary["autoscalers"]["default/app-predictor-00002"]["metrics"];
    EXPECT_EQ(new_pa["replicas_final"].get<double>(), 2.0);
    EXPECT_EQ(old_pa["replicas_final"].get<double>(), then == "back" ? 2.0 : 0.0);
    EXPECT_EQ(summary["services"]["default/app-predictor"]["metrics"]["dropped"], 0.0);
  }
}

// A node pool `work` of 8-core nodes that autoscales, from `count` nodes
// between 1 and 10, nodes registering 60 s after a scale-up, under a
// Deployment of `replicas` pods of 3 cores each (two to a node).
std::string ClusterAutoscalerScenario(int count, int replicas) {
  return Replace(Replace(R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: ca}
spec:
  duration: 15m
  nodePools:
  - name: work
    count: COUNT
    allocatable: {cpu: "8", memory: 64Gi}
    autoscaling: {minSize: 1, maxSize: 10, provisioningDelay: 60s}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: app}
      spec:
        replicas: REPLICAS
        selector: {matchLabels: {app: app}}
        template:
          metadata: {labels: {app: app}}
          spec:
            containers: [{name: s, image: "app:1", resources: {requests: {cpu: "3"}}}]
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: app}
      spec: {selector: {app: app}}
  modelServers:
  - deployment: app
    serviceTime: {kind: constant, value: 10ms}
  traffic:
  - service: app
    arrivals: {kind: poisson, rate: 1}
)",
                         "COUNT", std::to_string(count)),
                 "REPLICAS", std::to_string(replicas));
}

// Scale-up, as upstream times and sizes it: 6 pods, 2 fit the one node, 4
// wait unschedulable. At the first scan (10 s, the scan interval) they are
// older than 2 s: the binpacking estimate puts them two to a node on 2
// new nodes (1 -> 3), and each waiting pod gets TriggeredScaleUp. The
// nodes register 60 s later and take the pods; meanwhile they count as
// coming, so no scan scales up again (the scan at 70 s included, when they
// register); at 6 x 3 of 24 cores (75%) no node is under the 50%
// threshold, so none is removed.
TEST(Cli, TheClusterAutoscalerAddsTheNodesPendingPodsNeed) {
  TempDir dir;
  const auto path = dir.Write("s.yaml", ClusterAutoscalerScenario(1, 6));
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto triggered = EventsOf(out, "Pod");
  int scale_ups = 0;
  for (const auto& e : triggered) {
    if (e["reason"] != "TriggeredScaleUp") continue;
    ++scale_ups;
    EXPECT_EQ(e["time_s"].get<double>(), 10.0);
    EXPECT_EQ(e["message"], "pod triggered scale-up: [{work 1->3 (max: 10)}]");
  }
  EXPECT_EQ(scale_ups, 4);
  std::vector<double> registered;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "Scheduled" && e["time_s"].get<double>() > 1.0) {
      registered.push_back(e["time_s"]);
    }
  }
  ASSERT_EQ(registered.size(), 4u) << "the waiting pods, scheduled once the nodes register";
  for (const double t : registered) {
    EXPECT_GE(t, 70.0);
    EXPECT_LT(t, 70.1);
  }
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& group = summary["autoscalers"]["cluster-autoscaler/work"]["metrics"];
  EXPECT_EQ(group["scale_ups"].get<double>(), 2.0);
  EXPECT_EQ(group["scale_downs"].get<double>(), 0.0);
  EXPECT_EQ(group["nodes_final"].get<double>(), 3.0);
  const auto rows = SeriesRows(out, "NodeGroup/work");
  ASSERT_GE(rows.size(), 3u);
  EXPECT_EQ(rows[0].at("desired_replicas"), "1");
  EXPECT_EQ(rows[2].at("desired_replicas"), "3");  // at 20 s
}

// GPU nodes count as coming until their GPUs are allocatable: 6 pods of
// one GPU on nodes of 2, one node at first. The waiting 4 are older than
// the 30 s GPU buffer at the 40 s scan: 1 -> 3 then, the nodes register at
// 100 s and their GPUs land at 160 s; no scan in between scales up again.
TEST(Cli, TheClusterAutoscalerWaitsForGpusItHasAsked) {
  TempDir dir;
  std::string scenario = Replace(ClusterAutoscalerScenario(1, 6), "memory: 64Gi}",
                                 "memory: 64Gi, nvidia.com/gpu: \"2\"}");
  scenario =
      Replace(scenario, "provisioningDelay: 60s}", "provisioningDelay: 60s, gpuReadyDelay: 60s}");
  scenario = Replace(scenario, "requests: {cpu: \"3\"}",
                     "requests: {cpu: \"1\"}, limits: {nvidia.com/gpu: \"1\"}");
  const auto path = dir.Write("s.yaml", scenario);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  int triggered = 0;
  std::vector<double> scheduled;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "TriggeredScaleUp") {
      ++triggered;
      EXPECT_EQ(e["time_s"].get<double>(), 40.0);
      EXPECT_EQ(e["message"], "pod triggered scale-up: [{work 1->3 (max: 10)}]");
    }
    if (e["reason"] == "Scheduled" && e["time_s"].get<double>() > 1.0)
      scheduled.push_back(e["time_s"]);
  }
  EXPECT_EQ(triggered, 4);
  ASSERT_EQ(scheduled.size(), 4u);
  for (const double t : scheduled) {
    EXPECT_GE(t, 160.0);
    EXPECT_LT(t, 160.1);
  }
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["autoscalers"]["cluster-autoscaler/work"]["metrics"]["nodes_max"], 3.0);
}

// The expander's choice, worked out by hand: 4 pending pods of 3 cores and
// 1Gi, two empty groups. Group a (8 cores, 32Gi, up to 10 nodes) takes
// them two to a node on 2 nodes: waste (16 - 12) / 16 + (64 - 4) / 64 =
// 1.1875. Group b (8 cores, 8Gi, up to 1 node) takes 2 of them on 1 node:
// waste (8 - 6) / 8 + (8 - 2) / 8 = 1.0. least-waste picks b; most-pods
// picks a (4 pods against 2). price, with no cluster yet (a 1-core
// preferred node, so an unfitness of 8) and GCE's pod prices (4 pods:
// 0.415872 an hour; 2: 0.207936; stabilization 0.018758): with nodes free,
// a scores 7.5340 x 0.018758 / 0.434630 = 0.3252 and b 8 x 0.018758 /
// 0.226694 = 0.6620, so a; at 1.00 and 0.10 USD an hour a scores 7.5340 x
// 2.018758 / 0.434630 = 34.99 and b 8 x 0.118758 / 0.226694 = 4.19, so b.
TEST(Cli, TheClusterAutoscalersExpandersChooseAsUpstreamScoresThem) {
  struct Case {
    std::string expander, price_a, price_b, want;
  };
  for (const auto& [expander, price_a, price_b, want] : std::vector<Case>{
           {"least-waste", "0", "0", "pod triggered scale-up: [{b 0->1 (max: 1)}]"},
           {"most-pods", "0", "0", "pod triggered scale-up: [{a 0->2 (max: 10)}]"},
           {"price", "0", "0", "pod triggered scale-up: [{a 0->2 (max: 10)}]"},
           {"price", "1.00", "0.10", "pod triggered scale-up: [{b 0->1 (max: 1)}]"}}) {
    TempDir dir;
    std::string scenario = Replace(ClusterAutoscalerScenario(0, 4), R"(  - name: work
    count: 0
    allocatable: {cpu: "8", memory: 64Gi}
    autoscaling: {minSize: 1, maxSize: 10, provisioningDelay: 60s}
)",
                                   R"(  - name: a
    count: 0
    allocatable: {cpu: "8", memory: 32Gi}
    pricePerHour: PRICE_A
    autoscaling: {minSize: 0, maxSize: 10, provisioningDelay: 60s}
  - name: b
    count: 0
    allocatable: {cpu: "8", memory: 8Gi}
    pricePerHour: PRICE_B
    autoscaling: {minSize: 0, maxSize: 1, provisioningDelay: 60s}
)");
    scenario = Replace(Replace(scenario, "PRICE_A", price_a), "PRICE_B", price_b);
    scenario = Replace(scenario, "requests: {cpu: \"3\"}", "requests: {cpu: \"3\", memory: 1Gi}");
    scenario =
        Replace(scenario,
                "  nodePools:", "  clusterAutoscaler: {expander: " + expander + "}\n  nodePools:");
    const auto path = dir.Write("s.yaml", scenario);
    const auto out = dir.path() / "out";
    const CliResult r = Cli({"run", path.string(), "--out", out.string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    std::vector<std::string> messages;
    for (const auto& e : EventsOf(out, "Pod")) {
      if (e["reason"] == "TriggeredScaleUp" && e["time_s"].get<double>() == 10.0) {
        messages.push_back(e["message"]);
      }
    }
    ASSERT_FALSE(messages.empty()) << expander;
    for (const auto& m : messages)
      EXPECT_EQ(m, want) << expander;
  }
}

// Scale-down, as upstream times it: 2 pods spread over 3 nodes leave one
// empty and two at 3 of 8 cores (37.5%, under 50%). At the first scan
// (10 s) the empty node is unneeded, and so is the first of the others,
// whose pod fits on the last; the last's pod then has nowhere to go. A
// node is removed once unneeded since + 10 minutes is before the scan:
// at 620 s both are tainted, the empty one and the drained one, and the
// group ends at 1 node holding both pods.
TEST(Cli, TheClusterAutoscalerRemovesNodesUnneededForTenMinutes) {
  TempDir dir;
  // The pods tolerate every taint, ToBeDeletedByClusterAutoscaler too: a
  // replacement may land on the node being drained, and goes with it.
  const auto path = dir.Write(
      "s.yaml", Replace(ClusterAutoscalerScenario(3, 2), "            containers:",
                        "            tolerations: [{operator: Exists}]\n            containers:"));
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::vector<std::string> status;
  for (const auto& e : EventsOf(out, "ConfigMap")) {
    EXPECT_EQ(e["time_s"].get<double>(), 620.0);
    status.push_back(e["reason"].get<std::string>() + ": " + e["message"].get<std::string>());
  }
  ASSERT_EQ(status.size(), 2u);
  int empty = 0, drained = 0;
  for (const auto& s : status) {
    empty += s.rfind("ScaleDownEmpty: Scale-down: removing empty node \"work-", 0) == 0;
    drained += s.rfind("ScaleDown: Scale-down: removing node work-", 0) == 0 &&
               s.find("utilization: 0.375") != std::string::npos;
  }
  EXPECT_EQ(empty, 1);
  EXPECT_EQ(drained, 1);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& group = summary["autoscalers"]["cluster-autoscaler/work"]["metrics"];
  EXPECT_EQ(group["scale_downs"].get<double>(), 2.0);
  EXPECT_EQ(group["nodes_final"].get<double>(), 1.0);
  // Three nodes for the first 620 s, then one for the rest of 15 minutes:
  // at least 3 x 620 + 1 x 280 node-seconds, and less than if the two went
  // a minute later.
  const double node_hours = summary["platform"]["metrics"]["node_hours"];
  EXPECT_GT(node_hours, (3 * 620.0 + 280.0) / 3600);
  EXPECT_LT(node_hours, (3 * 680.0 + 220.0) / 3600);
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 2.0);
}

// An HPA on CPU utilization, end to end: pods use 100m plus 10 ms of CPU per
// request, request 1 core, and the target is 50%. At 100 requests/s over 2
// pods each uses 0.1 + 0.5 = 0.6 cores, 60%: ratio 1.2, so the first
// rescale is to ceil(1.2 x 2) = 3. At 400 requests/s over those 3 pods each
// would use 0.1 + 1.33 cores: upstream's scale-up limit without behavior,
// max(2 x 3, 4), allows 6 of the 9 asked for. With n pods the ratio is
// (0.1 + 4/n) / 0.5, within the 10% tolerance only for n of 9, 10 or 11:
// where the HPA must come to rest.
TEST(Cli, AnHpaScalesOnCpuUtilizationAsUpstreamComputesIt) {
  TempDir dir;
  // WithAutoscaler() from 2 replicas requesting 1 core each, up to 20.
  std::string manifests = Replace(Replace(WithAutoscaler(), "maxReplicas: 5", "maxReplicas: 20"),
                                  "replicas: 1", "replicas: 2");
  manifests = Replace(manifests, "- {name: s, image: \"app:1\"}",
                      "- {name: s, image: \"app:1\", resources: {requests: {cpu: \"1\"}}}");
  dir.Write("app.yaml", manifests);
  const auto scenario = dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: hpa}
spec:
  duration: 25m
  sampleInterval: 1m
  nodePools:
  - name: pool
    count: 4
    allocatable: {cpu: "64", memory: 256Gi}
  manifests:
  - file: app.yaml
  modelServers:
  - deployment: app
    maxConcurrency: 64
    serviceTime: {kind: constant, value: 1ms}
    cpuBase: 100m
    cpuPerRequest: 10ms
    imagePull: 10s
    modelLoad: 5s
  traffic:
  - service: app
    arrivals: {kind: steps, steps: [{at: 0s, rate: 100}, {at: 10m, rate: 400}]}
)");
  const std::string out = (dir.path() / "out").string();
  const CliResult r = Cli({"run", scenario.string(), "--out", out});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto rescales = Rescales(dir.path() / "out");
  ASSERT_GE(rescales.size(), 3u) << r.err;
  EXPECT_EQ(rescales[0].second, 3);
  EXPECT_LT(rescales[0].first, 600);
  std::size_t step = 0;
  while (step < rescales.size() && rescales[step].first < 600)
    ++step;
  ASSERT_LT(step, rescales.size());
  EXPECT_EQ(rescales[step].second, 6);
  // That sync's ScalingLimited condition, True for ScaleUpLimit, as an event
  // of its reason (and the condition's first ScalingActive, ValidMetricFound).
  bool limited = false, active = false;
  for (const auto& e : EventsOf(dir.path() / "out", "HorizontalPodAutoscaler")) {
    if (!e.contains("condition")) continue;
    limited |= e["condition"] == "ScalingLimited" && e["reason"] == "ScaleUpLimit" &&
               e["status"] == "True" && e["time_s"].get<double>() == rescales[step].first;
    active |= e["condition"] == "ScalingActive" && e["reason"] == "ValidMetricFound" &&
              e["status"] == "True";
  }
  EXPECT_TRUE(limited);
  EXPECT_TRUE(active);
  EXPECT_GE(rescales.back().second, 9);
  EXPECT_LE(rescales.back().second, 11);
  // The HPA's time-series row: its target's replicas follow the rescales
  // (each lands after the API server's 10 ms), against its 50% target.
  const auto rows = SeriesRows(dir.path() / "out", "HorizontalPodAutoscaler/default/app");
  ExpectDesiredReplicasFollowTheEvents(rows, rescales, 2, 0.011);
  for (const auto& row : rows) {
    if (row.at("metric_target").empty()) continue;
    EXPECT_EQ(row.at("metric_target"), "50");
  }
  // At rest, the last utilization it computed is within its 10% tolerance
  // of the target.
  ASSERT_FALSE(rows.empty());
  EXPECT_GE(std::stod(rows.back().at("metric_value")), 45.0);
  EXPECT_LE(std::stod(rows.back().at("metric_value")), 55.0);
  const auto summary = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"].get<double>(),
            rescales.back().second);
  // The HPA's summary against its events: the replicas' time average from
  // its first sync (2 replicas, 10 ms in: the API server's latency) to the
  // end, segment by segment.
  const auto& hpa = summary["autoscalers"]["default/app"]["metrics"];
  EXPECT_EQ(hpa["rescales"].get<double>(), static_cast<double>(rescales.size()));
  EXPECT_EQ(hpa["replicas_final"].get<double>(), rescales.back().second);
  double area = 0, at = 0.01;
  int replicas = 2;
  for (const auto& [time, size] : rescales) {
    area += replicas * (time - at);
    at = time;
    replicas = size;
  }
  area += replicas * (25 * 60 - at);
  EXPECT_NEAR(hpa["replicas_mean"].get<double>(), area / (25 * 60 - 0.01), 1e-6);
}

// One step of a rollout, from a ScalingReplicaSet event: "Scaled up
// replica set NAME to B from A".
struct RolloutStep {
  double at;
  std::string replica_set;
  int from, to;
};

std::vector<RolloutStep> RolloutSteps(const std::filesystem::path& out) {
  // Upstream's wording: "to N from M", or "to N" for a new ReplicaSet.
  static const std::regex kMessage(
      R"(Scaled (up|down) replica set (\S+) to (\d+)(?: from (\d+))?)");
  std::vector<RolloutStep> steps;
  for (const auto& e : EventsOf(out, "Deployment")) {
    if (e["reason"] != "ScalingReplicaSet") continue;
    const std::string message = e["message"];
    std::smatch m;
    EXPECT_TRUE(std::regex_match(message, m, kMessage)) << message;
    if (m.empty()) continue;
    steps.push_back(
        {e["time_s"].get<double>(), m[2], m[4].matched ? std::stoi(m[4]) : 0, std::stoi(m[3])});
  }
  return steps;
}

// ValidScenario() with 10 replicas of `app` (image app:1, a readiness
// probe, a 10 s pull and a 20 s model load), 50 requests/s for 15 minutes
// sampled every 5 s, and `timeline` (spec.timeline entries). app-v2.yaml is
// the Deployment alone with image app:2 and `v2_edit` (from, to) applied.
std::filesystem::path RunRollout(const TempDir& dir,
                                 const std::pair<std::string, std::string>& v2_edit,
                                 const std::string& timeline, const std::string& server = "") {
  const std::string v1 =
      Replace(Replace(Manifests(), "replicas: 1", "replicas: 10"), "- {name: s, image: \"app:1\"}",
              "- {name: s, image: \"app:1\", readinessProbe: {httpGet: {path: /, port: 8000}, "
              "periodSeconds: 1}}");
  dir.Write("app.yaml", v1);
  std::string v2 = Replace(Replace(v1, "image: \"app:1\"", "image: \"app:2\""),
                           "---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\n"
                           "spec: {selector: {app: app}}\n",
                           "");
  if (!v2_edit.first.empty()) v2 = Replace(v2, v2_edit.first, v2_edit.second);
  dir.Write("app-v2.yaml", v2);
  std::string scenario = Replace(
      ScenarioWith("15m", "{kind: poisson, rate: 50}"),
      "    serviceTime:", "    imagePull: 10s\n    modelLoad: 20s\n" + server + "    serviceTime:");
  scenario = Replace(scenario, "  duration: 15m\n", "  duration: 15m\n  sampleInterval: 5s\n");
  const auto path = dir.Write("s.yaml", scenario + "  timeline:\n" + timeline);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

// A rolling update of 10 replicas at the default 25%/25% (surge 3,
// unavailable 2), against upstream's rules (rolling.go): the first sync
// creates the new ReplicaSet at 3 and takes the old to 8, the next lets the
// new grow to 5 (13 pods); from then on the total never passes 13, the
// ready endpoints never fall under 8, and it ends with the new ReplicaSet
// at 10 and the old at 0, the Progressing condition NewReplicaSetAvailable.
TEST(Cli, ARollingUpdateMovesReplicasWithinSurgeAndUnavailable) {
  TempDir dir;
  const auto out = RunRollout(dir, {}, "  - at: 5m\n    apply: {file: app-v2.yaml}\n");
  const auto steps = RolloutSteps(out);
  std::vector<RolloutStep> rollout;
  for (const auto& s : steps) {
    if (s.at >= 300) rollout.push_back(s);
  }
  ASSERT_GE(rollout.size(), 4u);
  const std::string old_rs = steps.front().replica_set;
  const std::string new_rs = rollout[0].replica_set;
  EXPECT_NE(new_rs, old_rs);
  EXPECT_EQ(rollout[0].from, 0);
  EXPECT_EQ(rollout[0].to, 3);
  EXPECT_EQ(rollout[1].replica_set, old_rs);
  EXPECT_EQ(rollout[1].from, 10);
  EXPECT_EQ(rollout[1].to, 8);
  EXPECT_EQ(rollout[2].replica_set, new_rs);
  EXPECT_EQ(rollout[2].to, 5);
  std::map<std::string, int> replicas = {{old_rs, 10}};
  for (const auto& s : rollout) {
    EXPECT_EQ(replicas[s.replica_set], s.from) << s.at;
    replicas[s.replica_set] = s.to;
    EXPECT_LE(replicas[old_rs] + replicas[new_rs], 13) << s.at;
  }
  EXPECT_EQ(replicas[new_rs], 10);
  EXPECT_EQ(replicas[old_rs], 0);
  int rows = 0;
  for (const auto& row : SeriesRows(out, "default/app")) {
    if (std::stod(row.at("time_s")) < 60) continue;
    EXPECT_GE(std::stoi(row.at("ready_replicas")), 8) << row.at("time_s");
    ++rows;
  }
  EXPECT_GT(rows, 100);
  std::vector<std::string> progressing;
  for (const auto& e : EventsOf(out, "Deployment")) {
    if (e.contains("condition") && e["condition"] == "Progressing")
      progressing.push_back(e["reason"]);
    if (e["reason"] == "Applied") {
      EXPECT_EQ(e["time_s"].get<double>(), 300.0);
    }
  }
  ASSERT_GE(progressing.size(), 4u);
  EXPECT_EQ(progressing.back(), "NewReplicaSetAvailable");
  EXPECT_NE(std::find(progressing.begin(), progressing.end(), "ReplicaSetUpdated"),
            progressing.end());
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 10.0);
  // The rollout in summary.json: its steps are the events', its end the
  // condition's NewReplicaSetAvailable.
  double available_at = 0;
  for (const auto& e : EventsOf(out, "Deployment")) {
    if (e["reason"] == "NewReplicaSetAvailable") available_at = e["time_s"];
  }
  const auto& rollouts = summary["rollouts"]["default/app"];
  ASSERT_EQ(rollouts.size(), 1u);
  EXPECT_EQ(rollouts[0]["replica_set"], new_rs);
  EXPECT_EQ(rollouts[0]["outcomes"]["complete"], 1);
  const auto& rm = rollouts[0]["metrics"];
  EXPECT_EQ(rm["steps"].get<double>(), static_cast<double>(rollout.size()));
  EXPECT_NEAR(rm["ended_s"].get<double>(), available_at, 1e-9);
  EXPECT_NEAR(rm["started_s"].get<double>(), 300.0, 0.05);
  EXPECT_GT(rm["arrived"].get<double>(), 0);
  EXPECT_LE(rm["completed"].get<double>() + rm["dropped"].get<double>(),
            rm["arrived"].get<double>() + 100);  // requests that began before it may end in it
}

// Recreate: the old ReplicaSet goes to 0 first; the new one is created only
// once none of the old pods is left, so the Service has no ready endpoint
// in between (recreate.go rolloutRecreate, oldPodsRunning).
TEST(Cli, ARecreateUpdateStopsEveryOldPodBeforeStartingTheNew) {
  TempDir dir;
  const auto out =
      RunRollout(dir, {"  replicas: 10\n", "  replicas: 10\n  strategy: {type: Recreate}\n"},
                 "  - at: 5m\n    apply: {file: app-v2.yaml}\n");
  std::vector<RolloutStep> rollout;
  for (const auto& s : RolloutSteps(out)) {
    if (s.at >= 300) rollout.push_back(s);
  }
  ASSERT_EQ(rollout.size(), 2u);
  EXPECT_EQ(rollout[0].from, 10);
  EXPECT_EQ(rollout[0].to, 0);
  EXPECT_NE(rollout[1].replica_set, rollout[0].replica_set);
  EXPECT_EQ(rollout[1].from, 0);
  EXPECT_EQ(rollout[1].to, 10);
  // The new ReplicaSet after the last old pod is gone.
  double last_old_gone = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    const std::string pod = e["object"];
    if (e["reason"] == "Killing" && pod.find(rollout[0].replica_set) != std::string::npos) {
      last_old_gone = std::max(last_old_gone, e["time_s"].get<double>());
    }
  }
  EXPECT_GT(last_old_gone, 300.0);
  EXPECT_GT(rollout[1].at, last_old_gone);
  // Downtime: a sample with no ready endpoint, and after it all 10 back.
  bool down = false;
  for (const auto& row : SeriesRows(out, "default/app")) {
    if (std::stod(row.at("time_s")) > 300 && row.at("ready_replicas") == "0") down = true;
  }
  EXPECT_TRUE(down);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 10.0);
  EXPECT_GT(summary["services"]["default/app"]["metrics"]["dropped_no_endpoint"].get<double>(), 0);
}

// A rollback long after the last rollout completed (upstream's
// DeploymentTimedOut never times out a completed condition), a release
// that never becomes ready (progressDeadlineSeconds 60: Progressing False,
// ProgressDeadlineExceeded), revisionHistoryLimit 0 (the old revision is
// deleted once the release completes, so an undo to it fails as kubectl's
// does) and a timeline scale.
TEST(Cli, DeploymentsTimeOutKeepHistoryAndScaleAsUpstream) {
  {
    SCOPED_TRACE("undo long after");
    TempDir dir;
    const auto out = RunRollout(dir, {},
                                "  - at: 1m\n    apply: {file: app-v2.yaml}\n"
                                "  - at: 13m\n    undo: {deployment: app}\n");
    bool rolled_back = false;
    for (const auto& e : EventsOf(out, "Deployment")) {
      EXPECT_NE(e["reason"], "ProgressDeadlineExceeded") << e["time_s"];
      rolled_back |= e["reason"] == "RolledBack";
    }
    EXPECT_TRUE(rolled_back);
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    const auto& rollouts = summary["rollouts"]["default/app"];
    ASSERT_EQ(rollouts.size(), 2u);
    EXPECT_EQ(rollouts[1]["outcomes"]["complete"], 1);
  }
  {
    SCOPED_TRACE("never ready");
    TempDir dir;
    const auto out =
        RunRollout(dir, {"  replicas: 10\n", "  replicas: 10\n  progressDeadlineSeconds: 60\n"},
                   "  - at: 5m\n    apply: {file: app-v2.yaml}\n",
                   "    versions:\n    - {image: \"app:2\", modelLoad: 2h}\n");
    double last_progress = 0, timed_out = 0;
    for (const auto& e : EventsOf(out, "Deployment")) {
      if (e["reason"] == "ReplicaSetUpdated") last_progress = e["time_s"];
      if (e["reason"] == "ProgressDeadlineExceeded" && timed_out == 0) {
        timed_out = e["time_s"];
        EXPECT_EQ(e["status"], "False");
        EXPECT_NE(e["message"].get<std::string>().find("has timed out progressing."),
                  std::string::npos);
      }
    }
    EXPECT_GT(last_progress, 300.0);
    EXPECT_GE(timed_out, last_progress + 60.0);
    EXPECT_LT(timed_out, last_progress + 60.1);
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    const auto& rollout = summary["rollouts"]["default/app"][0];
    EXPECT_EQ(rollout["outcomes"]["progress deadline exceeded"], 1);
    EXPECT_TRUE(rollout["metrics"]["duration_s"].is_null());
    // The old pods still serve: 8 ready (maxUnavailable 2).
    EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 8.0);
  }
  {
    SCOPED_TRACE("history and scale");
    TempDir dir;
    const auto out =
        RunRollout(dir, {"  replicas: 10\n", "  replicas: 10\n  revisionHistoryLimit: 0\n"},
                   "  - at: 2m\n    apply: {file: app-v2.yaml}\n"
                   "  - at: 8m\n    undo: {deployment: app, toRevision: 1}\n"
                   "  - at: 9m\n    scale: {deployment: app, replicas: 4}\n");
    bool refused = false, scaled = false;
    for (const auto& e : EventsOf(out, "Deployment")) {
      if (e["reason"] == "RollbackFailed") {
        refused = true;
        EXPECT_EQ(e["message"], "unable to find specified revision 1 in history");
      }
      scaled |= e["reason"] == "Scaled" && e["time_s"].get<double>() == 540.0;
    }
    EXPECT_TRUE(refused);
    EXPECT_TRUE(scaled);
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 4.0);
  }
}

// A node dies at 5 minutes (its kubelet's last lease renewal at 300 s). As
// upstream's node lifecycle controller looks every 5 s with a 50 s grace
// period, it marks the node NotReady at 355 s, taints it and takes its pods
// out of their Service; until then requests sent to them are lost. The
// taint eviction deletes them 300 s later (the default toleration), at
// 655 s, and only then do replacements start elsewhere.
TEST(Cli, ANodeFailureIsDetectedAndItsPodsEvictedAsUpstream) {
  TempDir dir;
  const auto out = RunRollout(dir, {}, "  - at: 5m\n    fail: {node: pool-1}\n");
  int on_node = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "Scheduled" && e["node"] == "pool-1" && e["time_s"].get<double>() < 300) {
      ++on_node;
    }
  }
  ASSERT_GT(on_node, 0);
  ASSERT_LT(on_node, 10);
  double not_ready = 0;
  for (const auto& e : EventsOf(out, "Node")) {
    if (e["reason"] == "NodeNotReady") not_ready = e["time_s"];
  }
  EXPECT_EQ(not_ready, 355.0);
  int evicted = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] != "TaintManagerEviction") continue;
    ++evicted;
    EXPECT_EQ(e["time_s"].get<double>(), 655.0);
  }
  EXPECT_EQ(evicted, on_node);
  double lost_before = 0, lost_after = 0;
  for (const auto& row : SeriesRows(out, "default/app")) {
    const double t = std::stod(row.at("time_s"));
    if (t > 300 && t <= 360) lost_before += std::stod(row.at("dropped"));
    if (t > 365) lost_after += std::stod(row.at("dropped"));
    if (t >= 365 && t <= 650) {
      EXPECT_EQ(std::stoi(row.at("ready_replicas")), 10 - on_node) << t;
    }
  }
  EXPECT_GT(lost_before, 0);
  EXPECT_EQ(lost_after, 0);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"], 10.0);
}

// scenarios/node-failure.yaml: gpu-2 dies at 900 s. Every design loses
// its pod until the node is found NotReady at 955 s (the 900 s lease plus
// 50 s, at the next 5 s look); a replacement starts once the pod is
// evicted, 300 s later by default or 30 s with fast-eviction's toleration,
// and serves after its 30 s pull and 20 s load: at about 1305 s and 1035 s
// (the next 10 s sample shows it). Without a spare GPU it never does.
TEST(Cli, TheNodeFailureScenarioRecoversAsTolerationsAndSpareCapacityAllow) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "node-failure.yaml");
  const std::map<std::string, std::pair<double, double>> back = {
      {"no-spare", {-1, -1}}, {"spare-node", {1305, 1320}}, {"fast-eviction", {1035, 1050}}};
  for (const auto& [design, window] : back) {
    SCOPED_TRACE(design);
    double down = -1, up = -1;
    for (const auto& row : SeriesRows(out / design, "search/embedder")) {
      const double t = std::stod(row.at("time_s"));
      const int ready = std::stoi(row.at("ready_replicas"));
      if (t > 900 && ready < 8 && down < 0) down = t;
      if (down > 0 && ready == 8 && up < 0) up = t;
    }
    EXPECT_GE(down, 955.0);
    EXPECT_LE(down, 970.0);
    if (window.first < 0) {
      EXPECT_EQ(up, -1.0);
    } else {
      EXPECT_GE(up, window.first);
      EXPECT_LE(up, window.second);
    }
    const auto summary = nlohmann::json::parse(ReadFile(out / design / "summary.json"));
    EXPECT_GT(summary["services"]["search/embedder"]["metrics"]["dropped_terminated"].get<double>(),
              1000);
  }
}

// A release that crashes 5 s after it starts (during its 20 s load): the
// kubelet restarts it with CrashLoopBackOff (client-go's back-off as the
// kubelet sets it: at once the first time, then 10 s doubling), so a pod
// starts at t, t+5, t+20, t+45 and t+90; it never becomes ready, the
// rolling update stops with 8 old pods serving and 5 new ones crashing
// (maxSurge 3, maxUnavailable 2), and the Deployment reports
// ProgressDeadlineExceeded.
TEST(Cli, ACrashingReleaseLoopsInBackOffAndStallsTheRollout) {
  TempDir dir;
  const auto out = RunRollout(dir, {}, "  - at: 2m\n    apply: {file: app-v2.yaml}\n",
                              "    versions:\n    - {image: \"app:2\", crashAfter: 5s}\n");
  std::map<std::string, std::vector<double>> starts;
  bool new_ready = false;
  int backoffs = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    const std::string pod = e["object"];
    if (e["time_s"].get<double>() < 120) continue;
    if (e["reason"] == "Started") starts[pod].push_back(e["time_s"]);
    if (e["reason"] == "PodReady") new_ready = true;
    backoffs += e["reason"] == "BackOff";
  }
  EXPECT_FALSE(new_ready);
  ASSERT_EQ(starts.size(), 5u);
  const auto& first = starts.begin()->second;
  ASSERT_GE(first.size(), 5u);
  const double gaps[] = {5, 15, 25, 45};
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(first[i + 1] - first[i], gaps[i], 0.05) << i;
  EXPECT_GT(backoffs, 0);
  bool deadline = false;
  for (const auto& e : EventsOf(out, "Deployment"))
    deadline |= e["reason"] == "ProgressDeadlineExceeded";
  EXPECT_TRUE(deadline);
  for (const auto& row : SeriesRows(out, "default/app")) {
    if (std::stod(row.at("time_s")) < 60) continue;
    EXPECT_GE(std::stoi(row.at("ready_replicas")), 8) << row.at("time_s");
  }
}

// A bad release: the model server entry's version for image app:2 loads
// in 60 s and fails 20% of what it runs. Its pods are ready 70 s after they
// start (10 s pull, 60 s load); before the release nothing fails, and once
// app:2 serves alone the failed share of what ends is 20%, within the
// binomial spread of some 20,000 requests.
TEST(Cli, AVersionOfAModelServerHasItsOwnLoadTimeAndErrorRate) {
  TempDir dir;
  const auto out = RunRollout(dir, {}, "  - at: 5m\n    apply: {file: app-v2.yaml}\n",
                              "    versions:\n    - {image: \"app:2\", modelLoad: 60s, "
                              "errorRate: 0.2}\n");
  // The first app:2 pod's start to ready.
  std::map<std::string, double> started;
  double load = 0;
  for (const auto& e : EventsOf(out, "Pod")) {
    const std::string pod = e["object"];
    if (e["time_s"].get<double>() < 300) continue;
    if (e["reason"] == "Pulling") started[pod] = e["time_s"];
    if (e["reason"] == "PodReady" && started.count(pod) && load == 0) {
      load = e["time_s"].get<double>() - started[pod];
    }
  }
  EXPECT_GE(load, 70.0);
  EXPECT_LT(load, 71.1);
  double failed = 0, completed = 0;
  for (const auto& row : SeriesRows(out, "default/app")) {
    const double t = std::stod(row.at("time_s"));
    if (t <= 300) {
      EXPECT_EQ(row.at("failed"), "0") << t;
    } else if (t > 480 && !row.at("throughput_rps").empty()) {
      failed += std::stod(row.at("failed"));
      completed += std::stod(row.at("throughput_rps")) * 5;
    }
  }
  ASSERT_GT(failed + completed, 15000);
  EXPECT_NEAR(failed / (failed + completed), 0.2, 0.01);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& m = summary["services"]["default/app"]["metrics"];
  EXPECT_EQ(m["arrived"].get<double>(), m["completed"].get<double>() + m["failed"].get<double>() +
                                            m["timed_out"].get<double>() +
                                            m["dropped"].get<double>() +
                                            m["in_flight_at_end"].get<double>());
  // Per revision: the old ReplicaSet failed nothing, the new one a fifth,
  // and together they ended what the Service did (no warm-up here).
  const auto& revisions = summary["revisions"];
  ASSERT_EQ(revisions.size(), 2u);
  double sum_completed = 0, sum_failed = 0;
  int failing = 0;
  for (const auto& [key, rev] : revisions.items()) {
    EXPECT_EQ(rev["deployment"], "default/app");
    const double c = rev["metrics"]["completed"], f = rev["metrics"]["failed"];
    EXPECT_EQ(rev["metrics"]["pods"], 10.0) << key;
    sum_completed += c;
    sum_failed += f;
    if (f > 0) {
      ++failing;
      EXPECT_NEAR(f / (f + c), 0.2, 0.01) << key;
    }
  }
  EXPECT_EQ(failing, 1);
  EXPECT_EQ(sum_completed, m["completed"].get<double>());
  EXPECT_EQ(sum_failed, m["failed"].get<double>());
}

// scenarios/rolling-update.yaml: the three strategies behave as their
// definitions say. Recreate is the fastest rollout but the only one with
// downtime (its drops dwarf the others'); maxSurge 100% with
// maxUnavailable 0 never has fewer than 10 ready endpoints but is the
// slowest, as only two new pods fit on the spare GPUs at a time.
TEST(Cli, TheRollingUpdateScenarioComparesTheStrategies) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "rolling-update.yaml");
  std::map<std::string, double> took, dropped;
  for (const char* design : {"rolling-25", "surge-all", "recreate"}) {
    double applied = -1, available = -1;
    for (const auto& e : EventsOf(out / design, "Deployment")) {
      if (e["reason"] == "Applied") applied = e["time_s"];
      if (e["reason"] == "NewReplicaSetAvailable" && applied >= 0) available = e["time_s"];
    }
    ASSERT_GT(applied, 0) << design;
    ASSERT_GT(available, applied) << design;
    took[design] = available - applied;
    const auto summary = nlohmann::json::parse(ReadFile(out / design / "summary.json"));
    dropped[design] = summary["services"]["text/summarizer"]["metrics"]["dropped"];
  }
  EXPECT_LT(took["recreate"], took["rolling-25"]);
  EXPECT_LT(took["rolling-25"], took["surge-all"]);
  EXPECT_GT(dropped["recreate"], 50 * dropped["rolling-25"]);
  for (const auto& row : SeriesRows(out / "surge-all", "text/summarizer")) {
    if (std::stod(row.at("time_s")) < 300) continue;
    EXPECT_GE(std::stoi(row.at("ready_replicas")), 10) << row.at("time_s");
  }
}

// scenarios/bad-release-rollback.yaml: a release with a 5% error rate,
// undone after 5, 15 or 30 minutes. The later the undo, the more requests
// fail; only the release's ReplicaSet fails any, a twentieth of what it
// ends; both the release and the undo are complete rollouts.
TEST(Cli, TheBadReleaseScenarioFailsMoreTheLaterTheRollback) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "bad-release-rollback.yaml");
  const auto comparison = nlohmann::json::parse(ReadFile(out / "summary.json"));
  double before = 0;
  for (const auto& design : comparison["designs"]) {
    SCOPED_TRACE(design["name"].get<std::string>());
    const double failed = design["services"]["text/summarizer"]["metrics"]["failed"];
    EXPECT_GT(failed, before);
    before = failed;
    int failing = 0;
    for (const auto& [key, rev] : design["revisions"].items()) {
      const double c = rev["metrics"]["completed"], f = rev["metrics"]["failed"];
      if (f == 0) continue;
      ++failing;
      EXPECT_NEAR(f / (c + f), 0.05, 0.005) << key;
    }
    EXPECT_EQ(failing, 1);
    const auto& rollouts = design["rollouts"]["text/summarizer"];
    ASSERT_EQ(rollouts.size(), 2u);
    for (const auto& rollout : rollouts)
      EXPECT_EQ(rollout["outcomes"]["complete"], 1);
  }
}

// kubectl rollout undo: after app:2 is rolled out, undo brings back
// revision 1's template, so its ReplicaSet scales up again and app:2's down.
TEST(Cli, ARolloutUndoBringsBackThePreviousReplicaSet) {
  TempDir dir;
  const auto out = RunRollout(dir, {},
                              "  - at: 3m\n    apply: {file: app-v2.yaml}\n"
                              "  - at: 9m\n    undo: {deployment: app}\n");
  const auto steps = RolloutSteps(out);
  ASSERT_FALSE(steps.empty());
  const std::string v1 = steps.front().replica_set;
  std::map<std::string, int> replicas;
  std::string v2;
  for (const auto& s : steps) {
    replicas[s.replica_set] = s.to;
    if (s.replica_set != v1) v2 = s.replica_set;
    if (s.at < 540) continue;
    // After the undo, only the two known ReplicaSets move.
    EXPECT_TRUE(s.replica_set == v1 || s.replica_set == v2) << s.replica_set;
  }
  EXPECT_EQ(replicas[v1], 10);
  EXPECT_EQ(replicas[v2], 0);
  bool rolled_back = false;
  for (const auto& e : EventsOf(out, "Deployment")) {
    if (e["reason"] == "RolledBack") {
      rolled_back = true;
      EXPECT_EQ(e["time_s"].get<double>(), 540.0);
      EXPECT_EQ(e["message"], "deployment.apps/app rolled back to revision 1");
    }
  }
  EXPECT_TRUE(rolled_back);
}

// An HPA on memory: each pod's working set is its model server's memory
// model, here a constant 1.5Gi (no memory per request), against a request
// of 1Gi: 150% of request whatever the traffic. Against a 50% Utilization
// target the ratio is 3: from 1 replica the first rescale is to 3, then
// 9 is capped at maxReplicas 4. Against an AverageValue of 1Gi the usage
// the HPA reports is the working set in bytes, and the ratio 1.5 takes 1
// replica to 2, then 3, then 5, capped at 4.
TEST(Cli, AnHpaScalesOnMemoryFromTheServersWorkingSet) {
  const struct {
    std::string target;
    std::string value, wanted_target;
    int first;
  } cases[] = {
      {"{type: Utilization, averageUtilization: 50}", "150", "50", 3},
      {"{type: AverageValue, averageValue: 1Gi}", "1610612736", "1073741824", 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target);
    TempDir dir;
    std::string manifests = ManifestsScalingOn(
        "  - type: Resource\n    resource: {name: memory, target: " + c.target + "}\n", 1);
    manifests = Replace(manifests, "maxReplicas: 20", "maxReplicas: 4");
    manifests = Replace(manifests, "- {name: s, image: \"app:1\"}",
                        "- {name: s, image: \"app:1\", resources: {requests: {memory: 1Gi}}}");
    dir.Write("app.yaml", manifests);
    const std::string scenario =
        Replace(ScenarioWith("10m", "{kind: poisson, rate: 10}"),
                "    serviceTime:", "    memoryBase: 1536Mi\n    serviceTime:");
    const auto path = dir.Write("s.yaml", scenario);
    const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    const auto rescales = Rescales(dir.path() / "out");
    ASSERT_GE(rescales.size(), 2u);
    EXPECT_EQ(rescales.front().second, c.first);
    EXPECT_EQ(rescales.back().second, 4);
    int read = 0;
    for (const auto& row : SeriesRows(dir.path() / "out", "HorizontalPodAutoscaler/default/app")) {
      if (row.at("metric_value").empty()) continue;
      // timeseries.csv keeps 9 significant digits.
      EXPECT_NEAR(std::stod(row.at("metric_value")), std::stod(c.value), 1e-8 * std::stod(c.value));
      EXPECT_NEAR(std::stod(row.at("metric_target")), std::stod(c.wanted_target),
                  1e-8 * std::stod(c.wanted_target));
      ++read;
    }
    EXPECT_GT(read, 50);
  }
}

// An InferenceService in Standard mode with scaleMetric memory renders an
// HPA on memory at scaleTarget (KServe's getHPAMetrics); without a
// scaleTarget it renders no metric and the HPA defaults to cpu at 80%.
TEST(Cli, AStandardInferenceServiceScalesOnMemoryOnlyWithAScaleTarget) {
  for (const bool with_target : {true, false}) {
    SCOPED_TRACE(with_target);
    TempDir dir;
    std::string isvc = Replace(InferenceServiceManifest(), "Serverless", "Standard");
    isvc = Replace(isvc, "    scaleTarget: 4\n",
                   with_target ? "    scaleMetric: memory\n    scaleTarget: 60\n"
                               : "    scaleMetric: memory\n");
    dir.Write("app.yaml", isvc);
    std::string scenario = Replace(ScenarioWith("5m", "{kind: poisson, rate: 10}"),
                                   "- deployment: app", "- inferenceService: app");
    scenario =
        Replace(scenario,
                "    serviceTime:", "    memoryBase: 1536Mi\n    cpuBase: 500m\n    serviceTime:");
    const auto path = dir.Write("s.yaml", scenario);
    const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    // The predictor requests 1 cpu and 2Gi: memory reads 75%, cpu 50%.
    int read = 0;
    for (const auto& row :
         SeriesRows(dir.path() / "out", "HorizontalPodAutoscaler/default/app-predictor")) {
      if (row.at("metric_value").empty()) continue;
      EXPECT_EQ(row.at("metric_target"), with_target ? "60" : "80");
      EXPECT_EQ(row.at("metric_value"), with_target ? "75" : "50");
      ++read;
    }
    EXPECT_GT(read, 10);
  }
}

// An HPA on a Pods metric, the rate of completed requests per pod through
// Prometheus (30s scrapes, a 5-minute rate window), against 20 per pod: at
// 100 requests/s over 2 pods each serves 50, ratio 2.5, and the first
// rescale is capped at max(2 x 2, 4) = 4. With n pods the ratio is
// 100 / (20 n), within the tolerance only at n = 5: where the HPA ends.
TEST(Cli, AnHpaScalesOnAPodsMetricFromPrometheus) {
  TempDir dir;
  dir.Write("app.yaml", ManifestsScalingOn(R"(  - type: Pods
    pods:
      metric: {name: nv_inference_request_success_per_second}
      target: {type: AverageValue, averageValue: "20"}
)",
                                           1));
  const auto path = dir.Write("s.yaml", ScenarioWith("40m", "{kind: poisson, rate: 100}"));
  const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto rescales = Rescales(dir.path() / "out");
  ASSERT_GE(rescales.size(), 2u);
  EXPECT_EQ(rescales.front().second, 4);
  EXPECT_EQ(rescales.back().second, 5);
}

// An HPA on a Service's request rate (Prometheus, a 5-minute window)
// against 50 per pod, as an Object metric or as an External one: the same
// arithmetic (GetObjectPerPodMetricReplicas, GetExternalPerPodMetricReplicas).
// At 100 requests/s over 2 pods the ratio is 1: no rescale. After a step to
// 300 the windowed rate climbs by about 20 requests/s per scrape, and each
// sync asks for ceil(rate / 50): 3, 4, 5, then 6, the only count within the
// tolerance of 300 / (50 n).
TEST(Cli, AnHpaScalesOnAServicesRequestRate) {
  const char* metrics[] = {R"(  - type: Object
    object:
      describedObject: {apiVersion: v1, kind: Service, name: app}
      metric: {name: requests_per_second}
      target: {type: AverageValue, averageValue: "50"}
)",
                           R"(  - type: External
    external:
      metric: {name: service_requests_per_second, selector: {matchLabels: {service: app}}}
      target: {type: AverageValue, averageValue: "50"}
)"};
  for (const char* metric : metrics) {
    TempDir dir;
    dir.Write("app.yaml", ManifestsScalingOn(metric, 2));
    const auto path = dir.Write(
        "s.yaml",
        ScenarioWith("30m", "{kind: steps, steps: [{at: 0s, rate: 100}, {at: 10m, rate: 300}]}"));
    const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string()});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    const auto rescales = Rescales(dir.path() / "out");
    ASSERT_EQ(rescales.size(), 4u) << metric;
    for (std::size_t i = 0; i < rescales.size(); ++i) {
      EXPECT_GT(rescales[i].first, 600) << metric;
      EXPECT_EQ(rescales[i].second, static_cast<int>(3 + i)) << metric;
    }
  }
}

// An External metric on the requests waiting in a Service's pods, against
// a Value of 10 (GetExternalMetricReplicas: ceil(pending / 10 x ready
// pods)): 2 pods that serve 100 requests/s each, offered 300, build a queue
// without bound; the HPA must add pods until the queue drains, at least 3.
TEST(Cli, AnHpaScalesOnTheRequestsWaitingInAService) {
  TempDir dir;
  dir.Write("app.yaml", ManifestsScalingOn(R"(  - type: External
    external:
      metric: {name: service_pending_requests, selector: {matchLabels: {service: app}}}
      target: {type: Value, value: "10"}
)",
                                           2));
  const auto path = dir.Write("s.yaml", ScenarioWith("20m", "{kind: poisson, rate: 300}"));
  const CliResult r = Cli({"run", path.string(), "--out", (dir.path() / "out").string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto summary = nlohmann::json::parse(ReadFile(dir.path() / "out/summary.json"));
  const auto& hpa = summary["autoscalers"]["default/app"]["metrics"];
  EXPECT_GE(hpa["scale_ups"].get<double>(), 1);
  EXPECT_GE(hpa["replicas_final"].get<double>(), 3);
  EXPECT_LE(hpa["replicas_final"].get<double>(), 20);
}

// scenarios/kserve-canary.yaml: version 2 takes 10% once its pods are
// ready (its model loads in 60 s, after a 30 s pull where a node lacks the
// runtime's image), and is slower there; rolled back, every request goes
// back to version 1 and the canary keeps its min-scale; promoted, version 1
// is no longer routed and scales to zero.
TEST(Cli, TheKServeCanaryScenarioSplitsThenRollsBackOrPromotes) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "kserve-canary.yaml");
  for (const std::string design : {"roll-back", "promote"}) {
    SCOPED_TRACE(design);
    const auto summary = nlohmann::json::parse(ReadFile(out / design / "summary.json"));
    const auto& release = summary["runs"][0]["rollouts"][0];
    EXPECT_EQ(release["kind"], "Knative Service");
    EXPECT_EQ(release["replica_set"], "ranker-predictor-00002");
    EXPECT_EQ(release["outcome"], design == "roll-back" ? "rolled back" : "complete");
    EXPECT_NEAR(release["metrics"]["started_s"].get<double>(), 600.0, 0.1);
    EXPECT_NEAR(release["metrics"]["ended_s"].get<double>(), 1500.0, 0.1);
    std::vector<std::pair<double, std::string>> splits;
    for (const auto& e : EventsOf(out / design, "Route"))
      splits.emplace_back(e["time_s"], e["message"]);
    ASSERT_EQ(splits.size(), 2u);
    EXPECT_GE(splits[0].first, 600.0 + 60);
    EXPECT_LE(splits[0].first, 600.0 + 30 + 60 + 10);
    EXPECT_EQ(splits[0].second, "traffic: ranker-predictor-00001 90%, ranker-predictor-00002 10%");
    // Per revision: the canary's tenth of 60 requests a second while it had
    // it (and all of them after a promotion), and its slower service.
    double latency_p99[2] = {0, 0}, canary = 0;
    for (const auto& [key, rev] : summary["revisions"].items()) {
      const bool second = rev["deployment"] == "search/ranker-predictor-00002-deployment";
      latency_p99[second] = rev["metrics"]["latency_p99_s"];
      if (second) canary = rev["metrics"]["completed"];
    }
    const double expected =
        6 * (1500 - splits[0].first) + (design == "promote" ? 60 * (2400 - 1500) : 0);
    EXPECT_NEAR(canary, expected, 4 * std::sqrt(expected));
    EXPECT_GT(latency_p99[1], 1.2 * latency_p99[0]);
    const auto& old_pa = summary["autoscalers"]["search/ranker-predictor-00001"]["metrics"];
    const auto& new_pa = summary["autoscalers"]["search/ranker-predictor-00002"]["metrics"];
    if (design == "roll-back") {
      EXPECT_EQ(new_pa["replicas_final"], 2.0);
      // Version 1 takes all 60 requests a second again: with batches of
      // at most 8 at 120 ms, about 11 are in the system (Little's law over
      // the run's mean latency, ~0.19 s); the KPA's target is 4 at 70%
      // utilization, 2.8 a pod: at least ceil(11 / 2.8) = 4 pods.
      EXPECT_GE(old_pa["replicas_final"].get<double>(), 4.0);
    } else {
      EXPECT_EQ(old_pa["replicas_final"], 0.0);
      EXPECT_EQ(old_pa["scales_to_zero"], 1.0);
    }
    EXPECT_EQ(summary["services"]["search/ranker-predictor"]["metrics"]["dropped"], 0.0);
  }
}

// scenarios/canary-bad-release.yaml, against its timeline derived by hand.
// The 1.5 Rollout is applied at 600 s; its canary pod is created and pulls
// (45 s) and loads (60 s), so it is available about 105 s later: the
// weight goes to 10 and step 1 completes at about 705.1 s, which starts the
// background analysis (startingStep 1). Its first measurement comes after
// the initialDelay of 1 m, at about 765.1 s.
// - bad-release: the canary fails 5% of its 10% of 150 requests/s, so its
//   success rate reads about 0.95 < 0.99: the run fails at once
//   (failureLimit 0) and the Rollout aborts, weight 0, and the canary pod
//   goes 30 s later (abortScaleDownDelaySeconds). Failed during the
//   update: 5% of 15 requests/s for the minute of analysis, 45 (sd 7).
// - good-release: steps 2 (pause 5m) at 1005.1 s; the canary goes to 5 pods,
//   available 105 s later (1110.1 s: setWeight 50); pause to 1410.2 s; the
//   canary to 10, available at 1515.2 s: promoted, and the old ReplicaSet
//   scaled down 30 s after (scaleDownDelaySeconds).
TEST(Cli, TheCanaryBadReleaseScenarioAbortsOnTheAnalysisAndTheGoodOnePromotes) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "canary-bad-release.yaml");
  const auto bad = nlohmann::json::parse(ReadFile(out / "bad-release/summary.json"));
  const auto& bad_update = bad["runs"][0]["rollouts"][0];
  EXPECT_EQ(bad_update["kind"], "Rollout");
  EXPECT_EQ(bad_update["outcome"], "aborted");
  EXPECT_NEAR(bad_update["metrics"]["ended_s"].get<double>(), 765.1, 0.1);
  const double failed = bad_update["metrics"]["failed"];
  EXPECT_GE(failed, 45 - 4 * 7);
  EXPECT_LE(failed, 45 + 4 * 7);
  EXPECT_NE(bad_update["message"].get<std::string>().find(
                "Background analysis phase error/failed: Metric \"success-rate\" assessed Failed "
                "due to failed (1) > failureLimit (0)"),
            std::string::npos);
  const auto& run = bad["runs"][0]["analysis_runs"][0];
  EXPECT_EQ(run["phase"], "Failed");
  EXPECT_NEAR(run["metrics"]["started_s"].get<double>(), 705.1, 0.1);
  const std::string value = run["last_value"];  // "[0.95...]"
  EXPECT_NEAR(std::stod(value.substr(1)), 0.95, 0.03);
  // The weight back to 0 with the abort, the canary's pod 30 s later.
  double weight_zero = -1, canary_down = -1;
  for (const auto& e : EventsOf(out / "bad-release", "Rollout")) {
    const std::string m = e["message"];
    if (m == "Traffic weight updated from 10 to 0") weight_zero = e["time_s"];
    if (m.find("Scaled down ReplicaSet") != std::string::npos &&
        m.find("from 1 to 0") != std::string::npos) {
      canary_down = e["time_s"];
    }
  }
  EXPECT_NEAR(weight_zero, 765.1, 0.1);
  EXPECT_NEAR(canary_down, weight_zero + 30, 0.1);
  // Only the canary's ReplicaSet failed requests, a twentieth of its own.
  int failing = 0;
  for (const auto& [key, rev] : bad["revisions"].items()) {
    const double c = rev["metrics"]["completed"], f = rev["metrics"]["failed"];
    if (f == 0) continue;
    ++failing;
    EXPECT_NEAR(f / (c + f), 0.05, 0.03) << key;
  }
  EXPECT_EQ(failing, 1);

  const auto good = nlohmann::json::parse(ReadFile(out / "good-release/summary.json"));
  const auto& good_update = good["runs"][0]["rollouts"][0];
  EXPECT_EQ(good_update["outcome"], "complete");
  EXPECT_NEAR(good_update["metrics"]["ended_s"].get<double>(), 1515.2, 0.2);
  EXPECT_EQ(good_update["metrics"]["steps"], 4);
  EXPECT_EQ(good_update["metrics"]["failed"], 0);
  EXPECT_EQ(good["runs"][0]["analysis_runs"][0]["phase"], "Successful");
  std::vector<std::pair<double, std::string>> steps;
  double old_down = -1;
  for (const auto& e : EventsOf(out / "good-release", "Rollout")) {
    const std::string m = e["message"];
    if (e["reason"] == "RolloutStepCompleted") steps.push_back({e["time_s"], m});
    if (m.find("(revision 1) from 10 to 0") != std::string::npos) old_down = e["time_s"];
  }
  ASSERT_EQ(steps.size(), 4u);
  const double want[] = {705.1, 1005.1, 1110.1, 1410.2};
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_NEAR(steps[i].first, want[i], 0.1) << steps[i].second;
  EXPECT_EQ(steps[1].second, "Rollout step 2/4 completed (pause: 5m)");
  EXPECT_NEAR(old_down, good_update["metrics"]["ended_s"].get<double>() + 30, 0.1);
}

// An Argo Rollout `app` of 10 replicas (image app:1, a 10 s pull and a 20 s
// model load, a readiness probe every second) with `strategy`, its Service `app` and `extra`
// manifests, 50 requests/s for 15 minutes on 25 nodes, and `timeline`; app-v2.yaml is the Rollout
// with image app:2.
std::filesystem::path RunArgo(const TempDir& dir, const std::string& strategy,
                              const std::string& extra, const std::string& timeline) {
  const std::string rollout =
      "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n"
      "metadata: {name: app}\nspec:\n  replicas: 10\n"
      "  selector: {matchLabels: {app: app}}\n  template:\n"
      "    metadata: {labels: {app: app}}\n    spec:\n"
      "      containers:\n      - {name: s, image: \"app:1\", readinessProbe: {httpGet: "
      "{path: /, port: 8000}, periodSeconds: 1}}\n"
      "  strategy:\n" +
      strategy;
  dir.Write("app.yaml", rollout +
                            "---\napiVersion: v1\nkind: Service\nmetadata: {name: app}\n"
                            "spec: {selector: {app: app}}\n" +
                            extra);
  dir.Write("app-v1.yaml", rollout);
  dir.Write("app-v2.yaml", Replace(rollout, "image: \"app:1\"", "image: \"app:2\""));
  std::string scenario =
      Replace(ScenarioWith("15m", "{kind: poisson, rate: 50}"), "  - deployment: app\n",
              "  - rollout: app\n    imagePull: 10s\n    modelLoad: 20s\n");
  scenario = Replace(scenario, "count: 4", "count: 25");
  const auto path = dir.Write("s.yaml", scenario + "  timeline:\n" + timeline);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

// Blue-green with autoPromotionEnabled false (rollout/bluegreen.go): at the
// apply (120 s) the preview Service moves to the new ReplicaSet and it
// scales to 10 at once; once all 10 are available (30 s later) the Rollout
// pauses (BlueGreenPause) while the active Service still sends every
// request to the old pods; the promote at 300 s switches the active
// Service, and the old ReplicaSet goes to 0 30 s later
// (scaleDownDelaySeconds). No request is lost, and the new pods serve only
// after the switch.
TEST(Cli, ABlueGreenRolloutSwitchesTheActiveServiceAtThePromote) {
  TempDir dir;
  const auto out = RunArgo(
      dir,
      "    blueGreen: {activeService: app, previewService: app-preview, "
      "autoPromotionEnabled: false}\n",
      "---\napiVersion: v1\nkind: Service\nmetadata: {name: app-preview}\n"
      "spec: {selector: {app: app}}\n",
      "  - at: 2m\n    apply: {file: app-v2.yaml}\n  - at: 5m\n    promote: {rollout: app}\n");
  double preview = -1, paused = -1, active = -1, completed = -1, old_down = -1;
  std::string new_hash;
  for (const auto& e : EventsOf(out, "Rollout")) {
    const std::string m = e["message"];
    const double t = e["time_s"];
    if (t < 100) continue;
    if (m.rfind("Switched selector for service 'app-preview'", 0) == 0) preview = t;
    if (m == "Rollout is paused (BlueGreenPause)") paused = t;
    if (m.rfind("Switched selector for service 'app' ", 0) == 0) active = t;
    if (e["reason"] == "RolloutCompleted") completed = t;
    if (m.find("(revision 1) from 10 to 0") != std::string::npos) old_down = t;
  }
  EXPECT_NEAR(preview, 120.0, 0.1);
  EXPECT_NEAR(paused, 150.1, 0.2);
  EXPECT_NEAR(active, 300.0, 0.1);
  EXPECT_NEAR(completed, active, 0.05);
  EXPECT_NEAR(old_down, completed + 30, 0.1);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& update = summary["runs"][0]["rollouts"][0]["metrics"];
  EXPECT_EQ(update["dropped"], 0);
  EXPECT_EQ(update["failed"], 0);
  EXPECT_GT(update["completed"], 0);
  // Every request from the switch on (600 s of the 870 s after the first
  // pods are ready, at about 30 s) to the new pods.
  double all = 0;
  for (const auto& [key, rev] : summary["revisions"].items())
    all += rev["metrics"]["completed"].get<double>();
  const auto updates = summary["runs"][0]["rollouts"];
  ASSERT_EQ(updates.size(), 1u);
  const double fresh =
      summary["revisions"]["default/" + updates[0]["replica_set"].get<std::string>()]["metrics"]
             ["completed"];
  EXPECT_NEAR(fresh / all, 600.0 / 870.0, 0.02);
}

// A canary without traffic routing (utils/replicaset/canary.go): 10
// replicas, setWeight 20 at the default 25%/25% (surge 3, unavailable 2).
// The first sync scales the stable 10 -> 8, the next the canary 0 -> 2
// (argo_algorithm_test's rows); the pause holds it until the promote at
// 5 m, after which the canary grows and the stable shrinks within 13 pods
// and 8 available, ending at 10 and 0.
TEST(Cli, ABasicCanaryWeighsByPodsWithinSurgeAndUnavailable) {
  TempDir dir;
  const auto out = RunArgo(dir, "    canary:\n      steps: [{setWeight: 20}, {pause: {}}]\n", "",
                           "  - at: 2m\n    apply: {file: app-v2.yaml}\n  - at: 5m\n"
                           "    promote: {rollout: app}\n");
  static const std::regex kScaled(
      R"(Scaled (up|down) ReplicaSet (\S+) \(revision (\d)\) from (\d+) to (\d+))");
  std::map<int, int> replicas = {{1, 10}, {2, 0}};
  std::vector<std::tuple<double, int, int>> moves;  // time, revision, to
  double completed = -1;
  for (const auto& e : EventsOf(out, "Rollout")) {
    const std::string m = e["message"];
    std::smatch x;
    if (e["reason"] == "RolloutCompleted" && e["time_s"].get<double>() > 100)
      completed = e["time_s"];
    if (!std::regex_match(m, x, kScaled) || e["time_s"].get<double>() < 100) continue;
    const int rev = std::stoi(x[3]);
    EXPECT_EQ(replicas[rev], std::stoi(x[4])) << m;
    replicas[rev] = std::stoi(x[5]);
    moves.push_back({e["time_s"], rev, replicas[rev]});
    EXPECT_LE(replicas[1] + replicas[2], 13) << m;
  }
  ASSERT_GE(moves.size(), 4u);
  EXPECT_EQ(moves[0], std::make_tuple(std::get<0>(moves[0]), 1, 8));
  EXPECT_EQ(std::get<1>(moves[1]), 2);
  EXPECT_EQ(std::get<2>(moves[1]), 2);
  EXPECT_GE(std::get<0>(moves[2]), 300.0) << "nothing moves during the pause";
  EXPECT_EQ(replicas[1], 0);
  EXPECT_EQ(replicas[2], 10);
  EXPECT_GT(completed, 300.0);
  for (const auto& row : SeriesRows(out, "default/app")) {
    if (std::stod(row.at("time_s")) > 60) {
      EXPECT_GE(std::stoi(row.at("ready_replicas")), 8);
    }
  }
}

// scenarios/rolling-vs-bluegreen-websockets.yaml: the field's case. A
// rolling update closes each old pod's sessions as it replaces it, and a
// client that reconnects to another old pod is moved again later: more than
// one reconnect per client on average, and some clients several. Blue-green
// leaves every session on the old pods until they go, then each client
// reconnects once, to a new pod. Neither loses a message (the clients
// buffer through the reconnect).
TEST(Cli, WebSocketClientsReconnectSeveralTimesInARollingUpdateAndOnceInBlueGreen) {
  TempDir dir;
  const auto out = dir.path() / "out";
  const CliResult r =
      Cli({"run", (SourceDir() / "scenarios/rolling-vs-bluegreen-websockets.yaml").string(),
           "--out", out.string(), "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto comparison = nlohmann::json::parse(ReadFile(out / "summary.json"));
  std::map<std::string, nlohmann::json> metrics;
  for (const auto& design : comparison["designs"])
    metrics[design["name"]] = design["services"]["chat/assistant"]["metrics"];
  auto value = [&](const std::string& design, const char* key) {
    return metrics.at(design)[key].get<double>();
  };
  EXPECT_EQ(value("blue-green", "reconnects_per_client_mean"), 1.0);
  EXPECT_EQ(value("blue-green", "reconnects_per_client_max"), 1.0);
  EXPECT_GT(value("rolling-update", "reconnects_per_client_mean"), 1.2);
  EXPECT_GE(value("rolling-update", "reconnects_per_client_max"), 2.0);
  for (const char* design : {"rolling-update", "blue-green"}) {
    SCOPED_TRACE(design);
    EXPECT_EQ(value(design, "connection_clients"), 2000);
    EXPECT_EQ(value(design, "failed"), 0);
    EXPECT_EQ(value(design, "dropped"), 0);
    EXPECT_EQ(value(design, "requests_failed_for_connection"), 0);
    EXPECT_GT(value(design, "requests_waited_for_connection"), 0);
  }
  // Every reconnect of the run is the release's: until blue-green's old
  // pods are gone, 30 s after its promotion.
  for (const auto& design : comparison["designs"]) {
    const auto& rollout = design["rollouts"]["chat/assistant"][0]["metrics"];
    EXPECT_EQ(rollout["reconnects"], value(design["name"], "reconnects")) << design["name"];
  }
}

// Runs a scenario of `pools` (nodePools entries), `app` with `replicas`
// (each asking for `gpus` GPUs; a 10 s pull, a 20 s load, a probe every
// second) behind Service app at 20 requests/s for `duration`, and `extra`
// spec fields (a timeline, failures); returns the output folder.
std::filesystem::path RunNodes(const TempDir& dir, const std::string& pools, int replicas, int gpus,
                               const std::string& duration, const std::string& extra) {
  std::string manifests =
      Replace(Manifests(), "replicas: 1", "replicas: " + std::to_string(replicas));
  manifests = Replace(
      manifests, "- {name: s, image: \"app:1\"}",
      "- {name: s, image: \"app:1\", readinessProbe: {httpGet: {path: /, port: "
      "8000}, periodSeconds: 1}" +
          (gpus > 0 ? ", resources: {limits: {nvidia.com/gpu: \"" + std::to_string(gpus) + "\"}}"
                    : std::string()) +
          "}");
  dir.Write("app.yaml", manifests);
  const std::string scenario =
      "apiVersion: platsim.dev/v1alpha1\nkind: Scenario\n"
      "metadata: {name: t}\nspec:\n  duration: " +
      duration + "\n  nodePools:\n" + pools +
      "  manifests:\n  - file: app.yaml\n  modelServers:\n"
      "  - deployment: app\n    imagePull: 10s\n    modelLoad: 20s\n"
      "    serviceTime: {kind: constant, value: 10ms}\n"
      "  traffic:\n  - service: app\n"
      "    arrivals: {kind: poisson, rate: 20}\n" +
      extra;
  const auto path = dir.Write("s.yaml", scenario);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

// Times of the events of `kind` with `reason`, by object.
std::map<std::string, std::vector<double>> EventTimes(const std::filesystem::path& out,
                                                      const std::string& kind,
                                                      const std::string& reason) {
  std::map<std::string, std::vector<double>> times;
  for (const auto& e : EventsOf(out, kind)) {
    if (e["reason"] == reason) times[e["object"]].push_back(e["time_s"].get<double>());
  }
  return times;
}

// A node down for a minute (120 s to 180 s), back before its pods' 300 s
// toleration runs out. Its last lease renewal was at 120 s, so the
// controller finds it at its first 5 s look after 170 s, at 175 s
// (NodeNotReady); the kubelet renews at once when it is back, seen at the
// next look, 185 s (NodeReady, taint removed); no pod is evicted, and the
// kubelet starts the pods' containers again at 180 s.
TEST(Cli, ANodeBackBeforeTheTolerationKeepsItsPodsAndRestartsThem) {
  TempDir dir;
  const auto out = RunNodes(
      dir, "  - {name: pool, count: 2, allocatable: {cpu: \"8\", memory: 64Gi}}\n", 4, 0, "10m",
      "  timeline:\n  - {at: 2m, fail: {node: pool-0}}\n"
      "  - {at: 3m, recover: {node: pool-0}}\n");
  EXPECT_EQ(EventTimes(out, "Node", "NodeNotReady")["pool-0"], (std::vector<double>{175}));
  EXPECT_EQ(EventTimes(out, "Node", "NodeReady")["pool-0"], (std::vector<double>{185}));
  EXPECT_TRUE(EventTimes(out, "Pod", "TaintManagerEviction").empty());
  int restarted = 0;
  for (const auto& [pod, times] : EventTimes(out, "Pod", "Started")) {
    if (times.size() == 2) {
      ++restarted;
      EXPECT_DOUBLE_EQ(times[1], 180.0) << pod;
    }
  }
  EXPECT_GE(restarted, 1) << "the pods on pool-0";
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"].get<double>(), 4);
}

// A zone outage: both nodes of zone a go down at 60 s, are found at 115 s,
// and their pods are evicted at 415 s and replaced in zone b. The zone
// comes back at 600 s: NodeReady at 605 s, and the kubelets confirm the
// deletion of the evicted pods (gone from the API by the end).
TEST(Cli, AZoneOutageEvictsItsPodsAndTheZoneComesBackEmpty) {
  TempDir dir;
  const auto out = RunNodes(
      dir,
      "  - {name: a, count: 2, labels: {topology.kubernetes.io/zone: a}, allocatable: {cpu: "
      "\"8\", memory: 64Gi}}\n"
      "  - {name: b, count: 2, labels: {topology.kubernetes.io/zone: b}, allocatable: {cpu: "
      "\"8\", memory: 64Gi}}\n",
      4, 0, "15m",
      "  timeline:\n  - {at: 1m, fail: {zone: a}}\n  - {at: 10m, recover: {zone: a}}\n");
  const auto not_ready = EventTimes(out, "Node", "NodeNotReady");
  const auto ready = EventTimes(out, "Node", "NodeReady");
  for (const char* node : {"a-0", "a-1"}) {
    EXPECT_EQ(not_ready.at(node), (std::vector<double>{115})) << node;
    EXPECT_EQ(ready.at(node), (std::vector<double>{605})) << node;
  }
  EXPECT_EQ(not_ready.count("b-0") + not_ready.count("b-1"), 0u);
  const auto evicted = EventTimes(out, "Pod", "TaintManagerEviction");
  EXPECT_FALSE(evicted.empty());
  for (const auto& [pod, times] : evicted)
    EXPECT_EQ(times, (std::vector<double>{415})) << pod;
  int zone = 0;
  for (const auto& e : EventsOf(out, "Node")) {
    if (e["reason"] == "Failed" || e["reason"] == "Recovered") {
      EXPECT_EQ(e["zone"], "a");
      ++zone;
    }
  }
  EXPECT_EQ(zone, 4);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"].get<double>(), 4);
}

// A GPU of node g-0 fails at 120 s: the device leaves the node's
// allocatable, and the pod on it crashes then and at every restart (at
// once, then after 10 s, 20 s, ... of back-off): it never serves again,
// and nothing replaces it (it is not deleted). Scaled to 5 at 300 s, the
// three new pods find the GPUs the nodes have left: g-0 has 1 after the
// fault, g-1 2, less what the first two pods hold (the broken one too);
// the rest stay pending.
TEST(Cli, AGpuFaultCrashLoopsThePodOnItAndShrinksTheNode) {
  TempDir dir;
  const auto out = RunNodes(
      dir,
      "  - {name: g, count: 2, allocatable: {cpu: \"8\", memory: 64Gi, nvidia.com/gpu: \"2\"}}\n",
      2, 1, "10m",
      "  timeline:\n  - {at: 2m, fail: {node: g-0, gpus: 1}}\n"
      "  - {at: 5m, scale: {deployment: app, replicas: 5}}\n");
  std::string broken;
  for (const auto& e : EventsOf(out, "Node")) {
    if (e["reason"] != "GPUFailed") continue;
    EXPECT_EQ(e["time_s"], 120.0);
    const std::string m = e["message"];
    broken = m.substr(m.find("crash: ") + 7);
  }
  ASSERT_FALSE(broken.empty());
  ASSERT_NE(broken, "none");
  const auto backoffs = EventTimes(out, "Pod", "BackOff");
  ASSERT_TRUE(backoffs.count(broken)) << broken;
  EXPECT_GE(backoffs.at(broken).size(), 4u);
  // Crashes 1 s after each start: restarts at 120, 131, 152, 193, 274 s...
  const auto starts = EventTimes(out, "Pod", "Started").at(broken);
  ASSERT_GE(starts.size(), 5u);
  EXPECT_NEAR(starts[1], 120.0, 0.01);
  EXPECT_NEAR(starts[2], 131.0, 0.01);
  EXPECT_NEAR(starts[3], 152.0, 0.01);
  EXPECT_NEAR(starts[4], 193.0, 0.01);
  std::map<std::string, int> first_two;  // node -> GPUs the first pods hold
  for (const auto& e : EventsOf(out, "Pod")) {
    if (e["reason"] == "Scheduled" && e["time_s"].get<double>() < 60) ++first_two[e["node"]];
  }
  const int free = std::max(0, 1 - first_two["g-0"]) + std::max(0, 2 - first_two["g-1"]);
  const auto unschedulable = EventTimes(out, "Pod", "FailedScheduling");
  EXPECT_EQ(static_cast<int>(unschedulable.size()), 3 - std::min(3, free));
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"].get<double>(),
            1 + std::min(3, free));
}

// Random outages (spec.failures): each of 5 nodes goes down after an
// exponential time with mean 10 minutes and comes back exactly 2 minutes
// later, for 2 hours: cycles of 12 minutes on average, so about 10 outages
// a node, 50 in all (a renewal count: its sd is under 7); each comes back
// 120 s after it went, and two runs give the same outages.
TEST(Cli, RandomNodeFailuresFollowTheirMeanTimesAndRepeat) {
  TempDir dir;
  const std::string pools = "  - {name: pool, count: 5, allocatable: {cpu: \"8\", memory: 64Gi}}\n";
  const std::string failures =
      "  failures:\n  - {pool: pool, mtbf: 10m, repair: 2m, repairDistribution: constant}\n";
  const auto out = RunNodes(dir, pools, 5, 0, "2h", failures);
  const auto failed = EventTimes(out, "Node", "Failed");
  const auto back = EventTimes(out, "Node", "Recovered");
  std::size_t outages = 0;
  for (const auto& [node, times] : failed) {
    outages += times.size();
    const auto& up = back.at(node);
    for (std::size_t k = 0; k < up.size(); ++k)
      EXPECT_NEAR(up[k] - times[k], 120.0, 1e-6) << node;
  }
  EXPECT_GE(outages, 50u - 4 * 7);
  EXPECT_LE(outages, 50u + 4 * 7);
  TempDir again;
  const auto out2 = RunNodes(again, pools, 5, 0, "2h", failures);
  EXPECT_EQ(ReadFile(out / "events.jsonl"), ReadFile(out2 / "events.jsonl"));
}

// Per-revision latency: version 1 serves in exactly 10 ms, version 2 in
// 50 ms, one request at a time, at 5 requests/s a pod: most requests never
// wait (a pod is busy 5% or 25% of the time), so each revision's median is
// its service time, within the sketch's 0.1%.
TEST(Cli, EachRevisionReportsTheLatencyOfWhatItsPodsServed) {
  TempDir dir;
  const auto out = RunRollout(
      dir, {}, "  - at: 5m\n    apply: {file: app-v2.yaml}\n",
      "    versions:\n    - {image: \"app:2\", serviceTime: {kind: constant, value: 50ms}}\n");
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const std::string fresh = summary["runs"][0]["rollouts"][0]["replica_set"];
  ASSERT_EQ(summary["revisions"].size(), 2u);
  for (const auto& [key, rev] : summary["revisions"].items()) {
    const double want = key == "default/" + fresh ? 0.050 : 0.010;
    EXPECT_NEAR(rev["metrics"]["latency_p50_s"].get<double>(), want, want * 0.002) << key;
    EXPECT_GE(rev["metrics"]["latency_p99_s"].get<double>(), want * 0.998) << key;
  }
}

// A Deployment resized in the middle of its rolling update (10 -> 20 at
// 310 s, the release at 300 s): the next sync is a scaling event
// (sync.go isScalingEvent) and grows both ReplicaSets in proportion
// (sync.go scale): to 20 + maxSurge 5 = 25 pods in all, each ReplicaSet
// its size x 25 / 13 (its max-replicas annotation, 10 + 3) rounded, the
// rounding's leftover to the larger. Then the rollout goes on to 20 new.
TEST(Cli, ADeploymentResizedMidRolloutScalesItsReplicaSetsProportionally) {
  TempDir dir;
  const auto out = RunRollout(dir, {},
                              "  - at: 5m\n    apply: {file: app-v2.yaml}\n"
                              "  - at: 310s\n    scale: {deployment: app, replicas: 20}\n");
  std::map<std::string, int> size;
  std::vector<RolloutStep> after;
  for (const auto& s : RolloutSteps(out)) {
    if (s.at < 310) {
      size[s.replica_set] = s.to;
    } else {
      after.push_back(s);
    }
  }
  ASSERT_EQ(size.size(), 2u);
  int before_total = 0;
  for (const auto& [rs, n] : size)
    before_total += n;
  ASSERT_EQ(before_total, 13) << "mid-rollout at the resize: 10 + 3 surge";
  ASSERT_GE(after.size(), 2u);
  EXPECT_EQ(after[0].at, after[1].at) << "both in one sync";
  EXPECT_NE(after[0].replica_set, after[1].replica_set);
  // The larger first; its share absorbs the leftover.
  const auto& [big, small] = size.begin()->second >= std::next(size.begin())->second
                                 ? std::pair{size.begin()->first, std::next(size.begin())->first}
                                 : std::pair{std::next(size.begin())->first, size.begin()->first};
  const int small_to = static_cast<int>(size[small] * 25.0 / 13 + 0.5);
  std::map<std::string, int> to;
  for (std::size_t k = 0; k < 2; ++k)
    to[after[k].replica_set] = after[k].to;
  EXPECT_EQ(to[small], small_to);
  EXPECT_EQ(to[big], 25 - small_to);
  // It completes at 20 new pods.
  std::map<std::string, int> last = size;
  for (const auto& s : after)
    last[s.replica_set] = s.to;
  int at_twenty = 0, at_zero = 0;
  for (const auto& [rs, n] : last) {
    at_twenty += n == 20;
    at_zero += n == 0;
  }
  EXPECT_EQ(at_twenty, 1);
  EXPECT_EQ(at_zero, 1);
}

// A node that goes down while its pods pull their image, comes back, and
// is given more pods: the pull it never finished is done again by the next
// pod that needs the image, and every pod serves (regression: a pull left
// behind by a failure made a later pod wait for a time already past).
// Pods bound to it while it was down, before anyone noticed, start when it
// is back.
TEST(Cli, PodsOnANodeThatWentDownMidPullStartWhenItIsBack) {
  for (const char* timeline : {"  timeline:\n  - {at: 5s, fail: {node: g-0}}\n"
                               "  - {at: 60s, recover: {node: g-0}}\n"
                               "  - {at: 2m, scale: {deployment: app, replicas: 3}}\n",
                               "  timeline:\n  - {at: 100s, fail: {node: g-0}}\n"
                               "  - {at: 110s, scale: {deployment: app, replicas: 3}}\n"
                               "  - {at: 200s, recover: {node: g-0}}\n",
                               "  timeline:\n  - {at: 5s, fail: {node: g-0, gpus: 1}}\n"
                               "  - {at: 2m, scale: {deployment: app, replicas: 2}}\n"}) {
    SCOPED_TRACE(timeline);
    TempDir dir;
    const bool gpu_fault = std::string(timeline).find("gpus") != std::string::npos;
    const auto out = RunNodes(
        dir,
        "  - {name: g, count: 1, allocatable: {cpu: \"8\", memory: 64Gi, nvidia.com/gpu: \"3\"}}\n",
        1, 1, "10m", timeline);
    const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
    // With the GPU fault the first pod crash-loops for good: one serves.
    EXPECT_EQ(summary["services"]["default/app"]["metrics"]["ready_replicas_final"].get<double>(),
              gpu_fault ? 1 : 3);
  }
}

// An Argo Rollout sent back to its stable template while an update and its
// analysis run: one update superseded and one complete (the rollback, at
// once), each announced once (regression: the analysis run's end queued a
// sync that saw the template as new again before the status landed).
TEST(Cli, ARolloutBackToItsStableTemplateEndsTheUpdateOnce) {
  TempDir dir;
  const auto out = RunArgo(
      dir,
      "    canary:\n      steps: [{setWeight: 50}, {pause: {}}]\n"
      "      analysis: {templates: [{templateName: ok}]}\n",
      "---\napiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: ok}\n"
      "spec:\n  metrics:\n  - name: up\n    interval: 10s\n    successCondition: result[0] >= 0\n"
      "    provider: {prometheus: {query: \"vector(1)\"}}\n",
      "  - at: 2m\n    apply: {file: app-v2.yaml}\n  - at: 4m\n    apply: {file: app-v1.yaml}\n");
  int not_completed = 0, skip = 0;
  for (const auto& e : EventsOf(out, "Rollout")) {
    not_completed += e["reason"] == "RolloutNotCompleted";
    skip += e["reason"] == "SkipSteps";
  }
  EXPECT_EQ(not_completed, 2);
  EXPECT_EQ(skip, 1);
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const auto& updates = summary["runs"][0]["rollouts"];
  ASSERT_EQ(updates.size(), 2u);
  EXPECT_EQ(updates[0]["outcome"], "superseded");
  EXPECT_EQ(updates[1]["outcome"], "complete");
  EXPECT_NEAR(updates[1]["metrics"]["ended_s"].get<double>(), 240.0, 0.1);
}

// The timeline's traffic change: 10 requests/s, then 40/s from 5 minutes
// on, for 10 minutes: 3,000 + 12,000 arrivals (Poisson, within 4 sd), a
// TrafficChanged event at 300 s.
TEST(Cli, ATrafficChangeOnTheTimelineSwitchesTheArrivals) {
  TempDir dir;
  dir.Write("app.yaml", Manifests());
  const auto path =
      dir.Write("s.yaml", ValidScenario() +
                              "  timeline:\n  - at: 5m\n    traffic: {service: app, arrivals: "
                              "{kind: poisson, rate: 40}}\n");
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"run", path.string(), "--out", out.string(), "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto summary = nlohmann::json::parse(ReadFile(out / "summary.json"));
  const double arrived = summary["services"]["default/app"]["metrics"]["arrived"];
  EXPECT_NEAR(arrived, 15000, 4 * std::sqrt(15000.0));
  const auto changed = EventTimes(out, "Service", "TrafficChanged");
  EXPECT_EQ(changed.at("default/app"), (std::vector<double>{300}));
}

// scenarios/llm-chat.yaml: the same requests on 2 to 6 H100s (and 4 split in
// pairs). The arrivals
// are counted here from the trace itself (speedup 8, a loop of its 600
// requests every span plus a mean gap, from 5 minutes); 2 GPUs miss both
// objectives, 3 meet them (its answer), and more GPUs never raise TTFT.
TEST(Cli, TheLlmChatScenarioAnswersHowManyGpus) {
  TempDir dir;
  const auto out = RunShippedScenario(dir, "llm-chat.yaml");
  std::vector<double> times;
  {
    std::istringstream trace(ReadFile(SourceDir() / "scenarios/traces/azure-llm-sample.csv"));
    std::string line;
    std::getline(trace, line);  // header
    while (std::getline(trace, line)) {
      // 2026-11-02 09:00:00.0301090: seconds within the day.
      const double h = std::stod(line.substr(11, 2)), m = std::stod(line.substr(14, 2));
      times.push_back(h * 3600 + m * 60 + std::stod(line.substr(17, 10)));
    }
  }
  const double span = times.back() - times.front();
  const double period = (span + span / static_cast<double>(times.size() - 1)) / 8;
  double expected = 0;  // arrivals in the window [5 min, 35 min)
  for (int play = 0; play * period < 1800; ++play) {
    for (const double t : times) {
      const double at = 300 + (t - times.front()) / 8 + play * period;
      expected += at >= 300 && at < 2100;
    }
  }
  double previous_ttft = 1e9;
  for (const std::string design : {"gpus-2", "gpus-3", "gpus-4", "gpus-6"}) {
    SCOPED_TRACE(design);
    const auto summary = nlohmann::json::parse(ReadFile(out / design / "summary.json"));
    const auto& m = summary["services"]["chat/llama"]["metrics"];
    EXPECT_NEAR(m["arrived"].get<double>(), expected, 2);  // rounding at the window's edges
    // KV blocks as vLLM sizes them: the profile's 79.18 GiB x 0.92, less
    // 8,029,995,008 parameters x 2 bytes and nonKvMemory 4 GiB, over 2 MiB
    // (16 tokens x 32 layers x 2 x 8 KV heads x 128 x 2 bytes).
    const auto& server = summary["modelServers"]["chat/llama"];
    EXPECT_EQ(server["engine"], "vllm");
    EXPECT_EQ(server["numGpuBlocks"],
              static_cast<std::int64_t>((std::ceil(79.1787109375 * 1073741824.0 * 0.92) -
                                         2 * 8029995008.0 - 4 * 1073741824.0) /
                                        (16 * 131072.0)));
    EXPECT_EQ(server["estimate"], false);
    const double ttft = m["ttft_p99_s"], tpot = m["tpot_p99_s"];
    const bool meets = ttft < 1.0 && tpot < 0.050;
    EXPECT_EQ(meets, design != "gpus-2") << ttft << " " << tpot;
    EXPECT_LE(ttft, previous_ttft);
    previous_ttft = ttft;
  }
  // 4 GPUs as 2 replicas split over 2 each: on each GPU, half the weights
  // and 4 of the 8 KV heads (1 MiB a block); its profile is an estimate.
  const auto summary = nlohmann::json::parse(ReadFile(out / "tp2-x2/summary.json"));
  const auto& server = summary["modelServers"]["chat/llama"];
  EXPECT_EQ(server["tensorParallelSize"], 2);
  EXPECT_EQ(server["estimate"], true);
  EXPECT_EQ(server["numGpuBlocks"],
            static_cast<std::int64_t>(
                (std::ceil(79.1787109375 * 1073741824.0 * 0.92) - 8029995008.0 - 4 * 1073741824.0) /
                (16 * 65536.0)));
  const auto& m = summary["services"]["chat/llama"]["metrics"];
  EXPECT_EQ(m["ready_replicas_final"], 2);
  EXPECT_LT(m["ttft_p99_s"].get<double>(), 1.0);
  EXPECT_LT(m["tpot_p99_s"].get<double>(), 0.050);
}

}  // namespace
}  // namespace platsim::tools
