// A run's timeline in Chrome's trace event format (trace.json; Perfetto
// and chrome://tracing open it): each pod a track of its lifecycle (from
// its events: scheduled, pulling, started, ready, killing) and of the
// batches (or an LLM server's steps) it runs, and tracks of controller
// decisions, rollouts and failures as instants, for a window of the run.
// Times are microseconds of simulated time.
#ifndef PLATSIM_TOOLS_TRACE_H_
#define PLATSIM_TOOLS_TRACE_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "platform/events.h"
#include "sim/time.h"

namespace platsim::tools {

class TraceRecorder : public platform::EventSink, public platform::BatchTrace {
 public:
  // Records what falls in [from, to); at most `max_spans` batch spans (the
  // rest are counted, not kept).
  TraceRecorder(sim::Time from, sim::Time to, std::size_t max_spans = 2'000'000);

  // EventSink: pod events make the pods' lifecycle spans; controllers',
  // rollouts' and nodes' events are instants.
  void Emit(const platform::ClusterEvent& event) override;
  // A batch of `size` requests ran on the pod `pod` (namespace/name) from
  // `start` to `end` (for an LLM server, a step of `size` sequences).
  void Batch(const std::string& pod, sim::Time start, sim::Time end, int size) override;

  // Writes the trace; `end` closes the spans still open.
  void Write(std::ostream& out, sim::Time end) const;
  std::size_t spans_dropped() const { return dropped_; }

 private:
  struct Span {
    std::string name;
    sim::Time start, end;
    int size = 0;
  };
  struct Track {
    std::vector<Span> phases;   // the pod's lifecycle
    std::vector<Span> batches;  // what it ran
  };
  struct Instant {
    std::string track, name, message;
    sim::Time time;
  };
  bool InWindow(sim::Time start, sim::Time end) const { return end >= from_ && start < to_; }

  sim::Time from_, to_;
  std::size_t max_spans_, spans_ = 0, dropped_ = 0;
  std::map<std::string, Track> pods_;  // by namespace/name
  std::vector<Instant> instants_;
};

}  // namespace platsim::tools

#endif  // PLATSIM_TOOLS_TRACE_H_
