#include "tools/trace.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace platsim::tools {
namespace {

using Json = nlohmann::ordered_json;

double Micros(sim::Time t) {
  return static_cast<double>(t) / 1000.0;
}

// The track an instant goes on: what kind of decision it is.
std::string TrackOf(const platform::ClusterEvent& e) {
  if (e.object_kind == "Rollout" || e.object_kind == "AnalysisRun") return "rollouts";
  if (e.object_kind == "Node" || e.reason == "GPUFailed" || e.reason == "TaintManagerEviction") {
    return "nodes and failures";
  }
  if (e.object_kind == "Service") return "traffic";
  return "scaling and controllers";
}

}  // namespace

TraceRecorder::TraceRecorder(sim::Time from, sim::Time to, std::size_t max_spans)
    : from_(from), to_(to), max_spans_(max_spans) {}

void TraceRecorder::Emit(const platform::ClusterEvent& e) {
  if (e.object_kind == "Pod") {
    // Each event starts the pod's next phase and ends the one before.
    Track& t = pods_[e.object];
    if (!t.phases.empty() && t.phases.back().end == sim::kNever) t.phases.back().end = e.time;
    // Killing ends the pod's life (its containers stop within the grace
    // period, of which no event tells): a mark, not a phase.
    t.phases.push_back({e.reason, e.time, e.reason == "Killing" ? e.time : sim::kNever});
    return;
  }
  if (e.time < from_ || e.time >= to_) return;
  instants_.push_back(
      {TrackOf(e), e.reason + " " + e.object_kind + " " + e.object, e.message, e.time});
}

void TraceRecorder::Batch(const std::string& pod, sim::Time start, sim::Time end, int size) {
  if (!InWindow(start, end)) return;
  if (spans_ >= max_spans_) {
    ++dropped_;
    return;
  }
  ++spans_;
  pods_[pod].batches.push_back({"", start, end, size});
}

void TraceRecorder::Write(std::ostream& out, sim::Time end) const {
  Json events = Json::array();
  auto name = [&](int pid, int tid, const std::string& process, const std::string& thread) {
    events.push_back({{"ph", "M"},
                      {"name", "process_name"},
                      {"pid", pid},
                      {"tid", tid},
                      {"args", {{"name", process}}}});
    events.push_back({{"ph", "M"},
                      {"name", "thread_name"},
                      {"pid", pid},
                      {"tid", tid},
                      {"args", {{"name", thread}}}});
  };
  // Decisions: process 1, a thread per kind.
  std::map<std::string, int> tracks;
  for (const Instant& i : instants_) {
    const auto [it, added] = tracks.emplace(i.track, static_cast<int>(tracks.size()) + 1);
    if (added) name(1, it->second, "controllers", i.track);
    events.push_back({{"ph", "i"},
                      {"s", "t"},
                      {"name", i.name},
                      {"pid", 1},
                      {"tid", it->second},
                      {"ts", Micros(i.time)},
                      {"args", {{"message", i.message}}}});
  }
  // Pods: process 2, two threads each (lifecycle, batches).
  int tid = 0;
  for (const auto& [pod, track] : pods_) {
    const int life = ++tid, work = ++tid;
    bool named = false;
    for (const Span& s : track.phases) {
      const sim::Time stop = s.end == sim::kNever ? end : s.end;
      if (!InWindow(s.start, stop)) continue;
      if (!named) name(2, life, "pods", pod + " lifecycle");
      named = true;
      const sim::Time from = std::max(s.start, from_), to = std::min(stop, to_);
      events.push_back({{"ph", "X"},
                        {"name", s.name},
                        {"pid", 2},
                        {"tid", life},
                        {"ts", Micros(from)},
                        {"dur", Micros(to - from)}});
    }
    if (!track.batches.empty()) name(2, work, "pods", pod + " batches");
    for (const Span& s : track.batches) {
      events.push_back({{"ph", "X"},
                        {"name", "batch of " + std::to_string(s.size)},
                        {"pid", 2},
                        {"tid", work},
                        {"ts", Micros(s.start)},
                        {"dur", Micros(s.end - s.start)},
                        {"args", {{"size", s.size}}}});
    }
  }
  Json trace = {{"traceEvents", events},
                {"displayTimeUnit", "ms"},
                {"otherData",
                 {{"producer", "platsim"},
                  {"window_s", {sim::ToSeconds(from_), sim::ToSeconds(std::min(to_, end))}},
                  {"batches_dropped", dropped_}}}};
  out << trace.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace platsim::tools
