// CPU reference (fp32, Eigen) of every transformer-inference kernel gpu/
// runs on the GPU. The GPU kernels are checked against these by relative
// norm error. All tensors are dense, row-major, contiguous float arrays with
// the layout each function states; outputs are written, never accumulated.
#ifndef PLATSIM_GPU_REFERENCE_H_
#define PLATSIM_GPU_REFERENCE_H_

#include <functional>
#include <span>
#include <vector>

#include "gpu/catalogue.h"

namespace platsim::gpu::reference {

// c[m x n] = a[m x k] * b[k x n].
void Gemm(std::span<const float> a, std::span<const float> b, std::span<float> c, int m, int n,
          int k);

// Per row of x[rows x h]: y = x / sqrt(mean(x^2) + eps) * weight.
void RmsNorm(std::span<const float> x, std::span<const float> weight, std::span<float> y, int rows,
             int h, float eps);

// Per row of x[rows x h]: y = (x - mean) / sqrt(var + eps) * gamma + beta,
// with the population variance.
void LayerNorm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
               std::span<float> y, int rows, int h, float eps);

// Rotary position embedding, rotate-half convention: x[tokens x heads x d],
// token t at positions[t]; pair (i, i + d/2) turns by positions[t] *
// theta^(-2i/d). In place. REQUIRES: d even.
void Rope(std::span<float> x, std::span<const int> positions, int tokens, int heads, int d,
          double theta);

// y = silu(gate) * up, elementwise; silu(g) = g / (1 + exp(-g)).
void SwiGlu(std::span<const float> gate, std::span<const float> up, std::span<float> y);

// y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), elementwise (exact GELU).
void Gelu(std::span<const float> x, std::span<float> y);

// y = x + residual, elementwise.
void ResidualAdd(std::span<const float> x, std::span<const float> residual, std::span<float> y);

// Attention over a batch of equal-length sequences (prefill), grouped-query:
// q[batch x tokens x heads x d], k and v [batch x tokens x kv_heads x d],
// out[batch x tokens x heads x d]. Query head h reads KV head
// h / (heads / kv_heads). Scores are scaled by 1/sqrt(d); with `causal`,
// token t sees tokens 0..t. REQUIRES: kv_heads divides heads.
void AttentionPrefill(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                      std::span<float> out, int batch, int tokens, int heads, int kv_heads, int d,
                      bool causal);

// One new token per sequence over a KV cache (decode): q[batch x heads x d];
// k_cache and v_cache [batch x max_len x kv_heads x d], of which sequence b
// uses the first lengths[b] positions (the new token's own K and V already
// written there); out[batch x heads x d]. REQUIRES: 1 <= lengths[b] <= max_len.
void AttentionDecode(std::span<const float> q, std::span<const float> k_cache,
                     std::span<const float> v_cache, std::span<const int> lengths,
                     std::span<float> out, int batch, int max_len, int heads, int kv_heads, int d);

// The weights of one layer, fp32, with gpu/layer.h's shapes and names.
struct LayerWeights {
  std::vector<float> q, k, v, o, gate, up, down, norm1, bias1, norm2, bias2;
};

// One layer of `model` as gpu/layer.h defines it, on x[tokens x h] with
// tokens = batch * length (prefill) or batch (decode). Prefill: `k_cache`
// and `v_cache`, if given, receive every token's k and v (after RoPE) as
// [batch x length x kv x d]. Decode: they hold [batch x length x kv x d]
// with positions < length - 1 filled; the new token's k and v are written
// at length - 1. `store` is applied to every intermediate tensor as it is
// written (to round it as the GPU stores it); eps 1e-5 for both norms.
std::vector<float> LayerForward(const ModelShape& model, const LayerWeights& w,
                                std::span<const float> x, bool decode, int batch, int length,
                                std::vector<float>* k_cache, std::vector<float>* v_cache,
                                const std::function<void(std::span<float>)>& store = {});

// One step of an LLM serving engine through one decoder layer (the step a
// live-kernel check runs): sequence s brings new_tokens[s] tokens (a
// prompt chunk, or 1 to decode) after context[s] tokens it has cached; x
// holds every sequence's new tokens in turn, [sum(new_tokens) x h]. The
// projections, norms and FFN run over all rows at once, as an engine
// batches them; attention is each sequence's own, causal over its cached
// and new positions, a token at position p (from context[s]) seeing 0..p.
// caches[s] (k and v, each [context[s] + new_tokens[s] x kv x d]) hold the
// first context[s] positions on entry and all of them on return.
// REQUIRES: a Llama-style decoder (RMSNorm, SwiGLU), as the catalogue's.
struct SequenceCache {
  std::vector<float> k, v;
};
std::vector<float> MixedStepForward(const ModelShape& model, const LayerWeights& w,
                                    std::span<const float> x, std::span<const int> context,
                                    std::span<const int> new_tokens,
                                    std::vector<SequenceCache>& caches);

}  // namespace platsim::gpu::reference

#endif  // PLATSIM_GPU_REFERENCE_H_
