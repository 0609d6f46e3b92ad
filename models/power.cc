#include "models/power.h"

#include <algorithm>

#include "models/input/yaml_reader.h"

namespace platsim::models {

using input::MapReader;
using input::Node;

std::string DefaultDeviceCatalogue() {
  return std::string(PLATSIM_CATALOGUE_DIR) + "/devices.json";
}

std::optional<std::vector<GpuPower>> ReadGpuPower(const std::string& path,
                                                  input::Diagnostics& diags) {
  const int errors_before = diags.error_count();
  const auto source = input::LoadYamlFile(path, path, diags);
  if (!source) return std::nullopt;
  if (source->documents.size() != 1) {
    diags.Error({path, 1, 1}, "", "expected exactly one document in a device catalogue");
    return std::nullopt;
  }
  MapReader m(source->documents[0], diags);
  std::vector<GpuPower> out;
  const Node devices = m.Require("devices");
  if (devices.present() && devices.IsSequence()) {
    for (const Node& d : devices.Elements()) {
      MapReader dm(d, diags);
      if (!dm.Has("maxWatts")) {  // a device without power figures
        dm.AcceptRest();
        continue;
      }
      GpuPower p;
      p.device = dm.String("name", "");
      p.max_w = dm.Number("maxWatts", 0.0, 1.0, 100'000.0);
      p.idle_w = dm.Number("idleWatts", 0.0, 0.0, 100'000.0);
      p.source = dm.String("powerSource", "");
      if (p.idle_w > p.max_w) {
        diags.Error(d.location(), d.path(), "idleWatts is above maxWatts");
      }
      if (const Node products = dm.Get("products"); products.present() && products.IsSequence()) {
        for (const Node& product : products.Elements()) {
          if (product.IsScalar()) p.products.push_back(product.scalar());
        }
      }
      dm.AcceptRest();
      out.push_back(std::move(p));
    }
  }
  m.AcceptRest();
  if (diags.error_count() != errors_before) return std::nullopt;
  return out;
}

const GpuPower* FindGpuPower(const std::vector<GpuPower>& devices, const std::string& product) {
  for (const GpuPower& d : devices) {
    if (std::find(d.products.begin(), d.products.end(), product) != d.products.end()) return &d;
  }
  return nullptr;
}

}  // namespace platsim::models
