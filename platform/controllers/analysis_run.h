// AnalysisRuns as Argo Rollouts runs them (argoproj/argo-rollouts
// analysis/analysis.go, utils/analysis): each metric is measured at its
// initialDelay, then every interval (10 s after an error,
// DefaultErrorRetryInterval), until its count; each measurement is
// Successful, Failed, Inconclusive or Error (EvaluateResult); a metric fails
// once failed > failureLimit, is inconclusive once inconclusive >
// inconclusiveLimit, errs once consecutive errors > consecutiveErrorLimit
// (assessMetricFailureInconclusiveOrError), and otherwise succeeds at its
// count. The run takes its worst metric's phase once every metric is done
// (assessRunStatus); a Failed, Error or Inconclusive metric ends the run at
// once (IsTerminating). A metric with an interval and no count runs until
// the run is terminated, which counts as Successful.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_ANALYSIS_RUN_H_
#define PLATSIM_PLATFORM_CONTROLLERS_ANALYSIS_RUN_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "platform/argo.h"
#include "platform/events.h"
#include "sim/engine.h"

namespace platsim::platform {

enum class AnalysisPhase { kPending, kRunning, kSuccessful, kFailed, kError, kInconclusive };
const char* AnalysisPhaseName(AnalysisPhase phase);

// One measurement: its phase (never kRunning or kPending), the value as
// upstream writes it (a number, or [v1,v2] for a vector) and, for an
// Error, why.
struct Measurement {
  AnalysisPhase phase = AnalysisPhase::kSuccessful;
  std::string value;
  std::string message;
};

class AnalysisRunner {
 public:
  // Takes one measurement of a metric whose query has its arguments
  // resolved.
  using Measure = std::function<Measurement(const AnalysisMetric& metric)>;
  AnalysisRunner(sim::Engine& engine, EventSink& events, Measure measure);

  // Starts run `name` (namespace/name) of `metrics` now; `changed` is called
  // each time the run's phase changes.
  void Start(const std::string& name, std::vector<AnalysisMetric> metrics,
             std::function<void()> changed);
  bool Exists(const std::string& name) const { return runs_.count(name) > 0; }
  AnalysisPhase PhaseOf(const std::string& name) const;
  // Why the run ended as it did (upstream's run message), or empty.
  std::string MessageOf(const std::string& name) const;
  // spec.terminate: no more measurements; a run still running ends
  // Successful ("Run Terminated").
  void Terminate(const std::string& name);

  // Every run so far, in the order started: for the run summary.
  struct Summary {
    std::string name;
    sim::Time started = 0, ended = -1;  // -1: still running
    AnalysisPhase phase = AnalysisPhase::kRunning;
    std::string message;
    int measurements = 0;
    std::string last_value;  // of the last measurement of any metric
  };
  std::vector<Summary> Summaries() const;

 private:
  struct MetricState {
    AnalysisMetric spec;
    AnalysisPhase phase = AnalysisPhase::kRunning;
    int count = 0;  // measurements that were not errors
    int failed = 0, inconclusive = 0, errors = 0, consecutive_errors = 0;
    std::string last_value, last_message;
    sim::EventId next;
  };
  struct Run {
    std::string name;
    sim::Time started = 0, ended = -1;
    std::vector<MetricState> metrics;
    AnalysisPhase phase = AnalysisPhase::kRunning;
    std::string message;
    int measurements = 0;
    std::string last_value;
    std::function<void()> changed;
  };
  void Take(Run& run, std::size_t metric);
  void Assess(Run& run, bool terminating);
  void End(Run& run, AnalysisPhase phase, std::string message);

  sim::Engine& engine_;
  EventSink& events_;
  Measure measure_;
  std::map<std::string, Run> runs_;
  std::vector<std::string> order_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_ANALYSIS_RUN_H_
