#include "models/llm_step_time.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "models/input/yaml_reader.h"
#include "tests/testing/temp_dir.h"

namespace platsim::models {
namespace {

const std::filesystem::path kProfile =
    platsim::testing::SourceDir() / "gpu/profiles/h100-80gb-hbm3/llama-3-8b.json";

LatencyProfile Load() {
  input::Diagnostics diags;
  auto p = ReadLatencyProfile(kProfile, "llama-3-8b.json", diags);
  if (!p) {
    ADD_FAILURE() << "cannot read " << kProfile;
    std::abort();
  }
  return *p;
}

nlohmann::json Json() {
  input::Diagnostics diags;
  const auto text = input::ReadInputFile(kProfile.string(), "p", diags);
  EXPECT_TRUE(text.has_value());
  return nlohmann::json::parse(text.value_or("{}"));
}

// Llama-3-8B's published size is 8.03 billion parameters, and its KV cache
// 128 KiB a token in bf16 (2 x 32 layers x 8 KV heads x 128 dims x 2 bytes).
TEST(StepTimeModel, TheProfilesModelShapeGivesLlama3SizeAndKvBytes) {
  const LatencyProfile p = Load();
  ASSERT_TRUE(p.model.has_value());
  EXPECT_NEAR(p.model->Parameters(), 8.03e9, 0.005e9);
  EXPECT_EQ(p.model->KvBytesPerToken(2), 131072.0);
  EXPECT_NEAR(p.copy_bandwidth_gbps, 3004.85, 0.01);
}

// A pure prefill or decode step is the profile's measurement at its grid
// points, read here from the JSON itself.
TEST(StepTimeModel, PureStepsAreTheProfilesGridPoints) {
  const StepTimeModel model(Load());
  const nlohmann::json j = Json();
  // Every point of a section: its batch b and length y, as a step.
  auto each = [&](const char* section, const char* lengths, auto step) {
    const auto& grid = j[section];
    for (std::size_t i = 0; i < grid["batchSizes"].size(); ++i) {
      for (std::size_t k = 0; k < grid[lengths].size(); ++k) {
        const int b = grid["batchSizes"][i], y = grid[lengths][k];
        const double want = grid["latencySeconds"][i][k];
        EXPECT_NEAR(model.Seconds(step(b, y)), want, want * 1e-9)
            << section << " " << b << ", " << y;
      }
    }
  };
  each("prefill", "tokens", [](int b, int t) {
    return StepShape{.prefill_seqs = b, .prefill_tokens = std::int64_t{b} * t};
  });
  each("decode", "kvLengths",
       [](int b, int l) { return StepShape{.decode_seqs = b, .decode_kv = std::int64_t{b} * l}; });
}

// A mixed step reads the weights once: the two parts less the weights'
// read time, 8.03e9 x 2 bytes at 3004.85 GB/s = 5.35 ms, which is less than
// the fastest decode step measured (8.5 ms: a decode cannot beat reading
// the weights).
TEST(StepTimeModel, AMixedStepReadsTheWeightsOnce) {
  const StepTimeModel model(Load());
  EXPECT_NEAR(model.weight_read_s(), 8.03e9 * 2 / 3004.85e9, 0.01e-3);
  EXPECT_LT(model.weight_read_s(), model.DecodeSeconds(1, 128));
  // One prompt of 512 tokens beside 32 decodes at KV 1024: the profile's
  // measured passes, read from the JSON (prefill batch 1 x 512 tokens;
  // decode batch 32 at 1024), less the weights' read time worked out above.
  const nlohmann::json j = Json();
  const double prefill = j["prefill"]["latencySeconds"][0][2];
  const double decode = j["decode"]["latencySeconds"][5][2];
  ASSERT_EQ(j["prefill"]["tokens"][2], 512);
  ASSERT_EQ(j["decode"]["batchSizes"][5], 32);
  ASSERT_EQ(j["decode"]["kvLengths"][2], 1024);
  const StepShape mixed{
      .prefill_seqs = 1, .prefill_tokens = 512, .decode_seqs = 32, .decode_kv = 32 * 1024};
  EXPECT_NEAR(model.Seconds(mixed), prefill + decode - 8.03e9 * 2 / 3004.85e9, 0.02e-3);
  EXPECT_GT(model.Seconds(mixed), std::max(prefill, decode));
}

// A chunk after earlier context costs more than the same chunk from the
// start (its attention reaches back). Within one cell of the grid the interpolation is linear in
// tokens, so the same chunk costs the same anywhere in the cell (2048 to
// 4096 tokens here): non-decreasing, and strictly more from cell to cell.
TEST(StepTimeModel, AChunkCostsMoreAfterContextAndIsContinuousAtNone) {
  const StepTimeModel model(Load());
  const double fresh = model.PrefillSeconds(1, 512, 0);
  double last = fresh;
  for (const double context : {512.0, 1024.0, 2048.0, 3584.0}) {
    const double t = model.PrefillSeconds(1, 512, context);
    EXPECT_GE(t, last) << context;
    last = t;
  }
  EXPECT_GT(model.PrefillSeconds(1, 512, 2048), model.PrefillSeconds(1, 512, 512));
  EXPECT_GT(model.PrefillSeconds(1, 512, 512), fresh);
}

}  // namespace
}  // namespace platsim::models
