// The cluster autoscaler's arithmetic against examples worked out by hand
// from upstream's rules (cluster-autoscaler 1.36.1: estimator/
// binpacking_estimator.go, expander/waste/waste.go, simulator/utilization/
// info.go).
#include "platform/controllers/cluster_autoscaler_algorithm.h"

#include <gtest/gtest.h>

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
