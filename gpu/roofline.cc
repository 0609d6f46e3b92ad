#include "gpu/roofline.h"

#include <algorithm>
#include <cmath>

namespace platsim::gpu {
namespace {

constexpr double kBytesPerValue = 2.0;  // bf16

// What one GPU holds of a layer: its query and KV heads, FFN width and
// output-head rows.
struct Shard {
  double heads, kv_heads, ffn, vocab, head_dim;
};
Shard ShardOf(const TransformerShape& m) {
  const double g = std::max(1, m.tensor_parallel);
  return Shard{m.heads / g, std::max(1.0, std::floor(m.kv_heads / g)), m.ffn / g, m.vocab / g,
               m.heads > 0 ? static_cast<double>(m.hidden / m.heads) : 0.0};
}

// Weights of one layer on one GPU, in values.
double LayerWeights(const TransformerShape& m) {
  const Shard s = ShardOf(m);
  double w = (m.gated_ffn ? 3.0 : 2.0) * m.hidden * s.ffn;
  if (m.heads > 0) {
    const double q_dim = s.heads * s.head_dim;
    const double kv_dim = s.kv_heads * s.head_dim;
    // q, k and v from the hidden state; the output projection back to it.
    w += static_cast<double>(m.hidden) * (q_dim + 2 * kv_dim) + q_dim * m.hidden;
  }
  return w;
}

Work Scaled(const Work& w, int times) {
  return Work{w.flops * times, w.bytes * times};
}

// The output head for one token per sequence.
Work Head(const TransformerShape& m, int batch) {
  if (m.vocab == 0) return Work{};
  const double weights = static_cast<double>(m.hidden) * ShardOf(m).vocab;
  return Work{2.0 * batch * weights, weights * kBytesPerValue};
}

}  // namespace

Work PrefillWork(const TransformerShape& m, int batch, int tokens) {
  const double rows = static_cast<double>(batch) * tokens;
  Work per_layer;
  // Every weight multiplies every token's activations: 2 FLOPs per MAC.
  per_layer.flops = 2.0 * rows * LayerWeights(m);
  per_layer.bytes = LayerWeights(m) * kBytesPerValue;
  if (m.heads > 0) {
    const Shard s = ShardOf(m);
    // QK^T and PV over the visible keys: n(n+1)/2 pairs when causal, n^2 not.
    const double pairs = m.causal ? tokens * (tokens + 1.0) / 2.0 : double(tokens) * tokens;
    per_layer.flops += 2.0 * 2.0 * batch * s.heads * s.head_dim * pairs;
    // K and V written to the cache.
    per_layer.bytes += rows * 2.0 * s.kv_heads * s.head_dim * kBytesPerValue;
  }
  // Activations in and out of each of the layer's stages (about eight
  // passes over a [rows x hidden] tensor: norms, projections, residuals).
  per_layer.bytes += 8.0 * rows * m.hidden * kBytesPerValue;
  return Scaled(per_layer, m.layers) += Head(m, batch);
}

Work DecodeWork(const TransformerShape& m, int batch, int kv_len) {
  Work per_layer;
  per_layer.flops = 2.0 * batch * LayerWeights(m);
  per_layer.bytes = LayerWeights(m) * kBytesPerValue + 8.0 * batch * m.hidden * kBytesPerValue;
  if (m.heads > 0) {
    const Shard s = ShardOf(m);
    per_layer.flops += 2.0 * 2.0 * batch * s.heads * s.head_dim * kv_len;
    // The whole KV cache of every sequence is read once per step.
    per_layer.bytes +=
        static_cast<double>(batch) * kv_len * 2.0 * s.kv_heads * s.head_dim * kBytesPerValue;
  }
  return Scaled(per_layer, m.layers) += Head(m, batch);
}

double RooflineSeconds(const Work& work, const DeviceFigures& device) {
  return std::max(work.flops / device.bf16_flops_per_s, work.bytes / device.memory_bytes_per_s);
}

double AllReduceSeconds(double bytes, int gpus, const Interconnect& link) {
  if (gpus <= 1) return 0;
  return link.latency_s + 2.0 * (gpus - 1) / gpus * bytes / link.bytes_per_s;
}

double AllGatherSeconds(double bytes, int gpus, const Interconnect& link) {
  if (gpus <= 1) return 0;
  return link.latency_s + static_cast<double>(gpus - 1) / gpus * bytes / link.bytes_per_s;
}

double TensorParallelSeconds(const TransformerShape& m, double rows, double out_rows,
                             const Interconnect& link) {
  const int g = m.tensor_parallel;
  if (g <= 1) return 0;
  // vLLM's RowParallelLinear (o_proj, down_proj) and VocabParallelEmbedding
  // reduce their results; LogitsProcessor all-gathers the logits
  // (vllm/model_executor/layers/linear.py, vocab_parallel_embedding.py,
  // logits_processor.py _gather_logits).
  const double reductions = (m.heads > 0 ? 2.0 : 1.0) * m.layers + (m.vocab > 0 ? 1.0 : 0.0);
  double s = reductions * AllReduceSeconds(rows * m.hidden * kBytesPerValue, g, link);
  if (m.vocab > 0) s += AllGatherSeconds(out_rows * m.vocab * kBytesPerValue, g, link);
  return s;
}

}  // namespace platsim::gpu
