// The data plane: requests enter at a Service, a load balancer picks one of
// its ready pods, and the pod's model server queues, batches and runs them.
//
// Model server, per pod:
// - a FIFO queue (optionally bounded: a full queue drops the request);
// - at most maxConcurrency batches executing at once;
// - dynamic batching: a batch starts when a slot is free and either
//   maxBatchSize requests wait or the oldest has waited maxQueueDelay; it
//   takes up to maxBatchSize requests; its duration comes from the
//   deployment's service-time model;
// - a request timeout measured from arrival at the Service: a request still
//   queued at its deadline is removed as timed out when the server reaches
//   it, and one that completes after its deadline counts as timed out, not
//   completed (the client has gone);
// - while the model loads after container start, requests are refused
//   (dropped as not loaded: reachable only without a readiness probe);
// - on deletion the server refuses new requests and drains, for at most the
//   termination grace period; what is left is dropped as terminated.
// Load balancing per Service: random (kube-proxy iptables), round-robin, or
// least-request (power of two choices on outstanding requests, as Envoy).
//
// Every request ends in exactly one of: completed, timed out, dropped (no
// endpoint, queue full, not loaded, terminated); Finish() checks that arrived
// = completed + dropped + timed out + in flight and aborts if not.
// Per-request work allocates nothing: requests live in a pool indexed by
// integers, events carry (kind, index).
#ifndef PLATSIM_PLATFORM_DATA_PLANE_H_
#define PLATSIM_PLATFORM_DATA_PLANE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/arrivals.h"
#include "models/service_time.h"
#include "platform/api_server.h"
#include "platform/kubelet.h"
#include "platform/ring_queue.h"
#include "sim/engine.h"
#include "sim/stats.h"

namespace platsim::platform {

struct ModelServerConfig {
  int max_concurrency = 1;  // batches executing at once
  int max_batch_size = 1;
  sim::Time max_queue_delay = 0;  // 0: never wait for a fuller batch
  int max_queue_length = 0;       // 0: unbounded
  sim::Time request_timeout = 0;  // 0: none
  sim::Time model_load = 0;       // from container start to serving
  std::shared_ptr<const models::ServiceTimeModel> service_time;
};

enum class Balancer { kRandom, kRoundRobin, kLeastRequest };

struct RouteConfig {
  std::string service_key;  // namespace/name of the v1 Service
  Balancer balancer = Balancer::kLeastRequest;
  std::unique_ptr<models::ArrivalProcess> arrivals;
  sim::Time slo_latency = 0;  // 0: no SLO
};

struct RequestCounts {
  std::uint64_t arrived = 0;
  std::uint64_t completed = 0;
  std::uint64_t timed_out = 0;
  std::uint64_t dropped_no_endpoint = 0;
  std::uint64_t dropped_queue_full = 0;
  std::uint64_t dropped_not_loaded = 0;
  std::uint64_t dropped_terminated = 0;
  std::uint64_t dropped() const {
    return dropped_no_endpoint + dropped_queue_full + dropped_not_loaded + dropped_terminated;
  }
  std::uint64_t in_flight() const { return arrived - completed - timed_out - dropped(); }
};

// What one Service saw. "measured" counts only requests that arrived at or
// after the warm-up time; "all" counts every request (for conservation).
struct ServiceMetrics {
  RequestCounts all;
  RequestCounts measured;
  sim::QuantileSketch latency_s = sim::QuantileSketch();  // completed, measured requests
  sim::RunningStats latency_stats_s;
  std::uint64_t slo_met = 0;  // completed within the SLO latency
  // Completions at or after the warm-up, whenever the request arrived: what
  // the service delivered inside the measured window (throughput).
  std::uint64_t completed_in_window = 0;
  sim::TimeAverage ready_replicas = sim::TimeAverage();
  sim::TimeAverage in_system =
      sim::TimeAverage();  // requests arrived and not yet ended, from warm-up on
  // Reset at every time-series sample.
  RequestCounts interval;
  sim::QuantileSketch interval_latency_s = sim::QuantileSketch();
};

class DataPlane : public sim::EventHandler, public ContainerRuntime {
 public:
  // Borrows engine and api. `model_servers` maps a Deployment key to its
  // server configuration; pods of other owners get `fallback` (no service
  // time: they refuse requests). Measurement starts at `warmup`.
  DataPlane(sim::Engine& engine, ApiServer& api, std::vector<RouteConfig> routes,
            std::map<std::string, ModelServerConfig> model_servers, sim::Time warmup);

  // Schedules every route's first arrival. Call once before running.
  void Start();
  // Ends the run at the engine's current time: times out queued requests
  // past their deadline, closes open GPU spans, checks conservation.
  void Finish();

  std::size_t route_count() const { return routes_.size(); }
  const RouteConfig& route(std::size_t i) const { return routes_[i].config; }
  const ServiceMetrics& metrics(std::size_t i) const { return routes_[i].metrics; }
  // Time-series samples of route `i` at the engine's current time; resets the
  // interval counters.
  int ReadyEndpoints(std::size_t i) const;
  int Pods(std::size_t i) const;
  std::size_t Queued(std::size_t i) const;
  // Cumulative GPU-seconds busy (a batch executing) and held (pod admitted)
  // by pods of route `i` from `warmup` up to now.
  double GpuBusySeconds(std::size_t i) const;
  double GpuHeldSeconds(std::size_t i) const;
  void ResetInterval(std::size_t i);

  // sim::EventHandler
  void OnEvent(std::uint64_t payload) override;
  // ContainerRuntime
  void Admit(const Pod& pod) override;
  void StartContainers(const Pod& pod) override;
  bool ProbeReady(const std::string& pod_key) override;
  void Stop(const std::string& pod_key, sim::Time grace, std::function<void()> stopped) override;

 private:
  enum EventKind : std::uint64_t { kArrival = 1, kBatchDone = 2, kBatchTimer = 3, kLoaded = 4 };
  enum class ServerState { kStarting, kLoading, kServing, kStopping, kStopped };
  enum class Outcome { kCompleted, kTimedOut, kNoEndpoint, kQueueFull, kNotLoaded, kTerminated };

  struct Request {
    sim::Time arrival;
    sim::Time deadline;
    sim::Time enqueued;
    std::uint32_t route;
    bool measured;
  };
  struct Batch {
    std::vector<std::uint32_t> requests;
    sim::EventId done;
  };
  struct Server {
    const ModelServerConfig* config;
    sim::RandomStream* rng;  // the deployment's service-time stream
    int route = -1;          // the route whose Service selects this pod
    Labels labels;
    ServerState state = ServerState::kStarting;
    bool ready = false;  // the pod's Ready condition, as last seen
    RingQueue<std::uint32_t> queue;
    std::vector<Batch> batches;  // max_concurrency slots
    std::vector<int> free_batches;
    int executing = 0;  // requests in executing batches
    sim::EventId timer;
    std::function<void()> on_stopped;
    sim::EventId grace_timer;
    std::int64_t gpus = 0;
    sim::Time held_since = 0;
    sim::Time held_until = sim::kNever;
    sim::Time busy_since = -1;  // -1: idle
    sim::Time busy_ns = 0;
  };
  struct Route {
    RouteConfig config;
    Labels selector;  // from the Service object
    std::vector<std::uint32_t> endpoints;
    std::vector<std::uint32_t> servers;  // every server this route selected
    std::uint64_t round_robin = 0;
    sim::RandomStream arrival_rng;
    sim::RandomStream balancer_rng;
    ServiceMetrics metrics;
  };

  static std::uint64_t Pack(EventKind kind, std::uint64_t index) { return kind << 56 | index; }
  void OnArrival(std::uint32_t route);
  void Enqueue(std::uint32_t server, std::uint32_t request);
  void TryDispatch(std::uint32_t server);
  void OnBatchDone(std::uint32_t server, int slot);
  void End(std::uint32_t request, Outcome outcome);
  void MaybeStopped(std::uint32_t server);
  void Kill(std::uint32_t server);
  void RebuildEndpoints(std::uint32_t route);
  void OnPod(WatchType type, const Pod& pod);
  void OnService(WatchType type, const Service& service);
  void SetBusy(Server& s, bool busy);
  std::uint32_t NewRequest();
  // Simulated time in [from, to] after the warm-up, in nanoseconds.
  sim::Time ClippedNs(sim::Time from, sim::Time to) const;

  sim::Engine& engine_;
  ApiServer& api_;
  const sim::Time warmup_;
  sim::HandlerId handler_;
  std::vector<Route> routes_;
  std::map<std::string, ModelServerConfig> configs_;
  std::map<std::string, std::unique_ptr<sim::RandomStream>> service_rngs_;  // by deployment
  ModelServerConfig refusing_;  // for pods without a model server config
  std::vector<Server> servers_;
  std::map<std::string, std::uint32_t> server_of_pod_;
  std::vector<Request> requests_;
  std::vector<std::uint32_t> free_requests_;
  std::uint64_t live_requests_ = 0;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_DATA_PLANE_H_
