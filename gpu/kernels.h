// Transformer-inference kernels on the GPU. Tensors live in device memory,
// bf16 (stored as __nv_bfloat16), with the layouts of gpu/reference.h;
// arithmetic is fp32. Every launch is checked: a failing CUDA or cuBLAS call
// throws CudaError naming the call. Launches go to `stream`.
#ifndef PLATSIM_GPU_KERNELS_H_
#define PLATSIM_GPU_KERNELS_H_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

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
// REQUIRES: d a multiple of 32 and at most 256; lengths in device memory.
void AttentionDecode(const bf16* q, const bf16* k_cache, const bf16* v_cache, const int* lengths,
                     bf16* out, int batch, int max_len, int heads, int kv_heads, int d,
                     cudaStream_t stream);

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
