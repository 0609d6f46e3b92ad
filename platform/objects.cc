#include "platform/objects.h"

namespace platsim::platform {

bool SelectorMatches(const Labels& selector, const Labels& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    const auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

std::string NormalizedImageName(const std::string& image) {
  const auto colon = image.rfind(':');
  const auto slash = image.rfind('/');
  // No ':' after the last '/': a registry port is not a tag.
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
    return image + ":latest";
  }
  return image;
}

}  // namespace platsim::platform
