// platsim: simulate a Kubernetes AI-inference platform. See `platsim --help`.
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "tools/cli.h"

namespace {

volatile std::sig_atomic_t g_signal = 0;

// The first SIGINT or SIGTERM asks the run to stop; either signal after it
// ends the process (both go back to their default action).
void OnSignal(int signal) {
  g_signal = signal;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv, argv + argc);
  // For `run` only, SIGINT and SIGTERM stop the run within 1024 events; it
  // then writes what it measured, marked incomplete. Other commands keep the
  // default action. No SA_RESTART: output writes retry EINTR.
  if (args.size() >= 2 && args[1] == "run") {
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }
  platsim::tools::CliContext ctx;
  ctx.err_is_terminal = ::isatty(STDERR_FILENO) == 1;
  ctx.signal = &g_signal;
  return platsim::tools::RunCli(args, std::cout, std::cerr, ctx);
}
