#include "platform/serving/connections.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace platsim::platform {

ConnectionPool::ConnectionPool(sim::Engine& engine, RequestTable& table, const std::string& name,
                               ConnectionConfig config, ServiceProxy& proxy,
                               std::function<bool(Hop*)> accepting)
    : engine_(engine),
      table_(table),
      config_(config),
      proxy_(proxy),
      accepting_(std::move(accepting)),
      rng_(engine.Stream("connections/" + name)),
      clients_(static_cast<std::size_t>(config.clients)) {}

sim::Time ConnectionPool::Jittered(sim::Time t) {
  if (t <= 0 || config_.jitter <= 0) return std::max<sim::Time>(t, 0);
  const double f = 1 + config_.jitter * (2 * rng_.Uniform() - 1);
  return static_cast<sim::Time>(std::llround(static_cast<double>(t) * f));
}

void ConnectionPool::Accept(RequestId id) {
  const auto c = static_cast<std::uint32_t>(rng_.UniformInt(clients_.size()));
  ClientState& cl = clients_[c];
  if (cl.pod != nullptr && cl.usable) {
    cl.pod->Accept(id);
    return;
  }
  // A gRPC channel in TRANSIENT_FAILURE (its last attempt failed) fails a
  // call at once unless it waits for ready.
  if (cl.pod == nullptr && cl.failing && config_.fail_fast) {
    if (table_[id].measured) ++stats_.failed_requests;
    table_.End(id, Outcome::kNoEndpoint, engine_.Now());
    return;
  }
  table_[id].holder = this;
  cl.held.push_back(table_.Ref(id));
  if (table_[id].measured) ++stats_.delayed;
  // An idle client connects at its first request (a gRPC channel leaves
  // IDLE on its first call); one already connecting or waiting to, waits.
  if (cl.pod == nullptr && !cl.ever_connected && cl.backoff == 0) {
    cl.backoff = config_.initial_backoff;
    Attempt(c);
  }
}

void ConnectionPool::Attempt(std::uint32_t c) {
  ClientState& cl = clients_[c];
  const std::vector<Hop*>& endpoints = proxy_.endpoints();
  Hop* endpoint = endpoints.empty() ? nullptr : endpoints[rng_.UniformInt(endpoints.size())];
  if (endpoint == nullptr || !accepting_(endpoint)) {
    ++stats_.failed_attempts;
    cl.failing = true;
    if (config_.fail_fast) {
      const sim::Time now = engine_.Now();
      while (!cl.held.empty()) {
        const RequestRef ref = cl.held.front();
        cl.held.pop_front();
        if (!table_.Live(ref)) continue;
        table_[ref.id].holder = nullptr;
        if (table_[ref.id].measured) ++stats_.failed_requests;
        table_.End(ref.id, Outcome::kNoEndpoint, now);
      }
    }
    const sim::Time wait = cl.backoff;
    cl.backoff =
        std::min(config_.max_backoff,
                 static_cast<sim::Time>(static_cast<double>(cl.backoff) * config_.multiplier));
    Retry(c, wait);
    return;
  }
  cl.pod = endpoint;
  cl.usable = false;
  cl.failing = false;
  on_endpoint_[endpoint].push_back(c);
  ++stats_.connected;
  if (cl.ever_connected) {
    ++cl.reconnects;
    ++stats_.reconnects;
    stats_.max_reconnects = std::max(stats_.max_reconnects, cl.reconnects);
  }
  cl.ever_connected = true;
  cl.backoff = config_.initial_backoff;
  if (config_.handshake <= 0) {
    cl.usable = true;
    Flush(c);
    return;
  }
  engine_.ScheduleCallbackAfter(config_.handshake, [this, c, epoch = cl.epoch] {
    ClientState& x = clients_[c];
    if (x.epoch != epoch || x.pod == nullptr) return;
    x.usable = true;
    Flush(c);
  });
}

void ConnectionPool::Retry(std::uint32_t c, sim::Time base) {
  engine_.ScheduleCallbackAfter(Jittered(base), [this, c, epoch = clients_[c].epoch] {
    if (clients_[c].epoch == epoch && clients_[c].pod == nullptr) Attempt(c);
  });
}

void ConnectionPool::Flush(std::uint32_t c) {
  ClientState& cl = clients_[c];
  while (!cl.held.empty() && cl.pod != nullptr) {
    const RequestRef ref = cl.held.front();
    cl.held.pop_front();
    if (table_.Live(ref)) cl.pod->Accept(ref.id);
  }
}

void ConnectionPool::Closed(Hop* endpoint) {
  const auto it = on_endpoint_.find(endpoint);
  if (it == on_endpoint_.end()) return;
  const std::vector<std::uint32_t> clients = std::move(it->second);
  on_endpoint_.erase(it);
  for (const std::uint32_t c : clients) {
    ClientState& cl = clients_[c];
    if (cl.pod != endpoint) continue;  // it moved on already
    cl.pod = nullptr;
    cl.usable = false;
    ++cl.epoch;
    --stats_.connected;
    ++stats_.closed;
    cl.backoff = config_.initial_backoff;
    Retry(c, config_.reconnect_delay);
  }
}

double ConnectionPool::Imbalance() const {
  const std::vector<Hop*>& endpoints = proxy_.endpoints();
  if (endpoints.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::size_t total = 0, most = 0;
  for (Hop* e : endpoints) {
    std::size_t n = 0;
    if (const auto it = on_endpoint_.find(e); it != on_endpoint_.end()) {
      for (const std::uint32_t c : it->second)
        n += clients_[c].pod == e;
    }
    total += n;
    most = std::max(most, n);
  }
  if (total == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(most) * static_cast<double>(endpoints.size()) /
         static_cast<double>(total);
}

}  // namespace platsim::platform
