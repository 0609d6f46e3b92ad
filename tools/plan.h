// `platsim plan`: the cheapest design that meets the SLOs at a peak, with
// headroom. A plan file names the scenario, the objectives, and the
// options to choose between (a GPU type each, say), each with a count to
// search (its node pool's nodes) and what grows with it (replicas):
//
//   apiVersion: platsim.dev/v1alpha1
//   kind: Plan
//   metadata: {name: chat}
//   spec:
//     scenario: chat.yaml
//     replications: 3
//     duration: 30m
//     headroom: 0.2                     # the traffic's rates x 1.2
//     objectives:
//     - {service: inference/chat, metric: latency_p99_s, max: 0.25}
//     - {service: inference/chat, metric: slo_attainment, min: 0.99}
//     options:
//     - name: a100
//       set: {'spec.modelServers[deployment=chat].serviceTime.file': a100.json}
//       count: {path: 'spec.nodePools[gpu].count', from: 1, to: 16}
//       scale: [{path: 'spec.manifests[Deployment/inference/chat].spec.replicas', per: 1}]
//
// A point meets an objective when the far end of its 95% confidence
// interval does (mean + half-width <= max, mean - half-width >= min). More
// of the same option never makes a point worse (in a fixed design, more
// GPUs serve the same requests), so each option's smallest count is found
// by bisection between `from` and `to`. The cheapest option at its
// smallest count (by the run's platform cost_usd) is chosen; the others
// are the runners-up. Outputs: plan.json and plan.md, and every point run
// as a folder under evaluations/.
#ifndef PLATSIM_TOOLS_PLAN_H_
#define PLATSIM_TOOLS_PLAN_H_

#include <ostream>
#include <string>

#include "tools/cli.h"

namespace platsim::tools {

struct PlanFlags {
  std::string file;
  std::string out_dir = "out";
  bool force = false;
  bool quiet = false;
};

int PlanCommand(const PlanFlags& flags, const CliContext& ctx, std::ostream& out,
                std::ostream& err);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_PLAN_H_
