#include "gpu/estimate.h"

#include <vector>

#include "gpu/profiler.h"

namespace platsim::gpu {
namespace {

using Json = nlohmann::ordered_json;

Interconnect LinkOf(const DeviceSheet& device) {
  return Interconnect{device.interconnect_gbps * 1e9, device.collective_latency_us * 1e-6};
}

Json LinkJson(const DeviceSheet& device, int gpus) {
  return Json{{"gpus", gpus},
              {"interconnect", device.interconnect},
              {"gbpsPerDirection", device.interconnect_gbps},
              {"collectiveLatencyUs", device.collective_latency_us},
              {"source", device.interconnect_source}};
}

// One forward pass over a grid point: prefill (batch x tokens) or decode
// (batch at a KV length).
Work PassWork(const TransformerShape& m, bool decode, int batch, int y) {
  return decode ? DecodeWork(m, batch, y) : PrefillWork(m, batch, y);
}
double PassRows(bool decode, int batch, int y) {
  return decode ? batch : static_cast<double>(batch) * y;
}

}  // namespace

Json ModelShapeJson(const ModelShape& model) {
  return Json{{"name", model.name},   {"layers", model.layers},    {"hidden", model.hidden},
              {"heads", model.heads}, {"kvHeads", model.kv_heads}, {"ffn", model.ffn},
              {"vocab", model.vocab}};
}

TransformerShape TransformerOf(const ModelShape& model, int tensor_parallel) {
  const bool decoder = model.architecture == Architecture::kDecoder;
  TransformerShape m{model.layers,
                     model.hidden,
                     model.heads,
                     model.kv_heads,
                     model.ffn,
                     decoder ? model.vocab : 0,
                     model.activation == Activation::kSwiGlu,
                     decoder};
  m.tensor_parallel = tensor_parallel;
  return m;
}

std::string TensorParallelProblem(const ModelShape& model, int gpus) {
  if (gpus < 1) return "needs at least one GPU";
  if (gpus == 1) return "";
  if (model.heads == 0) return model.name + " has no attention heads to split";
  if (model.heads % gpus != 0) {
    return model.name + "'s " + std::to_string(model.heads) +
           " attention heads do not divide among " + std::to_string(gpus) + " GPUs";
  }
  if (model.kv_heads % gpus != 0 && gpus % model.kv_heads != 0) {
    return model.name + "'s " + std::to_string(model.kv_heads) + " KV heads and " +
           std::to_string(gpus) + " GPUs: neither divides the other";
  }
  return "";
}

Json RooflineProfile(const ModelShape& model, const DeviceSheet& device, int tensor_parallel) {
  const DeviceFigures figures{device.name, device.bf16_dense_tflops * 1e12,
                              device.memory_bandwidth_gbps * 1e9};
  const bool decoder = model.architecture == Architecture::kDecoder;
  const TransformerShape m = TransformerOf(model, tensor_parallel);
  const Interconnect link = LinkOf(device);
  auto grid = [&](const char* y_name, const std::vector<int>& batches, const std::vector<int>& ys,
                  bool decode) {
    Json rows = Json::array();
    for (int b : batches) {
      Json row = Json::array();
      for (int y : ys) {
        row.push_back(RooflineSeconds(PassWork(m, decode, b, y), figures) +
                      TensorParallelSeconds(m, PassRows(decode, b, y), b, link));
      }
      rows.push_back(row);
    }
    return Json{{"batchSizes", batches}, {y_name, ys}, {"latencySeconds", rows}};
  };
  Json profile;
  profile["apiVersion"] = "platsim.dev/v1alpha1";
  profile["kind"] = "LatencyProfile";
  const std::string over =
      tensor_parallel > 1 ? " over " + std::to_string(tensor_parallel) + " GPUs" : "";
  profile["metadata"] = {
      {"name", model.name + " on " + device.name + over + " (roofline estimate)"},
      {"estimate", true}};
  if (model.context_tokens > 0) profile["metadata"]["contextTokens"] = model.context_tokens;
  if (tensor_parallel > 1) profile["metadata"]["tensorParallelSize"] = tensor_parallel;
  profile["provenance"] = {
      {"method",
       "roofline: max(FLOPs / peak bf16 rate, bytes / peak memory bandwidth) from "
       "datasheet figures; not measured, an optimistic bound"},
      {"device",
       {{"name", device.name},
        {"memoryGiB", device.memory_gib},
        {"bf16DenseTflops", device.bf16_dense_tflops},
        {"memoryBandwidthGBps", device.memory_bandwidth_gbps},
        {"source", device.source}}},
      {"model", ModelShapeJson(model)}};
  if (tensor_parallel > 1) {
    profile["provenance"]["method"] =
        "roofline of one GPU's share of the work split by tensor parallelism, plus the "
        "collectives between the GPUs (an all-reduce per attention output, FFN output and "
        "embedding; an all-gather of the logits) at the interconnect's datasheet bandwidth and an "
        "estimated latency; not measured, an optimistic bound";
    profile["provenance"]["tensorParallel"] = LinkJson(device, tensor_parallel);
  }
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

Json TensorParallelProfile(const Json& measured, const ModelShape& model, const DeviceSheet& device,
                           int gpus, std::string* error) {
  auto fail = [&](const std::string& what) {
    *error = what;
    return Json();
  };
  if (model.architecture != Architecture::kDecoder) {
    return fail(model.name + " is not a decoder: tensor parallelism is for engine: vllm");
  }
  const Json* provenance = measured.contains("provenance") && measured["provenance"].is_object()
                               ? &measured["provenance"]
                               : nullptr;
  auto ceiling = [&](const char* key) {
    if (provenance == nullptr || !provenance->contains("ceilings")) return 0.0;
    const Json& c = (*provenance)["ceilings"];
    return c.is_object() && c.contains(key) && c[key].is_number() ? c[key].get<double>() : 0.0;
  };
  const double copy_gbps = ceiling("copyBandwidthGBps");
  const double tflops = ceiling("bf16Tflops");
  if (!(copy_gbps > 0) || !(tflops > 0)) {
    return fail(
        "records no measured ceilings (provenance.ceilings.copyBandwidthGBps and bf16Tflops): "
        "derive from a profile measured by platsim profile");
  }
  if (const Json& meta = measured.value("metadata", Json::object());
      meta.is_object() && meta.contains("tensorParallelSize") &&
      meta["tensorParallelSize"] != Json(1)) {
    return fail("is not a profile of one GPU (metadata.tensorParallelSize)");
  }
  const DeviceFigures figures{"measured", tflops * 1e12, copy_gbps * 1e9};
  const TransformerShape whole = TransformerOf(model, 1);
  const TransformerShape split = TransformerOf(model, gpus);
  const Interconnect link = LinkOf(device);
  Json profile = measured;
  for (const char* section : {"prefill", "decode"}) {
    const bool decode = section[0] == 'd';
    const char* y_name = decode ? "kvLengths" : "tokens";
    if (!measured.contains(section) || !measured[section].is_object()) {
      return fail("has no " + std::string(section) + " grid (a decoder's profile has both)");
    }
    const Json& g = measured[section];
    const Json& batches = g.value("batchSizes", Json());
    const Json& ys = g.value(y_name, Json());
    const Json& seconds = g.value("latencySeconds", Json());
    if (!batches.is_array() || !ys.is_array() || !seconds.is_array() ||
        seconds.size() != batches.size()) {
      return fail(std::string(section) + ": expected batchSizes, " + y_name +
                  " and one latencySeconds row per batch size");
    }
    Json rows = Json::array();
    for (std::size_t i = 0; i < batches.size(); ++i) {
      if (!batches[i].is_number_integer() || !seconds[i].is_array() ||
          seconds[i].size() != ys.size()) {
        return fail(std::string(section) + ": latencySeconds[" + std::to_string(i) +
                    "] does not match the axes");
      }
      const int b = batches[i].get<int>();
      Json row = Json::array();
      for (std::size_t j = 0; j < ys.size(); ++j) {
        if (!ys[j].is_number_integer() || !seconds[i][j].is_number()) {
          return fail(std::string(section) + ": expected numbers");
        }
        const int y = ys[j].get<int>();
        const double one = RooflineSeconds(PassWork(whole, decode, b, y), figures);
        const double share = RooflineSeconds(PassWork(split, decode, b, y), figures);
        row.push_back(seconds[i][j].get<double>() * share / one +
                      TensorParallelSeconds(split, PassRows(decode, b, y), b, link));
      }
      rows.push_back(std::move(row));
    }
    profile[section]["latencySeconds"] = std::move(rows);
  }
  profile["metadata"]["name"] =
      measured.value("metadata", Json::object()).value("name", model.name) + ", over " +
      std::to_string(gpus) + " GPUs (derived estimate)";
  profile["metadata"]["estimate"] = true;
  profile["metadata"]["tensorParallelSize"] = gpus;
  profile["provenance"]["measuredMethod"] = (*provenance).value("method", "");
  profile["provenance"]["method"] =
      "derived from the profile measured on one GPU (the rest of this provenance is that "
      "profile's): each grid point's time scaled by the roofline's ratio of one GPU's share of "
      "the work split by tensor parallelism to the whole, at the measured ceilings, plus the "
      "collectives between the GPUs (an all-reduce per attention output, FFN output and "
      "embedding; an all-gather of the logits) at the interconnect's datasheet bandwidth and an "
      "estimated latency. An estimate until measured over that many GPUs; the measured "
      "profile's per-kernel tables are left out";
  profile["provenance"]["tensorParallel"] = LinkJson(device, gpus);
  profile.erase("measurements");
  profile.erase("kernels");
  return profile;
}

}  // namespace platsim::gpu
