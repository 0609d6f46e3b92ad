// First versions: simple and correct, checked against gpu/reference.h. They
// are to be tuned on a GPU against the measured copy bandwidth and matrix
// rate (gpu/profiles/README.md will record how far each is from its ceiling).
#include <cublas_v2.h>

#include <algorithm>
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

// One chunk of 8 normalized values: (x - mean) * inv * gamma (+ beta).
template <bool kLayerNorm>
__device__ __forceinline__ uint4 NormChunk(const float x[8], const bf16* g, const bf16* b, int j,
                                           float mean, float inv) {
  const uint4 graw = reinterpret_cast<const uint4*>(g)[j];
  uint4 braw{};
  if constexpr (kLayerNorm) braw = reinterpret_cast<const uint4*>(b)[j];
  const auto* ge = reinterpret_cast<const __nv_bfloat162*>(&graw);
  const auto* be = reinterpret_cast<const __nv_bfloat162*>(&braw);
  uint4 o;
  auto* oe = reinterpret_cast<__nv_bfloat162*>(&o);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float2 gf = __bfloat1622float2(ge[k]);
    const float2 bf = kLayerNorm ? __bfloat1622float2(be[k]) : make_float2(0.0f, 0.0f);
    oe[k] = __floats2bfloat162_rn((x[2 * k] - mean) * inv * gf.x + bf.x,
                                  (x[2 * k + 1] - mean) * inv * gf.y + bf.y);
  }
  return o;
}

// Rows of h = 8 x chunks elements with 16-byte alignment, one block per row:
// each thread holds its chunks of 8 in registers between the passes, so the
// row is read once. Rows up to kNormThreads x kNormChunks x 8 elements.
constexpr int kNormThreads = 128, kNormChunks = 8;

template <bool kLayerNorm>
__global__ void __launch_bounds__(kNormThreads)
    WideNormKernel(const bf16* x, const bf16* g, const bf16* b, bf16* y, int h, float eps) {
  const long row = blockIdx.x;
  const int chunks = h / 8;
  const uint4* in = reinterpret_cast<const uint4*>(x + row * h);
  float v[kNormChunks][8];
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < kNormChunks; ++c) {
    const int j = threadIdx.x + c * kNormThreads;
    if (j >= chunks) break;
    const uint4 raw = in[j];
    const auto* e = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(e[k]);
      v[c][2 * k] = f.x;
      v[c][2 * k + 1] = f.y;
      sum += f.x + f.y;
    }
  }
  const float mean = kLayerNorm ? BlockSum(sum) / h : 0.0f;
  float ss = 0.0f;
#pragma unroll
  for (int c = 0; c < kNormChunks; ++c) {
    if (threadIdx.x + c * kNormThreads >= chunks) break;
#pragma unroll
    for (int k = 0; k < 8; ++k)
      ss += (v[c][k] - mean) * (v[c][k] - mean);
  }
  const float inv = rsqrtf(BlockSum(ss) / h + eps);
  uint4* out = reinterpret_cast<uint4*>(y + row * h);
#pragma unroll
  for (int c = 0; c < kNormChunks; ++c) {
    const int j = threadIdx.x + c * kNormThreads;
    if (j >= chunks) break;
    out[j] = NormChunk<kLayerNorm>(v[c], g, b, j, mean, inv);
  }
}

// Rows of up to 256 x kChunks elements (h a multiple of 8, 16-byte
// aligned), a warp per row and four rows per block: each lane holds its
// chunks of 8 as loaded, so the row is read once and the sums need no
// barrier.
template <int kChunks, bool kLayerNorm>
__global__ void __launch_bounds__(128) WarpNormKernel(const bf16* x, const bf16* g, const bf16* b,
                                                      bf16* y, long rows, int h, float eps) {
  const long row = static_cast<long>(blockIdx.x) * 4 + threadIdx.x / kWarp;
  if (row >= rows) return;
  const int lane = threadIdx.x % kWarp, chunks = h / 8;
  const uint4* in = reinterpret_cast<const uint4*>(x + row * h);
  uint4 raw[kChunks];
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int j = lane + c * kWarp;
    raw[c] = j < chunks ? in[j] : uint4{};
    const auto* e = reinterpret_cast<const __nv_bfloat162*>(&raw[c]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(e[k]);
      sum += f.x + f.y;
    }
  }
  const float mean = kLayerNorm ? WarpSum(sum) / h : 0.0f;
  float ss = 0.0f;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    if (lane + c * kWarp >= chunks) break;
    const auto* e = reinterpret_cast<const __nv_bfloat162*>(&raw[c]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(e[k]);
      ss += (f.x - mean) * (f.x - mean) + (f.y - mean) * (f.y - mean);
    }
  }
  const float inv = rsqrtf(WarpSum(ss) / h + eps);
  uint4* out = reinterpret_cast<uint4*>(y + row * h);
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int j = lane + c * kWarp;
    if (j >= chunks) break;
    float x[8];
    const auto* xe = reinterpret_cast<const __nv_bfloat162*>(&raw[c]);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(xe[k]);
      x[2 * k] = f.x;
      x[2 * k + 1] = f.y;
    }
    out[j] = NormChunk<kLayerNorm>(x, g, b, j, mean, inv);
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

// RoPE with 8 rotation pairs per thread: 16-byte loads of both halves.
// REQUIRES: d / 2 a multiple of 8, x 16-byte aligned.
__global__ void WideRopeKernel(bf16* x, const int* positions, int tokens, int heads, int d,
                               float log_theta) {
  const int half = d / 2, groups = half / 8;
  const long index = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (index >= static_cast<long>(tokens) * heads * groups) return;
  const int i0 = static_cast<int>(index % groups) * 8;
  const long th = index / groups;  // token * heads + head
  const float position = static_cast<float>(positions[th / heads]);
  bf16* v = x + th * d;
  uint4 lo = *reinterpret_cast<const uint4*>(v + i0),
        hi = *reinterpret_cast<const uint4*>(v + i0 + half);
  auto* a = reinterpret_cast<__nv_bfloat162*>(&lo);
  auto* bb = reinterpret_cast<__nv_bfloat162*>(&hi);
#pragma unroll
  for (int k = 0; k < 4; ++k) {
    const float2 fa = __bfloat1622float2(a[k]), fb = __bfloat1622float2(bb[k]);
    float s0, c0, s1, c1;
    sincosf(position * expf(-2.0f * (i0 + 2 * k) / d * log_theta), &s0, &c0);
    sincosf(position * expf(-2.0f * (i0 + 2 * k + 1) / d * log_theta), &s1, &c1);
    a[k] = __floats2bfloat162_rn(fa.x * c0 - fb.x * s0, fa.y * c1 - fb.y * s1);
    bb[k] = __floats2bfloat162_rn(fb.x * c0 + fa.x * s0, fb.y * c1 + fa.y * s1);
  }
  *reinterpret_cast<uint4*>(v + i0) = lo;
  *reinterpret_cast<uint4*>(v + i0 + half) = hi;
}

// Elementwise functions of one or two bf16 tensors. `wide`: 8 elements
// (16 bytes) per access, the tail past the last whole vector one at a time.
struct SiluTimes {
  __device__ float operator()(float g, float u) const { return g / (1.0f + __expf(-g)) * u; }
};
struct GeluErf {
  __device__ float operator()(float x, float) const {
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  }
};
struct Plus {
  __device__ float operator()(float x, float r) const { return x + r; }
};

template <class Op, bool kTwoInputs>
__global__ void MapKernel(const bf16* a, const bf16* b, bf16* y, long n, bool wide, Op op) {
  const long first = static_cast<long>(blockIdx.x) * blockDim.x + threadIdx.x;
  const long stride = static_cast<long>(gridDim.x) * blockDim.x;
  const long vectors = wide ? n / 8 : 0;
  for (long i = first; i < vectors; i += stride) {
    const uint4 va = reinterpret_cast<const uint4*>(a)[i];
    uint4 vb = va;
    if constexpr (kTwoInputs) vb = reinterpret_cast<const uint4*>(b)[i];
    const auto* ea = reinterpret_cast<const __nv_bfloat162*>(&va);
    const auto* eb = reinterpret_cast<const __nv_bfloat162*>(&vb);
    uint4 vy;
    auto* ey = reinterpret_cast<__nv_bfloat162*>(&vy);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const float2 fa = __bfloat1622float2(ea[e]), fb = __bfloat1622float2(eb[e]);
      ey[e] = __floats2bfloat162_rn(op(fa.x, fb.x), op(fa.y, fb.y));
    }
    reinterpret_cast<uint4*>(y)[i] = vy;
  }
  for (long i = vectors * 8 + first; i < n; i += stride) {
    const float fb = kTwoInputs ? __bfloat162float(b[i]) : 0.0f;
    y[i] = __float2bfloat16(op(__bfloat162float(a[i]), fb));
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

// ---- Tensor-core attention (sm_80+: mma.sync m16n8k16, bf16 in, fp32 out).
// Fragment layouts (PTX ISA, "Matrix fragments for mma.m16n8k16"), with
// g = lane / 4 and t = lane % 4: A (16x16, row-major) registers hold
// (g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..); B (16x8) holds
// rows k = 2t..2t+1 and 2t+8..2t+9 of column g; C (16x8, fp32) holds
// (g, 2t..2t+1) and (g+8, 2t..2t+1). The lower-indexed element of a pair is
// in the low 16 bits.

__device__ __forceinline__ void Mma16816(float c[4], const uint32_t a[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t PackFloats(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&v);
}

// 2^x on the special-function unit (2 ulp; -inf gives 0).
__device__ __forceinline__ float FastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t Load32(const bf16* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// Four 8x8 b16 matrices from shared memory: lanes 8i..8i+7 give the row
// addresses of matrix i, and register i receives matrix i in the A/B
// fragment layout (row lane / 4, columns 2(lane % 4), +1); `.trans`
// delivers each matrix transposed.
__device__ __forceinline__ void LoadMatrices(uint32_t r[4], const bf16* row) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void LoadMatricesTransposed(uint32_t r[4], const bf16* row) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// 16 bytes global -> shared without passing through registers; with
// `valid` false the destination is zero-filled and nothing is read.
__device__ __forceinline__ void CopyAsync16(bf16* dst, const bf16* src, bool valid) {
  const auto addr = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(addr), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void CopyAsyncCommit() {
  asm volatile("cp.async.commit_group;\n");
}
template <int kPending>
__device__ __forceinline__ void CopyAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// Flash attention (online softmax over key tiles, scores never leave
// registers). A block of kWarps warps takes 16 x kWarps query rows of one
// (sequence, head), 16 rows per warp. K and V tiles of 64 keys are copied into shared
// memory asynchronously, two stages deep, so the next tile loads while this
// one is computed; rows are padded by 16 bytes so that ldmatrix reads are
// free of bank conflicts. Scores are kept in base 2 (scaled by
// log2(e) / sqrt(d)).
constexpr int kFlashKeys = 64;

template <int D>
constexpr int FlashSharedBytes() {
  return 2 * 2 * kFlashKeys * (D + 8) * static_cast<int>(sizeof(bf16));  // {K, V} x 2 stages
}

template <int D, int kWarps>
__global__ void __launch_bounds__(kWarps* kWarp)
    FlashPrefillKernel(const bf16* q, const bf16* k, const bf16* v, bf16* out, int tokens,
                       int heads, int kv_heads, bool causal, float scale_log2) {
  constexpr int kStride = D + 8, kTile = kFlashKeys * kStride, kRows = 16 * kWarps;
  extern __shared__ __align__(16) unsigned char flash_shared[];
  bf16* tiles = reinterpret_cast<bf16*>(flash_shared);  // stage s: K at 2s, V at 2s + 1
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp, g = lane / 4, t = lane % 4;
  // The longest query tiles (causal: the last) start first.
  const int q0 = (gridDim.x - 1 - blockIdx.x) * kRows;
  const int h = blockIdx.y, b = blockIdx.z, kvh = h / (heads / kv_heads);
  const long q_stride = static_cast<long>(heads) * D, kv_stride = static_cast<long>(kv_heads) * D;
  const bf16* qb = q + (static_cast<long>(b) * tokens * heads + h) * D;
  const bf16* kb = k + (static_cast<long>(b) * tokens * kv_heads + kvh) * D;
  const bf16* vb = v + (static_cast<long>(b) * tokens * kv_heads + kvh) * D;
  const int r0 = q0 + warp * 16 + g, r1 = r0 + 8;
  const int key_end = causal ? min(tokens, q0 + kRows) : tokens;
  const int key_tiles = (key_end + kFlashKeys - 1) / kFlashKeys;

  auto load_tile = [&](int tile, int stage) {
    bf16* ks = tiles + (2 * stage) * kTile;
    bf16* vs = ks + kTile;
    const int k0 = tile * kFlashKeys;
    for (int i = threadIdx.x; i < kFlashKeys * D / 8; i += kWarps * kWarp) {
      const int row = i / (D / 8), col = (i % (D / 8)) * 8;
      const bool valid = k0 + row < tokens;
      const long at = valid ? (k0 + row) * kv_stride + col : 0;
      CopyAsync16(ks + row * kStride + col, kb + at, valid);
      CopyAsync16(vs + row * kStride + col, vb + at, valid);
    }
    CopyAsyncCommit();
  };
  load_tile(0, 0);

  uint32_t qa[D / 16][4];
#pragma unroll
  for (int s = 0; s < D / 16; ++s) {
    const int c = s * 16 + 2 * t;
    qa[s][0] = r0 < tokens ? Load32(qb + r0 * q_stride + c) : 0u;
    qa[s][1] = r1 < tokens ? Load32(qb + r1 * q_stride + c) : 0u;
    qa[s][2] = r0 < tokens ? Load32(qb + r0 * q_stride + c + 8) : 0u;
    qa[s][3] = r1 < tokens ? Load32(qb + r1 * q_stride + c + 8) : 0u;
  }
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
    o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this thread's columns
  // ldmatrix row addresses: lane supplies row lane % 8 of matrix lane / 8.
  const int mrow = lane % 8, mat = lane / 8;

  for (int tile = 0; tile < key_tiles; ++tile) {
    if (tile + 1 < key_tiles) {
      load_tile(tile + 1, (tile + 1) % 2);
      CopyAsyncWait<1>();
    } else {
      CopyAsyncWait<0>();
    }
    __syncthreads();  // this tile's copies, from every thread, have landed
    const bf16* ks = tiles + (2 * (tile % 2)) * kTile;
    const bf16* vs = ks + kTile;
    const int k0 = tile * kFlashKeys;

    float sc[kFlashKeys / 8][4];
#pragma unroll
    for (int n = 0; n < kFlashKeys / 8; ++n) {
      sc[n][0] = sc[n][1] = sc[n][2] = sc[n][3] = 0.0f;
      // Matrices: keys n*8..n*8+7 by columns s*16 + 8*mat: b0, b1 of k-steps s and s + 1.
      const bf16* kr = ks + (n * 8 + mrow) * kStride + mat * 8;
#pragma unroll
      for (int s = 0; s < D / 16; s += 2) {
        uint32_t kf[4];
        LoadMatrices(kf, kr + s * 16);
        Mma16816(sc[n], qa[s], kf[0], kf[1]);
        Mma16816(sc[n], qa[s + 1], kf[2], kf[3]);
      }
    }
    const bool mask = k0 + kFlashKeys > tokens || (causal && k0 + kFlashKeys > q0 + warp * 16);
    float mx[2] = {m[0], m[1]};
#pragma unroll
    for (int n = 0; n < kFlashKeys / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = sc[n][e] * scale_log2;
        if (mask) {
          const int key = k0 + n * 8 + 2 * t + (e & 1), row = e < 2 ? r0 : r1;
          if (key >= tokens || (causal && key > row)) x = -INFINITY;
        }
        sc[n][e] = x;
      }
      mx[0] = fmaxf(mx[0], fmaxf(sc[n][0], sc[n][1]));
      mx[1] = fmaxf(mx[1], fmaxf(sc[n][2], sc[n][3]));
    }
    float base[2], correction[2];
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 1));
      mx[j] = fmaxf(mx[j], __shfl_xor_sync(0xffffffffu, mx[j], 2));
      base[j] = mx[j] == -INFINITY ? 0.0f : mx[j];  // a row with nothing visible yet
      correction[j] = FastExp2(m[j] - base[j]);
      m[j] = mx[j];
      l[j] *= correction[j];
    }
#pragma unroll
    for (int n = 0; n < kFlashKeys / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[n][e] = FastExp2(sc[n][e] - base[e / 2]);
        l[e / 2] += sc[n][e];
      }
    }
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      o[n][0] *= correction[0];
      o[n][1] *= correction[0];
      o[n][2] *= correction[1];
      o[n][3] *= correction[1];
    }
#pragma unroll
    for (int kk = 0; kk < kFlashKeys / 16; ++kk) {
      const uint32_t pa[4] = {PackFloats(sc[2 * kk][0], sc[2 * kk][1]),
                              PackFloats(sc[2 * kk][2], sc[2 * kk][3]),
                              PackFloats(sc[2 * kk + 1][0], sc[2 * kk + 1][1]),
                              PackFloats(sc[2 * kk + 1][2], sc[2 * kk + 1][3])};
      // Matrices, transposed: keys kk*16 + 8*(mat % 2) by columns (n + mat / 2) * 8:
      // b0, b1 of output tiles n and n + 1.
      const bf16* vr = vs + (kk * 16 + (mat % 2) * 8 + mrow) * kStride + (mat / 2) * 8;
#pragma unroll
      for (int n = 0; n < D / 8; n += 2) {
        uint32_t vf[4];
        LoadMatricesTransposed(vf, vr + n * 8);
        Mma16816(o[n], pa, vf[0], vf[1]);
        Mma16816(o[n + 1], pa, vf[2], vf[3]);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  float inv[2];
#pragma unroll
  for (int j = 0; j < 2; ++j) {
    l[j] += __shfl_xor_sync(0xffffffffu, l[j], 1);
    l[j] += __shfl_xor_sync(0xffffffffu, l[j], 2);
    inv[j] = l[j] > 0.0f ? 1.0f / l[j] : 0.0f;
  }
  bf16* ob = out + (static_cast<long>(b) * tokens * heads + h) * D;
#pragma unroll
  for (int n = 0; n < D / 8; ++n) {
    const int c = n * 8 + 2 * t;
    if (r0 < tokens)
      *reinterpret_cast<uint32_t*>(ob + r0 * q_stride + c) =
          PackFloats(o[n][0] * inv[0], o[n][1] * inv[0]);
    if (r1 < tokens)
      *reinterpret_cast<uint32_t*>(ob + r1 * q_stride + c) =
          PackFloats(o[n][2] * inv[1], o[n][3] * inv[1]);
  }
}

// Decode attention, split over the KV length (flash-decoding): a block of
// kDecodeThreads takes one (sequence, KV head) and one slice of the cache,
// for all G query heads that share the KV head, so each K and V row is read
// once. D / 8 lanes hold a key row, 8 elements (16 bytes) each; the block
// visits 2 x 128 / (D / 8) keys at a time. Each key slot keeps an online softmax
// (base 2); the block merges its slots through shared memory and writes
// either the output (one split) or its partial state (max, sum, weighted
// values) for DecodeCombineKernel.
constexpr int kDecodeThreads = 128, kDecodeChunk = 2;

template <int D, int G>
__global__ void __launch_bounds__(kDecodeThreads)
    SplitDecodeKernel(const bf16* q, const bf16* kc, const bf16* vc, const int* lengths, bf16* out,
                      float* partial, int max_len, int heads, int kv_heads, int split_len,
                      float scale_log2) {
  constexpr int kLanes = D / 8, kSlots = kDecodeThreads / kLanes;
  const int split = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
  const int slot = threadIdx.x / kLanes, part = threadIdx.x % kLanes;
  const int length = lengths[b];
  const int begin = split * split_len, end = min(length, begin + split_len);
  const int h0 = kvh * G;
  float qv[G][8], acc[G][8], m[G], l[G];
#pragma unroll
  for (int j = 0; j < G; ++j) {
    const uint4 raw =
        *reinterpret_cast<const uint4*>(q + (static_cast<long>(b) * heads + h0 + j) * D + part * 8);
    const auto* e = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const float2 f = __bfloat1622float2(e[k]);
      qv[j][2 * k] = f.x * scale_log2;
      qv[j][2 * k + 1] = f.y * scale_log2;
    }
#pragma unroll
    for (int e2 = 0; e2 < 8; ++e2)
      acc[j][e2] = 0.0f;
    m[j] = -INFINITY;
    l[j] = 0.0f;
  }
  const long kv_stride = static_cast<long>(kv_heads) * D;
  const bf16* kb = kc + (static_cast<long>(b) * max_len * kv_heads + kvh) * D + part * 8;
  const bf16* vb = vc + (static_cast<long>(b) * max_len * kv_heads + kvh) * D + part * 8;
  // Each slot takes kDecodeChunk keys per step (kSlots apart, so the slots
  // read consecutive rows): their loads are in flight together, their dot
  // products reduce side by side, and the softmax rescales once per chunk.
  // Every lane runs the same number of steps (the shuffles need the whole
  // warp); keys past the end take no part.
  for (int s0 = begin; s0 < end; s0 += kSlots * kDecodeChunk) {
    uint4 kraw[kDecodeChunk], vraw[kDecodeChunk];
    bool valid[kDecodeChunk];
#pragma unroll
    for (int c = 0; c < kDecodeChunk; ++c) {
      const int s = s0 + c * kSlots + slot;
      valid[c] = s < end;
      kraw[c] = valid[c] ? *reinterpret_cast<const uint4*>(kb + s * kv_stride) : uint4{};
      vraw[c] = valid[c] ? *reinterpret_cast<const uint4*>(vb + s * kv_stride) : uint4{};
    }
    float kf[kDecodeChunk][8], vf[kDecodeChunk][8];
#pragma unroll
    for (int c = 0; c < kDecodeChunk; ++c) {
      const auto* ke = reinterpret_cast<const __nv_bfloat162*>(&kraw[c]);
      const auto* ve = reinterpret_cast<const __nv_bfloat162*>(&vraw[c]);
#pragma unroll
      for (int k = 0; k < 4; ++k) {
        const float2 a = __bfloat1622float2(ke[k]), v2 = __bfloat1622float2(ve[k]);
        kf[c][2 * k] = a.x;
        kf[c][2 * k + 1] = a.y;
        vf[c][2 * k] = v2.x;
        vf[c][2 * k + 1] = v2.y;
      }
    }
#pragma unroll
    for (int j = 0; j < G; ++j) {
      float dot[kDecodeChunk];
#pragma unroll
      for (int c = 0; c < kDecodeChunk; ++c) {
        dot[c] = 0.0f;
#pragma unroll
        for (int e = 0; e < 8; ++e)
          dot[c] += qv[j][e] * kf[c][e];
      }
#pragma unroll
      for (int offset = kLanes / 2; offset > 0; offset /= 2) {
#pragma unroll
        for (int c = 0; c < kDecodeChunk; ++c)
          dot[c] += __shfl_xor_sync(0xffffffffu, dot[c], offset);
      }
      float top = m[j];
#pragma unroll
      for (int c = 0; c < kDecodeChunk; ++c)
        if (valid[c]) top = fmaxf(top, dot[c]);
      if (top == -INFINITY) continue;  // nothing seen yet, nothing visible here
      const float correction = FastExp2(m[j] - top);
      l[j] *= correction;
#pragma unroll
      for (int e = 0; e < 8; ++e)
        acc[j][e] *= correction;
#pragma unroll
      for (int c = 0; c < kDecodeChunk; ++c) {
        const float p = valid[c] ? FastExp2(dot[c] - top) : 0.0f;
        l[j] += p;
#pragma unroll
        for (int e = 0; e < 8; ++e)
          acc[j][e] += p * vf[c][e];
      }
      m[j] = top;
    }
  }
  // Merge the slots: the block's max per head, then each slot's share.
  __shared__ float slot_m[kSlots][G], slot_l[kSlots][G];
  __shared__ float merged[G][D];
  if (part == 0) {
#pragma unroll
    for (int j = 0; j < G; ++j) {
      slot_m[slot][j] = m[j];
      slot_l[slot][j] = l[j];
    }
  }
  for (int i = threadIdx.x; i < G * D; i += kDecodeThreads)
    merged[i / D][i % D] = 0.0f;
  __syncthreads();
#pragma unroll
  for (int j = 0; j < G; ++j) {
    float block_max = -INFINITY;
    for (int s = 0; s < kSlots; ++s)
      block_max = fmaxf(block_max, slot_m[s][j]);
    const float w = m[j] == -INFINITY ? 0.0f : exp2f(m[j] - block_max);
#pragma unroll
    for (int e = 0; e < 8; ++e)
      atomicAdd(&merged[j][part * 8 + e], acc[j][e] * w);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < G * D; i += kDecodeThreads) {
    const int j = i / D, e = i % D;
    float block_max = -INFINITY, sum = 0.0f;
    for (int s = 0; s < kSlots; ++s)
      block_max = fmaxf(block_max, slot_m[s][j]);
    if (block_max != -INFINITY) {
      for (int s = 0; s < kSlots; ++s)
        sum += slot_l[s][j] * exp2f(slot_m[s][j] - block_max);
    }
    const long row = static_cast<long>(b) * heads + h0 + j;
    if (partial == nullptr) {
      out[row * D + e] = __float2bfloat16(sum > 0.0f ? merged[j][e] / sum : 0.0f);
    } else {
      float* p = partial + (row * gridDim.x + split) * (D + 2);
      p[e] = merged[j][e];
      if (e == 0) {
        p[D] = block_max;
        p[D + 1] = sum;
      }
    }
  }
}

// Merges the splits' partial states of each (sequence, head): one block of
// d threads per row.
__global__ void DecodeCombineKernel(const float* partial, bf16* out, int splits, int d) {
  const long row = static_cast<long>(blockIdx.y) * gridDim.x + blockIdx.x;
  const float* p = partial + row * splits * (d + 2);
  float top = -INFINITY;
  for (int s = 0; s < splits; ++s)
    top = fmaxf(top, p[s * (d + 2) + d]);
  float sum = 0.0f, value = 0.0f;
  if (top != -INFINITY) {
    for (int s = 0; s < splits; ++s) {
      const float w = exp2f(p[s * (d + 2) + d] - top);
      sum += p[s * (d + 2) + d + 1] * w;
      value += p[s * (d + 2) + threadIdx.x] * w;
    }
  }
  out[row * d + threadIdx.x] = __float2bfloat16(sum > 0.0f ? value / sum : 0.0f);
}

int GridFor(long n, int block) {
  const long blocks = (n + block - 1) / block;
  return static_cast<int>(blocks < 65535L * 16 ? blocks : 65535L * 16);
}

// True if every pointer allows 16-byte accesses.
bool Aligned16(const void* a, const void* b, const void* c) {
  return ((reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b) |
           reinterpret_cast<std::uintptr_t>(c)) %
          16) == 0;
}

// True if rows of h elements fit WideNormKernel.
bool WideRows(int h, const void* x, const void* w, const void* y) {
  return h % 8 == 0 && h <= kNormThreads * kNormChunks * 8 && Aligned16(x, w, y);
}

// Raises FlashPrefillKernel<D>'s dynamic shared memory limit past the
// default 48 KB, once per process.
template <int D, int kWarps>
void AllowFlashSharedMemory() {
  static const cudaError_t status =
      cudaFuncSetAttribute(FlashPrefillKernel<D, kWarps>,
                           cudaFuncAttributeMaxDynamicSharedMemorySize, FlashSharedBytes<D>());
  Check(status, "cudaFuncSetAttribute(FlashPrefillKernel)");
}

int MultiprocessorCount() {
  int device = 0, sms = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  Check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
        "cudaDeviceGetAttribute");
  return sms;
}

// SplitDecodeKernel's shapes: d of 64 or 128, 1 to 8 query heads per KV head.
bool SplitDecodeFits(int d, int heads, int kv_heads) {
  if (kv_heads <= 0 || heads % kv_heads != 0) return false;
  const int group = heads / kv_heads;
  return (d == 64 || d == 128) && (group == 1 || group == 2 || group == 4 || group == 8);
}

// Slices of the KV length per (sequence, KV head): enough blocks for two per
// multiprocessor, each slice at least 256 keys.
int DecodeSplits(int batch, int max_len, int kv_heads) {
  const long blocks = static_cast<long>(batch) * kv_heads;
  const long by_sms = (2L * MultiprocessorCount() + blocks - 1) / blocks;
  const long by_len = (max_len + 255L) / 256;
  return static_cast<int>(std::max(1L, std::min(by_sms, by_len)));
}

void CheckLaunch(const char* kernel);

// Launches WarpNormKernel with the fewest chunks per lane that hold a row,
// if rows of h fit it; false if they do not.
template <bool kLayerNorm>
bool WarpRows(const bf16* x, const bf16* g, const bf16* b, bf16* y, int rows, int h, float eps,
              cudaStream_t stream) {
  if (h % 8 != 0 || h > 16 * 256 || !Aligned16(x, g, y) || (kLayerNorm && !Aligned16(b, b, b)))
    return false;
  const int blocks = (rows + 3) / 4;
  const int needed = (h + 255) / 256;
#define PLATSIM_WARP_NORM(c)                                                             \
  if (needed <= c) {                                                                     \
    WarpNormKernel<c, kLayerNorm><<<blocks, 128, 0, stream>>>(x, g, b, y, rows, h, eps); \
    CheckLaunch("WarpNormKernel");                                                       \
    return true;                                                                         \
  }
  PLATSIM_WARP_NORM(1)
  PLATSIM_WARP_NORM(2)
  PLATSIM_WARP_NORM(4)
  PLATSIM_WARP_NORM(8)
  PLATSIM_WARP_NORM(16)
#undef PLATSIM_WARP_NORM
  return false;
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
  if (WarpRows<false>(x, weight, nullptr, y, rows, h, eps, stream)) return;
  if (WideRows(h, x, weight, y)) {
    WideNormKernel<false><<<rows, kNormThreads, 0, stream>>>(x, weight, nullptr, y, h, eps);
    CheckLaunch("WideNormKernel<RMSNorm>");
    return;
  }
  RmsNormKernel<<<rows, 256, 0, stream>>>(x, weight, y, h, eps);
  CheckLaunch("RmsNormKernel");
}

void LayerNorm(const bf16* x, const bf16* gamma, const bf16* beta, bf16* y, int rows, int h,
               float eps, cudaStream_t stream) {
  if (WarpRows<true>(x, gamma, beta, y, rows, h, eps, stream)) return;
  if (WideRows(h, x, gamma, y) && Aligned16(beta, beta, beta)) {
    WideNormKernel<true><<<rows, kNormThreads, 0, stream>>>(x, gamma, beta, y, h, eps);
    CheckLaunch("WideNormKernel<LayerNorm>");
    return;
  }
  LayerNormKernel<<<rows, 256, 0, stream>>>(x, gamma, beta, y, h, eps);
  CheckLaunch("LayerNormKernel");
}

void Rope(bf16* x, const int* positions, int tokens, int heads, int d, double theta,
          cudaStream_t stream) {
  if ((d / 2) % 8 == 0 && Aligned16(x, x, x)) {
    const long n = static_cast<long>(tokens) * heads * (d / 16);
    WideRopeKernel<<<static_cast<int>((n + 255) / 256), 256, 0, stream>>>(
        x, positions, tokens, heads, d, static_cast<float>(std::log(theta)));
    CheckLaunch("WideRopeKernel");
    return;
  }
  const long n = static_cast<long>(tokens) * heads * (d / 2);
  RopeKernel<<<static_cast<int>((n + 255) / 256), 256, 0, stream>>>(
      x, positions, tokens, heads, d, static_cast<float>(std::log(theta)));
  CheckLaunch("RopeKernel");
}

void SwiGlu(const bf16* gate, const bf16* up, bf16* y, long n, cudaStream_t stream) {
  const bool wide = Aligned16(gate, up, y);
  MapKernel<SiluTimes, true>
      <<<GridFor(wide ? n / 8 + n % 8 : n, 256), 256, 0, stream>>>(gate, up, y, n, wide, {});
  CheckLaunch("MapKernel<SiluTimes>");
}

void Gelu(const bf16* x, bf16* y, long n, cudaStream_t stream) {
  const bool wide = Aligned16(x, x, y);
  MapKernel<GeluErf, false>
      <<<GridFor(wide ? n / 8 + n % 8 : n, 256), 256, 0, stream>>>(x, nullptr, y, n, wide, {});
  CheckLaunch("MapKernel<GeluErf>");
}

void ResidualAdd(const bf16* x, const bf16* residual, bf16* y, long n, cudaStream_t stream) {
  const bool wide = Aligned16(x, residual, y);
  MapKernel<Plus, true>
      <<<GridFor(wide ? n / 8 + n % 8 : n, 256), 256, 0, stream>>>(x, residual, y, n, wide, {});
  CheckLaunch("MapKernel<Plus>");
}

void AttentionPrefill(const bf16* q, const bf16* k, const bf16* v, bf16* out, int batch, int tokens,
                      int heads, int kv_heads, int d, bool causal, cudaStream_t stream) {
  CheckHeadDim(d, "AttentionPrefill");
  if (d <= 128 && Aligned16(q, k, v) && Aligned16(out, out, out)) {
    // 64 query rows per block: 128-row blocks (8 warps) measured no faster
    // for Llama's prefill and 12% slower for BERT's on an H100.
    constexpr int kWarps = 4;
    const dim3 grid((tokens + 16 * kWarps - 1) / (16 * kWarps), heads, batch);
    const float scale_log2 = static_cast<float>(M_LOG2E / std::sqrt(static_cast<double>(d)));
    switch (d) {
#define PLATSIM_FLASH(n)                                                                    \
  case n:                                                                                   \
    AllowFlashSharedMemory<n, kWarps>();                                                    \
    FlashPrefillKernel<n, kWarps><<<grid, kWarps * kWarp, FlashSharedBytes<n>(), stream>>>( \
        q, k, v, out, tokens, heads, kv_heads, causal, scale_log2);                         \
    break;
      PLATSIM_FLASH(32)
      PLATSIM_FLASH(64)
      PLATSIM_FLASH(96)
      PLATSIM_FLASH(128)
#undef PLATSIM_FLASH
    }
    CheckLaunch("FlashPrefillKernel");
    return;
  }
  // Head dimensions over 128: a warp per query row on the FMA units.
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

long AttentionDecodeWorkspace(int batch, int max_len, int heads, int kv_heads, int d) {
  if (!SplitDecodeFits(d, heads, kv_heads)) return 0;
  const int splits = DecodeSplits(batch, max_len, kv_heads);
  return splits == 1 ? 0 : static_cast<long>(batch) * heads * splits * (d + 2);
}

void AttentionDecode(const bf16* q, const bf16* k_cache, const bf16* v_cache, const int* lengths,
                     bf16* out, int batch, int max_len, int heads, int kv_heads, int d,
                     float* workspace, cudaStream_t stream) {
  CheckHeadDim(d, "AttentionDecode");
  if (SplitDecodeFits(d, heads, kv_heads) && Aligned16(q, k_cache, v_cache)) {
    const int splits = DecodeSplits(batch, max_len, kv_heads);
    if (splits > 1 && workspace == nullptr) {
      throw CudaError("AttentionDecode: needs a workspace of AttentionDecodeWorkspace floats");
    }
    const int split_len = (max_len + splits - 1) / splits;
    float* partial = splits > 1 ? workspace : nullptr;
    const dim3 grid(splits, kv_heads, batch);
    const float scale_log2 = static_cast<float>(M_LOG2E / std::sqrt(static_cast<double>(d)));
    const int group = heads / kv_heads;
    switch (d * 16 + group) {
#define PLATSIM_SPLIT_DECODE(n, g)                                                                 \
  case n * 16 + g:                                                                                 \
    SplitDecodeKernel<n, g><<<grid, kDecodeThreads, 0, stream>>>(q, k_cache, v_cache, lengths,     \
                                                                 out, partial, max_len, heads,     \
                                                                 kv_heads, split_len, scale_log2); \
    break;
      PLATSIM_SPLIT_DECODE(64, 1)
      PLATSIM_SPLIT_DECODE(64, 2)
      PLATSIM_SPLIT_DECODE(64, 4)
      PLATSIM_SPLIT_DECODE(64, 8)
      PLATSIM_SPLIT_DECODE(128, 1)
      PLATSIM_SPLIT_DECODE(128, 2)
      PLATSIM_SPLIT_DECODE(128, 4)
      PLATSIM_SPLIT_DECODE(128, 8)
#undef PLATSIM_SPLIT_DECODE
    }
    CheckLaunch("SplitDecodeKernel");
    if (partial != nullptr) {
      DecodeCombineKernel<<<dim3(heads, batch), d, 0, stream>>>(partial, out, splits, d);
      CheckLaunch("DecodeCombineKernel");
    }
    return;
  }
  // Other shapes: a warp per query head, the whole cache in one pass.
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
