// Long-lived connections: gRPC (HTTP/2) channels or WebSocket sessions,
// each pinning its client's requests to one pod. A traffic entry with
// `connections` sends each request over one of its clients' connections
// (a client chosen at random per request); the connection was opened to
// one endpoint of the Service, chosen at random as kube-proxy chooses a
// backend per connection, and stays there however the Service's endpoints
// change: a new pod takes no connection until some client reconnects.
// A connection breaks when its pod stops (a graceful close: gRPC's GOAWAY,
// a WebSocket close frame, at the pod's SIGTERM) or dies; requests already
// in the pod finish or end with it, as the server decides. The client
// reconnects after `reconnect_delay` (jittered), and a failed attempt (no
// endpoint, or a pod that refuses) backs off as gRPC's connection backoff
// does (grpc/grpc doc/connection-backoff.md: 1 s, x1.6, +-20% jitter, at
// most 120 s). A new connection is usable after its handshake. Requests a
// client makes while it has no connection wait for one (WebSocket clients
// that buffer; gRPC's wait-for-ready), or with `fail_fast` (gRPC's default)
// fail as refused (no endpoint) once an attempt fails.
#ifndef PLATSIM_PLATFORM_SERVING_CONNECTIONS_H_
#define PLATSIM_PLATFORM_SERVING_CONNECTIONS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "platform/serving/config.h"
#include "platform/serving/proxy.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

class ConnectionPool : public Hop {
 public:
  // Borrows engine, table and proxy (whose endpoints it connects to).
  // `accepting` says whether an endpoint takes a new connection now (its
  // pod is serving). Draws from the stream "connections/<name>".
  ConnectionPool(sim::Engine& engine, RequestTable& table, const std::string& name,
                 ConnectionConfig config, ServiceProxy& proxy, std::function<bool(Hop*)> accepting);

  // The pod behind `endpoint` stops or dies: its connections break.
  void Closed(Hop* endpoint);

  void Accept(RequestId id) override;
  // Held requests are skipped when their time comes (their generation).
  void Withdraw(RequestId) override {}

  // What the connections did, for the run's summary.
  struct Stats {
    std::uint64_t reconnects = 0;       // connections opened after a close
    std::uint64_t closed = 0;           // connections their pod closed (each a reconnect to come)
    std::uint64_t failed_attempts = 0;  // attempts refused or without an endpoint
    // Requests (measured: arrived from the warm-up on) that waited for a
    // connection, and that failed for want of one.
    std::uint64_t delayed = 0;
    std::uint64_t failed_requests = 0;
    std::uint32_t max_reconnects = 0;  // of one client
    int connected = 0;                 // clients connected now
  };
  const Stats& stats() const { return stats_; }
  int clients() const { return static_cast<int>(clients_.size()); }
  // Connections per endpoint now, over the proxy's endpoints: the largest
  // over the mean (1 is even; NaN without connections).
  double Imbalance() const;

 private:
  struct ClientState {
    Hop* pod = nullptr;     // connected to, or connecting to
    bool usable = false;    // handshake done
    sim::Time backoff = 0;  // the next failed attempt's base wait
    std::uint32_t reconnects = 0;
    bool ever_connected = false;
    bool failing = false;     // its last attempt failed (and none has started since)
    std::uint64_t epoch = 0;  // bumped at every break: stale timers do nothing
    std::deque<RequestRef> held;
  };
  void Attempt(std::uint32_t c);
  void Retry(std::uint32_t c, sim::Time base);
  void Flush(std::uint32_t c);
  sim::Time Jittered(sim::Time t);

  sim::Engine& engine_;
  RequestTable& table_;
  const ConnectionConfig config_;
  ServiceProxy& proxy_;
  std::function<bool(Hop*)> accepting_;
  sim::RandomStream rng_;
  std::vector<ClientState> clients_;
  std::map<Hop*, std::vector<std::uint32_t>> on_endpoint_;  // clients per endpoint
  Stats stats_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_CONNECTIONS_H_
