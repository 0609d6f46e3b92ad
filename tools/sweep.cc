#include "tools/sweep.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "models/input/diagnostics.h"
#include "models/input/units.h"
#include "models/input/yaml_reader.h"
#include "platform/scenario.h"
#include "tools/output_files.h"
#include "tools/run.h"

namespace platsim::tools {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

Json NodeToJson(const input::Node& n) {
  if (!n.present() || n.IsNull()) return nullptr;
  if (n.IsScalar()) return n.scalar();
  if (n.IsSequence()) {
    Json a = Json::array();
    for (const input::Node& e : n.Elements())
      a.push_back(NodeToJson(e));
    return a;
  }
  Json o = Json::object();
  for (const auto& e : n.Entries()) {
    if (e.key.IsScalar()) o[e.key.scalar()] = NodeToJson(e.value);
  }
  return o;
}

namespace {

// One dotted key of a path and the bracketed selectors after it.
struct Segment {
  std::string key;  // "" when the path starts with a selector
  std::vector<std::string> selectors;
};

std::optional<std::vector<Segment>> ParsePath(const std::string& path, std::string* why) {
  std::vector<Segment> out;
  std::size_t i = 0;
  while (i < path.size()) {
    Segment s;
    while (i < path.size() && path[i] != '.' && path[i] != '[')
      s.key += path[i++];
    while (i < path.size() && path[i] == '[') {
      const std::size_t close = path.find(']', i);
      if (close == std::string::npos) {
        *why = "a '[' without its ']'";
        return std::nullopt;
      }
      s.selectors.push_back(path.substr(i + 1, close - i - 1));
      if (s.selectors.back().empty()) {
        *why = "an empty []";
        return std::nullopt;
      }
      i = close + 1;
    }
    if (s.key.empty() && s.selectors.empty()) {
      *why = "an empty key";
      return std::nullopt;
    }
    out.push_back(std::move(s));
    if (i < path.size()) {
      if (path[i] != '.') {
        *why = "expected '.' or '[' after ']'";
        return std::nullopt;
      }
      if (++i == path.size()) {
        *why = "ends with '.'";
        return std::nullopt;
      }
    }
  }
  if (out.empty()) *why = "empty";
  return out.empty() ? std::nullopt : std::optional(out);
}

// The value at a dotted `field` of `j` (null if not there).
const Json* Field(const Json& j, const std::string& field) {
  const Json* at = &j;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = field.find('.', start);
    const std::string key = field.substr(start, dot - start);
    if (!at->is_object() || !at->contains(key)) return nullptr;
    at = &(*at)[key];
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

bool IsIndex(const std::string& s) {
  return !s.empty() && s.size() < 9 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Does manifest `m` have kind/name (or kind/namespace/name) `selector`?
bool IsManifest(const Json& m, const std::vector<std::string>& parts) {
  const Json* kind = Field(m, "kind");
  const Json* name = Field(m, "metadata.name");
  if (kind == nullptr || name == nullptr || *kind != parts[0] || *name != parts.back()) {
    return false;
  }
  if (parts.size() == 2) return true;
  const Json* ns = Field(m, "metadata.namespace");
  return (ns != nullptr && ns->is_string() ? ns->get<std::string>() : "default") == parts[1];
}

std::vector<std::string> Split(const std::string& s, char by) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find(by, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// The manifest `selector` (Kind/name or Kind/namespace/name) among the
// scenario's `manifests`; one from a file makes that file's documents
// inline entries in its place. Null and `why` if none is there.
Json* FindManifest(Json& manifests, const std::string& selector, const fs::path& base_dir,
                   std::string* why) {
  const std::vector<std::string> parts = Split(selector, '/');
  if (parts.size() < 2 || parts.size() > 3) {
    *why = "[" + selector + "]: expected [Kind/name] or [Kind/namespace/name]";
    return nullptr;
  }
  for (std::size_t i = 0; i < manifests.size(); ++i) {
    Json& entry = manifests[i];
    if (!entry.is_object()) continue;
    if (entry.contains("inline") && IsManifest(entry["inline"], parts)) return &entry["inline"];
    if (!entry.contains("file") || !entry["file"].is_string()) continue;
    const std::string file = entry["file"].get<std::string>();
    input::Diagnostics quiet;
    const auto source = input::LoadYamlFile((base_dir / file).string(), file, quiet);
    if (!source) continue;
    std::optional<std::size_t> found;
    for (std::size_t d = 0; d < source->documents.size(); ++d) {
      if (IsManifest(NodeToJson(source->documents[d]), parts)) found = d;
    }
    if (!found) continue;
    Json inlined = Json::array();
    for (const input::Node& doc : source->documents)
      inlined.push_back(Json{{"inline", NodeToJson(doc)}});
    manifests.erase(manifests.begin() + static_cast<std::ptrdiff_t>(i));
    manifests.insert(manifests.begin() + static_cast<std::ptrdiff_t>(i), inlined.begin(),
                     inlined.end());
    return &manifests[i + *found]["inline"];
  }
  *why = "no manifest " + selector + " among spec.manifests";
  return nullptr;
}

// The element of list `at` (reached by `where`) that `selector` names.
Json* Select(Json& at, const std::string& where, const std::string& selector,
             const fs::path& base_dir, std::string* why) {
  if (selector.size() >= 2 && selector.front() == '"' && selector.back() == '"') {
    const std::string key = selector.substr(1, selector.size() - 2);
    if (at.is_null()) at = Json::object();
    if (!at.is_object()) {
      *why = where + " is not a mapping";
      return nullptr;
    }
    return &at[key];
  }
  if (!at.is_array()) {
    *why = (where.empty() ? "the scenario" : where) + " is not a list";
    return nullptr;
  }
  if (IsIndex(selector)) {
    const std::size_t i = std::stoul(selector);
    if (i >= at.size()) {
      *why = where + " has " + std::to_string(at.size()) + " elements, no [" + selector + "]";
      return nullptr;
    }
    return &at[i];
  }
  if (where == "spec.manifests" && selector.find('/') != std::string::npos &&
      selector.find('=') == std::string::npos) {
    return FindManifest(at, selector, base_dir, why);
  }
  std::vector<std::size_t> found;
  const std::size_t eq = selector.find('=');
  for (std::size_t i = 0; i < at.size(); ++i) {
    if (eq != std::string::npos) {
      const Json* v = Field(at[i], selector.substr(0, eq));
      if (v != nullptr && v->is_string() && *v == selector.substr(eq + 1)) found.push_back(i);
      continue;
    }
    const Json* name = Field(at[i], "name");
    if (name == nullptr) name = Field(at[i], "metadata.name");
    if (name != nullptr && *name == selector) found.push_back(i);
  }
  if (found.size() != 1) {
    *why = where + (found.empty() ? " has no element [" : " has several elements [") + selector +
           "]" + (eq == std::string::npos ? " (by name; [field=value] selects by a field)" : "");
    return nullptr;
  }
  return &at[found[0]];
}

// Every relative `file` of `j` made relative to `to` instead of `from`
// (both absolute), or absolute where the two share no folder but the root.
void RebaseFiles(Json& j, const fs::path& from, const fs::path& to) {
  if (j.is_array()) {
    for (Json& e : j)
      RebaseFiles(e, from, to);
    return;
  }
  if (!j.is_object()) return;
  for (auto& [key, value] : j.items()) {
    if (key == "file" && value.is_string()) {
      const fs::path p = value.get<std::string>();
      if (p.is_relative()) {
        const fs::path file = (from / p).lexically_normal();
        const fs::path there = to.lexically_normal();
        const bool near = std::next(file.begin()) != file.end() &&
                          std::next(there.begin()) != there.end() &&
                          *std::next(file.begin()) == *std::next(there.begin());
        value = near ? file.lexically_relative(there).string() : file.string();
      }
    } else {
      RebaseFiles(value, from, to);
    }
  }
}

// A scalar that reads as a number, as a number (for the tables).
Json TableValue(const Json& v) {
  if (!v.is_string()) return v;
  const std::string s = v.get<std::string>();
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(d)) return v;
  if (std::floor(d) == d && std::abs(d) < 9e15) return static_cast<std::int64_t>(d);
  return d;
}

std::string CsvCell(const Json& v) {
  if (v.is_null()) return "";
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// The most points a sweep may have.
constexpr double kMaxPoints = 100000;

// A parameter of the sweep: its column name, path, and values in order.
struct Parameter {
  std::string name, path;
  std::vector<Json> values;
  input::Node at;  // where the sweep file gives it
};

// The sweep as its file gives it, resolved: the scenario, seeds and every
// point's values (one per parameter, null where a listed point leaves one
// out).
struct Plan {
  std::string name;
  fs::path sweep_file, scenario;
  std::optional<std::uint64_t> seed;  // default: the scenario's
  int replications = 1;
  std::optional<std::string> duration;
  std::vector<Parameter> parameters;
  std::vector<std::vector<Json>> points;
  std::vector<input::Node> point_at;  // where each listed point is (grids: the parameters)

  Json ToJson() const {
    Json params = Json::array();
    for (const Parameter& p : parameters)
      params.push_back({{"name", p.name}, {"path", p.path}});
    Json pts = Json::array();
    for (std::size_t i = 0; i < points.size(); ++i) {
      Json values = Json::object();
      for (std::size_t k = 0; k < parameters.size(); ++k)
        values[parameters[k].name] = points[i][k];
      pts.push_back({{"point", PointId(i)}, {"values", values}});
    }
    Json j = {{"apiVersion", "platsim.dev/v1alpha1"},
              {"kind", "SweepPlan"},
              {"name", name},
              {"sweep", sweep_file.string()},
              {"scenario", scenario.string()},
              {"seed", seed.value_or(0)},
              {"replications", replications},
              {"parameters", params},
              {"points", pts}};
    if (duration) j["duration"] = *duration;
    return j;
  }
  std::string PointId(std::size_t i) const {
    char id[32];
    std::snprintf(id, sizeof id, "p%0*zu", points.size() > 9999 ? 6 : 4, i + 1);
    return id;
  }
};

void Print(const input::Diagnostics& diags, std::ostream& err) {
  for (const auto& d : diags.all())
    err << input::Format(d) << '\n';
}

// Numbers from `from` to `to` by `step`, as text (integers if all three are).
std::vector<Json> Range(const input::Node& node, input::Diagnostics& diags) {
  input::MapReader r(node, diags);
  const auto from = r.RequiredNumber("from", -1e15, 1e15);
  const auto to = r.RequiredNumber("to", -1e15, 1e15);
  const auto step = r.RequiredNumber("step", 1e-12, 1e15);
  r.RejectUnknown();
  std::vector<Json> out;
  if (!from || !to || !step) return out;
  if (*to < *from || (*to - *from) / *step > 10000) {
    diags.Error(node.location(), node.path(),
                "from must be at most to, with at most 10,000 steps between");
    return out;
  }
  const bool integers = std::floor(*from) == *from && std::floor(*step) == *step;
  const auto steps = static_cast<long>(std::floor((*to - *from) / *step + 1e-9));
  std::set<std::string> seen;
  for (long k = 0; k <= steps; ++k) {
    const double v = *from + static_cast<double>(k) * *step;
    char text[64];
    if (integers) {
      std::snprintf(text, sizeof text, "%lld", static_cast<long long>(std::llround(v)));
    } else {
      // The shortest text that reads back as v.
      const auto end = std::to_chars(text, text + sizeof text - 1, v).ptr;
      *end = '\0';
    }
    if (!seen.insert(text).second) {
      diags.Error(node.location(), node.path(),
                  std::string("step too small for these numbers: ") + text + " comes twice");
      return {};
    }
    out.emplace_back(text);
  }
  return out;
}

// A sweep of the scenario `file` over --param PATH=V1,V2,... flags.
std::optional<Plan> PlanFromFlags(const SweepFlags& f, std::ostream& err) {
  Plan plan;
  plan.sweep_file = f.file;
  plan.scenario = fs::path(f.file).lexically_normal();
  plan.name = fs::path(f.file).stem().string();
  plan.replications = f.replications.value_or(1);
  plan.duration = f.duration;
  if (f.seed) {
    std::int64_t v = -1;
    const auto [end, ec] = std::from_chars(f.seed->data(), f.seed->data() + f.seed->size(), v);
    if (ec != std::errc() || end != f.seed->data() + f.seed->size() || v < 0) {
      err << "platsim: --seed: expected an integer from 0 to " << INT64_MAX << " (got '" << *f.seed
          << "')\n";
      return std::nullopt;
    }
    plan.seed = static_cast<std::uint64_t>(v);
  }
  if (f.params.empty()) {
    err << "platsim: sweep: " << f.file
        << " is a scenario: give its parameters with --param PATH=V1,V2,... (or a sweep file)\n";
    return std::nullopt;
  }
  for (const std::string& p : f.params) {
    // The first '=' outside brackets ([field=value] selects inside them).
    std::size_t eq = std::string::npos;
    for (std::size_t i = 0, depth = 0; i < p.size() && eq == std::string::npos; ++i) {
      if (p[i] == '[') ++depth;
      if (p[i] == ']' && depth > 0) --depth;
      if (p[i] == '=' && depth == 0) eq = i;
    }
    const std::string path = p.substr(0, eq);
    std::string why = eq == std::string::npos ? "expected PATH=V1,V2,..." : PathProblem(path);
    if (why.empty() && p.size() == eq + 1) why = "no values after =";
    if (!why.empty()) {
      err << "platsim: --param " << p << ": " << why << '\n';
      return std::nullopt;
    }
    Parameter param{path, path, {}, input::Node()};
    for (const std::string& v : Split(p.substr(eq + 1), ','))
      param.values.emplace_back(v);
    plan.parameters.push_back(std::move(param));
  }
  return plan;
}

std::optional<Plan> ReadPlan(const SweepFlags& flags, std::ostream& err) {
  const std::string& file = flags.file;
  input::Diagnostics diags;
  const auto source = input::LoadYamlFile(file, file, diags);
  if (!source || source->documents.size() != 1) {
    if (source) diags.Error({file, 1, 1}, "", "expected exactly one document in a sweep file");
    Print(diags, err);
    return std::nullopt;
  }
  // A scenario, swept over flags.
  input::Diagnostics quiet;
  if (input::MapReader probe(source->documents[0], quiet);
      probe.Has("kind") && probe.Get("kind").IsScalar() &&
      probe.Get("kind").scalar() == "Scenario") {
    return PlanFromFlags(flags, err);
  }
  if (!flags.params.empty() || flags.replications || flags.seed || flags.duration) {
    err << "platsim: sweep: " << file
        << " is a sweep file: its parameters, replications, seed and duration are set there "
           "(--param, --replications, --seed and --duration are for a scenario file)\n";
    return std::nullopt;
  }
  Plan plan;
  plan.sweep_file = file;
  input::MapReader m(source->documents[0], diags);
  plan.name = ReadHead(m, "Sweep", fs::path(file).stem().string(), diags);
  input::MapReader spec(m.Require("spec"), diags);
  const auto scenario = spec.RequiredString("scenario");
  if (scenario) {
    plan.scenario = (fs::path(file).parent_path() / *scenario).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(plan.scenario, ec)) {
      const input::Node at = spec.Get("scenario");
      diags.Error(at.location(), at.path(), "no scenario file " + plan.scenario.string());
    }
  }
  plan.replications = static_cast<int>(spec.Int("replications", 1, 1, 100000));
  const input::Node seed = spec.Get("seed");
  if (seed.present()) {
    if (const auto s = input::ReadInt(seed, diags, 0, INT64_MAX))
      plan.seed = static_cast<std::uint64_t>(*s);
  }
  if (const input::Node d = spec.Get("duration"); d.present()) {
    if (input::ReadDuration(d, diags, sim::kMillisecond)) plan.duration = d.scalar();
  }
  const input::Node params = spec.Get("parameters");
  const input::Node listed = spec.Get("points");
  spec.RejectUnknown();
  if (params.present() == listed.present()) {
    diags.Error(spec.node().location(), "spec", "give parameters (a grid) or points (a list)");
  }
  std::set<std::string> names;
  auto add_parameter = [&](const std::string& name, const std::string& path,
                           const input::Node& at) -> std::size_t {
    std::string why;
    if (path != "design" && !ParsePath(path, &why)) {
      diags.Error(at.location(), at.path(), "path " + path + ": " + why);
    }
    if (!names.insert(name).second) {
      diags.Error(at.location(), at.path(), "a second parameter named " + name);
    }
    plan.parameters.push_back({name, path, {}, at});
    return plan.parameters.size() - 1;
  };
  if (params.present() && params.IsSequence() && params.Elements().empty()) {
    diags.Error(params.location(), params.path(), "expected a list of at least one parameter");
  }
  if (params.present() && params.IsSequence()) {
    for (const input::Node& p : params.Elements()) {
      input::MapReader r(p, diags);
      const auto path = r.RequiredString("path");
      const std::string name = r.String("name", path.value_or(""));
      const input::Node values = r.Get("values");
      const input::Node range = r.Get("range");
      r.RejectUnknown();
      if (!path) continue;
      const std::size_t k = add_parameter(name, *path, p);
      if (values.present() == range.present()) {
        diags.Error(p.location(), p.path(), "give values (a list) or range ({from, to, step})");
      } else if (values.present()) {
        if (!values.IsSequence() || values.Elements().empty()) {
          diags.Error(values.location(), values.path(), "expected a list of at least one value");
        } else {
          for (const input::Node& v : values.Elements())
            plan.parameters[k].values.push_back(NodeToJson(v));
        }
      } else {
        plan.parameters[k].values = Range(range, diags);
      }
    }
  } else if (params.present()) {
    diags.Error(params.location(), params.path(), "expected a list of {path, values or range}");
  }
  if (listed.present() && listed.IsSequence() && !listed.Elements().empty()) {
    std::map<std::string, std::size_t> column;
    for (const input::Node& p : listed.Elements()) {
      if (!p.IsMap()) {
        diags.Error(p.location(), p.path(), "expected a mapping of paths to values");
        continue;
      }
      for (const auto& e : p.Entries()) {
        const std::string path = e.key.IsScalar() ? e.key.scalar() : "";
        if (!column.count(path)) column[path] = add_parameter(path, path, e.key);
      }
    }
    for (const input::Node& p : listed.Elements()) {
      if (!p.IsMap()) continue;
      std::vector<Json> point(plan.parameters.size());
      for (const auto& e : p.Entries())
        point[column[e.key.IsScalar() ? e.key.scalar() : ""]] = NodeToJson(e.value);
      plan.points.push_back(std::move(point));
      plan.point_at.push_back(p);
    }
  } else if (listed.present()) {
    diags.Error(listed.location(), listed.path(), "expected a list of at least one point");
  }
  m.RejectUnknown();
  if (diags.error_count() > 0 || !scenario) {
    Print(diags, err);
    return std::nullopt;
  }
  Print(diags, err);
  return plan;
}

// The grid's points, the first parameter varying slowest.
void ExpandGrid(Plan& plan) {
  if (!plan.points.empty()) return;
  std::vector<std::vector<Json>> points = {{}};
  for (const Parameter& p : plan.parameters) {
    std::vector<std::vector<Json>> next;
    for (const auto& point : points) {
      for (const Json& v : p.values) {
        next.push_back(point);
        next.back().push_back(v);
      }
    }
    points = std::move(next);
  }
  plan.points = std::move(points);
  plan.point_at.assign(plan.points.size(), input::Node());
}

// The scenario at point `i` as JSON (its files still relative to the
// scenario's folder); nullopt and reported if a path does not apply.
std::optional<Json> PointScenario(const Plan& plan, const Json& scenario, std::size_t i,
                                  std::ostream& err) {
  Json s = scenario;
  const fs::path base = plan.scenario.parent_path();
  for (std::size_t k = 0; k < plan.parameters.size(); ++k) {
    const Parameter& p = plan.parameters[k];
    const Json& value = plan.points[i][k];
    if (value.is_null()) continue;  // the scenario's own
    std::string why;
    if (p.path == "design") {
      Json* designs = s.contains("spec") ? &s["spec"] : nullptr;
      Json* list =
          designs != nullptr && designs->contains("designs") ? &(*designs)["designs"] : nullptr;
      Json chosen = Json::array();
      if (list != nullptr && list->is_array()) {
        for (const Json& d : *list) {
          if (d.is_object() && d.contains("name") && d["name"] == value) chosen.push_back(d);
        }
      }
      if (chosen.empty()) {
        why = "no design " + (value.is_string() ? value.get<std::string>() : value.dump()) +
              " in " + plan.scenario.string();
      } else {
        *list = chosen;
      }
    } else {
      why = SetAtPath(s, p.path, value, base);
    }
    if (!why.empty()) {
      const input::Node& at = plan.point_at[i].present() ? plan.point_at[i] : p.at;
      err << input::Format(
                 {input::Severity::kError, at.location(), at.path(), "path " + p.path + ": " + why})
          << '\n';
      return std::nullopt;
    }
  }
  return s;
}

void WriteText(const fs::path& path, const std::string& text) {
  OutputFile f(path);
  f.stream() << text;
  f.Commit();
}

// results.csv, points.csv and results.json from the points' summaries.
int WriteTablesOrThrow(const fs::path& dir, const Json& plan, std::ostream& err) {
  std::vector<std::string> params;
  for (const Json& p : plan.at("parameters"))
    params.push_back(p.at("name").get<std::string>());
  // Metric columns: the platform's, then each Service's, first seen first.
  std::vector<std::string> columns;
  std::set<std::string> seen;
  auto column = [&](const std::string& c) {
    if (seen.insert(c).second) columns.push_back(c);
  };
  std::vector<Json> summaries;
  for (const Json& p : plan.at("points")) {
    const auto s =
        ReadJsonFile(dir / "points" / p.at("point").get<std::string>() / "summary.json", err);
    if (!s) return kExitInternal;
    summaries.push_back(*s);
    for (const auto& [m, v] : s->at("platform").at("metrics").items())
      column("platform." + m);
    for (const auto& [service, body] : s->at("services").items()) {
      for (const auto& [m, v] : body.at("metrics").items())
        column(service + "." + m);
    }
  }
  auto metric = [](const Json& section, const std::string& col) -> Json {
    const std::size_t dot = col.rfind('.');
    const std::string owner = col.substr(0, dot), name = col.substr(dot + 1);
    const Json* block = owner == "platform" ? &section.at("platform")
                        : section.contains("services") && section.at("services").contains(owner)
                            ? &section.at("services").at(owner)
                            : nullptr;
    if (block == nullptr || !block->contains(name)) return nullptr;
    return (*block)[name];
  };
  std::ostringstream rows, means;
  rows << "point,replication,seed,complete";
  means << "point";
  for (const std::string& p : params) {
    rows << ',' << CsvCell(p);
    means << ',' << CsvCell(p);
  }
  means << ",complete,pooled_runs";
  for (const std::string& c : columns) {
    rows << ',' << CsvCell(c);
    means << ',' << CsvCell(c) << ',' << CsvCell(c + ".ci95");
  }
  rows << '\n';
  means << '\n';
  Json points = Json::array();
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const Json& s = summaries[i];
    const Json& p = plan.at("points")[i];
    const std::string id = p.at("point").get<std::string>();
    Json values = Json::object();
    for (const std::string& name : params)
      values[name] = TableValue(p.at("values").at(name));
    Json runs = Json::array();
    for (const Json& run : s.at("runs")) {
      Json flat = {{"platform", run.at("platform")}, {"services", Json::object()}};
      for (const auto& [service, m] : run.at("services").items())
        flat["services"][service] = m;
      Json metrics = Json::object();
      rows << id << ',' << run.at("replication").dump() << ',' << run.at("seed").dump() << ','
           << run.at("complete").dump();
      for (const std::string& name : params)
        rows << ',' << CsvCell(values[name]);
      for (const std::string& c : columns) {
        const Json v = metric(flat, c);
        metrics[c] = v;
        rows << ',' << CsvCell(v);
      }
      rows << '\n';
      runs.push_back({{"replication", run.at("replication")},
                      {"seed", run.at("seed")},
                      {"complete", run.at("complete")},
                      {"metrics", metrics}});
    }
    // The summary's own means and intervals (over the runs it pools).
    Json mean_section = {{"platform", s.at("platform").at("metrics")},
                         {"services", Json::object()}};
    Json ci_section = {{"platform", s.at("platform").value("ci95_half_width", Json::object())},
                       {"services", Json::object()}};
    for (const auto& [service, body] : s.at("services").items()) {
      mean_section["services"][service] = body.at("metrics");
      ci_section["services"][service] = body.value("ci95_half_width", Json::object());
    }
    Json mean = Json::object(), ci = Json::object();
    means << id;
    for (const std::string& name : params)
      means << ',' << CsvCell(values[name]);
    means << ',' << s.at("complete").dump() << ',' << s.at("pooled_runs").dump();
    for (const std::string& c : columns) {
      mean[c] = metric(mean_section, c);
      ci[c] = metric(ci_section, c);
      means << ',' << CsvCell(mean[c]) << ',' << CsvCell(ci[c]);
    }
    means << '\n';
    points.push_back({{"point", id},
                      {"values", values},
                      {"complete", s.at("complete")},
                      {"pooled_runs", s.at("pooled_runs")},
                      {"mean", mean},
                      {"ci95_half_width", ci},
                      {"runs", runs}});
  }
  Json results = {{"apiVersion", "platsim.dev/v1alpha1"},
                  {"kind", "SweepResults"},
                  {"name", plan.at("name")},
                  {"scenario", plan.at("scenario")},
                  {"seed", plan.at("seed")},
                  {"replications", plan.at("replications")},
                  {"parameters", plan.at("parameters")},
                  {"metrics", columns},
                  {"points", points}};
  WriteText(dir / "results.csv", rows.str());
  WriteText(dir / "points.csv", means.str());
  WriteText(dir / "results.json", results.dump(2) + "\n");
  return kExitOk;
}

// The same; a plan or summary not as platsim writes them is bad input.
int WriteTables(const fs::path& dir, const Json& plan, std::ostream& err) {
  try {
    return WriteTablesOrThrow(dir, plan, err);
  } catch (const nlohmann::json::exception& e) {
    err << "platsim: " << dir.string()
        << ": sweep.json or a point's summary.json is not as platsim writes it (" << e.what()
        << ")\n";
    return kExitBadInput;
  }
}

// Makes `dir` ready for a sweep: refuses a folder that holds something
// other than an earlier sweep unless forced, then removes the earlier
// sweep's files. Returns why not ("" when ready).
std::string PrepareSweepFolder(const fs::path& dir, bool force) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot create " + dir.string() + ": " + ec.message();
  const bool earlier = fs::exists(dir / "sweep.json");
  if (!earlier && !force && !fs::is_empty(dir, ec)) {
    return dir.string() + " holds files that are not a sweep's (--force to write there anyway)";
  }
  for (const char* name : {"sweep.json", "results.csv", "points.csv", "results.json", "points"}) {
    fs::remove_all(dir / name, ec);
  }
  return "";
}

// "i/n" as (i, n); nullopt if it is not that.
std::optional<std::pair<std::size_t, std::size_t>> ParseShard(const std::string& s) {
  const std::size_t slash = s.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const std::string i = s.substr(0, slash), n = s.substr(slash + 1);
  if (!IsIndex(i) || !IsIndex(n)) return std::nullopt;
  const std::size_t a = std::stoul(i), b = std::stoul(n);
  if (b == 0 || a >= b) return std::nullopt;
  return std::make_pair(a, b);
}

std::string Seconds(double s) {
  char text[32];
  if (s < 90) {
    std::snprintf(text, sizeof text, "%.0f s", s);
  } else {
    std::snprintf(text, sizeof text, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60));
  }
  return text;
}

}  // namespace

std::string ReadHead(input::MapReader& m, const std::string& kind, const std::string& default_name,
                     input::Diagnostics& diags) {
  if (const auto api = m.RequiredString("apiVersion"); api && *api != "platsim.dev/v1alpha1") {
    diags.Error(m.Get("apiVersion").location(), "apiVersion",
                "unsupported (got '" + *api + "', expected platsim.dev/v1alpha1)");
  }
  if (const auto k = m.RequiredString("kind"); k && *k != kind) {
    diags.Error(m.Get("kind").location(), "kind",
                "wrong kind (got '" + *k + "', expected " + kind + ")");
  }
  input::MapReader meta(m.Get("metadata"), diags);
  std::string name = meta.String("name", default_name);
  meta.RejectUnknown();
  return name;
}

std::optional<Json> ReadJsonFile(const fs::path& path, std::ostream& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "platsim: " << path.string() << ": cannot read\n";
    return std::nullopt;
  }
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded()) {
    err << "platsim: " << path.string() << ": not JSON\n";
    return std::nullopt;
  }
  return j;
}

std::string PathProblem(const std::string& path) {
  std::string why;
  return ParsePath(path, &why) ? "" : why;
}

int RunScenarioFolder(const fs::path& folder, std::uint64_t seed, int replications,
                      const std::optional<std::string>& duration, const CliContext& ctx) {
  RunFlags run;
  run.scenario = (folder / "scenario.json").string();
  run.out_dir = folder.string();
  run.force = true;
  run.quiet = true;
  run.seed = std::to_string(seed);
  run.replications = replications;
  run.duration = duration;
  std::ostringstream run_out, run_err;
  const int rc = RunCommand(run, ctx, run_out, run_err);
  if (rc != kExitOk) std::ofstream(folder / "errors.txt") << run_err.str();
  return rc;
}

std::string WriteScenarioFolder(Json scenario, const fs::path& base_dir, const fs::path& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return "cannot create " + folder.string() + ": " + ec.message();
  // (A scenario beside the working folder has an empty parent path.)
  RebaseFiles(scenario, fs::absolute(base_dir.empty() ? fs::path(".") : base_dir),
              fs::absolute(folder));
  try {
    WriteText(folder / "scenario.json", scenario.dump(2) + "\n");
  } catch (const OutputError& e) {
    return e.what();
  }
  input::Diagnostics diags;
  if (platform::LoadDesigns((folder / "scenario.json").string(), diags)) return "";
  std::string errors;
  for (const auto& d : diags.all()) {
    if (d.severity == input::Severity::kError) errors += input::Format(d) + "\n";
  }
  return errors;
}

std::string SetAtPath(Json& scenario, const std::string& path, const Json& value,
                      const fs::path& base_dir) {
  std::string why;
  const auto segments = ParsePath(path, &why);
  if (!segments) return why;
  Json* at = &scenario;
  std::string where;
  for (const Segment& s : *segments) {
    if (!s.key.empty()) {
      if (at->is_null()) *at = Json::object();
      if (!at->is_object()) return (where.empty() ? "the scenario" : where) + " is not a mapping";
      at = &(*at)[s.key];
      where = input::ChildPath(where, s.key);
    }
    for (const std::string& selector : s.selectors) {
      at = Select(*at, where, selector, base_dir, &why);
      if (at == nullptr) return why;
      where += "[" + selector + "]";
    }
  }
  *at = value;
  return "";
}

namespace {

// The sweep `flags` name, resolved: its points (the grid built, a design
// parameter added for a scenario with several designs), its seed, and the
// scenario as JSON. Nullopt, and why on `err`, if any of it is bad.
std::optional<std::pair<Plan, Json>> LoadSweep(const SweepFlags& flags, std::ostream& err) {
  auto plan = ReadPlan(flags, err);
  if (!plan) return std::nullopt;
  // The scenario, checked as it is, before any point changes it.
  input::Diagnostics diags;
  const auto designs = platform::LoadDesigns(plan->scenario.string(), diags);
  if (!designs) {
    Print(diags, err);
    return std::nullopt;
  }
  const auto source = input::LoadYamlFile(plan->scenario.string(), plan->scenario.string(), diags);
  if (!source || source->documents.size() != 1) return std::nullopt;
  Json scenario = NodeToJson(source->documents[0]);
  for (const Parameter& p : plan->parameters) {
    // Every point runs on the sweep's seeds (common random numbers).
    if (p.path == "spec.seed") {
      err << "platsim: " << flags.file << ": spec.seed is the sweep's, not a parameter (set the "
          << "sweep's seed, or --seed with a scenario file)\n";
      return std::nullopt;
    }
  }
  // Every design its own point, unless a parameter picks one.
  const auto design = std::find_if(plan->parameters.begin(), plan->parameters.end(),
                                   [](const Parameter& p) { return p.path == "design"; });
  if (designs->size() > 1 && design == plan->parameters.end()) {
    Parameter p{"design", "design", {}, input::Node()};
    for (const platform::Scenario& d : *designs)
      p.values.emplace_back(d.design);
    if (!plan->points.empty()) {
      err << "platsim: " << flags.file << ": " << plan->scenario.string()
          << " has several designs: give each point a design\n";
      return std::nullopt;
    }
    plan->parameters.push_back(p);
  } else if (designs->size() > 1 && !plan->points.empty()) {
    const auto k = static_cast<std::size_t>(design - plan->parameters.begin());
    for (std::size_t i = 0; i < plan->points.size(); ++i) {
      if (plan->points[i][k].is_null()) {
        err << input::Format({input::Severity::kError, plan->point_at[i].location(),
                              plan->point_at[i].path(),
                              plan->scenario.string() + " has several designs: give this point "
                                                        "a design"})
            << '\n';
        return std::nullopt;
      }
    }
  }
  // A grid's size before it is built: at most kMaxPoints.
  double grid = 1;
  for (const Parameter& p : plan->parameters)
    grid *= static_cast<double>(std::max<std::size_t>(1, p.values.size()));
  if (plan->points.empty() && grid > kMaxPoints) {
    err << "platsim: " << flags.file << ": the grid has " << grid << " points, more than "
        << kMaxPoints << " (fewer values, or list the points)\n";
    return std::nullopt;
  }
  ExpandGrid(*plan);
  if (!plan->seed) plan->seed = designs->front().seed;
  return std::make_pair(std::move(*plan), std::move(scenario));
}

int SweepOne(const SweepFlags& flags, const CliContext& ctx, std::ostream& out, std::ostream& err) {
  std::optional<std::pair<std::size_t, std::size_t>> shard;
  if (!flags.shard.empty()) {
    shard = ParseShard(flags.shard);
    if (!shard) {
      err << "platsim: --shard: expected i/n with 0 <= i < n (got '" << flags.shard << "')\n";
      return kExitBadInput;
    }
  }
  auto loaded = LoadSweep(flags, err);
  if (!loaded) return kExitBadInput;
  auto& [plan_value, scenario] = *loaded;
  Plan* plan = &plan_value;

  const fs::path dir(flags.out_dir);
  if (const std::string why = PrepareSweepFolder(dir, flags.force); !why.empty()) {
    err << "platsim: --out: " << why << '\n';
    return kExitBadInput;
  }
  // Every point's scenario, written and loaded before anything runs.
  std::vector<std::size_t> mine;
  for (std::size_t i = 0; i < plan->points.size(); ++i) {
    if (!shard || i % shard->second == shard->first) mine.push_back(i);
  }
  for (const std::size_t i : mine) {
    const auto s = PointScenario(*plan, scenario, i, err);
    if (!s) return kExitBadInput;
    const std::string problems =
        WriteScenarioFolder(*s, plan->scenario.parent_path(), dir / "points" / plan->PointId(i));
    if (!problems.empty()) {
      err << "platsim: point " << plan->PointId(i) << " ("
          << plan->ToJson()["points"][i]["values"].dump() << ") does not load:\n"
          << problems;
      return kExitBadInput;
    }
  }
  Json plan_json = plan->ToJson();
  if (shard) plan_json["shard"] = flags.shard;
  WriteText(dir / "sweep.json", plan_json.dump(2) + "\n");

  // Runs one point into its folder; its messages go to points/ID/errors.txt
  // when it fails.
  auto run_point = [&](std::size_t i) {
    return RunScenarioFolder(dir / "points" / plan->PointId(i), *plan->seed, plan->replications,
                             plan->duration, ctx);
  };
  const auto started = std::chrono::steady_clock::now();
  auto last_shown = started - std::chrono::hours(1);
  const bool show = ctx.err_is_terminal && !flags.quiet;
  std::size_t done = 0;
  std::vector<std::size_t> failed;
  // As `platsim run` shows progress: refreshed in place on a terminal,
  // elsewhere after the first second and then every 10 s.
  bool shown = false;
  auto progress = [&](std::size_t running, bool last) {
    if (flags.quiet) return;
    const auto now = std::chrono::steady_clock::now();
    const bool early = now - last_shown < (show ? std::chrono::milliseconds(200)
                                                : std::chrono::milliseconds(10'000)) ||
                       (!show && now - started < std::chrono::seconds(1));
    if (last ? !shown && !show : early) return;
    last_shown = now;
    shown = true;
    const double elapsed = std::chrono::duration<double>(now - started).count();
    std::string line =
        "platsim: sweep " + std::to_string(done) + "/" + std::to_string(mine.size()) + " points";
    if (running > 0) line += " (" + std::to_string(running) + " running)";
    line += ", " + Seconds(elapsed);
    if (done > 0 && done < mine.size()) {
      line +=
          ", about " +
          Seconds(elapsed / static_cast<double>(done) * static_cast<double>(mine.size() - done)) +
          " left";
    }
    err << (show ? "\r" : "") << line << (show ? "   " : "\n") << std::flush;
  };
  auto interrupted = [&] { return ctx.signal != nullptr && *ctx.signal != 0; };
  if (flags.jobs <= 1) {
    for (const std::size_t i : mine) {
      if (interrupted()) break;
      progress(1, false);
      if (run_point(i) != kExitOk) failed.push_back(i);
      ++done;
    }
  } else {
    std::map<pid_t, std::size_t> running;
    std::size_t next = 0;
    ::signal(SIGCHLD, SIG_DFL);  // so that waitpid sees every child
    bool told = false;           // the children, of an interrupt
    while (next < mine.size() || !running.empty()) {
      if (interrupted() && !told) {
        for (const auto& [child, point] : running)
          ::kill(child, SIGTERM);
        told = true;
      }
      while (!interrupted() && running.size() < static_cast<std::size_t>(flags.jobs) &&
             next < mine.size()) {
        const pid_t pid = ::fork();
        if (pid == 0) {
          int rc = kExitInternal;
          try {
            rc = run_point(mine[next]);
          } catch (...) {
          }
          std::fflush(nullptr);
          ::_exit(rc);
        }
        if (pid < 0) {
          err << "platsim: sweep: cannot start a process for point " << plan->PointId(mine[next])
              << '\n';
          failed.push_back(mine[next++]);
          continue;
        }
        running[pid] = mine[next++];
      }
      if (running.empty()) break;
      int status = 0;
      const pid_t pid = ::waitpid(-1, &status, 0);
      if (pid < 0) {
        if (errno == EINTR) continue;
        // The children are gone without a word: count them as failed.
        for (const auto& [child, point] : running)
          failed.push_back(point);
        break;
      }
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != kExitOk) failed.push_back(it->second);
      running.erase(it);
      ++done;
      progress(running.size(), false);
    }
  }
  progress(0, true);
  if (show) err << '\n';
  if (interrupted()) {
    err << "platsim: sweep interrupted; the points done are in " << dir.string() << "/points/\n";
    return 128 + *ctx.signal;
  }
  std::sort(failed.begin(), failed.end());
  for (const std::size_t i : failed) {
    const fs::path log = dir / "points" / plan->PointId(i) / "errors.txt";
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    err << "platsim: point " << plan->PointId(i) << " failed:\n" << text.str();
  }
  if (shard) {
    if (!flags.quiet) {
      out << "platsim: " << plan->name << ": shard " << flags.shard << ", " << mine.size() << " of "
          << plan->points.size() << " points in " << dir.string()
          << "/; put the shards together with platsim merge\n";
    }
    return failed.empty() ? kExitOk : kExitInternal;
  }
  if (const int rc = WriteTables(dir, plan_json, err); rc != kExitOk) return rc;
  if (!flags.quiet) {
    out << "platsim: " << plan->name << ": " << plan->points.size() << " points x "
        << plan->replications << " replication" << (plan->replications == 1 ? "" : "s")
        << "; results in " << dir.string()
        << "/ (results.csv: one row per point and replication; points.csv: each point's means "
           "and 95% confidence intervals; results.json: both)\n";
  }
  return failed.empty() ? kExitOk : kExitInternal;
}

// This process's rank among `size` MPI ranks, as the launcher's
// environment gives them (OpenMPI's mpirun, or a PMI launcher such as
// MPICH's Hydra), and the job's id; nullopt outside such a launch.
struct MpiRank {
  std::size_t rank = 0, size = 1;
  std::string job;
};
std::optional<MpiRank> FromMpiLauncher() {
  auto env = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v == nullptr ? "" : v);
  };
  std::string rank = env("OMPI_COMM_WORLD_RANK"), size = env("OMPI_COMM_WORLD_SIZE");
  if (rank.empty()) rank = env("PMI_RANK"), size = env("PMI_SIZE");
  if (!IsIndex(rank) || !IsIndex(size) || std::stoul(size) < 2) return std::nullopt;
  MpiRank r{std::stoul(rank), std::stoul(size), env("OMPI_MCA_ess_base_jobid")};
  if (r.job.empty()) r.job = env("PMIX_NAMESPACE");
  if (r.job.empty()) r.job = env("PMI_KVSNAME");
  if (r.rank >= r.size) return std::nullopt;
  return r;
}

// A YAML scalar for any text (JSON's double-quoted strings are YAML's).
std::string Quoted(const std::string& s) {
  return Json(s).dump();
}

// A DNS-1123 label from `name`: lower case, [a-z0-9-], at most `max`.
std::string Label(const std::string& name, std::size_t max) {
  std::string out;
  for (char c : name) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') ? l : '-';
  }
  out = out.substr(0, max);
  while (!out.empty() && out.back() == '-')
    out.pop_back();
  while (!out.empty() && out.front() == '-')
    out.erase(out.begin());
  return out.empty() ? "sweep" : out;
}

// Two Jobs (batch/v1): an Indexed Job whose index i runs shard i of n into
// OUT/shards/index-i, and a Job to apply once it completes that merges
// them into OUT. The Job controller gives every container of an Indexed
// Job's pods JOB_COMPLETION_INDEX (pkg/controller/job/indexed_job_utils.go
// addCompletionIndexEnvVariables), which `$(...)` in args expands.
std::string RenderJobs(const SweepFlags& f, const std::string& name, std::size_t points) {
  const std::string base = Label(name, 40);
  const int n = f.job_shards;
  auto pod = [&](const std::vector<std::string>& args, const std::string& indent) {
    std::ostringstream s;
    s << indent << "spec:\n"
      << indent << "  restartPolicy: Never\n"
      << indent << "  containers:\n"
      << indent << "  - name: platsim\n"
      << indent << "    image: " << Quoted(f.job_image) << "\n"
      << indent << "    workingDir: " << Quoted(f.job_workdir) << "\n"
      << indent << "    command: [\"platsim\"]\n"
      << indent << "    args:\n";
    for (const std::string& a : args)
      s << indent << "    - " << Quoted(a) << "\n";
    s << indent << "    resources:\n"
      << indent << "      requests: {cpu: \"1\", memory: 2Gi}\n"
      << indent << "    volumeMounts:\n"
      << indent << "    - {name: work, mountPath: " << Quoted(f.job_workdir) << "}\n"
      << indent << "  volumes:\n"
      << indent << "  - name: work\n"
      << indent << "    persistentVolumeClaim: {claimName: " << Quoted(f.job_volume_claim) << "}\n";
    return s.str();
  };
  const std::string shards = f.out_dir + "/shards";
  std::ostringstream y;
  y << "# platsim sweep " << f.file << " in " << n << " shards (" << points
    << " points) as Kubernetes Jobs. Paths are relative to " << f.job_workdir << ",\n"
    << "# the volume " << f.job_volume_claim
    << " (ReadWriteMany), which must hold the sweep and its scenario's files.\n"
    << "# Apply the first Job, wait for it, then apply the second:\n"
    << "#   kubectl apply -f JOBS --selector platsim.dev/step=shards\n"
    << "#   kubectl wait --for=condition=complete job/platsim-sweep-" << base << " --timeout=24h\n"
    << "#   kubectl apply -f JOBS --selector platsim.dev/step=merge\n"
    << "apiVersion: batch/v1\nkind: Job\nmetadata:\n"
    << "  name: platsim-sweep-" << base << "\n"
    << "  labels: {app.kubernetes.io/name: platsim, platsim.dev/step: shards}\n"
    << "spec:\n  completionMode: Indexed\n  completions: " << n << "\n  parallelism: " << n
    << "\n  backoffLimit: " << n << "\n  template:\n"
    << "    metadata:\n      labels: {app.kubernetes.io/name: platsim}\n"
    << pod({"sweep", f.file, "--shard", "$(JOB_COMPLETION_INDEX)/" + std::to_string(n), "--out",
            shards + "/index-$(JOB_COMPLETION_INDEX)", "--quiet"},
           "    ");
  std::vector<std::string> merge = {"merge"};
  for (int i = 0; i < n; ++i)
    merge.push_back(shards + "/index-" + std::to_string(i));
  merge.insert(merge.end(), {"--out", f.out_dir, "--force"});
  y << "---\napiVersion: batch/v1\nkind: Job\nmetadata:\n"
    << "  name: platsim-merge-" << base << "\n"
    << "  labels: {app.kubernetes.io/name: platsim, platsim.dev/step: merge}\n"
    << "spec:\n  backoffLimit: 2\n  template:\n"
    << "    metadata:\n      labels: {app.kubernetes.io/name: platsim}\n"
    << pod(merge, "    ");
  return y.str();
}

}  // namespace

int SweepCommand(const SweepFlags& flags, const CliContext& ctx, std::ostream& out,
                 std::ostream& err) {
  if (!flags.render_job.empty()) {
    if (flags.job_shards < 1) {
      err << "platsim: --render-job needs --shards N (1 or more)\n";
      return kExitBadInput;
    }
    // The sweep must load here before anything is rendered.
    const auto loaded = LoadSweep(flags, err);
    if (!loaded) return kExitBadInput;
    const Plan* plan = &loaded->first;
    const std::size_t points = plan->points.size();
    if (static_cast<std::size_t>(flags.job_shards) > points) {
      err << "platsim: --shards " << flags.job_shards << " is more than the sweep's " << points
          << " points\n";
      return kExitBadInput;
    }
    try {
      WriteText(flags.render_job, RenderJobs(flags, plan->name, points));
    } catch (const OutputError& e) {
      err << "platsim: " << e.what() << '\n';
      return kExitInternal;
    }
    if (!flags.quiet) {
      out << "platsim: wrote " << flags.render_job << " (an Indexed Job of " << flags.job_shards
          << " shards and a Job that merges them)\n";
    }
    return kExitOk;
  }
  const auto mpi = flags.shard.empty() ? FromMpiLauncher() : std::nullopt;
  if (!mpi) return SweepOne(flags, ctx, out, err);
  // Under mpirun: each rank runs its shard into shards/rank-R of the folder
  // and marks it done; rank 0 then waits for every mark of this job and
  // merges, so the folder ends as one process would leave it. The ranks
  // meet through the folder, which must be one they all see.
  const fs::path dir(flags.out_dir);
  const std::string name = "rank-" + std::to_string(mpi->rank);
  const fs::path mine = dir / "shards" / name;
  std::error_code ec;
  if (!flags.force && fs::exists(dir, ec) && !fs::exists(dir / "sweep.json", ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename() != "shards") {
        err << "platsim: --out: " << dir.string()
            << " holds files that are not a sweep's (--force to write there anyway)\n";
        return kExitBadInput;
      }
    }
  }
  if (mpi->job.empty()) {
    err << "platsim: sweep: under an MPI launcher that names no job (none of "
           "OMPI_MCA_ess_base_jobid, PMIX_NAMESPACE, PMI_KVSNAME), the ranks cannot tell this "
           "sweep's shards from an earlier one's: run the shards with --shard and merge them\n";
    return kExitBadInput;
  }
  SweepFlags shard = flags;
  shard.shard = std::to_string(mpi->rank) + "/" + std::to_string(mpi->size);
  shard.out_dir = mine.string();
  shard.force = true;
  shard.quiet = true;
  fs::remove_all(mine, ec);
  std::ostringstream quiet;
  const int rc = SweepOne(shard, ctx, quiet, err);
  fs::create_directories(mine, ec);
  if (!(std::ofstream(mine / "done") << mpi->job << ' ' << rc << '\n')) {
    err << "platsim: sweep: cannot write " << (mine / "done").string() << '\n';
    return kExitInternal;
  }
  if (mpi->rank != 0) return rc;
  std::vector<std::string> shards;
  for (std::size_t r = 0; r < mpi->size; ++r)
    shards.push_back((dir / "shards" / ("rank-" + std::to_string(r))).string());
  int worst = rc;
  for (const std::string& s : shards) {
    // Wait for the rank's mark of this job (a stale one names another).
    for (int waited = 0;; ++waited) {
      std::ifstream mark(fs::path(s) / "done");
      std::string job;
      int status = -1;
      if (mark >> job >> status && job == mpi->job) {
        worst = std::max(worst, status);
        break;
      }
      if (waited % 300 == 299 && !flags.quiet) {
        err << "platsim: sweep: rank 0 waits for " << s << '\n';
      }
      if (ctx.signal != nullptr && *ctx.signal != 0) return 128 + *ctx.signal;
      ::usleep(100'000);
    }
  }
  if (worst != kExitOk) {
    err << "platsim: sweep: a rank failed (exit " << worst << "); its shard is in "
        << (dir / "shards").string() << "/\n";
    return worst;
  }
  std::ostringstream merged;
  const int m = MergeCommand(dir.string(), shards, /*force=*/true, merged, err);
  if (m == kExitOk && !flags.quiet) {
    out << "platsim: sweep on " << mpi->size << " MPI ranks; results in " << dir.string()
        << "/ (each rank's shard in shards/)\n";
  }
  return m;
}

namespace {

int MergeOrThrow(const std::string& out_dir, const std::vector<std::string>& shards, bool force,
                 std::ostream& out, std::ostream& err);

}  // namespace

int MergeCommand(const std::string& out_dir, const std::vector<std::string>& shards, bool force,
                 std::ostream& out, std::ostream& err) {
  try {
    return MergeOrThrow(out_dir, shards, force, out, err);
  } catch (const nlohmann::json::exception& e) {
    err << "platsim: merge: a shard's sweep.json or a point's files are not as platsim writes "
           "them ("
        << e.what() << ")\n";
    return kExitBadInput;
  }
}

namespace {

int MergeOrThrow(const std::string& out_dir, const std::vector<std::string>& shards, bool force,
                 std::ostream& out, std::ostream& err) {
  std::optional<Json> plan;
  std::optional<std::size_t> count;
  std::set<std::size_t> seen;
  for (const std::string& shard : shards) {
    auto p = ReadJsonFile(fs::path(shard) / "sweep.json", err);
    if (!p) return kExitBadInput;
    const auto which = ParseShard(p->value("shard", ""));
    if (!which) {
      err << "platsim: merge: " << shard << " is not a shard of a sweep (--shard i/n)\n";
      return kExitBadInput;
    }
    p->erase("shard");
    if (plan && *p != *plan) {
      err << "platsim: merge: " << shard << " is a shard of another sweep than " << shards.front()
          << '\n';
      return kExitBadInput;
    }
    if (count && *count != which->second) {
      err << "platsim: merge: " << shard << " splits the sweep in " << which->second
          << ", the others in " << *count << '\n';
      return kExitBadInput;
    }
    if (!seen.insert(which->first).second) {
      err << "platsim: merge: shard " << which->first << "/" << which->second
          << " is given twice\n";
      return kExitBadInput;
    }
    plan = std::move(p);
    count = which->second;
  }
  if (!plan || seen.size() != *count) {
    err << "platsim: merge: " << (count ? *count - seen.size() : 0)
        << " shard(s) missing: give all n of them\n";
    return kExitBadInput;
  }
  const fs::path dir(out_dir);
  for (const std::string& shard : shards) {
    std::error_code ec;
    if (fs::equivalent(shard, dir, ec)) {
      err << "platsim: merge: --out " << out_dir << " is the shard " << shard
          << " itself: merge into another folder\n";
      return kExitBadInput;
    }
  }
  if (const std::string why = PrepareSweepFolder(dir, force); !why.empty()) {
    err << "platsim: --out: " << why << '\n';
    return kExitBadInput;
  }
  for (const std::string& shard : shards) {
    std::error_code ec;
    fs::create_directories(dir / "points");
    for (const auto& entry : fs::directory_iterator(fs::path(shard) / "points", ec)) {
      const fs::path to = dir / "points" / entry.path().filename();
      fs::copy(entry.path(), to, fs::copy_options::recursive | fs::copy_options::overwrite_existing,
               ec);
      if (ec) {
        err << "platsim: merge: cannot copy " << entry.path().string() << ": " << ec.message()
            << '\n';
        return kExitInternal;
      }
      // Its files as seen from its new place, and its summary naming it
      // there, as one process would have written them.
      auto scenario = ReadJsonFile(to / "scenario.json", err);
      auto summary = ReadJsonFile(to / "summary.json", err);
      if (!scenario || !summary || !summary->is_object()) return kExitBadInput;
      RebaseFiles(*scenario, fs::absolute(entry.path()), fs::absolute(to));
      WriteText(to / "scenario.json", scenario->dump(2) + "\n");
      if (summary->contains("scenario") && (*summary)["scenario"].is_object()) {
        (*summary)["scenario"]["file"] = (to / "scenario.json").string();
        WriteText(to / "summary.json", summary->dump(2) + "\n");
      }
    }
    if (ec) {
      err << "platsim: merge: " << shard << ": no points/ (" << ec.message() << ")\n";
      return kExitBadInput;
    }
  }
  WriteText(dir / "sweep.json", plan->dump(2) + "\n");
  if (const int rc = WriteTables(dir, *plan, err); rc != kExitOk) return rc;
  out << "platsim: merged " << shards.size() << " shards of " << (*plan)["name"].get<std::string>()
      << " into " << dir.string() << "/\n";
  return kExitOk;
}

}  // namespace

}  // namespace platsim::tools
