#include "platform/data_plane.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>

namespace platsim::platform {

DataPlane::DataPlane(sim::Engine& engine, ApiServer& api, std::vector<RouteConfig> routes,
                     std::map<std::string, ModelServerConfig> model_servers, sim::Time warmup)
    : engine_(engine), api_(api), warmup_(warmup), configs_(std::move(model_servers)) {
  handler_ = engine_.AddHandler(this);
  routes_.reserve(routes.size());
  for (auto& config : routes) {
    const std::string key = config.service_key;
    routes_.push_back(Route{std::move(config),
                            {},
                            {},
                            {},
                            0,
                            engine_.Stream("traffic/" + key),
                            engine_.Stream("balancer/" + key),
                            ServiceMetrics{}});
  }
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
  api_.Watch<Service>([this](WatchType type, const Service& s) { OnService(type, s); });
}

void DataPlane::Start() {
  for (std::uint32_t r = 0; r < routes_.size(); ++r) {
    Route& route = routes_[r];
    const models::Arrival first = route.config.arrivals->Next(route.arrival_rng);
    if (first.time != sim::kNever) engine_.ScheduleAt(first.time, handler_, Pack(kArrival, r));
  }
  if (warmup_ > 0) {
    engine_.ScheduleCallbackAt(warmup_, [this] {
      for (auto& route : routes_) {
        route.metrics.ready_replicas.Reset(engine_.Now());
        route.metrics.in_system.Reset(engine_.Now());
      }
    });
  }
}

void DataPlane::OnEvent(std::uint64_t payload) {
  const std::uint64_t index = payload & ((1ULL << 56) - 1);
  switch (payload >> 56) {
    case kArrival:
      OnArrival(static_cast<std::uint32_t>(index));
      break;
    case kBatchDone:
      OnBatchDone(static_cast<std::uint32_t>(index & 0xffffffffu), static_cast<int>(index >> 32));
      break;
    case kBatchTimer:
      TryDispatch(static_cast<std::uint32_t>(index));
      break;
    case kLoaded: {
      Server& s = servers_[index];
      if (s.state == ServerState::kLoading) s.state = ServerState::kServing;
      break;
    }
  }
}

std::uint32_t DataPlane::NewRequest() {
  ++live_requests_;
  if (!free_requests_.empty()) {
    const std::uint32_t r = free_requests_.back();
    free_requests_.pop_back();
    return r;
  }
  requests_.emplace_back();
  return static_cast<std::uint32_t>(requests_.size() - 1);
}

void DataPlane::OnArrival(std::uint32_t route_index) {
  Route& route = routes_[route_index];
  const sim::Time now = engine_.Now();
  const std::uint32_t req = NewRequest();
  requests_[req] = Request{now, sim::kNever, now, route_index, now >= warmup_};
  ++route.metrics.all.arrived;
  ++route.metrics.interval.arrived;
  route.metrics.in_system.Add(now, 1.0);
  if (now >= warmup_) ++route.metrics.measured.arrived;

  const models::Arrival next = route.config.arrivals->Next(route.arrival_rng);
  if (next.time != sim::kNever) {
    engine_.ScheduleAt(std::max(next.time, now), handler_, Pack(kArrival, route_index));
  }

  const std::size_t n = route.endpoints.size();
  if (n == 0) {
    End(req, Outcome::kNoEndpoint);
    return;
  }
  std::uint32_t server = 0;
  switch (route.config.balancer) {
    case Balancer::kRandom:
      server = route.endpoints[route.balancer_rng.UniformInt(n)];
      break;
    case Balancer::kRoundRobin:
      server = route.endpoints[route.round_robin++ % n];
      break;
    case Balancer::kLeastRequest: {
      if (n == 1) {
        server = route.endpoints[0];
        break;
      }
      const std::uint64_t a = route.balancer_rng.UniformInt(n);
      std::uint64_t b = route.balancer_rng.UniformInt(n - 1);
      if (b >= a) ++b;
      const Server& sa = servers_[route.endpoints[a]];
      const Server& sb = servers_[route.endpoints[b]];
      const std::size_t load_a = sa.queue.size() + static_cast<std::size_t>(sa.executing);
      const std::size_t load_b = sb.queue.size() + static_cast<std::size_t>(sb.executing);
      server = route.endpoints[load_b < load_a ? b : a];
      break;
    }
  }
  const sim::Time timeout = servers_[server].config->request_timeout;
  if (timeout > 0) requests_[req].deadline = sim::SatAdd(now, timeout);
  Enqueue(server, req);
}

void DataPlane::Enqueue(std::uint32_t server, std::uint32_t req) {
  Server& s = servers_[server];
  if (s.state == ServerState::kStopping || s.state == ServerState::kStopped) {
    End(req, Outcome::kTerminated);
  } else if (s.state != ServerState::kServing || !s.config->service_time) {
    End(req, Outcome::kNotLoaded);
  } else if (s.config->max_queue_length > 0 &&
             s.queue.size() >= static_cast<std::size_t>(s.config->max_queue_length)) {
    End(req, Outcome::kQueueFull);
  } else {
    requests_[req].enqueued = engine_.Now();
    s.queue.push_back(req);
    TryDispatch(server);
  }
}

void DataPlane::TryDispatch(std::uint32_t server) {
  Server& s = servers_[server];
  if (s.state != ServerState::kServing && s.state != ServerState::kStopping) return;
  const ModelServerConfig& cfg = *s.config;
  const sim::Time now = engine_.Now();
  while (!s.free_batches.empty()) {
    while (!s.queue.empty() && requests_[s.queue.front()].deadline <= now) {
      End(s.queue.pop_front(), Outcome::kTimedOut);
    }
    if (s.queue.empty()) return;
    // Wait for a fuller batch, unless draining.
    if (static_cast<int>(s.queue.size()) < cfg.max_batch_size && cfg.max_queue_delay > 0 &&
        s.state == ServerState::kServing) {
      const sim::Time ready_at =
          sim::SatAdd(requests_[s.queue.front()].enqueued, cfg.max_queue_delay);
      if (now < ready_at) {
        if (!engine_.IsPending(s.timer)) {
          s.timer = engine_.ScheduleAt(ready_at, handler_, Pack(kBatchTimer, server));
        }
        return;
      }
    }
    const int slot = s.free_batches.back();
    s.free_batches.pop_back();
    Batch& batch = s.batches[static_cast<std::size_t>(slot)];
    batch.requests.clear();
    while (!s.queue.empty() && static_cast<int>(batch.requests.size()) < cfg.max_batch_size) {
      const std::uint32_t req = s.queue.pop_front();
      if (requests_[req].deadline <= now) {
        End(req, Outcome::kTimedOut);
      } else {
        batch.requests.push_back(req);
      }
    }
    if (batch.requests.empty()) {
      s.free_batches.push_back(slot);
      continue;
    }
    const int size = static_cast<int>(batch.requests.size());
    s.executing += size;
    SetBusy(s, true);
    const sim::Time duration = cfg.service_time->BatchTime(size, *s.rng);
    batch.done = engine_.ScheduleAfter(
        duration, handler_, Pack(kBatchDone, static_cast<std::uint64_t>(slot) << 32 | server));
  }
}

void DataPlane::OnBatchDone(std::uint32_t server, int slot) {
  Server& s = servers_[server];
  Batch& batch = s.batches[static_cast<std::size_t>(slot)];
  const sim::Time now = engine_.Now();
  for (const std::uint32_t req : batch.requests) {
    End(req, now > requests_[req].deadline ? Outcome::kTimedOut : Outcome::kCompleted);
  }
  s.executing -= static_cast<int>(batch.requests.size());
  batch.requests.clear();
  s.free_batches.push_back(slot);
  if (s.free_batches.size() == s.batches.size()) SetBusy(s, false);
  TryDispatch(server);
  MaybeStopped(server);
}

void DataPlane::End(std::uint32_t req, Outcome outcome) {
  const Request& r = requests_[req];
  ServiceMetrics& m = routes_[r.route].metrics;
  const sim::Time now = engine_.Now();
  auto count = [outcome](RequestCounts& c) {
    switch (outcome) {
      case Outcome::kCompleted:
        ++c.completed;
        break;
      case Outcome::kTimedOut:
        ++c.timed_out;
        break;
      case Outcome::kNoEndpoint:
        ++c.dropped_no_endpoint;
        break;
      case Outcome::kQueueFull:
        ++c.dropped_queue_full;
        break;
      case Outcome::kNotLoaded:
        ++c.dropped_not_loaded;
        break;
      case Outcome::kTerminated:
        ++c.dropped_terminated;
        break;
    }
  };
  count(m.all);
  count(m.interval);
  m.in_system.Add(now, -1.0);
  const double latency_s = sim::ToSeconds(now - r.arrival);
  if (outcome == Outcome::kCompleted) {
    m.interval_latency_s.Add(latency_s);
    if (now >= warmup_) ++m.completed_in_window;
  }
  if (r.measured) {
    count(m.measured);
    if (outcome == Outcome::kCompleted) {
      m.latency_s.Add(latency_s);
      m.latency_stats_s.Add(latency_s);
      const sim::Time slo = routes_[r.route].config.slo_latency;
      if (slo > 0 && now - r.arrival <= slo) ++m.slo_met;
    }
  }
  free_requests_.push_back(req);
  --live_requests_;
}

void DataPlane::SetBusy(Server& s, bool busy) {
  const sim::Time now = engine_.Now();
  if (busy && s.busy_since < 0) {
    s.busy_since = now;
  } else if (!busy && s.busy_since >= 0) {
    s.busy_ns += ClippedNs(s.busy_since, now);
    s.busy_since = -1;
  }
}

void DataPlane::MaybeStopped(std::uint32_t server) {
  Server& s = servers_[server];
  if (s.state != ServerState::kStopping || !s.queue.empty() || s.executing > 0) return;
  s.state = ServerState::kStopped;
  s.held_until = engine_.Now();
  SetBusy(s, false);
  engine_.Cancel(s.grace_timer);
  engine_.Cancel(s.timer);
  auto stopped = std::move(s.on_stopped);
  s.on_stopped = nullptr;
  if (stopped) stopped();
}

void DataPlane::Kill(std::uint32_t server) {
  Server& s = servers_[server];
  while (!s.queue.empty())
    End(s.queue.pop_front(), Outcome::kTerminated);
  for (std::size_t slot = 0; slot < s.batches.size(); ++slot) {
    Batch& batch = s.batches[slot];
    if (!engine_.Cancel(batch.done)) continue;
    for (const std::uint32_t req : batch.requests)
      End(req, Outcome::kTerminated);
    batch.requests.clear();
    s.free_batches.push_back(static_cast<int>(slot));
  }
  s.executing = 0;
  SetBusy(s, false);
  MaybeStopped(server);
}

void DataPlane::Admit(const Pod& pod) {
  const std::string key = pod.meta.Key();
  const auto cfg = configs_.find(pod.template_owner);
  Server s;
  s.config = cfg == configs_.end() ? &refusing_ : &cfg->second;
  auto& rng = service_rngs_[pod.template_owner];
  if (!rng)
    rng = std::make_unique<sim::RandomStream>(engine_.Stream("service-time/" + pod.template_owner));
  s.rng = rng.get();
  s.labels = pod.meta.labels;
  s.batches.resize(static_cast<std::size_t>(std::max(1, s.config->max_concurrency)));
  for (int i = static_cast<int>(s.batches.size()) - 1; i >= 0; --i)
    s.free_batches.push_back(i);
  s.gpus = pod.spec.requests.gpus;
  s.held_since = engine_.Now();
  const auto index = static_cast<std::uint32_t>(servers_.size());
  for (std::size_t r = 0; r < routes_.size(); ++r) {
    if (SelectorMatches(routes_[r].selector, s.labels)) {
      s.route = static_cast<int>(r);
      routes_[r].servers.push_back(index);
      break;
    }
  }
  servers_.push_back(std::move(s));
  server_of_pod_[key] = index;
}

void DataPlane::StartContainers(const Pod& pod) {
  const auto it = server_of_pod_.find(pod.meta.Key());
  if (it == server_of_pod_.end()) return;
  Server& s = servers_[it->second];
  if (s.state != ServerState::kStarting) return;
  s.state = ServerState::kLoading;
  engine_.ScheduleAfter(s.config->model_load, handler_, Pack(kLoaded, it->second));
}

bool DataPlane::ProbeReady(const std::string& pod_key) {
  const auto it = server_of_pod_.find(pod_key);
  return it != server_of_pod_.end() && servers_[it->second].state == ServerState::kServing;
}

void DataPlane::Stop(const std::string& pod_key, sim::Time grace, std::function<void()> stopped) {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) {
    stopped();
    return;
  }
  const std::uint32_t server = it->second;
  Server& s = servers_[server];
  s.state = ServerState::kStopping;
  s.on_stopped = std::move(stopped);
  s.grace_timer = engine_.ScheduleCallbackAfter(grace, [this, server] { Kill(server); });
  TryDispatch(server);  // drain without waiting for fuller batches
  MaybeStopped(server);
}

void DataPlane::OnPod(WatchType type, const Pod& pod) {
  const auto it = server_of_pod_.find(pod.meta.Key());
  if (it == server_of_pod_.end()) return;
  Server& s = servers_[it->second];
  if (type == WatchType::kDeleted) {
    if (s.held_until == sim::kNever) s.held_until = engine_.Now();
    s.ready = false;
    server_of_pod_.erase(it);
  } else {
    const bool ready = pod.ready && !pod.meta.deleting;
    if (ready == s.ready) return;
    s.ready = ready;
  }
  if (s.route >= 0) RebuildEndpoints(static_cast<std::uint32_t>(s.route));
}

void DataPlane::OnService(WatchType type, const Service& service) {
  for (std::uint32_t r = 0; r < routes_.size(); ++r) {
    Route& route = routes_[r];
    if (route.config.service_key != service.meta.Key()) continue;
    route.selector = type == WatchType::kDeleted ? Labels{} : service.selector;
    for (std::uint32_t i = 0; i < servers_.size(); ++i) {
      Server& s = servers_[i];
      if (s.route < 0 && SelectorMatches(route.selector, s.labels)) {
        s.route = static_cast<int>(r);
        route.servers.push_back(i);
      }
    }
    RebuildEndpoints(r);
  }
}

void DataPlane::RebuildEndpoints(std::uint32_t r) {
  Route& route = routes_[r];
  route.endpoints.clear();
  for (const std::uint32_t i : route.servers) {
    if (servers_[i].ready && SelectorMatches(route.selector, servers_[i].labels)) {
      route.endpoints.push_back(i);
    }
  }
  route.metrics.ready_replicas.Set(engine_.Now(), static_cast<double>(route.endpoints.size()));
}

int DataPlane::ReadyEndpoints(std::size_t i) const {
  return static_cast<int>(routes_[i].endpoints.size());
}

int DataPlane::Pods(std::size_t i) const {
  int n = 0;
  for (const std::uint32_t s : routes_[i].servers)
    n += servers_[s].state != ServerState::kStopped;
  return n;
}

std::size_t DataPlane::Queued(std::size_t i) const {
  std::size_t n = 0;
  for (const std::uint32_t s : routes_[i].servers)
    n += servers_[s].queue.size();
  return n;
}

sim::Time DataPlane::ClippedNs(sim::Time from, sim::Time to) const {
  return std::max<sim::Time>(0, to - std::max(from, warmup_));
}

double DataPlane::GpuBusySeconds(std::size_t i) const {
  double total = 0;
  for (const std::uint32_t idx : routes_[i].servers) {
    const Server& s = servers_[idx];
    double busy = sim::ToSeconds(s.busy_ns);
    if (s.busy_since >= 0) busy += sim::ToSeconds(ClippedNs(s.busy_since, engine_.Now()));
    total += static_cast<double>(s.gpus) * busy;
  }
  return total;
}

double DataPlane::GpuHeldSeconds(std::size_t i) const {
  double total = 0;
  for (const std::uint32_t idx : routes_[i].servers) {
    const Server& s = servers_[idx];
    total += static_cast<double>(s.gpus) *
             sim::ToSeconds(ClippedNs(s.held_since, std::min(s.held_until, engine_.Now())));
  }
  return total;
}

void DataPlane::ResetInterval(std::size_t i) {
  routes_[i].metrics.interval = RequestCounts{};
  routes_[i].metrics.interval_latency_s.Clear();
}

void DataPlane::Finish() {
  const sim::Time now = engine_.Now();
  // Requests still queued past their deadline have timed out by now.
  for (auto& s : servers_) {
    RingQueue<std::uint32_t> keep;
    while (!s.queue.empty()) {
      const std::uint32_t req = s.queue.pop_front();
      if (requests_[req].deadline <= now) {
        End(req, Outcome::kTimedOut);
      } else {
        keep.push_back(req);
      }
    }
    s.queue = std::move(keep);
  }
  std::uint64_t in_flight = 0;
  for (const auto& route : routes_) {
    const RequestCounts& c = route.metrics.all;
    if (c.completed + c.timed_out + c.dropped() > c.arrived) {
      std::fprintf(stderr,
                   "platsim: invariant broken at t=%" PRId64
                   "ns: service %s ended more requests than arrived\n",
                   now, route.config.service_key.c_str());
      std::abort();
    }
    in_flight += c.in_flight();
  }
  if (in_flight != live_requests_) {
    std::fprintf(stderr,
                 "platsim: invariant broken at t=%" PRId64
                 "ns: requests do not conserve (arrived - completed - dropped - timed out = "
                 "%" PRIu64 ", but %" PRIu64 " are in flight)\n",
                 now, in_flight, live_requests_);
    std::abort();
  }
}

}  // namespace platsim::platform
