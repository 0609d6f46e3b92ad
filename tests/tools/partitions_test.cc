// Partitions (sim/engine.h) change the order in which independent events
// run, never the results: every output of a run with them is the same, byte
// for byte, as with one global order (`--global-order`). The data plane puts
// each plain Service in a partition of its own and pins those that reach
// beyond themselves.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/input/diagnostics.h"
#include "platform/scenario.h"
#include "platform/simulation.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace platsim {
namespace {

namespace fs = std::filesystem;
using testing::Cli;
using testing::SourceDir;
using testing::TempDir;

// Every file under `dir`, by its path relative to it.
std::map<std::string, std::string> Files(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    files[fs::relative(e.path(), dir).string()] = s.str();
  }
  return files;
}

// Runs `scenario` in one global order, with partitions, and with
// partitions on three threads; expects the same files with the same bytes.
void ExpectSameOutputs(const fs::path& scenario, const TempDir& dir, const std::string& name) {
  const fs::path global = dir.path() / (name + "-global");
  const auto rg =
      Cli({"run", scenario.string(), "--out", global.string(), "--quiet", "--global-order"});
  ASSERT_EQ(rg.code, 0) << name << ": " << rg.err;
  const auto fg = Files(global);
  ASSERT_GE(fg.size(), 3u) << name;
  for (const std::string threads : {"1", "3"}) {
    const fs::path out = dir.path() / (name + "-threads-" + threads);
    const auto r =
        Cli({"run", scenario.string(), "--out", out.string(), "--quiet", "--threads", threads});
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    const auto f = Files(out);
    ASSERT_EQ(f.size(), fg.size()) << name;
    for (const auto& [file, bytes] : f) {
      ASSERT_TRUE(fg.count(file)) << name << ": " << file;
      EXPECT_TRUE(bytes == fg.at(file))
          << name << " on " << threads << " thread(s): " << file << " differs";
    }
  }
}

// Every feature the scenario files use (Knative and its activator, canary
// splits, HPA and KPA scrapes, rolling updates draining servers, node
// failures, LLM servers with their endpoint picker, connections): the same
// outputs either way.
TEST(Partitions, EveryScenarioFileGivesTheSameOutputsInOneGlobalOrder) {
  TempDir dir;
  int scenarios = 0;
  for (const auto& e : fs::directory_iterator(SourceDir() / "scenarios")) {
    if (e.path().extension() != ".yaml") continue;
    ExpectSameOutputs(e.path(), dir, e.path().stem().string());
    ++scenarios;
  }
  EXPECT_GE(scenarios, 13);
}

std::optional<platform::Scenario> Load(const fs::path& path) {
  input::Diagnostics diags;
  auto scenario = platform::LoadScenario(path.string(), diags);
  EXPECT_TRUE(scenario) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  return scenario;
}

platform::RunResult RunOf(const platform::Scenario& scenario, bool global_order) {
  platform::EventListSink events;
  platform::Simulation simulation(scenario, scenario.seed, events, nullptr);
  platform::RunOptions options;
  options.global_order = global_order;
  return simulation.Run(options);
}

// The quickstart's Service is a partition of its own: nearly all of its
// events run ahead of the global order (the platform's own events, a sample
// a minute and the pods' start, are few), and none in one global order.
TEST(Partitions, APlainServiceRunsAheadOfTheGlobalOrder) {
  auto scenario = Load(SourceDir() / "scenarios/quickstart.yaml");
  ASSERT_TRUE(scenario);
  scenario->duration = 2 * sim::kHour;
  const platform::RunResult ahead = RunOf(*scenario, false);
  const platform::RunResult global = RunOf(*scenario, true);
  EXPECT_GT(static_cast<double>(ahead.events_run_ahead),
            0.99 * static_cast<double>(ahead.events_executed));
  EXPECT_EQ(global.events_run_ahead, 0u);
  EXPECT_EQ(ahead.events_executed, global.events_executed);
}

// A Deployment of two pods labelled app: NAME and `labels` (a flow
// mapping's entries), running `image`.
struct App {
  std::string name, labels, image;
};
std::string DeploymentYaml(const App& app) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " + app.name +
         "}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: " + app.name +
         "}}\n  template:\n    metadata: {labels: {app: " + app.name + ", " + app.labels +
         "}}\n    spec:\n      containers: [{name: s, image: \"" + app.image + "\"}]\n";
}

// Services a and b (selecting a: "yes" and b: "yes") over `apps_in`,
// in apps.yaml, with Poisson traffic to each and the timeline `timeline`;
// the scenario's path.
fs::path TwoServices(const TempDir& dir, const std::vector<App>& apps_in,
                     const std::string& timeline) {
  std::string apps, servers;
  for (const App& app : apps_in) {
    apps += DeploymentYaml(app) + "---\n";
    servers += "  - {deployment: " + app.name +
               ", maxConcurrency: 2, serviceTime: {kind: exponential, mean: 20ms}}\n";
  }
  dir.Write("apps.yaml", apps + R"(apiVersion: v1
kind: Service
metadata: {name: a}
spec: {selector: {a: "yes"}}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {selector: {b: "yes"}}
)");
  return dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: two-services}
spec:
  seed: 3
  duration: 20m
  sampleInterval: 1m
  nodePools:
  - {name: cpu, count: 2, allocatable: {cpu: "16", memory: 64Gi}}
  manifests:
  - file: apps.yaml
  modelServers:
)" + servers + R"(  traffic:
  - {service: a, arrivals: {kind: poisson, rate: 30}}
  - {service: b, arrivals: {kind: poisson, rate: 40}}
)" + timeline);
}

double RunAheadShare(const platform::RunResult& r) {
  return static_cast<double>(r.events_run_ahead) / static_cast<double>(r.events_executed);
}

// Two Services share the pods of one Deployment (`both` carries both
// Services' labels), so their proxies call into the same servers: they are
// one partition, found from the Deployments before the run, and run ahead
// together.
TEST(Partitions, ServicesThatShareAPodAreOnePartition) {
  TempDir dir;
  const fs::path scenario = TwoServices(
      dir, {App{"both", R"(a: "yes", b: "yes")", "both:1"}, App{"only-b", R"(b: "yes")", "b:1"}},
      "");
  ExpectSameOutputs(scenario, dir, "shared");
  const auto loaded = Load(scenario);
  ASSERT_TRUE(loaded);
  const platform::RunResult r = RunOf(*loaded, false);
  EXPECT_GT(RunAheadShare(r), 0.99) << "not pinned: no proxy reaches into another partition";
  ASSERT_EQ(r.services.size(), 2u);
  EXPECT_GT(r.services[0].metrics.at("completed"), 20000);
  EXPECT_GT(r.services[1].metrics.at("completed"), 30000);
}

// A release adds Service b's label to the pods of a, which runs ahead as a
// partition of its own: from then on b's proxy balances over pods of a's
// partition, so both are pinned when kube-proxy programs it, and the run
// goes on in the global order with the same outputs.
TEST(Partitions, ServicesThatComeToSharePodsArePinned) {
  TempDir dir;
  dir.Write("shared.yaml", DeploymentYaml({"da", R"(a: "yes", b: "yes")", "da:2"}));
  const fs::path scenario =
      TwoServices(dir, {App{"da", R"(a: "yes")", "da:1"}, App{"db", R"(b: "yes")", "db:1"}},
                  "  timeline:\n  - at: 5m\n    apply: {file: shared.yaml}\n");
  ExpectSameOutputs(scenario, dir, "later");
  const auto loaded = Load(scenario);
  ASSERT_TRUE(loaded);
  // Ahead up to the release at 5 minutes (of 20), then in the global order.
  const double share = RunAheadShare(RunOf(*loaded, false));
  EXPECT_GT(share, 0.15);
  EXPECT_LT(share, 0.4);
}

// Six Services of their own Deployments, with client timeouts and queue
// limits, one rolled out part way (its servers drain, pinned): the
// partitions run on three threads at once, with the same outputs as in one
// global order, and most events ran ahead.
TEST(Partitions, ManyServicesOnThreadsGiveTheSameOutputs) {
  TempDir dir;
  std::string apps, servers, traffic;
  for (int i = 0; i < 6; ++i) {
    const std::string name = "s" + std::to_string(i);
    apps += DeploymentYaml({name, "tier: x", name + ":1"}) +
            "---\napiVersion: v1\nkind: " + "Service\nmetadata: {name: " + name +
            "}\nspec: {selector: {app: " + name + "}}\n---\n";
    servers += "  - {deployment: " + name +
               ", maxConcurrency: 2, maxQueueLength: 20, serviceTime: {kind: exponential, mean: " +
               std::to_string(10 + 5 * i) + "ms}}\n";
    traffic += "  - {service: " + name +
               ", timeout: 300ms, arrivals: {kind: poisson, rate: " + std::to_string(60 + 10 * i) +
               "}}\n";
  }
  dir.Write("apps.yaml", apps);
  dir.Write("release.yaml", DeploymentYaml({"s2", "tier: x", "s2:2"}));
  const fs::path scenario = dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: many-services}
spec:
  seed: 5
  duration: 10m
  sampleInterval: 1m
  nodePools:
  - {name: cpu, count: 4, allocatable: {cpu: "16", memory: 64Gi}}
  manifests:
  - file: apps.yaml
  modelServers:
)" + servers + "  traffic:\n" + traffic +
                                                    "  timeline:\n  - at: 3m\n    apply: "
                                                    "{file: release.yaml}\n");
  ExpectSameOutputs(scenario, dir, "many");
  const auto loaded = Load(scenario);
  ASSERT_TRUE(loaded);
  const platform::RunResult r = RunOf(*loaded, false);
  EXPECT_GT(RunAheadShare(r), 0.9);
  ASSERT_EQ(r.services.size(), 6u);
  for (const auto& service : r.services) {
    EXPECT_GT(service.metrics.at("completed"), 20000) << service.service;
    EXPECT_GT(service.metrics.at("timed_out") + service.metrics.at("dropped"), 0)
        << service.service;
  }
}

}  // namespace
}  // namespace platsim
