// One run of a scenario: builds the engine, the API server, the controllers,
// the kubelets and the data plane; creates the scenario's objects at time 0;
// runs for the scenario's duration; and reports per-service results.
// Cluster events stream to an EventSink and time series to a RowSink as the
// run goes.
#ifndef PLATSIM_PLATFORM_SIMULATION_H_
#define PLATSIM_PLATFORM_SIMULATION_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "platform/events.h"
#include "platform/scenario.h"
#include "sim/ranks.h"
#include "sim/recorder.h"

namespace platsim::platform {

class ApiServer;

// Results of one service in one run. Metric names are stable (they are the
// keys of summary.json); NaN means "not defined in this run" (for example a
// latency quantile with no completed request).
struct ServiceResult {
  std::string service;  // namespace/name
  std::map<std::string, double> metrics;
};

struct RunResult {
  std::uint64_t seed = 0;
  // How the run ended. Stopped before the scenario's duration,
  // `stopped_because` says why in words and every metric covers the time up
  // to `end_time`.
  enum class Ending { kComplete, kInterrupted, kMemoryBudget };
  Ending ending = Ending::kComplete;
  bool complete() const { return ending == Ending::kComplete; }
  sim::Time end_time = 0;
  std::string stopped_because;
  std::vector<ServiceResult> services;
  // The platform's metrics over the window (keys of summary.json's
  // `platform`): node_hours, gpu_hours_provisioned, gpu_hours_held,
  // cost_usd, energy_kwh.
  std::map<std::string, double> platform;
  // What each HPA did over the window, by HPA key (see
  // HorizontalPodAutoscalerController::Results).
  std::map<std::string, std::map<std::string, double>> autoscalers;
  // Each rollout of a Deployment (a new template), in the order they
  // started: `metrics` has started_s, ended_s and duration_s (NaN while it
  // had not ended), steps (ReplicaSet scalings) and what the requests to
  // the Services that select its pods did from its start to its end (or
  // the end of the run): arrived, completed, failed, timed_out, dropped.
  // An Argo Rollout's updates are here too (kind "Rollout"), with scalings
  // (ReplicaSet scalings; steps are its canary steps completed), the abort's
  // message, and its AnalysisRuns.
  struct Rollout {
    std::string deployment, replica_set, outcome;
    std::map<std::string, double> metrics;
    std::string kind = "Deployment";
    std::string message;
    std::vector<std::string> analysis_runs;
  };
  std::vector<Rollout> rollouts;
  // Every AnalysisRun, in the order started: its phase (Successful,
  // Failed, Error, Inconclusive, or Running at the end), message, last
  // measured value, and started_s, ended_s (NaN while running) and
  // measurements.
  struct AnalysisRun {
    std::string name, phase, message, last_value;
    std::map<std::string, double> metrics;
  };
  std::vector<AnalysisRun> analysis_runs;
  // By ReplicaSet key (a revision of a Deployment): its Deployment, and
  // pods, completed and failed (requests its pods ended, from the warm-up).
  struct Revision {
    std::string deployment;
    std::map<std::string, double> metrics;
  };
  std::map<std::string, Revision> revisions;
  std::uint64_t events_executed = 0;
  std::uint64_t events_run_ahead = 0;  // of those, by partitions (not in any output)
  std::uint64_t requests = 0;          // arrivals, every service, whole run
  std::uint64_t api_writes = 0;
};

// The time-series columns, in order (after time_s and series).
const std::vector<std::string>& TimeSeriesColumns();

// Bytes of memory per request in the system (arrived, not yet ended), for
// the memory budget: a request's pool record (40 bytes), its entry in the
// server's queue (16) and in its client's deadlines (16, with a timeout),
// the pool's free list, with the slack of each growing by doubling. Measured
// resident growth of an overloaded run: 59 bytes per request without a
// client timeout, 77 with one.
inline constexpr std::uint64_t kBytesPerRequestInSystem = 128;

struct RunOptions {
  // Called with the fraction of simulated time done every 1024 events and
  // at the end (for a wall-clock progress line).
  std::function<void(double)> progress;
  // Polled every 1024 events; true stops the run at once (it ends
  // incomplete, "interrupted").
  std::function<bool()> interrupted;
  // Requests in the system, over all services, past which the run stops
  // incomplete rather than grow without bound (an overloaded service with an
  // unbounded queue and no timeout). 0: no limit.
  std::uint64_t max_requests_in_system = 0;
  // Told of every batch the model servers run (for a trace); null: none.
  BatchTrace* batch_trace = nullptr;
  // Every event in one global order (sim::Engine::PinAll), instead of each
  // Service's partition running ahead: the same results, for checking.
  bool global_order = false;
  // Threads that run the partitions' stretches between the platform's own
  // events (sim::Engine::SetThreads): the same results on any number.
  int threads = 1;
  // One rank of several processes (platsim-mpi): each runs every platform
  // event and the Services of its partitions (DataPlane::SetRanks), and
  // returns the whole run's result. Null: one process. Borrowed.
  sim::Ranks* ranks = nullptr;
};

// Why `scenario` cannot run on ranks yet (what changes the platform during
// a run and reads or drains the Services' pods: autoscalers, rollouts,
// the timeline, failures, Knative, LLM servers), naming the field; empty
// if it can.
std::string WhyNotOnRanks(const Scenario& scenario);

class Simulation {
 public:
  // Borrows everything for the simulation's lifetime. `timeseries` may be
  // null (no time series).
  Simulation(const Scenario& scenario, std::uint64_t seed, EventSink& events,
             sim::RowSink* timeseries);

  // Runs to the scenario's duration, or until `options` stop it.
  RunResult Run(const RunOptions& options = {});

 private:
  // Carries out a change of the timeline (spec.timeline) through `api`.
  void ApplyTimelineAction(ApiServer& api, sim::Time now, const TimelineAction& action);
  // The timeline's actions on an Argo Rollout: apply, promote, abort.
  void ApplyRolloutAction(ApiServer& api, sim::Time now, const TimelineAction& action);

  const Scenario& scenario_;
  std::uint64_t seed_;
  EventSink& events_;
  sim::RowSink* timeseries_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SIMULATION_H_
