#include "tools/plan.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/input/diagnostics.h"
#include "models/input/yaml_reader.h"
#include "platform/names.h"
#include "platform/scenario.h"
#include "tools/output_files.h"
#include "tools/sweep.h"

namespace platsim::tools {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

struct Objective {
  std::string service, metric;
  std::optional<double> max, min;
};

struct Scaled {
  std::string path;
  double per = 1;
};

struct Option {
  std::string name;
  std::vector<std::pair<std::string, Json>> set;
  std::string count_path;
  int from = 1, to = 1;
  std::vector<Scaled> scale;
  input::Node at;
};

struct PlanDef {
  std::string name;
  fs::path scenario;
  int replications = 1;
  std::optional<std::uint64_t> seed;
  std::optional<std::string> duration;
  double headroom = 0;
  std::vector<Objective> objectives;
  std::vector<Option> options;
};

// A number as the scenario reads it: whole numbers without a point.
std::string Text(double v) {
  char text[40];
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    std::snprintf(text, sizeof text, "%lld", static_cast<long long>(v));
  } else {
    std::snprintf(text, sizeof text, "%.10g", v);
  }
  return text;
}

bool IsPath(const std::string& path, input::Diagnostics& diags, const input::Node& at) {
  const std::string why = PathProblem(path);
  if (!why.empty()) diags.Error(at.location(), at.path(), "path " + path + ": " + why);
  return why.empty();
}

std::optional<PlanDef> ReadPlanFile(const std::string& file, std::ostream& err) {
  input::Diagnostics diags;
  const auto source = input::LoadYamlFile(file, file, diags);
  PlanDef plan;
  if (source && source->documents.size() == 1) {
    input::MapReader m(source->documents[0], diags);
    plan.name = ReadHead(m, "Plan", fs::path(file).stem().string(), diags);
    input::MapReader spec(m.Require("spec"), diags);
    if (const auto scenario = spec.RequiredString("scenario")) {
      plan.scenario = (fs::path(file).parent_path() / *scenario).lexically_normal();
      std::error_code ec;
      if (!fs::is_regular_file(plan.scenario, ec)) {
        const input::Node at = spec.Get("scenario");
        diags.Error(at.location(), at.path(), "no scenario file " + plan.scenario.string());
      }
    }
    plan.replications = static_cast<int>(spec.Int("replications", 1, 1, 100000));
    if (const input::Node seed = spec.Get("seed"); seed.present()) {
      if (const auto s = input::ReadInt(seed, diags, 0, INT64_MAX)) {
        plan.seed = static_cast<std::uint64_t>(*s);
      }
    }
    if (const input::Node d = spec.Get("duration"); d.present()) {
      if (input::ReadDuration(d, diags, sim::kMillisecond)) plan.duration = d.scalar();
    }
    plan.headroom = spec.Number("headroom", 0, 0, 100);
    const input::Node objectives = spec.Require("objectives");
    if (objectives.present() && (!objectives.IsSequence() || objectives.Elements().empty())) {
      diags.Error(objectives.location(), objectives.path(),
                  "expected a list of {service, metric, max or min}");
    } else if (objectives.present()) {
      for (const input::Node& n : objectives.Elements()) {
        input::MapReader o(n, diags);
        Objective obj;
        obj.service = o.RequiredString("service").value_or("");
        obj.metric = o.RequiredString("metric").value_or("");
        if (o.Has("max")) obj.max = o.Number("max", 0, -1e300, 1e300);
        if (o.Has("min")) obj.min = o.Number("min", 0, -1e300, 1e300);
        o.RejectUnknown();
        if (obj.max.has_value() == obj.min.has_value()) {
          diags.Error(n.location(), n.path(), "give max or min");
        }
        plan.objectives.push_back(obj);
      }
    }
    const input::Node options = spec.Require("options");
    if (options.present() && (!options.IsSequence() || options.Elements().empty())) {
      diags.Error(options.location(), options.path(), "expected a list of options");
    } else if (options.present()) {
      std::set<std::string> names;
      for (const input::Node& n : options.Elements()) {
        input::MapReader o(n, diags);
        Option opt;
        opt.at = n;
        opt.name = o.RequiredString("name").value_or("");
        if (!opt.name.empty() && !platform::IsDnsLabel(opt.name)) {
          diags.Error(o.Get("name").location(), o.Get("name").path(),
                      "a DNS-1123 label: lower-case letters, digits and '-'");
        }
        if (!opt.name.empty() && !names.insert(opt.name).second) {
          diags.Error(n.location(), n.path(), "a second option named " + opt.name);
        }
        if (const input::Node set = o.Get("set"); set.present()) {
          if (!set.IsMap()) {
            diags.Error(set.location(), set.path(), "expected a mapping of paths to values");
          } else {
            for (const auto& e : set.Entries()) {
              const std::string path = e.key.IsScalar() ? e.key.scalar() : "";
              if (IsPath(path, diags, e.key)) opt.set.emplace_back(path, NodeToJson(e.value));
            }
          }
        }
        input::MapReader count(o.Require("count"), diags);
        const input::Node count_path = count.Get("path");
        opt.count_path = count.RequiredString("path").value_or("");
        opt.from = static_cast<int>(count.Int("from", 1, 0, 1000000));
        opt.to = static_cast<int>(count.Int("to", opt.from, 0, 1000000));
        count.RejectUnknown();
        if (!opt.count_path.empty()) IsPath(opt.count_path, diags, count_path);
        if (opt.to < opt.from) {
          diags.Error(o.Get("count").location(), o.Get("count").path(), "to must be >= from");
        }
        if (const input::Node scale = o.Get("scale"); scale.present()) {
          if (!scale.IsSequence()) {
            diags.Error(scale.location(), scale.path(), "expected a list of {path, per}");
          } else {
            for (const input::Node& s : scale.Elements()) {
              input::MapReader r(s, diags);
              Scaled sc;
              const input::Node p = r.Get("path");
              sc.path = r.RequiredString("path").value_or("");
              sc.per = r.Number("per", 1, 0, 1e9);
              r.RejectUnknown();
              if (!sc.path.empty() && IsPath(sc.path, diags, p)) opt.scale.push_back(sc);
            }
          }
        }
        o.RejectUnknown();
        plan.options.push_back(std::move(opt));
      }
    }
    spec.RejectUnknown();
    m.RejectUnknown();
  } else if (source) {
    diags.Error({file, 1, 1}, "", "expected exactly one document in a plan file");
  }
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
  if (!source || diags.error_count() > 0) return std::nullopt;
  return plan;
}

// Every rate of `arrivals` times `factor` (a trace plays that much faster);
// why not, for a kind with no rate.
std::string ScaleArrivals(Json& arrivals, double factor) {
  if (!arrivals.is_object() || !arrivals.contains("kind") || !arrivals["kind"].is_string()) {
    return "arrivals without a kind";
  }
  auto scale = [&](Json& j, const char* key) {
    if (!j.is_object() || !j.contains(key)) return;
    const std::string text = j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str()) j[key] = Text(v * factor);
  };
  const std::string kind = arrivals["kind"].get<std::string>();
  if (kind == "poisson") {
    scale(arrivals, "rate");
  } else if (kind == "diurnal") {
    scale(arrivals, "meanRate");
  } else if (kind == "steps" || kind == "bursts") {
    scale(arrivals, "rate");
    for (const char* list : {"steps", "bursts"}) {
      if (arrivals.contains(list) && arrivals[list].is_array()) {
        for (Json& e : arrivals[list])
          scale(e, "rate");
      }
    }
  } else if (kind == "trace") {
    if (!arrivals.contains("speedup")) arrivals["speedup"] = "1";
    scale(arrivals, "speedup");
  } else {
    return "arrivals of kind " + kind;
  }
  return "";
}

std::string Headroom(Json& scenario, double factor) {
  if (!scenario.contains("spec") || !scenario["spec"].is_object()) return "";
  Json& spec = scenario["spec"];
  if (spec.contains("traffic") && spec["traffic"].is_array()) {
    for (Json& t : spec["traffic"]) {
      if (t.is_object() && t.contains("arrivals")) {
        if (std::string why = ScaleArrivals(t["arrivals"], factor); !why.empty()) return why;
      }
    }
  }
  if (spec.contains("timeline") && spec["timeline"].is_array()) {
    for (Json& a : spec["timeline"]) {
      if (a.is_object() && a.contains("traffic") && a["traffic"].is_object() &&
          a["traffic"].contains("arrivals")) {
        if (std::string why = ScaleArrivals(a["traffic"]["arrivals"], factor); !why.empty()) {
          return why;
        }
      }
    }
  }
  return "";
}

// What one point (an option at a count) gave.
struct Evaluation {
  std::string option;
  int count = 0;
  std::string folder;
  bool complete = false;
  double cost = NAN;
  bool feasible = false;
  Json objectives = Json::array();  // each: service, metric, mean, ci, limit, met
  std::string missed;               // the first objective missed, in words
};

std::string Short(double v) {
  char text[40];
  std::snprintf(text, sizeof text, "%.4g", v);
  return text;
}

}  // namespace

int PlanCommand(const PlanFlags& flags, const CliContext& ctx, std::ostream& out,
                std::ostream& err) {
  const auto plan = ReadPlanFile(flags.file, err);
  if (!plan) return kExitBadInput;
  input::Diagnostics diags;
  const auto designs = platform::LoadDesigns(plan->scenario.string(), diags);
  if (!designs) {
    for (const auto& d : diags.all())
      err << input::Format(d) << '\n';
    return kExitBadInput;
  }
  if (designs->size() > 1) {
    err << "platsim plan: " << plan->scenario.string()
        << " has several designs: a plan's options are its designs; give a scenario without\n";
    return kExitBadInput;
  }
  const auto source = input::LoadYamlFile(plan->scenario.string(), plan->scenario.string(), diags);
  if (!source || source->documents.size() != 1) return kExitBadInput;
  Json base = NodeToJson(source->documents[0]);
  if (plan->headroom > 0) {
    if (const std::string why = Headroom(base, 1 + plan->headroom); !why.empty()) {
      err << "platsim plan: " << flags.file << ": headroom: cannot scale " << why
          << " (set the peak's rates in the scenario instead)\n";
      return kExitBadInput;
    }
  }
  const std::uint64_t seed = plan->seed.value_or(designs->front().seed);
  const fs::path dir(flags.out_dir);
  {
    std::error_code ec;
    fs::create_directories(dir, ec);
    // An earlier plan's folder, finished or stopped (its evaluations are there).
    const bool earlier = fs::exists(dir / "plan.json") || fs::exists(dir / "evaluations");
    if (ec || (!earlier && !flags.force && !fs::is_empty(dir, ec))) {
      err << "platsim plan: --out: " << dir.string()
          << (ec ? " cannot be created"
                 : " holds files that are not a plan's (--force to write there)")
          << '\n';
      return kExitBadInput;
    }
    for (const char* name : {"plan.json", "plan.md", "evaluations"})
      fs::remove_all(dir / name, ec);
  }

  std::vector<Evaluation> evaluations;
  // Runs `option` at `count` (once; later asks reuse it). Bad input: nullopt.
  std::map<std::pair<std::string, int>, std::size_t> done;
  auto evaluate = [&](const Option& o, int count) -> std::optional<Evaluation> {
    if (const auto it = done.find({o.name, count}); it != done.end()) {
      return evaluations[it->second];
    }
    // The option's settings, then its count and what grows with it.
    Json s = base;
    std::vector<std::pair<std::string, Json>> values = o.set;
    values.emplace_back(o.count_path, Text(count));
    for (const Scaled& sc : o.scale)
      values.emplace_back(sc.path, Text(std::ceil(sc.per * count - 1e-9)));
    for (const auto& [path, value] : values) {
      if (const std::string why = SetAtPath(s, path, value, plan->scenario.parent_path());
          !why.empty()) {
        err << input::Format({input::Severity::kError, o.at.location(), o.at.path(),
                              "path " + path + ": " + why})
            << '\n';
        return std::nullopt;
      }
    }
    Evaluation e;
    e.option = o.name;
    e.count = count;
    e.folder = "evaluations/" + o.name + "-" + std::to_string(count);
    const fs::path folder = dir / e.folder;
    if (const std::string problems = WriteScenarioFolder(s, plan->scenario.parent_path(), folder);
        !problems.empty()) {
      err << "platsim plan: option " << o.name << " at " << count << " does not load:\n"
          << problems;
      return std::nullopt;
    }
    RunScenarioFolder(folder, seed, plan->replications, plan->duration, ctx);
    std::ifstream in(folder / "summary.json");
    const Json summary = Json::parse(in, nullptr, false);
    if (summary.is_discarded()) {
      std::ifstream log(folder / "errors.txt");
      std::stringstream text;
      text << log.rdbuf();
      err << "platsim plan: option " << o.name << " at " << count << " did not run:\n"
          << text.str();
      return std::nullopt;
    }
    e.complete = summary.value("complete", false);
    const Json& platform = summary.contains("platform") ? summary["platform"] : Json::object();
    if (platform.contains("metrics") && platform["metrics"].contains("cost_usd") &&
        platform["metrics"]["cost_usd"].is_number()) {
      e.cost = platform["metrics"]["cost_usd"].get<double>();
    }
    e.feasible = e.complete;
    if (!e.complete) e.missed = "the run stopped early: the platform cannot keep up";
    for (const Objective& obj : plan->objectives) {
      const Json& services = summary.contains("services") ? summary["services"] : Json::object();
      if (!services.contains(obj.service)) {
        err << "platsim plan: " << flags.file << ": no Service " << obj.service << " in "
            << plan->scenario.string() << '\n';
        return std::nullopt;
      }
      const Json& svc = services[obj.service];
      const Json metrics = svc.value("metrics", Json::object());
      const Json ci = svc.value("ci95_half_width", Json::object());
      if (!metrics.contains(obj.metric)) {
        err << "platsim plan: " << flags.file << ": no metric " << obj.metric << " of "
            << obj.service << " in summary.json\n";
        return std::nullopt;
      }
      const double mean = metrics[obj.metric].is_number() ? metrics[obj.metric].get<double>() : NAN;
      const double half =
          ci.contains(obj.metric) && ci[obj.metric].is_number() ? ci[obj.metric].get<double>() : 0;
      const bool met = obj.max ? mean + half <= *obj.max : mean - half >= *obj.min;
      if (!met && e.missed.empty()) {
        e.missed = obj.service + " " + obj.metric + " " + Short(mean) + " ± " + Short(half) +
                   (obj.max ? " > " + Short(*obj.max) : " < " + Short(*obj.min));
      }
      e.feasible = e.feasible && met && std::isfinite(mean);
      e.objectives.push_back({{"service", obj.service},
                              {"metric", obj.metric},
                              {"mean", std::isfinite(mean) ? Json(mean) : Json()},
                              {"ci95_half_width", half},
                              {obj.max ? "max" : "min", obj.max ? *obj.max : *obj.min},
                              {"met", met}});
    }
    if (!flags.quiet) {
      err << "platsim plan: " << o.name << " x " << count << ": "
          << (e.feasible ? "meets every objective" : "misses: " + e.missed)
          << (std::isfinite(e.cost) ? ", cost " + Short(e.cost) + " USD" : "") << '\n';
    }
    done[{o.name, count}] = evaluations.size();
    evaluations.push_back(e);
    return e;
  };

  // Each option's smallest count, by bisection: feasibility only grows
  // with the count.
  std::vector<std::optional<Evaluation>> best(plan->options.size());
  // An interrupted run is not an infeasible point: stop, and judge nothing.
  auto interrupted = [&] {
    if (ctx.signal == nullptr || *ctx.signal == 0) return false;
    err << "platsim plan: interrupted; the points run so far are in " << dir.string()
        << "/evaluations/\n";
    return true;
  };
  for (std::size_t k = 0; k < plan->options.size(); ++k) {
    const Option& o = plan->options[k];
    const auto top = evaluate(o, o.to);
    if (interrupted()) return 128 + *ctx.signal;
    if (!top) return kExitBadInput;
    if (!top->feasible) continue;
    int lo = o.from - 1, hi = o.to;  // lo: not known feasible; hi: feasible
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      const auto e = evaluate(o, mid);
      if (interrupted()) return 128 + *ctx.signal;
      if (!e) return kExitBadInput;
      (e->feasible ? hi : lo) = mid;
    }
    best[k] = *evaluate(o, hi);
  }
  std::vector<const Evaluation*> ranked;
  for (const auto& b : best) {
    if (b) ranked.push_back(&*b);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Evaluation* a, const Evaluation* b) { return a->cost < b->cost; });

  auto to_json = [](const Evaluation& e) {
    return Json{{"option", e.option},
                {"count", e.count},
                {"folder", e.folder},
                {"complete", e.complete},
                {"cost_usd", std::isfinite(e.cost) ? Json(e.cost) : Json()},
                {"feasible", e.feasible},
                {"objectives", e.objectives},
                {"missed", e.missed.empty() ? Json() : Json(e.missed)}};
  };
  Json all = Json::array();
  for (const Evaluation& e : evaluations)
    all.push_back(to_json(e));
  // The frontier of cost against the first objective: points no other
  // beats on both.
  Json frontier = Json::array();
  auto first = [](const Evaluation& e) {
    return e.objectives.empty() || !e.objectives[0]["mean"].is_number()
               ? NAN
               : e.objectives[0]["mean"].get<double>();
  };
  const bool lower_better = plan->objectives.front().max.has_value();
  for (const Evaluation& e : evaluations) {
    if (!e.complete || !std::isfinite(e.cost) || !std::isfinite(first(e))) continue;
    const bool dominated = std::any_of(evaluations.begin(), evaluations.end(), [&](const auto& f) {
      if (&f == &e || !f.complete || !std::isfinite(f.cost) || !std::isfinite(first(f))) {
        return false;
      }
      const bool better = lower_better ? first(f) <= first(e) : first(f) >= first(e);
      const bool strictly =
          f.cost < e.cost || (lower_better ? first(f) < first(e) : first(f) > first(e));
      return f.cost <= e.cost && better && strictly;
    });
    if (!dominated)
      frontier.push_back({{"option", e.option},
                          {"count", e.count},
                          {"cost_usd", e.cost},
                          {"objective", first(e)}});
  }
  Json result = {{"apiVersion", "platsim.dev/v1alpha1"},
                 {"kind", "PlanResult"},
                 {"name", plan->name},
                 {"scenario", plan->scenario.string()},
                 {"seed", seed},
                 {"replications", plan->replications},
                 {"headroom", plan->headroom},
                 {"chosen", ranked.empty() ? Json() : to_json(*ranked.front())},
                 {"runners_up", Json::array()},
                 {"frontier", frontier},
                 {"evaluations", all}};
  for (std::size_t i = 1; i < ranked.size(); ++i)
    result["runners_up"].push_back(to_json(*ranked[i]));

  std::ostringstream md;
  md << "# Plan " << plan->name << "\n\n";
  if (ranked.empty()) {
    md << "**No option meets every objective** within its counts.\n\n";
  } else {
    md << "**Chosen: " << ranked.front()->option << " x " << ranked.front()->count << "**, "
       << Short(ranked.front()->cost) << " USD for the run (" << plan->replications
       << " replication" << (plan->replications == 1 ? "" : "s") << " each, headroom "
       << Short(100 * plan->headroom) << "%).\n\n";
  }
  md << "| option | smallest count | cost (USD) |";
  for (const Objective& obj : plan->objectives)
    md << ' ' << obj.service << ' ' << obj.metric << " |";
  md << "\n|---|---|---|";
  for (std::size_t i = 0; i < plan->objectives.size(); ++i)
    md << "---|";
  md << '\n';
  for (std::size_t k = 0; k < plan->options.size(); ++k) {
    const Option& o = plan->options[k];
    if (!best[k]) {
      md << "| " << o.name << " | none up to " << o.to << " | - |";
      for (std::size_t i = 0; i < plan->objectives.size(); ++i)
        md << " - |";
      md << '\n';
      continue;
    }
    md << "| " << o.name << " | " << best[k]->count << " | " << Short(best[k]->cost) << " |";
    for (const Json& obj : best[k]->objectives) {
      md << ' ' << (obj["mean"].is_number() ? Short(obj["mean"].get<double>()) : "-") << " ± "
         << Short(obj["ci95_half_width"].get<double>()) << " |";
    }
    md << '\n';
  }
  md << "\nEvery point run (" << evaluations.size() << "), in " << dir.string()
     << "/evaluations/:\n\n| option | count | meets | cost (USD) | missed "
        "|\n|---|---|---|---|---|\n";
  for (const Evaluation& e : evaluations) {
    md << "| " << e.option << " | " << e.count << " | " << (e.feasible ? "yes" : "no") << " | "
       << (std::isfinite(e.cost) ? Short(e.cost) : "-") << " | " << e.missed << " |\n";
  }
  try {
    OutputFile json(dir / "plan.json");
    json.stream() << result.dump(2) << '\n';
    OutputFile markdown(dir / "plan.md");
    markdown.stream() << md.str();
    json.Close();
    markdown.Close();
    json.Commit();
    markdown.Commit();
  } catch (const OutputError& e) {
    err << "platsim: " << e.what() << '\n';
    return kExitInternal;
  }
  if (!flags.quiet) out << md.str();
  return ranked.empty() ? kExitInternal : kExitOk;
}

}  // namespace platsim::tools
