#include "platform/simulation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <tuple>

#include "platform/accounting.h"
#include "platform/analysis/condition.h"
#include "platform/analysis/prometheus.h"
#include "platform/api_server.h"
#include "platform/controllers/analysis_run.h"
#include "platform/controllers/argo_rollout.h"
#include "platform/controllers/cluster_autoscaler.h"
#include "platform/controllers/deployment.h"
#include "platform/controllers/endpoints.h"
#include "platform/controllers/hpa.h"
#include "platform/controllers/knative_route.h"
#include "platform/controllers/kpa.h"
#include "platform/controllers/node_lifecycle.h"
#include "platform/controllers/replicaset.h"
#include "platform/kubelet.h"
#include "platform/names.h"
#include "platform/scheduler.h"
#include "platform/serving/data_plane.h"

namespace platsim::platform {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Ratio(double a, double b) {
  return b > 0 ? a / b : kNaN;
}

// What one service's time-series row is computed from: its pods' metrics
// now and at the previous sample.
struct ServiceSample {
  const DataPlane& data_plane;
  std::size_t route;
  sim::Time now;
  double interval_s;
  const PodMetrics& pods;
  const PodMetrics& before;
  const ServiceMetrics& m() const { return data_plane.metrics(route); }
  double Delta(double PodMetrics::*counter) const { return pods.*counter - before.*counter; }
};

struct ServiceColumn {
  const char* name;
  double (*value)(const ServiceSample& s);
};

double Occupancy(const PodMetrics& m, std::uint64_t batches, std::uint64_t requests) {
  return Ratio(static_cast<double>(requests), static_cast<double>(batches) * m.max_batch_size);
}

// The time-series columns (after time_s and series), each with what fills
// it. Interval counts cover the time since the previous sample.
const ServiceColumn kServiceColumns[] = {
    {"ready_replicas",
     [](const ServiceSample& s) { return 1.0 * s.data_plane.ReadyEndpoints(s.route); }},
    {"pods", [](const ServiceSample& s) { return 1.0 * s.data_plane.Pods(s.route); }},
    {"arrival_rps",
     [](const ServiceSample& s) {
       return s.now > 0 ? s.m().interval.arrived / s.interval_s : kNaN;
     }},
    {"throughput_rps",
     [](const ServiceSample& s) {
       return s.now > 0 ? s.m().interval.completed / s.interval_s : kNaN;
     }},
    {"dropped", [](const ServiceSample& s) { return 1.0 * s.m().interval.dropped(); }},
    {"timed_out", [](const ServiceSample& s) { return 1.0 * s.m().interval.timed_out; }},
    {"failed", [](const ServiceSample& s) { return 1.0 * s.m().interval.failed; }},
    {"in_flight", [](const ServiceSample& s) { return 1.0 * s.m().all.in_flight(); }},
    {"queued", [](const ServiceSample& s) { return 1.0 * s.pods.queued; }},
    {"latency_p50_s", [](const ServiceSample& s) { return s.m().IntervalLatencyQuantile(0.5); }},
    {"latency_p99_s", [](const ServiceSample& s) { return s.m().IntervalLatencyQuantile(0.99); }},
    // Of the requests that ended in the interval, the share completed
    // within the SLO latency (empty without an SLO or with none ended).
    {"slo_attainment",
     [](const ServiceSample& s) {
       const RequestCounts& c = s.m().interval;
       const double ended = static_cast<double>(c.completed + c.failed + c.timed_out + c.dropped());
       return s.data_plane.slo_latency(s.route) > 0 && ended > 0
                  ? static_cast<double>(s.m().interval_slo_met) / ended
                  : kNaN;
     }},
    {"gpu_utilization",
     [](const ServiceSample& s) {
       return Ratio(s.Delta(&PodMetrics::gpu_busy_s), s.Delta(&PodMetrics::gpu_held_s));
     }},
    // Requests per batch over the batch size, for batches started in the
    // interval.
    {"batch_occupancy",
     [](const ServiceSample& s) {
       return Occupancy(s.pods, s.pods.batches - s.before.batches,
                        s.pods.batched_requests - s.before.batched_requests);
     }},
    // CPU cores the servers used (their CPU model), averaged over the
    // interval.
    {"cpu_cores",
     [](const ServiceSample& s) {
       return s.now > 0 ? s.Delta(&PodMetrics::cpu_s) / s.interval_s : kNaN;
     }},
    // An LLM server's KV cache in use, the mean over the Service's pods
    // now (0 for other servers).
    {"kv_cache_usage",
     [](const ServiceSample& s) {
       return Ratio(s.pods.kv_usage, 1.0 * s.data_plane.Pods(s.route));
     }},
    // An LLM service's time to first token and per output token, of the
    // requests whose first (or last) token came in the interval.
    {"ttft_p99_s",
     [](const ServiceSample& s) {
       const LlmStats* llm = s.data_plane.llm_stats();
       return llm ? llm->IntervalQuantile(s.route, false, 0.99) : kNaN;
     }},
    {"tpot_p99_s",
     [](const ServiceSample& s) {
       const LlmStats* llm = s.data_plane.llm_stats();
       return llm ? llm->IntervalQuantile(s.route, true, 0.99) : kNaN;
     }},
};

}  // namespace

// The platform row's columns, after the services': nodes and provisioned
// GPUs now, what they cost per hour now, and their mean power over the
// interval.
const char* const kPlatformColumns[] = {"nodes", "gpus_provisioned", "cost_usd_per_hour",
                                        "power_w"};
// An autoscaler's row's columns, after the platform's (AutoscalerObservation).
const char* const kAutoscalerColumns[] = {"desired_replicas", "metric_value", "metric_target",
                                          "panic_mode"};

namespace {

// Puts routes whose Services select a common workload's pods in one
// partition group (the data plane's partitions, sim/engine.h): such
// Services share servers, so they must run ahead together. Workloads that
// appear later (a timeline's manifests) are found when kube-proxy programs
// their endpoints, and pinned then.
void GroupRoutesByWorkload(const Scenario& sc, std::vector<RouteConfig>& routes) {
  std::map<std::string, std::string> parent;  // a union-find over Service keys
  for (const RouteConfig& r : routes)
    parent.emplace(r.service_key, r.service_key);
  const auto find = [&](std::string key) {
    while (parent.at(key) != key)
      key = parent.at(key);
    return key;
  };
  // The routed Services by a pair of their selectors, "namespace/key=value":
  // only those sharing a pair with a workload's labels can select it.
  std::map<std::string, std::vector<const Service*>> by_pair;
  for (const Service& s : sc.services) {
    if (!parent.count(s.meta.Key()) || s.selector.empty()) continue;
    const auto& [k, v] = *s.selector.begin();
    by_pair[s.meta.namespace_name + "/" + k + "=" + v].push_back(&s);
  }
  const auto unite_selecting = [&](const std::string& ns, const Labels& labels) {
    std::vector<const Service*> selecting;
    for (const auto& [k, v] : labels) {
      const auto it = by_pair.find(ns + "/" + k + "=" + v);
      if (it == by_pair.end()) continue;
      for (const Service* s : it->second) {
        if (SelectorMatches(s->selector, labels)) selecting.push_back(s);
      }
    }
    std::string first;
    for (const Service* s : selecting) {
      const std::string key = s->meta.Key();
      if (first.empty()) {
        first = find(key);
      } else if (const std::string root = find(key); root != first) {
        parent[root] = first;
      }
    }
  };
  for (const Deployment& d : sc.deployments)
    unite_selecting(d.meta.namespace_name, d.pod_template.labels);
  for (const ArgoRollout& r : sc.rollouts)
    unite_selecting(r.meta.namespace_name, r.pod_template.labels);
  for (RouteConfig& r : routes)
    r.partition_group = find(r.service_key);
}

// What a rollout's Services had seen at a time: their requests' counts and
// the connections their pods had closed (each a reconnect for its client).
struct RolloutSnapshot {
  RequestCounts counts;
  std::uint64_t reconnects = 0;
};

// One measurement of an analysis metric: its query on the simulated
// Prometheus, its result as Argo's prometheus provider hands it on (a
// number for a scalar, a list for a vector: metricproviders/prometheus
// processResponse), and the conditions on it (analysis.go EvaluateResult).
Measurement Measure(const AnalysisMetric& metric, const analysis::Prometheus& prometheus,
                    sim::Time now) {
  std::string error;
  const auto query = analysis::ParseQuery(metric.query, &error);
  if (!query) return {AnalysisPhase::kError, "", "query does not parse: " + error};
  auto answer = analysis::Evaluate(*query, prometheus, now);
  if (const auto* e = std::get_if<std::string>(&answer)) return {AnalysisPhase::kError, "", *e};
  const analysis::QueryResult& r = std::get<analysis::QueryResult>(answer);
  analysis::Value value;
  std::string text;
  char buf[64];
  if (r.scalar && !r.values.empty()) {
    value = r.values[0];
    std::snprintf(buf, sizeof buf, "%.10g", r.values[0]);
    text = buf;
  } else {
    value = r.values;
    text = "[";
    for (std::size_t i = 0; i < r.values.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.10g", r.values[i]);
      text += (i ? "," : "") + std::string(buf);
    }
    text += "]";
  }
  std::optional<analysis::Condition> success, failure;
  if (!metric.success_condition.empty()) {
    success = analysis::ParseCondition(metric.success_condition, &error);
  }
  if (!metric.failure_condition.empty()) {
    failure = analysis::ParseCondition(metric.failure_condition, &error);
  }
  const analysis::Assessment a = analysis::AssessMeasurement(success ? &*success : nullptr,
                                                             failure ? &*failure : nullptr, value);
  switch (a.phase) {
    case analysis::MeasurementPhase::kSuccessful:
      return {AnalysisPhase::kSuccessful, text, ""};
    case analysis::MeasurementPhase::kFailed:
      return {AnalysisPhase::kFailed, text, ""};
    case analysis::MeasurementPhase::kInconclusive:
      return {AnalysisPhase::kInconclusive, text, ""};
    case analysis::MeasurementPhase::kError:
      break;
  }
  return {AnalysisPhase::kError, text, a.message};
}

}  // namespace

const std::vector<std::string>& TimeSeriesColumns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> names;
    for (const ServiceColumn& c : kServiceColumns)
      names.emplace_back(c.name);
    for (const char* c : kPlatformColumns)
      names.emplace_back(c);
    for (const char* c : kAutoscalerColumns)
      names.emplace_back(c);
    return names;
  }();
  return columns;
}

Simulation::Simulation(const Scenario& scenario, std::uint64_t seed, EventSink& events,
                       sim::RowSink* timeseries)
    : scenario_(scenario), seed_(seed), events_(events), timeseries_(timeseries) {}

RunResult Simulation::Run(const RunOptions& options) {
  const Scenario& sc = scenario_;
  sim::Engine engine(seed_);
  ApiServer api(engine, sc.api_request_latency);

  std::map<std::string, const KnativeServiceSpec*> knative;
  for (const auto& k : sc.knative_services)
    knative.emplace(k.key, &k);
  std::vector<RouteConfig> routes;
  for (const auto& t : sc.traffic) {
    RouteConfig r;
    r.service_key = t.service;
    r.stream = t.stream;
    if (const auto k = knative.find(t.service); k != knative.end()) {
      RouteConfig::Knative path;
      const std::string ns = k->first.substr(0, k->first.find('/'));
      for (const KnativeRevision& rev : k->second->revisions) {
        path.revisions.push_back(
            {ns + "/" + rev.name, rev.private_service, rev.container_concurrency});
      }
      path.timeout = k->second->first().timeout;
      path.pods = {{kKnativeServiceLabel, k->first.substr(ns.size() + 1)}};
      r.knative = std::move(path);
    }
    // A Rollout that routes traffic splits its stable Service's requests.
    for (const ArgoRollout& ro : sc.rollouts) {
      if (ro.traffic_routing && ro.stable_service == t.service)
        r.canary_service = ro.canary_service;
    }
    r.balancer = t.balancer;
    r.connections = t.connections;
    r.arrivals = t.arrivals->Restarted();
    r.timeout = t.timeout;
    r.slo_latency = t.slo_latency;
    r.prompt_tokens = t.prompt_tokens;
    r.output_tokens = t.output_tokens;
    r.shared_prefix_tokens = t.shared_prefix_tokens;
    r.prefix_groups = t.prefix_groups;
    r.priority = t.priority;
    r.llm_objectives = t.llm_objectives;
    routes.push_back(std::move(r));
  }
  GroupRoutesByWorkload(sc, routes);
  std::map<std::string, ModelServerConfig> servers;
  std::map<std::string, Kubelets::ImageInfo> images;
  // Each Deployment's images (the timeline's new versions too) pull as its
  // model server entry says.
  std::multimap<std::string, const std::string*> image_of;  // by Deployment key
  for (const auto& d : sc.deployments)
    image_of.emplace(d.meta.Key(), &d.pod_template.image);
  for (const auto& r : sc.rollouts)
    image_of.emplace(r.meta.Key(), &r.pod_template.image);
  for (const auto& a : sc.timeline) {
    if (a.manifest) image_of.emplace(a.deployment, &a.manifest->pod_template.image);
    if (a.rollout_manifest) image_of.emplace(a.rollout, &a.rollout_manifest->pod_template.image);
  }
  // A Knative Service's later revisions serve as its model server entry
  // says, by their images as its first revision's pods do, behind a
  // queue-proxy at their own containerConcurrency.
  std::multimap<std::string, const KnativeRevision*> later_revisions;  // by the first's Deployment
  for (const auto& k : sc.knative_services) {
    for (std::size_t i = 1; i < k.revisions.size(); ++i) {
      later_revisions.emplace(k.first().deployment, &k.revisions[i]);
      image_of.emplace(k.first().deployment, &k.revisions[i].given.image);
    }
  }
  for (const auto& m : sc.model_servers) {
    servers[m.deployment] = m.config;
    const auto [from, to] = image_of.equal_range(m.deployment);
    for (auto it = from; it != to; ++it)
      images[*it->second] = {m.image_pull, m.image_size_bytes};
    for (const auto& [image, v] : m.versions) {
      servers[m.deployment + "@" + image] = v.config;
      images[image] = {v.image_pull, v.image_size_bytes};
    }
    const auto [later, end] = later_revisions.equal_range(m.deployment);
    for (auto it = later; it != end; ++it) {
      const KnativeRevision& rev = *it->second;
      auto& config = servers[rev.deployment] = m.config;
      config.container_concurrency = rev.container_concurrency;
      for (const auto& [image, v] : m.versions) {
        auto& version = servers[rev.deployment + "@" + image] = v.config;
        version.container_concurrency = rev.container_concurrency;
      }
    }
  }
  DataPlane data_plane(engine, api, std::move(routes), std::move(servers), sc.service_proxy,
                       sc.warmup);
  if (options.batch_trace != nullptr) data_plane.TraceBatches(options.batch_trace);
  if (options.global_order) engine.PinAll();
  engine.SetThreads(options.threads);
  sim::Ranks* const ranks = options.ranks;
  if (ranks != nullptr) {
    engine.SetRanked();
    data_plane.SetRanks(ranks);
  }
  // Revisions to compare (a release on the timeline, an Argo Rollout):
  // each one's latency too.
  if (!sc.rollouts.empty() ||
      std::any_of(sc.timeline.begin(), sc.timeline.end(),
                  [](const TimelineAction& a) { return a.kind == TimelineAction::Kind::kApply; })) {
    data_plane.EnableRevisionLatency();
  }
  DeploymentController deployments(engine, api, events_);
  // What the requests to a workload's Services did, and how often their
  // clients reconnected, at the start and the end of each rollout: over the
  // routes whose Service selects the workload's pods (the pod template hash
  // an Argo Rollout adds left aside), found at its first rollout (most
  // workloads have none).
  std::map<std::string, const Service*> services_by_key;
  for (const Service& svc : sc.services)
    services_by_key.emplace(svc.meta.Key(), &svc);
  std::map<std::string, std::vector<std::size_t>> routes_of_workload;  // by kind/key
  auto snapshot = [&](const std::string& kind, const std::string& key) {
    auto [it, first] = routes_of_workload.try_emplace(kind + "/" + key);
    if (first && kind == KnativeServiceSpec::kKind) {
      // A Knative Service's clients.
      for (std::size_t r = 0; r < sc.traffic.size(); ++r) {
        if (sc.traffic[r].service == key) it->second.push_back(r);
      }
    } else if (first) {
      const ObjectMeta* meta = nullptr;
      const PodTemplate* pod = nullptr;
      if (const Deployment* d = kind == "Deployment" ? api.Get<Deployment>(key) : nullptr) {
        meta = &d->meta;
        pod = &d->pod_template;
      } else if (const ArgoRollout* r = kind == "Rollout" ? api.Get<ArgoRollout>(key) : nullptr) {
        meta = &r->meta;
        pod = &r->pod_template;
      }
      for (std::size_t r = 0; pod != nullptr && r < sc.traffic.size(); ++r) {
        const auto svc = services_by_key.find(sc.traffic[r].service);
        if (svc == services_by_key.end()) continue;
        Labels selector = svc->second->selector;
        selector.erase(kRolloutsHashLabel);
        if (svc->second->meta.namespace_name == meta->namespace_name &&
            SelectorMatches(selector, pod->labels)) {
          it->second.push_back(r);
        }
      }
    }
    RolloutSnapshot now;
    for (const std::size_t r : it->second) {
      now.counts += data_plane.metrics(r).all;
      if (const ConnectionPool* pool = data_plane.connections(r)) {
        now.reconnects += pool->stats().closed;
      }
    }
    return now;
  };
  std::vector<std::pair<RolloutSnapshot, RolloutSnapshot>> rollout_counts;  // start, end
  deployments.OnRollout([&](std::size_t index) {
    const auto& rollout = deployments.rollouts()[index];
    if (rollout_counts.size() <= index) rollout_counts.resize(index + 1);
    (rollout.ended ? rollout_counts[index].second : rollout_counts[index].first) =
        snapshot("Deployment", rollout.deployment);
  });
  // Argo Rollouts, where the scenario has any: the controller, its
  // AnalysisRuns, and the Prometheus they query (where any template is).
  std::optional<analysis::Prometheus> prometheus;
  std::optional<AnalysisRunner> analysis_runs;
  std::optional<ArgoRolloutController> argo;
  std::vector<std::pair<RolloutSnapshot, RolloutSnapshot>> update_counts;  // start, end
  if (!sc.rollouts.empty()) {
    if (!sc.analysis_templates.empty()) {
      prometheus.emplace(engine, data_plane, sc.prometheus.scrape_interval, sim::kHour);
    }
    analysis_runs.emplace(engine, events_, [&](const AnalysisMetric& metric) {
      return Measure(metric, *prometheus, engine.Now());
    });
    argo.emplace(engine, api, events_, *analysis_runs, sc.analysis_templates,
                 [&data_plane](const std::string& stable, int weight) {
                   data_plane.SetCanaryWeight(stable, weight);
                 });
    argo->OnUpdate([&](std::size_t index) {
      const auto& u = argo->updates()[index];
      if (update_counts.size() <= index) update_counts.resize(index + 1);
      (u.ended ? update_counts[index].second : update_counts[index].first) =
          snapshot("Rollout", u.rollout);
    });
  }
  EndpointsController endpoints(engine, api, events_);
  ReplicaSetController replicasets(engine, api, events_);
  Scheduler scheduler(engine, api, events_);
  // The HPA controller and the metrics pipelines it reads, only where a
  // scenario has HPAs: their scrapes are events of their own.
  std::optional<HorizontalPodAutoscalerController> autoscalers;
  if (!sc.autoscalers.empty()) {
    autoscalers.emplace(
        engine, api, events_,
        HorizontalPodAutoscalerController::Settings{sc.hpa_controller, sc.metrics_resolution,
                                                    sc.prometheus, sc.warmup},
        [&data_plane](const std::string& pod) { return data_plane.CpuSecondsOf(pod); },
        [&data_plane](const std::string& pod) { return data_plane.MemoryBytesOf(pod); },
        [&data_plane](const std::string& pod) {
          std::optional<HorizontalPodAutoscalerController::Series> out;
          if (const auto s = data_plane.SeriesOf(pod))
            out = {{s->queued, s->in_flight, s->completed, s->kv_usage}};
          return out;
        },
        [&data_plane](const std::string& service) {
          std::optional<HorizontalPodAutoscalerController::Series> out;
          if (const auto s = data_plane.ServiceSeriesOf(service))
            out = {{s->pending, 0, s->arrived}};
          return out;
        });
  }
  // The Knative autoscaler, only where a scenario has Knative Services.
  // Their revisions' routes, and their releases: where any has a timeline
  // apply.
  std::optional<KnativeAutoscaler> kpa;
  std::optional<KnativeRouting> knative_routing;
  std::vector<std::pair<RolloutSnapshot, RolloutSnapshot>> release_counts;  // start, end
  if (!sc.knative_services.empty()) {
    std::vector<KnativeAutoscaler::Revision> revisions;
    for (const auto& k : sc.knative_services) {
      const KnativeRevision& r = k.first();
      revisions.push_back({k.key.substr(0, k.key.find('/') + 1) + r.name, r.deployment,
                           r.private_service, r.container_concurrency, r.annotations});
    }
    kpa.emplace(
        engine, api, events_, sc.knative_autoscaler, std::move(revisions),
        [&data_plane](const std::string& revision) {
          const DataPlane::Load l = data_plane.LoadOf(revision);
          return KnativeAutoscaler::Load{l.request_seconds, l.arrived};
        },
        [&data_plane](const std::string& revision, bool proxy) {
          data_plane.SetActivatorInPath(revision, proxy);
        },
        sc.warmup);
    data_plane.OnActivatorReport(
        [&kpa](const std::string& revision) { kpa->ActivatorReport(revision); });
    if (std::any_of(sc.timeline.begin(), sc.timeline.end(),
                    [](const TimelineAction& a) { return !a.knative.empty(); })) {
      knative_routing.emplace(engine, api, events_, sc.knative_services, *kpa,
                              [&data_plane](const std::string& ksvc, const std::vector<int>& p) {
                                data_plane.SetRevisionWeights(ksvc, p);
                              });
      // The revision's readiness reaches its configuration and route
      // through the API (watches): an event of its own, never inside the
      // autoscaler's reconcile.
      kpa->OnInitialized([&engine, &knative_routing](const std::string& revision) {
        engine.ScheduleCallbackAfter(
            0, [&knative_routing, revision] { knative_routing->RevisionReady(revision); });
      });
      knative_routing->OnRelease([&](std::size_t index) {
        const auto& release = knative_routing->releases()[index];
        if (release_counts.size() <= index) release_counts.resize(index + 1);
        (release.ended ? release_counts[index].second : release_counts[index].first) =
            snapshot(KnativeServiceSpec::kKind, release.service);
      });
    }
  }
  // The cluster autoscaler, only where a node pool autoscales.
  std::optional<ClusterAutoscaler> cluster_autoscaler;
  {
    std::vector<ca::NodeGroup> groups;
    for (const auto& pool : sc.node_pools) {
      if (!pool.autoscaling) continue;
      const NodePool::Autoscaling& a = *pool.autoscaling;
      groups.push_back({pool.name, pool.count, a.min_size, a.max_size, a.provision_min,
                        a.provision_max, a.gpu_ready_delay, pool.labels, pool.allocatable,
                        pool.taints, pool.price_usd_per_hour});
    }
    if (!groups.empty()) {
      cluster_autoscaler.emplace(engine, api, events_, sc.cluster_autoscaler, std::move(groups),
                                 sc.warmup);
    }
  }
  Accounting accounting(engine, api, sc.node_pools);
  Kubelets kubelets(engine, api, events_, data_plane, [&images](const std::string& image) {
    const auto it = images.find(image);
    return it == images.end() ? Kubelets::ImageInfo{} : it->second;
  });

  // The cluster as the scenario describes it, created at time 0.
  for (const auto& ns : sc.namespaces)
    api.Create(ns);
  for (const auto& pool : sc.node_pools) {
    for (int i = 0; i < pool.count; ++i) {
      Node node;
      node.meta.name = pool.name + "-" + std::to_string(i);
      node.meta.labels = pool.labels;
      node.pool = pool.name;
      node.allocatable = pool.allocatable;
      node.taints = pool.taints;
      api.Create(std::move(node));
    }
  }
  for (const auto& svc : sc.services)
    api.Create(svc);
  for (const auto& d : sc.deployments)
    api.Create(d);
  for (const auto& r : sc.rollouts)
    api.Create(r);
  for (const auto& h : sc.autoscalers)
    api.Create(h);
  // Nodes that go down and come back (the timeline's, spec.failures'):
  // the node lifecycle controller, where a scenario has any. `down` says
  // what took each node down that is down now.
  std::optional<NodeLifecycleController> node_lifecycle;
  if (!sc.failures.empty() ||
      std::any_of(sc.timeline.begin(), sc.timeline.end(), [](const TimelineAction& a) {
        return a.kind == TimelineAction::Kind::kFailNode;
      })) {
    node_lifecycle.emplace(engine, api, events_);
  }
  std::map<std::string, std::string> down;
  auto fields = [](const char* source, const std::string& zone) {
    std::vector<std::pair<std::string, std::string>> f = {{"source", source}};
    if (!zone.empty()) f.emplace_back("zone", zone);
    return f;
  };
  auto node_down = [&](const std::string& node, const char* source, const std::string& zone) {
    if (api.Get<Node>(node) == nullptr || !down.emplace(node, source).second) return false;
    events_.Emit({engine.Now(), "Failed", "Node", node,
                  "the node stops: its pods' containers end, its kubelet is gone",
                  fields(source, zone)});
    kubelets.FailNode(node);
    node_lifecycle->NodeStopped(node);
    return true;
  };
  auto node_up = [&](const std::string& node, const char* source, const std::string& zone) {
    if (!down.erase(node)) return;
    events_.Emit({engine.Now(), "Recovered", "Node", node,
                  "the node is back: its kubelet renews its lease and starts its pods' "
                  "containers again",
                  fields(source, zone)});
    kubelets.RecoverNode(node);
    node_lifecycle->NodeRecovered(node);
  };
  // spec.failures: each node of the pool on its own random stream.
  std::vector<std::unique_ptr<sim::RandomStream>> failure_streams;
  std::function<void(const FailureModel&, std::string, sim::RandomStream&)> next_failure =
      [&](const FailureModel& f, std::string node, sim::RandomStream& rng) {
        const double mtbf_s = sim::ToSeconds(f.mtbf);
        const sim::Time after = sim::FromSeconds(rng.Exponential(mtbf_s));
        engine.ScheduleCallbackAfter(after, [&, node] {
          const bool failed = node_down(node, "failures", "");
          const sim::Time repair = f.repair_exponential
                                       ? sim::FromSeconds(rng.Exponential(sim::ToSeconds(f.repair)))
                                       : f.repair;
          engine.ScheduleCallbackAfter(repair, [&, node, failed] {
            if (failed && down.count(node) && down.at(node) == "failures") {
              node_up(node, "failures", "");
            }
            next_failure(f, node, rng);
          });
        });
      };
  for (const FailureModel& f : sc.failures) {
    for (const NodePool& pool : sc.node_pools) {
      if (pool.name != f.pool) continue;
      for (int i = 0; i < pool.count; ++i) {
        const std::string node = pool.name + "-" + std::to_string(i);
        failure_streams.push_back(
            std::make_unique<sim::RandomStream>(engine.Stream("failures/" + node)));
        next_failure(f, node, *failure_streams.back());
      }
    }
  }
  // The timeline's changes, each at its time.
  for (const TimelineAction& action : sc.timeline) {
    // Not before the objects it changes have landed.
    engine.ScheduleCallbackAt(std::max(action.at, sc.api_request_latency), [&, this] {
      if (action.kind == TimelineAction::Kind::kFailNode) {
        node_down(action.node, "timeline", action.zone);
        return;
      }
      if (action.kind == TimelineAction::Kind::kRecoverNode) {
        node_up(action.node, "timeline", action.zone);
        return;
      }
      if (action.kind == TimelineAction::Kind::kFailGpus) {
        // The device plugin reports them unhealthy: they leave the node's
        // allocatable, and the pods holding them crash from now on.
        api.Patch<Node>(action.node, [g = action.gpus](Node& n) {
          n.allocatable.gpus = std::max<std::int64_t>(0, n.allocatable.gpus - g);
        });
        const std::vector<std::string> pods = kubelets.FailGpus(action.node, action.gpus);
        std::string names;
        for (const std::string& p : pods)
          names += (names.empty() ? "" : ", ") + p;
        events_.Emit({engine.Now(),
                      "GPUFailed",
                      "Node",
                      action.node,
                      std::to_string(action.gpus) +
                          " GPU(s) failed and left the node's allocatable; pods on them crash: " +
                          (names.empty() ? "none" : names),
                      {{"source", "timeline"}}});
        return;
      }
      if (!action.rollout.empty()) {
        ApplyRolloutAction(api, engine.Now(), action);
        return;
      }
      if (!action.knative.empty()) {
        events_.Emit({engine.Now(),
                      "Applied",
                      KnativeServiceSpec::kKind,
                      action.knative,
                      "service.serving.knative.dev/" +
                          action.knative.substr(action.knative.find('/') + 1) + " configured",
                      {{"source", "timeline"}}});
        knative_routing->Apply(action);
        return;
      }
      if (action.kind == TimelineAction::Kind::kTraffic) {
        // The arrivals have changed on their own (SwitchedArrivals).
        events_.Emit({engine.Now(),
                      "TrafficChanged",
                      "Service",
                      action.service,
                      "a new arrival process from now on",
                      {{"source", "timeline"}}});
        return;
      }
      ApplyTimelineAction(api, engine.Now(), action);
    });
  }

  // Joules the GPUs drew above idle, from `whole_run` busy time (warm-up
  // included) or from the warm-up.
  auto busy_extra_j = [&](bool whole_run) {
    double j = 0;
    for (std::uint32_t p = 0; p < data_plane.pod_count(); ++p) {
      const PodMetrics m = data_plane.PodMetricsOf(p);
      j += accounting.BusyExtraWatts(data_plane.pod_node(p)) *
           (whole_run ? m.gpu_busy_whole_run_s : m.gpu_busy_s);
    }
    return j;
  };
  std::unique_ptr<sim::Recorder> recorder;
  std::vector<PodMetrics> last(data_plane.route_count());
  double last_energy_j = 0;
  if (timeseries_ != nullptr) {
    recorder = std::make_unique<sim::Recorder>(engine, sc.sample_interval, TimeSeriesColumns(),
                                               *timeseries_);
    for (std::size_t i = 0; i < data_plane.route_count(); ++i) {
      recorder->AddSeries(data_plane.service_key(i), [&, i](sim::Time now, std::span<double> row) {
        const PodMetrics pods = data_plane.Totals(i);
        const ServiceSample sample{data_plane, i,      now, sim::ToSeconds(sc.sample_interval),
                                   pods,       last[i]};
        for (std::size_t c = 0; c < std::size(kServiceColumns); ++c)
          row[c] = kServiceColumns[c].value(sample);
        for (std::size_t c = std::size(kServiceColumns); c < row.size(); ++c)
          row[c] = kNaN;
        last[i] = pods;
        data_plane.ResetInterval(i);
      });
    }
    recorder->AddSeries("platform", [&](sim::Time now, std::span<double> row) {
      std::fill(row.begin(), row.end(), kNaN);
      const Accounting::Totals t = accounting.At(0);
      const double energy_j = t.floor_j + busy_extra_j(true);
      const std::size_t c = std::size(kServiceColumns);
      row[c] = t.nodes;
      row[c + 1] = static_cast<double>(t.gpus);
      row[c + 2] = t.cost_usd_per_hour;
      row[c + 3] = now > 0 ? (energy_j - last_energy_j) / sim::ToSeconds(sc.sample_interval) : kNaN;
      last_energy_j = energy_j;
    });
    // One row per autoscaler: "HorizontalPodAutoscaler/NS/NAME" and, for a
    // Knative Service's revision, "PodAutoscaler/NS/NAME".
    auto add_autoscaler = [&](const std::string& series,
                              std::function<std::optional<AutoscalerObservation>()> observe) {
      recorder->AddSeries(series, [observe](sim::Time, std::span<double> row) {
        std::fill(row.begin(), row.end(), kNaN);
        const std::size_t c = std::size(kServiceColumns) + std::size(kPlatformColumns);
        if (const auto o = observe()) {
          row[c] = o->desired;
          row[c + 1] = o->metric;
          row[c + 2] = o->target;
          row[c + 3] = o->panic ? 1.0 : 0.0;
        }
      });
    };
    if (autoscalers) {
      for (const auto& h : sc.autoscalers) {
        add_autoscaler(
            "HorizontalPodAutoscaler/" + h.meta.Key(),
            [&autoscalers, key = h.meta.Key()] { return autoscalers->ObservationOf(key); });
      }
    }
    if (cluster_autoscaler) {
      for (const auto& pool : sc.node_pools) {
        if (!pool.autoscaling) continue;
        add_autoscaler(
            "NodeGroup/" + pool.name,
            [&cluster_autoscaler, name = pool.name]() -> std::optional<AutoscalerObservation> {
              return cluster_autoscaler->ObservationOf(name);
            });
      }
    }
    if (kpa) {
      for (const auto& k : sc.knative_services) {
        for (const KnativeRevision& r : k.revisions) {
          const std::string key = k.key.substr(0, k.key.find('/') + 1) + r.name;
          add_autoscaler("PodAutoscaler/" + key, [&kpa, key] { return kpa->ObservationOf(key); });
        }
      }
    }
    recorder->Start(0, sc.duration);
  }

  data_plane.Start();
  if (prometheus) prometheus->Start();
  RunResult result;
  // The clock of a partition running ahead is not the run's (ProgressTime);
  // the fraction shown never goes back.
  double shown = 0;
  auto fraction = [&] {
    shown = std::max(shown,
                     static_cast<double>(engine.ProgressTime()) / static_cast<double>(sc.duration));
    return shown;
  };
  // Checks outside the simulated world; they never change it.
  std::uint64_t next_budget_check = 0;
  engine.SetPoll(1024, [&] {
    if (options.progress) options.progress(fraction());
    if (options.interrupted && options.interrupted()) {
      // Each rank polls at its own pace: one that stopped alone would leave
      // the others waiting in a collective call, so the run ends on all.
      if (ranks != nullptr) {
        ranks->Abort("platsim: interrupted; a run on ranks writes nothing when stopped", 130);
      }
      result.ending = RunResult::Ending::kInterrupted;
      result.stopped_because = "interrupted";
      return true;
    }
    // One count (a sum over the partitions), not a look at every route,
    // while within the budget, once an eighth of the budget's worth of
    // events (1,024 to 65,536) have run since the last look. On threads the engine polls between
    // the partitions' stretches, so a run may go one stretch past the budget, and a run stopped
    // early stops at another point than on one thread.
    if (options.max_requests_in_system == 0 || engine.events_executed() < next_budget_check) {
      return false;
    }
    next_budget_check = engine.events_executed() +
                        std::clamp<std::uint64_t>(options.max_requests_in_system / 8, 1024, 65536);
    if (const std::uint64_t in_system = data_plane.requests_in_system();
        in_system > options.max_requests_in_system) {
      // On ranks, this rank's requests: the routes are read collectively.
      if (ranks != nullptr) {
        ranks->Abort("platsim: rank " + std::to_string(ranks->rank()) + " holds " +
                         std::to_string(in_system) +
                         " requests in the system, past the memory budget's " +
                         std::to_string(options.max_requests_in_system) +
                         "; a run on ranks writes nothing when stopped",
                     3);
      }
      std::size_t worst = 0;
      for (std::size_t i = 0; i < data_plane.route_count(); ++i) {
        if (data_plane.metrics(i).all.in_flight() > data_plane.metrics(worst).all.in_flight())
          worst = i;
      }
      result.ending = RunResult::Ending::kMemoryBudget;
      result.stopped_because =
          "memory budget: " + std::to_string(in_system) + " requests in the system (at most " +
          std::to_string(options.max_requests_in_system) + "); " + data_plane.service_key(worst) +
          " holds " + std::to_string(data_plane.metrics(worst).all.in_flight()) + " of them, " +
          std::to_string(data_plane.Totals(worst).queued) + " queued";
      return true;
    }
    return false;
  });
  // One stretch: every stop on the way would make the partitions catch up
  // with each other there, and the shorter their stretches, the less of
  // their state is still in the caches when they run.
  engine.RunUntil(sc.duration);
  if (options.progress) options.progress(fraction());
  data_plane.Finish();

  result.seed = seed_;
  result.end_time = engine.Now();
  result.events_executed = engine.events_executed();
  result.events_run_ahead = engine.events_run_ahead();
  if (ranks != nullptr) {
    // The global order's events ran on every rank, each partition's on one;
    // a server's stop told across ranks is an event one process does not
    // have (there the server's own event calls its kubelet).
    result.events_run_ahead = ranks->Sum(engine.events_run_ahead());
    result.events_executed =
        engine.global_events() - data_plane.stops_told() + result.events_run_ahead;
  }
  result.api_writes = api.writes_applied();
  const double window_s = sim::ToSeconds(std::max<sim::Time>(0, engine.Now() - sc.warmup));
  // The platform over the window: what its nodes cost and drew.
  const Accounting::Totals platform = accounting.At(sc.warmup);
  double held_s = 0;  // GPU-seconds held by every pod
  for (std::uint32_t p = 0; p < data_plane.pod_count(); ++p)
    held_s += data_plane.PodMetricsOf(p).gpu_held_s;
  result.platform = {
      {"node_hours", platform.node_s / 3600.0},
      {"gpu_hours_provisioned", platform.gpu_s / 3600.0},
      {"gpu_hours_held", held_s / 3600.0},
      {"cost_usd", platform.cost_usd},
      {"energy_kwh", (platform.floor_j + busy_extra_j(false)) / 3.6e6},
  };
  if (autoscalers) result.autoscalers = autoscalers->Results(engine.Now());
  if (cluster_autoscaler) {
    for (auto& [key, metrics] : cluster_autoscaler->Results(engine.Now()))
      result.autoscalers[key] = std::move(metrics);
  }
  if (kpa) {
    for (auto& [key, metrics] : kpa->Results(engine.Now())) {
      metrics["activator_buffered_requests"] =
          static_cast<double>(data_plane.ActivatorBuffered(key));
      result.autoscalers[key] = std::move(metrics);
    }
  }
  // Every rollout: a Deployment's, then each update of an Argo Rollout.
  auto add_rollout = [&](RunResult::Rollout r, sim::Time started, std::optional<sim::Time> ended,
                         const std::pair<RolloutSnapshot, RolloutSnapshot>* seen) {
    const RolloutSnapshot start = seen != nullptr ? seen->first : RolloutSnapshot{};
    const RolloutSnapshot end =
        ended && seen != nullptr ? seen->second : snapshot(r.kind, r.deployment);
    auto& x = r.metrics;
    x["started_s"] = sim::ToSeconds(started);
    x["ended_s"] = ended ? sim::ToSeconds(*ended) : kNaN;
    x["duration_s"] = ended ? sim::ToSeconds(*ended - started) : kNaN;
    const RequestCounts during = end.counts - start.counts;
    x["arrived"] = static_cast<double>(during.arrived);
    x["completed"] = static_cast<double>(during.completed);
    x["failed"] = static_cast<double>(during.failed);
    x["timed_out"] = static_cast<double>(during.timed_out);
    x["dropped"] = static_cast<double>(during.dropped());
    x["reconnects"] = static_cast<double>(end.reconnects - start.reconnects);
    result.rollouts.push_back(std::move(r));
  };
  for (std::size_t i = 0; i < deployments.rollouts().size(); ++i) {
    const auto& rollout = deployments.rollouts()[i];
    RunResult::Rollout r{rollout.deployment, rollout.replica_set, rollout.outcome, {}};
    r.metrics["steps"] = rollout.steps;
    add_rollout(std::move(r), rollout.started, rollout.ended,
                i < rollout_counts.size() ? &rollout_counts[i] : nullptr);
  }
  for (std::size_t i = 0; argo && i < argo->updates().size(); ++i) {
    const auto& u = argo->updates()[i];
    RunResult::Rollout r{u.rollout, u.replica_set, u.outcome, {}};
    r.kind = "Rollout";
    r.message = u.message;
    r.analysis_runs = u.analysis_runs;
    r.metrics["steps"] = u.steps;
    r.metrics["scalings"] = u.scalings;
    r.metrics["settled_s"] = u.settled ? sim::ToSeconds(*u.settled) : kNaN;
    add_rollout(std::move(r), u.started, u.ended,
                i < update_counts.size() ? &update_counts[i] : nullptr);
  }
  for (std::size_t i = 0; knative_routing && i < knative_routing->releases().size(); ++i) {
    const auto& release = knative_routing->releases()[i];
    RunResult::Rollout r{release.service, release.revision, release.outcome, {}};
    r.kind = KnativeServiceSpec::kKind;
    r.metrics["steps"] = release.steps;
    add_rollout(std::move(r), release.started, release.ended,
                i < release_counts.size() ? &release_counts[i] : nullptr);
  }
  if (analysis_runs) {
    for (const AnalysisRunner::Summary& a : analysis_runs->Summaries()) {
      result.analysis_runs.push_back({a.name,
                                      AnalysisPhaseName(a.phase),
                                      a.message,
                                      a.last_value,
                                      {{"started_s", sim::ToSeconds(a.started)},
                                       {"ended_s", a.ended < 0 ? kNaN : sim::ToSeconds(a.ended)},
                                       {"measurements", static_cast<double>(a.measurements)}}});
    }
  }
  for (const auto& [key, r] : data_plane.Revisions()) {
    result.revisions[key] = {r.deployment,
                             {{"pods", r.pods},
                              {"completed", r.completed},
                              {"failed", r.failed},
                              {"latency_p50_s", r.latency_p50_s},
                              {"latency_p99_s", r.latency_p99_s}}};
  }
  data_plane.FoldIntervals();  // the run's latencies, whole
  for (std::size_t i = 0; i < data_plane.route_count(); ++i) {
    const ServiceMetrics& m = data_plane.metrics(i);
    const RequestCounts& c = m.measured;
    result.requests += m.all.arrived;
    ServiceResult r;
    r.service = data_plane.service_key(i);
    auto& x = r.metrics;
    x["arrival_rps"] = c.arrived / window_s;
    // Throughput is what completed inside the window; the counts below are
    // of the requests that arrived inside it, and add up:
    // arrived = completed + failed + timed_out + dropped + in_flight_at_end.
    x["throughput_rps"] = m.completed_in_window / window_s;
    x["arrived"] = static_cast<double>(c.arrived);
    x["completed"] = static_cast<double>(c.completed);
    x["failed"] = static_cast<double>(c.failed);
    x["timed_out"] = static_cast<double>(c.timed_out);
    x["dropped"] = static_cast<double>(c.dropped());
    x["dropped_no_endpoint"] = static_cast<double>(c.dropped_no_endpoint);
    x["dropped_queue_full"] = static_cast<double>(c.dropped_queue_full);
    x["dropped_not_loaded"] = static_cast<double>(c.dropped_not_loaded);
    x["dropped_terminated"] = static_cast<double>(c.dropped_terminated);
    x["in_flight_at_end"] = static_cast<double>(c.in_flight());
    x["latency_mean_s"] = c.completed ? m.latency_stats_s.mean() : kNaN;
    x["latency_p50_s"] = m.latency_s.Quantile(0.5);
    x["latency_p90_s"] = m.latency_s.Quantile(0.9);
    x["latency_p99_s"] = m.latency_s.Quantile(0.99);
    x["latency_p999_s"] = m.latency_s.Quantile(0.999);
    const double finished = static_cast<double>(c.completed + c.failed + c.timed_out + c.dropped());
    x["slo_attainment"] =
        data_plane.slo_latency(i) > 0 ? Ratio(static_cast<double>(m.slo_met), finished) : kNaN;
    x["in_system_mean"] = m.in_system.Mean(engine.Now());
    x["ready_replicas_mean"] = m.ready_replicas.Mean(engine.Now());
    x["ready_replicas_final"] = data_plane.ReadyEndpoints(i);
    const PodMetrics pods = data_plane.Totals(i);
    x["gpu_utilization"] = Ratio(pods.gpu_busy_s, pods.gpu_held_s);
    x["gpu_hours_held"] = pods.gpu_held_s / 3600.0;
    // The platform's cost shared by GPU-hours held: the shares of all
    // Services add up to the whole when every GPU-holding pod serves one.
    const double cost = platform.cost_usd * Ratio(pods.gpu_held_s, held_s);
    x["cost_usd"] = cost;
    x["cost_per_million_requests_usd"] =
        Ratio(cost * 1e6, static_cast<double>(m.completed_in_window));
    x["batch_occupancy"] = Occupancy(pods, pods.batches, pods.batched_requests);
    x["cpu_cores_mean"] = pods.cpu_s / window_s;
    if (const LlmStats* llm = data_plane.llm_stats();
        llm != nullptr && (llm->metrics(i).ttft_s.count() > 0 || llm->metrics(i).refused > 0)) {
      // Token by token (llm_stats.h), of the requests measured.
      const LlmMetrics& l = llm->metrics(i);
      for (const auto& [name, sketch, sum] :
           {std::tuple{"ttft", &l.ttft_s, l.ttft_sum_s}, std::tuple{"itl", &l.itl_s, l.itl_sum_s},
            std::tuple{"tpot", &l.tpot_s, l.tpot_sum_s}}) {
        x[std::string(name) + "_mean_s"] = Ratio(sum, static_cast<double>(sketch->count()));
        for (const auto& [suffix, q] : {std::pair{"p50", 0.5}, std::pair{"p90", 0.9},
                                        std::pair{"p99", 0.99}, std::pair{"p999", 0.999}}) {
          x[std::string(name) + "_" + suffix + "_s"] = sketch->Quantile(q);
        }
      }
      x["output_tokens_per_s"] = static_cast<double>(l.output_tokens) / window_s;
      x["prompt_tokens_per_s"] = static_cast<double>(l.prompt_tokens) / window_s;
      x["output_tokens_mean"] = Ratio(static_cast<double>(l.output_tokens), l.completed);
      if (llm->has_objectives(i)) {
        // DistServe's goodput: requests meeting both objectives, per second
        // and as a share of those that ended.
        x["goodput_rps"] = static_cast<double>(l.good) / window_s;
        x["goodput_fraction"] = Ratio(static_cast<double>(l.good), finished);
      }
      x["preemptions"] = static_cast<double>(l.preemptions);
      x["refused_too_long"] = static_cast<double>(l.refused);
      x["kv_cache_usage_final"] = Ratio(pods.kv_usage, 1.0 * data_plane.Pods(i));
      // vllm:prefix_cache_hits over vllm:prefix_cache_queries, of the
      // Service's pods since they started.
      x["prefix_cache_hit_rate"] =
          Ratio(static_cast<double>(pods.prefix_hit_tokens), pods.prefix_query_tokens);
    }
    if (const ConnectionPool* pool = data_plane.connections(i)) {
      // Over the whole run: connections are not reset at the warm-up.
      const ConnectionPool::Stats& st = pool->stats();
      x["connection_clients"] = pool->clients();
      x["reconnects"] = static_cast<double>(st.reconnects);
      x["reconnects_per_client_mean"] = Ratio(st.reconnects, pool->clients());
      x["reconnects_per_client_max"] = st.max_reconnects;
      x["connection_attempts_failed"] = static_cast<double>(st.failed_attempts);
      x["requests_waited_for_connection"] = static_cast<double>(st.delayed);
      x["requests_failed_for_connection"] = static_cast<double>(st.failed_requests);
      x["connection_imbalance_final"] = pool->Imbalance();
    }
    result.services.push_back(std::move(r));
  }
  return result;
}

void Simulation::ApplyRolloutAction(ApiServer& api, sim::Time now, const TimelineAction& action) {
  const ArgoRollout* r = api.Get<ArgoRollout>(action.rollout);
  auto emit = [&](const std::string& reason, const std::string& message) {
    events_.Emit({now, reason, "Rollout", action.rollout, message, {{"source", "timeline"}}});
  };
  if (r == nullptr) {
    emit("TimelineFailed", "the Rollout does not exist");
    return;
  }
  const std::string name = "rollout.argoproj.io/" + r->meta.name;
  switch (action.kind) {
    case TimelineAction::Kind::kApply: {
      // kubectl apply: the spec's fields given replace the Rollout's.
      const ArgoRollout& m = *action.rollout_manifest;
      api.Patch<ArgoRollout>(action.rollout, [m, &given = action.spec_fields](ArgoRollout& x) {
        auto has = [&](const char* field) { return given.count(field) > 0; };
        if (has("replicas")) x.replicas = m.replicas;
        if (has("template")) x.pod_template = m.pod_template;
        if (has("minReadySeconds")) x.min_ready = m.min_ready;
        if (has("paused")) x.paused = m.paused;
        if (has("strategy")) {
          ArgoRollout kept = x;
          x = m;
          x.meta = kept.meta;
          x.status = kept.status;
          x.replicas = has("replicas") ? m.replicas : kept.replicas;
          x.pod_template = has("template") ? m.pod_template : kept.pod_template;
        }
        ++x.meta.generation;
      });
      emit("Applied", name + " configured");
      return;
    }
    case TimelineAction::Kind::kPromote:
      // kubectl argo rollouts promote (cmd/promote/promote.go): --full goes
      // to the end; else a pause is cleared, or with none the step skipped.
      api.Patch<ArgoRollout>(action.rollout, [full = action.full](ArgoRollout& x) {
        x.paused = false;
        if (full) {
          x.status.promote_full = true;
        } else if (!x.status.pauses.empty()) {
          // Paused on an inconclusive step analysis: that step is done.
          const bool on_step = std::any_of(
              x.status.pauses.begin(), x.status.pauses.end(),
              [](const PauseCondition& p) { return p.reason == "InconclusiveAnalysisRun"; });
          const int i = x.status.step_index;
          if (on_step && !x.blue_green && i < static_cast<int>(x.steps.size()) &&
              x.steps[static_cast<std::size_t>(i)].kind == CanaryStep::Kind::kAnalysis) {
            ++x.status.step_index;
            x.status.controller_pause = false;
          }
          x.status.pauses.clear();
        } else if (!x.blue_green && x.status.step_index < static_cast<int>(x.steps.size())) {
          ++x.status.step_index;
        }
      });
      emit("Promoted", name + " promoted" + (action.full ? " (full)" : ""));
      return;
    case TimelineAction::Kind::kAbort:
      api.Patch<ArgoRollout>(action.rollout, [](ArgoRollout& x) {
        x.status.abort = true;
        x.status.pauses.clear();
        x.status.controller_pause = false;
      });
      emit("Aborted", name + " aborted");
      return;
    default:
      return;
  }
}

void Simulation::ApplyTimelineAction(ApiServer& api, sim::Time now, const TimelineAction& action) {
  const Deployment* d = api.Get<Deployment>(action.deployment);
  auto emit = [&](const std::string& reason, const std::string& message) {
    events_.Emit({now, reason, "Deployment", action.deployment, message, {{"source", "timeline"}}});
  };
  if (d == nullptr) {
    emit("TimelineFailed", "the Deployment does not exist");
    return;
  }
  switch (action.kind) {
    case TimelineAction::Kind::kApply: {
      // kubectl apply: the fields the manifest's spec gives replace the
      // Deployment's; those it leaves out stay as they are.
      const Deployment& m = *action.manifest;
      api.Patch<Deployment>(action.deployment, [m, &given = action.spec_fields](Deployment& x) {
        auto has = [&](const char* field) { return given.count(field) > 0; };
        if (has("replicas")) x.replicas = m.replicas;
        if (has("template")) x.pod_template = m.pod_template;
        if (has("minReadySeconds")) x.min_ready = m.min_ready;
        if (has("strategy")) {
          x.recreate = m.recreate;
          x.max_surge = m.max_surge;
          x.max_unavailable = m.max_unavailable;
        }
        if (has("revisionHistoryLimit")) x.revision_history_limit = m.revision_history_limit;
        if (has("progressDeadlineSeconds")) x.progress_deadline = m.progress_deadline;
        if (has("paused")) x.paused = m.paused;
        ++x.meta.generation;
      });
      emit("Applied", "deployment.apps/" + d->meta.name + " configured");
      return;
    }
    case TimelineAction::Kind::kScale:
      api.Patch<Deployment>(action.deployment, [n = action.replicas](Deployment& x) {
        x.replicas = n;
        ++x.meta.generation;
      });
      emit("Scaled",
           "deployment.apps/" + d->meta.name + " scaled to " + std::to_string(action.replicas));
      return;
    case TimelineAction::Kind::kUndo:
      break;
    case TimelineAction::Kind::kFailNode:  // carried out by Run (kubelets and node lifecycle)
    case TimelineAction::Kind::kRecoverNode:
    case TimelineAction::Kind::kFailGpus:
    case TimelineAction::Kind::kPromote:  // Rollouts' (ApplyRolloutAction)
    case TimelineAction::Kind::kAbort:
    case TimelineAction::Kind::kTraffic:  // in the arrivals already
      return;
  }
  // kubectl rollout undo (kubectl polymorphichelpers/rollback.go
  // DeploymentRollbacker): the ReplicaSet of `toRevision`, or of the
  // revision before the latest; its template, without pod-template-hash,
  // becomes the Deployment's.
  if (d->paused) {
    emit("RollbackFailed", "you cannot rollback a paused deployment; resume it first");
    return;
  }
  std::vector<const ReplicaSet*> owned;
  std::int64_t latest = 0;
  for (const auto& [key, rs] : api.List<ReplicaSet>()) {
    if (rs.meta.owner_uid != d->meta.uid) continue;
    owned.push_back(&rs);
    latest = std::max(latest, rs.revision);
  }
  const ReplicaSet* target = nullptr;
  for (const ReplicaSet* rs : owned) {
    if (action.to_revision > 0
            ? rs->revision == action.to_revision
            : rs->revision < latest && (target == nullptr || rs->revision > target->revision)) {
      target = rs;
    }
  }
  if (target == nullptr) {
    emit("RollbackFailed", action.to_revision > 0
                               ? "unable to find specified revision " +
                                     std::to_string(action.to_revision) + " in history"
                               : "no rollout history found");
    return;
  }
  PodTemplate t = target->pod_template;
  t.labels.erase("pod-template-hash");
  if (TemplateHash(t) == TemplateHash(d->pod_template)) {
    emit("RollbackSkipped", "skipped rollback (current template already matches revision " +
                                std::to_string(target->revision) + ")");
    return;
  }
  api.Patch<Deployment>(action.deployment, [t](Deployment& x) {
    x.pod_template = t;
    ++x.meta.generation;
  });
  emit("RolledBack", "deployment.apps/" + d->meta.name + " rolled back to revision " +
                         std::to_string(target->revision));
}

std::string WhyNotOnRanks(const Scenario& sc) {
  // What reads the Services' pods in ways ranks do not carry yet: the
  // revisions' latencies a release or a rollout compares (and its
  // analysis's Prometheus), Knative's activator and queue-proxies, LLM
  // servers' token statistics.
  if (!sc.rollouts.empty()) return "Argo Rollouts";
  if (!sc.timeline.empty()) return "spec.timeline";
  if (!sc.knative_services.empty()) return "Knative Services";
  for (const InferenceServiceSpec& isvc : sc.inference_services) {
    if (isvc.knative) return "InferenceService " + isvc.key + " in Serverless mode";
  }
  for (const ModelServerSpec& m : sc.model_servers) {
    if (m.config.llm) return "the LLM model server of " + m.deployment;
  }
  return "";
}

}  // namespace platsim::platform
