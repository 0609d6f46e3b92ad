#include "gpu/profile_command.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "gpu/catalogue.h"
#include "gpu/commit.h"
#include "gpu/device_timer.h"
#include "gpu/kernels.h"
#include "gpu/profiler.h"

namespace platsim::gpu {
namespace {

std::string UtcNow() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

int RunProfileCommand(const ProfileCommand& c, std::ostream& out, std::ostream& err) {
  if (c.repetitions < 20 || c.warmup < 1) {
    err << "platsim profile: --repetitions must be at least 20 and --warmup at least 1\n";
    return 2;
  }
  std::vector<std::string> errors;
  const auto models = LoadCatalogue(c.catalogue, &errors);
  if (!models) {
    for (const auto& e : errors)
      err << e << '\n';
    return 2;
  }
  const ModelShape* model = nullptr;
  std::string known;
  for (const auto& m : *models) {
    if (m.name == c.model) model = &m;
    known += (known.empty() ? "" : ", ") + m.name;
  }
  if (model == nullptr) {
    err << "platsim profile: --model: unknown '" << c.model << "' (known: " << known << ")\n";
    return 2;
  }
  const std::string partial = c.out + ".partial";
  {
    std::ofstream probe(partial, std::ios::binary);
    if (!probe) {
      err << "platsim profile: --out: cannot write " << c.out << '\n';
      return 2;
    }
  }
  std::string why;
  if (!DeviceAvailable(&why)) {
    std::filesystem::remove(partial);
    err << "platsim profile: " << why << "; nothing measured, nothing written\n";
    return 1;
  }
  try {
    std::size_t free = 0, total = 0;
    Check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    if (const std::string short_of = CheckFits(*model, PlanFor(*model), 0.9 * free);
        !short_of.empty()) {
      std::filesystem::remove(partial);
      err << "platsim profile: " << model->name << " does not fit this device: " << short_of
          << "; nothing measured, nothing written\n";
      return 1;
    }
    DeviceTimer timer(*model, c.warmup, c.repetitions);
    ProfileOptions options{PLATSIM_COMMIT, UtcNow(), c.warmup, c.repetitions, {}};
    if (c.progress) {
      options.progress = [&err](int done, int total, const std::string& what) {
        err << "platsim profile: [" << done << "/" << total << "] " << what << '\n';
      };
    }
    const auto profile = BuildProfile(*model, timer, options);
    std::ofstream file(partial, std::ios::binary);
    file << profile.dump(2) << '\n';
    file.close();
    if (!file) throw std::runtime_error("cannot write " + partial);
    std::filesystem::rename(partial, c.out);
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(partial, ignored);
    err << "platsim profile: " << e.what() << "; nothing written\n";
    return 1;
  }
  out << "platsim profile: wrote " << c.out << '\n';
  return 0;
}

}  // namespace platsim::gpu
