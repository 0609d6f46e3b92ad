#include "gpu/estimate.h"

#include <vector>

#include "gpu/profiler.h"
#include "gpu/roofline.h"

namespace platsim::gpu {

nlohmann::ordered_json RooflineProfile(const ModelShape& model, const DeviceSheet& device) {
  using Json = nlohmann::ordered_json;
  const DeviceFigures figures{device.name, device.bf16_dense_tflops * 1e12,
                              device.memory_bandwidth_gbps * 1e9};
  const bool decoder = model.architecture == Architecture::kDecoder;
  const TransformerShape m{model.layers,
                           model.hidden,
                           model.heads,
                           model.kv_heads,
                           model.ffn,
                           decoder ? model.vocab : 0,
                           model.activation == Activation::kSwiGlu,
                           decoder};
  auto grid = [&](const char* y_name, const std::vector<int>& batches, const std::vector<int>& ys,
                  bool decode) {
    Json rows = Json::array();
    for (int b : batches) {
      Json row = Json::array();
      for (int y : ys) {
        row.push_back(
            RooflineSeconds(decode ? DecodeWork(m, b, y) : PrefillWork(m, b, y), figures));
      }
      rows.push_back(row);
    }
    return Json{{"batchSizes", batches}, {y_name, ys}, {"latencySeconds", rows}};
  };
  Json profile;
  profile["apiVersion"] = "platsim.dev/v1alpha1";
  profile["kind"] = "LatencyProfile";
  profile["metadata"] = {{"name", model.name + " on " + device.name + " (roofline estimate)"},
                         {"estimate", true}};
  if (model.context_tokens > 0) profile["metadata"]["contextTokens"] = model.context_tokens;
  profile["provenance"] = {
      {"method",
       "roofline: max(FLOPs / peak bf16 rate, bytes / peak memory bandwidth) from "
       "datasheet figures; not measured, an optimistic bound"},
      {"device",
       {{"name", device.name},
        {"bf16DenseTflops", device.bf16_dense_tflops},
        {"memoryBandwidthGBps", device.memory_bandwidth_gbps},
        {"source", device.source}}}};
  const ProfilePlan plan = PlanFor(model);
  if (decoder) {
    profile["prefill"] = grid("tokens", plan.prefill.batches, plan.prefill.lengths, false);
    profile["decode"] = grid("kvLengths", plan.decode.batches, plan.decode.lengths, true);
  } else {
    profile["encoder"] = grid("sequenceLengths", plan.encoder.batches, plan.encoder.lengths, false);
  }
  // Each kernel of a layer at the profiler's shapes, with its roofline floor:
  // what a measured profile's kernel table is to be read against.
  Json kernels = Json::array();
  for (const KernelCase& k : KernelCasesFor(model)) {
    kernels.push_back({{"name", k.name},
                       {"shape", k.shape},
                       {"bound", k.bound == Bound::kMemory ? "memory" : "compute"},
                       {"bytes", k.bytes},
                       {"flops", k.flops},
                       {"floorSeconds", RooflineSeconds({k.flops, k.bytes}, figures)}});
  }
  profile["kernels"] = std::move(kernels);
  return profile;
}

}  // namespace platsim::gpu
