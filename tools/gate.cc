#include "tools/gate.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/input/diagnostics.h"
#include "models/input/yaml_reader.h"
#include "sim/stats.h"
#include "tools/cli.h"
#include "tools/output_files.h"
#include "tools/sweep.h"

namespace platsim::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// Per series (a Service, the platform, a benchmark; prefixed by a design
// or a sweep point), per metric, one value per complete run.
using Samples = std::map<std::string, std::map<std::string, std::vector<double>>>;

struct Check {
  std::string metric;
  std::string series;  // "" every Service (every benchmark); "platform"
  bool lower_is_better = true;
  double relative = 0, absolute = 0;
  bool mann_whitney = false;
  bool required = false;  // named by a gate file: its metric must be there
  bool exact = false;     // decided on the change alone, however many runs
};

// What a platform team gates on by default: tail latency, SLO attainment,
// requests lost, cost; and an LLM service's token latencies and goodput.
std::vector<Check> DefaultChecks() {
  return {
      {"latency_p99_s", "", true, 0.01, 0, false},
      {"slo_attainment", "", false, 0, 0.002, false},
      {"dropped", "", true, 0.05, 1, true},
      {"failed", "", true, 0.05, 1, true},
      {"timed_out", "", true, 0.05, 1, true},
      {"ttft_p99_s", "", true, 0.01, 0, false},
      {"tpot_p99_s", "", true, 0.01, 0, false},
      {"goodput_fraction", "", false, 0, 0.005, false},
      {"cost_usd", "platform", true, 0.01, 0, false},
      // Runs that stopped early (queues growing without bound) count as
      // lost, whatever their other metrics: any more than the baseline's fail.
      {"complete", "platform", false, 0, 0, false, false, true},
  };
}

// Google Benchmark's times, as its compare.py compares them (a U test over
// repetitions), slower by more than 5% being a regression.
std::vector<Check> BenchmarkChecks() {
  return {{"real_time", "", true, 0.05, 0, true}, {"cpu_time", "", true, 0.05, 0, true}};
}

// j[key] if it is a mapping (a list), else an empty one: safe to iterate.
const Json& Object(const Json& j, const char* key) {
  static const Json kEmpty = Json::object();
  if (!j.is_object() || !j.contains(key) || !j[key].is_object()) return kEmpty;
  return j[key];
}
const Json& Array(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return kEmpty;
  return j[key];
}

void Add(Samples& s, const std::string& series, const std::string& metric, const Json& v) {
  if (v.is_number()) s[series][metric].push_back(v.get<double>());
}

// One run of summary.json's `runs`, if complete.
void AddRun(Samples& s, const std::string& prefix, const Json& run) {
  const bool complete = run.value("complete", false) == true;
  s[prefix + "platform"]["complete"].push_back(complete ? 1 : 0);
  if (!complete) return;
  for (const auto& [m, v] : Object(run, "platform").items())
    Add(s, prefix + "platform", m, v);
  for (const auto& [service, metrics] : Object(run, "services").items()) {
    for (const auto& [m, v] : metrics.items())
      Add(s, prefix + service, m, v);
  }
}

// A benchmark time in nanoseconds.
double Nanoseconds(double value, const std::string& unit) {
  return unit == "s"    ? value * 1e9
         : unit == "ms" ? value * 1e6
         : unit == "us" ? value * 1e3
                        : value;
}

// The samples of a run folder, a sweep folder or a benchmark file;
// `benchmarks` says which it was. Throws nlohmann::json::exception on JSON
// not as platsim (or Google Benchmark) writes it.
std::optional<Samples> ReadSamplesOrThrow(const fs::path& path, bool& benchmarks,
                                          std::ostream& err) {
  Samples s;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const auto j = ReadJsonFile(path, err);
    if (!j) return std::nullopt;
    if (!j->contains("benchmarks") || !(*j)["benchmarks"].is_array()) {
      err << "platsim: gate: " << path.string()
          << " is not Google Benchmark JSON (--benchmark_format=json) nor an output folder\n";
      return std::nullopt;
    }
    benchmarks = true;
    for (const Json& b : (*j)["benchmarks"]) {
      if (!b.is_object() || b.value("run_type", "iteration") != "iteration") continue;
      const std::string name = b.value("run_name", b.value("name", ""));
      const std::string unit = b.value("time_unit", "ns");
      for (const char* m : {"real_time", "cpu_time"}) {
        if (b.contains(m) && b[m].is_number()) {
          s[name][m].push_back(Nanoseconds(b[m].get<double>(), unit));
        }
      }
    }
    return s;
  }
  if (fs::exists(path / "results.json", ec)) {
    const auto j = ReadJsonFile(path / "results.json", err);
    if (!j) return std::nullopt;
    for (const Json& p : Array(*j, "points")) {
      std::string label;
      for (const auto& [name, v] : Object(p, "values").items())
        label += (label.empty() ? "" : ", ") + name + "=" +
                 (v.is_string() ? v.get<std::string>() : v.dump());
      for (const Json& run : Array(p, "runs")) {
        const bool complete = run.value("complete", false) == true;
        s[label + ": platform"]["complete"].push_back(complete ? 1 : 0);
        if (!complete) continue;
        for (const auto& [column, v] : Object(run, "metrics").items()) {
          const std::size_t dot = column.rfind('.');
          Add(s, label + ": " + column.substr(0, dot), column.substr(dot + 1), v);
        }
      }
    }
    return s;
  }
  const auto summary = ReadJsonFile(path / "summary.json", err);
  if (!summary) return std::nullopt;
  if (summary->value("kind", "") == "DesignComparison") {
    for (const Json& d : Array(*summary, "designs")) {
      const auto own = ReadJsonFile(path / d.value("folder", "") / "summary.json", err);
      if (!own) return std::nullopt;
      for (const Json& run : Array(*own, "runs"))
        AddRun(s, d.value("name", "") + ": ", run);
    }
    return s;
  }
  if (summary->value("kind", "") != "RunSummary") {
    err << "platsim: gate: " << (path / "summary.json").string()
        << " is not the summary of a run (kind RunSummary or DesignComparison)\n";
    return std::nullopt;
  }
  for (const Json& run : Array(*summary, "runs"))
    AddRun(s, "", run);
  return s;
}

// The series' own name, without a design's or point's prefix.
std::string Own(const std::string& series) {
  const std::size_t at = series.rfind(": ");
  return at == std::string::npos ? series : series.substr(at + 2);
}

bool Matches(const Check& c, const std::string& series, bool benchmarks) {
  if (!c.series.empty()) return Own(series) == c.series;
  return benchmarks || Own(series) != "platform";
}

std::optional<std::vector<Check>> ReadGateFile(const std::string& file, double& alpha,
                                               std::ostream& err) {
  input::Diagnostics diags;
  const auto source = input::LoadYamlFile(file, file, diags);
  std::vector<Check> checks;
  if (source && source->documents.size() == 1) {
    input::MapReader m(source->documents[0], diags);
    ReadHead(m, "Gate", "", diags);
    input::MapReader spec(m.Require("spec"), diags);
    alpha = spec.Number("alpha", alpha, 1e-6, 0.5);
    if (spec.Bool("defaults", false)) checks = DefaultChecks();
    const input::Node list = spec.Get("checks");
    if (list.present() && !list.IsSequence()) {
      diags.Error(list.location(), list.path(), "expected a list of checks");
    } else if (list.present()) {
      for (const input::Node& n : list.Elements()) {
        input::MapReader c(n, diags);
        Check check;
        check.metric = c.RequiredString("metric").value_or("");
        check.series = c.String("series", "");
        check.lower_is_better = c.Enum("direction", "lower", {"lower", "higher"}) == "lower";
        check.relative = c.Number("relative", 0, 0, 1e6);
        check.absolute = c.Number("absolute", 0, 0, 1e300);
        check.mann_whitney = c.Enum("test", "welch", {"welch", "mann-whitney"}) == "mann-whitney";
        check.required = true;
        c.RejectUnknown();
        checks.push_back(check);
      }
    }
    spec.RejectUnknown();
    m.RejectUnknown();
    if (checks.empty() && diags.error_count() == 0) {
      diags.Error(spec.node().location(), "spec", "no checks: give checks, or defaults: true");
    }
  } else if (source) {
    diags.Error({file, 1, 1}, "", "expected exactly one document in a gate file");
  }
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
  if (diags.error_count() > 0 || !source) return std::nullopt;
  return checks;
}

std::optional<Samples> ReadSamples(const fs::path& path, bool& benchmarks, std::ostream& err) {
  try {
    return ReadSamplesOrThrow(path, benchmarks, err);
  } catch (const nlohmann::json::exception& e) {
    err << "platsim: gate: " << path.string()
        << ": not a run, sweep or benchmark output as they are written (" << e.what() << ")\n";
    return std::nullopt;
  }
}

struct Verdict {
  std::string series, metric;
  const Check* check;
  double base_mean = 0, current_mean = 0;
  std::size_t base_n = 0, current_n = 0;
  double change = 0;     // in the bad direction: > 0 is worse
  double allowance = 0;  // how much worse may pass
  bool tested = false;
  sim::TestResult test;
  bool regression = false;
  bool missing = false;  // no value in CURRENT
};

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v)
    sum += x;
  return sum / static_cast<double>(v.size());
}

std::string Number(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

std::string Percent(double change, double base) {
  if (base == 0) return change == 0 ? "0" : "-";
  char text[40];
  std::snprintf(text, sizeof text, "%+.2f%%", 100 * change / std::fabs(base));
  return text;
}

std::string Xml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Describe(const Verdict& v, double alpha) {
  if (v.missing) {
    return v.metric + " of " + v.series + ": " + Number(v.base_mean) +
           " in the baseline, no value in the current runs (they stopped early, or nothing "
           "completed)";
  }
  std::string s = v.metric + " of " + v.series + ": " + Number(v.base_mean) + " -> " +
                  Number(v.current_mean) + " (" + (v.check->lower_is_better ? "lower" : "higher") +
                  " is better), worse by " + Number(v.change) + " where " + Number(v.allowance) +
                  " is allowed";
  if (v.tested) {
    s += "; " + std::string(v.check->mann_whitney ? "Mann-Whitney U" : "Welch's t") +
         " p = " + Number(v.test.p_value) + " < " + Number(alpha);
  } else {
    s += "; untested (fewer than two runs on a side)";
  }
  return s;
}

}  // namespace

int GateCommand(const GateFlags& flags, std::ostream& out, std::ostream& err) {
  double alpha = 0.05;
  std::optional<std::vector<Check>> checks;
  if (!flags.gate_file.empty()) {
    checks = ReadGateFile(flags.gate_file, alpha, err);
    if (!checks) return kExitBadInput;
  }
  if (flags.alpha) alpha = *flags.alpha;
  bool base_bench = false, current_bench = false;
  const auto base = ReadSamples(flags.baseline, base_bench, err);
  const auto current = ReadSamples(flags.current, current_bench, err);
  if (!base || !current) return kExitBadInput;
  if (base_bench != current_bench) {
    err << "platsim: gate: one side is a benchmark file and the other an output folder\n";
    return kExitBadInput;
  }
  if (!checks) checks = base_bench ? BenchmarkChecks() : DefaultChecks();
  std::vector<Verdict> verdicts;
  std::vector<std::string> unmatched;
  for (const Check& c : *checks) {
    bool any = false;
    for (const auto& [series, metrics] : *base) {
      if (!Matches(c, series, base_bench)) continue;
      const auto b = metrics.find(c.metric);
      if (b == metrics.end() || b->second.empty()) continue;
      any = true;
      Verdict v{series, c.metric, &c};
      const auto other = current->find(series);
      const std::vector<double>* cur_values = nullptr;
      if (other != current->end()) {
        const auto found = other->second.find(c.metric);
        if (found != other->second.end() && !found->second.empty()) cur_values = &found->second;
      }
      if (cur_values == nullptr) {
        // Gone from CURRENT: its runs stopped early, or nothing completed.
        v.base_mean = Mean(b->second);
        v.base_n = b->second.size();
        v.current_mean = NAN;
        v.missing = true;
        v.regression = true;
        verdicts.push_back(v);
        continue;
      }
      v.base_mean = Mean(b->second);
      v.current_mean = Mean(*cur_values);
      v.base_n = b->second.size();
      v.current_n = cur_values->size();
      v.change = c.lower_is_better ? v.current_mean - v.base_mean : v.base_mean - v.current_mean;
      v.allowance = std::max(c.absolute, c.relative * std::fabs(v.base_mean));
      // A test that could never reject (Mann-Whitney with a few runs: its
      // smallest p is 1 / C(m + n, m)) decides nothing: the change alone does.
      const double least_p =
          c.mann_whitney
              ? 1.0 / std::exp(std::lgamma(v.base_n + v.current_n + 1.0) -
                               std::lgamma(v.base_n + 1.0) - std::lgamma(v.current_n + 1.0))
              : 0.0;
      v.tested = !c.exact && v.base_n >= 2 && v.current_n >= 2 && least_p < alpha * (1 - 1e-9);
      if (v.tested) {
        // Worse: current above baseline (lower is better) or below it.
        const auto& low = c.lower_is_better ? b->second : *cur_values;
        const auto& high = c.lower_is_better ? *cur_values : b->second;
        v.test = c.mann_whitney ? sim::MannWhitneyGreater(low, high, v.allowance)
                                : sim::WelchGreater(low, high, v.allowance);
        v.regression = v.test.p_value < alpha;
      } else {
        v.regression = v.change > v.allowance;
      }
      verdicts.push_back(v);
    }
    // A check the gate file names must find its metric.
    if (!any && c.required) {
      unmatched.push_back(c.metric + (c.series.empty() ? "" : " of " + c.series));
    }
  }
  for (const std::string& u : unmatched) {
    err << "platsim: gate: " << flags.gate_file << ": no " << u << " in both " << flags.baseline
        << " and " << flags.current << '\n';
  }
  if (!unmatched.empty()) return kExitBadInput;
  if (verdicts.empty()) {
    err << "platsim: gate: nothing to compare: no metric of the checks is in both\n";
    return kExitBadInput;
  }
  std::size_t regressions = 0;
  for (const Verdict& v : verdicts)
    regressions += v.regression;

  std::ostringstream md;
  md << "| series | metric | baseline | current | change | allowed | test | p | verdict |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  for (const Verdict& v : verdicts) {
    if (v.missing) {
      md << "| " << v.series << " | " << v.metric << " | " << Number(v.base_mean)
         << " (n=" << v.base_n << ") | - (n=0) | - | - | none | - | **regression** (no value) |\n";
      continue;
    }
    const double signed_change = v.current_mean - v.base_mean;
    md << "| " << v.series << " | " << v.metric << " | " << Number(v.base_mean)
       << " (n=" << v.base_n << ") | " << Number(v.current_mean) << " (n=" << v.current_n << ") | "
       << Percent(signed_change, v.base_mean) << " | " << (v.check->lower_is_better ? "+" : "-")
       << Number(v.allowance) << " | "
       << (v.tested ? (v.check->mann_whitney ? "Mann-Whitney U" : "Welch t")
                    : "none (too few runs)")
       << " | " << (v.tested ? Number(v.test.p_value) : "-") << " | "
       << (v.regression ? "**regression**" : "ok") << " |\n";
  }
  md << "\n"
     << (regressions == 0 ? "No regression"
                          : "**" + std::to_string(regressions) +
                                (regressions == 1 ? " regression" : " regressions") + "**")
     << " in " << verdicts.size() << " checks (alpha " << Number(alpha) << ", " << flags.baseline
     << " -> " << flags.current << ").\n";
  out << md.str();

  try {
    if (!flags.markdown.empty()) {
      OutputFile f(flags.markdown);
      f.stream() << md.str();
      f.Commit();
    }
    if (!flags.junit.empty()) {
      OutputFile f(flags.junit);
      auto& x = f.stream();
      x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuites name=\"platsim gate\" tests=\"" << verdicts.size() << "\" failures=\""
        << regressions << "\">\n"
        << "  <testsuite name=\"platsim gate\" tests=\"" << verdicts.size() << "\" failures=\""
        << regressions << "\">\n";
      for (const Verdict& v : verdicts) {
        x << "    <testcase classname=\"" << Xml(v.series) << "\" name=\"" << Xml(v.metric) << "\"";
        if (v.regression) {
          x << ">\n      <failure message=\"regression\">" << Xml(Describe(v, alpha))
            << "</failure>\n    </testcase>\n";
        } else {
          x << "/>\n";
        }
      }
      x << "  </testsuite>\n</testsuites>\n";
      f.Commit();
    }
    if (!flags.json.empty()) {
      Json list = Json::array();
      for (const Verdict& v : verdicts) {
        Json e = {{"series", v.series},
                  {"metric", v.metric},
                  {"direction", v.check->lower_is_better ? "lower" : "higher"},
                  {"baseline", {{"mean", v.base_mean}, {"runs", v.base_n}}},
                  {"current",
                   {{"mean", v.missing ? Json() : Json(v.current_mean)}, {"runs", v.current_n}}},
                  {"worse_by", v.change},
                  {"allowance", v.allowance},
                  {"test", v.tested ? (v.check->mann_whitney ? "mann-whitney" : "welch") : "none"},
                  {"regression", v.regression}};
        if (v.tested) {
          e["statistic"] = std::isfinite(v.test.statistic) ? Json(v.test.statistic) : Json();
          e["p_value"] = v.test.p_value;
        }
        list.push_back(e);
      }
      OutputFile f(flags.json);
      f.stream() << Json{{"apiVersion", "platsim.dev/v1alpha1"},
                         {"kind", "GateResult"},
                         {"baseline", flags.baseline},
                         {"current", flags.current},
                         {"alpha", alpha},
                         {"regressions", regressions},
                         {"checks", list}}
                        .dump(2)
                 << '\n';
      f.Commit();
    }
  } catch (const OutputError& e) {
    err << "platsim: " << e.what() << '\n';
    return kExitInternal;
  }
  return regressions > 0 ? kExitInternal : kExitOk;
}

}  // namespace platsim::tools
