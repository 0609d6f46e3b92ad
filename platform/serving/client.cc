#include "platform/serving/client.h"

#include <algorithm>

namespace platsim::platform {
namespace {

constexpr auto kAlways = [](RequestId) { return true; };

}  // namespace

Client::Client(sim::Engine& engine, RequestTable& table, std::uint32_t index,
               std::unique_ptr<models::ArrivalProcess> arrivals, sim::RandomStream rng,
               sim::Time timeout, sim::Time warmup, Hop& target)
    : engine_(engine),
      table_(table),
      index_(index),
      timeout_(timeout),
      warmup_(warmup),
      target_(target),
      handler_(engine.AddHandler(this)),
      arrivals_(std::move(arrivals)),
      rng_(rng) {}

void Client::Start() {
  const models::Arrival first = arrivals_->Next(rng_);
  if (first.time != sim::kNever) engine_.ScheduleAt(first.time, handler_, kArrival);
}

void Client::OnEvent(std::uint64_t payload) {
  if (payload == kArrival) {
    Arrive();
  } else {
    Expire();
  }
}

void Client::Arrive() {
  const sim::Time now = engine_.Now();
  const RequestId id = table_.Arrive(index_, now, now >= warmup_);
  const models::Arrival next = arrivals_->Next(rng_);
  if (next.time != sim::kNever) engine_.ScheduleAt(std::max(next.time, now), handler_, kArrival);
  if (timeout_ > 0) {
    deadlines_.Add(engine_, table_, table_.Ref(id), sim::SatAdd(now, timeout_), handler_, kDeadline,
                   kAlways);
  }
  target_.Accept(id);
}

void Client::Expire() {
  deadlines_.Expire(engine_, table_, handler_, kDeadline, kAlways, [this](RequestId id) {
    if (Hop* holder = table_[id].holder) holder->Withdraw(id);
    table_.End(id, Outcome::kTimedOut, engine_.Now());
  });
}

}  // namespace platsim::platform
