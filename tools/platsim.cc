// platsim: simulate a Kubernetes AI-inference platform. See `platsim --help`.
#include <unistd.h>

#include <iostream>

#include "tools/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  const std::vector<std::string> args(argv, argv + argc);
  return platsim::tools::RunCli(args, std::cout, std::cerr, ::isatty(STDERR_FILENO) == 1);
}
