#include "platform/placement.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

namespace platsim::platform {
std::optional<std::int64_t> ParseGoInt64(const std::string& s) {
  const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  const char* last = s.data() + s.size();
  if (begin != s.data() && begin != last && *begin == '-') return std::nullopt;  // "+-1"
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(begin, last, v);
  if (ec != std::errc() || end != last || begin == last) return std::nullopt;
  return v;
}

namespace {

// labels.Requirement.Matches.
bool Matches(const NodeSelectorRequirement& r, const Labels& labels) {
  using Op = NodeSelectorRequirement::Operator;
  const auto it = labels.find(r.key);
  const bool has = it != labels.end();
  switch (r.op) {
    case Op::kIn:
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    case Op::kNotIn:
      return !has || std::find(r.values.begin(), r.values.end(), it->second) == r.values.end();
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
    case Op::kGt:
    case Op::kLt: {
      if (!has || r.values.size() != 1) return false;
      const auto label = ParseGoInt64(it->second);
      const auto bound = ParseGoInt64(r.values[0]);
      if (!label || !bound) return false;
      return r.op == Op::kGt ? *label > *bound : *label < *bound;
    }
  }
  return false;
}

// An empty term matches nothing (nodeaffinity isEmptyNodeSelectorTerm).
bool Matches(const NodeSelectorTerm& term, const Labels& labels) {
  if (term.match_expressions.empty()) return false;
  return std::all_of(term.match_expressions.begin(), term.match_expressions.end(),
                     [&](const NodeSelectorRequirement& r) { return Matches(r, labels); });
}

}  // namespace

bool MatchesRequiredNodeAffinity(const Placement& placement, const Labels& labels) {
  for (const auto& [key, value] : placement.node_selector) {
    const auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  if (!placement.has_required_terms) return true;
  return std::any_of(placement.required_terms.begin(), placement.required_terms.end(),
                     [&](const NodeSelectorTerm& t) { return Matches(t, labels); });
}

std::int64_t PreferredNodeAffinityScore(const Placement& placement, const Labels& labels) {
  std::int64_t score = 0;
  for (const auto& t : placement.preferred) {
    if (t.weight != 0 && Matches(t.preference, labels)) score += t.weight;
  }
  return score;
}

bool ToleratesTaint(const Toleration& toleration, const Taint& taint) {
  if (!toleration.any_effect && toleration.effect != taint.effect) return false;
  if (!toleration.key.empty() && toleration.key != taint.key) return false;
  return toleration.exists || toleration.value == taint.value;
}

const Taint* FirstUntoleratedTaint(std::span<const Taint> taints,
                                   std::span<const Toleration> tolerations) {
  for (const Taint& taint : taints) {
    if (taint.effect == TaintEffect::kPreferNoSchedule) continue;
    if (std::none_of(tolerations.begin(), tolerations.end(),
                     [&](const Toleration& t) { return ToleratesTaint(t, taint); })) {
      return &taint;
    }
  }
  return nullptr;
}

std::int64_t IntolerablePreferNoScheduleTaints(std::span<const Taint> taints,
                                               std::span<const Toleration> tolerations) {
  std::int64_t count = 0;
  for (const Taint& taint : taints) {
    if (taint.effect != TaintEffect::kPreferNoSchedule) continue;
    const bool tolerated = std::any_of(tolerations.begin(), tolerations.end(), [&](const auto& t) {
      return (t.any_effect || t.effect == TaintEffect::kPreferNoSchedule) &&
             ToleratesTaint(t, taint);
    });
    if (!tolerated) ++count;
  }
  return count;
}

void DefaultNormalizeScore(std::int64_t max_priority, bool reverse,
                           std::vector<std::int64_t>& scores) {
  std::int64_t max_count = 0;
  for (const std::int64_t s : scores)
    max_count = std::max(max_count, s);
  if (max_count == 0) {
    if (reverse) std::fill(scores.begin(), scores.end(), max_priority);
    return;
  }
  for (std::int64_t& s : scores) {
    s = max_priority * s / max_count;
    if (reverse) s = max_priority - s;
  }
}

}  // namespace platsim::platform
