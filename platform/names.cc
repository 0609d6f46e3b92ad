#include "platform/names.h"

#include <cstdint>

namespace platsim::platform {
namespace {

constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
constexpr int kAlphabetSize = sizeof(kAlphabet) - 1;

void Mix(std::uint64_t& h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;  // field separator
  h *= 0x100000001b3ULL;
}

}  // namespace

std::string RandomSuffix(sim::RandomStream& rng, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += kAlphabet[rng.UniformInt(kAlphabetSize)];
  return out;
}

std::string TemplateHash(const PodTemplate& t) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const auto& [k, v] : t.labels) {
    Mix(h, k);
    Mix(h, v);
  }
  Mix(h, t.image);
  Mix(h, std::to_string(t.requests.cpu_milli) + "/" + std::to_string(t.requests.memory_bytes) +
             "/" + std::to_string(t.requests.gpus));
  Mix(h, std::to_string(t.has_readiness_probe) + "/" + std::to_string(t.readiness.initial_delay) +
             "/" + std::to_string(t.readiness.period) + "/" +
             std::to_string(t.readiness.success_threshold));
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += kAlphabet[h % kAlphabetSize];
    h /= kAlphabetSize;
  }
  return out;
}

}  // namespace platsim::platform
