// platsim sweep and merge: a small scenario swept over a model server's
// batch size and a Deployment's replicas (in a manifest file), its tables
// checked against the points' own summaries and statistics worked out here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/input/diagnostics.h"
#include "models/input/units.h"
#include "models/input/yaml_reader.h"
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

// Rows of a CSV without quoted cells, by column name.
std::vector<std::map<std::string, std::string>> ReadCsv(const std::filesystem::path& p) {
  std::istringstream in(ReadFile(p));
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string cell; std::getline(header, cell, ',');)
    names.push_back(cell);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::map<std::string, std::string> row;
    std::size_t i = 0;
    for (std::string cell; std::getline(cells, cell, ','); ++i)
      row[names.at(i)] = cell;
    rows.push_back(row);
  }
  return rows;
}

// A pool of 4 GPU nodes, one Deployment and Service (in app.yaml), Poisson
// traffic at 40/s and exponential service times: every replication is
// random, so replications differ.
void WriteScenario(const TempDir& dir, const std::string& designs = "") {
  dir.Write("s/app.yaml", AppManifests(1, true));
  dir.Write("s/scenario.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: small}
spec:
  seed: 5
  duration: 4m
  warmup: 1m
  nodePools:
  - name: pool
    count: 4
    allocatable: {cpu: "8", memory: 64Gi, nvidia.com/gpu: "1"}
  manifests:
  - file: app.yaml
  modelServers:
  - deployment: app
    maxBatchSize: 1
    serviceTime: {kind: exponential, mean: 20ms}
  traffic:
  - service: app
    arrivals: {kind: poisson, rate: 40}
)" + designs);
}

std::filesystem::path WriteSweep(const TempDir& dir, const std::string& parameters,
                                 int replications = 3) {
  return dir.Write("sweep.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Sweep
metadata: {name: batch-and-replicas}
spec:
  scenario: s/scenario.yaml
  replications: )" + std::to_string(replications) +
                                     R"(
)" + parameters);
}

constexpr const char* kGrid = R"(  parameters:
  - {name: batch, path: 'spec.modelServers[deployment=app].maxBatchSize', values: [1, 4]}
  - {name: replicas, path: 'spec.manifests[Deployment/app].spec.replicas',
     range: {from: 1, to: 2, step: 1}}
)";

TEST(Sweep, EveryPointRunsOnTheSameSeedsAndTheTablesSayWhatEachGave) {
  TempDir dir;
  WriteScenario(dir);
  const auto sweep = WriteSweep(dir, kGrid);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"sweep", sweep.string(), "--out", out.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto rows = ReadCsv(out / "results.csv");
  ASSERT_EQ(rows.size(), 12u);  // 2 x 2 points, 3 replications each
  // The grid, the first parameter varying slowest.
  const std::vector<std::pair<std::string, std::string>> grid = {
      {"1", "1"}, {"1", "2"}, {"4", "1"}, {"4", "2"}};
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("batch"), grid[i / 3].first) << i;
    EXPECT_EQ(rows[i].at("replicas"), grid[i / 3].second) << i;
    EXPECT_EQ(rows[i].at("replication"), std::to_string(i % 3)) << i;
  }
  // Common random numbers: each replication's arrivals are the same at
  // every point, and differ between replications.
  for (std::size_t i = 3; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("default/app.arrived"), rows[i % 3].at("default/app.arrived")) << i;
    EXPECT_EQ(rows[i].at("seed"), rows[i % 3].at("seed"));
  }
  EXPECT_NE(rows[0].at("default/app.arrived"), rows[1].at("default/app.arrived"));
  // Two replicas hold two GPUs: the point really changed the manifest.
  EXPECT_NEAR(std::stod(rows[3].at("default/app.gpu_hours_held")),
              2 * std::stod(rows[0].at("default/app.gpu_hours_held")), 1e-9);
  // points.csv: each point's mean over its replications and the half-width
  // of the 95% interval, t(0.975, 2) = 4.3027 times the standard error.
  const auto points = ReadCsv(out / "points.csv");
  ASSERT_EQ(points.size(), 4u);
  for (std::size_t p = 0; p < 4; ++p) {
    double sum = 0, sq = 0;
    for (std::size_t k = 0; k < 3; ++k)
      sum += std::stod(rows[p * 3 + k].at("default/app.latency_p99_s"));
    const double mean = sum / 3;
    for (std::size_t k = 0; k < 3; ++k)
      sq += std::pow(std::stod(rows[p * 3 + k].at("default/app.latency_p99_s")) - mean, 2);
    EXPECT_NEAR(std::stod(points[p].at("default/app.latency_p99_s")), mean, 1e-12 * mean);
    EXPECT_NEAR(std::stod(points[p].at("default/app.latency_p99_s.ci95")),
                4.302653 * std::sqrt(sq / 2) / std::sqrt(3.0), 1e-5 * mean);
  }
  // results.json holds the same, with the parameters as numbers.
  const auto json = nlohmann::json::parse(ReadFile(out / "results.json"));
  EXPECT_EQ(json["kind"], "SweepResults");
  EXPECT_EQ(json["points"][3]["values"]["batch"], 4);
  EXPECT_EQ(json["points"][3]["runs"].size(), 3u);
  // A point's folder is a run folder that `platsim run` reproduces.
  const auto again = dir.path() / "again";
  const CliResult rerun = Cli({"run", (out / "points/p0004/scenario.json").string(), "--out",
                               again.string(), "--replications", "3", "--quiet"});
  ASSERT_EQ(rerun.code, kExitOk) << rerun.err;
  const auto a = nlohmann::json::parse(ReadFile(again / "summary.json"));
  const auto b = nlohmann::json::parse(ReadFile(out / "points/p0004/summary.json"));
  EXPECT_EQ(a["services"], b["services"]);
  EXPECT_EQ(a["runs"][2]["services"], b["runs"][2]["services"]);
}

// A scenario and --param flags: the same sweep as the file gives.
TEST(Sweep, FlagsOnAScenarioGiveWhatTheSweepFileGives) {
  TempDir dir;
  WriteScenario(dir);
  const auto from_file = dir.path() / "file", from_flags = dir.path() / "flags";
  ASSERT_EQ(
      Cli({"sweep", WriteSweep(dir, kGrid, 2).string(), "--out", from_file.string(), "--quiet"})
          .code,
      kExitOk);
  const CliResult r = Cli({"sweep", (dir.path() / "s/scenario.yaml").string(), "--param",
                           "spec.modelServers[deployment=app].maxBatchSize=1,4", "--param",
                           "spec.manifests[Deployment/app].spec.replicas=1,2", "--replications",
                           "2", "--out", from_flags.string(), "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  // The columns are named by path rather than by the file's names.
  auto rows = [](const std::filesystem::path& out) {
    std::string text = ReadFile(out / "results.csv");
    return text.substr(text.find('\n'));
  };
  EXPECT_EQ(rows(from_flags), rows(from_file));
  for (const auto& [args, expected] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--param", "spec.seed"}, "expected PATH=V1,V2"},
           {{"--param", "spec.seed="}, "no values after ="},
           {{"--param", "spec..count=1"}, "an empty key"},
           {{}, "give its parameters with --param"},
       }) {
    std::vector<std::string> cli = {"sweep", (dir.path() / "s/scenario.yaml").string(), "--out",
                                    (dir.path() / "bad").string()};
    cli.insert(cli.end(), args.begin(), args.end());
    const CliResult b = Cli(cli);
    EXPECT_EQ(b.code, kExitBadInput);
    EXPECT_NE(b.err.find(expected), std::string::npos) << b.err;
  }
  const CliResult both = Cli({"sweep", WriteSweep(dir, kGrid, 2).string(), "--replications", "3",
                              "--out", (dir.path() / "bad").string()});
  EXPECT_EQ(both.code, kExitBadInput);
  EXPECT_NE(both.err.find("is a sweep file"), std::string::npos) << both.err;
}

// Run from the sweep file's own folder, with bare relative paths.
TEST(Sweep, RunsFromTheSweepsOwnFolder) {
  TempDir dir;
  WriteScenario(dir);
  dir.Write("s/sweep.yaml",
            "apiVersion: platsim.dev/v1alpha1\nkind: Sweep\nmetadata: {name: "
            "here}\nspec:\n  scenario: scenario.yaml\n" +
                std::string(kGrid));
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path() / "s");
  const CliResult r = Cli({"sweep", "sweep.yaml", "--out", "out", "--quiet"});
  const CliResult flags =
      Cli({"sweep", "scenario.yaml", "--param", "spec.modelServers[deployment=app].maxBatchSize=2",
           "--out", "o2", "--quiet"});
  std::filesystem::current_path(cwd);
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(flags.code, kExitOk) << flags.err;
  EXPECT_EQ(ReadCsv(dir.path() / "s/out/results.csv").size(), 4u);  // one replication
  // The manifest file, seen from the point's folder.
  EXPECT_NE(ReadFile(dir.path() / "s/o2/points/p0001/scenario.json")
                .find("\"file\": \"../../../app.yaml\""),
            std::string::npos);
}

TEST(Sweep, InParallelOrInShardsMergedTheTablesAreTheSame) {
  TempDir dir;
  WriteScenario(dir);
  const auto sweep = WriteSweep(dir, kGrid, 2);
  const auto one = dir.path() / "one", parallel = dir.path() / "parallel",
             merged = dir.path() / "merged";
  ASSERT_EQ(Cli({"sweep", sweep.string(), "--out", one.string(), "--quiet"}).code, kExitOk);
  ASSERT_EQ(Cli({"sweep", sweep.string(), "--out", parallel.string(), "-j", "3", "--quiet"}).code,
            kExitOk);
  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    // Deeper than the merged folder: their points' files must still resolve
    // once merged.
    shards.push_back((dir.path() / "shards" / ("shard" + std::to_string(i))).string());
    const CliResult r = Cli({"sweep", sweep.string(), "--out", shards.back(), "--shard",
                             std::to_string(i) + "/3", "--quiet"});
    ASSERT_EQ(r.code, kExitOk) << r.err;
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(shards.back()) / "results.csv"));
  }
  // Shards in any order.
  const CliResult m = Cli({"merge", shards[2], shards[0], shards[1], "--out", merged.string()});
  ASSERT_EQ(m.code, kExitOk) << m.err;
  for (const char* file : {"results.csv", "points.csv", "results.json", "sweep.json"}) {
    const std::string expected = ReadFile(one / file);
    EXPECT_FALSE(expected.empty()) << file;
    EXPECT_EQ(ReadFile(parallel / file), expected) << file;
    EXPECT_EQ(ReadFile(merged / file), expected) << file;
  }
  for (const char* point : {"p0001", "p0004"}) {
    const auto file = std::filesystem::path("points") / point / "scenario.json";
    EXPECT_EQ(ReadFile(merged / file), ReadFile(one / file)) << point;
  }
  // Merging into a shard would destroy it.
  EXPECT_EQ(Cli({"merge", shards[0], shards[1], shards[2], "--out", shards[1]}).code,
            kExitBadInput);
  // Not all shards, a shard twice, or a shard of another sweep: refused.
  EXPECT_EQ(Cli({"merge", shards[0], shards[1], "--out", merged.string()}).code, kExitBadInput);
  EXPECT_EQ(Cli({"merge", shards[0], shards[0], shards[1], "--out", merged.string()}).code,
            kExitBadInput);
  const auto other = WriteSweep(dir, kGrid, 1);
  const auto stray = (dir.path() / "stray").string();
  ASSERT_EQ(Cli({"sweep", other.string(), "--out", stray, "--shard", "2/3", "--quiet"}).code,
            kExitOk);
  const CliResult mixed = Cli({"merge", shards[0], shards[1], stray, "--out", merged.string()});
  EXPECT_EQ(mixed.code, kExitBadInput);
  EXPECT_NE(mixed.err.find("another sweep"), std::string::npos) << mixed.err;
}

// `mpirun -n 2 platsim sweep`: each rank runs a shard and rank 0 merges
// them into the tables one process writes.
TEST(Sweep, UnderMpirunTheRanksMergeIntoTheSameTables) {
  if (::access("/usr/bin/mpirun", X_OK) != 0) {
    GTEST_SKIP() << "no mpirun (Debian's openmpi-bin)";
  }
  TempDir dir;
  WriteScenario(dir);
  const auto sweep = WriteSweep(dir, kGrid, 2);
  const auto one = dir.path() / "one", ranks = dir.path() / "ranks";
  ASSERT_EQ(Cli({"sweep", sweep.string(), "--out", one.string(), "--quiet"}).code, kExitOk);
  const std::string command =
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 /usr/bin/mpirun --oversubscribe "
      "-n 2 " PLATSIM_BINARY " sweep " +
      sweep.string() + " --out " + ranks.string() + " --quiet > " +
      (dir.path() / "mpirun.log").string() + " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << ReadFile(dir.path() / "mpirun.log");
  for (const char* file : {"results.csv", "points.csv", "results.json", "sweep.json"}) {
    const std::string expected = ReadFile(one / file);
    EXPECT_FALSE(expected.empty()) << file;
    EXPECT_EQ(ReadFile(ranks / file), expected) << file;
  }
  EXPECT_TRUE(std::filesystem::exists(ranks / "shards/rank-1/points/p0002/summary.json"));
}

// Upstream's batch/v1 schema, for the types and properties a rendered Job
// uses (api/openapi-spec/v3/apis__batch__v1_openapi.json): a property's
// type is "string", "integer", "boolean", "[string]", "{string}" (a map),
// "{quantity}", or a type's name, in brackets for a list of it.
struct Type {
  std::map<std::string, std::string> properties;
  std::vector<std::string> required;
};
const std::map<std::string, Type>& BatchV1() {
  static const std::map<std::string, Type> types = {
      {"Job",
       {{{"apiVersion", "string"},
         {"kind", "string"},
         {"metadata", "ObjectMeta"},
         {"spec", "JobSpec"}},
        {}}},
      {"ObjectMeta",
       {{{"name", "string"},
         {"namespace", "string"},
         {"labels", "{string}"},
         {"annotations", "{string}"}},
        {}}},
      {"JobSpec",
       {{{"activeDeadlineSeconds", "integer"},
         {"backoffLimit", "integer"},
         {"backoffLimitPerIndex", "integer"},
         {"completions", "integer"},
         {"completionMode", "string"},
         {"maxFailedIndexes", "integer"},
         {"parallelism", "integer"},
         {"suspend", "boolean"},
         {"ttlSecondsAfterFinished", "integer"},
         {"template", "PodTemplateSpec"}},
        {"template"}}},
      {"PodTemplateSpec", {{{"metadata", "ObjectMeta"}, {"spec", "PodSpec"}}, {}}},
      {"PodSpec",
       {{{"containers", "[Container]"},
         {"restartPolicy", "string"},
         {"volumes", "[Volume]"},
         {"serviceAccountName", "string"},
         {"nodeSelector", "{string}"}},
        {"containers"}}},
      {"Container",
       {{{"name", "string"},
         {"image", "string"},
         {"command", "[string]"},
         {"args", "[string]"},
         {"workingDir", "string"},
         {"env", "[EnvVar]"},
         {"volumeMounts", "[VolumeMount]"},
         {"resources", "ResourceRequirements"}},
        {"name"}}},
      {"EnvVar", {{{"name", "string"}, {"value", "string"}}, {"name"}}},
      {"VolumeMount",
       {{{"name", "string"},
         {"mountPath", "string"},
         {"readOnly", "boolean"},
         {"subPath", "string"}},
        {"name", "mountPath"}}},
      {"Volume",
       {{{"name", "string"}, {"persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"}},
        {"name"}}},
      {"PersistentVolumeClaimVolumeSource",
       {{{"claimName", "string"}, {"readOnly", "boolean"}}, {"claimName"}}},
      {"ResourceRequirements", {{{"limits", "{quantity}"}, {"requests", "{quantity}"}}, {}}},
  };
  return types;
}

// Problems of `node` as a value of `type`, each "path: what".
void Check(const input::Node& node, const std::string& type, std::vector<std::string>& out) {
  auto bad = [&](const std::string& what) { out.push_back(node.path() + ": " + what); };
  if (type == "string" || type == "integer" || type == "boolean") {
    if (!node.IsScalar()) return bad("expected a " + type);
    const std::string& s = node.scalar();
    if (type == "integer" && s.find_first_not_of("0123456789") != std::string::npos) {
      bad("expected an integer, got " + s);
    }
    if (type == "boolean" && s != "true" && s != "false") bad("expected a boolean");
    return;
  }
  if (type.front() == '[') {
    if (!node.IsSequence()) return bad("expected a list");
    for (const input::Node& e : node.Elements())
      Check(e, type.substr(1, type.size() - 2), out);
    return;
  }
  if (type.front() == '{') {
    if (!node.IsMap()) return bad("expected a mapping");
    for (const auto& e : node.Entries()) {
      if (!e.value.IsScalar()) bad("expected scalar values");
      input::Diagnostics quiet;
      if (type == "{quantity}" && !input::ReadQuantityMilli(e.value, quiet, 0, INT64_MAX)) {
        bad("not a quantity: " + e.value.scalar());
      }
    }
    return;
  }
  const Type& t = BatchV1().at(type);
  if (!node.IsMap()) return bad("expected a " + type);
  for (const auto& e : node.Entries()) {
    const auto p = t.properties.find(e.key.scalar());
    if (p == t.properties.end()) {
      bad("no property " + e.key.scalar() + " in " + type);
    } else {
      Check(e.value, p->second, out);
    }
  }
  for (const std::string& r : t.required) {
    const auto entries = node.Entries();
    if (std::none_of(entries.begin(), entries.end(),
                     [&](const auto& e) { return e.key.scalar() == r; })) {
      bad(type + " requires " + r);
    }
  }
}

// Kubernetes' DNS-1123 label: at most 63 of [a-z0-9-], alphanumeric ends.
bool IsLabel(const std::string& s) {
  return !s.empty() && s.size() <= 63 && std::isalnum(static_cast<unsigned char>(s.front())) &&
         std::isalnum(static_cast<unsigned char>(s.back())) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
         });
}

TEST(Sweep, RendersAnIndexedJobThatUpstreamsSchemaAndRulesAccept) {
  TempDir dir;
  WriteScenario(dir);
  const auto sweep = WriteSweep(dir, kGrid, 1);
  const auto jobs = dir.path() / "jobs.yaml";
  const CliResult r = Cli({"sweep", sweep.string(), "--render-job", jobs.string(), "--shards", "3",
                           "--out", "results/batch", "--image", "registry.example/platsim:1"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "results")) << "nothing runs";
  input::Diagnostics diags;
  const auto source = input::LoadYamlFile(jobs.string(), "jobs.yaml", diags);
  ASSERT_TRUE(source) << ReadFile(jobs);
  ASSERT_EQ(source->documents.size(), 2u);
  for (const input::Node& doc : source->documents) {
    std::vector<std::string> problems;
    Check(doc, "Job", problems);
    EXPECT_TRUE(problems.empty()) << problems.front();
    input::Diagnostics d;
    input::MapReader job(doc, d);
    input::MapReader spec(job.Get("spec"), d);
    // validation.go validateJobSpec: Indexed needs completions; a Job's
    // pods restart Never or OnFailure; ValidateJob: name-(completions - 1)
    // is a DNS-1123 label.
    const std::string mode = spec.String("completionMode", "NonIndexed");
    EXPECT_TRUE(mode == "NonIndexed" || mode == "Indexed");
    const std::int64_t completions = spec.Int("completions", 1, 1, 100000);
    EXPECT_LE(spec.Int("parallelism", 1, 0, INT64_MAX), 100000);
    if (mode == "Indexed") EXPECT_TRUE(spec.Has("completions"));
    input::MapReader meta(job.Get("metadata"), d);
    EXPECT_TRUE(IsLabel(meta.String("name", "") + "-" + std::to_string(completions - 1)));
    input::MapReader pod(input::MapReader(spec.Get("template"), d).Get("spec"), d);
    const std::string restart = pod.String("restartPolicy", "");
    EXPECT_TRUE(restart == "Never" || restart == "OnFailure") << restart;
  }
  // The shards' pods run the shard of their index into their own folder,
  // and the merge reads all three.
  const std::string text = ReadFile(jobs);
  EXPECT_NE(text.find("completionMode: Indexed\n  completions: 3"), std::string::npos);
  EXPECT_NE(text.find("- \"$(JOB_COMPLETION_INDEX)/3\""), std::string::npos);
  EXPECT_NE(text.find("- \"results/batch/shards/index-$(JOB_COMPLETION_INDEX)\""),
            std::string::npos);
  EXPECT_NE(text.find("- \"results/batch/shards/index-2\"\n        - \"--out\"\n        - "
                      "\"results/batch\""),
            std::string::npos)
      << text;
  EXPECT_EQ(Cli({"sweep", sweep.string(), "--render-job", jobs.string(), "--shards", "5"}).code,
            kExitBadInput)
      << "more shards than the 4 points";
  EXPECT_EQ(Cli({"sweep", sweep.string(), "--render-job", jobs.string()}).code, kExitBadInput);
}

TEST(Sweep, ADesignIsAParameterAndEveryDesignRunsWithoutOne) {
  TempDir dir;
  WriteScenario(dir, R"(  designs:
  - name: one-pod
  - name: two-pods
    spec: {timeline: [{at: 0s, scale: {deployment: app, replicas: 2}}]}
)");
  const auto sweep = WriteSweep(
      dir,
      "  parameters:\n  - {name: batch, path: 'spec.modelServers[0].maxBatchSize', values: "
      "[2, 8]}\n",
      1);
  const auto out = dir.path() / "out";
  const CliResult r = Cli({"sweep", sweep.string(), "--out", out.string(), "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto rows = ReadCsv(out / "results.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].at("design"), "one-pod");
  EXPECT_EQ(rows[1].at("design"), "two-pods");
  EXPECT_EQ(rows[2].at("batch"), "8");
  EXPECT_NEAR(std::stod(rows[1].at("default/app.gpu_hours_held")),
              2 * std::stod(rows[0].at("default/app.gpu_hours_held")), 1e-9);
  // Listed points pick their design.
  const auto listed = WriteSweep(dir, R"(  points:
  - {design: two-pods}
  - {design: one-pod, 'spec.modelServers[0].maxBatchSize': 4}
)",
                                 1);
  const CliResult l = Cli({"sweep", listed.string(), "--out", out.string(), "--quiet"});
  ASSERT_EQ(l.code, kExitOk) << l.err;
  const auto listed_rows = ReadCsv(out / "results.csv");
  ASSERT_EQ(listed_rows.size(), 2u);
  EXPECT_EQ(listed_rows[0].at("design"), "two-pods");
  EXPECT_EQ(listed_rows[0].at("spec.modelServers[0].maxBatchSize"), "");  // the scenario's
  EXPECT_EQ(listed_rows[1].at("spec.modelServers[0].maxBatchSize"), "4");
}

// scenarios/sweeps/quickstart-batching.yaml: its points load, and one of
// them (the first, a shard of one point) runs.
TEST(Sweep, TheShippedExampleRuns) {
  TempDir dir;
  const auto out = dir.path() / "out";
  const CliResult r =
      Cli({"sweep",
           (platsim::testing::SourceDir() / "scenarios/sweeps/quickstart-batching.yaml").string(),
           "--out", out.string(), "--shard", "0/9", "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto plan = nlohmann::json::parse(ReadFile(out / "sweep.json"));
  EXPECT_EQ(plan["points"].size(), 9u);
  const auto summary = nlohmann::json::parse(ReadFile(out / "points/p0001/summary.json"));
  EXPECT_EQ(summary["runs"].size(), 2u);
  EXPECT_TRUE(summary["complete"].get<bool>());
  // At 240 requests/s for the 20 minutes after the warm-up.
  EXPECT_NEAR(summary["services"]["inference/chat"]["metrics"]["arrival_rps"].get<double>(), 240,
              5);
}

TEST(Sweep, BadSweepsExit2NamingTheLineAndNothingRuns) {
  TempDir dir;
  WriteScenario(dir);
  const auto out = dir.path() / "out";
  struct Case {
    std::string parameters;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"  parameters:\n  - {path: 'spec.nodePools[nope].count', values: [1]}\n",
       "sweep.yaml:8:5: spec.parameters[0]: path spec.nodePools[nope].count: spec.nodePools has "
       "no element [nope]"},
      {"  parameters:\n  - {path: 'spec.manifests[Deployment/ghost].spec.replicas', values: [1]}\n",
       "no manifest Deployment/ghost among spec.manifests"},
      {"  parameters:\n  - {path: 'spec.nodePools[0.count', values: [1]}\n",
       "a '[' without its ']'"},
      {"  parameters:\n  - {path: spec.seed}\n", "give values (a list) or range"},
      {"  parameters:\n  - {path: spec.seed, range: {from: 5, to: 1, step: 1}}\n",
       "from must be at most to"},
      {"  parameters:\n  - {path: spec.seed, values: [1], colour: red}\n", "colour"},
      {"  points: []\n", "spec.points: expected a list of at least one point"},
      {"  duration: 2m\n", "give parameters (a grid) or points (a list)"},
      {"  parameters:\n  - {path: design, values: [nope]}\n", "no design nope"},
      {"  parameters:\n  - {path: spec.seed, values: [1, 2]}\n", "spec.seed is the sweep's"},
      {"  parameters: []\n", "expected a list of at least one parameter"},
      {"  parameters:\n  - {path: spec.duration, range: {from: 999999999999999, to: "
       "999999999999999.125, step: 0.01}}\n",
       "comes twice"},
      {"  parameters:\n  - {path: a, range: {from: 1, to: 1000, step: 1}}\n"
       "  - {path: b, range: {from: 1, to: 1000, step: 1}}\n",
       "the grid has 1e+06 points, more than 100000"},
      // A value the scenario refuses: the point's own file and line.
      {"  parameters:\n  - {path: 'spec.modelServers[0].maxBatchSize', values: [abc]}\n",
       "point p0001 ({\"spec.modelServers[0].maxBatchSize\":\"abc\"}) does not load"},
  };
  for (const Case& c : cases) {
    const auto sweep = WriteSweep(dir, c.parameters);
    const CliResult r = Cli({"sweep", sweep.string(), "--out", out.string(), "--force"});
    EXPECT_EQ(r.code, kExitBadInput) << c.parameters;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.parameters << r.err;
    EXPECT_FALSE(std::filesystem::exists(out / "results.csv")) << c.parameters;
  }
  const auto sweep = WriteSweep(dir, kGrid);
  for (const char* shard : {"3/3", "1", "a/2", "0/0"}) {
    const CliResult r = Cli({"sweep", sweep.string(), "--out", out.string(), "--shard", shard});
    EXPECT_EQ(r.code, kExitBadInput) << shard;
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
  }
  // A folder that holds something else is left alone.
  dir.Write("busy/notes.txt", "mine");
  const CliResult busy = Cli({"sweep", sweep.string(), "--out", (dir.path() / "busy").string()});
  EXPECT_EQ(busy.code, kExitBadInput);
  EXPECT_EQ(ReadFile(dir.path() / "busy/notes.txt"), "mine");
}

}  // namespace
}  // namespace platsim::tools
