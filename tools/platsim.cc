// platsim: simulate a Kubernetes AI-inference platform. See `platsim --help`.
#include <unistd.h>

#include <csignal>
#include <iostream>

#include "tools/cli.h"

namespace {

volatile std::sig_atomic_t g_signal = 0;

void OnSignal(int signal) {
  g_signal = signal;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  // SIGINT and SIGTERM stop a run at its next event; it then writes what it
  // measured, marked incomplete; a second signal ends the process at once.
  // No SA_RESTART: output writes retry EINTR.
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  const std::vector<std::string> args(argv, argv + argc);
  platsim::tools::CliContext ctx;
  ctx.err_is_terminal = ::isatty(STDERR_FILENO) == 1;
  ctx.signal = &g_signal;
  return platsim::tools::RunCli(args, std::cout, std::cerr, ctx);
}
