#include "tools/cli.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "gpu/catalogue.h"
#include "gpu/estimate.h"
#include "gpu/profiler.h"
#include "models/input/diagnostics.h"
#include "models/input/units.h"
#include "models/service_time.h"
#include "platform/scenario.h"
#include "platform/simulation.h"
#include "sim/random.h"
#include "sim/recorder.h"
#include "tools/gate.h"
#include "tools/output.h"
#include "tools/output_files.h"
#include "tools/plan.h"
#include "tools/run.h"
#include "tools/sweep.h"
#include "tools/trace.h"

namespace platsim::tools {
namespace {

constexpr const char* kDescription =
    "platsim simulates a Kubernetes AI-inference platform (node pools, Deployments and\n"
    "Services, load balancing, model servers with dynamic batching, traffic) in simulated\n"
    "time, deterministically, and reports latency, SLO attainment, throughput and GPU\n"
    "utilisation; it sweeps designs, plans capacity, gates regressions in CI and draws\n"
    "reports from its outputs. Exit status: 0 ok, 1 internal error, failed write or a run\n"
    "stopped at its memory budget, 2 bad input, 130/143 a run interrupted by SIGINT/SIGTERM\n"
    "(what it measured is written, marked incomplete).";

// Loads a scenario's designs (one, without a name, for a file that has
// none), printing every diagnostic; nullopt on errors.
std::optional<std::vector<platform::Scenario>> Load(const std::string& path, std::ostream& err) {
  input::Diagnostics diags;
  auto scenario = platform::LoadDesigns(path, diags);
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
  if (!scenario) {
    err << "platsim: " << path << ": " << diags.error_count() << " error"
        << (diags.error_count() == 1 ? "" : "s") << '\n';
  }
  return scenario;
}

// What a run may fill with requests in the system before it stops
// (RunOptions::max_requests_in_system): 4 GiB, or a quarter of this
// machine's physical memory if that is less. A fixed amount on any machine
// of 16 GiB or more, so that whether a run completes does not depend on the
// machine it runs on.
std::uint64_t DefaultMemoryBudgetBytes() {
  constexpr std::uint64_t kDefault = std::uint64_t{4} << 30;
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return kDefault;
  return std::min(kDefault,
                  static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size) / 4);
}

// The seed as the scenario's spec.seed takes it: a decimal integer from 0 to
// INT64_MAX. Anything else is reported, never clamped.
std::optional<std::uint64_t> ParseSeed(const std::string& text, std::ostream& err) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty() && value >= 0) {
    return static_cast<std::uint64_t>(value);
  }
  err << "platsim: --seed: " << (ec == std::errc::result_out_of_range ? "out of range" : "invalid")
      << " (got '" << text << "', expected an integer from 0 to " << INT64_MAX << ")\n";
  return std::nullopt;
}

// The designs --design names, in the order given (all, in file order, if
// none is named); nullopt and reported if one is not there.
std::optional<std::vector<platform::Scenario>> SelectDesigns(
    std::vector<platform::Scenario> designs, const std::vector<std::string>& names,
    const std::string& file, std::ostream& err) {
  if (names.empty()) return designs;
  std::string known;
  for (const auto& d : designs)
    known += (known.empty() ? "" : ", ") + d.design;
  std::vector<platform::Scenario> out;
  for (const std::string& name : names) {
    const auto it = std::find_if(designs.begin(), designs.end(),
                                 [&](const platform::Scenario& d) { return d.design == name; });
    if (designs.front().design.empty()) {
      err << "platsim: --design: " << file << " holds no designs (spec.designs)\n";
      return std::nullopt;
    }
    if (it == designs.end()) {
      err << "platsim: --design: no design '" << name << "' in " << file << " (it holds " << known
          << ")\n";
      return std::nullopt;
    }
    if (std::any_of(out.begin(), out.end(),
                    [&](const platform::Scenario& d) { return d.design == name; })) {
      err << "platsim: --design: '" << name << "' is named twice\n";
      return std::nullopt;
    }
    out.push_back(*it);
  }
  return out;
}

// How the runs of one design (or of a scenario without designs) ended.
struct RunsOutcome {
  std::vector<platform::RunResult> runs;
  bool interrupted = false;
};

// Runs `replications` runs of `scenario` and writes their outputs into
// `dir` (already prepared). `label` prefixes the progress line. Throws
// OutputError.
// Events to two sinks: the events file and a trace.
class TeeEventSink : public platform::EventSink {
 public:
  TeeEventSink(platform::EventSink& a, platform::EventSink* b) : a_(a), b_(b) {}
  void Emit(const platform::ClusterEvent& e) override {
    a_.Emit(e);
    if (b_ != nullptr) b_->Emit(e);
  }

 private:
  platform::EventSink& a_;
  platform::EventSink* b_;
};

RunsOutcome RunReplications(const platform::Scenario& scenario, std::uint64_t seed,
                            const std::filesystem::path& dir, const RunFlags& flags,
                            const CliContext& ctx, std::uint64_t max_memory_bytes,
                            const std::string& label, std::ostream& err,
                            std::pair<sim::Time, sim::Time> trace_window) {
  OutputFile timeseries(dir / "timeseries.csv");
  OutputFile events(dir / "events.jsonl");
  std::optional<TraceRecorder> trace;
  if (flags.trace) trace.emplace(trace_window.first, trace_window.second);
  RunsOutcome outcome;
  auto& runs = outcome.runs;
  const bool show = ctx.err_is_terminal && !flags.quiet;
  const auto started = std::chrono::steady_clock::now();
  auto last_shown = started - std::chrono::hours(1);
  for (int i = 0; i < flags.replications; ++i) {
    const std::uint64_t run_seed = sim::ReplicationSeed(seed, i);
    sim::CsvRowSink rows(timeseries.stream(), {"replication"}, {std::to_string(i)}, i == 0);
    JsonlEventSink event_sink(events.stream(), i);
    // The trace follows the first replication.
    TeeEventSink sinks(event_sink, i == 0 && trace ? &*trace : nullptr);
    platform::Simulation simulation(scenario, run_seed, sinks, &rows);
    platform::RunOptions options;
    // A progress line from the first moments of a run, refreshed a few
    // times a second on a terminal; elsewhere (unless --quiet) after the
    // first second and then every 10 s, so a long run never looks hung.
    options.progress = [&](double fraction) {
      const auto now = std::chrono::steady_clock::now();
      if (flags.quiet || now - last_shown < (show ? std::chrono::milliseconds(200)
                                                  : std::chrono::milliseconds(10'000))) {
        return;
      }
      if (!show && now - started < std::chrono::seconds(1)) return;
      last_shown = now;
      char line[320];
      std::snprintf(line, sizeof line, "%splatsim: %srun %d/%d  %3.0f%% of %s simulated, %.0f s",
                    show ? "\r" : "", label.c_str(), i + 1, flags.replications, fraction * 100,
                    input::FormatDuration(scenario.duration).c_str(),
                    std::chrono::duration<double>(now - started).count());
      err << line << (show ? "" : "\n") << std::flush;
    };
    options.interrupted = [&] { return ctx.signal != nullptr && *ctx.signal != 0; };
    options.max_requests_in_system = max_memory_bytes / platform::kBytesPerRequestInSystem;
    if (i == 0 && trace) options.batch_trace = &*trace;
    options.global_order = flags.global_order;
    options.threads = flags.threads;
    options.ranks = ctx.ranks;
    runs.push_back(simulation.Run(options));
    if (show) err << "\n";
    if (!runs.back().complete()) break;
  }
  outcome.interrupted = runs.back().ending == platform::RunResult::Ending::kInterrupted;
  std::optional<OutputFile> trace_file;
  if (trace) {
    trace_file.emplace(dir / "trace.json");
    trace->Write(trace_file->stream(), runs.front().end_time);
    trace_file->Close();
  }
  OutputFile summary(dir / "summary.json");
  WriteSummary(summary.stream(), scenario, seed, flags.replications, runs);
  for (OutputFile* f : {&timeseries, &events, &summary})
    f->Close();
  for (OutputFile* f : {&timeseries, &events})
    f->Commit();
  if (trace_file) trace_file->Commit();
  summary.Commit();
  return outcome;
}

// "0.123" or "-" for a metric that is not there or not a number.
std::string MetricText(const std::map<std::string, double>& metrics, const std::string& name,
                       double scale = 1) {
  const auto it = metrics.find(name);
  if (it == metrics.end() || !std::isfinite(it->second)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, "%.4g", it->second * scale);
  return text;
}

// The designs side by side, one line per design and service (of the last
// run of each): what a user compares first.
void PrintComparison(const std::vector<DesignRuns>& designs, std::ostream& out) {
  // LLM services' token latencies and goodput, where there are any.
  bool llm = false;
  for (const DesignRuns& d : designs) {
    for (const auto& service : d.runs.back().services)
      llm = llm || service.metrics.count("ttft_p99_s") > 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"design", "service", "p99 ms", "SLO attained", "GPU-hours", "cost USD"}};
  if (llm) rows[0].insert(rows[0].begin() + 4, {"TTFT p99 ms", "TPOT p99 ms", "goodput"});
  for (const DesignRuns& d : designs) {
    const platform::RunResult& run = d.runs.back();
    for (const auto& service : run.services) {
      const auto& m = service.metrics;
      rows.push_back({d.scenario->design, service.service, MetricText(m, "latency_p99_s", 1000),
                      MetricText(m, "slo_attainment"), MetricText(m, "gpu_hours_held"),
                      MetricText(run.platform, "cost_usd")});
      if (llm) {
        rows.back().insert(rows.back().begin() + 4,
                           {MetricText(m, "ttft_p99_s", 1000), MetricText(m, "tpot_p99_s", 1000),
                            MetricText(m, "goodput_fraction")});
      }
    }
  }
  std::vector<std::size_t> width(rows[0].size());
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += " " + row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - row[c].size(), ' ');
    }
    out << line << '\n';
  }
}

int Run(const RunFlags& flags, const CliContext& ctx, std::ostream& out, std::ostream& err) {
  std::optional<std::uint64_t> seed_flag;
  if (flags.seed) {
    seed_flag = ParseSeed(*flags.seed, err);
    if (!seed_flag) return kExitBadInput;
  }
  auto loaded = Load(flags.scenario, err);
  if (!loaded) return kExitBadInput;
  auto selected = SelectDesigns(std::move(*loaded), flags.designs, flags.scenario, err);
  if (!selected) return kExitBadInput;
  std::vector<platform::Scenario>& designs = *selected;
  const platform::Scenario& first = designs.front();
  if (flags.duration) {
    std::string why;
    const auto d = input::ParseDuration(*flags.duration, &why);
    if (!d) {
      err << "platsim: --duration: " << why << '\n';
      return kExitBadInput;
    }
    for (auto& scenario : designs) {
      if (*d <= scenario.warmup || *d < sim::kMillisecond || *d > sim::kMaxDuration) {
        err << "platsim: --duration: out of range (got '" << *flags.duration
            << "', expected longer than the " << (scenario.design.empty() ? "scenario" : "design")
            << "'s warm-up of " << input::FormatDuration(scenario.warmup)
            << ", at least 1ms and at most " << input::FormatDuration(sim::kMaxDuration) << ")\n";
        return kExitBadInput;
      }
      scenario.duration = *d;
    }
  }
  const std::uint64_t seed = seed_flag.value_or(first.seed);
  // --trace-window FROM,TO: within every design's run.
  std::pair<sim::Time, sim::Time> window = {0, sim::kNever};
  if (flags.trace_window) {
    const std::string& w = *flags.trace_window;
    const std::size_t comma = w.find(',');
    std::string why;
    const std::optional<sim::Time> from = input::ParseDuration(w.substr(0, comma), &why);
    std::optional<sim::Time> to;
    if (comma != std::string::npos) to = input::ParseDuration(w.substr(comma + 1), &why);
    sim::Time longest = 0;
    for (const auto& d : designs)
      longest = std::max(longest, d.duration);
    if (!from || !to || *to <= *from || *from >= longest) {
      err << "platsim: --trace-window: expected FROM,TO, two durations with FROM < TO and FROM "
             "inside the run (got '"
          << w << "'" << (why.empty() ? "" : ": " + why) << ")\n";
      return kExitBadInput;
    }
    window = {*from, *to};
  }
  // Once per run, whatever --quiet says: results that rest on an estimate.
  std::string estimated;
  for (const auto& scenario : designs) {
    for (const auto& m : scenario.model_servers) {
      for (const auto& [product, model] : m.config.AllServiceTimes()) {
        const std::string what = m.deployment + (product.empty() ? "" : " on " + product) +
                                 (designs.size() > 1 ? " (design " + scenario.design + ")" : "");
        if (model->estimate()) estimated += (estimated.empty() ? "" : ", ") + what;
      }
      if (m.config.llm) {
        for (const auto& [product, e] : m.config.llm->All()) {
          if (!e->estimate) continue;
          estimated += (estimated.empty() ? "" : ", ") + m.deployment +
                       (product.empty() ? "" : " on " + product) +
                       (designs.size() > 1 ? " (design " + scenario.design + ")" : "");
        }
      }
    }
  }
  if (!estimated.empty()) {
    err << "platsim: note: the service times of " << estimated
        << " are roofline estimates, not GPU measurements (labelled \"estimate\": true in "
           "summary.json)\n";
  }

  std::uint64_t max_memory_bytes = DefaultMemoryBudgetBytes();
  if (flags.max_memory) {
    std::string why;
    const auto milli = input::ParseQuantityMilli(*flags.max_memory, &why);
    if (!milli || *milli < (std::int64_t{1} << 20) * 1000) {
      err << "platsim: --max-memory: "
          << (milli ? "out of range (got '" + *flags.max_memory + "', expected at least 1Mi)" : why)
          << '\n';
      return kExitBadInput;
    }
    max_memory_bytes = static_cast<std::uint64_t>(*milli / 1000);
  }

  namespace fs = std::filesystem;
  sim::Ranks* const ranks = ctx.ranks;
  if (ranks != nullptr) {
    std::string why;
    if (flags.trace) why = "--trace";
    if (flags.global_order) why = "--global-order";
    for (const auto& scenario : designs) {
      if (why.empty()) why = platform::WhyNotOnRanks(scenario);
      if (!why.empty()) {
        err << "platsim: " << scenario.file << ": " << why
            << ": does not run on ranks yet; run the scenario with platsim (--threads N for "
               "several cores)\n";
        return kExitBadInput;
      }
    }
  }
  // With ranks, rank 0 writes the outputs; the others into a scratch folder.
  const bool scratch = ranks != nullptr && ranks->rank() > 0;
  const fs::path dir =
      scratch ? fs::temp_directory_path() / ("platsim-rank-" + std::to_string(::getpid()))
              : fs::path(flags.out_dir);
  struct RemoveScratch {
    bool on;
    fs::path dir;
    ~RemoveScratch() {
      std::error_code ec;
      if (on) fs::remove_all(dir, ec);
    }
  } remove_scratch{scratch, dir};
  std::string why_out = PrepareOutputFolder(dir, first.name, first.file, flags.force || scratch);
  // Every rank stops if one cannot write: the others would wait for it.
  if (ranks != nullptr && ranks->Max(why_out.empty() ? 0 : 1) != 0 && why_out.empty())
    return kExitBadInput;
  if (!why_out.empty()) {
    (scratch ? std::cerr : err) << "platsim: --out: " << why_out << '\n';
    return kExitBadInput;
  }
  // Several designs: one folder each, and a comparison above them; every
  // folder is made ready before anything runs.
  const bool compare = designs.size() > 1;
  if (compare) {
    for (const platform::Scenario& scenario : designs) {
      if (const std::string why =
              PrepareOutputFolder(dir / scenario.design, scenario.name, scenario.file, flags.force);
          !why.empty()) {
        err << "platsim: --out: " << why << '\n';
        return kExitBadInput;
      }
    }
  }
  try {
    std::vector<DesignRuns> done;
    bool interrupted = false;
    for (std::size_t k = 0; k < designs.size() && !interrupted; ++k) {
      const platform::Scenario& scenario = designs[k];
      fs::path at = dir;
      std::string label;
      if (compare) {
        at = dir / scenario.design;
        label = "design " + std::to_string(k + 1) + "/" + std::to_string(designs.size()) + " " +
                scenario.design + ", ";
      }
      RunsOutcome outcome =
          RunReplications(scenario, seed, at, flags, ctx, max_memory_bytes, label, err, window);
      interrupted = outcome.interrupted;
      done.push_back(DesignRuns{&scenario, compare ? scenario.design : std::string(),
                                std::move(outcome.runs)});
    }
    if (compare) {
      OutputFile summary(dir / "summary.json");
      WriteDesignComparison(summary.stream(), seed, flags.replications, done);
      summary.Commit();
    }

    bool stopped_early = false;
    for (const DesignRuns& d : done) {
      const platform::RunResult& last = d.runs.back();
      if (last.complete()) continue;
      const std::string at = input::FormatDuration(last.end_time);
      const std::string where = (dir / d.folder).string();
      const std::string which =
          d.folder.empty() ? std::string() : "design " + d.scenario->design + ", ";
      if (last.ending == platform::RunResult::Ending::kInterrupted) {
        const int signal = ctx.signal != nullptr ? *ctx.signal : SIGINT;
        err << "platsim: interrupted at " << at << " simulated in " << which << "run "
            << d.runs.size() << '/' << flags.replications << "; what was measured up to then is in "
            << where << "/, marked \"complete\": false"
            << (compare && done.size() < designs.size() ? "; the designs after it did not run" : "")
            << "\n";
        return 128 + signal;
      }
      err << "platsim: " << which << "run " << d.runs.size() << " stopped early at " << at
          << " simulated: " << last.stopped_because << ". The platform cannot keep up with its "
          << "traffic and its queues grow without bound; bound them (maxQueueLength, "
             "requestTimeout) or give --max-memory more. What was measured up to then is in "
          << where << "/, marked \"complete\": false\n";
      stopped_early = true;
    }
    if (stopped_early) return kExitInternal;
    if (!flags.quiet) {
      const std::size_t runs = done.front().runs.size();
      out << "platsim: " << first.name << ": ";
      if (compare) {
        out << designs.size() << " designs, ";
      } else if (!first.design.empty()) {
        out << "design " << first.design << ", ";
      }
      out << runs << " run" << (runs == 1 ? "" : "s") << (compare ? " each" : "") << " of "
          << input::FormatDuration(first.duration) << " simulated; results in " << dir.string()
          << "/ ";
      if (compare) {
        out << "(summary.json compares the designs; each has its own folder)\n";
        PrintComparison(done, out);
      } else {
        out << "(summary.json, timeseries.csv, events.jsonl)\n";
      }
    }
  } catch (const OutputError& e) {
    err << "platsim: " << e.what() << '\n';
    return kExitInternal;
  }
  return kExitOk;
}

int Validate(const std::string& path, std::ostream& out, std::ostream& err) {
  const auto designs = Load(path, err);
  if (!designs) return kExitBadInput;
  for (const platform::Scenario& scenario : *designs) {
    int nodes = 0;
    for (const auto& p : scenario.node_pools)
      nodes += p.count;
    out << path << (scenario.design.empty() ? "" : " design " + scenario.design) << ": ok ("
        << nodes << " nodes, " << scenario.deployments.size() << " deployments, "
        << scenario.services.size() << " services, " << scenario.traffic.size()
        << " traffic sources)\n";
  }
  return kExitOk;
}

int CheckProfile(const std::string& path, std::ostream& out, std::ostream& err) {
  input::Diagnostics diags;
  const auto profile = models::ReadLatencyProfile(path, path, diags);
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
  if (!profile) return kExitBadInput;
  out << path << ": " << profile->name << (profile->estimate ? " (estimate, not measured)" : "")
      << '\n';
  if (!profile->batch_latency.empty()) {
    out << "  batchLatency: " << profile->batch_latency.size()
        << " points, interpolated linearly (no fit)\n";
  }
  const std::pair<const char*, const models::LatencyGrid*> grids[] = {
      {"encoder", profile->encoder.get()},
      {"prefill", profile->prefill.get()},
      {"decode", profile->decode.get()}};
  char line[160];
  for (const auto& [name, grid] : grids) {
    if (grid == nullptr) continue;
    const auto check = grid->CheckFit();
    if (check.points == 0) {
      std::snprintf(line, sizeof line, "  %-8s too few points to hold any out\n", name);
    } else {
      std::snprintf(line, sizeof line,
                    "  %-8s extrapolation fit, held-out relative error over %d points: "
                    "mean %.2f%%, max %.2f%%\n",
                    name, check.points, 100 * check.mean_relative_error,
                    100 * check.max_relative_error);
    }
    out << line;
  }
  return kExitOk;
}

struct ProfileFlags {
  std::string model;
  std::string device;
  std::string out;
  std::string from;  // a measured profile to derive a tensor-parallel one from
  int tensor_parallel = 1;
  int warmup = 5;
  int repetitions = 30;
  std::string models_file = std::string(PLATSIM_CATALOGUE_DIR) + "/models.json";
  std::string devices_file = std::string(PLATSIM_CATALOGUE_DIR) + "/devices.json";
};

// A catalogue model and device by name, ready to be split over
// f.tensor_parallel GPUs; nullopt (with the reasons on `err`) if not.
std::optional<std::pair<gpu::ModelShape, gpu::DeviceSheet>> ModelAndDevice(const ProfileFlags& f,
                                                                           const std::string& model,
                                                                           std::ostream& err) {
  std::vector<std::string> errors;
  const auto models = gpu::LoadCatalogue(f.models_file, &errors);
  const auto devices = gpu::LoadDeviceCatalogue(f.devices_file, &errors);
  if (!models || !devices) {
    for (const auto& e : errors)
      err << e << '\n';
    return std::nullopt;
  }
  auto find = [&](const auto& list, const std::string& name, const char* flag) {
    std::string known;
    for (const auto& item : list) {
      if (item.name == name) return &item;
      known += (known.empty() ? "" : ", ") + item.name;
    }
    err << "platsim: " << flag << ": unknown '" << name << "' (known: " << known << ")\n";
    return static_cast<decltype(&list.front())>(nullptr);
  };
  const gpu::ModelShape* shape = find(*models, model, "--model");
  const gpu::DeviceSheet* device = find(*devices, f.device, "--device");
  if (shape == nullptr || device == nullptr) return std::nullopt;
  if (f.tensor_parallel > 1) {
    if (const std::string problem = gpu::TensorParallelProblem(*shape, f.tensor_parallel);
        !problem.empty()) {
      err << "platsim: --tensor-parallel: vLLM would not split it so: " << problem << '\n';
      return std::nullopt;
    }
    if (device->interconnect_gbps <= 0) {
      err << "platsim: --device: " << device->name
          << " has no interconnect in the device catalogue (" << f.devices_file
          << "), which splitting over GPUs needs\n";
      return std::nullopt;
    }
  }
  return std::make_pair(*shape, *device);
}

int WriteProfile(const nlohmann::ordered_json& profile, const std::string& path,
                 const std::string& what, std::ostream& out, std::ostream& err) {
  std::ofstream file(path, std::ios::binary);
  if (!file) {
    err << "platsim: --out: cannot write " << path << '\n';
    return kExitBadInput;
  }
  file << profile.dump(2) << '\n';
  if (!file) return kExitInternal;
  out << "platsim: wrote " << path << " (" << what << ")\n";
  return kExitOk;
}

// Writes a roofline-estimated latency profile for a catalogue model on a
// catalogue device (split over --tensor-parallel of them), marked as an
// estimate.
int EstimateProfile(const ProfileFlags& f, std::ostream& out, std::ostream& err) {
  const auto found = ModelAndDevice(f, f.model, err);
  if (!found) return kExitBadInput;
  return WriteProfile(gpu::RooflineProfile(found->first, found->second, f.tensor_parallel), f.out,
                      "a roofline estimate, not measured on a GPU", out, err);
}

// Writes the profile of a model split over --tensor-parallel GPUs, derived
// from its profile measured on one (gpu/estimate.h TensorParallelProfile).
int DeriveProfile(const ProfileFlags& f, std::ostream& out, std::ostream& err) {
  input::Diagnostics diags;
  const auto profile = models::ReadLatencyProfile(f.from, f.from, diags);
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
  if (!profile) return kExitBadInput;
  std::ifstream in(f.from, std::ios::binary);
  const auto json = nlohmann::ordered_json::parse(in, nullptr, false);
  if (json.is_discarded()) {
    err << "platsim: --from: " << f.from << " is not JSON (derive from a profile as platsim "
        << "profile writes it)\n";
    return kExitBadInput;
  }
  if (!profile->model) {
    err << "platsim: --from: " << f.from
        << " records no model shape (provenance.model): derive from a profile measured by "
           "platsim profile\n";
    return kExitBadInput;
  }
  std::string model = f.model;
  if (model.empty()) {
    const auto name = json.value("/provenance/model/name"_json_pointer, nlohmann::ordered_json());
    model = name.is_string() ? name.get<std::string>() : "";
    if (model.empty()) {
      err << "platsim: --from: " << f.from << " does not name its model: give --model\n";
      return kExitBadInput;
    }
  }
  const auto found = ModelAndDevice(f, model, err);
  if (!found) return kExitBadInput;
  const gpu::ModelShape& m = found->first;
  const auto& p = *profile->model;
  if (m.layers != p.layers || m.hidden != p.hidden || m.heads != p.heads ||
      m.kv_heads != p.kv_heads || m.ffn != p.ffn || m.vocab != p.vocab) {
    err << "platsim: --from: the shape " << f.from << " records is not the catalogue's " << m.name
        << '\n';
    return kExitBadInput;
  }
  std::string error;
  const auto derived =
      gpu::TensorParallelProfile(json, m, found->second, f.tensor_parallel, &error);
  if (!error.empty()) {
    err << "platsim: --from: " << f.from << ' ' << error << '\n';
    return kExitBadInput;
  }
  return WriteProfile(derived, f.out,
                      "over " + std::to_string(f.tensor_parallel) +
                          " GPUs: an estimate derived from the one-GPU measurement",
                      out, err);
}

// The platsim-profile executable: $PLATSIM_PROFILE, else beside this
// executable, else where the build put it; "" if none is found.
std::string ProfilerBinary() {
  if (const char* env = std::getenv("PLATSIM_PROFILE"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = self.parent_path() / "platsim-profile";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
#ifdef PLATSIM_PROFILE_BINARY
  if (::access(PLATSIM_PROFILE_BINARY, X_OK) == 0) return PLATSIM_PROFILE_BINARY;
#endif
  return "";
}

// Runs `argv` with its standard output and error copied, as they come, to
// `out` and `err`; returns its exit status (kExitInternal if it could not
// run or was killed).
int RunChild(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0) return kExitInternal;
  if (::pipe(err_pipe) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return kExitInternal;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (spawned != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    err << "platsim: cannot run " << argv[0] << ": " << std::strerror(spawned) << '\n';
    return kExitInternal;
  }
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::ostream* sinks[2] = {&out, &err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->write(buf, n);
        sinks[i]->flush();
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitInternal;
}

// Measures a latency profile on this machine's GPU: the profiler is a
// program of its own (gpu/profile_main.cc), so that every other command
// runs without loading the CUDA libraries.
int MeasureProfile(const ProfileFlags& f, std::ostream& out, std::ostream& err) {
  const std::string profiler = ProfilerBinary();
  if (profiler.empty()) {
    err << "platsim profile: this platsim was built without CUDA (no platsim-profile beside it), "
           "so it cannot measure; build it where nvcc is found, or write a roofline estimate "
           "with --estimate\n";
    return kExitInternal;
  }
  return RunChild(
      {profiler, "--model", f.model, "--out", f.out, "--catalogue", f.models_file, "--warmup",
       std::to_string(f.warmup), "--repetitions", std::to_string(f.repetitions)},
      out, err);
}

// platsim report: reports/report.py, run by the Python that has matplotlib.
int ReportCommand(const std::vector<std::string>& folders, const std::string& out_dir,
                  const std::string& title, std::ostream& out, std::ostream& err) {
  const char* script_env = std::getenv("PLATSIM_REPORT_SCRIPT");
  const std::string script = script_env != nullptr && *script_env != '\0'
                                 ? script_env
                                 : std::string(PLATSIM_REPORTS_DIR) + "/report.py";
  const char* python_env = std::getenv("PLATSIM_PYTHON");
  const std::string python =
      python_env != nullptr && *python_env != '\0' ? python_env : "/usr/bin/python3";
  if (::access(python.c_str(), X_OK) != 0 || ::access(script.c_str(), R_OK) != 0) {
    err << "platsim report: needs " << python << " (with matplotlib) and " << script
        << "; set PLATSIM_PYTHON or PLATSIM_REPORT_SCRIPT\n";
    return kExitInternal;
  }
  std::vector<std::string> argv = {python, script};
  argv.insert(argv.end(), folders.begin(), folders.end());
  argv.insert(argv.end(), {"--out", out_dir});
  if (!title.empty()) argv.insert(argv.end(), {"--title", title});
  const int rc = RunChild(argv, out, err);
  return rc == kExitOk || rc == kExitBadInput ? rc : kExitInternal;
}

}  // namespace

int RunCommand(const RunFlags& flags, const CliContext& ctx, std::ostream& out, std::ostream& err) {
  return Run(flags, ctx, out, err);
}

int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const CliContext& ctx) {
  CLI::App app{kDescription, "platsim"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "platsim 0.1.0");

  RunFlags run_flags;
  CLI::App* run = app.add_subcommand("run", "Simulate a scenario and write its results");
  run->add_option("SCENARIO", run_flags.scenario, "Scenario file (YAML or JSON)")->required();
  run->add_option("--out", run_flags.out_dir,
                  "Output folder for summary.json, timeseries.csv, events.jsonl")
      ->capture_default_str();
  run->add_option("--seed", run_flags.seed,
                  "Seed, an integer from 0 to 9223372036854775807 (default: the scenario's "
                  "spec.seed)");
  run->add_option("--replications", run_flags.replications,
                  "Independent runs with seeds derived from the seed; summary.json reports "
                  "the mean and 95% confidence interval of every metric")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  run->add_option("--duration", run_flags.duration,
                  "Simulated time, e.g. 30m or 2h (default: the scenario's spec.duration)");
  run->add_option("--design", run_flags.designs,
                  "Of a scenario with several designs (spec.designs), run only this one "
                  "(repeat for several). With one design the folder holds its results as for "
                  "any run; with several (all, by default) it holds one folder per design and a "
                  "summary.json that compares them");
  run->add_flag("--quiet", run_flags.quiet, "No progress line and no closing message");
  auto* trace = run->add_flag(
      "--trace", run_flags.trace,
      "Also write trace.json (Chrome's trace format; open it in Perfetto or chrome://tracing): "
      "each pod's lifecycle and the batches it runs, and controller decisions, rollouts and "
      "failures, for the first replication");
  run->add_option("--trace-window", run_flags.trace_window,
                  "FROM,TO: trace only this part of the run, e.g. 10m,12m (a trace of every "
                  "batch of a long run is large; at most 2,000,000 batches are kept)")
      ->needs(trace);
  run->add_flag("--force", run_flags.force,
                "Replace the results of another scenario in the --out folder (without it, "
                "platsim only replaces an earlier run of the same scenario)");
  run->add_flag("--global-order", run_flags.global_order,
                "Run every event in one global order, instead of letting each Service's "
                "requests run ahead between the platform's own events (which keeps a large "
                "platform's state in the caches). The results are the same, byte for byte; "
                "this checks that, and is slower on large platforms");
  run->add_option("--threads", run_flags.threads,
                  "Threads for one run: between the platform's own events (controllers, "
                  "kubelets, samples, scrapes), each Service whose requests stay within it "
                  "(no Knative activator, canary split or connection pool) runs its requests "
                  "on one of them. The results are the same, byte for byte, on any number; "
                  "more than this machine's cores only slows it")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  run->add_option("--max-memory", run_flags.max_memory,
                  "Memory that requests waiting in the system may fill, as a quantity like 8Gi "
                  "(default: 4Gi, or a quarter of this machine's memory if less). An overloaded "
                  "platform whose "
                  "queues grow without bound stops there, with exit 1, instead of exhausting "
                  "the machine");

  std::string validate_path;
  CLI::App* validate =
      app.add_subcommand("validate", "Check a scenario and its manifests without running it");
  validate->add_option("SCENARIO", validate_path, "Scenario file (YAML or JSON)")->required();

  SweepFlags sweep_flags;
  CLI::App* sweep = app.add_subcommand(
      "sweep", "Run a scenario at every point of a grid of parameter values (a sweep file)");
  sweep
      ->add_option("SWEEP", sweep_flags.file,
                   "Sweep file (YAML): the scenario and parameters; or a scenario file with "
                   "--param")
      ->required();
  sweep->add_option("--param", sweep_flags.params,
                    "With a scenario file: PATH=V1,V2,... (repeat for a grid, the first varying "
                    "slowest)");
  sweep
      ->add_option("--replications", sweep_flags.replications,
                   "With a scenario file: runs per point (default 1)")
      ->check(CLI::Range(1, 100000));
  sweep->add_option("--seed", sweep_flags.seed,
                    "With a scenario file: the seed (default: the scenario's)");
  sweep->add_option("--duration", sweep_flags.duration,
                    "With a scenario file: simulated time of each run (default: the scenario's)");
  sweep
      ->add_option("--out", sweep_flags.out_dir,
                   "Output folder: sweep.json, points/ (one run folder per point), results.csv, "
                   "points.csv, results.json")
      ->capture_default_str();
  sweep->add_option("-j,--jobs", sweep_flags.jobs, "Points run at once, each in its own process")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  sweep->add_option("--shard", sweep_flags.shard,
                    "Run only every n-th point from the i-th (i/n, 0 <= i < n), for platsim merge "
                    "to put together");
  sweep->add_flag("--quiet", sweep_flags.quiet, "No progress line and no closing message");
  auto* render = sweep->add_option(
      "--render-job", sweep_flags.render_job,
      "Instead of running, write to this file Kubernetes Jobs that run the sweep: an Indexed "
      "Job of --shards pods (pod i runs --shard i/n into OUT/shards/index-i) and a Job that "
      "merges them into OUT; paths are relative to --workdir on --volume-claim");
  sweep->add_option("--shards", sweep_flags.job_shards, "Shards of the rendered Job")
      ->check(CLI::Range(1, 100000))
      ->needs(render);
  sweep->add_option("--image", sweep_flags.job_image, "Container image with platsim in its PATH")
      ->needs(render)
      ->capture_default_str();
  sweep
      ->add_option("--volume-claim", sweep_flags.job_volume_claim,
                   "PersistentVolumeClaim (ReadWriteMany) holding the sweep's files and results")
      ->needs(render)
      ->capture_default_str();
  sweep->add_option("--workdir", sweep_flags.job_workdir, "Where the claim is mounted")
      ->needs(render)
      ->capture_default_str();
  sweep->add_flag("--force", sweep_flags.force,
                  "Write into a folder that holds files other than an earlier sweep's");
  sweep->footer(
      "A sweep file names a scenario and either parameters (a grid: each a path into the\n"
      "scenario and its values or range) or points (a list of path: value maps):\n"
      "\n"
      "  apiVersion: platsim.dev/v1alpha1\n"
      "  kind: Sweep\n"
      "  metadata: {name: gpus}\n"
      "  spec:\n"
      "    scenario: llm-chat.yaml\n"
      "    replications: 3\n"
      "    parameters:\n"
      "    - {path: 'spec.nodePools[h100].count', values: [2, 3, 4]}\n"
      "    - {name: seqs, path: 'spec.modelServers[deployment=llama].vllm.maxNumSeqs',\n"
      "       range: {from: 64, to: 256, step: 64}}\n"
      "\n"
      "Paths: dotted keys with selectors [N] (index), [NAME] (by name), [field=value],\n"
      "[\"dotted.key\"], and on spec.manifests [Kind/name]; `design` picks a design. Every\n"
      "point runs on the same seeds (common random numbers). Exit status: 0 ok, 1 a point\n"
      "failed, 2 bad input.\n");

  std::string merge_out = "out";
  std::vector<std::string> merge_shards;
  bool merge_force = false;
  CLI::App* merge =
      app.add_subcommand("merge", "Put the shards of a sweep (platsim sweep --shard i/n) together");
  merge->add_option("SHARD", merge_shards, "The shards' output folders, all n of them")->required();
  merge->add_option("--out", merge_out, "Output folder, as one platsim sweep would write it")
      ->capture_default_str();
  merge->add_flag("--force", merge_force,
                  "Write into a folder that holds files other than an earlier sweep's");

  GateFlags gate_flags;
  CLI::App* gate = app.add_subcommand(
      "gate", "Compare two run folders (or sweeps, or benchmark files): exit 1 on a regression");
  gate->add_option("BASELINE", gate_flags.baseline,
                   "Output folder of platsim run or sweep, or Google Benchmark JSON")
      ->required();
  gate->add_option("CURRENT", gate_flags.current, "The same, of the change")->required();
  gate->add_option("--gate", gate_flags.gate_file,
                   "Gate file (kind Gate): the metrics, allowances and tests (default: p99 "
                   "latency +1%, SLO attainment -0.002, drops, failures and time-outs +5% or 1, "
                   "TTFT and TPOT p99 +1%, goodput -0.005, cost +1%)");
  gate->add_option("--alpha", gate_flags.alpha, "Significance level of every test (default 0.05)")
      ->check(CLI::Range(1e-6, 0.5));
  gate->add_option("--markdown", gate_flags.markdown, "Also write the table here (a CI summary)");
  gate->add_option("--junit", gate_flags.junit, "Write JUnit XML, a test case per check");
  gate->add_option("--json", gate_flags.json, "Write the verdicts as JSON");
  gate->footer(
      "Per series and metric, the runs (replications) of each side are compared by a one-sided\n"
      "test of whether CURRENT is worse than BASELINE by more than the allowance: Welch's\n"
      "t-test, or the Mann-Whitney U test for counts and benchmark times. Give both sides\n"
      "replications (platsim run --replications 5; benchmarks --benchmark_repetitions=9):\n"
      "with one run a side there is no test and any change past the allowance fails. Exit\n"
      "status: 0 no regression, 1 a regression (or a failed write), 2 bad input.\n");

  std::vector<std::string> report_folders;
  std::string report_out = "report", report_title;
  CLI::App* report = app.add_subcommand(
      "report", "An HTML report (matplotlib figures) of run, sweep or plan output folders");
  report
      ->add_option("FOLDER", report_folders,
                   "Output folders of platsim run (several: side by side) or of platsim sweep")
      ->required();
  report->add_option("--out", report_out, "Folder for report.html and figures/")
      ->capture_default_str();
  report->add_option("--title", report_title, "The report's title");
  report->footer(
      "A run's report: the summary with 95% confidence intervals, latency, throughput, lost\n"
      "requests, replicas, GPU use, the platform's nodes and cost over time, and a timeline\n"
      "of controller decisions, rollouts and failures. A sweep's: its points, cost against\n"
      "p99 latency with the Pareto frontier, and metrics against each parameter with 95%\n"
      "bands. A plan's: its choice, every point it ran, and their cost against the first\n"
      "objective. Runs reports/report.py with $PLATSIM_PYTHON (default /usr/bin/python3, which\n"
      "needs matplotlib: Debian's python3-matplotlib). Exit status: 0 written, 1 the report\n"
      "could not be made, 2 bad input.\n");

  PlanFlags plan_flags;
  CLI::App* plan = app.add_subcommand(
      "plan", "The cheapest design that meets the SLOs: a search over options and counts");
  plan->add_option("PLAN", plan_flags.file,
                   "Plan file (YAML): the scenario, objectives, headroom and options")
      ->required();
  plan->add_option("--out", plan_flags.out_dir,
                   "Output folder: plan.json, plan.md, evaluations/ (a run folder per point)")
      ->capture_default_str();
  plan->add_flag("--quiet", plan_flags.quiet, "No progress and no table on standard output");
  plan->add_flag("--force", plan_flags.force,
                 "Write into a folder that holds files other than an earlier plan's");
  plan->footer(
      "Each option (a node pool's GPU type, say) has a count to search (its nodes) and what\n"
      "grows with it (replicas). A point meets an objective when the far end of its 95%\n"
      "confidence interval does. More of the same option never makes a point worse, so each\n"
      "option's smallest count is found by bisection; the cheapest of those (the run's\n"
      "platform cost_usd) is chosen, the others are runners-up, and plan.json holds the\n"
      "cost against the first objective's frontier. Exit status: 0 a design found, 1 none\n"
      "meets the objectives, 2 bad input.\n");

  std::string check_path;
  bool estimate = false;
  ProfileFlags profile_flags;
  CLI::App* profile = app.add_subcommand(
      "profile",
      "Latency profiles: measure one on this machine's GPU (--model, --out), check one "
      "(--check), write a roofline estimate for a GPU nobody has profiled (--estimate), or "
      "derive one of a model split over several GPUs from one measured on one (--from)");
  profile->footer(
      "Measuring times one layer of the model (prefill over batch x tokens and decode over\n"
      "batch x KV length, or an encoder's batch x sequence length), its embedding and output\n"
      "head, and its kernels against the device's measured copy bandwidth and bf16 matrix\n"
      "rate; it needs a platsim built with CUDA and a CUDA device. Exit status: 0 ok, 1 no\n"
      "device or a CUDA failure (nothing written), 2 bad input.\n"
      "\n"
      "Tensor parallelism (vllm.tensorParallelSize in a scenario) needs a profile over that\n"
      "many GPUs. Without one measured so, --from MEASURED --tensor-parallel N --device D\n"
      "--out FILE scales each measured time by the roofline's share of one GPU and adds the\n"
      "all-reduces over the device's interconnect (gpu/catalogue/devices.json); the result is\n"
      "labelled an estimate. --estimate --tensor-parallel N does the same from datasheet\n"
      "figures alone.\n");
  auto* check_opt = profile->add_option(
      "--check", check_path,
      "Report, for each grid of this profile, the relative error of the extrapolating fit on "
      "held-out grid points");
  auto* estimate_opt = profile->add_flag(
      "--estimate", estimate,
      "Write a profile from datasheet figures (max of compute and memory time), marked as an "
      "estimate; needs --model, --device and --out");
  check_opt->excludes(estimate_opt);
  auto* model_opt = profile->add_option("--model", profile_flags.model, "A model of the catalogue");
  model_opt->excludes(check_opt);
  auto* from_opt = profile->add_option(
      "--from", profile_flags.from,
      "A profile measured on one GPU, to derive its model split over --tensor-parallel GPUs of "
      "--device from (an estimate; needs --out)");
  from_opt->excludes(check_opt)->excludes(estimate_opt);
  profile
      ->add_option("--tensor-parallel", profile_flags.tensor_parallel,
                   "GPUs the model is split over (vLLM's --tensor-parallel-size), with "
                   "--estimate or --from")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  profile->add_option("--device", profile_flags.device,
                      "A device of the device catalogue (with --estimate or --from)");
  profile->add_option("--out", profile_flags.out, "Profile file to write");
  profile->add_option("--warmup", profile_flags.warmup, "Untimed runs before timing")
      ->check(CLI::Range(1, 1000))
      ->excludes(estimate_opt)
      ->excludes(from_opt)
      ->capture_default_str();
  profile
      ->add_option("--repetitions", profile_flags.repetitions,
                   "Timed runs per measurement; the profile keeps their median and spread")
      ->check(CLI::Range(20, 100000))
      ->excludes(estimate_opt)
      ->excludes(from_opt)
      ->capture_default_str();
  profile->add_option("--models", profile_flags.models_file, "Model catalogue")
      ->capture_default_str();
  profile->add_option("--devices", profile_flags.devices_file, "Device catalogue")
      ->capture_default_str();

  // CLI11 would answer an unknown command with "a subcommand is required".
  const auto commands = app.get_subcommands([](CLI::App*) { return true; });
  if (args.size() >= 2 && !args[1].empty() && args[1][0] != '-' &&
      std::none_of(commands.begin(), commands.end(),
                   [&](const CLI::App* c) { return c->get_name() == args[1]; })) {
    err << "platsim: unknown command '" << args[1]
        << "' (expected run, validate, sweep, merge, plan, gate, report or profile; see "
           "platsim --help)\n";
    return kExitBadInput;
  }
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitBadInput;
  }
  try {
    if (*run) return Run(run_flags, ctx, out, err);
    if (*validate) return Validate(validate_path, out, err);
    if (*sweep) return SweepCommand(sweep_flags, ctx, out, err);
    if (*gate) return GateCommand(gate_flags, out, err);
    if (*plan) return PlanCommand(plan_flags, ctx, out, err);
    if (*report) return ReportCommand(report_folders, report_out, report_title, out, err);
    if (*merge) return MergeCommand(merge_out, merge_shards, merge_force, out, err);
    if (*profile) {
      const ProfileFlags& f = profile_flags;
      if (!check_path.empty()) return CheckProfile(check_path, out, err);
      if (!f.from.empty() && f.tensor_parallel < 2) {
        err << "platsim profile: --from needs --tensor-parallel of 2 or more (the profile it "
               "reads is of one GPU)\n";
        return kExitBadInput;
      }
      if (!f.from.empty() && !f.device.empty() && !f.out.empty()) {
        return DeriveProfile(f, out, err);
      }
      if (estimate && !f.model.empty() && !f.device.empty() && !f.out.empty()) {
        return EstimateProfile(f, out, err);
      }
      if (!estimate && f.from.empty() && f.tensor_parallel == 1 && f.device.empty() &&
          !f.model.empty() && !f.out.empty()) {
        return MeasureProfile(f, out, err);
      }
      err << "platsim profile: give --model and --out (measure on this GPU), --check FILE, "
             "--estimate with --model, --device and --out, or --from with --tensor-parallel, "
             "--device and --out\n";
      return kExitBadInput;
    }
  } catch (const std::exception& e) {
    err << "platsim: internal error: " << e.what() << '\n';
    return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace platsim::tools
