// Validation of the whole platform path (scenario loader, controllers,
// scheduler, kubelet, load balancer, model server) against closed-form
// queueing results. Each case runs a one-pod service as a queue: Poisson
// arrivals, maxBatchSize 1, maxConcurrency c on c GPUs (one server each), no timeout, and checks
// that the exact value lies within the 95% confidence interval of the mean
// over independent replications. The formulas are computed here, from the
// textbook expressions, not pasted.
#include <gtest/gtest.h>

#include <ostream>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "models/input/diagnostics.h"
#include "platform/events.h"
#include "platform/scenario.h"
#include "platform/simulation.h"
#include "sim/random.h"
#include "sim/stats.h"
#include "tests/testing/temp_dir.h"

namespace platsim {
namespace {

constexpr int kReplications = 10;
constexpr double kServiceS = 0.010;  // mean service time, 10 ms

// A pod with `gpus` GPUs (default: one per server) running `servers`
// batches of one at once.
std::string QueueScenario(double lambda, int servers, const std::string& service_time,
                          const std::string& duration, int gpus = 0) {
  if (gpus == 0) gpus = servers;
  return R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: queue}
spec:
  seed: 2024
  duration: )" +
         duration + R"(
  warmup: 200s
  nodePools:
  - name: pool
    count: 1
    allocatable: {cpu: "8", memory: 64Gi, nvidia.com/gpu: ")" +
         std::to_string(gpus) + R"("}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: q}
      spec:
        replicas: 1
        selector: {matchLabels: {app: q}}
        template:
          metadata: {labels: {app: q}}
          spec:
            containers:
            - name: server
              image: q:1
              resources: {limits: {nvidia.com/gpu: ")" +
         std::to_string(gpus) + R"("}}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: q}
      spec: {selector: {app: q}}
  modelServers:
  - deployment: q
    maxConcurrency: )" +
         std::to_string(servers) + R"(
    maxBatchSize: 1
    serviceTime: )" +
         service_time + R"(
  traffic:
  - service: q
    timeout: 0s
    arrivals: {kind: poisson, rate: )" +
         std::to_string(lambda) + R"(}
)";
}

struct Replicated {
  sim::Estimate latency_mean_s;
  sim::Estimate in_system_mean;
  sim::Estimate little_product;  // throughput x mean latency, per run
  sim::Estimate gpu_utilization;
};

Replicated RunReplications(const std::string& yaml) {
  platsim::testing::TempDir dir;
  const auto path = dir.Write("scenario.yaml", yaml);
  input::Diagnostics diags;
  const auto scenario = platform::LoadScenario(path.string(), diags);
  EXPECT_TRUE(scenario.has_value()) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  if (!scenario) return {};
  std::vector<double> w, l, little, gpu;
  for (int i = 0; i < kReplications; ++i) {
    platform::NullEventSink events;
    platform::Simulation sim(*scenario, sim::ReplicationSeed(scenario->seed, i), events, nullptr);
    const platform::RunResult r = sim.Run();
    const auto& m = r.services.at(0).metrics;
    EXPECT_EQ(m.at("dropped"), 0) << "the queue is unbounded: nothing may be dropped";
    EXPECT_EQ(m.at("timed_out"), 0);
    w.push_back(m.at("latency_mean_s"));
    l.push_back(m.at("in_system_mean"));
    little.push_back(m.at("arrival_rps") * m.at("latency_mean_s"));
    gpu.push_back(m.at("gpu_utilization"));
  }
  return {sim::ConfidenceInterval(w), sim::ConfidenceInterval(l), sim::ConfidenceInterval(little),
          sim::ConfidenceInterval(gpu)};
}

// Erlang C: probability that an arrival waits, for c servers and offered
// load a = lambda / mu (a < c).
double ErlangC(int c, double a) {
  double term = 1.0;  // a^k / k!
  double sum = 0.0;
  for (int k = 0; k < c; ++k) {
    sum += term;
    term *= a / (k + 1);
  }
  const double top = term * c / (c - a);  // a^c / c! * c / (c - a)
  return top / (sum + top);
}

void ExpectWithin(const sim::Estimate& e, double exact, const std::string& what) {
  // One line per check, so the test log doubles as the validation table.
  std::printf("  %-24s exact %.6g  simulated %.6g +- %.3g (%.2f%% of exact)\n", what.c_str(), exact,
              e.mean, e.half_width, 100.0 * e.half_width / exact);
  EXPECT_GT(e.half_width, 0.0) << what;
  EXPECT_LT(e.half_width, 0.05 * exact) << what << ": the interval is too wide to validate";
  EXPECT_NEAR(e.mean, exact, e.half_width)
      << what << ": exact " << exact << ", simulated " << e.mean << " +- " << e.half_width
      << " (95% CI over " << e.samples << " replications)";
}

struct MmcCase {
  const char* name;
  int servers;
  double rho;  // utilisation per server
  const char* duration;
};

std::ostream& operator<<(std::ostream& os, const MmcCase& c) {
  return os << c.name;
}

class MmcQueue : public ::testing::TestWithParam<MmcCase> {};

TEST_P(MmcQueue, MeanResponseTimeMatchesErlangC) {
  const MmcCase& c = GetParam();
  const double mu = 1.0 / kServiceS;
  const double lambda = c.rho * c.servers * mu;
  const Replicated r = RunReplications(
      QueueScenario(lambda, c.servers, "{kind: exponential, mean: 10ms}", c.duration));
  // W = C(c, a) / (c mu - lambda) + 1 / mu.
  const double w = ErlangC(c.servers, lambda / mu) / (c.servers * mu - lambda) + 1.0 / mu;
  ExpectWithin(r.latency_mean_s, w, std::string("W of ") + c.name);
  // Little's law: the time-average number in system equals lambda W.
  ExpectWithin(r.in_system_mean, lambda * w, std::string("L of ") + c.name);
  // Each of the c GPUs is busy a fraction rho of the time.
  ExpectWithin(r.gpu_utilization, c.rho, std::string("GPU busy of ") + c.name);
}

INSTANTIATE_TEST_SUITE_P(Loads, MmcQueue,
                         ::testing::Values(MmcCase{"MM1_rho05", 1, 0.5, "1200s"},
                                           MmcCase{"MM1_rho09", 1, 0.9, "3000s"},
                                           MmcCase{"MM4_rho05", 4, 0.5, "600s"},
                                           MmcCase{"MM4_rho09", 4, 0.9, "1200s"},
                                           MmcCase{"MM8_rho07", 8, 0.7, "600s"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ErlangC, ReducesToRhoForOneServer) {
  // For c = 1 the probability of waiting is the utilisation.
  EXPECT_NEAR(ErlangC(1, 0.7), 0.7, 1e-12);
}

TEST(MD1Queue, MeanResponseTimeMatchesPollaczekKhinchine) {
  const double rho = 0.8;
  const double lambda = rho / kServiceS;
  const Replicated r =
      RunReplications(QueueScenario(lambda, 1, "{kind: constant, value: 10ms}", "1500s"));
  // P-K: Wq = lambda E[S^2] / (2 (1 - rho)), E[S^2] = D^2 for constant D.
  const double w = kServiceS + lambda * kServiceS * kServiceS / (2.0 * (1.0 - rho));
  ExpectWithin(r.latency_mean_s, w, "W of M/D/1 at 0.8");
}

// Concurrent batches on one GPU share it: 64 at once on one GPU is an
// M/D/1 processor-sharing queue, not 64 servers. Its mean response time is
// insensitive to the service distribution, E[T] = D / (1 - rho) (Kleinrock,
// Queueing Systems vol. 2, 4.4), against P-K's D + rho D / (2 (1 - rho)) for
// one at a time, and D for 64 free servers. Beyond 64 in the system (rho^65,
// 5e-7 here) requests queue; that is negligible.
TEST(MD1ProcessorSharing, ConcurrencyOnOneGpuSharesItsTime) {
  const double rho = 0.8;
  const double lambda = rho / kServiceS;
  const Replicated r =
      RunReplications(QueueScenario(lambda, 64, "{kind: constant, value: 10ms}", "1500s", 1));
  ExpectWithin(r.latency_mean_s, kServiceS / (1.0 - rho), "W of M/D/1-PS at 0.8");
  ExpectWithin(r.gpu_utilization, rho, "GPU busy of M/D/1-PS");
}

// Four GPUs shared by up to 64 concurrent batches: with k running each
// progresses at min(1, 4/k) of its speed, so for exponential work the
// total completion rate is mu min(k, 4), as in M/M/4: the number in system,
// and so W, follow Erlang C although nobody waits in a queue.
TEST(MM4ProcessorSharing, SharingFourGpusCompletesAsFourServers) {
  const double rho = 0.7, mu = 1.0 / kServiceS;
  const double lambda = rho * 4 * mu;
  const Replicated r =
      RunReplications(QueueScenario(lambda, 64, "{kind: exponential, mean: 10ms}", "600s", 4));
  const double w = ErlangC(4, lambda / mu) / (4 * mu - lambda) + 1.0 / mu;
  ExpectWithin(r.latency_mean_s, w, "W of M/M/4 shared by 64");
  ExpectWithin(r.gpu_utilization, rho, "GPU busy of 4 shared GPUs");
}

TEST(LittlesLaw, HoldsForALognormalMultiServerQueue) {
  // No closed form for W here; Little's law still ties the time average of
  // the number in system to throughput x mean latency, run by run.
  const Replicated r =
      RunReplications(QueueScenario(300.0, 4, "{kind: lognormal, mean: 10ms, cv: 2}", "600s"));
  ExpectWithin(r.in_system_mean, r.little_product.mean, "L vs lambda W");
}

}  // namespace
}  // namespace platsim
