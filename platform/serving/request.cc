#include "platform/serving/request.h"

namespace platsim::platform {

RequestId RequestTable::Arrive(std::uint32_t client, sim::Time now, bool measured) {
  RequestId id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<RequestId>(requests_.size());
    requests_.emplace_back();
    live_.push_back(false);
  }
  Request& r = requests_[id];
  const std::uint32_t generation = r.generation + 1;
  r = Request{};
  r.arrival = now;
  r.enqueued = now;
  r.client = client;
  r.generation = generation;
  r.measured = measured;
  live_[id] = true;
  ++live_count_;
  for (RequestObserver* o : observers_)
    o->OnArrival(r, now);
  return id;
}

void RequestTable::End(RequestId id, Outcome outcome, sim::Time now) {
  Request& r = requests_[id];
  for (RequestObserver* o : observers_)
    o->OnEnd(r, outcome, now);
  r.holder = nullptr;
  live_[id] = false;
  --live_count_;
  free_.push_back(id);
}

}  // namespace platsim::platform
