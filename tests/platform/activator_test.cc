// The activator's buffering and balancing against upstream's rules
// (knative/serving pkg/activator/net/throttler.go, lb_policy.go): each case
// sets up pods that hold what they are given and counts where requests go.
#include "platform/serving/activator.h"

#include <gtest/gtest.h>

#include <vector>

namespace platsim::platform {
namespace {

// A pod that holds what it is given until told to finish it, or refuses
// everything.
class Pod : public Hop {
 public:
  Pod(sim::Engine& engine, RequestTable& table, bool refuse = false)
      : engine_(engine), table_(table), refuse_(refuse) {}
  void Accept(RequestId id) override {
    ++taken;
    if (refuse_) {
      table_.End(id, Outcome::kNotLoaded, engine_.Now());
      return;
    }
    table_[id].holder = this;
    held.push_back(id);
    ++outstanding_;
  }
  void Withdraw(RequestId) override {}
  // Completes the oldest request it holds.
  void FinishOne() {
    const RequestId id = held.front();
    held.erase(held.begin());
    --outstanding_;
    table_.End(id, Outcome::kCompleted, engine_.Now());
  }
  int taken = 0;
  std::vector<RequestId> held;

 private:
  sim::Engine& engine_;
  RequestTable& table_;
  bool refuse_;
};

struct Rig {
  explicit Rig(int cc, sim::Time timeout = 300 * sim::kSecond)
      : engine(1),
        backend(engine, table, "default/app-00001-private", Balancer::kRoundRobin),
        activator(engine, table, backend, cc, timeout, [this] { ++reports; }) {}
  RequestId Send() {
    const RequestId id = table.Arrive(0, engine.Now(), true);
    activator.Accept(id);
    return id;
  }
  void Run() { engine.RunUntil(engine.Now()); }  // the drains scheduled now
  sim::Engine engine;
  RequestTable table;
  ServiceProxy backend;
  Activator activator;
  int reports = 0;
};

TEST(Activator, BuffersWithoutPodsAndSendsWhenOneIsReady) {
  Rig rig(0);
  Pod pod(rig.engine, rig.table);
  for (int i = 0; i < 5; ++i)
    rig.Send();
  EXPECT_EQ(rig.activator.buffered(), 5u);
  EXPECT_EQ(rig.activator.Outstanding(), 5u);
  EXPECT_EQ(rig.reports, 1) << "one immediate stat, at the first";
  rig.backend.SetEndpoints({&pod});
  rig.Run();
  EXPECT_EQ(pod.taken, 5);
  EXPECT_EQ(rig.activator.buffered(), 0u);
  EXPECT_EQ(rig.activator.Outstanding(), 0u);
  EXPECT_EQ(rig.activator.ever_buffered(), 5u);
}

// containerConcurrency 2: firstAvailableLBPolicy fills the first pod's two
// slots, then the second's, then buffers; a completion frees a slot of the
// pod that finished.
TEST(Activator, WithSmallConcurrencyFillsTheFirstPodWithAFreeSlot) {
  Rig rig(2);
  Pod a(rig.engine, rig.table), b(rig.engine, rig.table);
  rig.backend.SetEndpoints({&a, &b});
  for (int i = 0; i < 5; ++i)
    rig.Send();
  EXPECT_EQ(a.taken, 2);
  EXPECT_EQ(b.taken, 2);
  EXPECT_EQ(rig.activator.buffered(), 1u);
  b.FinishOne();
  rig.Run();
  EXPECT_EQ(b.taken, 3) << "the freed slot is b's";
  EXPECT_EQ(rig.activator.buffered(), 0u);
}

// containerConcurrency 4: roundRobinPolicy, from where the last pick left
// off, skipping full pods.
TEST(Activator, WithLargerConcurrencyGoesRoundRobin) {
  Rig rig(4);
  Pod a(rig.engine, rig.table), b(rig.engine, rig.table), c(rig.engine, rig.table);
  rig.backend.SetEndpoints({&a, &b, &c});
  for (int i = 0; i < 6; ++i)
    rig.Send();
  EXPECT_EQ(a.taken, 2);
  EXPECT_EQ(b.taken, 2);
  EXPECT_EQ(c.taken, 2);
  for (int i = 0; i < 6; ++i)
    rig.Send();
  EXPECT_EQ(a.taken + b.taken + c.taken, 12);
  EXPECT_EQ(a.taken, 4);
  rig.Send();  // every slot is taken
  EXPECT_EQ(rig.activator.buffered(), 1u);
}

// Unlimited concurrency: the pod with fewer of the activator's requests of
// two at random; with two pods that is always the emptier one.
TEST(Activator, WithUnlimitedConcurrencyPicksTheLessLoadedOfTwo) {
  Rig rig(0);
  Pod a(rig.engine, rig.table), b(rig.engine, rig.table);
  rig.backend.SetEndpoints({&a, &b});
  for (int i = 0; i < 100; ++i)
    rig.Send();
  EXPECT_LE(std::abs(a.taken - b.taken), 1);
}

TEST(Activator, ARequestRefusedByItsPodFreesTheSlot) {
  Rig rig(1);
  Pod refusing(rig.engine, rig.table, true), good(rig.engine, rig.table);
  rig.backend.SetEndpoints({&refusing, &good});
  rig.Send();
  rig.Send();
  EXPECT_EQ(refusing.taken, 2) << "its slot is free again once it refused";
  EXPECT_EQ(good.taken, 0);
  EXPECT_EQ(rig.table.live(), 0u);
}

TEST(Activator, BufferedRequestsTimeOutAndWithdrawnOnesAreForgotten) {
  Rig rig(0, 10 * sim::kSecond);
  Pod pod(rig.engine, rig.table);
  const RequestId first = rig.Send();
  rig.engine.RunUntil(5 * sim::kSecond);
  rig.Send();
  rig.Send();
  // The client of the first gives up at 6 s.
  rig.engine.RunUntil(6 * sim::kSecond);
  rig.activator.Withdraw(first);
  rig.table.End(first, Outcome::kTimedOut, rig.engine.Now());
  EXPECT_EQ(rig.activator.buffered(), 2u);
  // The other two time out at 15 s, the revision's timeout after arriving.
  rig.engine.RunUntil(15 * sim::kSecond - 1);
  EXPECT_EQ(rig.table.live(), 2u);
  rig.engine.RunUntil(15 * sim::kSecond);
  EXPECT_EQ(rig.table.live(), 0u);
  EXPECT_EQ(rig.activator.buffered(), 0u);
  EXPECT_EQ(rig.activator.Outstanding(), 0u);
  rig.backend.SetEndpoints({&pod});
  rig.Run();
  EXPECT_EQ(pod.taken, 0) << "nothing withdrawn or timed out is sent";
}

// The revision's breaker has MaxInt32 slots beyond its queue depth of
// 10,000: it never refuses (throttler.go, queue/breaker.go NewBreaker).
TEST(Activator, NeverRefusesWhileBuffering) {
  Rig rig(1);
  for (int i = 0; i < 20'000; ++i)
    rig.Send();
  EXPECT_EQ(rig.activator.buffered(), 20'000u);
  EXPECT_EQ(rig.table.live(), 20'000u);
}

// The immediate stat goes out only when the revision has no stats entry:
// after a whole second with none of its requests in flight.
TEST(Activator, SendsTheImmediateStatOnlyAfterAnIdleSecond) {
  Rig rig(0);
  Pod pod(rig.engine, rig.table);
  rig.backend.SetEndpoints({&pod});
  rig.Send();
  EXPECT_EQ(rig.reports, 1);
  rig.engine.RunUntil(3 * sim::kSecond);
  rig.Send();  // still busy: the first is in flight
  EXPECT_EQ(rig.reports, 1);
  pod.FinishOne();
  pod.FinishOne();  // idle from 3 s
  rig.engine.RunUntil(3 * sim::kSecond + 900 * sim::kMillisecond);
  rig.Send();
  EXPECT_EQ(rig.reports, 1) << "idle for less than a period";
  pod.FinishOne();  // idle again from 3.9 s
  rig.engine.RunUntil(5 * sim::kSecond);
  rig.Send();
  EXPECT_EQ(rig.reports, 2);
}

}  // namespace
}  // namespace platsim::platform
