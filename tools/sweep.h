// `platsim sweep` and `platsim merge`: a scenario run at every point of a
// grid (or list) of parameter values, each point a normal run folder, and
// the results as one tidy table.
//
// A sweep file:
//   apiVersion: platsim.dev/v1alpha1
//   kind: Sweep
//   metadata: {name: gpus}
//   spec:
//     scenario: llm-chat.yaml       # relative to the sweep file
//     replications: 3               # per point (default 1)
//     seed: 7                       # default: the scenario's
//     duration: 30m                 # default: the scenario's
//     parameters:                   # a grid, the first varying slowest
//     - path: spec.nodePools[h100].count
//       values: [2, 3, 4]
//     - {name: seqs, path: spec.modelServers[deployment=llama].vllm.maxNumSeqs,
//        range: {from: 64, to: 256, step: 64}}
//     points:                       # or a list of points instead of a grid
//     - {spec.nodePools[h100].count: 2, design: gpus-2}
//
// A path is dotted keys, each followed by selectors in brackets: [N] an
// index, [field=value] the element whose field (dotted) has that value,
// [NAME] the element whose name (or metadata.name) is NAME, ["key"] a key
// with dots in it, and on spec.manifests [Kind/name] or [Kind/namespace/name]
// a manifest, inline or in a file (which the point then holds inline). A
// null value, or a path a listed point leaves out, keeps the scenario's
// value. The path `design` picks a design of a scenario that has several;
// without it every design is a parameter of its own, varying fastest.
//
// Every point sees the same seeds, so the same traffic in each replication
// (common random numbers). The output folder holds sweep.json (the points),
// points/pNNNN/ (the point's scenario.json and its run outputs), and
// results.csv, points.csv and results.json. `--shard i/n` runs every n-th
// point from the i-th and writes no tables; `platsim merge` puts shards
// together into exactly what one process writes.
#ifndef PLATSIM_TOOLS_SWEEP_H_
#define PLATSIM_TOOLS_SWEEP_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/cli.h"

namespace platsim::input {
class Diagnostics;
class MapReader;
class Node;
}  // namespace platsim::input

namespace platsim::tools {

struct SweepFlags {
  std::string file;  // the sweep file
  std::string out_dir = "out";
  int jobs = 1;       // points run at once, each in a process of its own
  std::string shard;  // "i/n", or "" for every point
  bool force = false;
  bool quiet = false;
  // Instead of a sweep file, a scenario and its parameters as flags:
  // PATH=V1,V2,... each (a grid, the first varying slowest).
  std::vector<std::string> params;
  std::optional<int> replications;  // default 1
  std::optional<std::string> seed, duration;
  // --render-job FILE: write Kubernetes Jobs that run the sweep in
  // `job_shards` shards (an Indexed Job) and merge them, instead of running.
  std::string render_job;
  int job_shards = 0;
  std::string job_image = "platsim:latest";
  std::string job_volume_claim = "platsim-work";  // mounted at job_workdir
  std::string job_workdir = "/work";
};

int SweepCommand(const SweepFlags& flags, const CliContext& ctx, std::ostream& out,
                 std::ostream& err);

// Puts the shards' folders together into `out_dir`.
int MergeCommand(const std::string& out_dir, const std::vector<std::string>& shards, bool force,
                 std::ostream& out, std::ostream& err);

// Sets `value` at `path` (the syntax above) in `scenario`, a scenario
// document as JSON whose files resolve against `base_dir`. Returns why not
// ("" when done).
std::string SetAtPath(nlohmann::ordered_json& scenario, const std::string& path,
                      const nlohmann::ordered_json& value, const std::filesystem::path& base_dir);

// The head of a platsim file of `kind` (sweep, plan, gate): apiVersion
// platsim.dev/v1alpha1, that kind, and metadata.name (`default_name` if
// none), which it returns; problems go to `diags`.
std::string ReadHead(input::MapReader& file, const std::string& kind,
                     const std::string& default_name, input::Diagnostics& diags);
// A JSON file platsim wrote (a summary, a plan); nullopt, and why on
// `err`, if it cannot be read or is not JSON.
std::optional<nlohmann::ordered_json> ReadJsonFile(const std::filesystem::path& path,
                                                   std::ostream& err);

// Why `path` is not a path of the syntax above ("" if it is).
std::string PathProblem(const std::string& path);

// What sweeps and plans share. A parsed YAML document as JSON (scalars stay
// text: the scenario reader reads text whatever its quoting).
nlohmann::ordered_json NodeToJson(const input::Node& node);
// Writes `scenario` (its files resolving against `base_dir`) as
// folder/scenario.json with its files made relative to the folder, and
// loads it as platsim run would: "" if it loads, else its errors.
std::string WriteScenarioFolder(nlohmann::ordered_json scenario,
                                const std::filesystem::path& base_dir,
                                const std::filesystem::path& folder);
// Runs folder/scenario.json into the folder as `platsim run` does, quietly;
// its messages go to folder/errors.txt if it fails. The exit status.
int RunScenarioFolder(const std::filesystem::path& folder, std::uint64_t seed, int replications,
                      const std::optional<std::string>& duration, const CliContext& ctx);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_SWEEP_H_
