// The profiler's Timer on the current CUDA device. Every repetition is
// bracketed by CUDA events on one stream, after `warmup` untimed runs;
// repetitions are queued back to back, so a small layer's time includes the
// launch gaps eager execution has. Inputs are random (never zeros) and
// rotated over copies that together exceed the L2 cache four times, so no
// repetition finds its data cached by the previous one.
#ifndef PLATSIM_GPU_DEVICE_TIMER_H_
#define PLATSIM_GPU_DEVICE_TIMER_H_

#include <functional>
#include <memory>
#include <vector>

#include "gpu/layer.h"
#include "gpu/profiler.h"

namespace platsim::gpu {

class DeviceTimer : public Timer {
 public:
  // REQUIRES: a CUDA device (DeviceAvailable), repetitions >= 1.
  DeviceTimer(const ModelShape& model, int warmup, int repetitions);
  ~DeviceTimer() override;
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  DeviceInfo Device() override;
  Ceilings MeasureCeilings() override;
  Timing Layer(Phase phase, int batch, int length) override;
  Timing Embedding(int tokens) override;
  Timing Head(int rows) override;
  Timing Kernel(const KernelCase& kernel) override;

 private:
  // Runs `run(k)` for k = 0, 1, ...: the warm-up runs untimed, then each
  // repetition timed. `run` picks its copies of the inputs from k.
  Timing Time(const std::function<void(int)>& run);
  // How many copies of `set_bytes` to rotate over within `share` of the free
  // memory; throws CudaError naming `what` if none fits.
  int Copies(double set_bytes, double share, const std::string& what);

  ModelShape model_;
  int warmup_;
  int repetitions_;
  cudaStream_t stream_ = nullptr;
  std::vector<cudaEvent_t> start_, stop_;
  Gemm gemm_;
  double l2_bytes_ = 0;
  std::vector<LayerWeights> weights_;  // rotated; allocated on first use
  unsigned long long seed_ = 1;
};

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_DEVICE_TIMER_H_
