// Cost and energy of whole runs, against the closed forms of the pricing
// and power models: a node is billed from its creation (the API server's
// latency after time 0) to the end; a GPU draws idle + (max - idle) x busy.
#include "platform/accounting.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "models/input/diagnostics.h"
#include "platform/simulation.h"
#include "tests/testing/temp_dir.h"

namespace platsim::platform {
namespace {

constexpr double kDurationS = 1000;
constexpr double kNodeLifeS = kDurationS - 0.010;  // created at 10 ms

// `pool` is the node pool's extra fields; two services, `a` on 1 GPU and `b`
// on 3, each serving constant 1 s batches to `trace` (one request per line).
std::string Scenario(const std::string& pool) {
  auto deployment = [](const std::string& name, int gpus) {
    return R"(  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: )" +
           name + R"(}
      spec:
        replicas: 1
        selector: {matchLabels: {app: )" +
           name + R"(}}
        template:
          metadata: {labels: {app: )" +
           name + R"(}}
          spec:
            containers:
            - name: s
              image: )" +
           name + R"(:1
              resources: {limits: {nvidia.com/gpu: ")" +
           std::to_string(gpus) + R"("}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: )" +
           name + R"(}
      spec: {selector: {app: )" +
           name + R"(}}
)";
  };
  return R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: cost}
spec:
  duration: 1000s
  nodePools:
  - name: pool
    count: 2
    allocatable: {cpu: "64", memory: 512Gi, nvidia.com/gpu: "4"}
    )" + pool +
         R"(
  manifests:
)" + deployment("a", 1) +
         deployment("b", 3) + R"(  modelServers:
  - {deployment: a, serviceTime: {kind: constant, value: 1s}}
  - {deployment: b, serviceTime: {kind: constant, value: 1s}}
  traffic:
  - {service: a, arrivals: {kind: trace, file: trace.csv}}
  - {service: b, arrivals: {kind: trace, file: trace.csv}}
)";
}

struct Outputs {
  std::map<std::string, double> platform;
  std::map<std::string, double> a, b;
};

Outputs RunIt(const std::string& yaml, int requests_a = 100) {
  platsim::testing::TempDir dir;
  std::string trace;
  for (int i = 0; i < requests_a; ++i)
    trace += std::to_string(100 + 5 * i) + "\n";
  dir.Write("trace.csv", trace);
  const auto path = dir.Write("s.yaml", yaml);
  input::Diagnostics diags;
  const auto scenario = LoadScenario(path.string(), diags);
  for (const auto& d : diags.all()) {
    if (d.severity == input::Severity::kError) ADD_FAILURE() << input::Format(d);
  }
  if (!scenario) return {};
  NullEventSink events;
  const RunResult r = Simulation(*scenario, 1, events, nullptr).Run();
  return {r.platform, r.services.at(0).metrics, r.services.at(1).metrics};
}

TEST(Accounting, NodesAreBilledForTheirLivesAndGpusDrawIdlePlusBusyPower) {
  const Outputs r = RunIt(Scenario(
      "pricePerHour: 10\n    power: {nodeBaseWatts: 100, gpuIdleWatts: 50, gpuMaxWatts: 250}"));
  EXPECT_NEAR(r.platform.at("node_hours"), 2 * kNodeLifeS / 3600, 1e-9);
  EXPECT_NEAR(r.platform.at("gpu_hours_provisioned"), 8 * kNodeLifeS / 3600, 1e-9);
  EXPECT_NEAR(r.platform.at("cost_usd"), 10 * 2 * kNodeLifeS / 3600, 1e-9);
  // Idle floor: 2 nodes x (100 + 4 x 50) W; busy: 100 one-second batches
  // for a and as many for b (the same trace), at 200 W extra. A batch runs
  // on one GPU (model_server.h), so b's one-at-a-time batches keep one of
  // its three GPUs busy, not three.
  const double floor_j = 2 * (100 + 4 * 50) * kNodeLifeS;
  const double busy_j = 200.0 * (100 + 100);
  EXPECT_NEAR(r.platform.at("energy_kwh"), (floor_j + busy_j) / 3.6e6, 1e-9);
}

TEST(Accounting, EachServicePaysItsShareOfGpuHoursHeld) {
  const Outputs r = RunIt(Scenario("pricePerHour: 10"));
  const double cost = r.platform.at("cost_usd");
  EXPECT_NEAR(r.a.at("cost_usd") + r.b.at("cost_usd"), cost, 1e-9) << "every GPU held serves";
  EXPECT_NEAR(r.a.at("cost_usd") / cost, r.a.at("gpu_hours_held") / r.platform.at("gpu_hours_held"),
              1e-12);
  EXPECT_NEAR(r.b.at("cost_usd") / r.a.at("cost_usd"), 3.0, 1e-3) << "3 GPUs against 1";
  EXPECT_NEAR(r.a.at("cost_per_million_requests_usd"), r.a.at("cost_usd") / 100 * 1e6, 1e-6);
}

// Services of the same name and selector in two namespaces each count only
// their own namespace's pods: their shares add up to the cost once.
TEST(Accounting, ServicesCountOnlyThePodsOfTheirNamespace) {
  std::string yaml = Scenario("pricePerHour: 10");
  // Put b's Deployment and Service in another namespace, selecting `app: a`
  // as a's do, under a's names.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"metadata: {name: b}", "metadata: {name: a, namespace: other}"},
           {"matchLabels: {app: b}", "matchLabels: {app: a}"},
           {"labels: {app: b}", "labels: {app: a}"},
           {"selector: {app: b}", "selector: {app: a}"},
           {"{deployment: b,", "{deployment: a, namespace: other,"},
           {"{service: b,", "{service: a, namespace: other,"}}) {
    ASSERT_NE(yaml.find(from), std::string::npos) << from;
    for (auto at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at))
      yaml.replace(at, from.size(), to);
  }
  const Outputs r = RunIt(yaml);
  EXPECT_NEAR(r.a.at("cost_usd") + r.b.at("cost_usd"), r.platform.at("cost_usd"), 1e-9);
  EXPECT_NEAR(r.b.at("cost_usd") / r.a.at("cost_usd"), 3.0, 1e-3) << "3 GPUs against 1";
}

TEST(Accounting, ASpotPoolIsBilledAtItsSpotPrice) {
  const Outputs r = RunIt(Scenario("pricePerHour: 10\n    spotPricePerHour: 3\n    spot: true"));
  EXPECT_NEAR(r.platform.at("cost_usd"), 3 * 2 * kNodeLifeS / 3600, 1e-9);
}

// Without power figures in the scenario, a pool labelled with a product in
// gpu/catalogue/devices.json takes that device's idle and maximum watts.
TEST(Accounting, GpuPowerComesFromTheDeviceCatalogueByProductLabel) {
  std::ifstream file(platsim::testing::SourceDir() / "gpu/catalogue/devices.json");
  const auto catalogue = nlohmann::json::parse(file);
  double idle = -1, max = -1;
  for (const auto& d : catalogue["devices"]) {
    if (d["name"] == "H100-SXM") {
      idle = d["idleWatts"].get<double>();
      max = d["maxWatts"].get<double>();
    }
  }
  ASSERT_GT(idle, 0);
  const Outputs r = RunIt(Scenario("labels: {nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3}"),
                          /*requests_a=*/1);
  // One one-second batch for each service; every GPU idle otherwise.
  EXPECT_NEAR(r.platform.at("energy_kwh"), (2 * 4 * idle * kNodeLifeS + (max - idle) * 2) / 3.6e6,
              1e-9);
}

}  // namespace
}  // namespace platsim::platform
