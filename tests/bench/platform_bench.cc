// The quickstart scenario end to end (loader excluded, everything else
// included): simulated requests per second of wall time.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "models/input/diagnostics.h"
#include "platform/scenario.h"
#include "platform/simulation.h"

namespace platsim::platform {
namespace {

void BM_Quickstart(benchmark::State& state) {
  input::Diagnostics diags;
  const auto scenario =
      LoadScenario(std::string(PLATSIM_SOURCE_DIR) + "/scenarios/quickstart.yaml", diags);
  if (!scenario) {
    state.SkipWithError("cannot load scenarios/quickstart.yaml");
    return;
  }
  std::uint64_t requests = 0, events = 0;
  for (auto _ : state) {
    NullEventSink sink;
    Simulation sim(*scenario, scenario->seed, sink, nullptr);
    const RunResult r = sim.Run();
    requests += r.requests;
    events += r.events_executed;
  }
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Quickstart)->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace
}  // namespace platsim::platform
