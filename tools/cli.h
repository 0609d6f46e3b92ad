// The `platsim` command line, as a function so that tests run it in-process.
#ifndef PLATSIM_TOOLS_CLI_H_
#define PLATSIM_TOOLS_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace platsim::tools {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

// Runs the command line `args` (args[0] is the program name). Normal output
// goes to `out`; diagnostics, warnings and progress to `err`. Progress is
// shown only if `err_is_terminal`.
int RunCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
           bool err_is_terminal = false);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_CLI_H_
