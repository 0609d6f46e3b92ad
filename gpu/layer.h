// One transformer (or MLP) layer of a catalogue model on the GPU, built
// from gpu/kernels.h: what the profiler times and what a layer test checks
// against reference::LayerForward.
//
// Decoder (pre-norm, Llama): n = rmsnorm(x); q, k, v = n Wq, n Wk, n Wv;
//   rope(q), rope(k); a = attention (causal prefill, or decode over the KV
//   cache after appending the new k, v); x1 = x + a Wo;
//   y = x1 + (silu(n2 Wg) * (n2 Wu)) Wd with n2 = rmsnorm(x1).
// Encoder (post-norm, BERT): a = attention over the whole sequence;
//   x1 = layernorm(x + a Wo); y = layernorm(x1 + gelu(x1 Wu) Wd).
// MLP block (pre-norm): y = x + gelu(layernorm(x) Wu) Wd.
// Projections have no bias (a bias add is a small elementwise pass).
#ifndef PLATSIM_GPU_LAYER_H_
#define PLATSIM_GPU_LAYER_H_

#include "gpu/catalogue.h"
#include "gpu/kernels.h"
#include "gpu/profiler.h"

namespace platsim::gpu {

// Projection matrices are row-major [in x out].
struct LayerWeights {
  DeviceArray<bf16> q, k, v, o;      // [h x heads*d], [h x kv*d] twice, [heads*d x h]
  DeviceArray<bf16> gate, up, down;  // [h x f] (gate: SwiGLU only), [f x h]
  DeviceArray<bf16> norm1, bias1;    // [h]; biases: LayerNorm only
  DeviceArray<bf16> norm2, bias2;    // [h]; not in an MLP block
};

// Weights drawn uniform in +-1/sqrt(fan-in) (norm scales around 1) from `seed`.
LayerWeights RandomLayerWeights(const ModelShape& model, unsigned long long seed,
                                cudaStream_t stream);

// The tensors of one step: `batch` sequences of `length` new tokens
// (kPrefill), or one new token per sequence over KV caches of `length`
// (kDecode: the caches hold length - 1 earlier tokens; the step appends the
// new token's k and v at position length - 1).
struct LayerActivations {
  int batch = 0, length = 0;
  Phase phase = Phase::kPrefill;
  DeviceArray<bf16> x, t1, t2, x1, q, k, v, attn, gate, up, act, y;
  DeviceArray<bf16> k_cache, v_cache;   // [batch x length x kv x d] (kDecode)
  DeviceArray<int> positions;           // of each new token
  DeviceArray<int> lengths;             // [batch] (kDecode)
  DeviceArray<float> decode_workspace;  // AttentionDecode's (kDecode)
  long tokens() const { return phase == Phase::kPrefill ? long(batch) * length : batch; }
};

// Input x and the KV caches random from `seed`; positions and lengths set.
LayerActivations RandomLayerActivations(const ModelShape& model, Phase phase, int batch, int length,
                                        unsigned long long seed, cudaStream_t stream);

// Runs the layer: reads a.x (and the caches), writes a.y. Launches only.
void LayerForward(const ModelShape& model, const LayerWeights& w, LayerActivations& a, Gemm& gemm,
                  cudaStream_t stream);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_LAYER_H_
