// Roofline estimates of transformer forward-pass times, for GPUs nobody has
// profiled: each phase takes max(FLOPs / peak rate, bytes / peak bandwidth)
// from a device's datasheet figures. Real kernels reach only part of either
// peak, so these are optimistic lower bounds, and everything built from them
// is labelled an estimate.
#ifndef PLATSIM_GPU_ROOFLINE_H_
#define PLATSIM_GPU_ROOFLINE_H_

#include <string>

namespace platsim::gpu {

// What the roofline needs of a model (bf16 weights and activations).
struct TransformerShape {
  int layers = 0;
  int hidden = 0;
  int heads = 0;  // 0: an MLP without attention
  int kv_heads = 0;
  int ffn = 0;
  int vocab = 0;           // output head size; 0: none
  bool gated_ffn = false;  // SwiGLU: three FFN matrices instead of two
  bool causal = true;      // decoders; encoders attend to every token
};

struct DeviceFigures {
  std::string name;
  double bf16_flops_per_s = 0;  // dense
  double memory_bytes_per_s = 0;
};

struct Work {
  double flops = 0;
  double bytes = 0;
  Work& operator+=(const Work& o) {
    flops += o.flops;
    bytes += o.bytes;
    return *this;
  }
};

// The work of one forward pass over `batch` sequences of `tokens` tokens
// (prefill, or an encoder), including the output head for the last token
// of each sequence when the model has one.
Work PrefillWork(const TransformerShape& m, int batch, int tokens);
// One decode step: one new token per sequence over a KV cache of `kv_len`.
Work DecodeWork(const TransformerShape& m, int batch, int kv_len);
// Seconds for `work` on `device` by the roofline.
double RooflineSeconds(const Work& work, const DeviceFigures& device);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_ROOFLINE_H_
