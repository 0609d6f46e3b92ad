#include "tools/output.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sim/stats.h"

namespace platsim::tools {
namespace {

using Json = nlohmann::ordered_json;

Json Number(double v) {
  return std::isfinite(v) ? Json(v) : Json(nullptr);
}

// The mean of each metric over `runs` under "metrics" and, with two runs or
// more, the half-width of its 95% confidence interval under
// "ci95_half_width"; null where some run leaves it undefined.
void Pool(const std::vector<const std::map<std::string, double>*>& runs, Json& entry) {
  Json metrics = Json::object();
  Json ci = Json::object();
  for (const auto& [name, _] : *runs[0]) {
    std::vector<double> values;
    bool defined = true;
    for (const auto* run : runs) {
      const double v = run->at(name);
      defined &= std::isfinite(v);
      values.push_back(v);
    }
    if (!defined) {
      metrics[name] = nullptr;
      if (runs.size() >= 2) ci[name] = nullptr;
      continue;
    }
    const sim::Estimate e = sim::ConfidenceInterval(values);
    metrics[name] = e.mean;
    if (runs.size() >= 2) ci[name] = e.half_width;
  }
  entry["metrics"] = metrics;
  if (runs.size() >= 2) entry["ci95_half_width"] = ci;
}

Json Numbers(const std::map<std::string, double>& values) {
  Json m = Json::object();
  for (const auto& [name, v] : values)
    m[name] = Number(v);
  return m;
}

}  // namespace

void JsonlEventSink::Emit(const platform::ClusterEvent& e) {
  Json j;
  j["replication"] = replication_;
  j["time_s"] = sim::ToSeconds(e.time);
  j["reason"] = e.reason;
  j["kind"] = e.object_kind;
  j["object"] = e.object;
  j["message"] = e.message;
  for (const auto& [k, v] : e.fields)
    j[k] = v;
  out_ << j.dump(-1, ' ', false, Json::error_handler_t::replace) << '\n';
}

namespace {

bool AllComplete(int replications, const std::vector<platform::RunResult>& runs) {
  bool complete = static_cast<int>(runs.size()) == replications;
  for (const auto& run : runs)
    complete &= run.complete();
  return complete;
}

// An ordered JSON object filled key by key at O(1) a key, where
// ordered_json's operator[] compares the key with every key already there:
// quadratic over the thousands of Services of a large platform. A key set
// twice keeps its first place and its last value, as with operator[].
class ObjectBuilder {
 public:
  Json& operator[](const std::string& key) {
    const auto [it, added] = index_.try_emplace(key, entries_.size());
    if (added) entries_.emplace_back(key, Json());
    return entries_[it->second].second;
  }
  Json Build() && {
    Json object = Json::object();
    auto& map = object.get_ref<Json::object_t&>();
    map.reserve(entries_.size());
    for (auto& [key, value] : entries_)  // the keys are distinct: no search
      map.Json::object_t::Container::emplace_back(key, std::move(value));
    return object;
  }

 private:
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<std::pair<std::string, Json>> entries_;
};

Json SummaryJson(const platform::Scenario& scenario, std::uint64_t seed, int replications,
                 const std::vector<platform::RunResult>& runs) {
  Json j;
  j["apiVersion"] = "platsim.dev/v1alpha1";
  j["kind"] = "RunSummary";
  j["complete"] = AllComplete(replications, runs);
  j["scenario"] = {{"name", scenario.name}, {"file", scenario.file}};
  if (!scenario.design.empty()) {
    j["design"] = {{"name", scenario.design}, {"description", scenario.design_description}};
  }
  j["seed"] = seed;
  j["replications"] = runs.size();
  j["replications_requested"] = replications;
  j["duration_s"] = sim::ToSeconds(scenario.duration);
  j["warmup_s"] = sim::ToSeconds(scenario.warmup);
  // Where each model server's times come from; estimates are labelled.
  ObjectBuilder servers;
  for (const auto& m : scenario.model_servers) {
    Json server = Json::object();
    if (const auto* model = m.config.service_time.get()) {
      server = {{"serviceTime", model->Source()}, {"estimate", model->estimate()}};
    }
    if (!m.config.service_time_by_gpu.empty()) {
      Json by_gpu = Json::object();
      for (const auto& [product, model] : m.config.service_time_by_gpu)
        by_gpu[product] = {{"serviceTime", model->Source()}, {"estimate", model->estimate()}};
      server["serviceTimeByGpu"] = by_gpu;
    }
    if (const auto& llm = m.config.llm) {
      // engine: vllm: each GPU's profile and KV blocks, and which rest on
      // an estimate.
      auto entry = [](const platform::LlmOnGpu& e) {
        return Json{{"serviceTime", e.source},
                    {"estimate", e.estimate},
                    {"numGpuBlocks", e.num_gpu_blocks},
                    {"numGpuBlocksEstimated", e.blocks_estimated}};
      };
      server["engine"] = "vllm";
      server["tensorParallelSize"] = llm->tensor_parallel;
      for (const auto& [product, e] : llm->All()) {
        if (product.empty()) {
          server.update(entry(*e));
        } else {
          server["serviceTimeByGpu"][product] = entry(*e);
        }
      }
    }
    servers[m.deployment] = server;
  }
  j["modelServers"] = std::move(servers).Build();
  // Means and intervals over the complete runs only: a run stopped early
  // covers a shorter window. If none completed, over the one that stopped.
  std::vector<const platform::RunResult*> pooled;
  for (const auto& run : runs) {
    if (run.complete()) pooled.push_back(&run);
  }
  if (pooled.empty() && !runs.empty()) pooled.push_back(&runs.back());
  j["pooled_runs"] = pooled.size();
  Json platform = Json::object();
  ObjectBuilder services;
  if (!pooled.empty()) {
    std::vector<const std::map<std::string, double>*> runs_platform;
    for (const platform::RunResult* run : pooled)
      runs_platform.push_back(&run->platform);
    Pool(runs_platform, platform);
    // Each Service's SLO: its last traffic entry's that has one.
    std::unordered_map<std::string, const platform::TrafficSpec*> slo_of;
    for (const auto& t : scenario.traffic) {
      if (t.slo_latency > 0) slo_of[t.service] = &t;
    }
    for (std::size_t s = 0; s < runs[0].services.size(); ++s) {
      Json entry;
      const std::string& service = runs[0].services[s].service;
      if (const auto it = slo_of.find(service); it != slo_of.end()) {
        const auto& t = *it->second;
        entry["slo"] = {{"latency_s", sim::ToSeconds(t.slo_latency)}, {"target", t.slo_target}};
      }
      std::vector<const std::map<std::string, double>*> runs_service;
      for (const platform::RunResult* run : pooled)
        runs_service.push_back(&run->services[s].metrics);
      Pool(runs_service, entry);
      services[service] = entry;
    }
  }
  // What each HPA did, pooled as the services' metrics.
  Json autoscalers = Json::object();
  if (!pooled.empty()) {
    for (const auto& [key, metrics] : pooled.front()->autoscalers) {
      std::vector<const std::map<std::string, double>*> runs_hpa;
      for (const platform::RunResult* run : pooled) {
        const auto it = run->autoscalers.find(key);
        if (it != run->autoscalers.end()) runs_hpa.push_back(&it->second);
      }
      Json entry;
      Pool(runs_hpa, entry);
      autoscalers[key] = entry;
    }
  }
  // Each Deployment's rollouts, the k-th of every run pooled together.
  Json rollouts = Json::object();
  std::map<std::string, std::vector<std::vector<const platform::RunResult::Rollout*>>> grouped;
  for (const platform::RunResult* run : pooled) {
    std::map<std::string, std::size_t> seen;
    for (const auto& ro : run->rollouts) {
      auto& list = grouped[ro.deployment];
      const std::size_t k = seen[ro.deployment]++;
      if (list.size() <= k) list.resize(k + 1);
      list[k].push_back(&ro);
    }
  }
  for (const auto& [deployment, list] : grouped) {
    Json entries = Json::array();
    for (const auto& of_runs : list) {
      Json entry;
      entry["kind"] = of_runs.front()->kind;
      entry["replica_set"] = of_runs.front()->replica_set;
      Json outcomes = Json::object();
      std::vector<const std::map<std::string, double>*> metrics;
      for (const auto* ro : of_runs) {
        outcomes[ro->outcome] = outcomes.value(ro->outcome, 0) + 1;
        metrics.push_back(&ro->metrics);
      }
      entry["runs"] = of_runs.size();
      entry["outcomes"] = outcomes;
      Pool(metrics, entry);
      entries.push_back(entry);
    }
    rollouts[deployment] = entries;
  }
  // Each revision (ReplicaSet) of each Deployment, pooled where it ran.
  ObjectBuilder revisions;
  std::map<std::string, std::vector<const platform::RunResult::Revision*>> by_key;
  for (const platform::RunResult* run : pooled) {
    for (const auto& [key, r] : run->revisions)
      by_key[key].push_back(&r);
  }
  for (const auto& [key, list] : by_key) {
    Json entry;
    entry["deployment"] = list.front()->deployment;
    entry["runs"] = list.size();
    std::vector<const std::map<std::string, double>*> metrics;
    for (const auto* r : list)
      metrics.push_back(&r->metrics);
    Pool(metrics, entry);
    revisions[key] = entry;
  }
  j["platform"] = platform;
  j["services"] = std::move(services).Build();
  j["autoscalers"] = autoscalers;
  j["rollouts"] = rollouts;
  j["revisions"] = std::move(revisions).Build();
  Json per_run = Json::array();
  for (std::size_t i = 0; i < runs.size(); ++i) {
    Json r;
    r["replication"] = i;
    r["seed"] = runs[i].seed;
    r["complete"] = runs[i].complete();
    r["simulated_s"] = sim::ToSeconds(runs[i].end_time);
    r["stopped_because"] = runs[i].complete() ? Json(nullptr) : Json(runs[i].stopped_because);
    r["events"] = runs[i].events_executed;
    r["requests"] = runs[i].requests;
    r["api_writes"] = runs[i].api_writes;
    r["platform"] = Numbers(runs[i].platform);
    Json hpas = Json::object();
    for (const auto& [key, metrics] : runs[i].autoscalers)
      hpas[key] = Numbers(metrics);
    r["autoscalers"] = hpas;
    Json run_rollouts = Json::array();
    for (const auto& ro : runs[i].rollouts) {
      Json entry = {{"deployment", ro.deployment},
                    {"kind", ro.kind},
                    {"replica_set", ro.replica_set},
                    {"outcome", ro.outcome},
                    {"metrics", Numbers(ro.metrics)}};
      if (!ro.message.empty()) entry["message"] = ro.message;
      if (!ro.analysis_runs.empty()) entry["analysis_runs"] = ro.analysis_runs;
      run_rollouts.push_back(entry);
    }
    r["rollouts"] = run_rollouts;
    Json runs_of_analysis = Json::array();
    for (const auto& a : runs[i].analysis_runs) {
      runs_of_analysis.push_back({{"name", a.name},
                                  {"phase", a.phase},
                                  {"message", a.message},
                                  {"last_value", a.last_value},
                                  {"metrics", Numbers(a.metrics)}});
    }
    r["analysis_runs"] = runs_of_analysis;
    ObjectBuilder run_revisions;
    for (const auto& [key, rev] : runs[i].revisions)
      run_revisions[key] = {{"deployment", rev.deployment}, {"metrics", Numbers(rev.metrics)}};
    r["revisions"] = std::move(run_revisions).Build();
    ObjectBuilder svc;
    for (const auto& s : runs[i].services)
      svc[s.service] = Numbers(s.metrics);
    r["services"] = std::move(svc).Build();
    per_run.push_back(r);
  }
  j["runs"] = per_run;
  return j;
}

// Names are valid UTF-8 (the loader checks), but a file name from the
// command line need not be: replace, never fail at the end of a run.
void Dump(std::ostream& out, const Json& j) {
  out << j.dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace

void WriteSummary(std::ostream& out, const platform::Scenario& scenario, std::uint64_t seed,
                  int replications, const std::vector<platform::RunResult>& runs) {
  Dump(out, SummaryJson(scenario, seed, replications, runs));
}

void WriteDesignComparison(std::ostream& out, std::uint64_t seed, int replications,
                           const std::vector<DesignRuns>& designs) {
  Json j;
  j["apiVersion"] = "platsim.dev/v1alpha1";
  j["kind"] = "DesignComparison";
  bool complete = true;
  Json list = Json::array();
  for (const DesignRuns& d : designs) {
    const Json summary = SummaryJson(*d.scenario, seed, replications, d.runs);
    complete &= summary["complete"].get<bool>();
    Json entry;
    entry["name"] = d.scenario->design;
    entry["description"] = d.scenario->design_description;
    entry["folder"] = d.folder;
    for (const char* key : {"complete", "duration_s", "warmup_s", "pooled_runs", "platform",
                            "services", "autoscalers", "rollouts", "revisions"}) {
      entry[key] = summary[key];
    }
    list.push_back(entry);
  }
  j["complete"] = complete;
  if (!designs.empty()) {
    j["scenario"] = {{"name", designs[0].scenario->name}, {"file", designs[0].scenario->file}};
  }
  j["seed"] = seed;
  j["replications_requested"] = replications;
  j["designs"] = list;
  Dump(out, j);
}

}  // namespace platsim::tools
