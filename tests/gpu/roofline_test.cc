#include "gpu/roofline.h"

#include <gtest/gtest.h>

namespace platsim::gpu {
namespace {

// Llama 3 8B: 32 layers, hidden 4096, 32 heads, 8 KV heads, FFN 14336,
// vocabulary 128256, SwiGLU.
TransformerShape Llama3_8B() {
  return {32, 4096, 32, 8, 14336, 128256, true, true};
}

TEST(Roofline, DecodeAtBatchOneReadsEveryWeightButTheEmbeddingOnce) {
  // Published size: 8.03e9 parameters, of which the input embedding is
  // 128256 x 4096 = 525e6 and is not read in full by a decode step. The
  // rest, in bf16, is what one step must stream from memory.
  const double streamed_params = 8.03e9 - 128256.0 * 4096;
  const Work w = DecodeWork(Llama3_8B(), 1, 1);
  EXPECT_NEAR(w.bytes, 2.0 * streamed_params, 0.01 * 2.0 * streamed_params);
  // 2 FLOPs per weight per token.
  EXPECT_NEAR(w.flops, 2.0 * streamed_params, 0.01 * 2.0 * streamed_params);
}

TEST(Roofline, SmallBatchDecodeIsMemoryBoundAndLargePrefillComputeBound) {
  const DeviceFigures h100{"H100-SXM", 989.4e12, 3.35e12};
  const Work decode = DecodeWork(Llama3_8B(), 1, 1024);
  EXPECT_DOUBLE_EQ(RooflineSeconds(decode, h100), decode.bytes / h100.memory_bytes_per_s);
  // About 15 GB at 3.35 TB/s: 4.5 ms.
  EXPECT_NEAR(RooflineSeconds(decode, h100), 4.5e-3, 0.2e-3);
  const Work prefill = PrefillWork(Llama3_8B(), 8, 2048);
  EXPECT_DOUBLE_EQ(RooflineSeconds(prefill, h100), prefill.flops / h100.bf16_flops_per_s);
}

TEST(Roofline, CausalAttentionDoesHalfTheScorePairsOfBidirectional) {
  TransformerShape causal = Llama3_8B();
  TransformerShape full = causal;
  full.causal = false;
  const int n = 1000;
  const double d = 4096.0 / 32;
  const double diff = PrefillWork(full, 1, n).flops - PrefillWork(causal, 1, n).flops;
  // Per layer: 4 * heads * d * (n^2 - n(n+1)/2).
  EXPECT_NEAR(diff, 32 * 4.0 * 32 * d * (double(n) * n - n * (n + 1.0) / 2), 1.0);
}

TEST(Roofline, DecodeKvReadsGrowLinearlyWithBatchAndLength) {
  const Work a = DecodeWork(Llama3_8B(), 4, 1000);
  const Work b = DecodeWork(Llama3_8B(), 4, 2000);
  // 1000 more positions x 4 sequences x 32 layers x K and V x 8 heads x 128 x 2 bytes.
  EXPECT_NEAR(b.bytes - a.bytes, 1000.0 * 4 * 32 * 2 * 8 * 128 * 2, 1.0);
}

TransformerShape Split(TransformerShape m, int gpus) {
  m.tensor_parallel = gpus;
  return m;
}

TEST(Roofline, SplitGpusShareTheWeightsAndEachHandlesAllTheActivations) {
  // A Megatron split cuts every weight matrix, so the GPUs' shares add up to
  // the whole; norms, residuals and the activations entering each
  // projection are whole on every GPU, so each share reads them all.
  const int batch = 4, kv = 1000;
  const Work whole = DecodeWork(Llama3_8B(), batch, kv);
  for (int g : {2, 4, 8}) {
    const Work share = DecodeWork(Split(Llama3_8B(), g), batch, kv);
    // 8 passes of [batch x 4096] bf16 per layer, over 32 layers.
    const double activations = 32 * 8.0 * batch * 4096 * 2;
    EXPECT_NEAR(g * share.bytes - whole.bytes, (g - 1) * activations, 1.0) << g;
    // Compute is all in the weights and the attention, both split.
    EXPECT_NEAR(g * share.flops, whole.flops, 1e-9 * whole.flops) << g;
  }
}

TEST(Roofline, MoreGpusThanKvHeadsReplicateTheKvHeads) {
  // 8 KV heads over 16 GPUs: each holds one (vLLM's get_num_kv_heads), so
  // together they hold each KV head twice.
  const int batch = 1, kv = 4096;
  const Work a = DecodeWork(Split(Llama3_8B(), 16), batch, kv);
  const Work b = DecodeWork(Split(Llama3_8B(), 16), batch, 2 * kv);
  // 4096 more positions x 32 layers x K and V x 1 head x 128 x 2 bytes.
  EXPECT_NEAR(b.bytes - a.bytes, 4096.0 * 32 * 2 * 1 * 128 * 2, 1.0);
  const Work c = DecodeWork(Split(Llama3_8B(), 8), batch, kv);
  const Work d = DecodeWork(Split(Llama3_8B(), 8), batch, 2 * kv);
  EXPECT_NEAR(d.bytes - c.bytes, b.bytes - a.bytes, 1.0);
}

TEST(Roofline, ARingAllReduceSendsTwiceTheShareNotHeld) {
  const Interconnect nvlink{450e9, 10e-6};
  // 8 MB over 8 GPUs: 2 x 7/8 x 8e6 bytes at 450 GB/s, plus the latency.
  EXPECT_NEAR(AllReduceSeconds(8e6, 8, nvlink), 10e-6 + 2 * 7.0 / 8 * 8e6 / 450e9, 1e-15);
  EXPECT_NEAR(AllGatherSeconds(8e6, 8, nvlink), 10e-6 + 7.0 / 8 * 8e6 / 450e9, 1e-15);
  EXPECT_EQ(AllReduceSeconds(8e6, 1, nvlink), 0);
  // One decode step of Llama 3 8B at batch 1 over 2 GPUs: 65 all-reduces
  // (2 per layer and the embedding's) of 4096 x 2 bytes, and the logits'
  // all-gather of 128256 x 2 bytes.
  const double expected = 65 * (10e-6 + 8192.0 / 450e9) + 10e-6 + 0.5 * 256512 / 450e9;
  EXPECT_NEAR(TensorParallelSeconds(Split(Llama3_8B(), 2), 1, 1, nvlink), expected, 1e-15);
  EXPECT_EQ(TensorParallelSeconds(Llama3_8B(), 1, 1, nvlink), 0);
}

}  // namespace
}  // namespace platsim::gpu
