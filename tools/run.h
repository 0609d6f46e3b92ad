// `platsim run` as a function, for commands that run scenarios themselves
// (sweep): the flags it takes and the run it does, outputs and exit status
// included.
#ifndef PLATSIM_TOOLS_RUN_H_
#define PLATSIM_TOOLS_RUN_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace platsim::tools {

struct RunFlags {
  std::string scenario;
  std::string out_dir = "out";
  bool force = false;
  std::optional<std::string> max_memory;
  std::optional<std::string> seed;
  int replications = 1;
  std::optional<std::string> duration;
  std::vector<std::string> designs;
  bool quiet = false;
  bool trace = false;                       // trace.json of replication 0
  std::optional<std::string> trace_window;  // "FROM,TO" (durations); default the run
  bool global_order = false;                // RunOptions::global_order
  int threads = 1;                          // RunOptions::threads
};

// Runs `flags.scenario` as `platsim run` does: loads it (diagnostics to
// `err`), runs its designs' replications, writes the outputs into
// `flags.out_dir`; returns the exit status.
int RunCommand(const RunFlags& flags, const CliContext& ctx, std::ostream& out, std::ostream& err);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_RUN_H_
