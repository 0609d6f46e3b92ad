// Where a pod may run and where it prefers to: the scheduler's node
// affinity (nodeSelector, required and preferred node affinity) and taint
// toleration rules, as upstream Kubernetes evaluates them. Pure functions of
// a pod's Placement and a node's labels and taints; the scheduler calls them.
//
// Sources (kubernetes v1.31):
// - k8s.io/component-helpers scheduling/corev1/nodeaffinity/nodeaffinity.go
//   (GetRequiredNodeAffinity, RequiredNodeAffinity.Match,
//   LazyErrorNodeSelector.Match, PreferredSchedulingTerms.Score) and
//   k8s.io/apimachinery pkg/labels/selector.go (Requirement.Matches);
// - k8s.io/api core/v1 toleration.go (Toleration.ToleratesTaint) and
//   pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go
//   (Filter, countIntolerableTaintsPreferNoSchedule);
// - pkg/scheduler/framework/plugins/helper/normalize_score.go
//   (DefaultNormalizeScore).
#ifndef PLATSIM_PLATFORM_PLACEMENT_H_
#define PLATSIM_PLATFORM_PLACEMENT_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "platform/objects.h"

namespace platsim::platform {

// True if a node with `labels` satisfies the pod's nodeSelector AND its
// required node affinity (any term; within a term every requirement). A
// term with no requirements matches nothing; NotIn and DoesNotExist hold
// for an absent label; Gt and Lt compare base-10 int64 values strictly and
// fail for a label that does not parse.
bool MatchesRequiredNodeAffinity(const Placement& placement, const Labels& labels);

// A Gt/Lt operand or label value read as strconv.ParseInt(s, 10, 64) does:
// an optional sign, then decimal digits; nullopt otherwise.
std::optional<std::int64_t> ParseGoInt64(const std::string& s);

// The sum of the weights of the preferred terms a node with `labels`
// matches (NodeAffinity's raw score).
std::int64_t PreferredNodeAffinityScore(const Placement& placement, const Labels& labels);

// True if `toleration` tolerates `taint`: the effect matches (or the
// toleration names none), the key matches (or is empty), and the values are
// equal unless the operator is Exists.
bool ToleratesTaint(const Toleration& toleration, const Taint& taint);

// The first NoSchedule or NoExecute taint, in the node's order, that no
// toleration tolerates; null if none (TaintToleration's Filter).
const Taint* FirstUntoleratedTaint(std::span<const Taint> taints,
                                   std::span<const Toleration> tolerations);

// PreferNoSchedule taints that no toleration with an empty or
// PreferNoSchedule effect tolerates (TaintToleration's raw score).
std::int64_t IntolerablePreferNoScheduleTaints(std::span<const Taint> taints,
                                               std::span<const Toleration> tolerations);

// Scales `scores` to 0..max_priority by the largest, in integer arithmetic;
// `reverse` gives max_priority - score. All zero: zeros, or max_priority
// each when reversed.
void DefaultNormalizeScore(std::int64_t max_priority, bool reverse,
                           std::vector<std::int64_t>& scores);

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_PLACEMENT_H_
