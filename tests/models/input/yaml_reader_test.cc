#include "models/input/yaml_reader.h"

#include <gtest/gtest.h>

namespace platsim::input {
namespace {

std::string Joined(const Diagnostics& d) {
  std::string out;
  for (const auto& x : d.all())
    out += Format(x) + "\n";
  return out;
}

TEST(MapReader, ReadsTypedFieldsAndReportsEveryProblemWithItsLine) {
  Diagnostics diags;
  const auto source = ParseYaml(
      "replicas: three\n"  // line 1: not an integer
      "period: 10\n"       // line 2: duration without unit
      "enabled: yes\n"     // line 3: only true/false
      "name: ok\n"         // line 4: fine
      "extra: 1\n",        // line 5: unknown
      "s.yaml", diags);
  ASSERT_TRUE(source.has_value()) << Joined(diags);
  MapReader m(source->documents[0], diags);
  EXPECT_EQ(m.Int("replicas", 1, 0, 100), 1);
  EXPECT_EQ(m.Duration("period", 5), 5);
  EXPECT_EQ(m.Bool("enabled", false), false);
  EXPECT_EQ(m.String("name", ""), "ok");
  m.Require("missing");
  m.RejectUnknown();
  const std::string all = Joined(diags);
  EXPECT_EQ(diags.error_count(), 5) << all;
  EXPECT_NE(all.find("s.yaml:1:11: replicas: expected an integer, got 'three'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("s.yaml:2:9: period:"), std::string::npos) << all;
  EXPECT_NE(all.find("s.yaml:3:10: enabled: expected true or false"), std::string::npos) << all;
  EXPECT_NE(all.find("missing: required field is missing"), std::string::npos) << all;
  EXPECT_NE(all.find("s.yaml:5:1: extra: unknown field"), std::string::npos) << all;
}

TEST(MapReader, WarnsInsteadOfFailingForManifestFields) {
  Diagnostics diags;
  const auto source = ParseYaml("a: 1\nb: 2\n", "m.yaml", diags);
  MapReader m(source->documents[0], diags);
  m.Get("a");
  m.WarnUnknown("not simulated");
  ASSERT_EQ(diags.all().size(), 1u);
  EXPECT_FALSE(diags.has_errors());
  EXPECT_EQ(Format(diags.all()[0]), "m.yaml:2:1: warning: b: not simulated");
}

TEST(MapReader, RejectsDuplicateKeysAndNonMappings) {
  Diagnostics diags;
  const auto source = ParseYaml("a: 1\na: 2\nlist: [1, 2]\n", "d.yaml", diags);
  MapReader m(source->documents[0], diags);
  MapReader inner(m.Get("list"), diags);
  EXPECT_FALSE(inner.ok());
  const std::string all = Joined(diags);
  EXPECT_NE(all.find("d.yaml:2:1: a: duplicate key"), std::string::npos) << all;
  EXPECT_NE(all.find("d.yaml:3:7: list: expected a mapping, got a list"), std::string::npos) << all;
}

TEST(ParseYaml, ReportsSyntaxErrorsEmptyFilesAndBinaryData) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"a: [1, 2\nb: 3\n", "x.yaml:"},
      {"", "x.yaml:1:1: file is empty"},
      {"# only a comment\n", "x.yaml:1:1: file is empty"},
      {std::string("a: 1\nb: \0\x01\x02", 11), "x.yaml:2:4: binary data"},
      {"a: 1\n\xff\xfe\n", "x.yaml:2:1: binary data"},
  };
  for (const auto& c : cases) {
    Diagnostics diags;
    EXPECT_FALSE(ParseYaml(c.text, "x.yaml", diags).has_value());
    const std::string all = Joined(diags);
    EXPECT_NE(all.find(c.expected), std::string::npos) << "input: " << c.text << "\n" << all;
  }
}

TEST(ParseYaml, SurvivesDeeplyNestedInput) {
  Diagnostics diags;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(ParseYaml(deep, "deep.yaml", diags).has_value());
  EXPECT_TRUE(diags.has_errors());
}

TEST(LoadYamlFile, ReportsAMissingFileByName) {
  Diagnostics diags;
  EXPECT_FALSE(LoadYamlFile("/nonexistent/x.yaml", "x.yaml", diags).has_value());
  EXPECT_NE(Joined(diags).find("x.yaml: cannot open file"), std::string::npos) << Joined(diags);
}

// Required fields of `spec`: inside a missing mapping nothing more is
// reported (the mapping was); inside an empty one each points at it.
TEST(MapReader, RequiredFieldsAreReportedOnceWhereTheyWouldBe) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"kind: x\nother: 1\n", "p.yaml:1:1: spec: required field is missing\n"},
      {"kind: x\nspec:\n",
       "p.yaml:2:6: spec.duration: required field is missing\n"
       "p.yaml:2:6: spec.name: required field is missing\n"},
  };
  for (const auto& c : cases) {
    Diagnostics diags;
    const auto source = ParseYaml(c.text, "p.yaml", diags);
    ASSERT_TRUE(source.has_value()) << c.text;
    MapReader root(source->documents[0], diags);
    MapReader spec(root.Require("spec"), diags);
    spec.RequiredDuration("duration");
    spec.RequiredString("name");
    EXPECT_EQ(Joined(diags), c.expected) << c.text;
  }
}

TEST(Diagnostics, AreAlwaysOneLine) {
  const Diagnostic d{Severity::kError, {"a\nb.yaml", 3, 4}, "x\ty", "got 'p\nq\x01'"};
  EXPECT_EQ(Format(d), "a\\nb.yaml:3:4: x\\ty: got 'p\\nq\\x01'");
}

TEST(ParseYaml, SharesAliasedNodesAndBoundsTheirExpansion) {
  Diagnostics diags;
  const auto ok = ParseYaml("a: &x {k: v}\nb: *x\n", "a.yaml", diags);
  ASSERT_TRUE(ok.has_value()) << Joined(diags);
  MapReader m(ok->documents[0], diags);
  MapReader b(m.Get("b"), diags);
  EXPECT_EQ(b.String("k", ""), "v");
  EXPECT_EQ(b.node().path(), "b");
  // 10^7 nodes once expanded, from a few hundred bytes.
  std::string bomb = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 7; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    bomb += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k)
      bomb += (k ? ", " : "") + prev;
    bomb += "]\n";
  }
  Diagnostics bad;
  EXPECT_FALSE(ParseYaml(bomb, "b.yaml", bad).has_value());
  EXPECT_NE(Joined(bad).find("b.yaml:7:"), std::string::npos) << Joined(bad);
}

// The limit holds inside a collection that is still open, before it ends:
// a flat list past the limit is refused at the element that passes it.
TEST(ParseYaml, ALongFlatListIsRefusedWhereItPassesTheLimit) {
  std::string text = "a: [";
  for (std::int64_t i = 0; i < kMaxYamlExpandedNodes + 10; ++i)
    text += "0,";
  text += "0]\n";
  Diagnostics diags;
  EXPECT_FALSE(ParseYaml(text, "flat.yaml", diags).has_value());
  const std::string all = Joined(diags);
  // Element k (0-based) starts at column 5 + 2k; the root mapping, "a" and
  // the list are nodes 1 to 3, so element 3,999,997 is node 4,000,001.
  EXPECT_NE(all.find("flat.yaml:1:" + std::to_string(5 + 2 * 3'999'997) + ": more than"),
            std::string::npos)
      << all;
}

TEST(ParseYaml, ReadsNullsAsYamlDoesAndQuotedNullsAsStrings) {
  Diagnostics diags;
  const auto s = ParseYaml("a: ~\nb: null\nc:\nd: 'null'\ne: \"\"\n", "n.yaml", diags);
  ASSERT_TRUE(s.has_value());
  MapReader m(s->documents[0], diags);
  EXPECT_TRUE(m.Get("a").IsNull());
  EXPECT_TRUE(m.Get("b").IsNull());
  EXPECT_TRUE(m.Get("c").IsNull());
  EXPECT_EQ(m.String("d", "?"), "null");
  EXPECT_EQ(m.String("e", "?"), "");
}

// Compact JSON-like text of a node, keys in order, scalars bare.
std::string Render(const Node& n) {
  if (!n.present()) return "<absent>";
  if (n.IsNull()) return "null";
  if (n.IsScalar()) return n.scalar();
  std::string out;
  if (n.IsSequence()) {
    for (const Node& e : n.Elements())
      out += (out.empty() ? "" : ",") + Render(e);
    return "[" + out + "]";
  }
  for (const auto& [k, v] : n.Entries())
    out += (out.empty() ? "" : ",") + k.scalar() + ":" + Render(v);
  return "{" + out + "}";
}

// Every example of RFC 7386 (JSON Merge Patch), Appendix A, as target,
// patch and result; JSON is YAML, so each reads as written there.
TEST(MergePatch, GivesEveryResultOfTheRfcsExamples) {
  const struct {
    const char* target;
    const char* patch;
    const char* result;
  } cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"},
      {R"({"a":"b"})", R"(["c"])", R"(["c"])"},
      {R"({"a":"foo"})", R"(null)", R"(null)"},
      {R"({"a":"foo"})", R"("bar")", R"("bar")"},
      {R"({"e":null})", R"({"a":1})", R"({"e":null,"a":1})"},
      {R"([1,2])", R"({"a":"b","c":null})", R"({"a":"b"})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const auto& c : cases) {
    Diagnostics diags;
    const std::string text =
        std::string("{t: ") + c.target + ", p: " + c.patch + ", r: " + c.result + "}";
    const auto source = ParseYaml(text, "rfc.yaml", diags);
    ASSERT_TRUE(source.has_value()) << text << Joined(diags);
    MapReader m(source->documents[0], diags);
    const Node merged = MergePatch(m.Get("t"), m.Get("p"), diags);
    EXPECT_EQ(Render(merged), Render(m.Get("r"))) << text;
    EXPECT_FALSE(diags.has_errors()) << Joined(diags);
  }
}

// Merged values keep where they were written, the result the target's
// path; an absent patch is no change.
TEST(MergePatch, KeepsEachValuesLineAndReportsDuplicateKeysOfThePatch) {
  Diagnostics diags;
  const auto source = ParseYaml(
      "spec:\n"
      "  a: 1\n"
      "  b: {c: 2, d: 3}\n"
      "patch:\n"
      "  b: {d: 4}\n"
      "  e: 5\n"
      "  e: 6\n",
      "m.yaml", diags);
  ASSERT_TRUE(source.has_value()) << Joined(diags);
  MapReader root(source->documents[0], diags);
  const Node spec = root.Get("spec");
  const Node merged = MergePatch(spec, root.Get("patch"), diags);
  EXPECT_EQ(Render(merged), "{a:1,b:{c:2,d:4},e:5}");
  MapReader m(merged, diags);
  MapReader b(m.Get("b"), diags);
  EXPECT_EQ(m.Get("a").location().line, 2);
  EXPECT_EQ(b.Get("c").location().line, 3);
  const Node d = b.Get("d");
  EXPECT_EQ(d.location().line, 5);
  EXPECT_EQ(d.location().file, "m.yaml");
  EXPECT_EQ(d.path(), "spec.b.d");
  EXPECT_EQ(Joined(diags), "m.yaml:7:3: spec.e: duplicate key\n");
  EXPECT_EQ(Render(MergePatch(spec, Node(), diags)), Render(spec));
}

// Override replaces each key's value whole: a nested mapping is not merged.
TEST(MergePatch, OverrideReplacesEachKeysValueWhole) {
  Diagnostics diags;
  const auto source = ParseYaml(
      "t: {a: 1, s: {kind: constant, value: 10ms}}\n"
      "p: {s: {kind: lognormal, mean: 20ms}, b: 2, a: null}\n",
      "o.yaml", diags);
  ASSERT_TRUE(source.has_value()) << Joined(diags);
  MapReader m(source->documents[0], diags);
  EXPECT_EQ(Render(Override(m.Get("t"), m.Get("p"), diags)), "{s:{kind:lognormal,mean:20ms},b:2}");
  EXPECT_EQ(Render(MergePatch(m.Get("t"), m.Get("p"), diags)),
            "{s:{kind:lognormal,value:10ms,mean:20ms},b:2}");
  EXPECT_FALSE(diags.has_errors()) << Joined(diags);
}

}  // namespace
}  // namespace platsim::input
