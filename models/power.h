// Power of GPUs, from the device catalogue (gpu/catalogue/devices.json):
// each device's maximum board power from its datasheet and an idle figure,
// and the nvidia.com/gpu.product label values that name it on a node. A GPU
// draws idle + (max - idle) x its busy fraction: linear in utilisation, the
// usual first-order model of accelerator power.
#ifndef PLATSIM_MODELS_POWER_H_
#define PLATSIM_MODELS_POWER_H_

#include <optional>
#include <string>
#include <vector>

#include "models/input/diagnostics.h"

namespace platsim::models {

struct GpuPower {
  std::string device;                 // catalogue name, e.g. H100-SXM
  std::vector<std::string> products;  // nvidia.com/gpu.product values
  double idle_w = 0;
  double max_w = 0;
  std::string source;
};

// The catalogue platsim was built with.
std::string DefaultDeviceCatalogue();

// The power figures of every device in the catalogue at `path` that has
// them; problems (a missing file, a bad figure) go to `diags`.
std::optional<std::vector<GpuPower>> ReadGpuPower(const std::string& path,
                                                  input::Diagnostics& diags);

// The device named by a node's nvidia.com/gpu.product label; null if none.
const GpuPower* FindGpuPower(const std::vector<GpuPower>& devices, const std::string& product);

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_POWER_H_
