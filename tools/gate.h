// `platsim gate BASELINE CURRENT`: does CURRENT regress against BASELINE?
//
// Each is a run folder (summary.json of one design, or of several designs
// side by side), a sweep folder (results.json; points are matched by their
// values), or a Google Benchmark JSON file (the simulator's own speed, as
// benchmark's compare.py reads it). Per series (a Service, the platform, a
// benchmark) and metric, the replications (or repetitions) of each side are
// compared by a one-sided test of whether CURRENT is worse than BASELINE by
// more than the metric's allowance (max of `absolute` and `relative` x
// |baseline mean|): Welch's t-test, or the Mann-Whitney U test for skewed
// metrics (counts, benchmark times). A regression is a test that rejects
// at `alpha`; with fewer than two runs on a side there is no test, and the
// change is reported against the allowance alone, marked untested.
//
// A gate file (kind Gate) replaces the default checks:
//   apiVersion: platsim.dev/v1alpha1
//   kind: Gate
//   metadata: {name: chat}
//   spec:
//     alpha: 0.05
//     defaults: false          # also the default checks (default: false)
//     checks:
//     - metric: latency_p99_s
//       series: inference/chat # a Service, `platform`; default every Service
//       direction: lower       # lower or higher is better
//       relative: 0.02
//       absolute: 0.001
//       test: welch            # or mann-whitney
//
// Exit status: 1 on a regression, 0 otherwise, 2 on bad input. The verdicts
// as a markdown table (standard output, and --markdown), JUnit XML
// (--junit) and JSON (--json).
#ifndef PLATSIM_TOOLS_GATE_H_
#define PLATSIM_TOOLS_GATE_H_

#include <optional>
#include <ostream>
#include <string>

namespace platsim::tools {

struct GateFlags {
  std::string baseline, current;
  std::string gate_file;  // "": the default checks
  std::optional<double> alpha;
  std::string markdown, junit, json;  // files to write, "" for none
};

int GateCommand(const GateFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_GATE_H_
