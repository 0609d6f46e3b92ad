// The condition language against expr-lang/expr v1.17's semantics as Argo
// Rollouts runs it (utils/evaluate/evaluate.go): each expected outcome or
// message is what expr's parser, checker and vm (parser/parser.go,
// checker/checker.go, vm/runtime/runtime.go Fetch) and Argo's wrapper give
// for that input, read from their source.
#include "platform/analysis/condition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <variant>
#include <vector>

namespace platsim::platform::analysis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using List = std::vector<double>;

// true / false, or the error message.
using Outcome = std::variant<bool, std::string>;

std::string Show(const Outcome& o) {
  if (const bool* b = std::get_if<bool>(&o)) return *b ? "true" : "false";
  return "error: " + std::get<std::string>(o);
}

std::string Show(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) return std::to_string(*d);
  std::string s = "[";
  for (double d : std::get<List>(v))
    s += std::to_string(d) + " ";
  return s + "]";
}

Outcome Eval(std::string_view text, const Value& result) {
  std::string error;
  const std::optional<Condition> c = ParseCondition(text, &error);
  if (!c) return "parse: " + error;
  return Evaluate(*c, result);
}

struct Case {
  const char* condition;
  Value result;
  Outcome want;
};

void RunTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const Outcome got = Eval(c.condition, c.result);
    EXPECT_EQ(got, c.want) << c.condition << " with result " << Show(c.result) << "\n  got  "
                           << Show(got) << "\n  want " << Show(c.want);
  }
}

TEST(Condition, TypicalAnalysisConditions) {
  RunTable({
      {"result[0] >= 0.95", List{0.97}, true},
      {"result[0] >= 0.95", List{0.9}, false},
      {"result[0] >= 0.95", 0.97, "type float64[int] is undefined"},
      {"result >= 0.95", 0.97, true},
      {"result < 0.05", 0.01, true},
      {"result <= 0.05", 0.05, true},
      {"result[0] < 0.05 && result[1] < 0.05", List{0.01, 0.2}, false},
      {"result[0] < 0.05 || result[1] < 0.05", List{0.01, 0.2}, true},
      {"len(result) == 0", List{}, true},
      {"len(result) > 0 && result[0] > 0.9", List{0.95}, true},
      {"result == 1", 1.0, true},
      {"result != 1", 1.0, false},
      {"result == result", List{1, 2}, true},
      {"true", 0.0, true},
      {"false", 0.0, false},
  });
}

TEST(Condition, IndexOutOfRangeIsAnErrorAndNegativeIndexesCountFromTheEnd) {
  RunTable({
      // Argo's prometheus provider passes an empty vector as an empty list.
      {"result[0] >= 0.95", List{}, "index out of range: 0 (array length is 0)"},
      {"result[2] < 1", List{0.01, 0.2}, "index out of range: 2 (array length is 2)"},
      {"result[-1] > 0.1", List{0.01, 0.2}, true},
      {"result[-2] > 0.1", List{0.01, 0.2}, false},
      // Fetch adds the length before it reports: -3 + 2.
      {"result[-3] > 0", List{0.01, 0.2}, "index out of range: -1 (array length is 2)"},
      {"result[len(result) - 1] == 0.2", List{0.01, 0.2}, true},
      {"result[0.5] > 1", List{1},
       "array elements can only be selected using an integer (got "
       "float64)"},
      {"result[1 / 1] > 1", List{1},
       "array elements can only be selected using an integer (got "
       "float64)"},
      // && and || short-circuit: no index is taken on no data.
      {"len(result) > 0 && result[0] > 0.9", List{}, false},
      {"len(result) == 0 || result[0] > 0.9", List{}, true},
  });
}

TEST(Condition, TypeErrorsAreExprsCompileErrors) {
  RunTable({
      // A vector result compared with a number: expr.Compile rejects it.
      {"result < 0.05", List{0.01},
       "invalid operation: < (mismatched types []float64 and float64)"},
      {"result < 5", List{0.01}, "invalid operation: < (mismatched types []float64 and int)"},
      {"result == 0.5", List{0.5},
       "invalid operation: == (mismatched types []float64 and float64)"},
      {"result + 1 > 0", List{1}, "invalid operation: + (mismatched types []float64 and int)"},
      {"result && true", 1.0, "invalid operation: && (mismatched types float64 and bool)"},
      {"!result", 1.0, "invalid operation: ! (mismatched type float64)"},
      {"-result > 0", List{1}, "invalid operation: - (mismatched type []float64)"},
      {"len(result) > 0", 1.0, "invalid argument for len (type float64)"},
      {"isNaN(result)", List{1}, "cannot use []float64 as argument (type float64) to call isNaN "},
      {"all(result, {# < 1})", 0.5, "builtin all takes only array (got float64)"},
      {"all(result, {#})", List{1}, "predicate should return boolean (got float64)"},
      // The checker runs before anything is evaluated: a type error wins
      // over an index that would be out of range.
      {"result[5] > 0 && result < 1", List{},
       "invalid operation: < (mismatched types []float64 "
       "and int)"},
  });
}

TEST(Condition, ResultMustBeBoolean) {
  RunTable({
      {"result", 0.5, "expected bool, but got float64"},
      {"result", List{0.5}, "expected bool, but got []float64"},
      {"len(result)", List{0.5}, "expected bool, but got int"},
      {"result[0] * 2", List{0.5}, "expected bool, but got float64"},
      {"1 + 1", 0.0, "expected bool, but got int"},
  });
}

TEST(Condition, NanComparesFalseAndInfIsDetected) {
  RunTable({
      {"result > 0.5", kNaN, false},
      {"result < 0.5", kNaN, false},
      {"result >= 0.95", kNaN, false},
      {"result == result", kNaN, false},
      {"result != result", kNaN, true},
      {"result[0] < 0.05", List{kNaN}, false},
      {"!(result >= 0.95)", kNaN, true},
      {"isNaN(result)", kNaN, true},
      {"isNaN(result[0])", List{kNaN}, true},
      {"isNaN(result)", 1.0, false},
      {"isNaN(1)", 0.0, false},
      {"isInf(result)", kInf, true},
      {"isInf(result)", -kInf, true},
      {"isInf(result)", 1e308, false},
      {"isNaN(result) || result < 0.05", kNaN, true},
      {"1 / 0 > 1e308", 0.0, true},  // float division by zero is +Inf
  });
}

TEST(Condition, PrecedenceFollowsExpr) {
  RunTable({
      {"1 + 2 * 3 == 7", 0.0, true},
      {"(1 + 2) * 3 == 9", 0.0, true},
      {"10 - 4 - 3 == 3", 0.0, true},
      {"8 / 2 / 2 == 2", 0.0, true},
      {"7 / 2 == 3.5", 0.0, true},  // `/` is always a float division
      {"7 % 4 == 3", 0.0, true},
      {"-7 % 4 == -3", 0.0, true},  // Go's truncated remainder
      {"- 2 * 3 == -6", 0.0, true},
      {"-result < 0", 1.0, true},
      {"true || false && false", 0.0, true},  // && binds tighter
      {"(true || false) && false", 0.0, false},
      {"true or false and false", 0.0, true},
      {"!false && false", 0.0, false},  // (!false) && false
      {"not true or true", 0.0, true},  // (not true) or true
      {"!(1 > 2)", 0.0, true},
      {"1 < 2 == true", 0.0, true},  // (1 < 2) == true
      {"1 + 1 < 3", 0.0, true},
      {"0 < result < 1", 0.5, true},  // 0 < result && result < 1
      {"0 < result < 1", 1.5, false},
      {"0 < result <= 1", 1.0, true},
      {"1_000 == 1000 && 0x10 == 16 && .5 == 0.5 && 1e3 == 1000", 0.0, true},
  });
}

TEST(Condition, PredicatesOverTheResult) {
  RunTable({
      {"all(result, {# < 0.5})", List{0.01, 0.2}, true},
      {"all(result, {# < 0.5})", List{0.01, 0.9}, false},
      {"all(result, # < 0.5)", List{}, true},
      {"any(result, # > 0.5)", List{0.01, 0.9}, true},
      {"any(result, # > 0.5)", List{}, false},
      {"none(result, {# > 0.5})", List{0.01, 0.2}, true},
      {"one(result, # > 0.1)", List{0.01, 0.2}, true},
      {"one(result, # > 0.001)", List{0.01, 0.2}, false},
      {"all(result, {isNaN(#) || # < 0.05})", List{kNaN, 0.01}, true},
  });
}

TEST(Condition, ParseErrorsNameTheColumn) {
  struct ParseCase {
    const char* text;
    const char* error;
  };
  const ParseCase cases[] = {
      {"result[0] >= ", "column 14: unexpected end of input"},
      {"result[0 >= 0.95", "column 17: unexpected end of input (expected ']')"},
      {"(result[0] > 1", "column 15: unexpected end of input (expected ')')"},
      {"result >= 0.95)", "column 15: unexpected token ')'"},
      {"foo > 1", "column 1: unknown name foo"},
      {"result = 1", "column 8: unrecognized character '='"},
      {"result & 1", "column 8: unrecognized character '&'"},
      {"1x > 0", "column 1: bad number syntax: \"1x\""},
      {"# > 1", "column 1: unexpected token '#'"},
      {"result[0] >= 0.95 and", "column 22: unexpected end of input"},
      {"", "column 1: unexpected end of input"},
      // Type errors that no result could avoid are found when parsing.
      {"1 && true", "column 3: invalid operation: && (mismatched types int and bool)"},
      {"result > 0 and 2", "column 12: invalid operation: and (mismatched types bool and int)"},
      {"len(1) > 0", "column 1: invalid argument for len (type int)"},
      // `!` takes a multiplication as its operand: !(1 * true), not (!1) * true.
      {"!1 * true", "column 4: invalid operation: * (mismatched types int and bool)"},
      {"isNaN(1, 2)", "column 1: too many arguments to call isNaN"},
      {"isInf()", "column 1: not enough arguments to call isInf"},
      {"result < true", "column 8: invalid operation: < (mismatched types interface {} and bool)"},
      {"all(1, {# > 0})", "column 5: builtin all takes only array (got int)"},
      {"x[0]\n  > 1", "column 1: unknown name x"},
      {"result\n  > > 1", "line 2, column 5: unexpected token '>'"},
  };
  for (const ParseCase& c : cases) {
    std::string error;
    EXPECT_FALSE(ParseCondition(c.text, &error)) << c.text;
    EXPECT_EQ(error, c.error) << c.text;
  }
}

TEST(Condition, NestingIsLimitedTo200Levels) {
  std::string sum = "1";
  for (int i = 0; i < 100; ++i)
    sum += " + 1";
  EXPECT_EQ(Eval(sum + " == 101", 0.0), Outcome(true));
  for (int i = 0; i < 200; ++i)
    sum += " + 1";
  for (const std::string& text : {sum + " > 0", std::string(300, '!') + "true",
                                  std::string(300, '(') + "true" + std::string(300, ')')}) {
    std::string error;
    EXPECT_FALSE(ParseCondition(text, &error));
    EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  }
}

TEST(Condition, KeepsItsText) {
  std::string error;
  const std::optional<Condition> c = ParseCondition("result[0] >= 0.95", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->text(), "result[0] >= 0.95");
  const Condition copy = *c;
  EXPECT_EQ(Evaluate(copy, List{1.0}), Outcome(true));
}

// --- EvaluateResult --------------------------------------------------------

Condition Parse(std::string_view text) {
  std::string error;
  std::optional<Condition> c = ParseCondition(text, &error);
  EXPECT_TRUE(c) << text << ": " << error;
  return c ? *c : *ParseCondition("false", nullptr);
}

TEST(AssessMeasurement, SuccessConditionAlone) {
  const Condition success = Parse("result[0] >= 0.95");
  EXPECT_EQ(AssessMeasurement(&success, nullptr, List{0.97}).phase, MeasurementPhase::kSuccessful);
  EXPECT_EQ(AssessMeasurement(&success, nullptr, List{0.5}).phase, MeasurementPhase::kFailed);
  const Assessment empty = AssessMeasurement(&success, nullptr, List{});
  EXPECT_EQ(empty.phase, MeasurementPhase::kError);
  EXPECT_EQ(empty.message,
            "could not evaluate successCondition \"result[0] >= 0.95\": metric result is nil or "
            "empty: no data returned from the metric provider");
}

TEST(AssessMeasurement, FailureConditionAlone) {
  const Condition failure = Parse("result[0] > 0.05");
  EXPECT_EQ(AssessMeasurement(nullptr, &failure, List{0.01}).phase, MeasurementPhase::kSuccessful);
  EXPECT_EQ(AssessMeasurement(nullptr, &failure, List{0.1}).phase, MeasurementPhase::kFailed);
  const Condition typed = Parse("result < 0.05");
  const Assessment e = AssessMeasurement(nullptr, &typed, List{0.01});
  EXPECT_EQ(e.phase, MeasurementPhase::kError);
  EXPECT_EQ(e.message,
            "could not evaluate failureCondition \"result < 0.05\": invalid operation: < "
            "(mismatched types []float64 and float64)");
}

TEST(AssessMeasurement, BothConditionsCanBeInconclusive) {
  const Condition success = Parse("result[0] < 0.01");
  const Condition failure = Parse("result[0] > 0.05");
  EXPECT_EQ(AssessMeasurement(&success, &failure, List{0.001}).phase,
            MeasurementPhase::kSuccessful);
  EXPECT_EQ(AssessMeasurement(&success, &failure, List{0.1}).phase, MeasurementPhase::kFailed);
  EXPECT_EQ(AssessMeasurement(&success, &failure, List{0.03}).phase,
            MeasurementPhase::kInconclusive);
  EXPECT_EQ(AssessMeasurement(nullptr, nullptr, List{}).phase, MeasurementPhase::kSuccessful);
}

}  // namespace
}  // namespace platsim::platform::analysis
