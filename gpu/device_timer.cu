#include "gpu/device_timer.h"

#include <cublas_v2.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace platsim::gpu {
namespace {

std::string Version(int v) {  // CUDA's 1000 * major + 10 * minor
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

// `copies` sets of random bf16 arrays of the given sizes.
using Set = std::vector<DeviceArray<bf16>>;
std::vector<Set> RandomSets(const std::vector<long>& sizes, int copies, unsigned long long& seed,
                            cudaStream_t stream) {
  std::vector<Set> sets(copies);
  for (Set& set : sets) {
    for (long n : sizes) {
      set.emplace_back(n);
      FillUniform(set.back().get(), n, 1.0f, seed++, stream);
    }
  }
  return sets;
}

double Bytes(const std::vector<long>& sizes) {
  double n = 0;
  for (long s : sizes)
    n += s;
  return 2 * n;
}

// The NVIDIA kernel module's version ("580.159.04"): the first word of
// /proc/driver/nvidia/version made of digits and dots; empty where that
// file cannot be read.
std::string KernelModuleVersion() {
  std::ifstream file("/proc/driver/nvidia/version");
  std::string line, word;
  std::getline(file, line);
  std::istringstream words(line);
  while (words >> word) {
    if (word.find('.') != std::string::npos &&
        word.find_first_not_of("0123456789.") == std::string::npos) {
      return word;
    }
  }
  return "";
}

}  // namespace

DeviceTimer::DeviceTimer(const ModelShape& model, int warmup, int repetitions)
    : model_(model), warmup_(warmup), repetitions_(repetitions) {
  Check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  start_.resize(repetitions);
  stop_.resize(repetitions);
  for (int r = 0; r < repetitions; ++r) {
    Check(cudaEventCreate(&start_[r]), "cudaEventCreate");
    Check(cudaEventCreate(&stop_[r]), "cudaEventCreate");
  }
  int device = 0, l2 = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  Check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "cudaDeviceGetAttribute");
  l2_bytes_ = l2;
}

DeviceTimer::~DeviceTimer() {
  cudaStreamSynchronize(stream_);
  for (std::size_t r = 0; r < start_.size(); ++r) {
    cudaEventDestroy(start_[r]);
    cudaEventDestroy(stop_[r]);
  }
  weights_.clear();
  cudaStreamDestroy(stream_);
}

DeviceInfo DeviceTimer::Device() {
  int device = 0;
  Check(cudaGetDevice(&device), "cudaGetDevice");
  cudaDeviceProp p{};
  Check(cudaGetDeviceProperties(&p, device), "cudaGetDeviceProperties");
  DeviceInfo info;
  info.name = p.name;
  info.sm_count = p.multiProcessorCount;
  info.memory_bytes = static_cast<double>(p.totalGlobalMem);
  info.l2_bytes = p.l2CacheSize;
  info.compute_capability = std::to_string(p.major) + "." + std::to_string(p.minor);
  int v = 0;
  Check(cudaDriverGetVersion(&v), "cudaDriverGetVersion");
  const std::string module = KernelModuleVersion();
  info.driver_version = (module.empty() ? "" : module + ", ") + "CUDA " + Version(v);
  Check(cudaRuntimeGetVersion(&v), "cudaRuntimeGetVersion");
  info.runtime_version = Version(v);
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(MINOR_VERSION, &minor) != CUBLAS_STATUS_SUCCESS ||
      cublasGetProperty(PATCH_LEVEL, &patch) != CUBLAS_STATUS_SUCCESS) {
    throw CudaError("cublasGetProperty failed");
  }
  info.cublas_version =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  return info;
}

int DeviceTimer::Copies(double set_bytes, double share, const std::string& what) {
  std::size_t free = 0, total = 0;
  Check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  const int copies = RotationCopies(set_bytes, l2_bytes_, share * static_cast<double>(free));
  if (copies == 0) {
    throw CudaError(what + ": needs " + std::to_string(set_bytes / 1e9) + " GB, " +
                    std::to_string(free / 1e9) + " GB free on the device");
  }
  return copies;
}

Timing DeviceTimer::Time(const std::function<void(int)>& run) {
  for (int i = 0; i < warmup_; ++i)
    run(i);
  for (int r = 0; r < repetitions_; ++r) {
    Check(cudaEventRecord(start_[r], stream_), "cudaEventRecord");
    run(warmup_ + r);
    Check(cudaEventRecord(stop_[r], stream_), "cudaEventRecord");
  }
  Check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
  std::vector<double> seconds(repetitions_);
  for (int r = 0; r < repetitions_; ++r) {
    float ms = 0;
    Check(cudaEventElapsedTime(&ms, start_[r], stop_[r]), "cudaEventElapsedTime");
    seconds[r] = ms * 1e-3;
  }
  return Summarize(std::move(seconds));
}

Ceilings DeviceTimer::MeasureCeilings() {
  Ceilings c;
  std::size_t free = 0, total = 0;
  Check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  // A copy far larger than L2: 1 GiB, or a quarter of the free memory.
  const long n = static_cast<long>(std::min<double>(1L << 30, free / 4.0) / 2);
  {
    DeviceArray<bf16> from(n), to(n);
    FillUniform(from.get(), n, 1.0f, seed_++, stream_);
    c.copy_bytes = 2.0 * n;
    c.copy = Time([&](int) {
      Check(cudaMemcpyAsync(to.get(), from.get(), n * sizeof(bf16), cudaMemcpyDeviceToDevice,
                            stream_),
            "cudaMemcpyAsync");
    });
  }
  c.gemm_size = 8192;
  const long s = c.gemm_size;
  auto sets = RandomSets({s * s, s * s, s * s}, 1, seed_, stream_);
  c.gemm = Time([&](int) {
    gemm_.Run(sets[0][0].get(), sets[0][1].get(), sets[0][2].get(), int(s), int(s), int(s),
              stream_);
  });
  return c;
}

Timing DeviceTimer::Layer(Phase phase, int batch, int length) {
  if (weights_.empty()) {
    const int copies = Copies(LayerWeightBytes(model_), 0.3, "layer weights");
    for (int i = 0; i < copies; ++i)
      weights_.push_back(RandomLayerWeights(model_, seed_ += 100, stream_));
  }
  const std::string what =
      "layer at batch " + std::to_string(batch) + ", length " + std::to_string(length);
  const int copies = Copies(LayerActivationBytes(model_, phase, batch, length), 0.9, what);
  std::vector<LayerActivations> acts;
  for (int i = 0; i < copies; ++i)
    acts.push_back(RandomLayerActivations(model_, phase, batch, length, seed_ += 100, stream_));
  // Weights and activations rotate independently, each over all its copies.
  return Time([&](int k) {
    LayerForward(model_, weights_[k % weights_.size()], acts[k % copies], gemm_, stream_);
  });
}

Timing DeviceTimer::Embedding(int tokens) {
  const long table = long(model_.vocab) * model_.hidden, out = long(tokens) * model_.hidden;
  const int copies = Copies(Bytes({table, out}) + 4.0 * tokens, 0.9, "embedding");
  auto sets = RandomSets({table, out}, copies, seed_, stream_);
  std::vector<DeviceArray<int>> ids;
  for (int i = 0; i < copies; ++i) {
    ids.emplace_back(tokens);
    FillIndices(ids.back().get(), tokens, model_.vocab, seed_++, stream_);
  }
  return Time([&](int k) {
    const int i = k % copies;
    gpu::Embedding(ids[i].get(), sets[i][0].get(), sets[i][1].get(), tokens, model_.hidden,
                   stream_);
  });
}

Timing DeviceTimer::Head(int rows) {
  const long h = model_.hidden, v = model_.vocab;
  // x, final-norm scale and bias, normed x, head matrix, logits.
  const std::vector<long> sizes = {rows * h, h, h, rows * h, h * v, rows * v};
  const int copies = Copies(Bytes(sizes), 0.9, "output head");
  auto sets = RandomSets(sizes, copies, seed_, stream_);
  return Time([&](int k) {
    Set& s = sets[k % copies];
    if (model_.norm == Norm::kRmsNorm) {
      RmsNorm(s[0].get(), s[1].get(), s[3].get(), rows, int(h), 1e-5f, stream_);
    } else {
      LayerNorm(s[0].get(), s[1].get(), s[2].get(), s[3].get(), rows, int(h), 1e-5f, stream_);
    }
    gemm_.Run(s[3].get(), s[4].get(), s[5].get(), rows, int(v), int(h), stream_);
  });
}

Timing DeviceTimer::Kernel(const KernelCase& k) {
  const std::vector<long>& d = k.dims;
  std::vector<long> sizes;  // bf16 arrays
  std::vector<long> ints;   // int arrays: filled with positions, ids or lengths below
  std::function<void(std::vector<Set>&, std::vector<std::vector<DeviceArray<int>>>&, int)> run;
  DeviceArray<float> workspace;  // attention_decode's, shared by every set
  if (k.name.rfind("gemm", 0) == 0) {
    sizes = {d[0] * d[2], d[2] * d[1], d[0] * d[1]};
    run = [&](auto& s, auto&, int i) {
      gemm_.Run(s[i][0].get(), s[i][1].get(), s[i][2].get(), int(d[0]), int(d[1]), int(d[2]),
                stream_);
    };
  } else if (k.name == "rmsnorm" || k.name == "layernorm") {
    sizes = {d[0] * d[1], d[1], d[1], d[0] * d[1]};
    run = [&](auto& s, auto&, int i) {
      if (k.name == "rmsnorm") {
        RmsNorm(s[i][0].get(), s[i][1].get(), s[i][3].get(), int(d[0]), int(d[1]), 1e-5f, stream_);
      } else {
        LayerNorm(s[i][0].get(), s[i][1].get(), s[i][2].get(), s[i][3].get(), int(d[0]), int(d[1]),
                  1e-5f, stream_);
      }
    };
  } else if (k.name == "swiglu" || k.name == "residual_add" || k.name == "gelu") {
    sizes = {d[0], d[0], d[0]};
    run = [&](auto& s, auto&, int i) {
      if (k.name == "swiglu") SwiGlu(s[i][0].get(), s[i][1].get(), s[i][2].get(), d[0], stream_);
      if (k.name == "gelu") Gelu(s[i][0].get(), s[i][2].get(), d[0], stream_);
      if (k.name == "residual_add") {
        ResidualAdd(s[i][0].get(), s[i][1].get(), s[i][2].get(), d[0], stream_);
      }
    };
  } else if (k.name == "embedding") {
    sizes = {d[2] * d[1], d[0] * d[1]};
    ints = {d[0]};
    run = [&](auto& s, auto& n, int i) {
      gpu::Embedding(n[i][0].get(), s[i][0].get(), s[i][1].get(), int(d[0]), int(d[1]), stream_);
    };
  } else if (k.name == "rope") {
    sizes = {d[0] * d[1] * d[2]};
    ints = {d[0]};
    run = [&](auto& s, auto& n, int i) {
      Rope(s[i][0].get(), n[i][0].get(), int(d[0]), int(d[1]), int(d[2]), model_.rope_theta,
           stream_);
    };
  } else if (k.name == "attention_prefill") {
    const long b = d[0], n = d[1], h = d[2], kv = d[3], hd = d[4];
    sizes = {b * n * h * hd, b * n * kv * hd, b * n * kv * hd, b * n * h * hd};
    run = [&, b, n, h, kv, hd](auto& s, auto&, int i) {
      AttentionPrefill(s[i][0].get(), s[i][1].get(), s[i][2].get(), s[i][3].get(), int(b), int(n),
                       int(h), int(kv), int(hd), d[5] != 0, stream_);
    };
  } else if (k.name == "attention_decode") {
    const long b = d[0], len = d[1], h = d[2], kv = d[3], hd = d[4];
    sizes = {b * h * hd, b * len * kv * hd, b * len * kv * hd, b * h * hd};
    ints = {b};
    const long floats = AttentionDecodeWorkspace(int(b), int(len), int(h), int(kv), int(hd));
    if (floats > 0) workspace = DeviceArray<float>(floats);
    run = [&, b, len, h, kv, hd](auto& s, auto& n, int i) {
      AttentionDecode(s[i][0].get(), s[i][1].get(), s[i][2].get(), n[i][0].get(), s[i][3].get(),
                      int(b), int(len), int(h), int(kv), int(hd), workspace.get(), stream_);
    };
  } else {
    throw CudaError("no kernel named '" + k.name + "'");
  }
  double int_bytes = 0;
  for (long n : ints)
    int_bytes += 4.0 * n;
  const int copies = Copies(Bytes(sizes) + int_bytes, 0.9, k.name);
  auto sets = RandomSets(sizes, copies, seed_, stream_);
  std::vector<std::vector<DeviceArray<int>>> int_sets(copies);
  for (auto& set : int_sets) {
    for (long n : ints) {
      set.emplace_back(n);
      if (k.name == "embedding") {
        FillIndices(set.back().get(), n, int(d[2]), seed_++, stream_);
      } else if (k.name == "rope") {
        FillIndices(set.back().get(), n, 8192, seed_++, stream_);  // positions
      } else {
        std::vector<int> lengths(n, int(d[1]));
        Check(cudaMemcpyAsync(set.back().get(), lengths.data(), n * sizeof(int),
                              cudaMemcpyHostToDevice, stream_),
              "cudaMemcpyAsync");
        Check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
      }
    }
  }
  return Time([&](int k) { run(sets, int_sets, k % copies); });
}

}  // namespace platsim::gpu
