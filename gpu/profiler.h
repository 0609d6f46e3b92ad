// The profiler: what `platsim profile --model NAME --out FILE` measures for
// a catalogue model and how it turns the measurements into a latency profile
// (the JSON that models/service_time.h reads).
//
// Measuring is behind the Timer interface: the CUDA timer (gpu/device_timer.h)
// runs the real kernels on a GPU; tests drive the same plan and composition
// with timers of known answers. Everything here is plain C++.
#ifndef PLATSIM_GPU_PROFILER_H_
#define PLATSIM_GPU_PROFILER_H_

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gpu/catalogue.h"

namespace platsim::gpu {

// A grid of batch sizes by lengths (tokens, sequence length or KV length).
struct Grid {
  std::vector<int> batches;
  std::vector<int> lengths;
};

// What to measure for a model. Decoders: `prefill` (batch x prompt tokens)
// and `decode` (batch x KV length). Encoders and MLP models: `encoder`
// (batch x sequence length; for an MLP, rows per request). The same grids
// serve the roofline estimate, so measured and estimated profiles line up.
struct ProfilePlan {
  Grid prefill;
  Grid decode;
  Grid encoder;
};
ProfilePlan PlanFor(const ModelShape& model);

// The median and spread of repeated timings, in seconds.
struct Timing {
  int repetitions = 0;
  double median = 0;
  double p10 = 0;  // 10th and 90th percentiles (nearest rank)
  double p90 = 0;
  double min = 0;
  double max = 0;
};
// REQUIRES: `seconds` not empty.
Timing Summarize(std::vector<double> seconds);

// Device memory, in bytes at bf16, of one layer's weights and of the
// tensors of one step (gpu/layer.h): `batch` sequences of `length` tokens
// (kPrefill), or one token each over KV caches of `length` (kDecode).
enum class Phase { kPrefill, kDecode };
double LayerWeightBytes(const ModelShape& model);
double LayerActivationBytes(const ModelShape& model, Phase phase, int batch, int length);

// Whether one copy of everything the plan measures fits in `free_bytes`
// beside one copy of the layer's weights: empty if so, else what does not.
std::string CheckFits(const ModelShape& model, const ProfilePlan& plan, double free_bytes);

// How many copies of a working set of `set_bytes` to rotate through so that
// together they exceed `l2_bytes` four times over (at least two), without
// taking more than `budget_bytes`. Returns 0 if not even one copy fits.
int RotationCopies(double set_bytes, double l2_bytes, double budget_bytes);

// A kernel at one of the model's shapes, with the traffic and arithmetic
// that make it memory- or compute-bound. `dims` are the kernel's arguments
// (rows, columns, ...), as the Timer reads them.
enum class Bound { kMemory, kCompute };
struct KernelCase {
  std::string name;   // "gemm", "rmsnorm", "layernorm", "rope", "swiglu", "gelu",
                      // "residual_add", "embedding", "attention_prefill", "attention_decode"
  std::string shape;  // human-readable, e.g. "4096x14336x4096"
  std::vector<long> dims;
  double bytes = 0;  // bytes read plus bytes written, at bf16
  double flops = 0;
  Bound bound = Bound::kMemory;
};
// The kernels of one of the model's layers at a large prefill shape (and
// decode attention at a long KV cache), as the README table reports them.
std::vector<KernelCase> KernelCasesFor(const ModelShape& model);

// What the device is, as the profile's provenance records it.
struct DeviceInfo {
  std::string name;
  int sm_count = 0;
  double memory_bytes = 0;
  double l2_bytes = 0;
  std::string compute_capability;
  std::string driver_version;
  std::string runtime_version;
  std::string cublas_version;
};

// The device's measured ceilings.
struct Ceilings {
  double copy_bytes = 0;  // size of the device-to-device copy
  Timing copy;            // its time; bandwidth counts the bytes read and written
  int gemm_size = 0;      // a square bf16 GEMM of this size
  Timing gemm;
  double copy_bytes_per_s() const { return 2 * copy_bytes / copy.median; }
  double bf16_flops_per_s() const {
    const double n = gemm_size;
    return 2 * n * n * n / gemm.median;
  }
};

// Runs the model's pieces and times them.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual DeviceInfo Device() = 0;
  virtual Ceilings MeasureCeilings() = 0;
  // One layer. kPrefill: `batch` sequences of `length` tokens (encoders and
  // MLP models too). kDecode: one new token for each of `batch` sequences
  // over KV caches of `length`.
  virtual Timing Layer(Phase phase, int batch, int length) = 0;
  // Token embedding lookup for `tokens` tokens (models with a vocabulary).
  virtual Timing Embedding(int tokens) = 0;
  // Final norm and output head over `rows` rows (decoders).
  virtual Timing Head(int rows) = 0;
  virtual Timing Kernel(const KernelCase& kernel) = 0;
};

struct ProfileOptions {
  std::string commit;  // of the platsim source that was built
  std::string date;    // UTC, ISO 8601
  int warmup = 0;
  int repetitions = 0;
  // Told each finished step: (done, total, what).
  std::function<void(int, int, const std::string&)> progress;
};

// Measures everything `PlanFor(model)` asks for with `timer` and returns the
// latency profile: the whole-forward-pass grids (embedding + layers x one
// layer + head, from the medians), every raw measurement with its spread,
// the kernel table against the ceilings, and the provenance.
nlohmann::ordered_json BuildProfile(const ModelShape& model, Timer& timer,
                                    const ProfileOptions& options);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_PROFILER_H_
