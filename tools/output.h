// Run outputs that other tools read: events.jsonl (one JSON object per
// line) and summary.json.
#ifndef PLATSIM_TOOLS_OUTPUT_H_
#define PLATSIM_TOOLS_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include "platform/events.h"
#include "platform/scenario.h"
#include "platform/simulation.h"

namespace platsim::tools {

// Writes each event as one JSON line:
//   {"replication":0,"time_s":1.5,"reason":"Scheduled","kind":"Pod",
//    "object":"default/x","message":"...", <extra fields>}
class JsonlEventSink : public platform::EventSink {
 public:
  // Borrows `out`.
  JsonlEventSink(std::ostream& out, int replication) : out_(out), replication_(replication) {}
  void Emit(const platform::ClusterEvent& event) override;

 private:
  std::ostream& out_;
  int replication_;
};

// summary.json: the scenario (and, for one design of a scenario with
// several, the design's name and description); per service, the mean of every metric over the runs
// and, with two or more runs, the half-width of its 95% confidence interval; then each run's own
// values. NaN is written as null. `complete` is true only if all `replications` runs reached the
// scenario's duration; a run that stopped early says when and why, and is left out of the means and
// intervals (`pooled_runs` says how many they are over) unless no run
// completed.
void WriteSummary(std::ostream& out, const platform::Scenario& scenario, std::uint64_t seed,
                  int replications, const std::vector<platform::RunResult>& runs);

// The runs of one design of a scenario with several, and the folder
// (relative to the comparison's) that holds its own outputs.
struct DesignRuns {
  const platform::Scenario* scenario;
  std::string folder;
  std::vector<platform::RunResult> runs;
};

// summary.json of a run of several designs (kind DesignComparison): per
// design, in the order run, its name, description, folder, and the
// platform, services and autoscalers sections of its own summary.json
// (means and confidence intervals over its runs). All designs ran on the
// same seeds, so they saw the same traffic.
void WriteDesignComparison(std::ostream& out, std::uint64_t seed, int replications,
                           const std::vector<DesignRuns>& designs);

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_OUTPUT_H_
