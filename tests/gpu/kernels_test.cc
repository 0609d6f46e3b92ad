// GPU kernels against the CPU reference. Inputs are fresh random numbers on
// every run (the seed is printed on failure), rounded to bf16 before the
// reference sees them, so only the kernel's own error is measured: relative
// norm error within 1e-2 for these bf16 paths. Outputs are poisoned with NaN
// first, so an unwritten element fails. Without a device every test skips.
#include "gpu/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
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

TEST_F(GpuKernels, RmsNormAndLayerNormMatchTheReference) {
  const int rows = 64, h = 4096;
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

TEST_F(GpuKernels, PrefillAttentionMatchesTheReference) {
  for (const bool causal : {true, false}) {
    const int batch = 2, tokens = 37, heads = 8, kv_heads = 2, d = causal ? 128 : 64;
    DeviceBuffer<bf16> q(batch * tokens * heads * d), k(batch * tokens * kv_heads * d),
        v(batch * tokens * kv_heads * d), out(batch * tokens * heads * d);
    const auto hq = Upload(q, batch * tokens * heads * d);
    const auto hk = Upload(k, batch * tokens * kv_heads * d);
    const auto hv = Upload(v, batch * tokens * kv_heads * d);
    std::vector<float> want(hq.size());
    AttentionPrefill(q.get(), k.get(), v.get(), out.get(), batch, tokens, heads, kv_heads, d,
                     causal, nullptr);
    reference::AttentionPrefill(hq, hk, hv, want, batch, tokens, heads, kv_heads, d, causal);
    ExpectClose(Download(out, hq.size()), want, kBf16Tolerance,
                causal ? "causal prefill" : "prefill");
  }
}

TEST_F(GpuKernels, DecodeAttentionMatchesTheReference) {
  const int batch = 3, max_len = 100, heads = 32, kv_heads = 8, d = 128;
  DeviceBuffer<bf16> q(batch * heads * d), kc(batch * max_len * kv_heads * d),
      vc(batch * max_len * kv_heads * d), out(batch * heads * d);
  const auto hq = Upload(q, batch * heads * d);
  const auto hk = Upload(kc, batch * max_len * kv_heads * d);
  const auto hv = Upload(vc, batch * max_len * kv_heads * d);
  const std::vector<int> lengths = {1, 57, 100};
  DeviceBuffer<int> len(batch);
  Check(cudaMemcpy(len.get(), lengths.data(), batch * sizeof(int), cudaMemcpyHostToDevice),
        "upload");
  std::vector<float> want(hq.size());
  AttentionDecode(q.get(), kc.get(), vc.get(), len.get(), out.get(), batch, max_len, heads,
                  kv_heads, d, nullptr);
  reference::AttentionDecode(hq, hk, hv, lengths, want, batch, max_len, heads, kv_heads, d);
  ExpectClose(Download(out, hq.size()), want, kBf16Tolerance, "decode");
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
  EXPECT_THROW(
      AttentionDecode(nullptr, nullptr, nullptr, nullptr, nullptr, 1, 1, 1, 1, 48, nullptr),
      CudaError);
}

}  // namespace
}  // namespace platsim::gpu
