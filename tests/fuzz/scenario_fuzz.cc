// Fuzz target: any bytes as a scenario file, through the loader and, when it
// loads, a short run with its outputs written to memory. It must never crash,
// hang, leak or hit undefined behaviour; bad input must only produce
// diagnostics.
//
// The files a scenario names (manifests, latency profiles, traces) are
// fuzzed too: the input may carry them after lines `#==> NAME` (a YAML
// comment, so the scenario part stays YAML), each replacing that file of
// tests/fuzz/files/ for this input only. Files resolve in a private copy of
// that folder.
//
// Built two ways (tests/fuzz/CMakeLists.txt): with clang and libFuzzer
// (`tools/dev.sh fuzz`), and with any compiler as a replay of the checked-in
// corpus that runs in the test suite.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

#include "platform/scenario.h"
#include "platform/simulation.h"
#include "sim/recorder.h"
#include "tools/output.h"

namespace {

namespace fs = std::filesystem;

// The private copy of tests/fuzz/files/, made once per process, and the
// original contents of its files.
struct Files {
  fs::path dir;
  std::map<std::string, std::string> originals;

  Files() {
    std::string pattern = (fs::temp_directory_path() / "platsim-fuzz-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
    for (const auto& e : fs::directory_iterator(PLATSIM_FUZZ_FILES)) {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      originals[e.path().filename().string()] = text.str();
    }
    for (const auto& [name, text] : originals)
      Write(name, text);
  }
  ~Files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void Write(const std::string& name, std::string_view text) const {
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << text;
  }
  // Puts back what an input replaced: its own files, and removes new ones.
  void Restore(const std::map<std::string, std::string_view>& replaced) const {
    for (const auto& [name, _] : replaced) {
      const auto it = originals.find(name);
      if (it != originals.end()) {
        Write(name, it->second);
      } else {
        std::error_code ec;
        fs::remove(dir / name, ec);
      }
    }
  }
};

// A file name an input may use: letters, digits, '.', '-', '_'; no path.
bool PlainName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace platsim;
  static const Files files;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr std::string_view kMarker = "\n#==> ";
  std::string_view scenario_text = input.substr(0, input.find(kMarker));
  std::map<std::string, std::string_view> replaced;
  for (std::size_t at = input.find(kMarker); at != std::string_view::npos;) {
    const std::size_t name_start = at + kMarker.size();
    const std::size_t name_end = input.find('\n', name_start);
    const std::size_t next = input.find(kMarker, name_start);
    if (name_end != std::string_view::npos &&
        (next == std::string_view::npos || name_end <= next)) {
      const std::string name(input.substr(name_start, name_end - name_start));
      const std::size_t end = next == std::string_view::npos ? input.size() : next;
      if (PlainName(name)) replaced[name] = input.substr(name_end + 1, end - name_end - 1);
    }
    at = next;
  }
  for (const auto& [name, text] : replaced)
    files.Write(name, text);

  input::Diagnostics diags;
  const auto designs =
      platform::LoadDesignsText(std::string(scenario_text), "fuzz.yaml", files.dir, diags);
  for (const auto& d : diags.all()) {
    if (input::Format(d).find('\n') != std::string::npos) __builtin_trap();  // one line each
  }
  if (!designs) {
    if (!diags.has_errors()) __builtin_trap();  // refused without saying why
    files.Restore(replaced);
    return 0;
  }
  // Bounded whatever the scenario: its first two designs, each at most about
  // 200 polls of 1024 events and 100,000 requests in the system.
  std::vector<tools::DesignRuns> done;
  for (std::size_t k = 0; k < designs->size() && k < 2; ++k) {
    const platform::Scenario& scenario = (*designs)[k];
    std::ostringstream events_text, rows_text, summary;
    tools::JsonlEventSink events(events_text, 0);
    sim::CsvRowSink rows(rows_text);
    platform::Simulation simulation(scenario, scenario.seed, events, &rows);
    int polls = 0;
    platform::RunOptions options;
    options.interrupted = [&polls] { return ++polls > 200; };
    options.max_requests_in_system = 100'000;
    std::vector<platform::RunResult> runs = {simulation.Run(options)};
    tools::WriteSummary(summary, scenario, scenario.seed, 1, runs);
    done.push_back(tools::DesignRuns{&scenario, scenario.design, std::move(runs)});
  }
  std::ostringstream comparison;
  tools::WriteDesignComparison(comparison, designs->front().seed, 1, done);
  files.Restore(replaced);
  return 0;
}
