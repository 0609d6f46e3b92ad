#include "platform/names.h"

#include <algorithm>
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
  if (!t.model_uri.empty()) Mix(h, "model/" + t.model_uri);
  Mix(h, std::to_string(t.requests.cpu_milli) + "/" + std::to_string(t.requests.memory_bytes) +
             "/" + std::to_string(t.requests.gpus));
  Mix(h, std::to_string(t.has_readiness_probe) + "/" + std::to_string(t.readiness.initial_delay) +
             "/" + std::to_string(t.readiness.period) + "/" +
             std::to_string(t.readiness.success_threshold));
  // Placement is part of the template: changing it rolls out new pods.
  const Placement& p = t.placement;
  if (!p.node_selector.empty() || p.has_required_terms || !p.preferred.empty() ||
      !p.tolerations.empty()) {
    for (const auto& [k, v] : p.node_selector) {
      Mix(h, "nodeSelector/" + k);
      Mix(h, v);
    }
    auto term = [&h](const NodeSelectorTerm& term) {
      Mix(h, "term");
      for (const auto& r : term.match_expressions) {
        Mix(h, r.key + "/" + std::to_string(static_cast<int>(r.op)));
        for (const auto& v : r.values)
          Mix(h, v);
      }
    };
    Mix(h, p.has_required_terms ? "required" : "");
    for (const auto& t : p.required_terms)
      term(t);
    for (const auto& t : p.preferred) {
      Mix(h, "preferred/" + std::to_string(t.weight));
      term(t.preference);
    }
    for (const auto& t : p.tolerations) {
      Mix(h, "toleration/" + t.key + "/" + std::to_string(t.exists) + "/" + t.value + "/" +
                 std::to_string(t.any_effect) + "/" + std::to_string(static_cast<int>(t.effect)));
    }
  }
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += kAlphabet[h % kAlphabetSize];
    h /= kAlphabetSize;
  }
  return out;
}

bool IsDnsLabel(const std::string& name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

}  // namespace platsim::platform
