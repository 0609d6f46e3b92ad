#include "models/latency_grid.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/service_time.h"
#include "tests/testing/temp_dir.h"

namespace platsim::models {
namespace {

// t = 1 + 2x + 3y + 0.5xy (in ms), which the fit's basis can represent.
double Trend(double x, double y) {
  return (1 + 2 * x + 3 * y + 0.5 * x * y) * 1e-3;
}

LatencyGrid TrendGrid() {
  const std::vector<double> xs = {1, 2, 4, 8}, ys = {16, 64, 256};
  std::vector<double> t;
  for (double x : xs)
    for (double y : ys)
      t.push_back(Trend(x, y));
  return LatencyGrid(xs, ys, t);
}

TEST(LatencyGrid, IsExactAtGridPointsAndBilinearBetweenThem) {
  const std::vector<double> xs = {1, 3}, ys = {10, 20};
  const LatencyGrid g(xs, ys, {1.0, 2.0, 3.0, 5.0});  // (1,10) (1,20) (3,10) (3,20)
  EXPECT_DOUBLE_EQ(g.Seconds(1, 10), 1.0);
  EXPECT_DOUBLE_EQ(g.Seconds(3, 20), 5.0);
  EXPECT_DOUBLE_EQ(g.Seconds(2, 15), (1.0 + 2.0 + 3.0 + 5.0) / 4);  // the centre
  EXPECT_DOUBLE_EQ(g.Seconds(1, 15), 1.5);
}

TEST(LatencyGrid, RecoversATrendOfItsOwnFormAndExtrapolatesItExactly) {
  const LatencyGrid g = TrendGrid();
  EXPECT_NEAR(g.fit()[0], 1e-3, 1e-12);
  EXPECT_NEAR(g.fit()[3], 0.5e-3, 1e-12);
  for (const auto& [x, y] :
       std::vector<std::pair<double, double>>{{16, 64}, {32, 1024}, {8, 4096}}) {
    EXPECT_NEAR(g.Seconds(x, y), Trend(x, y), 1e-9) << x << "," << y;
  }
  const auto check = g.CheckFit();
  EXPECT_EQ(check.points, 12);
  EXPECT_LT(check.max_relative_error, 1e-9);
}

TEST(LatencyGrid, HeldOutErrorIsReportedForSurfacesTheFitCannotMatch) {
  // A quadratic in batch size: the bilinear trend misses its curvature.
  const std::vector<double> xs = {1, 2, 4, 8, 16}, ys = {128, 512};
  std::vector<double> t;
  for (double x : xs)
    for (double y : ys)
      t.push_back(1e-3 * (1 + x * x + y / 100));
  const LatencyGrid g(xs, ys, t);
  const auto check = g.CheckFit();
  EXPECT_GT(check.max_relative_error, 0.05);
  EXPECT_GE(check.max_relative_error, check.mean_relative_error);
}

TEST(LatencyGrid, IsContinuousAtTheEdgeAndNeverFallsBelowIt) {
  const LatencyGrid g = TrendGrid();
  // A step of 1e-6 past the edge moves the value by about slope x step,
  // (2 + 0.5 * 256) ms x 1e-6 = 1.3e-7 s: no jump.
  EXPECT_NEAR(g.Seconds(8.000001, 256), g.Seconds(8, 256), 2e-7);
  // Below the grid the trend would fall; the edge value holds.
  EXPECT_GE(g.Seconds(0.5, 8), g.Seconds(1, 16));
}

TEST(DecoderServiceTime, IsPrefillPlusOneDecodeStepPerOutputToken) {
  // Prefill(b, p) = Trend; decode step(b, kv) = 1e-4 * b + 1e-6 * kv exactly.
  const std::vector<double> xs = {1, 4}, ys = {16, 256};
  std::vector<double> decode_t;
  for (double x : xs)
    for (double y : ys)
      decode_t.push_back(1e-4 * x + 1e-6 * y);
  auto prefill = std::make_shared<const LatencyGrid>(TrendGrid());
  auto decode = std::make_shared<const LatencyGrid>(xs, ys, decode_t);
  const DecoderServiceTime model(prefill, decode, 32, 3, "test grids", false);
  double want = Trend(2, 32);
  for (int i = 1; i <= 3; ++i)
    want += 1e-4 * 2 + 1e-6 * (32 + i);
  EXPECT_NEAR(model.MeanBatchSeconds(2), want, 1e-12);
  EXPECT_NEAR(model.MeanBatchSeconds(2), want, 1e-12) << "cached value is the same";
}

TEST(ServiceTimeFromScenario, UsesTheGridsAProfileProvides) {
  platsim::testing::TempDir dir;
  dir.Write("p.json", R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
    "metadata": {"name": "toy", "estimate": true},
    "encoder": {"batchSizes": [1, 8], "sequenceLengths": [64, 128],
                "latencySeconds": [[0.010, 0.012], [0.020, 0.030]]}})");
  input::Diagnostics diags;
  const auto ok =
      input::ParseYaml("kind: profile\nfile: p.json\nsequenceLength: 128\n", "s.yaml", diags);
  auto model = ServiceTimeFromScenario(ok->documents[0], dir.path(), diags);
  ASSERT_NE(model, nullptr);
  EXPECT_DOUBLE_EQ(model->MeanBatchSeconds(8), 0.030);
  const auto bad = input::ParseYaml(
      "kind: profile\nfile: p.json\npromptTokens: 8\noutputTokens: 2\n", "s.yaml", diags);
  EXPECT_EQ(ServiceTimeFromScenario(bad->documents[0], dir.path(), diags), nullptr);
  std::string all;
  for (const auto& d : diags.all())
    all += input::Format(d) + "\n";
  EXPECT_NE(all.find("needs both prefill and decode grids"), std::string::npos) << all;
}

TEST(ReadLatencyProfile, ReportsAGridWithTheWrongShape) {
  platsim::testing::TempDir dir;
  const auto path =
      dir.Write("p.json",
                "{\"apiVersion\": \"platsim.dev/v1alpha1\", \"kind\": \"LatencyProfile\",\n"
                " \"decode\": {\"batchSizes\": [1, 2], \"kvLengths\": [8, 16],\n"
                "  \"latencySeconds\": [[0.1, 0.2], [0.3]]}}\n");
  input::Diagnostics diags;
  EXPECT_FALSE(ReadLatencyProfile(path, "p.json", diags).has_value());
  ASSERT_TRUE(diags.has_errors());
  EXPECT_EQ(input::Format(diags.all()[0]),
            "p.json:3:34: decode.latencySeconds[1]: expected 2 values, one per kvLengths");
}

}  // namespace
}  // namespace platsim::models
