// Profiles of models split over several GPUs (gpu/estimate.h): derived from
// a one-GPU measurement, or estimated from datasheet figures.
#include "gpu/estimate.h"

#include <gtest/gtest.h>

#include <string>

#include "gpu/catalogue.h"
#include "tests/testing/temp_dir.h"

namespace platsim::gpu {
namespace {

using Json = nlohmann::ordered_json;

ModelShape Llama() {
  std::vector<std::string> errors;
  const auto models = LoadCatalogue(
      (platsim::testing::SourceDir() / "gpu/catalogue/models.json").string(), &errors);
  for (const ModelShape& m : *models) {
    if (m.name == "llama-3-8b") return m;
  }
  ADD_FAILURE() << "no llama-3-8b in the catalogue";
  return {};
}

DeviceSheet H100() {
  DeviceSheet d;
  d.name = "H100-SXM";
  d.bf16_dense_tflops = 989.4;
  d.memory_bandwidth_gbps = 3350;
  d.memory_gib = 80;
  d.interconnect = "NVLink";
  d.interconnect_gbps = 450;
  d.collective_latency_us = 10;
  d.interconnect_source = "test";
  return d;
}

// A one-GPU profile as the profiler writes it, with measured ceilings of
// 800 TFLOP/s and 3,000 GB/s.
Json Measured() {
  return Json::parse(R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
    "metadata": {"name": "llama on a GPU", "estimate": false, "contextTokens": 8192},
    "provenance": {"method": "timed", "ceilings": {"copyBandwidthGBps": 3000, "bf16Tflops": 800},
                   "device": {"name": "GPU", "memoryGiB": 80},
                   "model": {"name": "llama-3-8b", "layers": 32, "hidden": 4096, "heads": 32,
                             "kvHeads": 8, "ffn": 14336, "vocab": 128256}},
    "prefill": {"batchSizes": [1, 4], "tokens": [128, 1024],
                "latencySeconds": [[0.01, 0.03], [0.03, 0.1]]},
    "decode": {"batchSizes": [1, 4], "kvLengths": [128, 1024],
               "latencySeconds": [[0.008, 0.0081], [0.0082, 0.0085]]},
    "measurements": {}, "kernels": []})");
}

double At(const Json& profile, const char* section, int row, int column) {
  return profile[section]["latencySeconds"][row][column].get<double>();
}

TEST(TensorParallelProfile, OverOneGpuItIsTheMeasurement) {
  std::string error;
  const Json same = TensorParallelProfile(Measured(), Llama(), H100(), 1, &error);
  ASSERT_TRUE(error.empty()) << error;
  for (const char* section : {"prefill", "decode"}) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 2; ++j)
        EXPECT_DOUBLE_EQ(At(same, section, i, j), At(Measured(), section, i, j));
    }
  }
}

TEST(TensorParallelProfile, SplittingScalesEachMeasuredPassByItsShareAndAddsTheCollectives) {
  std::string error;
  const Json split = TensorParallelProfile(Measured(), Llama(), H100(), 2, &error);
  ASSERT_TRUE(error.empty()) << error;
  // The collectives at 450 GB/s and 10 us: 65 all-reduces (2 per layer
  // and the embedding's) of the rows' hidden states, each GPU sending half,
  // and the logits' all-gather.
  auto collectives = [](double rows, double seqs) {
    return 65 * (10e-6 + rows * 4096 * 2 / 450e9) + 10e-6 + 0.5 * seqs * 128256 * 2 / 450e9;
  };
  // Prefill of 4 x 1024 tokens is bound by compute at 800 TFLOP/s, which
  // splits exactly in two.
  EXPECT_NEAR(At(split, "prefill", 1, 1), 0.1 / 2 + collectives(4096, 4), 1e-12);
  // Decode at batch 1 and KV 128 is bound by memory, so it scales by the
  // bytes each GPU reads, per layer: its weights (218,103,808 values whole;
  // q and o at 16 of 32 heads, k and v at 4 of 8, the FFN at half:
  // 109,051,904), the activations whole (8 x 4096 values) and its KV heads
  // (128 positions x K and V x 8 or 4 heads x 128); and the output head,
  // 4096 x 128,256 whole or half. All in bf16.
  const double whole = 32 * 2.0 * (218103808 + 8 * 4096 + 128 * 2 * 8 * 128) + 2.0 * 4096 * 128256;
  const double half = 32 * 2.0 * (109051904 + 8 * 4096 + 128 * 2 * 4 * 128) + 4096.0 * 128256;
  EXPECT_NEAR(At(split, "decode", 0, 0), 0.008 * half / whole + collectives(1, 1), 1e-12);
  // Labelled: an estimate over 2 GPUs, saying how it was made, without the
  // one GPU's kernel tables.
  EXPECT_EQ(split["metadata"]["estimate"], true);
  EXPECT_EQ(split["metadata"]["tensorParallelSize"], 2);
  EXPECT_EQ(split["provenance"]["measuredMethod"], "timed");
  EXPECT_EQ(split["provenance"]["tensorParallel"]["gbpsPerDirection"], 450.0);
  EXPECT_EQ(split["provenance"]["model"]["kvHeads"], 8);
  EXPECT_FALSE(split.contains("kernels"));
  EXPECT_FALSE(split.contains("measurements"));
}

TEST(TensorParallelProfile, SaysWhatTheMeasurementLacks) {
  std::string error;
  Json no_ceilings = Measured();
  no_ceilings["provenance"].erase("ceilings");
  TensorParallelProfile(no_ceilings, Llama(), H100(), 2, &error);
  EXPECT_NE(error.find("no measured ceilings"), std::string::npos) << error;
  error.clear();
  Json split = Measured();
  split["metadata"]["tensorParallelSize"] = 2;
  TensorParallelProfile(split, Llama(), H100(), 4, &error);
  EXPECT_NE(error.find("not a profile of one GPU"), std::string::npos) << error;
  error.clear();
  Json no_decode = Measured();
  no_decode.erase("decode");
  TensorParallelProfile(no_decode, Llama(), H100(), 2, &error);
  EXPECT_NE(error.find("has no decode grid"), std::string::npos) << error;
  error.clear();
  Json ragged = Measured();
  ragged["prefill"]["latencySeconds"][1] = Json::array({0.1});
  TensorParallelProfile(ragged, Llama(), H100(), 2, &error);
  EXPECT_NE(error.find("latencySeconds[1] does not match the axes"), std::string::npos) << error;
}

TEST(TensorParallelProblem, HeadsMustDivideAmongTheGpusAndKvHeadsEitherWay) {
  ModelShape m = Llama();  // 32 heads, 8 KV heads
  EXPECT_EQ(TensorParallelProblem(m, 1), "");
  EXPECT_EQ(TensorParallelProblem(m, 8), "");
  EXPECT_EQ(TensorParallelProblem(m, 16), "");  // each KV head on two GPUs
  EXPECT_NE(TensorParallelProblem(m, 3).find("32 attention heads do not divide among 3"),
            std::string::npos);
  m.heads = 24;
  m.kv_heads = 6;
  EXPECT_NE(TensorParallelProblem(m, 4).find("6 KV heads and 4 GPUs: neither divides"),
            std::string::npos);
}

TEST(RooflineProfile, OverSeveralGpusEachPointIsOneSharePlusTheCollectives) {
  const Json p = RooflineProfile(Llama(), H100(), 4);
  ASSERT_EQ(p["decode"]["batchSizes"][0], 1);
  ASSERT_EQ(p["decode"]["kvLengths"][0], 128);
  // Decode at batch 1 and KV 128 reads, per GPU of 4, per layer: q and o at
  // 8 of 32 heads, k and v at 2 of 8, a quarter of the FFN (54,525,952
  // values), the activations whole (8 x 4096) and 2 KV heads' 128
  // positions; and a quarter of the output head. At 3.35 TB/s, plus 65
  // all-reduces of 4096 values (each GPU sending 3/4 of them twice) and
  // the logits' all-gather, at 450 GB/s and 10 us each.
  const double bytes = 32 * 2.0 * (54525952 + 8 * 4096 + 128 * 2 * 2 * 128) + 2.0 * 4096 * 32064;
  const double comm = 65 * (10e-6 + 1.5 * 4096 * 2 / 450e9) + 10e-6 + 0.75 * 128256 * 2 / 450e9;
  EXPECT_NEAR(At(p, "decode", 0, 0), bytes / 3350e9 + comm, 1e-12);
  EXPECT_EQ(p["metadata"]["tensorParallelSize"], 4);
  EXPECT_EQ(p["metadata"]["estimate"], true);
  EXPECT_EQ(p["provenance"]["model"]["layers"], 32);
  // Over one GPU: no collectives, and no tensorParallelSize; the whole
  // model's bytes (218,103,808 weights a layer, 8 KV heads).
  const Json one = RooflineProfile(Llama(), H100());
  EXPECT_FALSE(one["metadata"].contains("tensorParallelSize"));
  const double whole = 32 * 2.0 * (218103808 + 8 * 4096 + 128 * 2 * 8 * 128) + 2.0 * 4096 * 128256;
  EXPECT_NEAR(At(one, "decode", 0, 0), whole / 3350e9, 1e-12);
}

}  // namespace
}  // namespace platsim::gpu
