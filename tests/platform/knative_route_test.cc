#include "platform/controllers/knative_route.h"

#include <gtest/gtest.h>

namespace platsim::platform::kserve {
namespace {

using Targets = std::vector<KnativeTrafficTarget>;

// kserve pkg/controller/v1beta1/inferenceservice/reconcilers/knative/
// ksvc_reconciler_test.go TestCreateKnativeService (rolled out
// test-revision-1, previously test-revision-0): canaryTrafficPercent 20
// splits 20 to the latest and 80 to the rolled-out revision; none gives
// the latest 100; 100 gives one target of 100.
TEST(KServeCanary, TrafficFollowsTheReconcilersTable) {
  const RolloutStatus status{"test-revision-1", "test-revision-0"};
  EXPECT_EQ(CanaryTraffic(20, status), (Targets{{"", 20}, {"test-revision-1", 80}}));
  EXPECT_EQ(CanaryTraffic(std::nullopt, status), (Targets{{"", 100}}));
  EXPECT_EQ(CanaryTraffic(100, status), (Targets{{"", 100}}));
  // With nothing rolled out yet, the latest takes everything whatever the
  // percent (the split needs a revision to keep the rest).
  EXPECT_EQ(CanaryTraffic(20, RolloutStatus{}), (Targets{{"", 100}}));
  // 0: every request back to the rolled-out revision, the latest named.
  EXPECT_EQ(CanaryTraffic(0, status), (Targets{{"", 0}, {"test-revision-1", 100}}));
}

// The canary sequence of kserve's controller_test.go ("Create Canary
// InferenceService"): revision-v1 at 100% as the latest is rolled out; a
// canary of 20 on revision-v2 does not roll it out; once canaryTraffic-
// Percent is removed and revision-v2 has 100%, it is the rolled-out one and
// revision-v1 the previous.
TEST(KServeCanary, RolledOutRevisionsFollowTheControllersSequence) {
  RolloutStatus status;
  PropagateRolledOut({{"revision-v1", 100, true}}, "revision-v1", "revision-v1", status);
  EXPECT_EQ(status, (RolloutStatus{"revision-v1", ""}));
  PropagateRolledOut({{"revision-v2", 20, true}, {"revision-v1", 80, false}}, "revision-v2",
                     "revision-v2", status);
  EXPECT_EQ(status, (RolloutStatus{"revision-v1", ""}));
  PropagateRolledOut({{"revision-v2", 100, true}}, "revision-v2", "revision-v2", status);
  EXPECT_EQ(status, (RolloutStatus{"revision-v2", "revision-v1"}));
}

// The status of inference_service_status_test.go TestPropagateStatus
// "Status with Traffic Routing for Rolledout Revision" (upstream checks
// only its readiness there; the expected revisions here are read from
// PropagateStatus's code): the rolled-out latest revision at 90% alone
// (its targets do not add to 100) stays rolled out; split over itself to
// 100 (a canary percent set after its rollout) it goes back to the
// previous one.
TEST(KServeCanary, ARolledOutRevisionSplitOverItselfGoesBack) {
  RolloutStatus status{"test-predictor-default-0001", ""};
  PropagateRolledOut({{"test-predictor-default-0001", 90, true}}, "test-predictor-default-0001",
                     "test-predictor-default-0001", status);
  EXPECT_EQ(status.latest, "test-predictor-default-0001");

  status = {"v2", "v1"};
  PropagateRolledOut({{"v2", 20, true}, {"v2", 80, false}}, "v2", "v2", status);
  EXPECT_EQ(status, (RolloutStatus{"v1", "v1"}));
  // No previous revision: nothing to go back to.
  status = {"v2", ""};
  PropagateRolledOut({{"v2", 20, true}, {"v2", 80, false}}, "v2", "v2", status);
  EXPECT_EQ(status.latest, "v2");
  // A latest ready revision that is not the latest created is not taken back.
  status = {"v2", "v1"};
  PropagateRolledOut({{"v2", 20, true}, {"v2", 80, false}}, "v2", "v3", status);
  EXPECT_EQ(status.latest, "v2");
}

}  // namespace
}  // namespace platsim::platform::kserve
