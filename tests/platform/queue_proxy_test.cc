// The queue-proxy's breaker against upstream's (knative/serving
// pkg/queue/breaker.go, built in pkg/queue/sharedmain/main.go buildBreaker
// with MaxConcurrency = containerConcurrency and QueueDepth = 10 x it): a
// fake server holds what it takes, and each case counts where requests go.
#include "platform/serving/queue_proxy.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace platsim::platform {
namespace {

// A model server that holds what it takes (as pod 0) until told to finish
// the oldest, or refuses everything.
class Server : public Hop {
 public:
  Server(sim::Engine& engine, RequestTable& table, bool refuse = false)
      : engine_(engine), table_(table), refuse_(refuse) {}
  void Accept(RequestId id) override {
    taken.push_back(id);
    if (refuse_) {
      table_.End(id, Outcome::kNotLoaded, engine_.Now());
      return;
    }
    table_[id].holder = this;
    table_[id].pod = 0;
    held.push_back(id);
  }
  void Withdraw(RequestId) override {}
  void FinishOne() {
    const RequestId id = held.front();
    held.erase(held.begin());
    table_.End(id, Outcome::kCompleted, engine_.Now());
  }
  std::vector<RequestId> taken, held;

 private:
  sim::Engine& engine_;
  RequestTable& table_;
  bool refuse_;
};

// Counts how requests end.
class Outcomes : public RequestObserver {
 public:
  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request&, Outcome outcome, sim::Time) override { ++count[outcome]; }
  std::map<Outcome, int> count;
};

struct Rig {
  explicit Rig(int cc, bool refuse = false)
      : engine(1), server(engine, table, refuse), proxy(engine, table, server, cc) {
    table.AddObserver(&outcomes);
    table.AddObserver(&proxies);
    proxies.Set(0, &proxy);
  }
  RequestId Send() {
    const RequestId id = table.Arrive(0, engine.Now(), true);
    proxy.Accept(id);
    return id;
  }
  void Run() { engine.RunUntil(engine.Now()); }  // the drains scheduled now
  sim::Engine engine;
  RequestTable table;
  Outcomes outcomes;
  QueueProxies proxies;
  Server server;
  QueueProxy proxy;
};

// CC 2: two in the server, 20 waiting (QueueDepth 10 x 2), the rest refused
// as the breaker's totalSlots = QueueDepth + MaxConcurrency = 22 allow.
TEST(QueueProxy, HoldsContainerConcurrencyInTheServerTenTimesItWaitingAndRefusesTheRest) {
  Rig rig(2);
  std::vector<RequestId> sent;
  for (int i = 0; i < 25; ++i)
    sent.push_back(rig.Send());
  EXPECT_EQ(rig.server.held, (std::vector<RequestId>{sent[0], sent[1]}));
  EXPECT_EQ(rig.proxy.in_server(), 2);
  EXPECT_EQ(rig.proxy.waiting(), 20u);
  EXPECT_EQ(rig.proxy.Outstanding(), 22u);
  EXPECT_EQ(rig.outcomes.count[Outcome::kQueueFull], 3);

  // A slot frees: the oldest waiting request takes it, in an event of its
  // own. Meanwhile the freed slot counts: one more request is taken (the
  // breaker counts every request it holds against its 22 slots).
  rig.server.FinishOne();
  EXPECT_EQ(rig.proxy.in_server(), 1);
  EXPECT_EQ(rig.server.held.size(), 1u) << "not inside the server's call";
  sent.push_back(rig.Send());
  EXPECT_EQ(rig.proxy.waiting(), 21u);
  EXPECT_EQ(rig.outcomes.count[Outcome::kQueueFull], 3);
  rig.Run();
  EXPECT_EQ(rig.server.held, (std::vector<RequestId>{sent[1], sent[2]}));
  EXPECT_EQ(rig.proxy.waiting(), 20u);
  EXPECT_EQ(rig.proxy.Outstanding(), 22u);
  rig.Send();
  EXPECT_EQ(rig.outcomes.count[Outcome::kQueueFull], 4);
}

// containerConcurrency 0: no breaker, every request goes straight on.
TEST(QueueProxy, WithoutContainerConcurrencyEveryRequestGoesStraightOn) {
  Rig rig(0);
  for (int i = 0; i < 25; ++i)
    rig.Send();
  EXPECT_EQ(rig.server.held.size(), 25u);
  EXPECT_EQ(rig.proxy.waiting(), 0u);
  EXPECT_EQ(rig.proxy.Outstanding(), 25u);
  EXPECT_EQ(rig.outcomes.count[Outcome::kQueueFull], 0);
}

// A waiting request whose client gives up leaves the queue and never
// reaches the server; its end frees no slot.
TEST(QueueProxy, AWithdrawnRequestLeavesTheQueueAndFreesNoSlot) {
  Rig rig(1);
  const RequestId first = rig.Send();
  const RequestId second = rig.Send();
  const RequestId third = rig.Send();
  const RequestRef second_ref = rig.table.Ref(second);
  rig.proxy.Withdraw(second);
  rig.table.End(second, Outcome::kTimedOut, rig.engine.Now());
  EXPECT_EQ(rig.proxy.in_server(), 1);
  EXPECT_EQ(rig.proxy.waiting(), 1u);
  rig.server.FinishOne();  // `first`
  rig.Run();
  EXPECT_EQ(rig.server.taken, (std::vector<RequestId>{first, third}));
  EXPECT_FALSE(rig.table.Live(second_ref));
  rig.server.FinishOne();
  rig.Run();
  EXPECT_EQ(rig.proxy.in_server(), 0);
  EXPECT_EQ(rig.proxy.Outstanding(), 0u);
  EXPECT_EQ(rig.outcomes.count[Outcome::kCompleted], 2);
}

// A request the server refuses at once takes no slot: each goes on to it.
TEST(QueueProxy, RequestsTheServerRefusesTakeNoSlot) {
  Rig rig(1, /*refuse=*/true);
  for (int i = 0; i < 5; ++i)
    rig.Send();
  EXPECT_EQ(rig.server.taken.size(), 5u);
  EXPECT_EQ(rig.outcomes.count[Outcome::kNotLoaded], 5);
  EXPECT_EQ(rig.proxy.in_server(), 0);
  EXPECT_EQ(rig.proxy.waiting(), 0u);
}

// Deleted, the queue-proxy goes on serving until 30 s pass with no new
// request (the drainer's quiet period), then lets the server stop with the
// grace left.
TEST(QueueProxy, StopsTheServerAQuietPeriodAfterTheLastRequestWithTheGraceLeft) {
  Rig rig(1);
  rig.Send();
  rig.Send();                                          // waits
  std::vector<std::pair<sim::Time, sim::Time>> stops;  // (when, grace left)
  rig.proxy.Stop(300 * sim::kSecond,
                 [&](sim::Time grace_left) { stops.emplace_back(rig.engine.Now(), grace_left); });
  rig.engine.RunUntil(10 * sim::kSecond);
  rig.server.FinishOne();
  rig.Run();
  EXPECT_EQ(rig.server.held.size(), 1u) << "the waiting one goes on";
  const RequestId late = rig.Send();  // at 10 s: still taken; the quiet period restarts
  EXPECT_TRUE(rig.table.Live(rig.table.Ref(late)));
  EXPECT_EQ(rig.proxy.waiting(), 1u);
  rig.engine.RunUntil(39 * sim::kSecond);
  EXPECT_TRUE(stops.empty());
  rig.server.FinishOne();
  rig.Run();
  rig.engine.RunUntil(41 * sim::kSecond);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0].first, 40 * sim::kSecond);
  EXPECT_EQ(stops[0].second, 260 * sim::kSecond);
  EXPECT_EQ(rig.outcomes.count[Outcome::kTerminated], 0);
}

// A grace period shorter than the drain: what still waits at its end is
// terminated and the server is stopped with no grace left.
TEST(QueueProxy, AtTheEndOfTheGracePeriodWhatWaitsIsTerminated) {
  Rig rig(1);
  rig.Send();
  rig.Send();
  rig.Send();
  std::vector<std::pair<sim::Time, sim::Time>> stops;
  rig.proxy.Stop(5 * sim::kSecond,
                 [&](sim::Time grace_left) { stops.emplace_back(rig.engine.Now(), grace_left); });
  rig.engine.RunUntil(6 * sim::kSecond);
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0], std::make_pair(5 * sim::kSecond, sim::Time{0}));
  EXPECT_EQ(rig.outcomes.count[Outcome::kTerminated], 2);
  EXPECT_EQ(rig.proxy.waiting(), 0u);
  EXPECT_EQ(rig.server.held.size(), 1u) << "the server's own grace decides the one it holds";
}

}  // namespace
}  // namespace platsim::platform
