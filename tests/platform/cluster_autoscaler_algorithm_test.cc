// The cluster autoscaler's arithmetic against examples worked out by hand
// from upstream's rules (cluster-autoscaler 1.36.1: estimator/
// binpacking_estimator.go, expander/waste/waste.go, simulator/utilization/
// info.go).
#include "platform/controllers/cluster_autoscaler_algorithm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace platsim::platform::ca {
namespace {

constexpr std::int64_t kGi = std::int64_t{1} << 30;

Resources Node8() {
  Resources r;
  r.cpu_milli = 8000;
  r.memory_bytes = 32 * kGi;
  r.gpus = 4;
  r.pods = 110;
  return r;
}

Resources Cpu(std::int64_t milli, std::int64_t gpus = 0) {
  Resources r;
  r.cpu_milli = milli;
  r.memory_bytes = kGi;
  r.gpus = gpus;
  return r;
}

TEST(CaEstimate, PacksAlikePodsTwoToANode) {
  // Five pods of 3 cores on 8-core nodes: 2 + 2 + 1.
  const Estimate e = EstimateNodes({std::vector<Resources>(5, Cpu(3000))}, Node8(), 10);
  EXPECT_EQ(e.nodes, 3);
  EXPECT_EQ(e.placed[0], 5);
}

TEST(CaEstimate, StopsAtTheLimit) {
  const Estimate e = EstimateNodes({std::vector<Resources>(5, Cpu(3000))}, Node8(), 2);
  EXPECT_EQ(e.nodes, 2);
  EXPECT_EQ(e.placed[0], 4);
}

// First-fit decreasing is not optimal: two 5-core pods (the bigger, first)
// take a node each, then three 2-core pods fill them to 7 and need a third
// node, although 16 cores would fit on two.
// At the limit no node is added, but a later (smaller) group still fills
// the nodes added: one node for a 6-core pod (the limit), then of three
// 1-core pods two fit beside it.
TEST(CaEstimate, AfterTheLimitLaterGroupsStillFillTheNodesAdded) {
  const Estimate e = EstimateNodes(
      {std::vector<Resources>(3, Cpu(1000)), std::vector<Resources>(2, Cpu(6000))}, Node8(), 1);
  EXPECT_EQ(e.nodes, 1);
  EXPECT_EQ(e.placed[1], 1);
  EXPECT_EQ(e.placed[0], 2);
}

TEST(CaEstimate, IsFirstFitDecreasingNotOptimal) {
  const Estimate e = EstimateNodes(
      {std::vector<Resources>(3, Cpu(2000)), std::vector<Resources>(2, Cpu(5000))}, Node8(), 10);
  EXPECT_EQ(e.nodes, 3);
  EXPECT_EQ(e.placed[0], 3);
  EXPECT_EQ(e.placed[1], 2);
}

TEST(CaEstimate, APodNoNodeTakesAddsNothing) {
  const Estimate e = EstimateNodes({{Cpu(9000)}, {Cpu(1000)}}, Node8(), 10);
  EXPECT_EQ(e.placed[0], 0);
  EXPECT_EQ(e.placed[1], 1);
  EXPECT_EQ(e.nodes, 1) << "the 1-core pod takes the node added in vain for the 9-core one";
}

TEST(CaEstimate, CountsGpus) {
  // Six 1-GPU pods on 4-GPU nodes.
  const Estimate e = EstimateNodes({std::vector<Resources>(6, Cpu(1000, 1))}, Node8(), 10);
  EXPECT_EQ(e.nodes, 2);
}

TEST(CaExpander, LeastWasteIsUnusedCpuPlusUnusedMemory) {
  Resources small = Node8(), big = Node8();
  big.cpu_milli = 16000;
  big.memory_bytes = 64 * kGi;
  Resources asked;
  asked.cpu_milli = 6000;
  asked.memory_bytes = 8 * kGi;
  // (8 - 6) / 8 + (32 - 8) / 32 = 0.25 + 0.75; (16 - 6) / 16 + (64 - 8) / 64.
  EXPECT_DOUBLE_EQ(WasteScore(small, 1, asked), 1.0);
  EXPECT_DOUBLE_EQ(WasteScore(big, 1, asked), 0.625 + 0.875);
  EXPECT_DOUBLE_EQ(WasteScore(small, 2, asked), 10.0 / 16 + 56.0 / 64);
}

// The price expander's numbers, worked out by hand for two 3-core, 1Gi
// pods on one 8-core node at 0.1 USD an hour in a cluster of no nodes (a
// 1-core preferred node): pods 2 x (3 x 0.033174 + 0.004446) = 0.207936,
// stabilization 0.5 x 0.033174 + 500/1024 x 0.004446 = 0.018758; price
// (0.1 + 0.018758) / (0.207936 + 0.018758) = 0.523868; unfitness 8, not
// suppressed for a single node: score 4.19094.
TEST(CaExpander, PriceScoresAsUpstreamsFormula) {
  const PodPricing gce;
  Resources pod = Cpu(3000);
  EXPECT_NEAR(PodPricePerHour(pod, gce), 0.103968, 1e-9);
  Resources stab;
  stab.cpu_milli = 500;
  stab.memory_bytes = 500 * (std::int64_t{1} << 20);
  const double stabilization = PodPricePerHour(stab, gce);
  EXPECT_NEAR(stabilization, 0.0187579, 1e-6);
  EXPECT_EQ(PreferredNodeCpuMilli(0), 1000);
  EXPECT_EQ(PreferredNodeCpuMilli(7), 4000);
  EXPECT_EQ(PreferredNodeCpuMilli(201), 32000);
  EXPECT_NEAR(PriceScore(0.1, 1, 2 * 0.103968, stabilization, 8000, 1000, false), 4.19094, 1e-4);
  // Two nodes: the unfitness of 8 is suppressed to 7 x (1 - tanh(1/15)) + 1.
  const double two = PriceScore(1.0, 2, 4 * 0.103968, stabilization, 8000, 1000, false);
  EXPECT_NEAR(
      two,
      (7 * (1 - std::tanh(1.0 / 15)) + 1) * (2.0 + stabilization) / (4 * 0.103968 + stabilization),
      1e-9);
  EXPECT_NEAR(PriceScore(0.1, 1, 0.2, 0.02, 8000, 1000, true), 1000 * 0.12 / 0.22, 1e-9)
      << "a GPU node's unfitness is 1000";
}

TEST(CaUtilization, GpuNodesByGpusOthersByTheLargerOfCpuAndMemory) {
  Resources used;
  used.cpu_milli = 7000;
  used.memory_bytes = 20 * kGi;
  used.gpus = 1;
  EXPECT_DOUBLE_EQ(Utilization(Node8(), used, true), 0.25) << "cpu is not looked at";
  EXPECT_DOUBLE_EQ(Utilization(Node8(), used, false), 0.875);
  used.cpu_milli = 3000;
  EXPECT_DOUBLE_EQ(Utilization(Node8(), used, false), 0.625);
  Resources no_gpus = Node8();
  no_gpus.gpus = 0;
  EXPECT_DOUBLE_EQ(Utilization(no_gpus, used, true), 0.0) << "GPUs not allocatable yet";
}

}  // namespace
}  // namespace platsim::platform::ca
