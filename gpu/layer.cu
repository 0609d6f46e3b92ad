#include "gpu/layer.h"

#include <cmath>
#include <vector>

namespace platsim::gpu {
namespace {

constexpr float kNormEps = 1e-5f;

DeviceArray<bf16> Random(long n, float scale, unsigned long long seed, cudaStream_t stream) {
  DeviceArray<bf16> a(n);
  FillUniform(a.get(), n, scale, seed, stream);
  return a;
}

bool IsMlp(const ModelShape& m) {
  return m.architecture == Architecture::kMlp;
}
bool Gated(const ModelShape& m) {
  return m.activation == Activation::kSwiGlu;
}

void Normalize(const ModelShape& m, const bf16* x, const DeviceArray<bf16>& scale,
               const DeviceArray<bf16>& bias, bf16* y, long rows, cudaStream_t stream) {
  if (m.norm == Norm::kRmsNorm) {
    RmsNorm(x, scale.get(), y, static_cast<int>(rows), m.hidden, kNormEps, stream);
  } else {
    LayerNorm(x, scale.get(), bias.get(), y, static_cast<int>(rows), m.hidden, kNormEps, stream);
  }
}

void Upload(DeviceArray<int>& to, const std::vector<int>& from, cudaStream_t stream) {
  Check(cudaMemcpyAsync(to.get(), from.data(), from.size() * sizeof(int), cudaMemcpyHostToDevice,
                        stream),
        "cudaMemcpyAsync");
  Check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");  // `from` goes out of scope
}

}  // namespace

LayerWeights RandomLayerWeights(const ModelShape& m, unsigned long long seed, cudaStream_t stream) {
  const long h = m.hidden, f = m.ffn, d = m.head_dim();
  const float in_h = 1.0f / std::sqrt(float(h)), in_f = 1.0f / std::sqrt(float(f));
  LayerWeights w;
  if (!IsMlp(m)) {
    w.q = Random(h * m.heads * d, in_h, seed + 1, stream);
    w.k = Random(h * m.kv_heads * d, in_h, seed + 2, stream);
    w.v = Random(h * m.kv_heads * d, in_h, seed + 3, stream);
    w.o = Random(m.heads * d * h, 1.0f / std::sqrt(float(m.heads * d)), seed + 4, stream);
    w.norm2 = Random(h, 1.0f, seed + 5, stream);
    if (m.norm == Norm::kLayerNorm) w.bias2 = Random(h, 0.1f, seed + 6, stream);
  }
  if (Gated(m)) w.gate = Random(h * f, in_h, seed + 7, stream);
  w.up = Random(h * f, in_h, seed + 8, stream);
  w.down = Random(f * h, in_f, seed + 9, stream);
  w.norm1 = Random(h, 1.0f, seed + 10, stream);
  if (m.norm == Norm::kLayerNorm) w.bias1 = Random(h, 0.1f, seed + 11, stream);
  return w;
}

LayerActivations RandomLayerActivations(const ModelShape& m, Phase phase, int batch, int length,
                                        unsigned long long seed, cudaStream_t stream) {
  LayerActivations a;
  a.batch = batch;
  a.length = length;
  a.phase = phase;
  const long t = a.tokens(), h = m.hidden, f = m.ffn, d = m.head_dim();
  a.x = Random(t * h, 1.0f, seed, stream);
  a.t1 = DeviceArray<bf16>(t * h);
  a.t2 = DeviceArray<bf16>(t * h);
  a.x1 = DeviceArray<bf16>(t * h);
  a.y = DeviceArray<bf16>(t * h);
  a.up = DeviceArray<bf16>(t * f);
  a.act = DeviceArray<bf16>(t * f);
  if (Gated(m)) a.gate = DeviceArray<bf16>(t * f);
  if (!IsMlp(m)) {
    a.q = DeviceArray<bf16>(t * m.heads * d);
    a.attn = DeviceArray<bf16>(t * m.heads * d);
    a.k = DeviceArray<bf16>(t * m.kv_heads * d);
    a.v = DeviceArray<bf16>(t * m.kv_heads * d);
    std::vector<int> positions(t);
    for (long i = 0; i < t; ++i)
      positions[i] = phase == Phase::kPrefill ? static_cast<int>(i % length) : length - 1;
    a.positions = DeviceArray<int>(t);
    Upload(a.positions, positions, stream);
    if (phase == Phase::kDecode) {
      const long cache = long(batch) * length * m.kv_heads * d;
      a.k_cache = Random(cache, 1.0f, seed + 1, stream);
      a.v_cache = Random(cache, 1.0f, seed + 2, stream);
      a.lengths = DeviceArray<int>(batch);
      Upload(a.lengths, std::vector<int>(batch, length), stream);
      const long floats = AttentionDecodeWorkspace(batch, length, m.heads, m.kv_heads, d);
      if (floats > 0) a.decode_workspace = DeviceArray<float>(floats);
    }
  }
  return a;
}

void LayerForward(const ModelShape& m, const LayerWeights& w, LayerActivations& a, Gemm& gemm,
                  cudaStream_t stream) {
  const long t = a.tokens(), h = m.hidden, f = m.ffn;
  const int rows = static_cast<int>(t);
  auto ffn = [&](const bf16* in, bf16* out) {
    gemm.Run(in, w.up.get(), a.up.get(), rows, f, h, stream);
    if (Gated(m)) {
      gemm.Run(in, w.gate.get(), a.gate.get(), rows, f, h, stream);
      SwiGlu(a.gate.get(), a.up.get(), a.act.get(), t * f, stream);
    } else {
      Gelu(a.up.get(), a.act.get(), t * f, stream);
    }
    gemm.Run(a.act.get(), w.down.get(), out, rows, h, f, stream);
  };
  if (IsMlp(m)) {
    Normalize(m, a.x.get(), w.norm1, w.bias1, a.t1.get(), t, stream);
    ffn(a.t1.get(), a.t2.get());
    ResidualAdd(a.x.get(), a.t2.get(), a.y.get(), t * h, stream);
    return;
  }
  const int d = m.head_dim(), qd = m.heads * d, kvd = m.kv_heads * d;
  const bool decoder = m.architecture == Architecture::kDecoder;
  // Decoders normalize before attention; encoders after the residual.
  const bf16* attn_in = a.x.get();
  if (decoder) {
    Normalize(m, a.x.get(), w.norm1, w.bias1, a.t1.get(), t, stream);
    attn_in = a.t1.get();
  }
  gemm.Run(attn_in, w.q.get(), a.q.get(), rows, qd, h, stream);
  gemm.Run(attn_in, w.k.get(), a.k.get(), rows, kvd, h, stream);
  gemm.Run(attn_in, w.v.get(), a.v.get(), rows, kvd, h, stream);
  if (decoder) {
    Rope(a.q.get(), a.positions.get(), rows, m.heads, d, m.rope_theta, stream);
    Rope(a.k.get(), a.positions.get(), rows, m.kv_heads, d, m.rope_theta, stream);
  }
  if (a.phase == Phase::kPrefill) {
    AttentionPrefill(a.q.get(), a.k.get(), a.v.get(), a.attn.get(), a.batch, a.length, m.heads,
                     m.kv_heads, d, decoder, stream);
  } else {
    // Append the new token's k and v at position length - 1 of each cache.
    const std::size_t row = kvd * sizeof(bf16), pitch = row * a.length;
    const std::size_t at = static_cast<std::size_t>(a.length - 1) * kvd;
    Check(cudaMemcpy2DAsync(a.k_cache.get() + at, pitch, a.k.get(), row, row, a.batch,
                            cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpy2DAsync");
    Check(cudaMemcpy2DAsync(a.v_cache.get() + at, pitch, a.v.get(), row, row, a.batch,
                            cudaMemcpyDeviceToDevice, stream),
          "cudaMemcpy2DAsync");
    AttentionDecode(a.q.get(), a.k_cache.get(), a.v_cache.get(), a.lengths.get(), a.attn.get(),
                    a.batch, a.length, m.heads, m.kv_heads, d, a.decode_workspace.get(), stream);
  }
  gemm.Run(a.attn.get(), w.o.get(), a.t2.get(), rows, h, qd, stream);
  if (decoder) {
    ResidualAdd(a.x.get(), a.t2.get(), a.x1.get(), t * h, stream);
    Normalize(m, a.x1.get(), w.norm2, w.bias2, a.t1.get(), t, stream);
    ffn(a.t1.get(), a.t2.get());
    ResidualAdd(a.x1.get(), a.t2.get(), a.y.get(), t * h, stream);
  } else {
    ResidualAdd(a.x.get(), a.t2.get(), a.t1.get(), t * h, stream);
    Normalize(m, a.t1.get(), w.norm1, w.bias1, a.x1.get(), t, stream);
    ffn(a.x1.get(), a.t2.get());
    ResidualAdd(a.x1.get(), a.t2.get(), a.t1.get(), t * h, stream);
    Normalize(m, a.t1.get(), w.norm2, w.bias2, a.y.get(), t, stream);
  }
}

}  // namespace platsim::gpu
