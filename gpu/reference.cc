#include "gpu/reference.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>

namespace platsim::gpu::reference {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;
using Map = Eigen::Map<RowMatrix>;

// Rows of one head from a [rows x heads x d] tensor, gathered into a matrix.
RowMatrix GatherHead(const float* base, int rows, int heads, int head, int d) {
  RowMatrix m(rows, d);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < d; ++j)
      m(r, j) = base[(static_cast<long>(r) * heads + head) * d + j];
  }
  return m;
}

// Softmax attention of q[1 x d] rows over keys/values [n x d].
void Attend(const RowMatrix& q, const RowMatrix& keys, const RowMatrix& values, int visible,
            float scale, float* out) {
  Eigen::RowVectorXf scores = (q * keys.topRows(visible).transpose()) * scale;
  const float max = scores.maxCoeff();
  scores = (scores.array() - max).exp().matrix();
  scores /= scores.sum();
  const Eigen::RowVectorXf o = scores * values.topRows(visible);
  for (int j = 0; j < o.size(); ++j)
    out[j] = o(j);
}

}  // namespace

void Gemm(std::span<const float> a, std::span<const float> b, std::span<float> c, int m, int n,
          int k) {
  Map(c.data(), m, n).noalias() = ConstMap(a.data(), m, k) * ConstMap(b.data(), k, n);
}

void RmsNorm(std::span<const float> x, std::span<const float> weight, std::span<float> y, int rows,
             int h, float eps) {
  const ConstMap in(x.data(), rows, h);
  Map out(y.data(), rows, h);
  const Eigen::Map<const Eigen::RowVectorXf> w(weight.data(), h);
  for (int r = 0; r < rows; ++r) {
    const float inv = 1.0f / std::sqrt(in.row(r).squaredNorm() / h + eps);
    out.row(r) = (in.row(r) * inv).cwiseProduct(w);
  }
}

void LayerNorm(std::span<const float> x, std::span<const float> gamma, std::span<const float> beta,
               std::span<float> y, int rows, int h, float eps) {
  const ConstMap in(x.data(), rows, h);
  Map out(y.data(), rows, h);
  const Eigen::Map<const Eigen::RowVectorXf> g(gamma.data(), h), b(beta.data(), h);
  for (int r = 0; r < rows; ++r) {
    const float mean = in.row(r).mean();
    const Eigen::RowVectorXf centred = in.row(r).array() - mean;
    const float inv = 1.0f / std::sqrt(centred.squaredNorm() / h + eps);
    out.row(r) = (centred * inv).cwiseProduct(g) + b;
  }
}

void Rope(std::span<float> x, std::span<const int> positions, int tokens, int heads, int d,
          double theta) {
  const int half = d / 2;
  for (int t = 0; t < tokens; ++t) {
    for (int i = 0; i < half; ++i) {
      const double angle = positions[t] * std::pow(theta, -2.0 * i / d);
      const auto c = static_cast<float>(std::cos(angle));
      const auto s = static_cast<float>(std::sin(angle));
      for (int h = 0; h < heads; ++h) {
        float* v = x.data() + (static_cast<long>(t) * heads + h) * d;
        const float a = v[i], b = v[i + half];
        v[i] = a * c - b * s;
        v[i + half] = b * c + a * s;
      }
    }
  }
}

void SwiGlu(std::span<const float> gate, std::span<const float> up, std::span<float> y) {
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void Gelu(std::span<const float> x, std::span<float> y) {
  for (std::size_t i = 0; i < y.size(); ++i) {
    y[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
  }
}

void ResidualAdd(std::span<const float> x, std::span<const float> residual, std::span<float> y) {
  for (std::size_t i = 0; i < y.size(); ++i)
    y[i] = x[i] + residual[i];
}

void AttentionPrefill(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                      std::span<float> out, int batch, int tokens, int heads, int kv_heads, int d,
                      bool causal) {
  const int group = heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int b = 0; b < batch; ++b) {
    const long q_off = static_cast<long>(b) * tokens * heads * d;
    const long kv_off = static_cast<long>(b) * tokens * kv_heads * d;
    for (int h = 0; h < heads; ++h) {
      const RowMatrix qh = GatherHead(q.data() + q_off, tokens, heads, h, d);
      const RowMatrix kh = GatherHead(k.data() + kv_off, tokens, kv_heads, h / group, d);
      const RowMatrix vh = GatherHead(v.data() + kv_off, tokens, kv_heads, h / group, d);
      for (int t = 0; t < tokens; ++t) {
        Attend(qh.row(t), kh, vh, causal ? t + 1 : tokens, scale,
               out.data() + q_off + (static_cast<long>(t) * heads + h) * d);
      }
    }
  }
}

void AttentionDecode(std::span<const float> q, std::span<const float> k_cache,
                     std::span<const float> v_cache, std::span<const int> lengths,
                     std::span<float> out, int batch, int max_len, int heads, int kv_heads, int d) {
  const int group = heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int b = 0; b < batch; ++b) {
    const long kv_off = static_cast<long>(b) * max_len * kv_heads * d;
    for (int h = 0; h < heads; ++h) {
      const RowMatrix qh = GatherHead(q.data() + static_cast<long>(b) * heads * d, 1, heads, h, d);
      const RowMatrix kh = GatherHead(k_cache.data() + kv_off, lengths[b], kv_heads, h / group, d);
      const RowMatrix vh = GatherHead(v_cache.data() + kv_off, lengths[b], kv_heads, h / group, d);
      Attend(qh, kh, vh, lengths[b], scale, out.data() + (static_cast<long>(b) * heads + h) * d);
    }
  }
}

std::vector<float> LayerForward(const ModelShape& m, const LayerWeights& w,
                                std::span<const float> x, bool decode, int batch, int length,
                                std::vector<float>* k_cache, std::vector<float>* v_cache,
                                const std::function<void(std::span<float>)>& store) {
  constexpr float kEps = 1e-5f;
  const int t = decode ? batch : batch * length, h = m.hidden, f = m.ffn;
  auto stored = [&](std::vector<float> v) {
    if (store) store(v);
    return v;
  };
  auto gemm = [&](std::span<const float> a, const std::vector<float>& b, int n, int k) {
    std::vector<float> c(static_cast<std::size_t>(t) * n);
    Gemm(a, b, c, t, n, k);
    return stored(std::move(c));
  };
  auto norm = [&](std::span<const float> in, const std::vector<float>& g,
                  const std::vector<float>& b) {
    std::vector<float> out(in.size());
    if (m.norm == Norm::kRmsNorm) {
      RmsNorm(in, g, out, t, h, kEps);
    } else {
      LayerNorm(in, g, b, out, t, h, kEps);
    }
    return stored(std::move(out));
  };
  auto add = [&](std::span<const float> a, std::span<const float> b) {
    std::vector<float> out(a.size());
    ResidualAdd(a, b, out);
    return stored(std::move(out));
  };
  auto ffn = [&](std::span<const float> in) {
    const std::vector<float> up = gemm(in, w.up, f, h);
    std::vector<float> act(up.size());
    if (m.activation == Activation::kSwiGlu) {
      SwiGlu(gemm(in, w.gate, f, h), up, act);
    } else {
      Gelu(up, act);
    }
    return gemm(stored(std::move(act)), w.down, h, f);
  };
  if (m.architecture == Architecture::kMlp) return add(x, ffn(norm(x, w.norm1, w.bias1)));

  const int d = m.head_dim(), kvd = m.kv_heads * d;
  const bool decoder = m.architecture == Architecture::kDecoder;
  const std::vector<float> normed = decoder ? norm(x, w.norm1, w.bias1) : std::vector<float>();
  const std::span<const float> in = decoder ? std::span<const float>(normed) : x;
  std::vector<float> q = gemm(in, w.q, m.heads * d, h), k = gemm(in, w.k, kvd, h),
                     v = gemm(in, w.v, kvd, h);
  if (decoder) {
    std::vector<int> positions(t);
    for (int i = 0; i < t; ++i)
      positions[i] = decode ? length - 1 : i % length;
    Rope(q, positions, t, m.heads, d, m.rope_theta);
    Rope(k, positions, t, m.kv_heads, d, m.rope_theta);
    q = stored(std::move(q));
    k = stored(std::move(k));
  }
  std::vector<float> attn(q.size());
  if (!decode) {
    AttentionPrefill(q, k, v, attn, batch, length, m.heads, m.kv_heads, d, decoder);
    if (k_cache != nullptr) *k_cache = k;
    if (v_cache != nullptr) *v_cache = v;
  } else {
    for (int b = 0; b < batch; ++b) {
      const long at = (static_cast<long>(b) * length + length - 1) * kvd;
      std::copy_n(k.begin() + static_cast<long>(b) * kvd, kvd, k_cache->begin() + at);
      std::copy_n(v.begin() + static_cast<long>(b) * kvd, kvd, v_cache->begin() + at);
    }
    AttentionDecode(q, *k_cache, *v_cache, std::vector<int>(batch, length), attn, batch, length,
                    m.heads, m.kv_heads, d);
  }
  const std::vector<float> o = gemm(stored(std::move(attn)), w.o, h, m.heads * d);
  if (decoder) {
    const std::vector<float> x1 = add(x, o);
    return add(x1, ffn(norm(x1, w.norm2, w.bias2)));
  }
  const std::vector<float> x1 = norm(add(x, o), w.norm1, w.bias1);
  return norm(add(x1, ffn(x1)), w.norm2, w.bias2);
}

std::vector<float> MixedStepForward(const ModelShape& m, const LayerWeights& w,
                                    std::span<const float> x, std::span<const int> context,
                                    std::span<const int> new_tokens,
                                    std::vector<SequenceCache>& caches) {
  constexpr float kEps = 1e-5f;
  const int h = m.hidden, f = m.ffn, d = m.head_dim(), kvd = m.kv_heads * d;
  int t = 0;
  for (const int n : new_tokens)
    t += n;
  auto gemm = [&](std::span<const float> a, const std::vector<float>& b, int n, int k) {
    std::vector<float> c(static_cast<std::size_t>(t) * n);
    Gemm(a, b, c, t, n, k);
    return c;
  };
  std::vector<float> normed(x.size());
  RmsNorm(x, w.norm1, normed, t, h, kEps);
  std::vector<float> q = gemm(normed, w.q, m.heads * d, h), k = gemm(normed, w.k, kvd, h),
                     v = gemm(normed, w.v, kvd, h);
  // Each row at its sequence's next position.
  std::vector<int> positions;
  for (std::size_t s = 0; s < context.size(); ++s) {
    for (int i = 0; i < new_tokens[s]; ++i)
      positions.push_back(context[s] + i);
  }
  Rope(q, positions, t, m.heads, d, m.rope_theta);
  Rope(k, positions, t, m.kv_heads, d, m.rope_theta);
  std::vector<float> attn(q.size());
  for (std::size_t s = 0, row = 0; s < context.size(); ++s) {
    const int length = context[s] + new_tokens[s];
    SequenceCache& c = caches[s];
    c.k.resize(static_cast<std::size_t>(length) * kvd);
    c.v.resize(static_cast<std::size_t>(length) * kvd);
    for (int i = 0; i < new_tokens[s]; ++i) {
      const long from = static_cast<long>(row + i) * kvd, to = long(context[s] + i) * kvd;
      std::copy_n(k.begin() + from, kvd, c.k.begin() + to);
      std::copy_n(v.begin() + from, kvd, c.v.begin() + to);
    }
    // Each new token: one query over the positions up to its own.
    for (int i = 0; i < new_tokens[s]; ++i, ++row) {
      const int seen = context[s] + i + 1;
      const std::span<const float> qi(q.data() + row * m.heads * d, m.heads * d);
      const std::span<float> out(attn.data() + row * m.heads * d, m.heads * d);
      AttentionDecode(qi, c.k, c.v, std::vector<int>{seen}, out, 1, length, m.heads, m.kv_heads, d);
    }
  }
  const std::vector<float> o = gemm(attn, w.o, h, m.heads * d);
  std::vector<float> x1(x.size());
  ResidualAdd(x, o, x1);
  std::vector<float> n2(x.size());
  RmsNorm(x1, w.norm2, n2, t, h, kEps);
  const std::vector<float> up = gemm(n2, w.up, f, h);
  std::vector<float> act(up.size());
  SwiGlu(gemm(n2, w.gate, f, h), up, act);
  std::vector<float> y(x.size());
  ResidualAdd(x1, gemm(act, w.down, h, f), y);
  return y;
}

}  // namespace platsim::gpu::reference
