// platsim-profile: the profiler on its own, for GPU machines that build
// gpu/ alone (cmake -S gpu). Same flags and output as `platsim profile
// --model NAME --out FILE`.
#include <cstdlib>
#include <iostream>
#include <string>

#include "gpu/profile_command.h"

namespace {

constexpr const char* kUsage =
    "usage: platsim-profile --model NAME --out FILE [--catalogue FILE] [--warmup N]\n"
    "                       [--repetitions N] [--quiet]\n"
    "Times one layer of a catalogue model (prefill over batch x tokens, decode over\n"
    "batch x KV length, or an encoder's batch x sequence length), its embedding and\n"
    "output head, and its kernels against the device's measured copy bandwidth and\n"
    "bf16 matrix rate, on the CUDA device it finds; writes a latency profile (JSON).\n"
    "  --catalogue FILE   model catalogue (default: " PLATSIM_CATALOGUE_DIR
    "/models.json)\n"
    "  --warmup N         untimed runs before timing (default 5)\n"
    "  --repetitions N    timed runs per measurement, at least 20 (default 30)\n"
    "  --quiet            no progress lines\n"
    "Exit status: 0 ok, 1 no device or a CUDA failure, 2 bad input.\n";

bool ParseInt(const std::string& text, int* value) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < 0 || v > 1000000) return false;
  *value = static_cast<int>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  platsim::gpu::ProfileCommand c;
  c.catalogue = std::string(PLATSIM_CATALOGUE_DIR) + "/models.json";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--quiet") {
      c.progress = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "platsim-profile: " << arg << ": unknown flag or missing value\n" << kUsage;
      return 2;
    }
    const std::string value = argv[++i];
    bool ok = true;
    if (arg == "--model") {
      c.model = value;
    } else if (arg == "--out") {
      c.out = value;
    } else if (arg == "--catalogue") {
      c.catalogue = value;
    } else if (arg == "--warmup") {
      ok = ParseInt(value, &c.warmup);
    } else if (arg == "--repetitions") {
      ok = ParseInt(value, &c.repetitions);
    } else {
      std::cerr << "platsim-profile: unknown flag " << arg << '\n' << kUsage;
      return 2;
    }
    if (!ok) {
      std::cerr << "platsim-profile: " << arg << ": not a count: '" << value << "'\n";
      return 2;
    }
  }
  if (c.model.empty() || c.out.empty()) {
    std::cerr << "platsim-profile: --model and --out are required\n" << kUsage;
    return 2;
  }
  return platsim::gpu::RunProfileCommand(c, std::cout, std::cerr);
}
