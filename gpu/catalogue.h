// The model catalogue: the shapes of the models whose layers gpu/ runs and
// profiles (gpu/catalogue/models.json). gpu/ builds on its own, with only
// CUDA, cuBLAS, Eigen and nlohmann-json, so this reads JSON directly.
#ifndef PLATSIM_GPU_CATALOGUE_H_
#define PLATSIM_GPU_CATALOGUE_H_

#include <optional>
#include <string>
#include <vector>

namespace platsim::gpu {

enum class Architecture { kEncoder, kDecoder, kMlp };
enum class Norm { kLayerNorm, kRmsNorm };
enum class Activation { kGelu, kSwiGlu };

struct ModelShape {
  std::string name;
  Architecture architecture = Architecture::kDecoder;
  int layers = 0;
  int hidden = 0;
  int heads = 0;     // query heads; 0 for MLP models
  int kv_heads = 0;  // key/value heads (grouped-query attention); divides heads
  int ffn = 0;
  int vocab = 0;  // 0: no embedding or output head
  Norm norm = Norm::kRmsNorm;
  Activation activation = Activation::kSwiGlu;
  double rope_theta = 10000.0;  // decoders only
  int context_tokens = 0;       // the longest sequence the model takes; 0: not given

  int head_dim() const { return heads > 0 ? hidden / heads : 0; }
};

// Parses a catalogue. Every problem is appended to `errors` as
// `file:line:col: models[i].field: what is wrong`; returns nullopt if any.
std::optional<std::vector<ModelShape>> ParseCatalogue(const std::string& json,
                                                      const std::string& file,
                                                      std::vector<std::string>* errors);
std::optional<std::vector<ModelShape>> LoadCatalogue(const std::string& path,
                                                     std::vector<std::string>* errors);

// A GPU's datasheet ceilings (gpu/catalogue/devices.json), for roofline
// estimates of devices nobody has profiled.
struct DeviceSheet {
  std::string name;
  double bf16_dense_tflops = 0;
  double memory_bandwidth_gbps = 0;  // GB/s, 10^9 bytes
  double memory_gib = 0;
  std::string source;  // where the figures come from
  // The link between GPUs of one node, for tensor parallelism (optional:
  // 0 where the catalogue gives none): bandwidth per GPU per direction and
  // the latency of one small collective.
  std::string interconnect;  // its name
  double interconnect_gbps = 0;
  double collective_latency_us = 0;
  std::string interconnect_source;
};

// Parses a device catalogue; problems as for ParseCatalogue.
std::optional<std::vector<DeviceSheet>> ParseDeviceCatalogue(const std::string& json,
                                                             const std::string& file,
                                                             std::vector<std::string>* errors);
std::optional<std::vector<DeviceSheet>> LoadDeviceCatalogue(const std::string& path,
                                                            std::vector<std::string>* errors);

}  // namespace platsim::gpu

#endif  // PLATSIM_GPU_CATALOGUE_H_
