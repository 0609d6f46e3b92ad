#include "platform/placement.h"

#include <gtest/gtest.h>

#include <optional>

namespace platsim::platform {
namespace {

using Op = NodeSelectorRequirement::Operator;

NodeSelectorTerm Term(std::vector<NodeSelectorRequirement> expressions) {
  return NodeSelectorTerm{std::move(expressions)};
}

// Each case: one requirement against a node's labels
// (apimachinery labels.Requirement.Matches).
TEST(NodeAffinity, OperatorsMatchAsUpstreamRequirementsDo) {
  struct Case {
    NodeSelectorRequirement requirement;
    Labels labels;
    bool matches;
  };
  const Case cases[] = {
      {{"zone", Op::kIn, {"a", "b"}}, {{"zone", "b"}}, true},
      {{"zone", Op::kIn, {"a", "b"}}, {{"zone", "c"}}, false},
      {{"zone", Op::kIn, {"a"}}, {}, false},
      {{"zone", Op::kNotIn, {"a"}}, {{"zone", "b"}}, true},
      {{"zone", Op::kNotIn, {"a"}}, {{"zone", "a"}}, false},
      {{"zone", Op::kNotIn, {"a"}}, {}, true},  // an absent label is not in the set
      {{"gpu", Op::kExists, {}}, {{"gpu", ""}}, true},
      {{"gpu", Op::kExists, {}}, {}, false},
      {{"gpu", Op::kDoesNotExist, {}}, {}, true},
      {{"gpu", Op::kDoesNotExist, {}}, {{"gpu", "x"}}, false},
      {{"mem", Op::kGt, {"0204"}}, {{"mem", "0206"}}, true},  // upstream's "0206 Gt 0204"
      {{"mem", Op::kGt, {"10"}}, {{"mem", "10"}}, false},     // strict
      {{"mem", Op::kLt, {"10"}}, {{"mem", "-3"}}, true},
      {{"mem", Op::kGt, {"+5"}}, {{"mem", "+6"}}, true},  // ParseInt takes a sign
      {{"mem", Op::kGt, {"1"}}, {{"mem", "+-6"}}, false},
      {{"mem", Op::kGt, {"1"}}, {{"mem", "lots"}}, false},  // an unparsable label fails
      {{"mem", Op::kLt, {"1"}}, {}, false},
  };
  for (const auto& c : cases) {
    Placement p;
    p.has_required_terms = true;
    p.required_terms = {Term({c.requirement})};
    EXPECT_EQ(MatchesRequiredNodeAffinity(p, c.labels), c.matches)
        << c.requirement.key << " op " << static_cast<int>(c.requirement.op);
  }
}

TEST(NodeAffinity, SelectorAndTermsAreAndedTermsOredEmptyTermsMatchNothing) {
  Placement p;
  p.node_selector = {{"pool", "gpu"}};
  p.has_required_terms = true;
  p.required_terms = {Term({{"zone", Op::kIn, {"a"}}}), Term({{"zone", Op::kIn, {"b"}}})};
  EXPECT_TRUE(MatchesRequiredNodeAffinity(p, {{"pool", "gpu"}, {"zone", "b"}}));
  EXPECT_FALSE(MatchesRequiredNodeAffinity(p, {{"pool", "cpu"}, {"zone", "b"}}));
  EXPECT_FALSE(MatchesRequiredNodeAffinity(p, {{"pool", "gpu"}, {"zone", "c"}}));
  // node_affinity_test.go: "Pod with empty MatchExpressions is not a valid
  // value will match no objects and won't schedule onto the node".
  Placement empty;
  empty.has_required_terms = true;
  empty.required_terms = {Term({})};
  EXPECT_FALSE(MatchesRequiredNodeAffinity(empty, {{"foo", "bar"}}));
  EXPECT_TRUE(MatchesRequiredNodeAffinity(Placement{}, {}));  // no constraint at all
}

// node_affinity_test.go TestNodeAffinityPriority, "all nodes matches the
// preferred scheduling requirements of pod but with different priorities":
// raw 2, 11, 4 normalize to 18, 100, 36.
TEST(NodeAffinity, PreferredTermsScoreAsTheUpstreamTable) {
  Placement p;
  p.preferred = {
      {2, Term({{"foo", Op::kIn, {"bar"}}})},
      {4, Term({{"key", Op::kIn, {"value"}}})},
      {5,
       Term({{"foo", Op::kIn, {"bar"}}, {"key", Op::kIn, {"value"}}, {"az", Op::kIn, {"az1"}}})}};
  std::vector<std::int64_t> scores = {
      PreferredNodeAffinityScore(p, {{"foo", "bar"}}),
      PreferredNodeAffinityScore(p, {{"foo", "bar"}, {"key", "value"}, {"az", "az1"}}),
      PreferredNodeAffinityScore(p, {{"key", "value"}})};
  EXPECT_EQ(scores, (std::vector<std::int64_t>{2, 11, 4}));
  DefaultNormalizeScore(100, false, scores);
  EXPECT_EQ(scores, (std::vector<std::int64_t>{18, 100, 36}));
}

Taint MakeTaint(std::string key, std::string value, TaintEffect effect) {
  return Taint{std::move(key), std::move(value), effect};
}

Toleration Equal(std::string key, std::string value, std::optional<TaintEffect> effect) {
  Toleration t;
  t.key = std::move(key);
  t.value = std::move(value);
  t.any_effect = !effect.has_value();
  t.effect = effect.value_or(TaintEffect::kNoSchedule);
  return t;
}

TEST(TaintToleration, TolerationsMatchAsCoreV1ToleratesTaint) {
  const Taint t = MakeTaint("gpu", "true", TaintEffect::kNoSchedule);
  EXPECT_TRUE(ToleratesTaint(Equal("gpu", "true", TaintEffect::kNoSchedule), t));
  EXPECT_TRUE(ToleratesTaint(Equal("gpu", "true", std::nullopt), t)) << "no effect: every effect";
  EXPECT_FALSE(ToleratesTaint(Equal("gpu", "false", std::nullopt), t));
  EXPECT_FALSE(ToleratesTaint(Equal("gpu", "true", TaintEffect::kNoExecute), t));
  Toleration exists;
  exists.key = "gpu";
  exists.exists = true;
  EXPECT_TRUE(ToleratesTaint(exists, t));
  Toleration everything;
  everything.exists = true;  // empty key, Exists: tolerates every taint
  EXPECT_TRUE(ToleratesTaint(everything, MakeTaint("any", "x", TaintEffect::kNoExecute)));
}

// taint_toleration_test.go TestTaintTolerationFilter, "A pod having no
// tolerations can't be scheduled onto a node with nonempty taints"; and
// PreferNoSchedule taints never filter.
TEST(TaintToleration, TheFirstUntoleratedHardTaintFilters) {
  const std::vector<Taint> taints = {MakeTaint("soft", "x", TaintEffect::kPreferNoSchedule),
                                     MakeTaint("dedicated", "user1", TaintEffect::kNoSchedule),
                                     MakeTaint("evict", "", TaintEffect::kNoExecute)};
  const Taint* t = FirstUntoleratedTaint(taints, {});
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->key, "dedicated");
  const std::vector<Toleration> one = {Equal("dedicated", "user1", std::nullopt)};
  t = FirstUntoleratedTaint(taints, one);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->key, "evict");
  EXPECT_EQ(FirstUntoleratedTaint(std::vector<Taint>{taints[0]}, {}), nullptr);
}

// taint_toleration_test.go TestTaintTolerationScore, "the more intolerable
// taints a node has, the lower score it gets.": 0, 1, 2 -> 100, 50, 0.
TEST(TaintToleration, IntolerablePreferNoScheduleTaintsScoreAsTheUpstreamTable) {
  const std::vector<Toleration> tolerations = {Equal("foo", "bar", TaintEffect::kPreferNoSchedule)};
  const std::vector<Taint> b = {MakeTaint("cpu-type", "arm64", TaintEffect::kPreferNoSchedule)};
  const std::vector<Taint> c = {MakeTaint("cpu-type", "arm64", TaintEffect::kPreferNoSchedule),
                                MakeTaint("disk-type", "ssd", TaintEffect::kPreferNoSchedule)};
  std::vector<std::int64_t> scores = {IntolerablePreferNoScheduleTaints({}, tolerations),
                                      IntolerablePreferNoScheduleTaints(b, tolerations),
                                      IntolerablePreferNoScheduleTaints(c, tolerations)};
  EXPECT_EQ(scores, (std::vector<std::int64_t>{0, 1, 2}));
  DefaultNormalizeScore(100, true, scores);
  EXPECT_EQ(scores, (std::vector<std::int64_t>{100, 50, 0}));
  // A NoSchedule toleration does not count for PreferNoSchedule scoring.
  const std::vector<Toleration> hard = {Equal("cpu-type", "arm64", TaintEffect::kNoSchedule)};
  EXPECT_EQ(IntolerablePreferNoScheduleTaints(b, hard), 1);
}

TEST(DefaultNormalizeScore, AllZeroStaysZeroOrBecomesMaxWhenReversed) {
  std::vector<std::int64_t> a = {0, 0};
  DefaultNormalizeScore(100, false, a);
  EXPECT_EQ(a, (std::vector<std::int64_t>{0, 0}));
  DefaultNormalizeScore(100, true, a);
  EXPECT_EQ(a, (std::vector<std::int64_t>{100, 100}));
}

}  // namespace
}  // namespace platsim::platform
