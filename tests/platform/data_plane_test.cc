// Data-plane behaviour through whole scenarios with replayed traces, so that
// each expected value can be worked out by hand from the request times.
#include "platform/serving/data_plane.h"

#include <gtest/gtest.h>

#include "models/input/diagnostics.h"
#include "platform/scenario.h"
#include "platform/simulation.h"
#include "tests/testing/temp_dir.h"

namespace platsim::platform {
namespace {

struct Options {
  int replicas = 1;
  std::string server = "maxBatchSize: 1";  // extra modelServers fields
  std::string service_time = "{kind: constant, value: 100ms}";
  std::string arrivals;  // replaces the trace if set
  std::string trace;     // CSV contents
  std::string probe = "readinessProbe: {periodSeconds: 1}";
  std::string balancing = "least-request";
  std::string client;  // extra traffic fields
  std::string duration = "400s";
  std::string spec;  // extra spec fields
};

std::string ScenarioYaml(const Options& o) {
  return R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: )" +
         o.duration + (o.spec.empty() ? "" : "\n  " + o.spec) + R"(
  nodePools:
  - name: pool
    count: 2
    allocatable: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "4"}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: m}
      spec:
        replicas: )" +
         std::to_string(o.replicas) + R"(
        selector: {matchLabels: {app: m}}
        template:
          metadata: {labels: {app: m}}
          spec:
            containers:
            - name: server
              image: m:1
              resources: {limits: {nvidia.com/gpu: "1"}}
              )" +
         o.probe + R"(
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: m}
      spec: {selector: {app: m}}
  modelServers:
  - deployment: m
    )" + o.server +
         R"(
    serviceTime: )" +
         o.service_time + R"(
  traffic:
  - service: m
    loadBalancing: )" +
         o.balancing + (o.client.empty() ? "" : "\n    " + o.client) + R"(
    arrivals: )" +
         (o.arrivals.empty() ? "{kind: trace, file: trace.csv}" : o.arrivals) + R"(
)";
}

struct Outcome {
  std::map<std::string, double> m;
  std::vector<ClusterEvent> events;
};

Outcome RunScenario(const Options& o) {
  platsim::testing::TempDir dir;
  dir.Write("trace.csv", o.trace.empty() ? "1\n" : o.trace);
  const auto path = dir.Write("s.yaml", ScenarioYaml(o));
  input::Diagnostics diags;
  const auto scenario = LoadScenario(path.string(), diags);
  for (const auto& d : diags.all()) {
    if (d.severity == input::Severity::kError) ADD_FAILURE() << input::Format(d);
  }
  if (!scenario) return {};
  EventListSink events;
  Simulation sim(*scenario, scenario->seed, events, nullptr);
  RunResult r = sim.Run();
  return {r.services.at(0).metrics, events.events};
}

// Eight requests at t=300s, when the pod is long ready.
const std::string kEightAt300 = "300\n300\n300\n300\n300\n300\n300\n300\n";

TEST(DataPlane, WithoutQueueDelayTheFirstRequestRunsAloneAndTheRestFillBatches) {
  Options o;
  o.server = "maxBatchSize: 4";
  o.trace = kEightAt300;
  const Outcome r = RunScenario(o);
  // Batches: {1} done at +0.1s, {4} at +0.2s, {3} at +0.3s.
  EXPECT_EQ(r.m.at("completed"), 8);
  EXPECT_NEAR(r.m.at("latency_mean_s"), (0.1 + 4 * 0.2 + 3 * 0.3) / 8, 1e-9);
}

TEST(DataPlane, QueueDelayWaitsForAFullBatch) {
  Options o;
  o.server = "maxBatchSize: 4\n    maxQueueDelay: 50ms";
  o.trace = kEightAt300;
  const Outcome r = RunScenario(o);
  // The 4th arrival fills a batch at once: {4} done at +0.1s, {4} at +0.2s.
  EXPECT_EQ(r.m.at("completed"), 8);
  EXPECT_NEAR(r.m.at("latency_mean_s"), (4 * 0.1 + 4 * 0.2) / 8, 1e-9);
}

TEST(DataPlane, QueueDelayDispatchesAPartialBatchWhenItExpires) {
  Options o;
  o.server = "maxBatchSize: 4\n    maxQueueDelay: 50ms";
  o.trace = "300\n300.01\n";
  const Outcome r = RunScenario(o);
  // Both wait until 300.05, run together for 0.1s: latencies 0.15 and 0.14.
  EXPECT_EQ(r.m.at("completed"), 2);
  EXPECT_NEAR(r.m.at("latency_mean_s"), (0.15 + 0.14) / 2, 1e-9);
}

TEST(DataPlane, TheClientGivesUpAtItsDeadlineWhereverTheRequestIs) {
  Options o;
  o.client = "timeout: 1500ms";
  o.service_time = "{kind: constant, value: 1s}";
  o.trace = "300\n300\n300\n";
  const Outcome r = RunScenario(o);
  // r1 done at 301 (ok); r2 runs 301-302 and its client leaves at 301.5;
  // r3 leaves the queue at 301.5.
  EXPECT_EQ(r.m.at("completed"), 1);
  EXPECT_EQ(r.m.at("timed_out"), 2);
  EXPECT_EQ(r.m.at("in_flight_at_end"), 0);
}

TEST(DataPlane, TheServersQueueTimeoutSparesRequestsAlreadyRunning) {
  Options o;
  o.server = "maxBatchSize: 1\n    queueTimeout: 1500ms";
  o.service_time = "{kind: constant, value: 1s}";
  o.trace = "300\n300\n300\n";
  const Outcome r = RunScenario(o);
  // r2 started at 301, inside its queue timeout, and completes at 302; r3
  // would start at 302 and is rejected at 301.5.
  EXPECT_EQ(r.m.at("completed"), 2);
  EXPECT_EQ(r.m.at("timed_out"), 1);
}

// GPU-seconds busy over the run: utilisation times GPU-hours held.
double GpuBusySeconds(const Outcome& r) {
  return r.m.at("gpu_utilization") * r.m.at("gpu_hours_held") * 3600.0;
}

// Three requests at 300 s, one at a time, 1 s each; the client gives up
// after 1.5 s. r1 runs 300-301; r2 starts at 301 and is abandoned at 301.5;
// r3 is still queued then.
TEST(DataPlane, WhatTheServerDoesWithAbandonedRequestsIsItsPolicy) {
  Options o;
  o.client = "timeout: 1500ms";
  o.service_time = "{kind: constant, value: 1s}";
  o.trace = "300\n300\n300\n";
  struct Case {
    const char* policy;
    double busy_s;
  };
  // keep: r2 runs to 302 and r3 (a ghost) 302-303; dequeue: r3 leaves the
  // queue, r2 runs on; abort: r2's batch stops at 301.5 too.
  for (const Case c : {Case{"keep", 3.0}, Case{"dequeue", 2.0}, Case{"abort", 1.5}}) {
    o.server = std::string("maxBatchSize: 1\n    abandonedRequests: ") + c.policy;
    const Outcome r = RunScenario(o);
    EXPECT_EQ(r.m.at("completed"), 1) << c.policy;
    EXPECT_EQ(r.m.at("timed_out"), 2) << c.policy;
    EXPECT_NEAR(GpuBusySeconds(r), c.busy_s, 1e-6) << c.policy;
  }
}

// A kept request whose client has left still times out of the server's
// queue (the server cannot tell it from any other). Service time 10 s, one
// at a time, a queue of one, 1 s queue timeout, clients that leave after
// 0.5 s: A runs 300-310 for nobody; B leaves the queue at 301.1, so C
// (302) finds room, and leaves at 303. Only A's 10 s use the GPU.
TEST(DataPlane, AKeptRequestStillTimesOutOfTheServersQueue) {
  Options o;
  o.client = "timeout: 500ms";
  o.server =
      "maxBatchSize: 1\n    maxQueueLength: 1\n    queueTimeout: 1s\n    abandonedRequests: keep";
  o.service_time = "{kind: constant, value: 10s}";
  o.trace = "300\n300.1\n302\n";
  const Outcome r = RunScenario(o);
  EXPECT_EQ(r.m.at("dropped_queue_full"), 0);
  EXPECT_EQ(r.m.at("timed_out"), 3);
  EXPECT_NEAR(GpuBusySeconds(r), 10.0, 1e-6);
}

TEST(DataPlane, APodIsRoutableOnlyOnceTheProxyIsProgrammed) {
  Options o;
  o.server = "maxBatchSize: 1\n    imagePull: 10s";  // Ready a little after 10s
  o.spec = "serviceProxy: {programmingDelay: 5s}";
  o.trace = "12\n20\n";
  const Outcome r = RunScenario(o);
  EXPECT_EQ(r.m.at("dropped_no_endpoint"), 1) << "Ready, but not yet in the proxy's rules";
  EXPECT_EQ(r.m.at("completed"), 1);
}

// Batches {1}, {4}, {3} of at most 4 (see the first test): 8 requests in
// 12 positions.
TEST(DataPlane, BatchOccupancyIsRequestsPerBatchPosition) {
  Options o;
  o.server = "maxBatchSize: 4";
  o.trace = kEightAt300;
  EXPECT_NEAR(RunScenario(o).m.at("batch_occupancy"), 8.0 / 12.0, 1e-12);
}

// The CPU model: cpuBase while the server runs plus cpuPerRequest for each
// request executed, over the window (100 s to 400 s; the pod runs all of
// it): 0.5 cores + 100 requests x 10 ms over 300 s.
TEST(DataPlane, CpuIsABasePlusACostPerRequest) {
  Options o;
  o.server = "maxBatchSize: 1\n    cpuBase: 500m\n    cpuPerRequest: 10ms";
  o.spec = "warmup: 100s";
  for (int i = 0; i < 100; ++i)
    o.trace += std::to_string(300 + i) + "\n";
  EXPECT_NEAR(RunScenario(o).m.at("cpu_cores_mean"), 0.5 + 100 * 0.010 / 300.0, 1e-9);
}

// Two single-GPU nodes of different products, one pod on each; the same
// Deployment runs at each product's speed.
std::string TwoGpuScenario(const std::string& model_server, const std::string& placement = "") {
  return R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 400s
  nodePools:
  - name: h100
    labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}
    allocatable: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "1"}
  - name: a100
    labels: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
    allocatable: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "1"}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: m}
      spec:
        replicas: 2
        selector: {matchLabels: {app: m}}
        template:
          metadata: {labels: {app: m}}
          spec:
            )" +
         (placement.empty() ? "" : placement + "\n            ") +
         R"(containers:
            - name: server
              image: m:1
              resources: {limits: {nvidia.com/gpu: "1"}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: m}
      spec: {selector: {app: m}}
  modelServers:
  - deployment: m
)" + model_server +
         R"(
  traffic:
  - service: m
    loadBalancing: round-robin
    arrivals: {kind: trace, file: trace.csv}
)";
}

TEST(DataPlane, APodRunsAtTheSpeedOfTheGpuItLandedOn) {
  platsim::testing::TempDir dir;
  dir.Write("trace.csv", "300\n301\n302\n303\n304\n305\n306\n307\n");
  const auto path = dir.Write("s.yaml", TwoGpuScenario(R"(    serviceTimeByGpu:
      NVIDIA-H100-80GB-HBM3: {kind: constant, value: 100ms}
      NVIDIA-A100-SXM4-80GB: {kind: constant, value: 200ms})"));
  input::Diagnostics diags;
  const auto scenario = LoadScenario(path.string(), diags);
  ASSERT_TRUE(scenario) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  NullEventSink events;
  const RunResult r = Simulation(*scenario, 1, events, nullptr).Run();
  // Round robin alternates the two pods: four requests take 100 ms, four 200 ms.
  EXPECT_EQ(r.services[0].metrics.at("completed"), 8);
  EXPECT_NEAR(r.services[0].metrics.at("latency_mean_s"), 0.15, 1e-9);
}

TEST(DataPlane, AGpuWithoutAServiceTimeIsAnErrorUnlessNoPodCanLandOnIt) {
  platsim::testing::TempDir dir;
  dir.Write("trace.csv", "300\n");
  const std::string only_h100 = R"(    serviceTimeByGpu:
      NVIDIA-H100-80GB-HBM3: {kind: constant, value: 100ms})";
  input::Diagnostics diags;
  EXPECT_FALSE(LoadScenario(dir.Write("a.yaml", TwoGpuScenario(only_h100)).string(), diags));
  ASSERT_EQ(diags.error_count(), 1);
  const std::string message = input::Format(diags.all()[0]);
  EXPECT_NE(message.find("a.yaml:"), std::string::npos) << message;
  EXPECT_NE(message.find("node pool a100 (nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB)"),
            std::string::npos)
      << message;

  // Kept off the A100s by a nodeSelector, or covered by a default: fine.
  input::Diagnostics kept_off;
  EXPECT_TRUE(
      LoadScenario(dir.Write("b.yaml", TwoGpuScenario(only_h100,
                                                      "nodeSelector: {nvidia.com/gpu.product: "
                                                      "NVIDIA-H100-80GB-HBM3}"))
                       .string(),
                   kept_off));
  input::Diagnostics defaulted;
  EXPECT_TRUE(LoadScenario(
      dir.Write("c.yaml", TwoGpuScenario(only_h100 + "\n    serviceTime: {kind: constant, "
                                                     "value: 300ms}"))
          .string(),
      defaulted));
}

TEST(DataPlane, AFullQueueDrops) {
  Options o;
  o.server = "maxBatchSize: 1\n    maxQueueLength: 1";
  o.trace = "300\n300\n300\n";
  const Outcome r = RunScenario(o);
  EXPECT_EQ(r.m.at("completed"), 2);
  EXPECT_EQ(r.m.at("dropped_queue_full"), 1);
}

TEST(DataPlane, RequestsBeforeAnyPodIsReadyFindNoEndpoint) {
  Options o;
  o.server = "maxBatchSize: 1\n    imagePull: 10s";  // Ready a little after 10s
  o.trace = "0.5\n9\n300\n";
  const Outcome r = RunScenario(o);
  EXPECT_EQ(r.m.at("dropped_no_endpoint"), 2);
  EXPECT_EQ(r.m.at("completed"), 1);
}

TEST(DataPlane, WithoutAReadinessProbeRequestsReachAServerStillLoading) {
  Options o;
  o.probe = "ports: []";  // no readinessProbe (ports only draws a warning)
  o.server = "maxBatchSize: 1\n    modelLoad: 60s";
  o.trace = "30\n100\n";
  const Outcome r = RunScenario(o);
  EXPECT_EQ(r.m.at("dropped_not_loaded"), 1) << "Ready at start, serving only after 60s";
  EXPECT_EQ(r.m.at("completed"), 1);
}

TEST(Kubelet, PodTurnsReadyAtTheFirstProbeAfterTheModelLoads) {
  Options o;
  o.server = "maxBatchSize: 1\n    modelLoad: 30s\n    imagePull: 20s";
  o.probe = "readinessProbe: {initialDelaySeconds: 10, periodSeconds: 7}";
  o.trace = "300\n";
  const Outcome r = RunScenario(o);
  sim::Time started = -1, ready = -1;
  for (const auto& e : r.events) {
    if (e.reason == "Started") started = e.time;
    if (e.reason == "PodReady") ready = e.time;
  }
  ASSERT_GE(started, 0);
  // Probes at +10, +17, +24, +31 s; the model serves from +30 s.
  EXPECT_EQ(ready - started, 31 * sim::kSecond);
}

TEST(DataPlane, LeastRequestBeatsRandomBalancingAtHighLoad) {
  // Four single-server pods at 90% load: power of two choices keeps queues
  // short; random assignment leaves M/M/1-like queues at each pod.
  Options o;
  o.replicas = 4;
  o.service_time = "{kind: exponential, mean: 10ms}";
  o.arrivals = "{kind: poisson, rate: 360}";
  o.duration = "1200s";
  o.balancing = "random";
  const Outcome random = RunScenario(o);
  o.balancing = "least-request";
  const Outcome p2c = RunScenario(o);
  // Random: each pod an M/M/1 at 0.9, mean response 100ms.
  EXPECT_NEAR(random.m.at("latency_mean_s"), 0.1, 0.02);
  EXPECT_LT(p2c.m.at("latency_mean_s"), 0.5 * random.m.at("latency_mean_s"));
}

}  // namespace
}  // namespace platsim::platform
