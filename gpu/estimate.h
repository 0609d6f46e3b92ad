// Latency profiles estimated by the roofline (gpu/roofline.h) for a
// catalogue model on a catalogue device, for GPUs nobody has profiled. The
// profile has the grids the profiler measures, so estimated and measured
// profiles line up, and it is marked `"estimate": true` so that everything
// built from it is labelled an estimate.
#ifndef PLATSIM_GPU_ESTIMATE_H_
#define PLATSIM_GPU_ESTIMATE_H_

#include <nlohmann/json.hpp>

#include "gpu/catalogue.h"

namespace platsim::gpu {

// The LatencyProfile document (the JSON `platsim profile` writes) of `model`
// on `device`, with a kernel table giving each kernel's roofline floor.
nlohmann::ordered_json RooflineProfile(const ModelShape& model, const DeviceSheet& device);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_ESTIMATE_H_
