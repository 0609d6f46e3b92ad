// Runs the platsim command line in-process, for tests of its commands.
#ifndef PLATSIM_TESTS_TESTING_CLI_RUNNER_H_
#define PLATSIM_TESTS_TESTING_CLI_RUNNER_H_

#include <sstream>
#include <string>
#include <vector>

#include "tools/cli.h"

namespace platsim::testing {

struct CliResult {
  int code;
  std::string out, err;
};

// `platsim ARGS...`: its exit status, standard output and error.
inline CliResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), "platsim");
  std::ostringstream out, err;
  const int code = tools::RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

// A Deployment `app` of `replicas` pods (each asking for one GPU if `gpu`)
// and its Service, as one manifest file.
inline std::string AppManifests(int replicas, bool gpu) {
  return R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  replicas: )" +
         std::to_string(replicas) + R"(
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - {name: s, image: "app:1")" +
         (gpu ? R"(, resources: {limits: {nvidia.com/gpu: "1"}})" : "") + R"(}
---
apiVersion: v1
kind: Service
metadata: {name: app}
spec: {selector: {app: app}}
)";
}

}  // namespace platsim::testing

#endif  // PLATSIM_TESTS_TESTING_CLI_RUNNER_H_
