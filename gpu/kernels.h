// Transformer-inference kernels on the GPU. Tensors live in device memory,
// bf16 (stored as __nv_bfloat16), with the layouts of gpu/reference.h;
// arithmetic is fp32. Every launch is checked: a failing CUDA or cuBLAS call
// throws CudaError naming the call. Launches go to `stream`.
#ifndef PLATSIM_GPU_KERNELS_H_
#define PLATSIM_GPU_KERNELS_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace platsim::gpu {

using bf16 = __nv_bfloat16;

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws CudaError if `status` is not cudaSuccess; `what` names the call.
void Check(cudaError_t status, const char* what);

// True if a CUDA device can be used; otherwise `why` says why not.
bool DeviceAvailable(std::string* why);

// An array in device memory, freed when it goes.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(std::size_t n) : size_(n) {
    Check(cudaMalloc(reinterpret_cast<void**>(&data_), n * sizeof(T)), "cudaMalloc");
  }
  ~DeviceArray() {
    if (data_ != nullptr) cudaFree(data_);
  }
  DeviceArray(DeviceArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  T* get() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

// Fills x[n] with values uniform in [-scale, scale), or ids[n] with integers
// uniform in [0, bound), from `seed` (a counter-based hash: the same seed
// gives the same values).
void FillUniform(bf16* x, long n, float scale, unsigned long long seed, cudaStream_t stream);
void FillIndices(int* ids, long n, int bound, unsigned long long seed, cudaStream_t stream);

// y[tokens x h] = rows ids[t] of table[vocab x h].
void Embedding(const int* ids, const bf16* table, bf16* y, int tokens, int h, cudaStream_t stream);

void RmsNorm(const bf16* x, const bf16* weight, bf16* y, int rows, int h, float eps,
             cudaStream_t stream);
void LayerNorm(const bf16* x, const bf16* gamma, const bf16* beta, bf16* y, int rows, int h,
               float eps, cudaStream_t stream);
// In place on x[tokens x heads x d]; positions in device memory.
void Rope(bf16* x, const int* positions, int tokens, int heads, int d, double theta,
          cudaStream_t stream);
void SwiGlu(const bf16* gate, const bf16* up, bf16* y, long n, cudaStream_t stream);
void Gelu(const bf16* x, bf16* y, long n, cudaStream_t stream);
void ResidualAdd(const bf16* x, const bf16* residual, bf16* y, long n, cudaStream_t stream);
// REQUIRES: d a multiple of 32 and at most 256.
void AttentionPrefill(const bf16* q, const bf16* k, const bf16* v, bf16* out, int batch, int tokens,
                      int heads, int kv_heads, int d, bool causal, cudaStream_t stream);
// REQUIRES: d a multiple of 32 and at most 256; lengths in device memory;
// `workspace` holds AttentionDecodeWorkspace(...) floats (none if that is 0),
// used by the launches on `stream` only.
void AttentionDecode(const bf16* q, const bf16* k_cache, const bf16* v_cache, const int* lengths,
                     bf16* out, int batch, int max_len, int heads, int kv_heads, int d,
                     float* workspace, cudaStream_t stream);
// Floats of workspace AttentionDecode needs for these shapes on the current
// device (the KV length is split over blocks when sequences are few).
long AttentionDecodeWorkspace(int batch, int max_len, int heads, int kv_heads, int d);

// c[m x n] = a[m x k] * b[k x n], row-major bf16, fp32 accumulation, through
// cuBLAS. The handle is created on first use per Gemm object.
class Gemm {
 public:
  Gemm();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;
  void Run(const bf16* a, const bf16* b, bf16* c, int m, int n, int k, cudaStream_t stream);

 private:
  void* handle_ = nullptr;  // cublasHandle_t
};

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_KERNELS_H_
