#include "platform/serving/client.h"

#include <algorithm>

namespace platsim::platform {

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
  next_ = arrivals_->Next(rng_);
  Wake();
}

void Client::Wake() {
  const sim::Time at = std::min(next_.time, deadlines_.NextDeadline());
  if (at != sim::kNever) engine_.ScheduleAt(std::max(at, engine_.Now()), handler_, 0);
}

void Client::OnEvent(std::uint64_t) {
  const sim::Time now = engine_.Now();
  // Deadlines first: a request whose deadline is now has gone before one
  // arriving now is sent.
  if (deadlines_.NextDeadline() <= now) {
    deadlines_.Expire(now, table_, [this, now](RequestId id) {
      if (Hop* holder = table_[id].holder) holder->Withdraw(id);
      table_.End(id, Outcome::kTimedOut, now);
    });
  }
  if (next_.time <= now) Arrive();
  Wake();
}

int Client::SampleOrZero(const std::shared_ptr<const models::TokenDistribution>& d) {
  return d ? d->Sample(tokens_->rng) : 0;
}

void Client::Arrive() {
  const sim::Time now = engine_.Now();
  const RequestId id = table_.Arrive(index_, now, now >= warmup_);
  if (tokens_) {
    LlmTokens& t = table_.tokens(id);
    t.prompt = next_.prompt_tokens > 0 ? next_.prompt_tokens : SampleOrZero(tokens_->prompt);
    t.output = next_.output_tokens > 0 ? next_.output_tokens : SampleOrZero(tokens_->output);
    t.priority = tokens_->priority;
    if (next_.prefix_chunks > 0) {
      t.prefix_ids = next_.prefix_ids;
      t.prefix_chunks = next_.prefix_chunks;
      t.prefix_chunk_tokens = next_.prefix_chunk_tokens;
    } else if (!tokens_->prefix_ids.empty()) {
      t.prefix_ids = &tokens_->prefix_ids[tokens_->rng.UniformInt(tokens_->prefix_ids.size())];
      t.prefix_chunks = 1;
      t.prefix_chunk_tokens = tokens_->shared_prefix_tokens;
    }
  }
  next_ = arrivals_->Next(rng_);
  if (timeout_ > 0) deadlines_.Add(table_, table_.Ref(id), sim::SatAdd(now, timeout_));
  target_.Accept(id);
}

}  // namespace platsim::platform
