#include "platform/serving/connections.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/testing/counting_hop.h"

namespace platsim::platform {
namespace {

using Sink = testing::CountingHop;

// Counts how requests ended.
class Outcomes : public RequestObserver {
 public:
  void OnArrival(const Request&, sim::Time) override {}
  void OnEnd(const Request&, Outcome o, sim::Time) override { ++ended[o]; }
  std::map<Outcome, int> ended;
};

struct Fixture {
  explicit Fixture(ConnectionConfig c) {
    table.AddObserver(&outcomes);
    pool = std::make_unique<ConnectionPool>(
        engine, table, "t", c, proxy, [](Hop* h) { return static_cast<Sink*>(h)->accepting; });
  }
  void Send(int n) {
    for (int i = 0; i < n; ++i)
      pool->Accept(table.Arrive(0, engine.Now(), true));
  }
  sim::Engine engine{7};
  RequestTable table;
  Outcomes outcomes;
  ServiceProxy proxy{engine, table, "default/app", Balancer::kRandom};
  Sink a{engine, table}, b{engine, table}, c{engine, table};
  std::unique_ptr<ConnectionPool> pool;
};

ConnectionConfig Config(int clients) {
  ConnectionConfig c;
  c.clients = clients;
  c.jitter = 0;
  return c;
}

TEST(Connections, AConnectionPinsItsClientsRequestsUntilItsPodCloses) {
  Fixture f(Config(1));
  f.proxy.SetEndpoints({&f.a, &f.b});
  f.Send(200);
  // One client, one connection: every request to the pod it picked.
  EXPECT_TRUE((f.a.count == 200 && f.b.count == 0) || (f.a.count == 0 && f.b.count == 200));
  Sink& first = f.a.count ? f.a : f.b;
  Sink& other = f.a.count ? f.b : f.a;
  EXPECT_DOUBLE_EQ(f.pool->Imbalance(), 2.0) << "one pod of two holds it";
  // The endpoints change; the connection does not.
  f.proxy.SetEndpoints({&other, &f.c});
  f.Send(50);
  EXPECT_EQ(first.count, 250);
  // Its pod closes: reconnects (reconnectDelay 0) to a current endpoint.
  f.pool->Closed(&first);
  f.Send(10);  // wait for the reconnect
  // These 10, and the first request, which opened the first connection.
  EXPECT_EQ(f.pool->stats().delayed, 11u);
  f.engine.RunUntil(sim::kSecond);
  EXPECT_EQ(other.count + f.c.count, 10);
  EXPECT_EQ(f.pool->stats().reconnects, 1u);
  EXPECT_EQ(f.pool->stats().max_reconnects, 1u);
}

TEST(Connections, FailedAttemptsBackOffAsGrpcDoes) {
  Fixture f(Config(1));
  // No endpoint: the first request's attempt fails at 0, then again after
  // 1 s, 1.6 s, 2.56 s, 4.096 s (x1.6, no jitter): at 0, 1, 2.6, 5.16,
  // 9.256 s; fail-fast ends the waiting request at the first failure.
  f.Send(1);
  EXPECT_EQ(f.outcomes.ended[Outcome::kNoEndpoint], 1);
  EXPECT_EQ(f.pool->stats().failed_requests, 1u);
  f.engine.RunUntil(9'255 * sim::kMillisecond);
  EXPECT_EQ(f.pool->stats().failed_attempts, 4u);
  f.engine.RunUntil(9'257 * sim::kMillisecond);
  EXPECT_EQ(f.pool->stats().failed_attempts, 5u);
  // An endpoint that refuses (its pod is stopping) is a failed attempt too.
  f.a.accepting = false;
  f.proxy.SetEndpoints({&f.a});
  f.engine.RunUntil(15'810 * sim::kMillisecond);  // 9.256 + 6.5536
  EXPECT_EQ(f.pool->stats().failed_attempts, 6u);
  f.a.accepting = true;
  f.engine.RunUntil(26'296 * sim::kMillisecond);  // + 10.48576: connected
  EXPECT_EQ(f.pool->stats().failed_attempts, 6u);
  EXPECT_EQ(f.pool->stats().connected, 1);
  f.Send(3);
  EXPECT_EQ(f.a.count, 3);
  EXPECT_EQ(f.pool->stats().reconnects, 0u) << "the first connection is no reconnect";
}

TEST(Connections, WebSocketClientsBufferThroughTheHandshakeAndTheReconnect) {
  ConnectionConfig c = Config(1);
  c.websocket = true;
  c.fail_fast = false;
  c.handshake = 150 * sim::kMillisecond;
  c.reconnect_delay = sim::kSecond;
  Fixture f(c);
  f.proxy.SetEndpoints({&f.a});
  f.Send(5);
  f.engine.RunUntil(149 * sim::kMillisecond);
  EXPECT_EQ(f.a.count, 0) << "the handshake is not done";
  f.engine.RunUntil(150 * sim::kMillisecond);
  EXPECT_EQ(f.a.count, 5);
  f.pool->Closed(&f.a);
  f.proxy.SetEndpoints({});
  f.Send(2);
  // Reconnect after 1 s: no endpoint, so back off 1 s; the endpoint is
  // back at 1.5 s; the attempt at 2.15 s (reconnect delay 1 s + backoff 1 s
  // after the close at 0.15 s) connects, usable 0.15 s later.
  f.engine.RunUntil(1'500 * sim::kMillisecond);
  f.proxy.SetEndpoints({&f.b});
  f.engine.RunUntil(2'299 * sim::kMillisecond);
  EXPECT_EQ(f.b.count, 0);
  f.engine.RunUntil(2'300 * sim::kMillisecond);
  EXPECT_EQ(f.b.count, 2);
  EXPECT_EQ(f.outcomes.ended[Outcome::kNoEndpoint], 0) << "buffered, never failed";
  EXPECT_EQ(f.pool->stats().delayed, 7u);
}

TEST(Connections, ClientsSpreadOverEndpointsAtRandom) {
  Fixture f(Config(3000));
  f.proxy.SetEndpoints({&f.a, &f.b, &f.c});
  f.Send(30'000);  // every client connects (most several times over)
  // Multinomial(3000, 1/3 each): sd of a count 25.8; the most loaded pod
  // over the mean stays within 1 + 4 x 25.8 / 1000.
  EXPECT_EQ(f.pool->stats().connected, 3000);
  EXPECT_GE(f.pool->Imbalance(), 1.0);
  EXPECT_LE(f.pool->Imbalance(), 1.0 + 4 * 25.8 / 1000);
}

}  // namespace
}  // namespace platsim::platform
