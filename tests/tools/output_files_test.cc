#include "tools/output_files.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/testing/temp_dir.h"
#include "tools/output.h"

namespace platsim::tools {
namespace {

using platsim::testing::ReadFile;
using platsim::testing::TempDir;
namespace fs = std::filesystem;

TEST(OutputFile, HasItsFinalNameOnlyOnceCommitted) {
  TempDir dir;
  const fs::path path = dir.path() / "summary.json";
  {
    OutputFile file(path);
    file.stream() << "{}\n";
    EXPECT_FALSE(fs::exists(path));
    EXPECT_TRUE(fs::exists(dir.path() / "summary.json.partial"));
    file.Commit();
  }
  EXPECT_EQ(ReadFile(path), "{}\n");
  EXPECT_FALSE(fs::exists(dir.path() / "summary.json.partial"));
}

TEST(OutputFile, AFileNotCommittedLeavesNothing) {
  TempDir dir;
  { OutputFile(dir.path() / "events.jsonl").stream() << "x\n"; }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(OutputFile, AFullDiskIsReportedAtTheWriteWithTheFileAndReason) {
  TempDir dir;
  fs::create_symlink("/dev/full", dir.path() / "timeseries.csv.partial");
  OutputFile file(dir.path() / "timeseries.csv");
  const std::string line(1000, 'x');
  int written = 0;
  try {
    for (; written < 1000; ++written)
      file.stream() << line << '\n';
    FAIL() << "a megabyte went to /dev/full without an error";
  } catch (const OutputError& e) {
    EXPECT_LT(written, 100) << "reported as soon as the buffer is written, not at the end";
    EXPECT_EQ(std::string(e.what()), (dir.path() / "timeseries.csv.partial").string() +
                                         ": write failed: No space left on device");
  }
  EXPECT_FALSE(fs::exists(dir.path() / "timeseries.csv"));
}

TEST(OutputFile, AnUncreatableFileIsReportedWithTheReason) {
  TempDir dir;
  fs::create_directories(dir.path() / "summary.json.partial");
  try {
    OutputFile file(dir.path() / "summary.json");
    FAIL() << "created a file over a folder";
  } catch (const OutputError& e) {
    EXPECT_NE(std::string(e.what()).find("summary.json.partial: create failed: Is a directory"),
              std::string::npos)
        << e.what();
  }
}

std::string Summary(const std::string& name, const std::string& file) {
  return R"({"kind": "RunSummary", "scenario": {"name": ")" + name + R"(", "file": ")" + file +
         "\"}}\n";
}

TEST(PrepareOutputFolder, ReplacesAnEarlierRunOfTheSameScenarioOnly) {
  struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;  // already in the folder
    bool force;
    std::string refusal;  // "" if the folder is made ready
  };
  const std::vector<Case> cases = {
      {"empty", {}, false, ""},
      {"unrelated files", {{"notes.txt", "mine"}}, false, ""},
      {"same scenario",
       {{"summary.json", Summary("s", "s.yaml")}, {"timeseries.csv", "old"}},
       false,
       ""},
      {"another scenario",
       {{"summary.json", Summary("other", "o.yaml")}},
       false,
       "holds the results of scenario 'other' (o.yaml); give --force"},
      {"another scenario, forced", {{"summary.json", Summary("other", "o.yaml")}}, true, ""},
      {"not platsim's summary",
       {{"summary.json", "{\"total\": 3}"}},
       false,
       "holds a summary.json that platsim did not write"},
      {"a kind that is not a string",
       {{"summary.json", "{\"kind\": 1, \"scenario\": {\"name\": 2}}"}},
       false,
       "holds a summary.json that platsim did not write"},
      {"a scenario name that is not a string",
       {{"summary.json", "{\"kind\": \"RunSummary\", \"scenario\": {\"name\": [1]}}"}},
       false,
       "holds the results of scenario ''"},
      {"outputs without a summary",
       {{"events.jsonl", "{}"}},
       false,
       "holds run outputs with no summary.json"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    for (const auto& [name, text] : c.files)
      dir.Write(name, text);
    const std::string why = PrepareOutputFolder(dir.path(), "s", "s.yaml", c.force);
    if (c.refusal.empty()) {
      EXPECT_EQ(why, "") << c.name;
      for (const auto& name : RunOutputNames())
        EXPECT_FALSE(fs::exists(dir.path() / name)) << c.name << ": " << name << " left behind";
      if (c.name == "unrelated files") {
        EXPECT_EQ(ReadFile(dir.path() / "notes.txt"), "mine");
      }
    } else {
      EXPECT_NE(why.find(c.refusal), std::string::npos) << c.name << ": " << why;
      for (const auto& [name, text] : c.files)
        EXPECT_EQ(ReadFile(dir.path() / name), text) << c.name << ": touched " << name;
    }
  }
}

}  // namespace
}  // namespace platsim::tools

namespace platsim::tools {
namespace {

// A run stopped early covers a shorter window: it is not averaged with the
// complete ones, unless none completed.
TEST(WriteSummary, PoolsCompleteRunsOnly) {
  platform::Scenario scenario;
  scenario.name = "s";
  auto run = [](bool complete, double rps) {
    platform::RunResult r;
    r.ending = complete ? platform::RunResult::Ending::kComplete
                        : platform::RunResult::Ending::kInterrupted;
    r.stopped_because = complete ? "" : "interrupted";
    r.services.push_back({"default/app", {{"throughput_rps", rps}}});
    return r;
  };
  std::ostringstream out;
  WriteSummary(out, scenario, 1, 3, {run(true, 10.0), run(true, 12.0), run(false, 1000.0)});
  auto j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["complete"], false);
  EXPECT_EQ(j["pooled_runs"], 2);
  EXPECT_EQ(j["services"]["default/app"]["metrics"]["throughput_rps"], 11.0);
  EXPECT_EQ(j["runs"][2]["stopped_because"], "interrupted");
  std::ostringstream only;
  WriteSummary(only, scenario, 1, 3, {run(false, 1000.0)});
  j = nlohmann::json::parse(only.str());
  EXPECT_EQ(j["pooled_runs"], 1);
  EXPECT_EQ(j["services"]["default/app"]["metrics"]["throughput_rps"], 1000.0);
}

}  // namespace
}  // namespace platsim::tools
