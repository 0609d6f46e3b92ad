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
#include "sim/recorder.h"

namespace platsim::platform {

// Results of one service in one run. Metric names are stable (they are the
// keys of summary.json); NaN means "not defined in this run" (for example a
// latency quantile with no completed request).
struct ServiceResult {
  std::string service;  // namespace/name
  std::map<std::string, double> metrics;
};

struct RunResult {
  std::uint64_t seed = 0;
  std::vector<ServiceResult> services;
  std::uint64_t events_executed = 0;
  std::uint64_t requests = 0;  // arrivals, every service, whole run
  std::uint64_t api_writes = 0;
};

// The time-series columns, in order (after time_s and series).
const std::vector<std::string>& TimeSeriesColumns();

class Simulation {
 public:
  // Borrows everything for the simulation's lifetime. `timeseries` may be
  // null (no time series).
  Simulation(const Scenario& scenario, std::uint64_t seed, EventSink& events,
             sim::RowSink* timeseries);

  // Runs to the scenario's duration. `progress`, if set, is called with the
  // fraction of simulated time done, about every 1%.
  RunResult Run(const std::function<void(double)>& progress = {});

 private:
  const Scenario& scenario_;
  std::uint64_t seed_;
  EventSink& events_;
  sim::RowSink* timeseries_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SIMULATION_H_
