// A hop that completes every request it is given at once and counts them:
// the endpoint behind a split or a connection pool under test.
#ifndef PLATSIM_TESTS_TESTING_COUNTING_HOP_H_
#define PLATSIM_TESTS_TESTING_COUNTING_HOP_H_

#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::testing {

class CountingHop : public platform::Hop {
 public:
  CountingHop(sim::Engine& engine, platform::RequestTable& table)
      : engine_(engine), table_(table) {}
  void Accept(platform::RequestId id) override {
    ++count;
    table_.End(id, platform::Outcome::kCompleted, engine_.Now());
  }
  void Withdraw(platform::RequestId) override {}
  int count = 0;
  bool accepting = true;  // for a caller that asks whether it takes more

 private:
  sim::Engine& engine_;
  platform::RequestTable& table_;
};

}  // namespace platsim::testing

#endif  // PLATSIM_TESTS_TESTING_COUNTING_HOP_H_
