// The condition language of Argo Rollouts' analysis: the subset of
// expr-lang/expr (v1.17, what Argo Rollouts vendors) that successCondition
// and failureCondition use, evaluated with the variable `result` bound to
// what the metric provider returned. Argo's own wrapper is
// utils/evaluate/evaluate.go (EvalCondition, EvaluateResult); this file
// mirrors it, including its error messages, so that a simulated analysis
// fails, errs and passes where the real one would.
//
// Grammar (expr's parser/parser.go, precedence from parser/operator):
//
//   expr  := expr binop expr | unop expr | '(' expr ')' | primary postfix*
//   binop := 'or' '||'  <  'and' '&&'  <  '==' '!=' '<' '<=' '>' '>='
//            <  '+' '-'  <  '*' '/' '%'             (all left-associative)
//   unop  := 'not' '!' (binding tighter than + -, looser than * /:
//            `!a * b` is `!(a * b)`, `!a == b` is `(!a) == b`)
//          | '-' '+' (binding tighter than every binary operator)
//   primary := number | 'true' | 'false' | 'result'
//            | 'len' '(' expr ')' | 'isNaN' '(' expr ')' | 'isInf' '(' expr ')'
//            | ('all' | 'any' | 'none' | 'one') '(' expr ',' predicate ')'
//            | '#' (the element, inside a predicate)
//   predicate := '{' expr '}' | expr
//   postfix := '[' expr ']'   (negative indexes count from the end)
//   number  := 12, 1_000, 0x1f, 0.95, .5, 1e-3 (integers without '.' or 'e')
//
// Chained comparisons read as in expr: `0 < result < 1` is
// `0 < result && result < 1`. `&&` and `||` short-circuit, so
// `len(result) > 0 && result[0] > 1` is false, not an error, on no data.
//
// Types are checked before evaluation, as expr.Compile does with Argo's
// environment: `result` is a float64 or a []float64 (a vector, as Argo's
// prometheus provider passes it), integers and floats mix freely, `/` always
// gives a float, comparisons need two numbers, `==` two numbers, two lists
// or two booleans, logic needs booleans, an index needs an integer and a
// list. A mismatch is expr's message, e.g.
// "invalid operation: < (mismatched types []float64 and float64)". At run
// time, an index out of range is "index out of range: 0 (array length is
// 0)". A result that is not a boolean is Argo's "expected bool, but got
// float64". Comparisons with NaN are false (and != true), as in Go.
#ifndef PLATSIM_PLATFORM_ANALYSIS_CONDITION_H_
#define PLATSIM_PLATFORM_ANALYSIS_CONDITION_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace platsim::platform::analysis {

namespace internal {
struct ConditionNode;  // the parsed tree, defined in condition.cc
}  // namespace internal

class Condition;

// Parses `text`. On error returns nullopt and sets *error (if not null) to a
// message naming the 1-based column, e.g. "column 11: unexpected token ')'".
// A name other than `result` and the functions above is a parse error
// ("unknown name foo"), as expr.Compile reports it.
std::optional<Condition> ParseCondition(std::string_view text, std::string* error);

// `result` is what the provider returned: a number (scalar) or a list of
// numbers (vector).
using Value = std::variant<double, std::vector<double>>;

// The condition's value for `result`: true or false, or an error (a type
// error, an index out of range, a result that is not a boolean) as the
// message Argo Rollouts' EvalCondition returns, without a location.
std::variant<bool, std::string> Evaluate(const Condition& condition, const Value& result);

// A parsed condition: immutable and cheap to copy (copies share the tree).
class Condition {
 public:
  // The text the condition was parsed from.
  const std::string& text() const { return text_; }

 private:
  friend std::optional<Condition> ParseCondition(std::string_view text, std::string* error);
  friend std::variant<bool, std::string> Evaluate(const Condition& condition, const Value& result);
  Condition(std::string text, std::shared_ptr<const internal::ConditionNode> root)
      : text_(std::move(text)), root_(std::move(root)) {}

  std::string text_;
  std::shared_ptr<const internal::ConditionNode> root_;  // never null
};

// The phase of one measurement (v1alpha1.AnalysisPhase as a measurement
// takes it).
enum class MeasurementPhase { kSuccessful, kFailed, kInconclusive, kError };

struct Assessment {
  MeasurementPhase phase = MeasurementPhase::kSuccessful;
  std::string message;  // for kError: why, as Argo words it; else empty
};

// Argo Rollouts' EvaluateResult (utils/evaluate/evaluate.go): the phase of a
// measurement `result` under an optional successCondition and
// failureCondition (null: not given). Neither: successful. Only a success
// condition: failed unless it holds. Only a failure condition: successful
// unless it holds. Both: failed if the failure condition holds, successful
// if only the success condition holds, else inconclusive. An evaluation
// error makes the phase kError, with the message of formatEvalError, e.g.
// `could not evaluate successCondition "result[0] >= 0.95": metric result is
// nil or empty: no data returned from the metric provider`.
Assessment AssessMeasurement(const Condition* success, const Condition* failure,
                             const Value& result);

}  // namespace platsim::platform::analysis

#endif  // PLATSIM_PLATFORM_ANALYSIS_CONDITION_H_
