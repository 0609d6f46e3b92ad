// Latency profiles estimated by the roofline (gpu/roofline.h) for a
// catalogue model on a catalogue device, for GPUs nobody has profiled, and
// for a model split over several GPUs by tensor parallelism, which the
// profiler (one GPU) does not measure. Each has the grids the profiler
// measures, so estimated and measured profiles line up, and is marked
// `"estimate": true` so that everything built from it is labelled an
// estimate.
#ifndef PLATSIM_GPU_ESTIMATE_H_
#define PLATSIM_GPU_ESTIMATE_H_

#include <string>

#include <nlohmann/json.hpp>

#include "gpu/catalogue.h"
#include "gpu/roofline.h"

namespace platsim::gpu {

// The shape a profile's provenance records ({"name", "layers", ...}).
nlohmann::ordered_json ModelShapeJson(const ModelShape& model);

// The roofline's view of a catalogue model, split over `tensor_parallel`
// GPUs.
TransformerShape TransformerOf(const ModelShape& model, int tensor_parallel = 1);

// Why `model` cannot be split over `gpus` GPUs as vLLM splits it ("" if it
// can): query heads must divide among them, and KV heads divide among them
// or they among the KV heads (vllm/config/model.py
// verify_with_parallel_config; QKVParallelLinear in
// vllm/model_executor/layers/linear.py).
std::string TensorParallelProblem(const ModelShape& model, int gpus);

// The LatencyProfile document (the JSON `platsim profile` writes) of `model`
// on `device`, with a kernel table giving each kernel's roofline floor.
// Over `tensor_parallel` GPUs (REQUIRES: device.interconnect_gbps > 0 if
// above 1, and no TensorParallelProblem): each GPU's share of the work plus
// the collectives over the device's interconnect.
nlohmann::ordered_json RooflineProfile(const ModelShape& model, const DeviceSheet& device,
                                       int tensor_parallel = 1);

// A decoder's profile over `gpus` GPUs derived from `measured`, its profile
// measured on one GPU (prefill and decode grids, provenance with the
// device's memory and measured ceilings): at each grid point the measured
// time scaled by the roofline's ratio of one GPU's share of the work to the
// whole (at the measured ceilings), plus the collectives over `device`'s
// interconnect (TensorParallelSeconds). The kernels keep the efficiency
// they were measured at; what splitting adds is an estimate, and so is the
// profile. REQUIRES: as for RooflineProfile. Returns null and sets *error
// if `measured` lacks what the derivation needs.
nlohmann::ordered_json TensorParallelProfile(const nlohmann::ordered_json& measured,
                                             const ModelShape& model, const DeviceSheet& device,
                                             int gpus, std::string* error);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_ESTIMATE_H_
