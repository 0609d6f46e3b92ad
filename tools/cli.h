// The `platsim` command line, as a function so that tests run it in-process.
#ifndef PLATSIM_TOOLS_CLI_H_
#define PLATSIM_TOOLS_CLI_H_

#include <csignal>
#include <ostream>
#include <string>
#include <vector>

#include "sim/ranks.h"

namespace platsim::tools {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

// What the command line runs in, beyond its arguments.
struct CliContext {
  // Progress refreshes in place when stderr is a terminal.
  bool err_is_terminal = false;
  // Set (to the signal's number) by a SIGINT or SIGTERM handler: a run then
  // stops within 1024 events, writes what it measured marked incomplete, and
  // returns 128 + the signal. May be null.
  const volatile std::sig_atomic_t* signal = nullptr;
  // One rank of several (platsim-mpi): `run` only, whose outputs rank 0
  // writes; the others write theirs to a scratch folder they remove.
  sim::Ranks* ranks = nullptr;
};

// Runs the command line `args` (args[0] is the program name). Normal output
// goes to `out`; diagnostics, warnings and progress to `err`.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           const CliContext& ctx = {});

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_CLI_H_
