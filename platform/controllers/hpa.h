// The HorizontalPodAutoscaler controller and the metrics-server it reads,
// as upstream runs them:
// - metrics-server scrapes every pod's cumulative CPU time and its memory
//   working set every `resolution` (its --metric-resolution) and serves
//   each pod's CPU usage as the rate between its last two scrapes, stamped
//   with the later one and with that interval as its window, and its
//   memory as the working set of the last scrape. Only the pods of
//   Deployments that an HPA targets are scraped: nothing else reads the
//   samples.
// - The controller reconciles each HPA when it is created and then every
//   sync period (kubernetes pkg/controller/podautoscaler/horizontal.go
//   reconcileAutoscaler, with its queue's fixed resync rate limiter): it
//   reads the target's replicas, computes a proposal per metric
//   (computeReplicasForMetrics: the largest wins), normalizes it
//   (hpa_algorithm.h), writes the target's replicas and emits
//   SuccessfulRescale when they change, and writes the HPA's status when it
//   changes.
#ifndef PLATSIM_PLATFORM_CONTROLLERS_HPA_H_
#define PLATSIM_PLATFORM_CONTROLLERS_HPA_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "platform/api_server.h"
#include "platform/controllers/hpa_algorithm.h"
#include "platform/events.h"
#include "sim/engine.h"
#include "sim/stats.h"

namespace platsim::platform {

class HorizontalPodAutoscalerController {
 public:
  // A pod's cumulative CPU-seconds (its container runtime's counter), or
  // nothing for a pod with no running containers.
  using CpuSeconds = std::function<std::optional<double>(const std::string& pod_key)>;
  // A pod's memory working set in bytes now, or nothing as above.
  using MemoryBytes = std::function<std::optional<double>(const std::string& pod_key)>;

  // The custom metrics series of a pod's model server, as Prometheus
  // scrapes them (gauges and a counter), or nothing for a pod without one.
  struct Series {
    double pending = 0, in_flight = 0, completed = 0;
    double kv_usage = 0;  // an LLM server's KV cache in use, 0..1
  };
  using PodSeries = std::function<std::optional<Series>(const std::string& pod_key)>;
  // A Service's series as Prometheus scrapes them: requests arrived (in
  // `completed`, a counter) and requests waiting in its pods (`pending`).
  using ServiceSeries = std::function<std::optional<Series>(const std::string& service_key)>;

  struct Settings {
    hpa::ControllerOptions controller;
    sim::Time metrics_resolution = 15 * sim::kSecond;
    hpa::PrometheusOptions prometheus;
    sim::Time warmup = 0;  // the summary's window starts here
  };

  // Borrows engine, api and events; watches HPAs and pods from now on;
  // metrics-server scrapes every metrics_resolution and Prometheus every
  // scrape_interval from now on.
  HorizontalPodAutoscalerController(sim::Engine& engine, ApiServer& api, EventSink& events,
                                    const Settings& settings, CpuSeconds cpu, MemoryBytes memory,
                                    PodSeries series, ServiceSeries services = {});

  // The scale history of an HPA (tests).
  const hpa::ScaleHistory* HistoryOf(const std::string& hpa_key) const;

  // What each HPA did from `warmup` to `now`, by HPA key (summary.json's
  // `autoscalers`): rescales (and how many up and down), the target's
  // replicas as the HPA last set or found them, their time average and
  // their highest.
  std::map<std::string, std::map<std::string, double>> Results(sim::Time now) const;
  // HPA `key`'s observation now (its target's replicas, its first metric),
  // or nothing before its first sync.
  std::optional<AutoscalerObservation> ObservationOf(const std::string& key) const;

 private:
  void OnAutoscaler(WatchType type, const HorizontalPodAutoscaler& h);
  void OnPod(WatchType type, const Pod& pod);
  // Calls `fn` for every pod of a Deployment an HPA targets, in order.
  void ForEachTargetPod(const std::function<void(const std::string& key, bool running)>& fn) const;
  void Scrape();        // metrics-server
  void ScrapeSeries();  // Prometheus
  // A Pods metric's samples as prometheus-adapter serves them, by pod key.
  hpa::PodMetrics PodsMetric(const std::string& deployment, const std::string& name) const;
  // A Service's metric `name` (its request rate over the rate window, or
  // its pending requests) from Prometheus's samples; nothing before there
  // are enough.
  std::optional<double> ServiceMetric(const std::string& service, const std::string& name) const;
  void Reconcile(const std::string& key);
  void EmitConditionChanges(const std::string& key, const std::vector<hpa::Condition>& before,
                            const std::vector<hpa::Condition>& after);
  std::vector<hpa::PodState> PodsOf(const std::string& deployment) const;
  // One metric's proposal (computeReplicasForMetric).
  hpa::Proposal ProposalFor(const hpa::MetricSpec& m, const HorizontalPodAutoscaler& h,
                            const Deployment& target, const std::vector<hpa::PodState>& pods) const;

  sim::Engine& engine_;
  ApiServer& api_;
  EventSink& events_;
  const hpa::ControllerOptions options_;
  const sim::Time resolution_;
  const hpa::PrometheusOptions prometheus_;
  const CpuSeconds cpu_;
  const MemoryBytes memory_;
  const PodSeries series_;
  const ServiceSeries services_;
  // Pods by the Deployment whose template they came from, for the
  // Deployments an HPA targets (kept whether or not one does yet).
  std::map<std::string, std::set<std::string>> pods_of_;
  std::map<std::string, int> targets_;  // Deployment -> HPAs targeting it
  struct Scraped {
    double cpu_s;
    sim::Time at;
  };
  std::map<std::string, Scraped> last_scrape_;  // by pod key
  hpa::PodMetrics samples_;                     // by pod key: what metrics-server serves
  hpa::PodMetrics memory_samples_;              // the same for memory, in bytes (not milli-units)
  // Prometheus's samples of each pod's series, oldest first, within the
  // rate window (and one before it).
  struct SeriesSample {
    sim::Time at;
    Series value;
  };
  std::map<std::string, std::vector<SeriesSample>> series_samples_;
  std::map<std::string, int> object_services_;  // Services an Object metric reads -> HPAs
  std::map<std::string, std::vector<SeriesSample>> service_samples_;
  std::map<std::string, hpa::ScaleHistory> history_;  // by HPA key
  std::map<std::string, sim::EventId> timers_;        // each HPA's next reconcile
  struct Tally {
    int ups = 0, downs = 0;
    std::int32_t replicas = 0, highest = 0;
    sim::TimeAverage mean;
  };
  void Record(const std::string& key, std::int32_t replicas, int direction);
  std::map<std::string, Tally> records_;                           // by HPA key
  std::map<std::string, std::pair<double, double>> first_metric_;  // by HPA key: value, target
  sim::Time warmup_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_CONTROLLERS_HPA_H_
