#include "platform/controllers/deployment.h"

#include <gtest/gtest.h>

#include "platform/controllers/replicaset.h"
#include "platform/names.h"

namespace platsim::platform {
namespace {

TEST(DeploymentController, DefaultMaxUnavailableFollowsTheFencepostRules) {
  // K8S-SEMANTICS worked example: 10 replicas -> surge 3, unavailable 2.
  EXPECT_EQ(DeploymentController::DefaultMaxUnavailable(10), 2);
  // 25% of 1 rounds down to 0, but surge rounds up to 1, so 0 stays.
  EXPECT_EQ(DeploymentController::DefaultMaxUnavailable(1), 0);
  // 0 replicas: both 0, so maxUnavailable becomes 1.
  EXPECT_EQ(DeploymentController::DefaultMaxUnavailable(0), 1);
}

TEST(DeploymentController, OwnsOneReplicaSetPerTemplateAndScalesIt) {
  sim::Engine engine(1);
  ApiServer api(engine, 5 * sim::kMillisecond);
  EventListSink events;
  DeploymentController deployments(engine, api, events);
  ReplicaSetController replicasets(engine, api, events);
  Deployment d;
  d.meta.name = "web";
  d.meta.namespace_name = "default";
  d.replicas = 3;
  d.selector = {{"app", "web"}};
  d.pod_template.labels = {{"app", "web"}};
  d.pod_template.image = "web:1";
  api.Create(d);
  engine.RunUntil(sim::kSecond);

  const std::string hash = TemplateHash(d.pod_template);
  const ReplicaSet* rs = api.Get<ReplicaSet>("default/web-" + hash);
  ASSERT_NE(rs, nullptr) << "the ReplicaSet is named <deployment>-<pod-template-hash>";
  EXPECT_EQ(rs->replicas, 3);
  EXPECT_EQ(rs->selector.at("pod-template-hash"), hash);
  EXPECT_EQ(api.List<ReplicaSet>().size(), 1u) << "reconciling again must not create another";
  EXPECT_EQ(api.List<Pod>().size(), 3u);
  EXPECT_EQ(api.Get<Deployment>("default/web")->status.replicas, 3);

  Deployment scaled = *api.Get<Deployment>("default/web");
  scaled.replicas = 5;
  api.Update(scaled);
  engine.RunUntil(2 * sim::kSecond);
  EXPECT_EQ(api.Get<ReplicaSet>("default/web-" + hash)->replicas, 5);
  EXPECT_EQ(api.List<Pod>().size(), 5u);
  EXPECT_EQ(api.Get<Deployment>("default/web")->status.replicas, 5);
}

TEST(Objects, AnEmptySelectorMatchesNothing) {
  EXPECT_FALSE(SelectorMatches({}, {{"app", "x"}}));
  EXPECT_TRUE(SelectorMatches({{"app", "x"}}, {{"app", "x"}, {"tier", "gpu"}}));
  EXPECT_FALSE(SelectorMatches({{"app", "x"}, {"tier", "cpu"}}, {{"app", "x"}, {"tier", "gpu"}}));
}

}  // namespace
}  // namespace platsim::platform
