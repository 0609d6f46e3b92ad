#include "platform/api_server.h"

#include <gtest/gtest.h>

#include <vector>

namespace platsim::platform {
namespace {

Service MakeService(const std::string& name) {
  Service s;
  s.meta.name = name;
  s.meta.namespace_name = "default";
  s.selector = {{"app", name}};
  return s;
}

TEST(ApiServer, WritesLandAfterTheRequestLatencyAndNotifyWatchers) {
  sim::Engine engine(1);
  ApiServer api(engine, 20 * sim::kMillisecond);
  std::vector<std::pair<sim::Time, WatchType>> seen;
  api.Watch<Service>([&](WatchType t, const Service&) { seen.emplace_back(engine.Now(), t); });
  api.Create(MakeService("a"));
  EXPECT_EQ(api.Get<Service>("default/a"), nullptr) << "not visible before the latency";
  engine.Run();
  const Service* s = api.Get<Service>("default/a");
  ASSERT_NE(s, nullptr);
  EXPECT_GT(s->meta.uid, 0u);
  EXPECT_GT(s->meta.resource_version, 0);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], std::make_pair(20 * sim::kMillisecond, WatchType::kAdded));
}

TEST(ApiServer, UpdateWithAStaleResourceVersionConflicts) {
  sim::Engine engine(1);
  ApiServer api(engine, sim::kMillisecond);
  api.Create(MakeService("a"));
  engine.Run();
  Service first = *api.Get<Service>("default/a");
  Service second = first;
  first.selector["v"] = "1";
  second.selector["v"] = "2";
  WriteStatus a = WriteStatus::kNotFound, b = WriteStatus::kNotFound;
  api.Update(first, [&](WriteStatus s) { a = s; });
  api.Update(second, [&](WriteStatus s) { b = s; });
  engine.Run();
  EXPECT_EQ(a, WriteStatus::kOk);
  EXPECT_EQ(b, WriteStatus::kConflict);
  EXPECT_EQ(api.Get<Service>("default/a")->selector.at("v"), "1");
}

TEST(ApiServer, CreateOfAnExistingKeyFailsAndPatchAppliesToTheStoredObject) {
  sim::Engine engine(1);
  ApiServer api(engine, sim::kMillisecond);
  WriteStatus second = WriteStatus::kOk;
  api.Create(MakeService("a"));
  api.Create(MakeService("a"), [&](WriteStatus s) { second = s; });
  api.Patch<Service>("default/a", [](Service& s) { s.selector["patched"] = "yes"; });
  engine.Run();
  EXPECT_EQ(second, WriteStatus::kAlreadyExists);
  EXPECT_EQ(api.Get<Service>("default/a")->selector.count("patched"), 1u);
}

TEST(ApiServer, DeletingABoundPodIsGracefulAndASecondDeleteRemovesIt) {
  sim::Engine engine(1);
  ApiServer api(engine, sim::kMillisecond);
  Pod pod;
  pod.meta.name = "p";
  pod.meta.namespace_name = "default";
  pod.node_name = "n";
  std::vector<WatchType> seen;
  api.Watch<Pod>([&](WatchType t, const Pod&) { seen.push_back(t); });
  api.Create(pod);
  api.Delete<Pod>("default/p");
  engine.Run();
  ASSERT_NE(api.Get<Pod>("default/p"), nullptr);
  EXPECT_TRUE(api.Get<Pod>("default/p")->meta.deleting);
  api.Delete<Pod>("default/p");
  engine.Run();
  EXPECT_EQ(api.Get<Pod>("default/p"), nullptr);
  EXPECT_EQ(seen,
            (std::vector<WatchType>{WatchType::kAdded, WatchType::kModified, WatchType::kDeleted}));
}

}  // namespace
}  // namespace platsim::platform
