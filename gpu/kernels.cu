// First versions: simple and correct, checked against gpu/reference.h. They
// are to be tuned on a GPU against the measured copy bandwidth and matrix
// rate (gpu/profiles/README.md will record how far each is from its ceiling).
#include <cublas_v2.h>

#include <cmath>
#include <cstdint>

#include "gpu/kernels.h"

namespace platsim::gpu {
namespace {

constexpr int kWarp = 32;

__device__ float WarpSum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over a block of up to 1024 threads; every thread gets the result.
__device__ float BlockSum(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  v = WarpSum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = (blockDim.x + kWarp - 1) / kWarp;
    float s = lane < warps ? partial[lane] : 0.0f;
    s = WarpSum(s);
    if (lane == 0) total = s;
  }
  __syncthreads();
  const float result = total;
  __syncthreads();  // partial and total are reused by the next call
  return result;
}

__global__ void RmsNormKernel(const bf16* x, const bf16* w, bf16* y, int h, float eps) {
  const long row = blockIdx.x;
  const bf16* in = x + row * h;
  float ss = 0.0f;
  for (int j = threadIdx.x; j < h; j += blockDim.x) {
    const float v = __bfloat162float(in[j]);
    ss += v * v;
  }
  const float inv = rsqrtf(BlockSum(ss) / h + eps);
  for (int j = threadIdx.x; j < h; j += blockDim.x) {
    y[row * h + j] = __float2bfloat16(__bfloat162float(in[j]) * inv * __bfloat162float(w[j]));
  }
}

__global__ void LayerNormKernel(const bf16* x, const bf16* g, const bf16* b, bf16* y, int h,
                                float eps) {
  const long row = blockIdx.x;
  const bf16* in = x + row * h;
  float sum = 0.0f;
  for (int j = threadIdx.x; j < h; j += blockDim.x)
    sum += __bfloat162float(in[j]);
  const float mean = BlockSum(sum) / h;
  float ss = 0.0f;
  for (int j = threadIdx.x; j < h; j += blockDim.x) {
    const float c = __bfloat162float(in[j]) - mean;
    ss += c * c;
  }
  const float inv = rsqrtf(BlockSum(ss) / h + eps);
  for (int j = threadIdx.x; j < h; j += blockDim.x) {
    const float c = (__bfloat162float(in[j]) - mean) * inv;
    y[row * h + j] = __float2bfloat16(c * __bfloat162float(g[j]) + __bfloat162float(b[j]));
  }
}

__global__ void RopeKernel(bf16* x, const int* positions, int tokens, int heads, int d,
                           float log_theta) {
  const int half = d / 2;
  const long index = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long total = static_cast<long>(tokens) * heads * half;
  if (index >= total) return;
  const int i = static_cast<int>(index % half);
  const long th = index / half;  // token * heads + head
  const int t = static_cast<int>(th / heads);
  const float angle = positions[t] * expf(-2.0f * i / d * log_theta);
  float s, c;
  sincosf(angle, &s, &c);
  bf16* v = x + th * d;
  const float a = __bfloat162float(v[i]), bb = __bfloat162float(v[i + half]);
  v[i] = __float2bfloat16(a * c - bb * s);
  v[i + half] = __float2bfloat16(bb * c + a * s);
}

__global__ void SwiGluKernel(const bf16* gate, const bf16* up, bf16* y, long n) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    const float g = __bfloat162float(gate[i]);
    y[i] = __float2bfloat16(g / (1.0f + expf(-g)) * __bfloat162float(up[i]));
  }
}

__global__ void GeluKernel(const bf16* x, bf16* y, long n) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    const float v = __bfloat162float(x[i]);
    y[i] = __float2bfloat16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
}

__global__ void ResidualAddKernel(const bf16* x, const bf16* r, bf16* y, long n) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    y[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(r[i]));
  }
}

// splitmix64: a counter-based hash, so that any element's value depends only
// on the seed and its index.
__device__ unsigned long long Mix(unsigned long long z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

__global__ void FillUniformKernel(bf16* x, long n, float scale, unsigned long long seed) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    const float u = (Mix(seed ^ Mix(i)) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    x[i] = __float2bfloat16((2.0f * u - 1.0f) * scale);
  }
}

__global__ void FillIndicesKernel(int* ids, long n, int bound, unsigned long long seed) {
  for (long i = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<long>(gridDim.x) * blockDim.x) {
    ids[i] = static_cast<int>(Mix(seed ^ Mix(i)) % static_cast<unsigned long long>(bound));
  }
}

// One block per token; 16-byte moves when rows allow them.
__global__ void EmbeddingKernel(const int* ids, const bf16* table, bf16* y, int h, bool wide) {
  const long t = blockIdx.x;
  const bf16* src = table + static_cast<long>(ids[t]) * h;
  bf16* dst = y + t * h;
  if (wide) {
    const uint4* s = reinterpret_cast<const uint4*>(src);
    uint4* d = reinterpret_cast<uint4*>(dst);
    for (int j = threadIdx.x; j < h / 8; j += blockDim.x)
      d[j] = s[j];
  } else {
    for (int j = threadIdx.x; j < h; j += blockDim.x)
      dst[j] = src[j];
  }
}

// One warp per query row: lane l holds elements l, l+32, ... of q and of the
// output accumulator; keys are visited in order with an online softmax.
template <int kPerLane>
__device__ void AttendRow(const bf16* q, const bf16* keys, const bf16* values, long key_stride,
                          int visible, float scale, bf16* out) {
  const int lane = threadIdx.x % kWarp;
  float qv[kPerLane], acc[kPerLane];
#pragma unroll
  for (int e = 0; e < kPerLane; ++e) {
    qv[e] = __bfloat162float(q[lane + e * kWarp]) * scale;
    acc[e] = 0.0f;
  }
  float max = -INFINITY, denom = 0.0f;
  for (int s = 0; s < visible; ++s) {
    const bf16* k = keys + s * key_stride;
    float dot = 0.0f;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e)
      dot += qv[e] * __bfloat162float(k[lane + e * kWarp]);
    dot = WarpSum(dot);
    const float new_max = fmaxf(max, dot);
    const float correction = expf(max - new_max);
    const float p = expf(dot - new_max);
    denom = denom * correction + p;
    const bf16* v = values + s * key_stride;
#pragma unroll
    for (int e = 0; e < kPerLane; ++e) {
      acc[e] = acc[e] * correction + p * __bfloat162float(v[lane + e * kWarp]);
    }
    max = new_max;
  }
#pragma unroll
  for (int e = 0; e < kPerLane; ++e)
    out[lane + e * kWarp] = __float2bfloat16(acc[e] / denom);
}

template <int kPerLane>
__global__ void PrefillKernel(const bf16* q, const bf16* k, const bf16* v, bf16* out, int batch,
                              int tokens, int heads, int kv_heads, bool causal, float scale) {
  const int d = kPerLane * kWarp;
  const long row = static_cast<long>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= static_cast<long>(batch) * tokens * heads) return;
  const int h = static_cast<int>(row % heads);
  const long bt = row / heads;
  const int t = static_cast<int>(bt % tokens);
  const long b = bt / tokens;
  const int kvh = h / (heads / kv_heads);
  const long kv_base = (b * tokens * kv_heads + kvh) * d;
  AttendRow<kPerLane>(q + row * d, k + kv_base, v + kv_base, static_cast<long>(kv_heads) * d,
                      causal ? t + 1 : tokens, scale, out + row * d);
}

template <int kPerLane>
__global__ void DecodeKernel(const bf16* q, const bf16* kc, const bf16* vc, const int* lengths,
                             bf16* out, int batch, int max_len, int heads, int kv_heads,
                             float scale) {
  const int d = kPerLane * kWarp;
  const long row = static_cast<long>(blockIdx.x) * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  if (row >= static_cast<long>(batch) * heads) return;
  const int h = static_cast<int>(row % heads);
  const long b = row / heads;
  const int kvh = h / (heads / kv_heads);
  const long kv_base = (b * max_len * kv_heads + kvh) * d;
  AttendRow<kPerLane>(q + row * d, kc + kv_base, vc + kv_base, static_cast<long>(kv_heads) * d,
                      lengths[b], scale, out + row * d);
}

int GridFor(long n, int block) {
  const long blocks = (n + block - 1) / block;
  return static_cast<int>(blocks < 65535L * 16 ? blocks : 65535L * 16);
}

void CheckLaunch(const char* kernel) {
  Check(cudaGetLastError(), kernel);
}

void CheckHeadDim(int d, const char* what) {
  if (d % kWarp != 0 || d > 256 || d <= 0) {
    throw CudaError(std::string(what) + ": head dimension " + std::to_string(d) +
                    " unsupported (a multiple of 32, at most 256)");
  }
}

const char* CublasName(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "cuBLAS error";
  }
}

void CheckCublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw CudaError(std::string(what) + ": " + CublasName(s));
}

}  // namespace

void Check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw CudaError(std::string(what) + ": " + cudaGetErrorName(status) + ": " +
                    cudaGetErrorString(status));
  }
}

bool DeviceAvailable(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the error so later calls do not report it
    return false;
  }
  if (count == 0) {
    if (why) *why = "no CUDA device";
    return false;
  }
  return true;
}

void FillUniform(bf16* x, long n, float scale, unsigned long long seed, cudaStream_t stream) {
  FillUniformKernel<<<GridFor(n, 256), 256, 0, stream>>>(x, n, scale, seed);
  CheckLaunch("FillUniformKernel");
}

void FillIndices(int* ids, long n, int bound, unsigned long long seed, cudaStream_t stream) {
  FillIndicesKernel<<<GridFor(n, 256), 256, 0, stream>>>(ids, n, bound, seed);
  CheckLaunch("FillIndicesKernel");
}

void Embedding(const int* ids, const bf16* table, bf16* y, int tokens, int h, cudaStream_t stream) {
  if (tokens == 0) return;
  const bool wide =
      h % 8 == 0 &&
      (reinterpret_cast<std::uintptr_t>(table) | reinterpret_cast<std::uintptr_t>(y)) % 16 == 0;
  EmbeddingKernel<<<tokens, 128, 0, stream>>>(ids, table, y, h, wide);
  CheckLaunch("EmbeddingKernel");
}

void RmsNorm(const bf16* x, const bf16* weight, bf16* y, int rows, int h, float eps,
             cudaStream_t stream) {
  RmsNormKernel<<<rows, 256, 0, stream>>>(x, weight, y, h, eps);
  CheckLaunch("RmsNormKernel");
}

void LayerNorm(const bf16* x, const bf16* gamma, const bf16* beta, bf16* y, int rows, int h,
               float eps, cudaStream_t stream) {
  LayerNormKernel<<<rows, 256, 0, stream>>>(x, gamma, beta, y, h, eps);
  CheckLaunch("LayerNormKernel");
}

void Rope(bf16* x, const int* positions, int tokens, int heads, int d, double theta,
          cudaStream_t stream) {
  const long n = static_cast<long>(tokens) * heads * (d / 2);
  RopeKernel<<<static_cast<int>((n + 255) / 256), 256, 0, stream>>>(
      x, positions, tokens, heads, d, static_cast<float>(std::log(theta)));
  CheckLaunch("RopeKernel");
}

void SwiGlu(const bf16* gate, const bf16* up, bf16* y, long n, cudaStream_t stream) {
  SwiGluKernel<<<GridFor(n, 256), 256, 0, stream>>>(gate, up, y, n);
  CheckLaunch("SwiGluKernel");
}

void Gelu(const bf16* x, bf16* y, long n, cudaStream_t stream) {
  GeluKernel<<<GridFor(n, 256), 256, 0, stream>>>(x, y, n);
  CheckLaunch("GeluKernel");
}

void ResidualAdd(const bf16* x, const bf16* residual, bf16* y, long n, cudaStream_t stream) {
  ResidualAddKernel<<<GridFor(n, 256), 256, 0, stream>>>(x, residual, y, n);
  CheckLaunch("ResidualAddKernel");
}

void AttentionPrefill(const bf16* q, const bf16* k, const bf16* v, bf16* out, int batch, int tokens,
                      int heads, int kv_heads, int d, bool causal, cudaStream_t stream) {
  CheckHeadDim(d, "AttentionPrefill");
  const long rows = static_cast<long>(batch) * tokens * heads;
  const int warps = 4;
  const int grid = static_cast<int>((rows + warps - 1) / warps);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  switch (d / kWarp) {
#define PLATSIM_PREFILL(n)                                                                   \
  case n:                                                                                    \
    PrefillKernel<n><<<grid, warps * kWarp, 0, stream>>>(q, k, v, out, batch, tokens, heads, \
                                                         kv_heads, causal, scale);           \
    break;
    PLATSIM_PREFILL(1)
    PLATSIM_PREFILL(2)
    PLATSIM_PREFILL(3)
    PLATSIM_PREFILL(4)
    PLATSIM_PREFILL(5)
    PLATSIM_PREFILL(6)
    PLATSIM_PREFILL(7)
    PLATSIM_PREFILL(8)
#undef PLATSIM_PREFILL
  }
  CheckLaunch("PrefillKernel");
}

void AttentionDecode(const bf16* q, const bf16* k_cache, const bf16* v_cache, const int* lengths,
                     bf16* out, int batch, int max_len, int heads, int kv_heads, int d,
                     cudaStream_t stream) {
  CheckHeadDim(d, "AttentionDecode");
  const long rows = static_cast<long>(batch) * heads;
  const int warps = 4;
  const int grid = static_cast<int>((rows + warps - 1) / warps);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  switch (d / kWarp) {
#define PLATSIM_DECODE(n)                                                                         \
  case n:                                                                                         \
    DecodeKernel<n><<<grid, warps * kWarp, 0, stream>>>(q, k_cache, v_cache, lengths, out, batch, \
                                                        max_len, heads, kv_heads, scale);         \
    break;
    PLATSIM_DECODE(1)
    PLATSIM_DECODE(2)
    PLATSIM_DECODE(3)
    PLATSIM_DECODE(4)
    PLATSIM_DECODE(5)
    PLATSIM_DECODE(6)
    PLATSIM_DECODE(7)
    PLATSIM_DECODE(8)
#undef PLATSIM_DECODE
  }
  CheckLaunch("DecodeKernel");
}

Gemm::Gemm() = default;

Gemm::~Gemm() {
  if (handle_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(handle_));
}

void Gemm::Run(const bf16* a, const bf16* b, bf16* c, int m, int n, int k, cudaStream_t stream) {
  if (handle_ == nullptr) {
    cublasHandle_t h = nullptr;
    CheckCublas(cublasCreate(&h), "cublasCreate");
    handle_ = h;
  }
  auto h = static_cast<cublasHandle_t>(handle_);
  CheckCublas(cublasSetStream(h, stream), "cublasSetStream");
  const float alpha = 1.0f, beta = 0.0f;
  // Row-major C = A B is column-major C^T = B^T A^T: swap the operands.
  CheckCublas(
      cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &alpha, b, CUDA_R_16BF, n, a, CUDA_R_16BF,
                   k, &beta, c, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
      "cublasGemmEx");
}

}  // namespace platsim::gpu
