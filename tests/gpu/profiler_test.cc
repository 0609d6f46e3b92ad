// The profiler's plan, statistics and composition, driven by a timer whose
// answers are known formulas, so every composed number can be recomputed
// here independently.
#include "gpu/profiler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace platsim::gpu {
namespace {

ModelShape Llama() {
  ModelShape m;
  m.name = "llama-3-8b";
  m.architecture = Architecture::kDecoder;
  m.layers = 32;
  m.hidden = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.ffn = 14336;
  m.vocab = 128256;
  m.norm = Norm::kRmsNorm;
  m.activation = Activation::kSwiGlu;
  return m;
}

ModelShape Bert() {
  ModelShape m;
  m.name = "bert-base";
  m.architecture = Architecture::kEncoder;
  m.layers = 12;
  m.hidden = 768;
  m.heads = 12;
  m.kv_heads = 12;
  m.ffn = 3072;
  m.vocab = 30522;
  m.norm = Norm::kLayerNorm;
  m.activation = Activation::kGelu;
  return m;
}

TEST(Summarize, MedianPercentilesAndExtremesOfUnsortedSamples) {
  // 1..20 shuffled: median (10 + 11) / 2; nearest-rank p10 = 2, p90 = 18.
  std::vector<double> s(20);
  for (int i = 0; i < 20; ++i)
    s[i] = i + 1;
  std::shuffle(s.begin(), s.end(), std::mt19937(7));
  const Timing t = Summarize(s);
  EXPECT_EQ(t.repetitions, 20);
  EXPECT_DOUBLE_EQ(t.median, 10.5);
  EXPECT_DOUBLE_EQ(t.p10, 2);
  EXPECT_DOUBLE_EQ(t.p90, 18);
  EXPECT_DOUBLE_EQ(t.min, 1);
  EXPECT_DOUBLE_EQ(t.max, 20);
  const Timing odd = Summarize({5, 1, 3});
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.p10, 1);
  EXPECT_DOUBLE_EQ(odd.p90, 5);
  EXPECT_THROW(Summarize({}), std::invalid_argument);
}

TEST(RotationCopies, ExceedsFourTimesL2WithinTheBudget) {
  const double mb = 1e6, l2 = 50 * mb;
  EXPECT_EQ(RotationCopies(10 * mb, l2, 1e12), 20);      // 20 x 10 MB = 4 x 50 MB
  EXPECT_EQ(RotationCopies(15 * mb, l2, 1e12), 14);      // ceil(200 / 15)
  EXPECT_EQ(RotationCopies(436 * mb, l2, 1e12), 2);      // never fewer than two
  EXPECT_EQ(RotationCopies(10 * mb, l2, 55 * mb), 5);    // as many as fit
  EXPECT_EQ(RotationCopies(436 * mb, l2, 500 * mb), 1);  // one fits
  EXPECT_EQ(RotationCopies(436 * mb, l2, 400 * mb), 0);  // none fits
}

TEST(PlanFor, DecodersGetPrefillAndDecodeGridsOthersAnEncoderGrid) {
  const ProfilePlan llama = PlanFor(Llama());
  EXPECT_EQ(llama.prefill.batches.size() * llama.prefill.lengths.size(), 30u);
  EXPECT_EQ(llama.decode.batches.back(), 256);
  EXPECT_EQ(llama.decode.lengths.back(), 8192);
  EXPECT_TRUE(llama.encoder.batches.empty());
  const ProfilePlan bert = PlanFor(Bert());
  EXPECT_TRUE(bert.prefill.batches.empty());
  EXPECT_EQ(bert.encoder.lengths.back(), 512);
  // Every grid increases strictly in both directions (the latency model needs it).
  for (const Grid* g : {&llama.prefill, &llama.decode, &bert.encoder}) {
    EXPECT_TRUE(std::is_sorted(g->batches.begin(), g->batches.end()));
    EXPECT_EQ(std::adjacent_find(g->lengths.begin(), g->lengths.end()), g->lengths.end());
  }
}

TEST(KernelCasesFor, TrafficAndArithmeticOfTheLlamaLayer) {
  std::map<std::string, KernelCase> by_name;
  for (const KernelCase& k : KernelCasesFor(Llama()))
    by_name[k.name] = k;
  ASSERT_TRUE(by_name.count("gemm ffn up"));
  const KernelCase& up = by_name["gemm ffn up"];
  EXPECT_EQ(up.bound, Bound::kCompute);
  EXPECT_DOUBLE_EQ(up.flops, 2.0 * 4096 * 14336 * 4096);
  EXPECT_DOUBLE_EQ(up.bytes, 2.0 * (4096.0 * 4096 + 4096.0 * 14336 + 4096.0 * 14336));
  // K and V projections: 8 KV heads of 128.
  EXPECT_DOUBLE_EQ(by_name["gemm key/value"].flops, 2.0 * 4096 * 1024 * 4096);
  // RMSNorm reads and writes 4096 x 4096 bf16 values and reads its weights.
  EXPECT_DOUBLE_EQ(by_name["rmsnorm"].bytes, 2.0 * (2.0 * 4096 * 4096 + 4096));
  EXPECT_DOUBLE_EQ(by_name["swiglu"].bytes, 3 * 2.0 * 4096 * 14336);
  // Decode attention reads the K and V caches: 64 sequences x 4096 positions
  // x 8 heads x 128, twice, plus q and the output, and the lengths.
  const KernelCase& decode = by_name["attention_decode"];
  EXPECT_EQ(decode.bound, Bound::kMemory);
  EXPECT_DOUBLE_EQ(decode.bytes, 2.0 * (2.0 * 64 * 4096 * 8 * 128 + 2.0 * 64 * 32 * 128) + 4 * 64);
  // Causal prefill of 4096 tokens: 4096 * 4097 / 2 visible pairs per head,
  // 4 * 128 flops each (q.k and p.v).
  EXPECT_DOUBLE_EQ(by_name["attention_prefill"].flops, 4.0 * 128 * 32 * (4096.0 * 4097 / 2));
  EXPECT_EQ(by_name["attention_prefill"].dims.back(), 1) << "causal";
  EXPECT_TRUE(by_name.count("rope"));
  EXPECT_TRUE(by_name.count("embedding"));
  EXPECT_FALSE(by_name.count("gelu"));
}

TEST(KernelCasesFor, AnEncoderAttendsOverWholeSequencesWithLayerNormAndGelu) {
  std::map<std::string, KernelCase> by_name;
  for (const KernelCase& k : KernelCasesFor(Bert()))
    by_name[k.name] = k;
  EXPECT_TRUE(by_name.count("layernorm"));
  EXPECT_TRUE(by_name.count("gelu"));
  EXPECT_FALSE(by_name.count("rope"));
  EXPECT_FALSE(by_name.count("attention_decode"));
  EXPECT_FALSE(by_name.count("gemm key/value")) << "no grouped-query attention";
  // 8 sequences of 512, every query sees every key.
  const KernelCase& a = by_name["attention_prefill"];
  EXPECT_EQ(a.dims[0], 8);
  EXPECT_EQ(a.dims[1], 512);
  EXPECT_DOUBLE_EQ(a.flops, 4.0 * 64 * 8 * 12 * 512.0 * 512);
}

TEST(LayerBytes, LlamaWeightsAddUpToItsPublishedParameterCount) {
  // Llama 3 8B: 8,030,261,248 parameters = 32 layers + embedding + output
  // head (untied, vocabulary x hidden each) + the final norm.
  const ModelShape m = Llama();
  const double params = 32 * LayerWeightBytes(m) / 2 + 2.0 * m.vocab * m.hidden + m.hidden;
  EXPECT_DOUBLE_EQ(params, 8030261248.0);
}

TEST(LayerBytes, DecodeStepsCarryTheirKvCaches) {
  // K and V caches: 2 x batch x positions x 8 KV heads x 128 x 2 bytes.
  const ModelShape m = Llama();
  EXPECT_DOUBLE_EQ(LayerActivationBytes(m, Phase::kDecode, 64, 4096) -
                       LayerActivationBytes(m, Phase::kDecode, 64, 1),
                   2.0 * 64 * 4095 * 8 * 128 * 2);
  // A prefill step of b x n tokens holds what a decode step of b x n
  // sequences does, less the caches and the sequences' lengths (4 bytes each).
  EXPECT_DOUBLE_EQ(
      LayerActivationBytes(m, Phase::kPrefill, 4, 256),
      LayerActivationBytes(m, Phase::kDecode, 1024, 1) - 2.0 * 1024 * 8 * 128 * 2 - 4.0 * 1024);
}

TEST(CheckFits, NamesTheLargestStepWhenTheDeviceIsTooSmall) {
  const ModelShape m = Llama();
  EXPECT_EQ(CheckFits(m, PlanFor(m), 80e9), "");
  // The largest step is prefill of 16 x 4096 tokens: per token x, four
  // temporaries and y (5 x 4096), gate, up and the activation (3 x 14336), q
  // and the attention output (2 x 4096), k and v (2 x 1024), at 2 bytes,
  // and a 4-byte position: 147,460 bytes, 9.66 GB in all (decode at 256 x
  // 8192 holds 8.6 GB of caches).
  const std::string why = CheckFits(m, PlanFor(m), 8e9);
  EXPECT_NE(why.find("prefill at batch 16, length 4096 needs 9.7 GB"), std::string::npos) << why;
  EXPECT_NE(why.find("8.0 GB are free"), std::string::npos) << why;
}

// Layer time a + b*n*batch (seconds); embedding and head linear in their
// size; kernels take 1 ms; the ceilings a 1 GB copy in 1 ms and an 8192
// GEMM in 2 ms. Spreads are +-10% around the median.
class FormulaTimer : public Timer {
 public:
  DeviceInfo Device() override {
    DeviceInfo d;
    d.name = "Formula GPU";
    d.sm_count = 100;
    d.memory_bytes = 80.0 * (1 << 30);
    d.l2_bytes = 50.0 * (1 << 20);
    d.compute_capability = "9.0";
    d.driver_version = "CUDA 13.0";
    d.runtime_version = "13.0";
    d.cublas_version = "13.0.0";
    return d;
  }
  Ceilings MeasureCeilings() override {
    Ceilings c;
    c.copy_bytes = 1e9;
    c.copy = Around(1e-3);
    c.gemm_size = 8192;
    c.gemm = Around(2e-3);
    return c;
  }
  Timing Layer(Phase phase, int batch, int length) override {
    ++layer_calls;
    return Around(LayerSeconds(phase, batch, length));
  }
  Timing Embedding(int tokens) override {
    ++embedding_calls[tokens];
    return Around(1e-6 * tokens);
  }
  Timing Head(int rows) override {
    ++head_calls[rows];
    return Around(1e-4 + 1e-5 * rows);
  }
  Timing Kernel(const KernelCase&) override { return Around(1e-3); }

  static double LayerSeconds(Phase phase, int batch, int length) {
    return phase == Phase::kPrefill ? 1e-4 + 1e-8 * batch * length : 2e-5 + 1e-9 * batch * length;
  }
  static Timing Around(double median) {
    return Summarize({median * 0.9, median, median, median * 1.1});
  }

  int layer_calls = 0;
  std::map<int, int> embedding_calls, head_calls;
};

TEST(BuildProfile, GridPointsAreEmbeddingPlusLayersTimesOneLayerPlusHead) {
  const ModelShape llama = Llama();
  FormulaTimer timer;
  int steps = 0, last_done = 0, last_total = 0;
  ProfileOptions options{"abc123", "2026-11-22T12:00:00Z", 5, 30,
                         [&](int done, int total, const std::string&) {
                           ++steps;
                           last_done = done;
                           last_total = total;
                         }};
  const auto profile = BuildProfile(llama, timer, options);
  const ProfilePlan plan = PlanFor(llama);

  const auto& prefill = profile.at("prefill");
  ASSERT_EQ(prefill.at("batchSizes").size(), plan.prefill.batches.size());
  for (std::size_t i = 0; i < plan.prefill.batches.size(); ++i) {
    for (std::size_t j = 0; j < plan.prefill.lengths.size(); ++j) {
      const int b = plan.prefill.batches[i], n = plan.prefill.lengths[j];
      const double want =
          1e-6 * b * n + 32 * FormulaTimer::LayerSeconds(Phase::kPrefill, b, n) + (1e-4 + 1e-5 * b);
      EXPECT_NEAR(prefill.at("latencySeconds")[i][j].get<double>(), want, 1e-15 * want);
    }
  }
  const auto& decode = profile.at("decode");
  const int b = plan.decode.batches[3], kv = plan.decode.lengths[2];
  const double want =
      1e-6 * b + 32 * FormulaTimer::LayerSeconds(Phase::kDecode, b, kv) + (1e-4 + 1e-5 * b);
  EXPECT_NEAR(decode.at("latencySeconds")[3][2].get<double>(), want, 1e-15 * want);
  EXPECT_EQ(decode.at("kvLengths").back().get<int>(), 8192);

  // Raw layer measurements keep their spread.
  const auto& layer = profile.at("measurements").at("layerDecode");
  EXPECT_DOUBLE_EQ(layer.at("p10Seconds")[3][2].get<double>(),
                   0.9 * FormulaTimer::LayerSeconds(Phase::kDecode, b, kv));
  EXPECT_DOUBLE_EQ(layer.at("maxSeconds")[3][2].get<double>(),
                   1.1 * FormulaTimer::LayerSeconds(Phase::kDecode, b, kv));

  // Each embedding size and head size is measured once, however many grid
  // points share it.
  EXPECT_EQ(timer.layer_calls, 30 + 54);
  for (const auto& [tokens, calls] : timer.embedding_calls)
    EXPECT_EQ(calls, 1) << tokens;
  EXPECT_EQ(timer.head_calls.size(), 9u);  // the decode batch sizes cover the prefill ones

  EXPECT_EQ(last_done, last_total);
  EXPECT_EQ(steps, last_total);
}

TEST(BuildProfile, KernelFractionsAreOfTheMeasuredCeilings) {
  FormulaTimer timer;
  const auto profile = BuildProfile(Llama(), timer, {"c", "d", 5, 30, {}});
  // Copy: 2 x 1 GB in 1 ms = 2 TB/s. GEMM: 2 x 8192^3 in 2 ms.
  const double copy = 2e12, gemm = 2.0 * std::pow(8192.0, 3) / 2e-3;
  const auto& ceilings = profile.at("provenance").at("ceilings");
  EXPECT_DOUBLE_EQ(ceilings.at("copyBandwidthGBps").get<double>(), copy / 1e9);
  EXPECT_DOUBLE_EQ(ceilings.at("bf16Tflops").get<double>(), gemm / 1e12);
  const std::vector<KernelCase> cases = KernelCasesFor(Llama());
  const auto& table = profile.at("kernels");
  ASSERT_EQ(table.size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const double want = cases[i].bound == Bound::kMemory ? cases[i].bytes / 1e-3 / copy
                                                         : cases[i].flops / 1e-3 / gemm;
    EXPECT_DOUBLE_EQ(table[i].at("fractionOfCeiling").get<double>(), want) << cases[i].name;
    EXPECT_EQ(table[i].at("name"), cases[i].name);
  }
}

TEST(BuildProfile, RecordsProvenanceAndIsNotAnEstimate) {
  FormulaTimer timer;
  const auto profile = BuildProfile(Bert(), timer, {"abc123", "2026-11-22T12:00:00Z", 5, 30, {}});
  EXPECT_EQ(profile.at("kind"), "LatencyProfile");
  EXPECT_EQ(profile.at("metadata").at("estimate"), false);
  EXPECT_EQ(profile.at("metadata").at("name"), "bert-base on Formula GPU");
  const auto& p = profile.at("provenance");
  EXPECT_EQ(p.at("commit"), "abc123");
  EXPECT_EQ(p.at("date"), "2026-11-22T12:00:00Z");
  EXPECT_EQ(p.at("device").at("smCount"), 100);
  EXPECT_DOUBLE_EQ(p.at("device").at("memoryGiB").get<double>(), 80.0);
  EXPECT_EQ(p.at("software").at("cublas"), "13.0.0");
  EXPECT_EQ(p.at("timing").at("repetitions"), 30);
  // An encoder: embedding + 12 layers, no head.
  EXPECT_FALSE(profile.contains("prefill"));
  const double want = 1e-6 * 4 * 128 + 12 * FormulaTimer::LayerSeconds(Phase::kPrefill, 4, 128);
  EXPECT_NEAR(profile.at("encoder").at("latencySeconds")[2][2].get<double>(), want, 1e-15);
  EXPECT_TRUE(timer.head_calls.empty());
}

}  // namespace
}  // namespace platsim::gpu
