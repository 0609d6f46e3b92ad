#include "models/service_time.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sim/stats.h"
#include "tests/testing/temp_dir.h"

namespace platsim::models {
namespace {

TEST(LogNormalServiceTime, HasTheRequestedMeanAndCoefficientOfVariation) {
  LogNormalServiceTime model(0.040, 0.5);
  sim::RandomStream rng(1);
  sim::RunningStats s;
  for (int i = 0; i < 400000; ++i)
    s.Add(sim::ToSeconds(model.BatchTime(1, rng)));
  EXPECT_NEAR(s.mean(), 0.040, 5 * 0.020 / std::sqrt(400000.0));
  EXPECT_NEAR(std::sqrt(s.variance()) / s.mean(), 0.5, 0.01);
}

TEST(BatchLatencyTable, IsExactAtPointsLinearBetweenAndExtendsTheLastSlope) {
  BatchLatencyTable t({{1, 0.010}, {4, 0.016}, {8, 0.020}});
  EXPECT_DOUBLE_EQ(t.LatencySeconds(1), 0.010);
  EXPECT_DOUBLE_EQ(t.LatencySeconds(4), 0.016);
  EXPECT_DOUBLE_EQ(t.LatencySeconds(2), 0.012);   // 10 + (2-1) * 6/3 ms
  EXPECT_DOUBLE_EQ(t.LatencySeconds(6), 0.018);   // 16 + (6-4) * 4/4 ms
  EXPECT_DOUBLE_EQ(t.LatencySeconds(16), 0.028);  // 20 + (16-8) * 1 ms
  EXPECT_DOUBLE_EQ(BatchLatencyTable({{2, 0.5}}).LatencySeconds(9), 0.5);
}

TEST(ServiceTimeFromScenario, ReadsAProfileFile) {
  platsim::testing::TempDir dir;
  dir.Write("p.json", R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
    "metadata": {"name": "toy"},
    "batchLatency": [{"batchSize": 1, "latencySeconds": 0.01},
                     {"batchSize": 8, "latencySeconds": 0.024}]})");
  input::Diagnostics diags;
  const auto src = input::ParseYaml("kind: profile\nfile: p.json\n", "s.yaml", diags);
  auto model = ServiceTimeFromScenario(src->documents[0], dir.path(), diags);
  ASSERT_NE(model, nullptr);
  sim::RandomStream rng(1);
  EXPECT_EQ(model->BatchTime(1, rng), 10 * sim::kMillisecond);
  EXPECT_EQ(model->BatchTime(8, rng), 24 * sim::kMillisecond);
  EXPECT_EQ(model->BatchTime(4, rng), 16 * sim::kMillisecond);
}

TEST(ServiceTimeFromScenario, WarnsOfSequencesBeyondTheModelsContext) {
  platsim::testing::TempDir dir;
  dir.Write("p.json", R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
    "metadata": {"name": "toy", "contextTokens": 1024},
    "prefill": {"batchSizes": [1, 2], "tokens": [128, 512],
                "latencySeconds": [[0.01, 0.02], [0.02, 0.04]]},
    "decode": {"batchSizes": [1, 2], "kvLengths": [128, 512],
               "latencySeconds": [[0.001, 0.002], [0.002, 0.003]]}})");
  struct Case {
    const char* fields;
    bool warns;
  };
  for (const Case c : {Case{"promptTokens: 1000\noutputTokens: 24\n", false},
                       Case{"promptTokens: 1000\noutputTokens: 25\n", true}}) {
    input::Diagnostics diags;
    const auto src =
        input::ParseYaml(std::string("kind: profile\nfile: p.json\n") + c.fields, "s.yaml", diags);
    ASSERT_NE(ServiceTimeFromScenario(src->documents[0], dir.path(), diags), nullptr);
    bool warned = false;
    for (const auto& d : diags.all()) {
      if (d.message.find("beyond the model's context of 1024 tokens") != std::string::npos) {
        warned = true;
        EXPECT_EQ(d.location.line, 3) << "at promptTokens";
      }
    }
    EXPECT_EQ(warned, c.warns) << c.fields;
  }
}

TEST(ReadLatencyProfile, ReportsBadEntriesWithTheirLines) {
  platsim::testing::TempDir dir;
  const auto path = dir.Write("p.json",
                              "{\"apiVersion\": \"platsim.dev/v1alpha1\", \"kind\": \"Other\",\n"
                              " \"batchLatency\": [{\"batchSize\": 4, \"latencySeconds\": 0.01},\n"
                              "   {\"batchSize\": 2, \"latencySeconds\": -1}]}\n");
  input::Diagnostics diags;
  EXPECT_FALSE(ReadLatencyProfile(path, "p.json", diags).has_value());
  std::string all;
  for (const auto& d : diags.all())
    all += input::Format(d) + "\n";
  EXPECT_NE(all.find("p.json:1:48: kind: wrong kind"), std::string::npos) << all;
  EXPECT_NE(all.find("p.json:3:39: batchLatency[1].latencySeconds: out of range"),
            std::string::npos)
      << all;
}

TEST(ServiceTimeFromScenario, RequiresAKind) {
  input::Diagnostics diags;
  const auto src = input::ParseYaml("mean: 10ms\n", "s.yaml", diags);
  EXPECT_EQ(ServiceTimeFromScenario(src->documents[0], ".", diags), nullptr);
  ASSERT_TRUE(diags.has_errors());
  EXPECT_EQ(input::Format(diags.all()[0]), "s.yaml:1:1: kind: required field is missing");
}

}  // namespace
}  // namespace platsim::models
