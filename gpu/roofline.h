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
  // The share of one GPU of a model split over this many by tensor
  // parallelism (Megatron-style, as vLLM splits a Llama): query heads, the
  // FFN and the output head divided; KV heads divided, or replicated where
  // there are fewer than GPUs (at least one per GPU); norms, residuals and
  // activations entering each projection whole on every GPU.
  int tensor_parallel = 1;
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

// The link between the GPUs of a tensor-parallel group: bandwidth per GPU
// per direction and the fixed latency of one collective.
struct Interconnect {
  double bytes_per_s = 0;
  double latency_s = 0;
};
// A ring all-reduce of `bytes` over `gpus` GPUs: each sends and receives
// 2 (g - 1) / g of it; plus one collective's latency. 0 on one GPU.
double AllReduceSeconds(double bytes, int gpus, const Interconnect& link);
// An all-gather whose result is `bytes`: each GPU receives (g - 1) / g of it.
double AllGatherSeconds(double bytes, int gpus, const Interconnect& link);
// The collectives of one forward pass of `m` split over m.tensor_parallel
// GPUs, over `rows` tokens of which `out_rows` reach the output head (vLLM's
// Llama): an all-reduce of the [rows x hidden] activations after each
// layer's attention output and FFN down projections and after the
// vocabulary-split embedding, and an all-gather of the head's logits.
double TensorParallelSeconds(const TransformerShape& m, double rows, double out_rows,
                             const Interconnect& link);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_ROOFLINE_H_
