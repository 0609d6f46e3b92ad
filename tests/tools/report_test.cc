// platsim report: from a run with a rollout and an autoscaler, from designs
// side by side and from a sweep, a report whose every figure exists and is
// not empty, and which headless Chromium renders.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"
#include "tools/cli.h"

extern char** environ;

namespace platsim::tools {
namespace {

using platsim::testing::Cli;
using platsim::testing::CliResult;
using platsim::testing::ReadFile;
using platsim::testing::SourceDir;
using platsim::testing::TempDir;

// A PNG's width and height from its header; 0 x 0 if it is not a PNG.
std::pair<int, int> PngSize(const std::string& png) {
  if (png.size() < 24 || png.compare(1, 3, "PNG") != 0) return {0, 0};
  auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned char>(png[at]) << 24) |
           (static_cast<unsigned char>(png[at + 1]) << 16) |
           (static_cast<unsigned char>(png[at + 2]) << 8) | static_cast<unsigned char>(png[at + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

// Every figure of the report: in figures/, a PNG of real size and content
// (a blank plot compresses to a few kilobytes), embedded in report.html.
void ExpectFigures(const std::filesystem::path& report, int at_least) {
  const std::string page = ReadFile(report / "report.html");
  ASSERT_FALSE(page.empty());
  int figures = 0;
  for (const auto& e : std::filesystem::directory_iterator(report / "figures")) {
    ++figures;
    const std::string png = ReadFile(e.path());
    const auto [w, h] = PngSize(png);
    EXPECT_GT(w, 300) << e.path();
    EXPECT_GT(h, 150) << e.path();
    EXPECT_GT(png.size(), 15000u) << e.path();
  }
  EXPECT_GE(figures, at_least);
  // (std::regex recurses per character: too deep for megabytes of base64.)
  int embedded = 0;
  for (std::size_t at = page.find("<img "); at != std::string::npos;
       at = page.find("<img ", at + 1)) {
    const std::size_t end = page.find('>', at);
    embedded += page.substr(at, std::min<std::size_t>(end - at, 400))
                    .find("src=\"data:image/png;base64,") != std::string::npos;
  }
  EXPECT_EQ(embedded, figures);
}

// Headless Chromium's screenshot of the page; "" if Chromium is not there.
std::string Screenshot(const std::filesystem::path& page, const std::filesystem::path& png) {
  std::string chromium;
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (::access(candidate, X_OK) == 0) chromium = candidate;
  }
  if (chromium.empty()) return "";
  const std::string shot = "--screenshot=" + png.string();
  const std::string url = "file://" + std::filesystem::absolute(page).string();
  std::vector<std::string> args = {chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--hide-scrollbars",
                                   "--window-size=1200,2000",
                                   shot,
                                   url};
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return "";
  int status = 0;
  waitpid(pid, &status, 0);
  return ReadFile(png);
}

TEST(Report, ARunsReportHasEveryFigureAndChromiumRendersIt) {
  TempDir dir;
  const auto run = dir.path() / "run";
  // An HPA scaling a service through a compressed day: decisions for the
  // timeline.
  ASSERT_EQ(Cli({"run", (SourceDir() / "scenarios/embeddings-h100-hpa.yaml").string(), "--out",
                 run.string(), "--duration", "40m", "--replications", "2", "--quiet"})
                .code,
            kExitOk);
  const auto report = dir.path() / "report";
  const CliResult r =
      Cli({"report", run.string(), "--out", report.string(), "--title", "Embeddings with an HPA"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  ExpectFigures(report, 4);
  const std::string page = ReadFile(report / "report.html");
  EXPECT_NE(page.find("<title>Embeddings with an HPA</title>"), std::string::npos);
  EXPECT_NE(page.find("± "), std::string::npos) << "confidence intervals of two replications";
  // The timeline holds the HPA's rescales.
  EXPECT_NE(page.find("alt=\"Each mark is an event"), std::string::npos);
  const std::string shot = Screenshot(report / "report.html", dir.path() / "shot.png");
  if (shot.empty()) GTEST_SKIP() << "no Chromium (Debian's chromium package) to render with";
  const auto [w, h] = PngSize(shot);
  EXPECT_EQ(w, 1200);
  EXPECT_EQ(h, 2000);
  EXPECT_GT(shot.size(), 100000u) << "a rendered page of tables and plots, not a blank one";
}

// platsim run --trace: Chrome's trace format, for the window asked for.
TEST(Trace, PodsLifecyclesBatchesAndDecisionsInTheWindow) {
  TempDir dir;
  const auto run = dir.path() / "run";
  // The KPA design: a burst at 10 minutes scales the revision from 1 to 8.
  const CliResult r = Cli({"run", (SourceDir() / "scenarios/hpa-vs-kpa.yaml").string(), "--design",
                           "kpa", "--duration", "20m", "--trace", "--trace-window", "9m,13m",
                           "--out", run.string(), "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const auto trace = nlohmann::json::parse(ReadFile(run / "trace.json"));
  EXPECT_EQ(trace["otherData"]["window_s"], nlohmann::json::array({540.0, 780.0}));
  int batches = 0, phases = 0, scaling = 0;
  std::set<int> pods_with_batches;
  std::set<std::string> processes;
  for (const auto& e : trace["traceEvents"]) {
    const std::string ph = e["ph"];
    if (ph == "M" && e["name"] == "process_name") processes.insert(e["args"]["name"]);
    if (ph == "i") {
      EXPECT_GE(e["ts"].get<double>(), 540e6);
      EXPECT_LT(e["ts"].get<double>(), 780e6);
      scaling += e["name"].get<std::string>().rfind("Scaling PodAutoscaler", 0) == 0;
    }
    if (ph != "X") continue;
    const double start = e["ts"], end = start + e["dur"].get<double>();
    EXPECT_LE(start, 780e6);  // overlapping the window
    EXPECT_GE(end, 540e6);
    EXPECT_GE(e["dur"].get<double>(), 0);
    if (e.contains("args") && e["args"].contains("size")) {
      ++batches;
      EXPECT_GE(e["args"]["size"].get<int>(), 1);
      pods_with_batches.insert(e["tid"].get<int>());
    } else {
      ++phases;
    }
  }
  EXPECT_EQ(processes, (std::set<std::string>{"controllers", "pods"}));
  EXPECT_GE(scaling, 1) << "the scale-up to 8 at the burst";
  EXPECT_GT(batches, 1000);
  EXPECT_GE(pods_with_batches.size(), 8u) << "the 8 pods serving the burst";
  EXPECT_GT(phases, 8 * 3) << "the new pods scheduled, pulled, started";
  // Without --trace, no trace.json (and a rerun removes the old one).
  ASSERT_EQ(Cli({"run", (SourceDir() / "scenarios/hpa-vs-kpa.yaml").string(), "--design", "kpa",
                 "--duration", "20m", "--out", run.string(), "--quiet"})
                .code,
            kExitOk);
  EXPECT_FALSE(std::filesystem::exists(run / "trace.json"));
  EXPECT_EQ(Cli({"run", (SourceDir() / "scenarios/hpa-vs-kpa.yaml").string(), "--trace",
                 "--trace-window", "5m", "--out", run.string(), "--quiet"})
                .code,
            kExitBadInput);
}

TEST(Report, DesignsSideBySideAndASweep) {
  TempDir dir;
  const auto designs = dir.path() / "designs";
  ASSERT_EQ(Cli({"run", (SourceDir() / "scenarios/hpa-vs-kpa.yaml").string(), "--out",
                 designs.string(), "--duration", "20m", "--quiet"})
                .code,
            kExitOk);
  const auto report = dir.path() / "designs-report";
  const CliResult r = Cli({"report", designs.string(), "--out", report.string()});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  ExpectFigures(report, 4);
  // One design's own folder (its summary names the design).
  const CliResult one =
      Cli({"report", (designs / "kpa").string(), "--out", (dir.path() / "kpa-report").string()});
  EXPECT_EQ(one.code, kExitOk) << one.err;
  const std::string page = ReadFile(report / "report.html");
  for (const char* design : {"cpu-hpa", "inflight-hpa", "kpa"})
    EXPECT_NE(page.find(std::string("<td>") + design), std::string::npos) << design;

  const auto sweep = dir.Write("sweep.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Sweep
metadata: {name: batching}
spec:
  scenario: )" + (SourceDir() / "scenarios/quickstart.yaml").string() +
                                                 R"(
  replications: 2
  duration: 20m
  parameters:
  - {name: batch, path: 'spec.modelServers[deployment=chat].maxBatchSize', values: [2, 4, 8]}
  - {name: replicas, path: 'spec.manifests[Deployment/inference/chat].spec.replicas',
     values: [3, 4]}
)");
  const auto out = dir.path() / "sweep";
  ASSERT_EQ(Cli({"sweep", sweep.string(), "--out", out.string(), "--quiet"}).code, kExitOk);
  const auto sweep_report = dir.path() / "sweep-report";
  const CliResult s = Cli({"report", out.string(), "--out", sweep_report.string()});
  ASSERT_EQ(s.code, kExitOk) << s.err;
  // The Pareto chart and one against each of the two parameters.
  ExpectFigures(sweep_report, 3);
  EXPECT_NE(ReadFile(sweep_report / "report.html").find("the frontier joins"), std::string::npos);

  // Not a platsim folder, or runs and sweeps mixed: bad input.
  EXPECT_EQ(Cli({"report", dir.path().string(), "--out", report.string()}).code, kExitBadInput);
  EXPECT_EQ(Cli({"report", designs.string(), out.string(), "--out", report.string()}).code,
            kExitBadInput);
}

}  // namespace
}  // namespace platsim::tools
