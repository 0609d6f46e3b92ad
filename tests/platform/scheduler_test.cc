#include "platform/scheduler.h"

#include <gtest/gtest.h>

#include "platform/controllers/replicaset.h"

namespace platsim::platform {
namespace {

constexpr std::int64_t kGi = 1024LL * 1024 * 1024;

TEST(SchedulerScore, MatchesLeastAllocatedPlusBalancedAllocationByHand) {
  // Node: 10 cpu, 100Gi. Used 2 cpu, 20Gi; pod asks 2 cpu, 30Gi.
  // cpu fraction 4/10, memory 50/100.
  // LeastAllocated: ((10-4)*100/10 + (100-50)*100/100) / 2 = (60 + 50) / 2 = 55.
  // Balanced: std of {0.4, 0.5} = 0.05 -> (1 - 0.05) * 100 = 95.
  const Resources alloc{10000, 100 * kGi, 0, 110};
  const Resources used{2000, 20 * kGi, 0, 1};
  const Resources pod{2000, 30 * kGi, 0, 0};
  EXPECT_EQ(Scheduler::Score(alloc, used, pod), 55 + 95);
}

TEST(SchedulerScore, PodsWithoutRequestsScoreWithTheNonZeroDefaults) {
  // 100m cpu of 1000m and 200Mi of 1000Mi: LeastAllocated (90 + 80) / 2 = 85;
  // fractions 0.1 and 0.2: balanced (1 - 0.05) * 100 = 95.
  const Resources alloc{1000, 1000LL * 1024 * 1024, 0, 110};
  EXPECT_EQ(Scheduler::Score(alloc, Resources{}, Resources{}), 85 + 95);
}

TEST(SchedulerScore, MoreCpuAloneCanTieThroughBalancedAllocation) {
  const Resources pod{1000, 8 * kGi, 1, 0};
  // 32 cpu, 256Gi: fit (96 + 96) / 2 = 96; fractions equal: balanced 100.
  EXPECT_EQ(Scheduler::Score({32000, 256 * kGi, 8, 110}, {}, pod), 96 + 100);
  // 64 cpu, 256Gi: fit (98 + 96) / 2 = 97; fractions 1/64 and 1/32: std
  // 1/128, balanced int(99.2) = 99.
  EXPECT_EQ(Scheduler::Score({64000, 256 * kGi, 8, 110}, {}, pod), 97 + 99);
}

// calculatePriority(sumImageScores(...)) by hand, for images of a given
// size on some of the nodes: sum = size x nodes with it / all nodes,
// clamped to [23MiB, 1000MiB x containers], scaled onto 0..100.
TEST(SchedulerScore, ImageLocalityScalesTheImageBySpreadAndThresholds) {
  constexpr std::int64_t kMiB = 1024 * 1024;
  // 500MiB on 1 of 2 nodes: 250MiB; 100 x (250 - 23) / (1000 - 23) = 23.
  EXPECT_EQ(Scheduler::ImageLocalityScore(true, 500 * kMiB, 1, 2, 1), 23);
  // 10GiB on 2 of 4: 5GiB, past the 1000MiB bound: 100.
  EXPECT_EQ(Scheduler::ImageLocalityScore(true, 10240 * kMiB, 2, 4, 1), 100);
  // Two containers raise the bound to 2000MiB: 100 x (1500 - 23) / 1977 = 74.
  EXPECT_EQ(Scheduler::ImageLocalityScore(true, 1500 * kMiB, 1, 1, 2), 74);
  // Under 23MiB, or not on the node: 0.
  EXPECT_EQ(Scheduler::ImageLocalityScore(true, 20 * kMiB, 1, 1, 1), 0);
  EXPECT_EQ(Scheduler::ImageLocalityScore(false, 10240 * kMiB, 1, 1, 1), 0);
}

TEST(Scheduler, NormalizedImageNamesGetTheLatestTagUnlessTaggedOrDigested) {
  EXPECT_EQ(NormalizedImageName("vllm/vllm-openai"), "vllm/vllm-openai:latest");
  EXPECT_EQ(NormalizedImageName("vllm/vllm-openai:v0.6"), "vllm/vllm-openai:v0.6");
  EXPECT_EQ(NormalizedImageName("registry:5000/model"), "registry:5000/model:latest");
  EXPECT_EQ(NormalizedImageName("model@sha256:abc"), "model@sha256:abc");
}

// The worked table of numFeasibleNodesToFind with the adaptive default.
TEST(SchedulerScore, ExaminesTheShareOfNodesUpstreamDoes) {
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(50), 50) << "under 100: all";
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(100), 100) << "49% is 49: at least 100";
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(500), 230) << "46%";
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(1000), 420) << "42%";
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(5000), 500) << "10%";
  EXPECT_EQ(Scheduler::NumFeasibleNodesToFind(10000), 500) << "5% at least";
}

struct Cluster {
  sim::Engine engine{1};
  ApiServer api{engine, sim::kMillisecond};
  EventListSink events;
  Scheduler scheduler{engine, api, events};

  void AddNode(const std::string& name, std::int64_t gpus, std::int64_t cpu_milli = 32000,
               std::int64_t memory_bytes = 256 * kGi) {
    Node n;
    n.meta.name = name;
    n.allocatable = Resources{cpu_milli, memory_bytes, gpus, 110};
    api.Create(n);
  }
  // A node of 32 cpu and 256Gi, or twice that if `big`, with 8 GPUs.
  void AddSizedNode(const std::string& name, bool big, Labels labels = {},
                    std::vector<Taint> taints = {}) {
    Node n;
    n.meta.name = name;
    n.meta.labels = std::move(labels);
    n.allocatable = Resources{big ? 64000 : 32000, big ? 512 * kGi : 256 * kGi, 8, 110};
    n.taints = std::move(taints);
    api.Create(n);
  }
  void AddPod(const std::string& name, std::int64_t gpus, std::int64_t cpu_milli = 1000) {
    Pod p;
    p.meta.name = name;
    p.meta.namespace_name = "default";
    p.spec.requests = Resources{cpu_milli, 8 * kGi, gpus, 0};
    api.Create(p);
  }
};

TEST(Scheduler, SpreadsPodsToTheLeastAllocatedNode) {
  Cluster c;
  c.AddNode("a", 8);
  // Twice the cpu and memory: after the pod, LeastAllocated gives b 98
  // against a's 96, both perfectly balanced (100). With twice the cpu only,
  // b's imbalance would cost exactly what it gains: a tie at 196.
  c.AddNode("b", 8, 64000, 512 * kGi);
  c.engine.Run();
  c.AddPod("p1", 1);
  c.engine.Run();
  EXPECT_EQ(c.api.Get<Pod>("default/p1")->node_name, "b");
}

// Two identical nodes, one with the pod's 8GiB image: ImageLocality's 100
// breaks what would otherwise be a random tie, under every seed.
TEST(Scheduler, PrefersTheNodeThatHasTheImage) {
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    sim::Engine engine(seed);
    ApiServer api(engine, sim::kMillisecond);
    EventListSink events;
    Scheduler scheduler(engine, api, events);
    for (const char* name : {"a", "b"}) {
      Node n;
      n.meta.name = name;
      n.allocatable = Resources{32000, 256 * kGi, 8, 110};
      if (std::string(name) == "b") n.images["model:1"] = 8 * kGi;
      api.Create(n);
    }
    engine.Run();
    Pod p;
    p.meta.name = "p";
    p.meta.namespace_name = "default";
    p.spec.image = "model:1";
    p.spec.requests = Resources{1000, 8 * kGi, 1, 0};
    api.Create(p);
    engine.Run();
    EXPECT_EQ(api.Get<Pod>("default/p")->node_name, "b") << "seed " << seed;
  }
}

// The cache of requested resources, kept from watch events, equals a
// recount of the bound pods after binds and deletions.
TEST(Scheduler, ItsCacheMatchesARecountOfTheBoundPods) {
  Cluster c;
  for (const char* name : {"a", "b", "c"})
    c.AddNode(name, 4);
  c.engine.Run();
  for (int i = 0; i < 9; ++i)
    c.AddPod("p" + std::to_string(i), 1, 500 + 100 * i);
  c.engine.Run();
  for (const char* gone : {"default/p1", "default/p4"}) {
    c.api.Delete<Pod>(gone);  // graceful
    c.api.Delete<Pod>(gone);  // and final
  }
  c.engine.Run();
  std::map<std::string, Resources> recount;
  for (const auto& [k, p] : c.api.List<Pod>()) {
    if (p.node_name.empty()) continue;
    Resources r = p.spec.requests;
    r.pods = 1;
    recount[p.node_name] += r;
  }
  for (const char* node : {"a", "b", "c"}) {
    const Resources cached = c.scheduler.RequestedForTesting(node);
    EXPECT_EQ(cached.cpu_milli, recount[node].cpu_milli) << node;
    EXPECT_EQ(cached.gpus, recount[node].gpus) << node;
    EXPECT_EQ(cached.pods, recount[node].pods) << node;
  }
}

// The cache copies what its filters read from each node; writes to the
// node reach the copy: readiness, taints, allocatable and images.
TEST(Scheduler, FollowsTheWritesToItsNodes) {
  // Pods that fit nowhere are retried every 5 minutes for good, so the
  // engine runs a second at a time.
  Cluster c;
  // Why a new pod fits nowhere (a pod's FailedScheduling is emitted once).
  const auto why = [&c](const std::string& pod) {
    c.AddPod(pod, 1);
    c.engine.RunUntil(c.engine.Now() + sim::kSecond);
    for (const auto& e : c.events.events) {
      if (e.reason == "FailedScheduling" && e.object == "default/" + pod) return e.message;
    }
    return std::string("bound to ") + c.api.Get<Pod>("default/" + pod)->node_name;
  };
  c.AddNode("a", 1);
  c.engine.Run();
  c.api.Patch<Node>("a", [](Node& n) { n.ready = false; });
  c.engine.Run();  // no pod waits yet: the queue empties
  EXPECT_EQ(why("p1"), "0/1 nodes are available: 1 node(s) were not ready.");
  // Ready again, with a taint the pods do not tolerate.
  c.api.Patch<Node>("a", [](Node& n) {
    n.ready = true;
    n.taints = {Taint{"gpu", "true", TaintEffect::kNoSchedule}};
  });
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  EXPECT_EQ(why("p2"), "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}.");
  // Untainted, but its one GPU gone.
  c.api.Patch<Node>("a", [](Node& n) {
    n.taints.clear();
    n.allocatable.gpus = 0;
  });
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  EXPECT_EQ(why("p3"), "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
  // The GPU back: one of the waiting pods is bound at once (allocatable grew).
  c.api.Patch<Node>("a", [](Node& n) { n.allocatable.gpus = 1; });
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  int bound = 0;
  for (const auto& [k, p] : c.api.List<Pod>())
    bound += p.node_name == "a";
  EXPECT_EQ(bound, 1);
  // A node deleted and created again under its name keeps what its pods
  // request, as upstream's cache keeps a node's pods until they go.
  c.api.Delete<Node>("a");
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  c.AddNode("a", 1);
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  EXPECT_EQ(c.scheduler.RequestedForTesting("a").gpus, 1);
  EXPECT_EQ(why("p4"), "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
  // An image pulled later: of two equal nodes, the one that has it wins.
  c.AddNode("b", 8);
  c.AddNode("c", 8);
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  c.api.Patch<Node>("c", [](Node& n) { n.images["model:1"] = 8 * kGi; });
  c.engine.RunUntil(c.engine.Now() + sim::kSecond);
  for (int i = 0; i < 4; ++i) {  // one at a time: each finds c the best
    Pod q;
    q.meta.name = "q" + std::to_string(i);
    q.meta.namespace_name = "default";
    q.spec.image = "model:1";
    c.api.Create(q);
    c.engine.RunUntil(c.engine.Now() + sim::kSecond);
    EXPECT_EQ(c.api.Get<Pod>("default/" + q.meta.name)->node_name, "c") << i;
  }
}

TEST(Scheduler, NeverOvercommitsGpusAndExplainsWhy) {
  Cluster c;
  c.AddNode("a", 2);
  c.engine.Run();
  for (const char* name : {"p1", "p2", "p3"})
    c.AddPod(name, 1);
  c.engine.RunUntil(sim::kSecond);
  int bound = 0;
  for (const auto& [k, p] : c.api.List<Pod>())
    bound += !p.node_name.empty();
  EXPECT_EQ(bound, 2);
  bool explained = false;
  for (const auto& e : c.events.events) {
    if (e.reason == "FailedScheduling") {
      EXPECT_EQ(e.message, "0/1 nodes are available: 1 Insufficient nvidia.com/gpu.");
      explained = true;
    }
  }
  EXPECT_TRUE(explained);
  // Freeing a GPU lets the waiting pod in.
  std::string freed;
  for (const auto& [k, p] : c.api.List<Pod>()) {
    if (!p.node_name.empty()) freed = k;
  }
  c.api.Delete<Pod>(freed);  // graceful
  c.api.Delete<Pod>(freed);  // and final (no kubelet in this test)
  c.engine.RunUntil(2 * sim::kSecond);
  bound = 0;
  for (const auto& [k, p] : c.api.List<Pod>())
    bound += !p.node_name.empty();
  EXPECT_EQ(bound, 2) << "the unschedulable pod was retried on the deletion";
}

// Three nodes: "cpu" lacks the pod's nodeSelector label; "gpu-0" and
// "gpu-1" carry a NoSchedule taint the pod does not tolerate. The message
// is upstream's FitError form (reasons sorted as strings), without the
// preemption suffix platsim does not simulate.
TEST(Scheduler, TaintsAndSelectorsFilterWithUpstreamsMessage) {
  Cluster c;
  for (const char* name : {"cpu", "gpu-0", "gpu-1"}) {
    Node n;
    n.meta.name = name;
    n.allocatable = Resources{32000, 256 * kGi, 8, 110};
    if (std::string(name) != "cpu") {
      n.meta.labels = {{"accelerator", "h100"}};
      n.taints = {Taint{"gpu", "true", TaintEffect::kNoSchedule}};
    }
    c.api.Create(n);
  }
  c.engine.Run();
  Pod p;
  p.meta.name = "p";
  p.meta.namespace_name = "default";
  p.spec.placement.node_selector = {{"accelerator", "h100"}};
  c.api.Create(p);
  c.engine.RunUntil(sim::kSecond);
  ASSERT_FALSE(c.events.events.empty());
  EXPECT_EQ(c.events.events.back().message,
            "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 "
            "node(s) had untolerated taint {gpu: true}.");
  // Tolerating the taint lets the pod onto a GPU node, never the cpu node.
  Pod q = p;
  q.meta.name = "q";
  Toleration t;
  t.key = "gpu";
  t.exists = true;
  q.spec.placement.tolerations = {t};
  c.api.Create(q);
  c.engine.RunUntil(2 * sim::kSecond);
  EXPECT_EQ(c.api.Get<Pod>("default/q")->node_name.rfind("gpu-", 0), 0u)
      << c.api.Get<Pod>("default/q")->node_name;
}

// Preferred affinity (weight 2) outweighs a small resource advantage:
// "b" has twice the cpu and memory (resource score 198 against "a"'s 196),
// but "a" is preferred: 196 + 2 * 100 beats 198 + 0.
TEST(Scheduler, PreferredAffinityAndPreferNoScheduleTaintsWeighAsUpstream) {
  Cluster c;
  c.AddSizedNode("a", false, {{"zone", "a"}});
  c.AddSizedNode("b", true, {{"zone", "b"}});
  c.engine.Run();
  Pod p;
  p.meta.name = "p";
  p.meta.namespace_name = "default";
  p.spec.requests = Resources{1000, 8 * kGi, 1, 0};
  p.spec.placement.preferred = {
      {1, NodeSelectorTerm{{{"zone", NodeSelectorRequirement::Operator::kIn, {"a"}}}}}};
  c.api.Create(p);
  Pod q = p;
  q.meta.name = "q";
  q.spec.placement.preferred.clear();
  c.api.Create(q);
  c.engine.RunUntil(sim::kSecond);
  EXPECT_EQ(c.api.Get<Pod>("default/p")->node_name, "a");
  EXPECT_EQ(c.api.Get<Pod>("default/q")->node_name, "b") << "without the preference";

  // A PreferNoSchedule taint on "b" (weight 3: 0 against 300) sends an
  // untolerating pod to "a" despite b's resources.
  Cluster d;
  d.AddSizedNode("a", false);
  d.AddSizedNode("b", true, {}, {Taint{"spot", "", TaintEffect::kPreferNoSchedule}});
  d.engine.Run();
  d.AddPod("r", 1);
  d.engine.RunUntil(sim::kSecond);
  EXPECT_EQ(d.api.Get<Pod>("default/r")->node_name, "a");
}

TEST(ReplicaSetController, CreatesExactlyTheReplicasDespiteWriteLatency) {
  sim::Engine engine(1);
  ApiServer api(engine, 50 * sim::kMillisecond);
  EventListSink events;
  ReplicaSetController controller(engine, api, events);
  ReplicaSet rs;
  rs.meta.name = "rs";
  rs.meta.namespace_name = "default";
  rs.replicas = 5;
  rs.selector = {{"app", "x"}};
  rs.pod_template.labels = {{"app", "x"}};
  api.Create(rs);
  engine.RunUntil(10 * sim::kSecond);
  EXPECT_EQ(api.List<Pod>().size(), 5u) << "expectations must stop duplicate creates";
  EXPECT_EQ(api.Get<ReplicaSet>("default/rs")->status.replicas, 5);

  // Scale down to 2: the five pods rank alike (no scheduler here, so all are
  // unscheduled, Pending, not ready, created together); three are deleted.
  ReplicaSet scaled = *api.Get<ReplicaSet>("default/rs");
  scaled.replicas = 2;
  api.Update(scaled);
  engine.RunUntil(20 * sim::kSecond);
  EXPECT_EQ(api.List<Pod>().size(), 2u);
}

}  // namespace
}  // namespace platsim::platform
