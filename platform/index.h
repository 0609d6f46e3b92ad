// An index of object keys by derived values, as client-go's informer
// indexers keep them: by owner, or by label pair within a namespace.
// Controllers keep one per question they ask on every event, so that
// answering it touches only the objects it is about, not every object of
// a kind. Keys come back sorted, so iteration is deterministic.
#ifndef PLATSIM_PLATFORM_INDEX_H_
#define PLATSIM_PLATFORM_INDEX_H_

#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "platform/objects.h"

namespace platsim::platform {

class KeyIndex {
 public:
  // Files `key` under `values`, replacing what it was filed under before.
  void Set(const std::string& key, std::vector<std::string> values) {
    Remove(key);
    for (const std::string& v : values)
      by_value_[v].insert(key);
    of_key_[key] = std::move(values);
  }
  void Remove(const std::string& key) {
    const auto it = of_key_.find(key);
    if (it == of_key_.end()) return;
    for (const std::string& v : it->second) {
      auto& keys = by_value_[v];
      keys.erase(key);
      if (keys.empty()) by_value_.erase(v);
    }
    of_key_.erase(it);
  }
  // The keys filed under `value`, in order.
  const std::set<std::string>& Get(const std::string& value) const {
    static const std::set<std::string> kNone;
    const auto it = by_value_.find(value);
    return it == by_value_.end() ? kNone : it->second;
  }

 private:
  std::unordered_map<std::string, std::set<std::string>> by_value_;
  std::unordered_map<std::string, std::vector<std::string>> of_key_;
};

// The index values of a label set in a namespace: "namespace/key=value"
// for each label.
inline std::vector<std::string> LabelIndexValues(const std::string& namespace_name,
                                                 const Labels& labels) {
  std::vector<std::string> values;
  for (const auto& [k, v] : labels)
    values.push_back(namespace_name + "/" + k + "=" + v);
  return values;
}

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_INDEX_H_
