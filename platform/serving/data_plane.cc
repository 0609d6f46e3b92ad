#include "platform/serving/data_plane.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace platsim::platform {
namespace {

std::vector<sim::Time> SloLatencies(const std::vector<RouteConfig>& routes) {
  std::vector<sim::Time> slo;
  for (const auto& r : routes)
    slo.push_back(r.slo_latency);
  return slo;
}

}  // namespace

DataPlane::DataPlane(sim::Engine& engine, ApiServer& api, std::vector<RouteConfig> routes,
                     std::map<std::string, ModelServerConfig> model_servers, ProxyConfig proxy,
                     sim::Time warmup)
    : engine_(engine),
      api_(api),
      warmup_(warmup),
      configs_(std::move(model_servers)),
      stats_(SloLatencies(routes), warmup),
      pod_stats_(warmup),
      kube_proxy_(engine, api, proxy,
                  [this](const std::string& pod_key) -> Hop* { return HopOf(pod_key); }) {
  table_.AddObserver(&stats_);
  table_.AddObserver(&pod_stats_);
  any_crash_ = std::any_of(configs_.begin(), configs_.end(),
                           [](const auto& c) { return c.second.crash_after > 0; });
  if (std::any_of(configs_.begin(), configs_.end(),
                  [](const auto& c) { return c.second.queue_proxy; })) {
    table_.AddObserver(&queue_proxies_);
  }
  revision_loads_.table = &table_;
  const bool any_llm = std::any_of(configs_.begin(), configs_.end(),
                                   [](const auto& c) { return c.second.llm != nullptr; });
  const bool any_tokens = std::any_of(routes.begin(), routes.end(), [](const RouteConfig& r) {
    return r.prompt_tokens || r.output_tokens;
  });
  if (any_llm || any_tokens) table_.EnableTokens();
  if (any_llm) {
    std::vector<LlmObjectives> objectives;
    for (const RouteConfig& r : routes)
      objectives.push_back(r.llm_objectives);
    llm_stats_ = std::make_unique<LlmStats>(std::move(objectives));
  }
  // The Services whose requests pass through more than their proxy (an
  // activator, a split, connections) stay in the global partition, and
  // with them those of their partition group; each other group gets a
  // partition of its own.
  std::map<std::string, std::string> group_of;  // by Service key
  for (const RouteConfig& r : routes)
    group_of[r.service_key] = r.partition_group.empty() ? r.service_key : r.partition_group;
  auto group = [&](const std::string& service) {
    const auto it = group_of.find(service);
    return it == group_of.end() ? service : it->second;
  };
  std::set<std::string> global_groups;
  for (const RouteConfig& r : routes) {
    if (!r.knative && r.canary_service.empty() && r.connections.clients == 0) continue;
    global_groups.insert(group(r.service_key));
    global_groups.insert(group(r.canary_service));
    if (r.knative) {
      for (const auto& rev : r.knative->revisions)
        global_groups.insert(group(rev.backend));
    }
  }
  auto proxy_of = [&](const std::string& service, Balancer balancer) {
    auto& slot = proxies_[service];
    if (!slot) {
      const std::string g = group(service);
      sim::Partition p = 0;
      if (!global_groups.count(g)) {
        auto [it, added] = group_partitions_.try_emplace(g, 0);
        if (added) it->second = engine_.AddPartition();
        p = it->second;
      }
      sim::Engine::PartitionScope scope(engine_, p);
      slot = std::make_unique<ServiceProxy>(engine_, table_, service, balancer);
      slot->partition = p;
      kube_proxy_.AddProxy(*slot);
      slot->OnEndpointsChanged(
          [this, proxy = slot.get()](std::size_t) { CheckPartitions(*proxy); });
    }
    return slot.get();
  };
  for (std::uint32_t i = 0; i < routes.size(); ++i) {
    RouteConfig& config = routes[i];
    const std::string& backend =
        config.knative ? config.knative->revisions.front().backend : config.service_key;
    ServiceProxy* service_proxy = proxy_of(backend, config.balancer);
    std::vector<ServiceProxy*> route_proxies = {service_proxy};
    Hop* first_hop = service_proxy;
    if (!config.canary_service.empty()) {
      ServiceProxy* canary = proxy_of(config.canary_service, config.balancer);
      auto& split = splits_[backend];
      if (!split) {
        split = std::make_unique<WeightedSplit>(
            engine_, table_, backend,
            std::vector<WeightedSplit::Backend>{{service_proxy, 100}, {canary, 0}});
      }
      first_hop = split.get();
    }
    sim::Time timeout = config.timeout;
    if (config.knative) {
      // The revision's timeoutSeconds bounds a request wherever it is: the
      // activator's timeout handler while it proxies, the queue-proxy's in
      // the pod (pkg/queue/sharedmain/handlers.go). Either answers 504,
      // which the client sees as a timeout at that deadline.
      const sim::Time revision = config.knative->timeout;
      if (revision > 0) timeout = timeout == 0 ? revision : std::min(timeout, revision);
      const auto& revisions = config.knative->revisions;
      std::vector<WeightedSplit::Backend> split;
      route_proxies.clear();
      for (const RouteConfig::Knative::Revision& rev : revisions) {
        ServiceProxy* pods = proxy_of(rev.backend, config.balancer);
        route_proxies.push_back(pods);
        KnativePath& path = knative_[rev.key];
        if (!path.ingress) {
          path.activator =
              std::make_unique<Activator>(engine_, table_, *pods, rev.container_concurrency,
                                          config.knative->timeout, [this, key = rev.key] {
                                            if (activator_report_) activator_report_(key);
                                          });
          path.ingress = std::make_unique<KnativeIngress>(*path.activator, *pods);
          if (revisions.size() > 1) {
            path.entry = std::make_unique<RevisionEntry>(revision_loads_, revision_loads_.Add(),
                                                         *path.ingress, engine_);
          }
        }
        path.routes.push_back(i);
        Hop* entry = path.entry ? static_cast<Hop*>(path.entry.get()) : path.ingress.get();
        split.push_back({entry, split.empty() ? 100u : 0u});
      }
      first_hop = split.front().hop;
      if (split.size() > 1) {
        auto& s = revision_splits_[config.service_key];
        if (!s) {
          s = std::make_unique<WeightedSplit>(engine_, table_, config.service_key,
                                              std::move(split));
          if (!any_revision_split_) table_.AddObserver(&revision_loads_);
          any_revision_split_ = true;
        }
        first_hop = s.get();
      }
    }
    if (config.connections.clients > 0) {
      pools_.push_back(std::make_unique<ConnectionPool>(
          engine_, table_, config.stream.empty() ? config.service_key : config.stream,
          config.connections, *service_proxy, [this](Hop* endpoint) {
            const auto it = pod_of_hop_.find(endpoint);
            return it != pod_of_hop_.end() &&
                   servers_[it->second]->state() == ModelServer::State::kServing;
          }));
      first_hop = pools_.back().get();
      any_pool_ = true;
    } else {
      pools_.push_back(nullptr);
    }
    routes_.push_back(Route{config.service_key, config.slo_latency, {}, {}, route_proxies});
    if (config.knative) {
      // Every revision's pods.
      routes_[i].selector = config.knative->pods;
      routes_by_label_.Set(std::to_string(i), LabelIndexValues(config.service_key.substr(
                                                                   0, config.service_key.find('/')),
                                                               routes_[i].selector));
    } else {
      routes_of_service_[backend].push_back(i);
    }
    // A plain route's client is in its Service's partition.
    route_partitions_.push_back(first_hop == service_proxy ? service_proxy->partition : 0);
    table_.SetClientPartition(static_cast<std::uint32_t>(i), route_partitions_.back());
    route_load_.push_back(config.arrivals ? config.arrivals->ExpectedCount(0, sim::kHour) : 0.0);
    sim::Engine::PartitionScope scope(engine_, route_partitions_.back());
    clients_.push_back(std::make_unique<Client>(
        engine_, table_, i, std::move(config.arrivals),
        engine_.Stream("traffic/" + (config.stream.empty() ? config.service_key : config.stream)),
        timeout, warmup_, *first_hop));
    if (table_.has_tokens()) {
      const std::string stream = config.stream.empty() ? config.service_key : config.stream;
      TokenSource tokens{config.prompt_tokens, config.output_tokens,
                         engine_.Stream("tokens/" + stream)};
      // The groups' prefixes, named apart from any other client's.
      sim::RandomStream ids = engine_.Stream("prefixes/" + stream);
      for (int g = 0; g < config.prefix_groups; ++g)
        tokens.prefix_ids.push_back(ids.NextU64());
      tokens.shared_prefix_tokens = config.shared_prefix_tokens;
      tokens.priority = config.priority;
      clients_.back()->SetTokens(std::move(tokens));
    }
  }
  // Observers of endpoint changes (not a canary Service's).
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    for (ServiceProxy* proxy : routes_[i].proxies) {
      proxy->OnEndpointsChanged([this, i](std::size_t) {
        stats_.SetReadyEndpoints(i, engine_.Now(), ReadyEndpoints(static_cast<std::size_t>(i)));
        ++stats_generation_;
      });
    }
  }
  api_.Watch<Pod>([this](WatchType type, const Pod& pod) { OnPod(type, pod); });
  api_.Watch<Service>([this](WatchType type, const Service& s) { OnService(type, s); });
}

void DataPlane::Start() {
  for (auto& client : clients_)
    client->Start();
  if (warmup_ > 0) {
    engine_.ScheduleCallbackAt(warmup_, [this] {
      stats_.StartWindow(warmup_);
      ++stats_generation_;
    });
  }
}

ModelServer* DataPlane::ServerOf(const std::string& pod_key) const {
  const auto it = server_of_pod_.find(pod_key);
  return it == server_of_pod_.end() ? nullptr : servers_[it->second].get();
}

Hop* DataPlane::HopOf(const std::string& pod_key) const {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) return nullptr;
  if (QueueProxy* proxy = queue_proxies_.Of(it->second)) return proxy;
  return servers_[it->second].get();
}

PodMetrics DataPlane::ServerMetrics(std::uint32_t pod) const {
  PodMetrics m = servers_[pod]->Metrics();
  if (const QueueProxy* proxy = queue_proxies_.Of(pod)) m.queued += proxy->waiting();
  return m;
}

void DataPlane::Admit(const Pod& pod) {
  // The config of the pod's version (its model, its image), else its
  // Deployment's.
  auto cfg = configs_.end();
  if (!pod.spec.model_uri.empty())
    cfg = configs_.find(pod.template_owner + "@" + pod.spec.model_uri);
  if (cfg == configs_.end()) cfg = configs_.find(pod.template_owner + "@" + pod.spec.image);
  if (cfg == configs_.end()) cfg = configs_.find(pod.template_owner);
  auto& rng = service_rngs_[pod.template_owner];
  if (!rng) {
    rng = std::make_unique<sim::RandomStream>(engine_.Stream("service-time/" + pod.template_owner));
  }
  const auto index = static_cast<std::uint32_t>(servers_.size());
  const ModelServerConfig& config = cfg == configs_.end() ? refusing_ : cfg->second;
  // The speed of the hardware the pod landed on.
  std::string product;
  if (const Node* node = api_.Get<Node>(pod.node_name)) {
    const auto label = node->meta.labels.find(kGpuProductLabel);
    if (label != node->meta.labels.end()) product = label->second;
  }
  // Errors draw from a stream of their own, so that a bad release leaves
  // the service times (and every other stream) as they were.
  sim::RandomStream* errors = nullptr;
  if (config.error_rate > 0) {
    auto& stream = error_rngs_[pod.template_owner];
    if (!stream) {
      stream = std::make_unique<sim::RandomStream>(engine_.Stream("errors/" + pod.template_owner));
    }
    errors = stream.get();
  }
  // The routes whose Service selects the pod: only those whose selector
  // shares one of its labels can.
  std::set<std::size_t> candidates;
  for (const std::string& v : LabelIndexValues(pod.meta.namespace_name, pod.meta.labels)) {
    for (const std::string& route : routes_by_label_.Get(v))
      candidates.insert(std::stoul(route));
  }
  std::erase_if(candidates, [&](std::size_t r) {
    return !SelectorMatches(routes_[r].selector, pod.meta.labels);
  });
  const sim::Partition partition = PartitionOf(pod, candidates, config);
  {
    sim::Engine::PartitionScope scope(engine_, partition);
    servers_.push_back(std::make_unique<ModelServer>(engine_, table_, config,
                                                     config.ServiceTimeOn(product), *rng, index,
                                                     pod.spec.requests.gpus, warmup_, errors));
    servers_.back()->partition = partition;
    // Its counters exist before its partition's threads count into them.
    pod_stats_.AddPod(index);
    if (config.llm) {
      // On a GPU the server has no entry for, it refuses requests (not loaded).
      if (const LlmOnGpu* gpu = config.llm->On(product)) {
        servers_.back()->ServeLlm(*gpu, *llm_stats_, scrapes_);
      }
    }
  }
  if (batch_trace_ != nullptr) servers_.back()->TraceBatches(batch_trace_, pod.meta.Key());
  if (config.queue_proxy) {
    queue_proxy_storage_.push_back(std::make_unique<QueueProxy>(engine_, table_, *servers_.back(),
                                                                config.container_concurrency));
    queue_proxies_.Set(index, queue_proxy_storage_.back().get());
  }
  server_of_pod_[pod.meta.Key()] = index;
  if (any_pool_) pod_of_hop_[HopOf(pod.meta.Key())] = index;
  pod_nodes_.push_back(pod.node_name);
  if (scrapes_) {
    Labels labels = pod.meta.labels;
    labels["namespace"] = pod.meta.namespace_name;
    labels["pod"] = pod.meta.name;
    pod_labels_.push_back(std::move(labels));
  }
  pod_owners_.emplace_back(pod.meta.owner_kind == "ReplicaSet"
                               ? pod.meta.namespace_name + "/" + pod.meta.owner_name
                               : std::string(),
                           pod.template_owner);
  if (revision_latency_ && !pod_owners_.back().first.empty()) {
    const auto [it, added] = revision_index_.try_emplace(
        pod_owners_.back().first, static_cast<std::uint32_t>(revision_index_.size()));
    revision_latency_->SetRevision(index, it->second);
  }
  for (const std::size_t r : candidates)
    routes_[r].servers.push_back(index);
}

sim::Partition DataPlane::PartitionOf(const Pod& pod, const std::set<std::size_t>& routes,
                                      const ModelServerConfig& config) {
  // The Deployment's, once found: its servers share its random streams.
  auto [owner, first] = owner_partitions_.try_emplace(pod.template_owner, 0);
  if (first && !routes.empty()) {
    // The partition of the routes that select its first pod, if they share one.
    owner->second = route_partitions_[*routes.begin()];
    for (const std::size_t r : routes) {
      if (route_partitions_[r] != owner->second) owner->second = 0;
    }
  }
  // A queue-proxy's pod is global (the queue-proxy is); so is then every
  // server of its Deployment, pinned.
  if (config.queue_proxy && owner->second != 0) {
    PinForGood(owner->second);
    return 0;
  }
  return owner->second;
}

void DataPlane::PinForGood(sim::Partition p) {
  if (p != 0 && pinned_for_good_.insert(p).second) engine_.Pin(p);
}

void DataPlane::CheckPartitions(const ServiceProxy& proxy) {
  for (const Hop* hop : proxy.endpoints()) {
    if (hop->partition == proxy.partition) continue;
    // The proxy calls into another partition: both run in the global order.
    PinForGood(proxy.partition);
    PinForGood(hop->partition);
  }
}

void DataPlane::StartContainers(const Pod& pod) {
  if (ModelServer* s = ServerOf(pod.meta.Key())) s->StartContainers();
}

bool DataPlane::ProbeReady(const std::string& pod_key) {
  const ModelServer* s = ServerOf(pod_key);
  return s != nullptr && FromOwner<bool>(s->partition, [&] { return s->serving(); });
}

void DataPlane::CloseConnections(const std::string& pod_key) {
  if (pod_of_hop_.empty()) return;
  Hop* hop = HopOf(pod_key);
  if (hop == nullptr) return;
  for (auto& pool : pools_) {
    if (pool) pool->Closed(hop);
  }
}

void DataPlane::Stop(const std::string& pod_key, sim::Time grace, std::function<void()> stopped) {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) {
    stopped();
    return;
  }
  // The server closes its connections as it stops (gRPC's GOAWAY, a
  // WebSocket close frame); what they carried drains as below.
  CloseConnections(pod_key);
  ModelServer* s = servers_[it->second].get();
  if (ranks_ != nullptr && s->partition != 0) {
    StopOnRanks(it->second, s->partition, grace, std::move(stopped));
    return;
  }
  if (const sim::Partition p = s->partition; p != 0) {
    // A draining server tells the kubelet when it has stopped, from one of
    // its events: those run in the global order until then (or until it
    // dies; a second Stop replaces the first's callback).
    if (draining_.insert(it->second).second) engine_.Pin(p);
    stopped = [this, p, pod = it->second, stopped = std::move(stopped)] {
      if (draining_.erase(pod)) engine_.Unpin(p);
      stopped();
    };
  }
  QueueProxy* proxy = queue_proxies_.Of(it->second);
  if (proxy != nullptr && s->state() != ModelServer::State::kStarting) {
    // The queue-proxy drains first (queue_proxy.h); a pod whose containers
    // have not started has no queue-proxy running to drain.
    proxy->Stop(grace, [s, stopped = std::move(stopped)](sim::Time grace_left) mutable {
      s->Stop(grace_left, std::move(stopped));
    });
    return;
  }
  s->Stop(grace, std::move(stopped));
}

void DataPlane::Kill(const std::string& pod_key) {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) return;
  // Nothing drains: what waits in the queue-proxy and what the server holds
  // end now (terminated), and anything sent to the pod later is refused.
  if (QueueProxy* proxy = queue_proxies_.Of(it->second)) proxy->Stop(0, [](sim::Time) {});
  CloseConnections(pod_key);
  servers_[it->second]->Die();
  if (draining_.erase(it->second)) engine_.Unpin(servers_[it->second]->partition);
  pending_stops_.erase(it->second);  // a dead server tells no one it stopped
}

void DataPlane::StopOnRanks(std::uint32_t pod, sim::Partition p, sim::Time grace,
                            std::function<void()> stopped) {
  // Pods in partitions have no queue-proxy (PartitionOf).
  if (api_.request_latency() <= 0) {
    ranks_->Abort(
        "platsim: a server drains, and a run on ranks needs an API request latency above 0 "
        "(spec.apiServer.requestLatency): it is how far the ranks may run apart",
        2);
  }
  const std::uint64_t stop = stops_++;
  const bool here = rank_of_[p] == ranks_->rank();
  in_stop_ = true;
  stopped_in_stop_ = false;
  servers_[pod]->Stop(grace, [this, here, stop, pod] {
    if (!here) return;  // this rank's copy of the server holds no requests
    if (in_stop_) {
      stopped_in_stop_ = true;  // nothing to drain: at once, as on one rank
      return;
    }
    const std::lock_guard<std::mutex> lock(outbox_mutex_);
    outbox_.push_back({engine_.Now(), stop, pod});
  });
  in_stop_ = false;
  if (FromOwner<bool>(p, [&] { return stopped_in_stop_; })) {
    pending_stops_.erase(pod);
    stopped();
    return;
  }
  pending_stops_[pod] = {stop, std::move(stopped)};
}

bool DataPlane::ExchangeStops() {
  std::vector<Told> all;
  for (int r = 0; r < ranks_->size(); ++r) {
    std::vector<std::byte> bytes;
    if (r == ranks_->rank()) {
      sim::ByteWriter out(bytes);
      out.PutVector(outbox_);
      outbox_.clear();
    }
    ranks_->BroadcastBytes(bytes, r);
    std::vector<Told> told;
    sim::ByteReader in(bytes);
    in.GetVector(told);
    all.insert(all.end(), told.begin(), told.end());
  }
  std::sort(all.begin(), all.end(), [](const Told& a, const Told& b) {
    return a.at != b.at ? a.at < b.at : a.stop < b.stop;
  });
  stops_told_ += all.size();
  for (const Told& t : all) {
    engine_.ScheduleCallbackAt(t.at, [this, t] {
      const auto it = pending_stops_.find(t.pod);
      if (it == pending_stops_.end() || it->second.first != t.stop) return;
      std::function<void()> stopped = std::move(it->second.second);
      pending_stops_.erase(it);
      stopped();
    });
  }
  return !all.empty();
}

// A container on a failed GPU exits about as soon as it starts (CUDA
// initialization fails).
constexpr sim::Time kBrokenDeviceCrash = sim::kSecond;

void DataPlane::Revive(const std::string& pod_key) {
  if (ModelServer* s = ServerOf(pod_key)) s->Revive();
}

void DataPlane::BreakDevice(const std::string& pod_key) {
  broken_.insert(pod_key);
  any_crash_ = true;
}

sim::Time DataPlane::CrashAfter(const std::string& pod_key) const {
  if (!any_crash_) return 0;  // no lookup on every start
  if (broken_.count(pod_key)) return kBrokenDeviceCrash;
  const ModelServer* s = ServerOf(pod_key);
  return s == nullptr ? 0 : s->config().crash_after;
}

void DataPlane::Crash(const std::string& pod_key) {
  CloseConnections(pod_key);
  if (ModelServer* s = ServerOf(pod_key)) s->Crash();
}

void DataPlane::OnPod(WatchType type, const Pod& pod) {
  if (type != WatchType::kDeleted) return;
  const auto it = server_of_pod_.find(pod.meta.Key());
  if (it == server_of_pod_.end()) return;
  servers_[it->second]->Release();
  server_of_pod_.erase(it);
}

void DataPlane::OnService(WatchType type, const Service& service) {
  const auto routes = routes_of_service_.find(service.meta.Key());
  if (routes == routes_of_service_.end()) return;
  // A route's pods are its Service's, every version's: the pod template
  // hash an Argo Rollout adds to the selector (to move traffic between
  // versions) does not move the pods' metrics and GPU-hours between routes.
  Labels selector = type == WatchType::kDeleted ? Labels{} : service.selector;
  selector.erase(kRolloutsHashLabel);
  for (const std::size_t r : routes->second) {
    routes_[r].selector = selector;
    routes_by_label_.Set(std::to_string(r),
                         LabelIndexValues(service.meta.namespace_name, routes_[r].selector));
  }
}

void DataPlane::RefuseOnRanks(const char* what) const {
  if (ranks_ != nullptr)
    ranks_->Abort(std::string("platsim: ") + what + " do not run on ranks yet", 2);
}

void DataPlane::EnableRevisionLatency() {
  RefuseOnRanks("revisions' latencies (releases, Argo Rollouts)");
  revision_latency_ = std::make_unique<RevisionLatency>();
  table_.AddObserver(revision_latency_.get());
}

void DataPlane::EnableScrapes() {
  RefuseOnRanks("Prometheus scrapes of the pods");
  scrapes_ = true;
  pod_stats_.EnableHistograms();
}

std::optional<DataPlane::PodScrape> DataPlane::Scrape(std::uint32_t pod) const {
  if (!scrapes_ || pod >= servers_.size() ||
      servers_[pod]->state() == ModelServer::State::kStopped) {
    return std::nullopt;
  }
  PodScrape s{&pod_labels_[pod], static_cast<double>(pod_stats_.completed_all(pod)),
              static_cast<double>(pod_stats_.failed_all(pod)), pod_stats_.histogram(pod), nullptr};
  if (const LlmPodMetrics* m = servers_[pod]->VllmMetrics()) {
    auto snapshot = std::make_shared<LlmPodMetrics>(*m);
    LlmGauges g;
    servers_[pod]->Gauges(g);
    snapshot->waiting = g.waiting;
    snapshot->running = g.running;
    snapshot->kv_usage = g.kv_usage;
    s.vllm = std::move(snapshot);
  }
  return s;
}

void DataPlane::SetCanaryWeight(const std::string& stable_service, int weight) {
  if (const auto it = splits_.find(stable_service); it != splits_.end()) {
    it->second->SetWeights(
        {static_cast<std::uint32_t>(100 - weight), static_cast<std::uint32_t>(weight)});
  }
}

void DataPlane::SetRevisionWeights(const std::string& ksvc, const std::vector<int>& percents) {
  if (const auto it = revision_splits_.find(ksvc); it != revision_splits_.end()) {
    std::vector<std::uint32_t> weights;
    for (const int p : percents)
      weights.push_back(static_cast<std::uint32_t>(std::max(0, p)));
    it->second->SetWeights(weights);
  }
}

void DataPlane::SetActivatorInPath(const std::string& revision, bool proxy) {
  if (const auto it = knative_.find(revision); it != knative_.end())
    it->second.ingress->SetProxy(proxy);
}

DataPlane::Load DataPlane::LoadOf(const std::string& revision) const {
  Load load;
  const auto it = knative_.find(revision);
  if (it == knative_.end()) return load;
  if (const RevisionEntry* entry = it->second.entry.get()) {
    return revision_loads_.LoadOf(entry->revision(), engine_.Now());
  }
  // The only revision: every request of its clients.
  for (const std::size_t i : it->second.routes) {
    load.request_seconds += stats_.InSystemSeconds(i, engine_.Now());
    load.arrived += static_cast<double>(stats_.metrics(i).all.arrived);
  }
  return load;
}

std::uint16_t DataPlane::RevisionLoads::Add() {
  tallies_.emplace_back();
  return static_cast<std::uint16_t>(tallies_.size() - 1);
}

void DataPlane::RevisionLoads::Enter(RequestId id, std::uint16_t revision, sim::Time now) {
  if (of_.size() <= id) of_.resize(std::max<std::size_t>(id + 1, 2 * of_.size()), 0);
  of_[id] = static_cast<std::uint16_t>(revision + 1);
  Tally& t = tallies_[revision];
  t.area += static_cast<double>(t.in_flight) * sim::ToSeconds(now - t.since);
  t.since = now;
  ++t.in_flight;
  ++t.arrived;
}

void DataPlane::RevisionLoads::OnEnd(const Request& request, Outcome, sim::Time now) {
  const RequestId id = table->IdOf(request);
  if (id >= of_.size() || of_[id] == 0) return;
  Tally& t = tallies_[of_[id] - 1u];
  of_[id] = 0;
  t.area += static_cast<double>(t.in_flight) * sim::ToSeconds(now - t.since);
  t.since = now;
  --t.in_flight;
}

DataPlane::Load DataPlane::RevisionLoads::LoadOf(std::uint16_t revision, sim::Time now) const {
  const Tally& t = tallies_[revision];
  return {t.area + static_cast<double>(t.in_flight) * sim::ToSeconds(now - t.since),
          static_cast<double>(t.arrived)};
}

std::uint64_t DataPlane::ActivatorBuffered(const std::string& revision) const {
  const auto it = knative_.find(revision);
  return it == knative_.end() ? 0 : it->second.activator->ever_buffered();
}

int DataPlane::ReadyEndpoints(std::size_t i) const {
  std::size_t n = 0;
  for (const ServiceProxy* proxy : routes_[i].proxies)
    n += proxy->endpoint_count();
  return static_cast<int>(n);
}

int DataPlane::Pods(std::size_t i) const {
  return FromOwner<int>(route_partitions_[i], [&] {
    int n = 0;
    for (const std::uint32_t s : routes_[i].servers)
      n += servers_[s]->state() != ModelServer::State::kStopped;
    return n;
  });
}

std::optional<double> DataPlane::CpuSecondsOf(const std::string& pod_key) const {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) return std::nullopt;
  return PodMetricsOf(it->second).cpu_s;
}

std::optional<double> DataPlane::MemoryBytesOf(const std::string& pod_key) const {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) return std::nullopt;
  const ModelServerConfig& c = servers_[it->second]->config();
  const auto in_flight = FromOwner<std::size_t>(
      servers_[it->second]->partition, [&] { return ServerMetrics(it->second).in_flight(); });
  return static_cast<double>(c.memory_base_bytes) +
         static_cast<double>(c.memory_per_request_bytes) * static_cast<double>(in_flight);
}

std::optional<DataPlane::ScrapedSeries> DataPlane::SeriesOf(const std::string& pod_key) const {
  const auto it = server_of_pod_.find(pod_key);
  if (it == server_of_pod_.end()) return std::nullopt;
  return FromOwner<ScrapedSeries>(servers_[it->second]->partition, [&] {
    const PodMetrics m = ServerMetrics(it->second);
    return ScrapedSeries{static_cast<double>(m.queued), static_cast<double>(m.in_flight()),
                         static_cast<double>(pod_stats_.completed_all(it->second)), m.kv_usage};
  });
}

std::optional<DataPlane::ServiceSeries> DataPlane::ServiceSeriesOf(
    const std::string& service_key) const {
  const auto it = routes_of_service_.find(service_key);
  if (it == routes_of_service_.end()) return std::nullopt;
  // The Service's routes are in its proxy's partition.
  return FromOwner<ServiceSeries>(route_partitions_[it->second.front()], [&] {
    ServiceSeries out;
    std::set<std::uint32_t> pods;  // a pod behind two routes of the Service counts once
    for (const std::size_t route : it->second) {
      out.arrived += static_cast<double>(stats_.metrics(route).all.arrived);
      pods.insert(routes_[route].servers.begin(), routes_[route].servers.end());
    }
    for (const std::uint32_t pod : pods)
      out.pending += static_cast<double>(ServerMetrics(pod).queued);
    return out;
  });
}

std::map<std::string, DataPlane::Revision> DataPlane::Revisions() const {
  std::map<std::string, Revision> out;
  for (std::uint32_t pod = 0; pod < pod_owners_.size(); ++pod) {
    const auto& [replica_set, deployment] = pod_owners_[pod];
    if (replica_set.empty()) continue;
    Revision& r = out[replica_set];
    r.deployment = deployment;
    r.pods += 1;
    struct Counts {
      std::uint64_t completed, failed;
    };
    const Counts c = FromOwner<Counts>(servers_[pod]->partition, [&] {
      return Counts{pod_stats_.completed(pod), pod_stats_.failed(pod)};
    });
    r.completed += static_cast<double>(c.completed);
    r.failed += static_cast<double>(c.failed);
  }
  if (revision_latency_) {
    for (const auto& [key, index] : revision_index_) {
      out[key].latency_p50_s = revision_latency_->Quantile(index, 0.5);
      out[key].latency_p99_s = revision_latency_->Quantile(index, 0.99);
    }
  }
  return out;
}

PodMetrics DataPlane::LocalPodMetrics(std::uint32_t pod) const {
  PodMetrics m = ServerMetrics(pod);
  m.completed = pod_stats_.completed(pod);
  return m;
}

PodMetrics DataPlane::PodMetricsOf(std::uint32_t pod) const {
  return FromOwner<PodMetrics>(servers_[pod]->partition, [&] { return LocalPodMetrics(pod); });
}

PodMetrics DataPlane::LocalTotals(std::size_t i) const {
  PodMetrics total;
  total.max_batch_size = 0;
  for (const std::uint32_t s : routes_[i].servers)
    total += LocalPodMetrics(s);
  return total;
}

PodMetrics DataPlane::Totals(std::size_t i) const {
  return FromOwner<PodMetrics>(route_partitions_[i], [&] { return LocalTotals(i); });
}

const ServiceMetrics& DataPlane::MirroredMetrics(std::size_t i) const {
  const std::pair<std::uint64_t, std::uint64_t> now = {engine_.global_events() + 1,
                                                       stats_generation_};
  const int root = rank_of_[route_partitions_[i]];
  const bool here = root == ranks_->rank();
  if (mirror_at_[i] != now) {
    mirror_at_[i] = now;
    std::vector<std::byte> bytes;
    if (here) {
      sim::ByteWriter out(bytes);
      stats_.metrics(i).Save(out);
    }
    ranks_->BroadcastBytes(bytes, root);
    if (!here) {
      sim::ByteReader in(bytes);
      mirror_[i].Load(in);
    }
  }
  return here ? stats_.metrics(i) : mirror_[i];
}

void DataPlane::SetRanks(sim::Ranks* ranks) {
  ranks_ = ranks;
  // What is refused before the run (WhyNotOnRanks), here as a backstop;
  // also where scrapes and revisions' latencies are enabled, after this.
  if (llm_stats_) RefuseOnRanks("LLM model servers");
  // Greedy: the partition with the most expected requests first, to the
  // rank with the fewest so far (the highest on ties: rank 0, which writes
  // the outputs, reads others' partitions even with one Service).
  std::vector<double> load(engine_.partitions(), 0.0);
  for (std::size_t r = 0; r < routes_.size(); ++r)
    load[route_partitions_[r]] += route_load_[r];
  std::vector<sim::Partition> order;
  for (const auto& [group, p] : group_partitions_)
    order.push_back(p);
  std::sort(order.begin(), order.end(), [&](sim::Partition a, sim::Partition b) {
    return load[a] != load[b] ? load[a] > load[b] : a < b;
  });
  rank_of_.assign(engine_.partitions(), -1);
  std::vector<double> rank_load(static_cast<std::size_t>(ranks->size()), 0.0);
  for (const sim::Partition p : order) {
    const auto least =
        rank_load.rend() - 1 - std::min_element(rank_load.rbegin(), rank_load.rend());
    rank_load[static_cast<std::size_t>(least)] += std::max(load[p], 1e-9);
    rank_of_[p] = static_cast<int>(least);
    if (rank_of_[p] != ranks->rank()) engine_.RunElsewhere(p);
  }
  mirror_.resize(routes_.size());
  mirror_at_.assign(routes_.size(), {0, 0});
  // A kubelet hears that a server stopped from its rank no sooner than the
  // API server applies a write: that is the lookahead.
  if (api_.request_latency() > 0) {
    engine_.SetExchange(
        api_.request_latency(), [this] { return !pending_stops_.empty(); },
        [this] { return ExchangeStops(); });
  }
}

void DataPlane::Finish() {
  const sim::Time now = engine_.Now();
  std::uint64_t in_flight = 0;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const RequestCounts& c = stats_.metrics(i).all;
    if (c.completed + c.failed + c.timed_out + c.dropped() > c.arrived) {
      std::fprintf(stderr,
                   "platsim: invariant broken at t=%" PRId64
                   "ns: service %s ended more requests than arrived\n",
                   now, routes_[i].service_key.c_str());
      std::abort();
    }
    in_flight += c.in_flight();
  }
  if (in_flight != table_.live()) {
    std::fprintf(
        stderr,
        "platsim: invariant broken at t=%" PRId64
        "ns: requests do not conserve (arrived - completed - failed - dropped - timed out = "
        "%" PRIu64 ", but %" PRIu64 " are in flight)\n",
        now, in_flight, table_.live());
    std::abort();
  }
}

}  // namespace platsim::platform
