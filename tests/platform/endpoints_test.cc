// The endpoints controller and kube-proxy's programming of the Service
// proxy, driven through the API server directly.
#include "platform/controllers/endpoints.h"

#include <gtest/gtest.h>

#include <vector>

#include "platform/serving/kube_proxy.h"

namespace platsim::platform {
namespace {

constexpr sim::Time kLatency = 10 * sim::kMillisecond;

Service MakeService() {
  Service s;
  s.meta.name = "web";
  s.meta.namespace_name = "default";
  s.selector = {{"app", "web"}};
  return s;
}

Pod MakePod(const std::string& name, bool ready, const std::string& app = "web") {
  Pod p;
  p.meta.name = name;
  p.meta.namespace_name = "default";
  p.meta.labels = {{"app", app}};
  p.node_name = "node-0";
  p.phase = PodPhase::kRunning;
  p.ready = ready;
  return p;
}

struct World {
  sim::Engine engine{1};
  ApiServer api{engine, kLatency};
  NullEventSink events;
  EndpointsController controller{engine, api, events};
};

TEST(EndpointsController, ListsTheSelectedRunningPodsWithTheirConditions) {
  World w;
  w.api.Create(MakeService());
  w.api.Create(MakePod("b", true));
  w.api.Create(MakePod("a", false));
  w.api.Create(MakePod("other", true, "db"));
  Pod pending = MakePod("c", false);
  pending.phase = PodPhase::kPending;  // no IP yet
  w.api.Create(pending);
  w.engine.Run();
  const Endpoints* e = w.api.Get<Endpoints>("default/web");
  ASSERT_NE(e, nullptr);
  const std::vector<Endpoint> want = {{"a", false, false, false}, {"b", true, true, false}};
  EXPECT_EQ(e->endpoints, want);

  // A deleted pod that still serves stays listed, terminating and not
  // ready (endpointslice podToEndpoint).
  w.api.Delete<Pod>("default/b");
  w.engine.Run();
  const std::vector<Endpoint> terminating = {{"a", false, false, false}, {"b", false, true, true}};
  EXPECT_EQ(w.api.Get<Endpoints>("default/web")->endpoints, terminating);
  w.api.Delete<Service>("default/web");
  w.engine.Run();
  EXPECT_EQ(w.api.Get<Endpoints>("default/web"), nullptr) << "gone with its Service";
}

// The controller's own patch may still be in flight when the pod changes
// back: it must compare with what it wrote, not with the cache, or the
// stale patch wins. Writes take 10 ms: Ready lands at 1.010 s (patch P1
// lands 1.020), not-Ready at 1.015 (the cache still says not ready).
TEST(EndpointsController, ConvergesWhenAPodChangesBackWhileItsPatchIsInFlight) {
  World w;
  w.api.Create(MakeService());
  w.api.Create(MakePod("a", false));
  w.engine.RunUntil(sim::kSecond);
  w.api.Patch<Pod>("default/a", [](Pod& p) { p.ready = true; });
  w.engine.ScheduleCallbackAt(1005 * sim::kMillisecond, [&] {
    w.api.Patch<Pod>("default/a", [](Pod& p) { p.ready = false; });
  });
  w.engine.Run();
  const std::vector<Endpoint> want = {{"a", false, false, false}};
  EXPECT_EQ(w.api.Get<Endpoints>("default/web")->endpoints, want);
}

// A hop that only counts what it is given.
class CountingHop : public Hop {
 public:
  void Accept(RequestId) override {}
  void Withdraw(RequestId) override {}
};

// kube-proxy syncs at once after an idle minSyncPeriod, otherwise at the
// period after the last sync, merging what changed in between
// (bounded_frequency_runner.go).
TEST(KubeProxy, SyncsAtMostOncePerMinSyncPeriodAndMergesChanges) {
  World w;
  RequestTable table;
  ServiceProxy proxy(w.engine, table, "default/web", Balancer::kRoundRobin);
  CountingHop a, b, c;
  std::map<std::string, Hop*> hops = {{"default/a", &a}, {"default/b", &b}, {"default/c", &c}};
  KubeProxy kube_proxy(w.engine, w.api, ProxyConfig{sim::kSecond, 0},
                       [&](const std::string& key) { return hops.at(key); });
  kube_proxy.AddProxy(proxy);
  std::vector<std::pair<sim::Time, std::size_t>> programmed;
  proxy.OnEndpointsChanged([&](std::size_t n) { programmed.emplace_back(w.engine.Now(), n); });

  w.api.Create(MakeService());  // lands at 10ms; its empty Endpoints at 20ms
  w.engine.ScheduleCallbackAt(5 * sim::kSecond, [&] { w.api.Create(MakePod("a", true)); });
  w.engine.ScheduleCallbackAt(5200 * sim::kMillisecond, [&] { w.api.Create(MakePod("b", true)); });
  w.engine.ScheduleCallbackAt(5500 * sim::kMillisecond, [&] { w.api.Create(MakePod("c", true)); });
  w.engine.Run();
  // Pod writes land 10ms after they are made, their Endpoints patch 10ms
  // after that: changes reach kube-proxy at 5.02, 5.22 and 5.52 s.
  const std::vector<std::pair<sim::Time, std::size_t>> want = {
      {20 * sim::kMillisecond, 0},    // idle: at once
      {5020 * sim::kMillisecond, 1},  // idle for long: at once
      {6020 * sim::kMillisecond, 3},  // b and c merged, a period after the last sync
  };
  EXPECT_EQ(programmed, want);
}

}  // namespace
}  // namespace platsim::platform
