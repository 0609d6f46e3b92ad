// The data plane: the request path of the whole platform, composed of hops
// (request.h): one Client per traffic entry, one ServiceProxy per Service
// with traffic, programmed by kube-proxy from the Endpoints objects, and one
// ModelServer per admitted pod (behind a QueueProxy where its config has a
// containerConcurrency). It is the container runtime the kubelets drive,
// and it owns the request table and its observers.
//
// Every request ends in exactly one of: completed, timed out, dropped (no
// endpoint, queue full, not loaded, terminated); Finish() checks that, per
// client, arrived = completed + dropped + timed out + in flight, and that
// the requests in flight are exactly those still in the table, and aborts
// if not.
#ifndef PLATSIM_PLATFORM_SERVING_DATA_PLANE_H_
#define PLATSIM_PLATFORM_SERVING_DATA_PLANE_H_

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "models/arrivals.h"
#include "platform/api_server.h"
#include "platform/argo.h"
#include "platform/index.h"
#include "platform/kubelet.h"
#include "platform/serving/activator.h"
#include "platform/serving/client.h"
#include "platform/serving/config.h"
#include "platform/serving/connections.h"
#include "platform/serving/kube_proxy.h"
#include "platform/serving/llm_stats.h"
#include "platform/serving/model_server.h"
#include "platform/serving/proxy.h"
#include "platform/serving/queue_proxy.h"
#include "platform/serving/split.h"
#include "platform/serving/stats.h"
#include "sim/engine.h"
#include "sim/ranks.h"

namespace platsim::platform {

struct RouteConfig {
  // namespace/name of the v1 Service, or of the Knative Service
  std::string service_key;
  // A Knative Service's route: its requests reach a revision's pods
  // through the ingress, split over the revisions (SetRevisionWeights),
  // and the revision's activator (activator.h).
  struct Knative {
    struct Revision {
      std::string key;      // namespace/name of the revision
      std::string backend;  // namespace/name of its private v1 Service
      int container_concurrency = 0;
    };
    // Every revision the run creates; the first takes every request until
    // weights are set.
    std::vector<Revision> revisions;
    sim::Time timeout = 300 * sim::kSecond;  // the revisions' timeoutSeconds
    Labels pods;  // the labels of every revision's pods (the route's metrics are theirs)
  };
  std::optional<Knative> knative;
  // An Argo Rollout's canary Service, where the Rollout routes traffic: the
  // route's requests are split between its Service and this one by the
  // Rollout's weight (SetCanaryWeight).
  std::string canary_service;
  // Long-lived connections (clients > 0), instead of a balancer per request.
  ConnectionConfig connections;
  std::string stream;  // the arrivals' random stream: "traffic/" + this (default: service_key)
  // Routes with one group share a partition of the engine (sim/engine.h):
  // those whose Services select a common workload's pods. Default: the
  // Service's own.
  std::string partition_group;
  Balancer balancer = Balancer::kLeastRequest;
  std::unique_ptr<models::ArrivalProcess> arrivals;
  sim::Time timeout = 0;      // the client's; 0: none
  sim::Time slo_latency = 0;  // 0: no SLO
  // LLM requests' tokens, where the arrivals do not carry them (null:
  // none), and the objectives of goodput.
  std::shared_ptr<const models::TokenDistribution> prompt_tokens, output_tokens;
  // A prefix of this many prompt tokens shared by the requests of each of
  // `prefix_groups` groups (0: none): a system prompt, a few-shot template.
  int shared_prefix_tokens = 0, prefix_groups = 0;
  int priority = 0;  // its LLM requests' (vLLM's priority field)
  LlmObjectives llm_objectives;
};

class DataPlane : public ContainerRuntime {
 public:
  // Borrows engine and api. `model_servers` maps a Deployment key to its
  // server configuration, and "KEY@IMAGE" to that of its pods running
  // IMAGE (a version); pods of other owners refuse requests. Measurement
  // starts at `warmup`.
  DataPlane(sim::Engine& engine, ApiServer& api, std::vector<RouteConfig> routes,
            std::map<std::string, ModelServerConfig> model_servers, ProxyConfig proxy,
            sim::Time warmup);

  // Schedules every client's first arrival. Call once before running.
  void Start();
  // Ends the run at the engine's current time and checks conservation.
  void Finish();

  // Routes are the clients, in the order given.
  std::size_t route_count() const { return routes_.size(); }
  // Requests in the system now, over every route.
  std::uint64_t requests_in_system() const { return table_.live(); }
  const std::string& service_key(std::size_t i) const { return routes_[i].service_key; }
  sim::Time slo_latency(std::size_t i) const { return routes_[i].slo_latency; }
  const ServiceMetrics& metrics(std::size_t i) const {
    if (ranks_ == nullptr || route_partitions_[i] == 0) return stats_.metrics(i);
    return MirroredMetrics(i);
  }
  void ResetInterval(std::size_t i) {
    stats_.ResetInterval(i);
    ++stats_generation_;
    if (llm_stats_) llm_stats_->ResetInterval(i);
  }
  void FoldIntervals() {
    stats_.FoldIntervals();
    ++stats_generation_;
    if (llm_stats_) llm_stats_->Fold();
  }

  // Runs this data plane as one rank of several (platsim-mpi), before
  // Start: each partition of Services goes to a rank, the least loaded by
  // its Services' expected requests so far, largest first; the others'
  // partitions run elsewhere (sim::Engine::RunElsewhere). What the platform
  // reads of a partition (metrics, Totals, Pods, PodMetricsOf, ProbeReady,
  // Revisions, and what metrics scrapes read) then comes from its rank, by
  // collective calls: every rank makes the same reads, in the global
  // order. Ends the run with exit status 2 where the data plane has, or is
  // later given, what ranks do not support yet (LLM servers, Prometheus
  // scrapes, revision latency). Borrows `ranks`.
  void SetRanks(sim::Ranks* ranks);
  // With ranks: the servers' stops their ranks told the others of, each an
  // event of its own that one process does not have (the same on every
  // rank).
  std::uint64_t stops_told() const { return stops_told_; }
  // Route `i`'s LLM requests (token by token), or null if no model server
  // is an LLM server.
  const LlmStats* llm_stats() const { return llm_stats_.get(); }
  // Endpoints route `i`'s proxy balances over now.
  int ReadyEndpoints(std::size_t i) const;
  // The pods route `i`'s Service selected, not yet stopped.
  int Pods(std::size_t i) const;
  // The metrics of those pods, summed (gauges and counters alike).
  PodMetrics Totals(std::size_t i) const;

  // What a Prometheus scrape of pod `pod` reads (stats.h PodStats): its
  // labels, requests it completed and answered with an error, and its
  // latency histogram; nothing once its server has stopped. Needs
  // EnableScrapes() before Start.
  struct PodScrape {
    const Labels* labels;  // the pod's, with namespace and pod
    double completed = 0, failed = 0;
    PodStats::Histogram latency;
    // An LLM server's vLLM metrics, its gauges as of now (null: none).
    std::shared_ptr<const LlmPodMetrics> vllm;
  };
  void EnableScrapes();
  // Tells `trace` of every batch the model servers run from now on.
  // (The servers then run in one global order: the trace is in it.)
  void TraceBatches(BatchTrace* trace) {
    batch_trace_ = trace;
    engine_.PinAll();
  }
  std::optional<PodScrape> Scrape(std::uint32_t pod) const;

  // Every pod admitted so far, by index: its node and its metrics now.
  std::uint32_t pod_count() const { return static_cast<std::uint32_t>(servers_.size()); }
  const std::string& pod_node(std::uint32_t pod) const { return pod_nodes_[pod]; }
  PodMetrics PodMetricsOf(std::uint32_t pod) const;
  // What each ReplicaSet's pods did (its revision of a Deployment), by the
  // ReplicaSet's key: its Deployment, and the pods it had admitted and the
  // requests they completed and failed from the warm-up on.
  // With EnableRevisionLatency, also the latency quantiles of what they
  // completed (NaN otherwise).
  struct Revision {
    std::string deployment;
    double pods = 0, completed = 0, failed = 0;
    double latency_p50_s = std::numeric_limits<double>::quiet_NaN();
    double latency_p99_s = std::numeric_limits<double>::quiet_NaN();
  };
  // Keeps each revision's latency (an observer of every request); before
  // Start.
  void EnableRevisionLatency();
  std::map<std::string, Revision> Revisions() const;
  // The CPU-seconds the model server of pod `pod_key` has used, or nothing
  // for a pod without one.
  std::optional<double> CpuSecondsOf(const std::string& pod_key) const;
  // The working set, in bytes, of pod `pod_key`'s model server now (its
  // memory model over the requests it holds, its queue-proxy's included),
  // or nothing for a pod without one.
  std::optional<double> MemoryBytesOf(const std::string& pod_key) const;
  // What a metrics scrape of pod `pod_key`'s model server reads: requests
  // queued, requests in flight (queued and executing) and requests
  // completed since it started; nothing for a pod without a server.
  struct ScrapedSeries {
    double queued = 0, in_flight = 0, completed = 0;
    double kv_usage = 0;  // an LLM server's
  };
  std::optional<ScrapedSeries> SeriesOf(const std::string& pod_key) const;
  // Requests that have arrived at Service `service_key` (every client's) and
  // requests waiting in the queues of its pods, or nothing for a Service no
  // traffic targets.
  struct ServiceSeries {
    double arrived = 0, pending = 0;
  };
  std::optional<ServiceSeries> ServiceSeriesOf(const std::string& service_key) const;

  // The connections of route `i`, or null for a route without them.
  const ConnectionPool* connections(std::size_t i) const { return pools_[i].get(); }

  // Sends `weight` percent of the requests to Service `stable_service`
  // to its route's canary Service instead (0 at first).
  void SetCanaryWeight(const std::string& stable_service, int weight);

  // Knative Services (routes with `knative`): their revisions by key.
  // Sends each revision of Knative Service `ksvc` its percent of the
  // requests (by revision, in the order the route gave them).
  void SetRevisionWeights(const std::string& ksvc, const std::vector<int>& percents);
  // Puts the activator in the path of `revision` or takes it out (the
  // ServerlessService's mode).
  void SetActivatorInPath(const std::string& revision, bool proxy);
  // Calls `fn` with the revision's key at the first request of every
  // second that reaches its activator. Set before Start.
  void OnActivatorReport(std::function<void(const std::string& revision)> fn) {
    activator_report_ = std::move(fn);
  }
  // What a revision's requests have done since the run began, over all
  // the clients of its Knative Service: request-seconds in the system (the
  // integral of the requests in flight, wherever they are, from when the
  // ingress sent them to it) and arrivals.
  struct Load {
    double request_seconds = 0, arrived = 0;
  };
  Load LoadOf(const std::string& revision) const;
  // Requests that waited in the revision's activator for a pod, ever.
  std::uint64_t ActivatorBuffered(const std::string& revision) const;

  // ContainerRuntime
  void Admit(const Pod& pod) override;
  void StartContainers(const Pod& pod) override;
  bool ProbeReady(const std::string& pod_key) override;
  void Stop(const std::string& pod_key, sim::Time grace, std::function<void()> stopped) override;
  void Kill(const std::string& pod_key) override;
  void Crash(const std::string& pod_key) override;
  sim::Time CrashAfter(const std::string& pod_key) const override;
  void Revive(const std::string& pod_key) override;
  void BreakDevice(const std::string& pod_key) override;

 private:
  struct Route {
    std::string service_key;
    sim::Time slo_latency;
    Labels selector;                     // from the Service object, or a Knative Service's
    std::vector<std::uint32_t> servers;  // every pod this route's Service selected
    std::vector<ServiceProxy*> proxies;  // its Service's, or each revision's
  };
  void OnPod(WatchType type, const Pod& pod);
  void OnService(WatchType type, const Service& service);
  ModelServer* ServerOf(const std::string& pod_key) const;
  // What requests for the pod reach: its queue-proxy, or its server.
  Hop* HopOf(const std::string& pod_key) const;
  // The server's metrics, with requests waiting in its queue-proxy as queued.
  PodMetrics ServerMetrics(std::uint32_t pod) const;
  // PodMetricsOf and Totals, from this rank's state.
  PodMetrics LocalPodMetrics(std::uint32_t pod) const;
  PodMetrics LocalTotals(std::size_t i) const;
  // With ranks: `local()` on the rank of partition `p`, on every rank (the
  // global partition's is everywhere).
  template <class T, class F>
  T FromOwner(sim::Partition p, F local) const {
    if (ranks_ == nullptr || p == 0) return local();
    const int root = rank_of_[p];
    return ranks_->BroadcastValue(root == ranks_->rank() ? local() : T{}, root);
  }
  // metrics(i) of a route in another rank's partition, once per global event
  // and change of the stats.
  const ServiceMetrics& MirroredMetrics(std::size_t i) const;
  // The partition of a new server of `pod`, matched by `routes`.
  sim::Partition PartitionOf(const Pod& pod, const std::set<std::size_t>& routes,
                             const ModelServerConfig& config);
  // Pins the proxy's partition, and its endpoints', for good where it
  // balances over a hop of another partition.
  void CheckPartitions(const ServiceProxy& proxy);
  void PinForGood(sim::Partition p);

  sim::Engine& engine_;
  ApiServer& api_;
  const sim::Time warmup_;
  std::map<std::string, ModelServerConfig> configs_;
  ModelServerConfig refusing_;  // for pods without a model server config
  RequestTable table_;
  ServiceStats stats_;
  PodStats pod_stats_;
  KubeProxy kube_proxy_;
  std::map<std::string, std::unique_ptr<ServiceProxy>> proxies_;  // by Service key
  std::map<std::string, std::unique_ptr<WeightedSplit>> splits_;  // by stable Service key
  std::vector<std::unique_ptr<ConnectionPool>> pools_;            // by route; null: none
  bool any_pool_ = false;                                         // some route has connections
  std::map<const Hop*, std::uint32_t> pod_of_hop_;                // the pod behind an endpoint
  // Breaks the connections to pod `pod_key` (it stops or dies).
  void CloseConnections(const std::string& pod_key);
  // The requests in flight in each revision of Knative Services with more
  // than one: each marked as it enters a revision, counted off as it ends.
  class RevisionLoads : public RequestObserver {
   public:
    std::uint16_t Add();  // a revision's index
    void Enter(RequestId id, std::uint16_t revision, sim::Time now);
    void OnArrival(const Request&, sim::Time) override {}
    void OnEnd(const Request& request, Outcome outcome, sim::Time now) override;
    Load LoadOf(std::uint16_t revision, sim::Time now) const;
    RequestTable* table = nullptr;

   private:
    struct Tally {
      double area = 0;  // request-seconds up to `since`
      sim::Time since = 0;
      std::uint64_t in_flight = 0, arrived = 0;
    };
    std::vector<Tally> tallies_;
    std::vector<std::uint16_t> of_;  // by request id: revision + 1, or 0
  };
  // The hop in front of a revision's ingress that marks its requests.
  class RevisionEntry : public Hop {
   public:
    RevisionEntry(RevisionLoads& loads, std::uint16_t revision, Hop& next, sim::Engine& engine)
        : loads_(loads), revision_(revision), next_(next), engine_(engine) {}
    void Accept(RequestId id) override {
      loads_.Enter(id, revision_, engine_.Now());
      next_.Accept(id);
    }
    void Withdraw(RequestId) override {}  // never holds one
    std::uint16_t revision() const { return revision_; }

   private:
    RevisionLoads& loads_;
    const std::uint16_t revision_;
    Hop& next_;
    sim::Engine& engine_;
  };
  struct KnativePath {
    std::unique_ptr<Activator> activator;
    std::unique_ptr<KnativeIngress> ingress;
    std::unique_ptr<RevisionEntry> entry;  // a revision of several only
    std::vector<std::size_t> routes;       // the clients of the Knative Service
  };
  std::map<std::string, KnativePath> knative_;                             // by revision key
  std::map<std::string, std::unique_ptr<WeightedSplit>> revision_splits_;  // by Knative Service
  RevisionLoads revision_loads_;
  bool any_revision_split_ = false;
  std::function<void(const std::string&)> activator_report_;
  std::vector<Route> routes_;
  std::map<std::string, std::vector<std::size_t>> routes_of_service_;  // by backend key
  KeyIndex routes_by_label_;  // route index by "namespace/key=value" of its selector
  std::vector<std::unique_ptr<Client>> clients_;
  std::map<std::string, std::unique_ptr<sim::RandomStream>> service_rngs_;  // by deployment
  std::map<std::string, std::unique_ptr<sim::RandomStream>> error_rngs_;    // by deployment
  std::vector<std::unique_ptr<ModelServer>> servers_;                       // by pod index
  std::vector<std::unique_ptr<QueueProxy>> queue_proxy_storage_;
  QueueProxies queue_proxies_;          // by pod index; an observer only if any pod has one
  bool any_crash_ = false;              // some config crashes (crash_after)
  std::set<std::string> broken_;        // pods whose GPU failed
  std::vector<std::string> pod_nodes_;  // by pod index
  bool scrapes_ = false;
  std::unique_ptr<RevisionLatency> revision_latency_;
  std::unique_ptr<LlmStats> llm_stats_;                  // if some model server is an LLM server
  std::map<std::string, std::uint32_t> revision_index_;  // by ReplicaSet key
  BatchTrace* batch_trace_ = nullptr;
  std::vector<Labels> pod_labels_;                               // by pod index, with EnableScrapes
  std::vector<std::pair<std::string, std::string>> pod_owners_;  // (ReplicaSet, Deployment)
  std::map<std::string, std::uint32_t> server_of_pod_;
  // Partitions (sim/engine.h): each partition group of Services with plain
  // routes (no Knative, canary or connections) is one, with their clients,
  // proxies and the servers of the Deployments whose pods they select,
  // found at their first pod (the servers of one Deployment share its
  // random streams).
  std::vector<sim::Partition> route_partitions_;            // by route
  std::map<std::string, sim::Partition> group_partitions_;  // by partition group
  std::map<std::string, sim::Partition> owner_partitions_;  // by Deployment
  std::set<sim::Partition> pinned_for_good_;
  std::set<std::uint32_t> draining_;  // pods whose server's drain pins its partition
  // Ranks: the rank of each partition, by partition; each route's expected
  // requests in its first hour (its weight); and the metrics of other
  // ranks' routes as last read, with when (global event and generation of
  // the stats, + 1; 0: never).
  sim::Ranks* ranks_ = nullptr;
  std::vector<int> rank_of_;
  std::vector<double> route_load_;
  std::uint64_t stats_generation_ = 0;
  mutable std::vector<ServiceMetrics> mirror_;
  mutable std::vector<std::pair<std::uint64_t, std::uint64_t>> mirror_at_;
  // Ranks: servers that drain. Each rank keeps every draining pod's
  // kubelet callback, with its Stop's number (counted alike on every rank);
  // the server's rank notes when it stopped (the outbox, from any thread),
  // and ExchangeStops tells every rank, which then calls back at that time.
  struct Told {
    sim::Time at;
    std::uint64_t stop;
    std::uint32_t pod;
  };
  std::map<std::uint32_t, std::pair<std::uint64_t, std::function<void()>>> pending_stops_;
  std::uint64_t stops_ = 0, stops_told_ = 0;
  bool in_stop_ = false, stopped_in_stop_ = false;
  std::mutex outbox_mutex_;
  std::vector<Told> outbox_;
  // With ranks: ends the run, `what` not being supported on them yet.
  void RefuseOnRanks(const char* what) const;
  // Stop() of a pod in partition `p` on ranks.
  void StopOnRanks(std::uint32_t pod, sim::Partition p, sim::Time grace,
                   std::function<void()> stopped);
  // Every rank's outbox to every rank, called back in (time, Stop) order;
  // whether there was any.
  bool ExchangeStops();
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_DATA_PLANE_H_
