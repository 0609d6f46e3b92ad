// The CPU reference against independent checks: naive loops written here
// from the definitions, and properties the kernels must have whatever their
// implementation.
#include "gpu/reference.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "tests/gpu/testing.h"

namespace platsim::gpu::reference {
namespace {

std::vector<float> Random(std::size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(gen);
  return v;
}

using testing::RelativeError;

TEST(ReferenceGemm, MatchesATripleLoop) {
  const int m = 7, n = 5, k = 9;
  const auto a = Random(m * k, 1), b = Random(k * n, 2);
  std::vector<float> c(m * n, NAN), want(m * n, 0);
  Gemm(a, b, c, m, n, k);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j)
      for (int p = 0; p < k; ++p)
        want[i * n + j] += a[i * k + p] * b[p * n + j];
  EXPECT_LT(RelativeError(c, want), 1e-6);
}

TEST(ReferenceNorms, RmsNormGivesUnitRmsAndLayerNormZeroMeanUnitVariance) {
  const int rows = 3, h = 64;
  const auto x = Random(rows * h, 3, 5.0f);
  const std::vector<float> ones(h, 1.0f), zeros(h, 0.0f);
  std::vector<float> y(rows * h, NAN), z(rows * h, NAN);
  RmsNorm(x, ones, y, rows, h, 0.0f);
  LayerNorm(x, ones, zeros, z, rows, h, 0.0f);
  for (int r = 0; r < rows; ++r) {
    double ss = 0, mean = 0, var = 0;
    for (int j = 0; j < h; ++j) {
      ss += y[r * h + j] * y[r * h + j];
      mean += z[r * h + j];
    }
    mean /= h;
    for (int j = 0; j < h; ++j)
      var += (z[r * h + j] - mean) * (z[r * h + j] - mean);
    EXPECT_NEAR(std::sqrt(ss / h), 1.0, 1e-5) << "row " << r;
    EXPECT_NEAR(mean, 0.0, 1e-5) << "row " << r;
    EXPECT_NEAR(var / h, 1.0, 1e-4) << "row " << r;
  }
  // The weight scales each column.
  std::vector<float> w(h), yw(rows * h);
  for (int j = 0; j < h; ++j)
    w[j] = 0.5f + j;
  RmsNorm(x, w, yw, rows, h, 0.0f);
  EXPECT_NEAR(yw[h + 7], y[h + 7] * w[7], 1e-5);
}

TEST(ReferenceRope, RotatesPairsSoThatScoresDependOnlyOnRelativePosition) {
  const int d = 16;
  const auto q = Random(d, 4), k = Random(d, 5);
  auto score = [&](int m, int n) {
    std::vector<float> qm = q, kn = k;
    const int pm[] = {m}, pn[] = {n};
    Rope(qm, pm, 1, 1, d, 10000.0);
    Rope(kn, pn, 1, 1, d, 10000.0);
    double s = 0;
    for (int i = 0; i < d; ++i)
      s += qm[i] * kn[i];
    return s;
  };
  EXPECT_NEAR(score(3, 1), score(12, 10), 1e-4);
  EXPECT_NEAR(score(7, 7), score(0, 0), 1e-4);
  // Position 0 is the identity; rotations keep norms.
  std::vector<float> x = q;
  const int zero[] = {0};
  Rope(x, zero, 1, 1, d, 10000.0);
  EXPECT_EQ(x, q);
  const int far[] = {1000};
  Rope(x, far, 1, 1, d, 500000.0);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < d; ++i)
    n0 += q[i] * q[i], n1 += x[i] * x[i];
  EXPECT_NEAR(n1, n0, 1e-4);
  // First pair at position 1 turns by exactly 1 radian (theta^0).
  x = q;
  const int one[] = {1};
  Rope(x, one, 1, 1, d, 10000.0);
  EXPECT_NEAR(x[0], q[0] * std::cos(1.0) - q[d / 2] * std::sin(1.0), 1e-6);
}

TEST(ReferenceActivations, MatchTheirDefinitionsAtKnownPoints) {
  const std::vector<float> x = {-2.0f, 0.0f, 1.0f};
  std::vector<float> y(3);
  Gelu(x, y);
  // GELU(x) = x Phi(x); Phi from erfc so as not to reuse the kernel's erf form.
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(y[i], x[i] * 0.5 * std::erfc(-x[i] / std::sqrt(2.0)), 1e-6) << x[i];
  }
  const std::vector<float> gate = {0.0f, 2.0f}, up = {3.0f, 0.5f};
  std::vector<float> s(2);
  SwiGlu(gate, up, s);
  EXPECT_NEAR(s[0], 0.0, 1e-7);
  EXPECT_NEAR(s[1], 2.0 / (1.0 + std::exp(-2.0)) * 0.5, 1e-6);
  std::vector<float> r(3);
  ResidualAdd(x, x, r);
  EXPECT_EQ(r[0], -4.0f);
}

TEST(ReferenceAttention, CausalPrefillWithEqualKeysAveragesThePrefix) {
  // All keys equal: every visible position gets the same score, so token t's
  // output is the mean of values 0..t.
  const int batch = 2, tokens = 5, heads = 4, kv_heads = 2, d = 8;
  const auto q = Random(batch * tokens * heads * d, 6);
  std::vector<float> k(batch * tokens * kv_heads * d, 0.25f);
  const auto v = Random(batch * tokens * kv_heads * d, 7);
  std::vector<float> out(q.size(), NAN);
  AttentionPrefill(q, k, v, out, batch, tokens, heads, kv_heads, d, true);
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < tokens; ++t)
      for (int h = 0; h < heads; ++h)
        for (int j = 0; j < d; ++j) {
          double mean = 0;
          for (int s = 0; s <= t; ++s) {
            mean += v[((b * tokens + s) * kv_heads + h / (heads / kv_heads)) * d + j];
          }
          mean /= t + 1;
          EXPECT_NEAR(out[((b * tokens + t) * heads + h) * d + j], mean, 1e-5);
        }
}

// Naive attention for one query row over n keys, from the definition.
std::vector<double> NaiveAttend(const float* q, const std::vector<const float*>& keys,
                                const std::vector<const float*>& values, int d) {
  std::vector<double> w;
  double max = -INFINITY;
  for (const float* k : keys) {
    double s = 0;
    for (int j = 0; j < d; ++j)
      s += q[j] * k[j];
    w.push_back(s / std::sqrt(double(d)));
    max = std::max(max, w.back());
  }
  double total = 0;
  for (double& x : w)
    total += (x = std::exp(x - max));
  std::vector<double> out(d, 0);
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (int j = 0; j < d; ++j)
      out[j] += w[i] / total * values[i][j];
  return out;
}

TEST(ReferenceAttention, DecodeMatchesNaiveGroupedQueryAttention) {
  const int batch = 3, max_len = 10, heads = 8, kv_heads = 2, d = 16;
  const auto q = Random(batch * heads * d, 8);
  const auto kc = Random(batch * max_len * kv_heads * d, 9);
  const auto vc = Random(batch * max_len * kv_heads * d, 10);
  const std::vector<int> lengths = {1, 6, 10};
  std::vector<float> out(batch * heads * d, NAN);
  AttentionDecode(q, kc, vc, lengths, out, batch, max_len, heads, kv_heads, d);
  for (int b = 0; b < batch; ++b)
    for (int h = 0; h < heads; ++h) {
      std::vector<const float*> keys, values;
      for (int s = 0; s < lengths[b]; ++s) {
        const long off = ((long(b) * max_len + s) * kv_heads + h / (heads / kv_heads)) * d;
        keys.push_back(kc.data() + off);
        values.push_back(vc.data() + off);
      }
      const auto want = NaiveAttend(q.data() + (b * heads + h) * d, keys, values, d);
      for (int j = 0; j < d; ++j)
        EXPECT_NEAR(out[(b * heads + h) * d + j], want[j], 1e-5);
    }
}

TEST(ReferenceAttention, DecodeOfTheLastTokenEqualsTheLastRowOfCausalPrefill) {
  const int tokens = 6, heads = 4, kv_heads = 4, d = 8;
  const auto q = Random(tokens * heads * d, 11);
  const auto k = Random(tokens * kv_heads * d, 12);
  const auto v = Random(tokens * kv_heads * d, 13);
  std::vector<float> prefill(q.size());
  AttentionPrefill(q, k, v, prefill, 1, tokens, heads, kv_heads, d, true);
  const std::vector<float> last_q(q.end() - heads * d, q.end());
  std::vector<float> decode(heads * d);
  const std::vector<int> length = {tokens};
  AttentionDecode(last_q, k, v, length, decode, 1, tokens, heads, kv_heads, d);
  const std::vector<float> last_row(prefill.end() - heads * d, prefill.end());
  EXPECT_LT(RelativeError(decode, last_row), 1e-6);
}

// Small layers of each architecture (head dimension 16), for the layer tests.
ModelShape TinyModel(Architecture arch) {
  return testing::SmallModel(arch, 64);
}

LayerWeights RandomWeights(const ModelShape& m, unsigned seed) {
  const int h = m.hidden, f = m.ffn, d = m.head_dim();
  const float s = 1.0f / std::sqrt(float(h));
  LayerWeights w;
  w.q = Random(h * m.heads * d, seed + 1, s);
  w.k = Random(h * m.kv_heads * d, seed + 2, s);
  w.v = Random(h * m.kv_heads * d, seed + 3, s);
  w.o = Random(m.heads * d * h, seed + 4, s);
  w.gate = Random(h * f, seed + 5, s);
  w.up = Random(h * f, seed + 6, s);
  w.down = Random(f * h, seed + 7, 1.0f / std::sqrt(float(f)));
  w.norm1 = Random(h, seed + 8);
  w.bias1 = Random(h, seed + 9, 0.1f);
  w.norm2 = Random(h, seed + 10);
  w.bias2 = Random(h, seed + 11, 0.1f);
  return w;
}

TEST(ReferenceLayer, PreNormLayersAreTheIdentityWhenTheirOutputProjectionsAreZero) {
  for (const Architecture arch : {Architecture::kDecoder, Architecture::kMlp}) {
    const ModelShape m = TinyModel(arch);
    LayerWeights w = RandomWeights(m, 20);
    std::fill(w.o.begin(), w.o.end(), 0.0f);
    std::fill(w.down.begin(), w.down.end(), 0.0f);
    const int batch = 2, length = 5;
    const auto x = Random(batch * length * m.hidden, 21);
    const auto y = LayerForward(m, w, x, false, batch, length, nullptr, nullptr);
    EXPECT_EQ(y, x);
  }
}

TEST(ReferenceLayer, ADecodeStepReproducesTheLastTokenOfPrefill) {
  // Prefill a batch of sequences, keeping their K and V; a decode step for
  // each last token over the cache of the tokens before it must give the
  // prefill's output for that token.
  const ModelShape m = TinyModel(Architecture::kDecoder);
  const LayerWeights w = RandomWeights(m, 30);
  const int batch = 3, length = 9, h = m.hidden, kvd = m.kv_heads * m.head_dim();
  const auto x = Random(batch * length * h, 31);
  std::vector<float> k_cache, v_cache;
  const auto prefill = LayerForward(m, w, x, false, batch, length, &k_cache, &v_cache);
  ASSERT_EQ(k_cache.size(), std::size_t(batch) * length * kvd);

  std::vector<float> last(batch * h), want(batch * h);
  for (int b = 0; b < batch; ++b) {
    const long row = (long(b) * length + length - 1) * h;
    std::copy_n(x.begin() + row, h, last.begin() + long(b) * h);
    std::copy_n(prefill.begin() + row, h, want.begin() + long(b) * h);
    // The decode step must write the new token's K and V itself.
    const long at = (long(b) * length + length - 1) * kvd;
    std::fill_n(k_cache.begin() + at, kvd, 1e3f);
    std::fill_n(v_cache.begin() + at, kvd, -1e3f);
  }
  const auto decode = LayerForward(m, w, last, true, batch, length, &k_cache, &v_cache);
  EXPECT_LT(RelativeError(decode, want), 1e-5);
}

TEST(ReferenceLayer, AMixedStepGivesEachSequenceWhatItsWholePrefillGives) {
  // Three sequences in one engine step: a first prompt chunk (no context),
  // a later chunk after 4 cached tokens, and a decode after 6. Each new
  // token's output must be that token's row when the sequence's whole
  // prefix runs as one causal prefill, and the caches end as its K and V.
  const ModelShape m = TinyModel(Architecture::kDecoder);
  const LayerWeights w = RandomWeights(m, 50);
  const int h = m.hidden, kvd = m.kv_heads * m.head_dim();
  const std::vector<int> context = {0, 4, 6}, fresh = {5, 3, 1};
  std::vector<float> x, want;
  std::vector<std::vector<float>> whole_k(3), whole_v(3);
  std::vector<SequenceCache> caches(3);
  for (int s = 0; s < 3; ++s) {
    const int length = context[s] + fresh[s];
    const auto tokens = Random(static_cast<std::size_t>(length) * h, 51 + s);
    const auto full = LayerForward(m, w, tokens, false, 1, length, &whole_k[s], &whole_v[s]);
    x.insert(x.end(), tokens.begin() + long(context[s]) * h, tokens.end());
    want.insert(want.end(), full.begin() + long(context[s]) * h, full.end());
    // The cache as the earlier steps left it: the context's K and V.
    if (context[s] > 0) {
      std::vector<float> k, v;
      const std::vector<float> prefix(tokens.begin(), tokens.begin() + long(context[s]) * h);
      LayerForward(m, w, prefix, false, 1, context[s], &k, &v);
      caches[s] = {k, v};
    }
  }
  const auto y = MixedStepForward(m, w, x, context, fresh, caches);
  EXPECT_LT(RelativeError(y, want), 1e-5);
  for (int s = 0; s < 3; ++s) {
    ASSERT_EQ(caches[s].k.size(), std::size_t(context[s] + fresh[s]) * kvd);
    EXPECT_LT(RelativeError(caches[s].k, whole_k[s]), 1e-5) << s;
    EXPECT_LT(RelativeError(caches[s].v, whole_v[s]), 1e-5) << s;
  }
}

TEST(ReferenceLayer, AnEncoderLayerIsEquivariantToPermutingTokens) {
  // No positions and no mask: permuting a sequence's tokens permutes the
  // outputs the same way.
  const ModelShape m = TinyModel(Architecture::kEncoder);
  LayerWeights w = RandomWeights(m, 40);
  std::fill(w.norm2.begin(), w.norm2.end(), 1.0f);  // so that the last norm shows
  std::fill(w.bias2.begin(), w.bias2.end(), 0.0f);
  const int length = 7, h = m.hidden;
  const auto x = Random(length * h, 41);
  const std::vector<int> perm = {3, 0, 6, 1, 5, 2, 4};
  std::vector<float> px(x.size());
  for (int t = 0; t < length; ++t)
    std::copy_n(x.begin() + long(perm[t]) * h, h, px.begin() + long(t) * h);
  const auto y = LayerForward(m, w, x, false, 1, length, nullptr, nullptr);
  const auto py = LayerForward(m, w, px, false, 1, length, nullptr, nullptr);
  std::vector<float> want(y.size());
  for (int t = 0; t < length; ++t)
    std::copy_n(y.begin() + long(perm[t]) * h, h, want.begin() + long(t) * h);
  EXPECT_LT(RelativeError(py, want), 1e-5);
  // And it is a post-norm layer: every output row has mean 0, variance 1.
  for (int t = 0; t < length; ++t) {
    double sum = 0, squares = 0;
    for (int j = 0; j < h; ++j) {
      sum += y[long(t) * h + j];
      squares += double(y[long(t) * h + j]) * y[long(t) * h + j];
    }
    EXPECT_NEAR(sum / h, 0.0, 1e-5);
    EXPECT_NEAR(squares / h, 1.0, 1e-3);
  }
}

}  // namespace
}  // namespace platsim::gpu::reference
