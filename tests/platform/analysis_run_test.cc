#include "platform/controllers/analysis_run.h"

#include <gtest/gtest.h>

#include <deque>

namespace platsim::platform {
namespace {

class NullSink : public EventSink {
 public:
  void Emit(const ClusterEvent& e) override { events.push_back(e); }
  std::vector<ClusterEvent> events;
};

// Measurements handed out in order, per metric name; the times they were
// taken at.
struct Script {
  std::map<std::string, std::deque<AnalysisPhase>> phases;
  std::map<std::string, std::vector<double>> times;
};

struct Fixture {
  sim::Engine engine{1};
  NullSink sink;
  Script script;
  AnalysisRunner runner{engine, sink, [this](const AnalysisMetric& m) {
                          script.times[m.name].push_back(sim::ToSeconds(engine.Now()));
                          auto& q = script.phases[m.name];
                          const AnalysisPhase p =
                              q.empty() ? AnalysisPhase::kSuccessful : q.front();
                          if (!q.empty()) q.pop_front();
                          return Measurement{p, "1", p == AnalysisPhase::kError ? "boom" : ""};
                        }};
  int changes = 0;
  void Start(std::vector<AnalysisMetric> metrics) {
    runner.Start("ns/run", std::move(metrics), [this] { ++changes; });
  }
};

AnalysisMetric Metric(const std::string& name, sim::Time interval, int count) {
  AnalysisMetric m;
  m.name = name;
  m.interval = interval;
  m.count = count;
  return m;
}

constexpr auto kS = AnalysisPhase::kSuccessful;
constexpr auto kF = AnalysisPhase::kFailed;
constexpr auto kE = AnalysisPhase::kError;
constexpr auto kI = AnalysisPhase::kInconclusive;

TEST(AnalysisRun, SucceedsAtItsCountOneIntervalApart) {
  Fixture f;
  f.Start({Metric("m", 30 * sim::kSecond, 3)});
  f.engine.RunUntil(10 * sim::kMinute);
  EXPECT_EQ(f.script.times["m"], (std::vector<double>{0, 30, 60}));
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kS);
  EXPECT_EQ(f.runner.Summaries()[0].ended, 60 * sim::kSecond);
  EXPECT_EQ(f.changes, 1);
}

TEST(AnalysisRun, FailsOnceFailuresExceedTheLimit) {
  Fixture f;
  AnalysisMetric m = Metric("m", 30 * sim::kSecond, 10);
  m.failure_limit = 1;
  f.script.phases["m"] = {kS, kF, kS, kF};
  f.Start({m});
  f.engine.RunUntil(10 * sim::kMinute);
  // The second failure, the fourth measurement, at 90 s.
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kF);
  EXPECT_EQ(f.script.times["m"].size(), 4u);
  EXPECT_EQ(f.runner.Summaries()[0].ended, 90 * sim::kSecond);
  EXPECT_EQ(f.runner.MessageOf("ns/run"),
            "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)");
}

TEST(AnalysisRun, ErrorsRetryEveryTenSecondsAndErrAfterTheFifthInARow) {
  Fixture f;
  f.script.phases["m"] = {kE, kE, kE, kE, kE};
  f.Start({Metric("m", 5 * sim::kMinute, 3)});
  f.engine.RunUntil(sim::kHour);
  // DefaultErrorRetryInterval 10 s, whatever the interval; the limit of 4
  // is exceeded by the fifth consecutive error.
  EXPECT_EQ(f.script.times["m"], (std::vector<double>{0, 10, 20, 30, 40}));
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kE);
  EXPECT_EQ(f.runner.MessageOf("ns/run"),
            "Metric \"m\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "
            "\"Error Message: boom\"");
}

TEST(AnalysisRun, ASuccessEndsAStreakOfErrorsAndErrorsDoNotCount) {
  Fixture f;
  f.script.phases["m"] = {kE, kE, kE, kE, kS, kE, kE, kE, kE, kS};
  f.Start({Metric("m", 60 * sim::kSecond, 2)});
  f.engine.RunUntil(sim::kHour);
  // 0,10,20,30 errors; 40 success; then 100 (the interval), 110, 120, 130
  // errors; 140 success: the count of 2 is reached.
  EXPECT_EQ(f.script.times["m"], (std::vector<double>{0, 10, 20, 30, 40, 100, 110, 120, 130, 140}));
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kS);
}

TEST(AnalysisRun, InconclusiveBeyondItsLimit) {
  Fixture f;
  f.script.phases["m"] = {kI};
  f.Start({Metric("m", 30 * sim::kSecond, 5)});
  f.engine.RunUntil(sim::kHour);
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kI);
  EXPECT_EQ(f.script.times["m"].size(), 1u);
}

TEST(AnalysisRun, WithAnIntervalAndNoCountItRunsUntilTerminated) {
  Fixture f;
  AnalysisMetric m = Metric("m", 30 * sim::kSecond, 0);
  m.initial_delay = 45 * sim::kSecond;
  f.Start({m});
  f.engine.RunUntil(3 * sim::kMinute);
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), AnalysisPhase::kRunning);
  EXPECT_EQ(f.script.times["m"], (std::vector<double>{45, 75, 105, 135, 165}));
  f.runner.Terminate("ns/run");
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kS);
  EXPECT_EQ(f.runner.MessageOf("ns/run"), "Run Terminated");
  f.engine.RunUntil(sim::kHour);
  EXPECT_EQ(f.script.times["m"].size(), 5u) << "no measurement after the termination";
}

TEST(AnalysisRun, OneFailedMetricEndsTheRunAndStopsTheOthers) {
  Fixture f;
  f.script.phases["bad"] = {kS, kF};
  f.Start({Metric("good", 20 * sim::kSecond, 0), Metric("bad", 30 * sim::kSecond, 4)});
  f.engine.RunUntil(sim::kHour);
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kF);
  EXPECT_EQ(f.runner.Summaries()[0].ended, 30 * sim::kSecond);
  EXPECT_EQ(f.script.times["good"], (std::vector<double>{0, 20})) << "stopped at 30 s";
}

TEST(AnalysisRun, WithoutCountOrIntervalItMeasuresOnce) {
  Fixture f;
  f.Start({Metric("m", 0, 0)});
  f.engine.RunUntil(sim::kHour);
  EXPECT_EQ(f.script.times["m"], (std::vector<double>{0}));
  EXPECT_EQ(f.runner.PhaseOf("ns/run"), kS);
}

}  // namespace
}  // namespace platsim::platform
