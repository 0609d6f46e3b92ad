// Fuzz target: any bytes as a scenario file, through the loader and, when it
// loads, a short run with its outputs written to memory. It must never crash,
// hang, leak or hit undefined behaviour; bad input must only produce
// diagnostics. Files the scenario names resolve against tests/fuzz/files/.
//
// Built two ways (tests/fuzz/CMakeLists.txt): with clang and libFuzzer
// (`tools/dev.sh fuzz`), and with any compiler as a replay of the checked-in
// corpus that runs in the test suite.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "platform/scenario.h"
#include "platform/simulation.h"
#include "sim/recorder.h"
#include "tools/output.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace platsim;
  const std::string text(reinterpret_cast<const char*>(data), size);
  input::Diagnostics diags;
  auto scenario = platform::LoadScenarioText(text, "fuzz.yaml", PLATSIM_FUZZ_FILES, diags);
  for (const auto& d : diags.all()) {
    if (input::Format(d).find('\n') != std::string::npos) __builtin_trap();  // one line each
  }
  if (!scenario) {
    if (!diags.has_errors()) __builtin_trap();  // refused without saying why
    return 0;
  }
  // Bounded whatever the scenario: at most about 200 polls of 1024 events and
  // 100,000 requests in the system.
  std::ostringstream events_text, rows_text, summary;
  tools::JsonlEventSink events(events_text, 0);
  sim::CsvRowSink rows(rows_text);
  platform::Simulation simulation(*scenario, scenario->seed, events, &rows);
  int polls = 0;
  platform::RunOptions options;
  options.interrupted = [&polls] { return ++polls > 200; };
  options.max_requests_in_system = 100'000;
  std::vector<platform::RunResult> runs = {simulation.Run(options)};
  tools::WriteSummary(summary, *scenario, scenario->seed, 1, runs);
  return 0;
}
