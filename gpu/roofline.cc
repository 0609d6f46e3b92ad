#include "gpu/roofline.h"

#include <algorithm>

namespace platsim::gpu {
namespace {

constexpr double kBytesPerValue = 2.0;  // bf16

// Weights of one layer, in values.
double LayerWeights(const TransformerShape& m) {
  double w = (m.gated_ffn ? 3.0 : 2.0) * m.hidden * m.ffn;
  if (m.heads > 0) {
    const double kv_dim = static_cast<double>(m.kv_heads) * (m.hidden / m.heads);
    w += static_cast<double>(m.hidden) * (m.hidden + 2 * kv_dim) + double(m.hidden) * m.hidden;
  }
  return w;
}

Work Scaled(const Work& w, int times) {
  return Work{w.flops * times, w.bytes * times};
}

// The output head for one token per sequence.
Work Head(const TransformerShape& m, int batch) {
  if (m.vocab == 0) return Work{};
  const double weights = static_cast<double>(m.hidden) * m.vocab;
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
    const double d = static_cast<double>(m.hidden) / m.heads;
    // QK^T and PV over the visible keys: n(n+1)/2 pairs when causal, n^2 not.
    const double pairs = m.causal ? tokens * (tokens + 1.0) / 2.0 : double(tokens) * tokens;
    per_layer.flops += 2.0 * 2.0 * batch * m.heads * d * pairs;
    // K and V written to the cache.
    per_layer.bytes += rows * 2.0 * m.kv_heads * d * kBytesPerValue;
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
    const double d = static_cast<double>(m.hidden) / m.heads;
    per_layer.flops += 2.0 * 2.0 * batch * m.heads * d * kv_len;
    // The whole KV cache of every sequence is read once per step.
    per_layer.bytes += static_cast<double>(batch) * kv_len * 2.0 * m.kv_heads * d * kBytesPerValue;
  }
  return Scaled(per_layer, m.layers) += Head(m, batch);
}

double RooflineSeconds(const Work& work, const DeviceFigures& device) {
  return std::max(work.flops / device.bf16_flops_per_s, work.bytes / device.memory_bytes_per_s);
}

}  // namespace platsim::gpu
