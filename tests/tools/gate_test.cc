// platsim gate: a regression planted in a scenario is caught and seed noise
// is not, over 20 independent trials each; benchmark files; outputs; bad
// input.
#include <gtest/gtest.h>

#include <fstream>
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

// Two servers behind round robin, exponential service times of `mean_ms`,
// Poisson arrivals at `rate`: at 20 ms and 60/s each server is 60% busy.
std::filesystem::path Scenario(const TempDir& dir, const std::string& name, const std::string& mean,
                               const std::string& rate) {
  dir.Write("app.yaml", AppManifests(2, false));
  return dir.Write(name, R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: gate}
spec:
  duration: 31m
  warmup: 1m
  nodePools:
  - name: pool
    count: 2
    allocatable: {cpu: "8", memory: 64Gi}
  manifests:
  - file: app.yaml
  modelServers:
  - deployment: app
    serviceTime: {kind: exponential, mean: )" +
                             mean + R"(}
  traffic:
  - service: app
    loadBalancing: round-robin
    arrivals: {kind: poisson, rate: )" +
                             rate + R"(}
)");
}

std::string RunFive(const TempDir& dir, const std::filesystem::path& scenario, int seed,
                    const std::string& name) {
  const std::string out = (dir.path() / name).string();
  const CliResult r = Cli({"run", scenario.string(), "--out", out, "--seed", std::to_string(seed),
                           "--replications", "8", "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  return out;
}

TEST(Gate, CatchesAPlantedFivePercentP99RegressionAndPassesSeedNoise) {
  TempDir dir;
  const auto base = Scenario(dir, "base.yaml", "20ms", "60");
  // Every time 5% longer: service times x 1.05 and arrival gaps x 1.05, so
  // the queue is the same one in slower time and every latency quantile,
  // p99 included, is exactly 5% higher in distribution.
  const auto slower = Scenario(dir, "slower.yaml", "21ms", "57.142857142857");
  int caught = 0, passed = 0;
  for (int trial = 0; trial < 20; ++trial) {
    // Three independent sets of seeds: no common random numbers between
    // the sides, only noise.
    const std::string b = RunFive(dir, base, 1000 + trial, "b");
    const std::string same = RunFive(dir, base, 2000 + trial, "same");
    const std::string worse = RunFive(dir, slower, 3000 + trial, "worse");
    const CliResult noise = Cli({"gate", b, same});
    EXPECT_EQ(noise.code, kExitOk) << trial << "\n" << noise.out;
    passed += noise.code == kExitOk;
    const CliResult planted = Cli({"gate", b, worse});
    EXPECT_EQ(planted.code, kExitInternal) << trial << "\n" << planted.out;
    EXPECT_NE(planted.out.find("| default/app | latency_p99_s |"), std::string::npos);
    caught += planted.code == kExitInternal;
  }
  EXPECT_EQ(caught, 20);
  EXPECT_EQ(passed, 20);
}

TEST(Gate, WritesMarkdownJunitAndJson) {
  TempDir dir;
  const auto base = Scenario(dir, "base.yaml", "20ms", "60");
  const auto slower = Scenario(dir, "slower.yaml", "30ms", "60");
  const std::string b = RunFive(dir, base, 1, "b"), w = RunFive(dir, slower, 2, "w");
  const auto md = dir.path() / "gate.md", junit = dir.path() / "gate.xml",
             json = dir.path() / "gate.json";
  const CliResult r = Cli({"gate", b, w, "--markdown", md.string(), "--junit", junit.string(),
                           "--json", json.string()});
  EXPECT_EQ(r.code, kExitInternal) << r.out << r.err;
  EXPECT_EQ(ReadFile(md), r.out);
  const std::string xml = ReadFile(junit);
  EXPECT_NE(xml.find("<testcase classname=\"default/app\" name=\"latency_p99_s\">\n      "
                     "<failure message=\"regression\">latency_p99_s of default/app: "),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("<testcase classname=\"platform\" name=\"cost_usd\"/>"), std::string::npos);
  const auto j = nlohmann::json::parse(ReadFile(json));
  EXPECT_EQ(j["kind"], "GateResult");
  EXPECT_GE(j["regressions"].get<int>(), 1);
  EXPECT_EQ(j["checks"][0]["metric"], "latency_p99_s");
  EXPECT_EQ(j["checks"][0]["regression"], true);
  EXPECT_EQ(j["checks"][0]["baseline"]["runs"], 8);
  // A gate file: only what it names, with its allowance: 5.6 times as long
  // passes where 10 times is allowed.
  const auto gate = dir.Write("gate.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Gate
metadata: {name: lenient}
spec:
  alpha: 0.01
  checks:
  - {metric: latency_p99_s, series: default/app, relative: 10.0}
)");
  const CliResult lenient = Cli({"gate", b, w, "--gate", gate.string()});
  EXPECT_EQ(lenient.code, kExitOk) << lenient.out << lenient.err;
  EXPECT_NE(lenient.out.find("in 1 checks (alpha 0.01"), std::string::npos) << lenient.out;
}

// Google Benchmark JSON with these repetitions of one benchmark's time.
std::string Benchmarks(const std::vector<double>& times) {
  nlohmann::json j = {{"context", {{"library_build_type", "release"}}},
                      {"benchmarks", nlohmann::json::array()}};
  for (std::size_t i = 0; i < times.size(); ++i) {
    j["benchmarks"].push_back({{"name", "BM_Quickstart"},
                               {"run_name", "BM_Quickstart"},
                               {"run_type", "iteration"},
                               {"repetition_index", i},
                               {"real_time", times[i]},
                               {"cpu_time", times[i]},
                               {"time_unit", "ms"}});
  }
  j["benchmarks"].push_back({{"name", "BM_Quickstart_mean"},
                             {"run_name", "BM_Quickstart"},
                             {"run_type", "aggregate"},
                             {"real_time", 1.0},
                             {"cpu_time", 1.0},
                             {"time_unit", "ms"}});
  return j.dump();
}

TEST(Gate, ComparesBenchmarkRepetitionsWithAUTest) {
  TempDir dir;
  const auto base = dir.Write("base.json", Benchmarks({100, 101, 102, 103, 104}));
  // 10% slower: every repetition above every baseline one by more than 5%
  // of its mean (5.1 ms): U = 25 of 25, p = 1 / C(10, 5) = 1/252.
  const auto slow = dir.Write("slow.json", Benchmarks({112, 113, 114, 115, 116}));
  const CliResult r = Cli({"gate", base.string(), slow.string()});
  EXPECT_EQ(r.code, kExitInternal) << r.out << r.err;
  EXPECT_NE(r.out.find("| BM_Quickstart | real_time | 1.02e+08 (n=5) | 1.14e+08 (n=5) | +11.76% | "
                       "+5.1e+06 | Mann-Whitney U | 0.00396825 | **regression** |"),
            std::string::npos)
      << r.out;
  // 3% slower is within the allowance.
  const auto close = dir.Write("close.json", Benchmarks({103, 104, 105, 106, 107}));
  EXPECT_EQ(Cli({"gate", base.string(), close.string()}).code, kExitOk);
}

TEST(Gate, ComparesEachDesignOfARunAndEachPointOfASweep) {
  TempDir dir;
  const auto base = Scenario(dir, "base.yaml", "20ms", "60");
  std::string text = ReadFile(base);
  text +=
      "  designs:\n  - name: fast\n  - name: slow\n"
      "    spec: {modelServers: [{deployment: app, serviceTime: {kind: exponential, mean: "
      "25ms}}]}\n";
  const auto designs = dir.Write("designs.yaml", text);
  const std::string a = RunFive(dir, designs, 1, "a"), b = RunFive(dir, designs, 2, "b");
  const CliResult r = Cli({"gate", a, b});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("| fast: default/app | latency_p99_s |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| slow: platform | cost_usd |"), std::string::npos) << r.out;
  // A sweep's points, matched by their values.
  const auto sweep = dir.Write("sweep.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Sweep
metadata: {name: s}
spec:
  scenario: base.yaml
  replications: 2
  duration: 6m
  parameters:
  - {name: rate, path: 'spec.traffic[0].arrivals.rate', values: [30, 60]}
)");
  const std::string s = (dir.path() / "s").string();
  ASSERT_EQ(Cli({"sweep", sweep.string(), "--out", s, "--quiet"}).code, kExitOk);
  const CliResult same = Cli({"gate", s, s});
  EXPECT_EQ(same.code, kExitOk) << same.out << same.err;
  EXPECT_NE(same.out.find("| rate=30: default/app | latency_p99_s |"), std::string::npos)
      << same.out;
  EXPECT_NE(same.out.find("| rate=60: platform | complete | 1 (n=2) | 1 (n=2)"), std::string::npos)
      << same.out;
}

TEST(Gate, WhatCurrentNoLongerReportsOrFinishesIsARegression) {
  TempDir dir;
  const auto base = Scenario(dir, "base.yaml", "20ms", "60");
  const std::string b = RunFive(dir, base, 1, "b"), c = RunFive(dir, base, 2, "c");
  // The current runs lose their p99 (nothing completed), and one stops early.
  auto summary = nlohmann::json::parse(ReadFile(std::filesystem::path(c) / "summary.json"));
  for (auto& run : summary["runs"])
    run["services"]["default/app"]["latency_p99_s"] = nullptr;
  summary["runs"][0]["complete"] = false;
  dir.Write("c/summary.json", summary.dump());
  const CliResult r = Cli({"gate", b, c});
  EXPECT_EQ(r.code, kExitInternal) << r.out << r.err;
  EXPECT_NE(r.out.find("| default/app | latency_p99_s | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("**regression** (no value)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| platform | complete | 1 (n=8) | 0.875 (n=8)"), std::string::npos)
      << r.out;
  // Not JSON as platsim writes it: bad input, not a regression.
  dir.Write("c/summary.json", R"({"kind": "RunSummary", "runs": [{"complete": "yes"}]})");
  EXPECT_EQ(Cli({"gate", b, c}).code, kExitBadInput);
}

TEST(Gate, AUTestThatCouldNeverRejectLeavesItToTheAllowance) {
  // Three repetitions a side: the smallest U-test p is 1 / C(6, 3) = 0.05,
  // never below alpha; 50% slower must still fail, on the change alone.
  TempDir dir;
  const auto base = dir.Write("base.json", Benchmarks({100, 101, 102}));
  const auto slow = dir.Write("slow.json", Benchmarks({150, 151, 152}));
  const CliResult r = Cli({"gate", base.string(), slow.string()});
  EXPECT_EQ(r.code, kExitInternal) << r.out;
  EXPECT_NE(r.out.find("none (too few runs)"), std::string::npos) << r.out;
}

TEST(Gate, BadInputExits2) {
  TempDir dir;
  const auto base = Scenario(dir, "base.yaml", "20ms", "60");
  const std::string b = RunFive(dir, base, 1, "b");
  const auto bench = dir.Write("b.json", Benchmarks({1, 2}));
  const auto gate = dir.Write("gate.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Gate
metadata: {name: g}
spec:
  checks:
  - {metric: latency_p99_s, direction: sideways}
)");
  const auto ghost = dir.Write("ghost.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Gate
metadata: {name: g}
spec:
  checks:
  - {metric: latency_p42_s}
)");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{"gate", b, (dir.path() / "nowhere").string()}, "cannot read"},
           {{"gate", b, bench.string()}, "one side is a benchmark file"},
           {{"gate", b, b, "--gate", gate.string()},
            "gate.yaml:6:40: spec.checks[0].direction: unknown value"},
           {{"gate", b, b, "--gate", ghost.string()}, "no latency_p42_s in both"},
           {{"gate", b, base.string()}, "not JSON"},
           {{"gate", bench.string(), dir.Write("other.json", "{}").string()},
            "is not Google Benchmark JSON"},
       }) {
    const CliResult r = Cli(c.args);
    EXPECT_EQ(r.code, kExitBadInput) << c.expected << "\n" << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace platsim::tools
