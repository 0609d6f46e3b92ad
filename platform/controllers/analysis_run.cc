#include "platform/controllers/analysis_run.h"

#include <algorithm>

namespace platsim::platform {
namespace {

// After an Error, the next measurement comes this soon whatever the
// interval (analysis.go DefaultErrorRetryInterval).
constexpr sim::Time kErrorRetryInterval = 10 * sim::kSecond;

// How bad a phase is, for the run's phase (analysis.go assessRunStatus:
// Successful < Running < Pending < Inconclusive < Error < Failed).
int Severity(AnalysisPhase p) {
  switch (p) {
    case AnalysisPhase::kSuccessful:
      return 0;
    case AnalysisPhase::kRunning:
      return 1;
    case AnalysisPhase::kPending:
      return 2;
    case AnalysisPhase::kInconclusive:
      return 3;
    case AnalysisPhase::kError:
      return 4;
    case AnalysisPhase::kFailed:
      return 5;
  }
  return 0;
}

bool Completed(AnalysisPhase p) {
  return p != AnalysisPhase::kRunning && p != AnalysisPhase::kPending;
}

}  // namespace

const char* AnalysisPhaseName(AnalysisPhase phase) {
  switch (phase) {
    case AnalysisPhase::kPending:
      return "Pending";
    case AnalysisPhase::kRunning:
      return "Running";
    case AnalysisPhase::kSuccessful:
      return "Successful";
    case AnalysisPhase::kFailed:
      return "Failed";
    case AnalysisPhase::kError:
      return "Error";
    case AnalysisPhase::kInconclusive:
      return "Inconclusive";
  }
  return "";
}

AnalysisRunner::AnalysisRunner(sim::Engine& engine, EventSink& events, Measure measure)
    : engine_(engine), events_(events), measure_(std::move(measure)) {}

void AnalysisRunner::Start(const std::string& name, std::vector<AnalysisMetric> metrics,
                           std::function<void()> changed) {
  Run& run = runs_[name];
  run.name = name;
  run.started = engine_.Now();
  run.changed = std::move(changed);
  order_.push_back(name);
  events_.Emit(
      {engine_.Now(), "AnalysisRunRunning", "AnalysisRun", name, "Analysis Run started", {}});
  for (AnalysisMetric& m : metrics) {
    MetricState s;
    s.spec = std::move(m);
    run.metrics.push_back(std::move(s));
  }
  // A run without metrics is done at once.
  if (run.metrics.empty()) {
    End(run, AnalysisPhase::kSuccessful, "");
    return;
  }
  for (std::size_t i = 0; i < run.metrics.size(); ++i) {
    run.metrics[i].next =
        engine_.ScheduleCallbackAfter(run.metrics[i].spec.initial_delay, [this, name, i] {
          const auto it = runs_.find(name);
          if (it != runs_.end()) Take(it->second, i);
        });
  }
}

void AnalysisRunner::Take(Run& run, std::size_t index) {
  if (Completed(run.phase)) return;
  MetricState& m = run.metrics[index];
  const Measurement result = measure_(m.spec);
  ++run.measurements;
  run.last_value = m.last_value = result.value;
  m.last_message = result.message;
  if (result.phase == AnalysisPhase::kError) {
    ++m.errors;
    ++m.consecutive_errors;
  } else {
    m.consecutive_errors = 0;
    ++m.count;
    if (result.phase == AnalysisPhase::kFailed) ++m.failed;
    if (result.phase == AnalysisPhase::kInconclusive) ++m.inconclusive;
  }
  // assessMetricFailureInconclusiveOrError, then the count.
  const AnalysisMetric& spec = m.spec;
  AnalysisPhase phase = AnalysisPhase::kRunning;
  std::string why;
  if (spec.failure_limit >= 0 && m.failed > spec.failure_limit) {
    phase = AnalysisPhase::kFailed;
    why = "failed (" + std::to_string(m.failed) + ") > failureLimit (" +
          std::to_string(spec.failure_limit) + ")";
  }
  if (spec.inconclusive_limit >= 0 && m.inconclusive > spec.inconclusive_limit) {
    phase = AnalysisPhase::kInconclusive;
    why = "inconclusive (" + std::to_string(m.inconclusive) + ") > inconclusiveLimit (" +
          std::to_string(spec.inconclusive_limit) + ")";
  }
  if (spec.consecutive_error_limit >= 0 && m.consecutive_errors > spec.consecutive_error_limit) {
    phase = AnalysisPhase::kError;
    why = "consecutiveErrors (" + std::to_string(m.consecutive_errors) +
          ") > consecutiveErrorLimit (" + std::to_string(spec.consecutive_error_limit) + ")";
  }
  // EffectiveCount: 1 with neither count nor interval; unlimited with an
  // interval and no count.
  const int effective = spec.count > 0 ? spec.count : (spec.interval > 0 ? 0 : 1);
  if (phase == AnalysisPhase::kRunning && effective > 0 && m.count >= effective) {
    phase = AnalysisPhase::kSuccessful;
  }
  if (phase != AnalysisPhase::kRunning) {
    m.phase = phase;
    std::string message = "Metric \"" + spec.name + "\" assessed " + AnalysisPhaseName(phase);
    if (!why.empty()) message += " due to " + why;
    if (!m.last_message.empty()) message += ": \"Error Message: " + m.last_message + "\"";
    if (phase != AnalysisPhase::kSuccessful) run.message = message;
    events_.Emit({engine_.Now(),
                  std::string("Metric") + AnalysisPhaseName(phase),
                  "AnalysisRun",
                  run.name,
                  "Metric '" + spec.name + "' Completed. Result: " + AnalysisPhaseName(phase),
                  {{"value", m.last_value}}});
    Assess(run, phase != AnalysisPhase::kSuccessful);
    return;
  }
  const sim::Time next =
      result.phase == AnalysisPhase::kError ? kErrorRetryInterval : spec.interval;
  m.next = engine_.ScheduleCallbackAfter(next, [this, name = run.name, index] {
    const auto it = runs_.find(name);
    if (it != runs_.end()) Take(it->second, index);
  });
}

void AnalysisRunner::Assess(Run& run, bool terminating) {
  bool all = true;
  AnalysisPhase worst = AnalysisPhase::kSuccessful;
  for (const MetricState& m : run.metrics) {
    if (!Completed(m.phase)) all = false;
    if (Severity(m.phase) > Severity(worst)) worst = m.phase;
  }
  // A Failed, Error or Inconclusive metric ends the run: the others stop
  // and count as done.
  if (terminating || all) {
    if (!Completed(worst)) worst = AnalysisPhase::kSuccessful;
    End(run, worst, worst == AnalysisPhase::kSuccessful ? "" : run.message);
  }
}

void AnalysisRunner::End(Run& run, AnalysisPhase phase, std::string message) {
  for (MetricState& m : run.metrics)
    engine_.Cancel(m.next);
  run.phase = phase;
  run.message = std::move(message);
  run.ended = engine_.Now();
  events_.Emit({engine_.Now(), std::string("AnalysisRun") + AnalysisPhaseName(phase), "AnalysisRun",
                run.name, std::string("Analysis Completed. Result: ") + AnalysisPhaseName(phase),
                run.message.empty()
                    ? std::vector<std::pair<std::string, std::string>>{}
                    : std::vector<std::pair<std::string, std::string>>{{"detail", run.message}}});
  if (run.changed) run.changed();
}

AnalysisPhase AnalysisRunner::PhaseOf(const std::string& name) const {
  const auto it = runs_.find(name);
  return it == runs_.end() ? AnalysisPhase::kPending : it->second.phase;
}

std::string AnalysisRunner::MessageOf(const std::string& name) const {
  const auto it = runs_.find(name);
  return it == runs_.end() ? std::string() : it->second.message;
}

void AnalysisRunner::Terminate(const std::string& name) {
  const auto it = runs_.find(name);
  if (it == runs_.end() || Completed(it->second.phase)) return;
  Run& run = it->second;
  AnalysisPhase worst = AnalysisPhase::kSuccessful;
  for (const MetricState& m : run.metrics) {
    if (Completed(m.phase) && Severity(m.phase) > Severity(worst)) worst = m.phase;
  }
  End(run, worst, worst == AnalysisPhase::kSuccessful ? "Run Terminated" : run.message);
}

std::vector<AnalysisRunner::Summary> AnalysisRunner::Summaries() const {
  std::vector<Summary> out;
  for (const std::string& name : order_) {
    const Run& r = runs_.at(name);
    out.push_back({r.name, r.started, r.ended, r.phase, r.message, r.measurements, r.last_value});
  }
  return out;
}

}  // namespace platsim::platform
