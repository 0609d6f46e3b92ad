// GPU kernels against the CPU reference. Inputs are fresh random numbers on
// every run (the seed is printed on failure), rounded to bf16 before the
// reference sees them, so only the kernel's own error is measured: relative
// norm error within 1e-2 for these bf16 paths. Outputs are poisoned with NaN
// first, so an unwritten element fails. Without a device every test skips.
#include "gpu/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu/reference.h"

namespace platsim::gpu {
namespace {

// A device array poisoned with NaN (bf16 0xffff), so that an element a
// kernel leaves unwritten fails the comparison.
template <class T>
class DeviceBuffer : public DeviceArray<T> {
 public:
  explicit DeviceBuffer(std::size_t n) : DeviceArray<T>(n) {
    Check(cudaMemset(this->get(), 0xff, this->bytes()), "cudaMemset");
  }
};

class GpuKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!DeviceAvailable(&why)) GTEST_SKIP() << "GPU tests skipped: " << why;
    seed_ = std::random_device{}();
    gen_.seed(seed_);
  }

  // Random values rounded to bf16 (what the device will see), uploaded.
  std::vector<float> Upload(DeviceBuffer<bf16>& buf, std::size_t n, float scale = 1.0f) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> host(n);
    std::vector<bf16> raw(n);
    for (std::size_t i = 0; i < n; ++i) {
      raw[i] = __float2bfloat16(dist(gen_));
      host[i] = __bfloat162float(raw[i]);
    }
    Check(cudaMemcpy(buf.get(), raw.data(), n * sizeof(bf16), cudaMemcpyHostToDevice), "upload");
    return host;
  }
  std::vector<float> Download(DeviceBuffer<bf16>& buf, std::size_t n) {
    Check(cudaDeviceSynchronize(), "kernel");
    std::vector<bf16> raw(n);
    Check(cudaMemcpy(raw.data(), buf.get(), n * sizeof(bf16), cudaMemcpyDeviceToHost), "download");
    std::vector<float> out(n);
    for (std::size_t i = 0; i < n; ++i)
      out[i] = __bfloat162float(raw[i]);
    return out;
  }
  void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, double tolerance,
                   const char* what) {
    double num = 0, den = 0;
    std::size_t unwritten = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      if (std::isnan(got[i])) ++unwritten;
      num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      den += double(want[i]) * want[i];
    }
    EXPECT_EQ(unwritten, 0u) << what << ": elements left unwritten (seed " << seed_ << ")";
    EXPECT_LT(std::sqrt(num / den), tolerance) << what << " (seed " << seed_ << ")";
  }

  unsigned seed_ = 0;
  std::mt19937 gen_;
  static constexpr double kBf16Tolerance = 1e-2;
};

// h of 4096 and 1000 take a warp per row (16 and 4 chunks per lane), 8192 a
// block per row, 4100 (not a multiple of 8) the one-element kernels.
TEST_F(GpuKernels, RmsNormAndLayerNormMatchTheReference) {
  for (const int h : {4096, 1000, 8192, 4100}) {
    const int rows = 66;
    DeviceBuffer<bf16> x(rows * h), w(h), b(h), y(rows * h);
    const auto hx = Upload(x, rows * h, 3.0f), hw = Upload(w, h), hb = Upload(b, h);
    std::vector<float> want(rows * h);
    RmsNorm(x.get(), w.get(), y.get(), rows, h, 1e-5f, nullptr);
    reference::RmsNorm(hx, hw, want, rows, h, 1e-5f);
    ExpectClose(Download(y, rows * h), want, kBf16Tolerance, "RmsNorm");
    DeviceBuffer<bf16> z(rows * h);
    LayerNorm(x.get(), w.get(), b.get(), z.get(), rows, h, 1e-5f, nullptr);
    reference::LayerNorm(hx, hw, hb, want, rows, h, 1e-5f);
    ExpectClose(Download(z, rows * h), want, kBf16Tolerance, "LayerNorm");
  }
}

TEST_F(GpuKernels, RopeMatchesTheReference) {
  const int tokens = 33, heads = 8, d = 128;
  DeviceBuffer<bf16> x(tokens * heads * d);
  auto host = Upload(x, tokens * heads * d);
  std::vector<int> positions(tokens);
  for (int t = 0; t < tokens; ++t)
    positions[t] = 1000 + 37 * t;
  DeviceBuffer<int> pos(tokens);
  Check(cudaMemcpy(pos.get(), positions.data(), tokens * sizeof(int), cudaMemcpyHostToDevice),
        "upload");
  Rope(x.get(), pos.get(), tokens, heads, d, 500000.0, nullptr);
  reference::Rope(host, positions, tokens, heads, d, 500000.0);
  ExpectClose(Download(x, tokens * heads * d), host, kBf16Tolerance, "Rope");
}

TEST_F(GpuKernels, ElementwiseKernelsMatchTheReferenceAtAnOddSize) {
  const long n = (1 << 20) + 3;
  DeviceBuffer<bf16> a(n), b(n), y(n);
  const auto ha = Upload(a, n, 4.0f), hb = Upload(b, n, 4.0f);
  std::vector<float> want(n);
  SwiGlu(a.get(), b.get(), y.get(), n, nullptr);
  reference::SwiGlu(ha, hb, want);
  ExpectClose(Download(y, n), want, kBf16Tolerance, "SwiGlu");
  Gelu(a.get(), y.get(), n, nullptr);
  reference::Gelu(ha, want);
  ExpectClose(Download(y, n), want, kBf16Tolerance, "Gelu");
  ResidualAdd(a.get(), b.get(), y.get(), n, nullptr);
  reference::ResidualAdd(ha, hb, want);
  ExpectClose(Download(y, n), want, kBf16Tolerance, "ResidualAdd");
}

// Shapes that reach every path: one key tile and several with a partial
// last one, causal and full, grouped and multi-head, the tensor-core head
// dimensions (32-128) and one over them (the per-row kernel).
TEST_F(GpuKernels, PrefillAttentionMatchesTheReference) {
  struct Case {
    int batch, tokens, heads, kv_heads, d;
    bool causal;
  };
  for (const Case c :
       {Case{2, 37, 8, 2, 128, true}, Case{2, 37, 8, 2, 64, false}, Case{1, 200, 4, 4, 64, true},
        Case{1, 150, 4, 1, 128, false}, Case{1, 70, 2, 2, 96, true}, Case{1, 65, 2, 2, 32, false},
        Case{1, 40, 2, 1, 160, true}}) {
    const long nq = long(c.batch) * c.tokens * c.heads * c.d;
    const long nkv = long(c.batch) * c.tokens * c.kv_heads * c.d;
    DeviceBuffer<bf16> q(nq), k(nkv), v(nkv), out(nq);
    const auto hq = Upload(q, nq), hk = Upload(k, nkv), hv = Upload(v, nkv);
    std::vector<float> want(hq.size());
    AttentionPrefill(q.get(), k.get(), v.get(), out.get(), c.batch, c.tokens, c.heads, c.kv_heads,
                     c.d, c.causal, nullptr);
    reference::AttentionPrefill(hq, hk, hv, want, c.batch, c.tokens, c.heads, c.kv_heads, c.d,
                                c.causal);
    const std::string what = std::string(c.causal ? "causal" : "full") + " prefill, " +
                             std::to_string(c.tokens) + " tokens, d " + std::to_string(c.d);
    ExpectClose(Download(out, hq.size()), want, kBf16Tolerance, what.c_str());
  }
}

// Few sequences over long caches split the KV length over blocks (with
// slices past a short sequence's end); many sequences do not; 1, 2, 4 and 8
// query heads per KV head; d 96 with three query heads per KV head takes
// the per-row kernel.
TEST_F(GpuKernels, DecodeAttentionMatchesTheReference) {
  struct Case {
    int max_len, heads, kv_heads, d;
    std::vector<int> lengths;
  };
  for (const Case& c : {Case{100, 32, 8, 128, {1, 57, 100}}, Case{1000, 8, 8, 64, {1000, 333}},
                        Case{4096, 32, 8, 128, {4096}}, Case{777, 16, 2, 128, {777, 5, 400}},
                        Case{513, 8, 4, 64, {513}}, Case{300, 6, 2, 96, {300, 7}}}) {
    const int batch = static_cast<int>(c.lengths.size());
    const long nq = long(batch) * c.heads * c.d, nkv = long(batch) * c.max_len * c.kv_heads * c.d;
    DeviceBuffer<bf16> q(nq), kc(nkv), vc(nkv), out(nq);
    const auto hq = Upload(q, nq), hk = Upload(kc, nkv), hv = Upload(vc, nkv);
    DeviceBuffer<int> len(batch);
    Check(cudaMemcpy(len.get(), c.lengths.data(), batch * sizeof(int), cudaMemcpyHostToDevice),
          "upload");
    const long floats = AttentionDecodeWorkspace(batch, c.max_len, c.heads, c.kv_heads, c.d);
    DeviceArray<float> workspace(std::max(floats, 1L));
    std::vector<float> want(hq.size());
    AttentionDecode(q.get(), kc.get(), vc.get(), len.get(), out.get(), batch, c.max_len, c.heads,
                    c.kv_heads, c.d, workspace.get(), nullptr);
    reference::AttentionDecode(hq, hk, hv, c.lengths, want, batch, c.max_len, c.heads, c.kv_heads,
                               c.d);
    const std::string what = "decode, KV " + std::to_string(c.max_len) + ", d " +
                             std::to_string(c.d) + ", workspace " + std::to_string(floats);
    ExpectClose(Download(out, hq.size()), want, kBf16Tolerance, what.c_str());
  }
}

TEST_F(GpuKernels, GemmMatchesTheReferenceAtUnalignedShapes) {
  const int m = 123, n = 257, k = 300;
  DeviceBuffer<bf16> a(m * k), b(k * n), c(m * n);
  const auto ha = Upload(a, m * k), hb = Upload(b, k * n);
  std::vector<float> want(m * n);
  Gemm gemm;
  gemm.Run(a.get(), b.get(), c.get(), m, n, k, nullptr);
  reference::Gemm(ha, hb, want, m, n, k);
  ExpectClose(Download(c, m * n), want, kBf16Tolerance, "Gemm");
}

TEST(GpuErrors, AnUnsupportedHeadDimensionIsRefusedWithItsName) {
  std::string why;
  if (!DeviceAvailable(&why)) GTEST_SKIP() << "GPU tests skipped: " << why;
  EXPECT_THROW(AttentionDecode(nullptr, nullptr, nullptr, nullptr, nullptr, 1, 1, 1, 1, 48, nullptr,
                               nullptr),
               CudaError);
}

}  // namespace
}  // namespace platsim::gpu
