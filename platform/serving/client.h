// A client: the traffic source of one traffic entry. It draws arrivals,
// hands each request to its target hop (a Service proxy), and gives up on
// a request at its deadline (`timeout` after arrival): the hop holding it is
// told to withdraw it, and it ends as timed out then, wherever it was.
#ifndef PLATSIM_PLATFORM_SERVING_CLIENT_H_
#define PLATSIM_PLATFORM_SERVING_CLIENT_H_

#include <memory>
#include <optional>

#include "models/arrivals.h"
#include "models/tokens.h"
#include "platform/serving/deadlines.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

// Where a client's requests get their LLM tokens: a trace's arrival carries
// them; otherwise they are drawn from these distributions, with a stream of
// their own (so that arrivals stay the same whatever the tokens).
struct TokenSource {
  std::shared_ptr<const models::TokenDistribution> prompt, output;
  sim::RandomStream rng{0};
  // A shared prefix of `shared_prefix_tokens` (capped at the prompt), one
  // of these ids drawn uniformly per request (where the arrivals carry no
  // prefix); empty: none.
  std::vector<std::uint64_t> prefix_ids;
  int shared_prefix_tokens = 0;
  int priority = 0;  // every request's
};

class Client : public sim::EventHandler {
 public:
  // Borrows engine, table and target for the client's lifetime. `index` is
  // the client's number in the requests it makes; `timeout` 0 is none.
  // Measures requests that arrive at or after `warmup`.
  Client(sim::Engine& engine, RequestTable& table, std::uint32_t index,
         std::unique_ptr<models::ArrivalProcess> arrivals, sim::RandomStream rng, sim::Time timeout,
         sim::Time warmup, Hop& target);

  // Gives each request tokens (the table's EnableTokens must have been
  // called); before Start.
  void SetTokens(TokenSource tokens) { tokens_ = std::move(tokens); }
  // Schedules the first arrival. Call once.
  void Start();

  void OnEvent(std::uint64_t payload) override;

 private:
  void Arrive();
  int SampleOrZero(const std::shared_ptr<const models::TokenDistribution>& d);
  // Schedules the one wake-up for the next arrival or the earliest deadline,
  // whichever comes first: one pending event per client, whatever its
  // timeout.
  void Wake();

  sim::Engine& engine_;
  RequestTable& table_;
  const std::uint32_t index_;
  const sim::Time timeout_;
  const sim::Time warmup_;
  Hop& target_;
  const sim::HandlerId handler_;
  std::unique_ptr<models::ArrivalProcess> arrivals_;
  sim::RandomStream rng_;
  DeadlineQueue deadlines_;
  models::Arrival next_;
  std::optional<TokenSource> tokens_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_CLIENT_H_
