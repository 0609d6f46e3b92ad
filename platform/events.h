// Cluster events: controller decisions and object transitions, in the order
// they happen. The simulation emits them through an EventSink (an observer
// hook); the CLI writes them to events.jsonl.
#ifndef PLATSIM_PLATFORM_EVENTS_H_
#define PLATSIM_PLATFORM_EVENTS_H_

#include <string>
#include <utility>
#include <vector>

#include "sim/time.h"

namespace platsim::platform {

struct ClusterEvent {
  sim::Time time = 0;
  std::string reason;       // Kubernetes event reason: Scheduled, Pulled, SuccessfulCreate, ...
  std::string object_kind;  // Pod, ReplicaSet, ...
  std::string object;       // namespace/name
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;  // extra key/values (node, ...)
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const ClusterEvent& event) = 0;
};

// Told of every batch a model server runs (or LLM step), for a trace.
class BatchTrace {
 public:
  virtual ~BatchTrace() = default;
  // `size` requests (sequences) ran on the pod `pod` (namespace/name) from
  // `start` to `end`.
  virtual void Batch(const std::string& pod, sim::Time start, sim::Time end, int size) = 0;
};

// Discards everything (runs that do not record events).
class NullEventSink : public EventSink {
 public:
  void Emit(const ClusterEvent&) override {}
};

// Keeps events in memory (tests).
class EventListSink : public EventSink {
 public:
  void Emit(const ClusterEvent& event) override { events.push_back(event); }
  std::vector<ClusterEvent> events;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_EVENTS_H_
