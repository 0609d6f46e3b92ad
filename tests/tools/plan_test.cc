// platsim plan on a case whose answer follows from queueing theory: Poisson
// requests split at random over one-request-at-a-time servers with
// exponential service make each server an M/M/1 queue (Erlang C with one
// server), whose response time is exponential with rate mu - lambda / c,
// so p99 = ln(100) / (mu - lambda / c).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"
#include "tools/cli.h"

namespace platsim::tools {
namespace {

using platsim::testing::AppManifests;
using platsim::testing::Cli;
using platsim::testing::CliResult;
using platsim::testing::ReadFile;
using platsim::testing::TempDir;

void WriteScenario(const TempDir& dir) {
  dir.Write("app.yaml", AppManifests(1, true));
  dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: plan}
spec:
  seed: 3
  duration: 31m
  warmup: 1m
  nodePools:
  - name: gpu
    count: 1
    pricePerHour: 1
    labels: {nvidia.com/gpu.product: NVIDIA-L4}
    allocatable: {cpu: "8", memory: 64Gi, nvidia.com/gpu: "1"}
  manifests:
  - file: app.yaml
  modelServers:
  - deployment: app
    serviceTime: {kind: exponential, mean: 20ms}
  traffic:
  - service: app
    loadBalancing: random
    timeout: 10s
    arrivals: {kind: poisson, rate: 160}
)");
}

// 200 requests/s (160 with 25% headroom), p99 at most 300 ms. A server of
// 20 ms (mu = 50/s) at 1 USD an hour needs lambda / c <= 50 - ln(100) / 0.3
// = 34.65: c >= 5.77, so 6 (p99 276 ms; 5 gives 461 ms). One of 10 ms at
// 2.5 USD needs lambda / c <= 84.65: c >= 2.36, so 3, costing 7.5 against 6.
TEST(Plan, FindsTheCheapestDesignQueueingTheoryGives) {
  TempDir dir;
  WriteScenario(dir);
  const auto plan = dir.Write("plan.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Plan
metadata: {name: gpus}
spec:
  scenario: s.yaml
  replications: 3
  headroom: 0.25
  objectives:
  - {service: default/app, metric: latency_p99_s, max: 0.3}
  options:
  - name: slow
    set: {'spec.nodePools[gpu].pricePerHour': 1,
          'spec.modelServers[deployment=app].serviceTime.mean': 20ms}
    count: {path: 'spec.nodePools[gpu].count', from: 1, to: 12}
    scale: [{path: 'spec.manifests[Deployment/app].spec.replicas', per: 1}]
  - name: fast
    set: {'spec.nodePools[gpu].pricePerHour': 2.5,
          'spec.modelServers[deployment=app].serviceTime.mean': 10ms}
    count: {path: 'spec.nodePools[gpu].count', from: 1, to: 12}
    scale: [{path: 'spec.manifests[Deployment/app].spec.replicas', per: 1}]
)");
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"plan", plan.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  const auto result = nlohmann::json::parse(ReadFile(out / "plan.json"));
  EXPECT_EQ(result["chosen"]["option"], "slow");
  EXPECT_EQ(result["chosen"]["count"], 6);
  ASSERT_EQ(result["runners_up"].size(), 1u);
  EXPECT_EQ(result["runners_up"][0]["option"], "fast");
  EXPECT_EQ(result["runners_up"][0]["count"], 3);
  // The chosen point's p99 against the closed form, 276 ms.
  const double p99 = result["chosen"]["objectives"][0]["mean"];
  EXPECT_NEAR(p99, std::log(100.0) / (50 - 200.0 / 6), 0.03 * 0.276);
  // Its cost: 6 nodes at 1 USD an hour over the 30 minutes measured (after
  // the warm-up).
  EXPECT_NEAR(result["chosen"]["cost_usd"].get<double>(), 6 * 30.0 / 60, 1e-9);
  // Bisection: at most the top and log2(12) + 1 more points per option; the
  // boundary found on both sides.
  std::map<std::pair<std::string, int>, bool> seen;
  for (const auto& e : result["evaluations"])
    seen[{e["option"], e["count"]}] = e["feasible"];
  EXPECT_LE(seen.size(), 2u * 5);
  EXPECT_TRUE(seen.at({"slow", 6}));
  EXPECT_FALSE(seen.at({"slow", 5}));
  EXPECT_TRUE(seen.at({"fast", 3}));
  EXPECT_FALSE(seen.at({"fast", 2}));
  EXPECT_FALSE(result["frontier"].empty());
  EXPECT_NE(ReadFile(out / "plan.md").find("**Chosen: slow x 6**"), std::string::npos);
  // Each point is a run folder whose scenario has the count and replicas.
  const std::string six = ReadFile(out / "evaluations/slow-6/scenario.json");
  EXPECT_NE(six.find("\"count\": \"6\""), std::string::npos);
  EXPECT_NE(six.find("\"replicas\": \"6\""), std::string::npos);
  EXPECT_NE(six.find("\"rate\": \"200\""), std::string::npos) << "160/s with 25% headroom";
  // Its report: the choice, every point, the cost against p99.
  const auto report = dir.path() / "report";
  const CliResult rep = Cli({"report", out.string(), "--out", report.string()});
  ASSERT_EQ(rep.code, kExitOk) << rep.err;
  const std::string page = ReadFile(report / "report.html");
  EXPECT_NE(page.find("<b>Chosen: slow x 6</b>"), std::string::npos);
  EXPECT_GT(ReadFile(report / "figures/01-plan.png").size(), 15000u);
}

TEST(Plan, NoOptionMeetsOrBadInput) {
  TempDir dir;
  WriteScenario(dir);
  const auto plan = dir.Write("plan.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Plan
metadata: {name: too-few}
spec:
  scenario: s.yaml
  objectives:
  - {service: default/app, metric: latency_p99_s, max: 0.01}
  options:
  - name: slow
    count: {path: 'spec.nodePools[gpu].count', from: 1, to: 2}
    scale: [{path: 'spec.manifests[Deployment/app].spec.replicas', per: 1}]
)");
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"plan", plan.string(), "--out", out.string(), "--quiet"});
  EXPECT_EQ(r.code, kExitInternal) << r.err;
  EXPECT_TRUE(nlohmann::json::parse(ReadFile(out / "plan.json"))["chosen"].is_null());
  for (const auto& [body, expected] : std::vector<std::pair<std::string, std::string>>{
           {"  objectives: [{service: default/app, metric: latency_p99_s}]\n"
            "  options: [{name: a, count: {path: x}}]\n",
            "give max or min"},
           {"  objectives: [{service: default/app, metric: latency_p99_s, max: 1}]\n"
            "  options: [{name: A, count: {path: 'spec.nodePools[gpu.count'}}]\n",
            "a DNS-1123 label"},
           {"  objectives: [{service: default/app, metric: latency_p99_s, max: 1}]\n"
            "  options: [{name: a, count: {path: 'spec.nodePools[gpu.count'}}]\n",
            "a '[' without its ']'"},
           {"  objectives: [{service: default/ghost, metric: latency_p99_s, max: 1}]\n"
            "  options: [{name: a, count: {path: 'spec.nodePools[gpu].count', to: 1}}]\n",
            "no Service default/ghost"},
       }) {
    const auto bad = dir.Write("bad.yaml",
                               "apiVersion: platsim.dev/v1alpha1\nkind: Plan\nmetadata: {name: "
                               "b}\nspec:\n  scenario: s.yaml\n" +
                                   body);
    const CliResult b = Cli({"plan", bad.string(), "--out", out.string(), "--quiet"});
    EXPECT_EQ(b.code, kExitBadInput) << body;
    EXPECT_NE(b.err.find(expected), std::string::npos) << b.err;
  }
}

}  // namespace
}  // namespace platsim::tools
