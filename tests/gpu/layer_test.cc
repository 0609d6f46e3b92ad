// Whole layers, the embedding and the profiler on the GPU, against the CPU
// reference. The reference rounds each intermediate tensor to bf16 where
// the GPU stores one, so the comparison measures the kernels' own error
// (relative norm within 1e-2). Without a device every test skips.
#include "gpu/layer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "gpu/device_timer.h"
#include "gpu/profile_command.h"
#include "gpu/reference.h"
#include "tests/gpu/testing.h"
#include "tests/testing/temp_dir.h"

namespace platsim::gpu {
namespace {

class GpuLayer : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!DeviceAvailable(&why)) GTEST_SKIP() << "GPU tests skipped: " << why;
    seed_ = std::random_device{}();
  }

  template <class T>
  static std::vector<T> Download(const DeviceArray<T>& a) {
    Check(cudaDeviceSynchronize(), "kernels");
    std::vector<T> host(a.size());
    Check(cudaMemcpy(host.data(), a.get(), a.bytes(), cudaMemcpyDeviceToHost), "download");
    return host;
  }
  static std::vector<float> Floats(const DeviceArray<bf16>& a) {
    std::vector<float> out;
    for (const bf16 v : Download(a))
      out.push_back(__bfloat162float(v));
    return out;
  }
  static void RoundToBf16(std::span<float> v) {
    for (float& x : v)
      x = __bfloat162float(__float2bfloat16(x));
  }
  static ModelShape Small(Architecture arch) {
    return testing::SmallModel(arch, 256);  // head dimension 64, as the kernels need
  }

  void ExpectLayerMatches(const ModelShape& m, Phase phase, int batch, int length) {
    const LayerWeights w = RandomLayerWeights(m, seed_, nullptr);
    LayerActivations a = RandomLayerActivations(m, phase, batch, length, seed_ + 1000, nullptr);
    reference::LayerWeights hw;
    auto host = [](const DeviceArray<bf16>& d) {
      return d.size() ? Floats(d) : std::vector<float>();
    };
    hw = {host(w.q),    host(w.k),     host(w.v),     host(w.o),     host(w.gate), host(w.up),
          host(w.down), host(w.norm1), host(w.bias1), host(w.norm2), host(w.bias2)};
    const std::vector<float> x = Floats(a.x);
    std::vector<float> kc = host(a.k_cache), vc = host(a.v_cache);
    a.y = DeviceArray<bf16>(a.y.size());
    Check(cudaMemset(a.y.get(), 0xff, a.y.bytes()), "poison");  // bf16 0xffff is NaN
    Gemm gemm;
    LayerForward(m, w, a, gemm, nullptr);
    const auto want = reference::LayerForward(m, hw, x, phase == Phase::kDecode, batch, length, &kc,
                                              &vc, RoundToBf16);
    EXPECT_LT(testing::RelativeError(Floats(a.y), want), 1e-2) << "seed " << seed_;
  }

  unsigned seed_ = 0;
};

TEST_F(GpuLayer, DecoderPrefillAndDecodeMatchTheReference) {
  ExpectLayerMatches(Small(Architecture::kDecoder), Phase::kPrefill, 2, 33);
  ExpectLayerMatches(Small(Architecture::kDecoder), Phase::kDecode, 3, 70);
}

TEST_F(GpuLayer, EncoderAndMlpLayersMatchTheReference) {
  ExpectLayerMatches(Small(Architecture::kEncoder), Phase::kPrefill, 3, 40);
  ExpectLayerMatches(Small(Architecture::kMlp), Phase::kPrefill, 5, 3);
}

TEST_F(GpuLayer, EmbeddingGathersTheRowsOfItsIds) {
  const int vocab = 300, tokens = 77;
  for (const int h : {256, 100}) {  // 16-byte moves, and not
    DeviceArray<bf16> table(vocab * h), y(tokens * h);
    DeviceArray<int> ids(tokens);
    FillUniform(table.get(), vocab * h, 1.0f, seed_, nullptr);
    FillIndices(ids.get(), tokens, vocab, seed_ + 1, nullptr);
    Embedding(ids.get(), table.get(), y.get(), tokens, h, nullptr);
    const auto t = Floats(table), got = Floats(y);
    const auto id = Download(ids);
    for (int i = 0; i < tokens; ++i) {
      ASSERT_TRUE(id[i] >= 0 && id[i] < vocab);
      for (int j = 0; j < h; ++j)
        ASSERT_EQ(got[long(i) * h + j], t[long(id[i]) * h + j]) << "token " << i;
    }
  }
}

TEST_F(GpuLayer, RandomFillsAreDeterministicBoundedAndNotConstant) {
  const long n = 100003;
  DeviceArray<bf16> a(n), b(n);
  FillUniform(a.get(), n, 0.5f, 42, nullptr);
  FillUniform(b.get(), n, 0.5f, 42, nullptr);
  const auto x = Floats(a), y = Floats(b);
  EXPECT_EQ(x, y);
  double sum = 0, squares = 0;
  for (const float v : x) {
    ASSERT_LE(std::abs(v), 0.5f);
    sum += v;
    squares += double(v) * v;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(squares / n, 0.25 / 3, 0.005);  // variance of U(-0.5, 0.5)
}

TEST_F(GpuLayer, TheTimerGivesOrderedPositiveTimingsForEveryPiece) {
  const ModelShape m = Small(Architecture::kDecoder);
  DeviceTimer timer(m, 2, 20);
  auto ordered = [](const Timing& t, const std::string& what) {
    EXPECT_EQ(t.repetitions, 20) << what;
    EXPECT_GT(t.min, 0) << what;
    EXPECT_LE(t.min, t.p10) << what;
    EXPECT_LE(t.p10, t.median) << what;
    EXPECT_LE(t.median, t.p90) << what;
    EXPECT_LE(t.p90, t.max) << what;
  };
  ordered(timer.Layer(Phase::kPrefill, 2, 128), "prefill");
  ordered(timer.Layer(Phase::kDecode, 4, 512), "decode");
  ordered(timer.Embedding(64), "embedding");
  ordered(timer.Head(4), "head");
  for (const KernelCase& k : KernelCasesFor(m))
    ordered(timer.Kernel(k), k.name);
  const Ceilings c = timer.MeasureCeilings();
  EXPECT_GT(c.copy_bytes_per_s(), 1e11) << "a GPU copies faster than 100 GB/s";
  EXPECT_GT(c.bf16_flops_per_s(), 1e13) << "and multiplies faster than 10 TFLOP/s";
}

TEST_F(GpuLayer, TheProfileCommandWritesAProfileAndNothingElse) {
  platsim::testing::TempDir dir;
  const auto catalogue = dir.Write("models.json", R"({
    "apiVersion": "platsim.dev/v1alpha1", "kind": "ModelCatalogue",
    "models": [{"name": "small-mlp", "architecture": "mlp", "layers": 2, "hidden": 256,
                "heads": 0, "kvHeads": 0, "ffn": 512, "vocab": 0, "norm": "layernorm",
                "activation": "gelu"}]})");
  const auto out = dir.path() / "profile.json";
  ProfileCommand c{"small-mlp", out.string(), catalogue.string(), 1, 20, false};
  std::ostringstream o, e;
  ASSERT_EQ(RunProfileCommand(c, o, e), 0) << e.str();
  EXPECT_FALSE(std::filesystem::exists(out.string() + ".partial"));
  const auto profile = nlohmann::json::parse(std::ifstream(out));
  EXPECT_EQ(profile.at("metadata").at("estimate"), false);
  for (const auto& row : profile.at("encoder").at("latencySeconds"))
    for (const auto& t : row)
      EXPECT_GT(t.get<double>(), 0);
  c.model = "nope";
  EXPECT_EQ(RunProfileCommand(c, o, e), 2);
}

}  // namespace
}  // namespace platsim::gpu
