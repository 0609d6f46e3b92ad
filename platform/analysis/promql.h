// The PromQL subset a simulated Prometheus answers for Argo Rollouts'
// prometheus metric provider: a query is parsed once (ParseQuery) and then
// evaluated at instants of simulated time (Evaluate) against the series the
// simulation has scraped (a SeriesSource). This file owns only the query
// language; what is scraped, and when, belongs to the caller.
//
// Semantics follow Prometheus 3.x (prometheus/prometheus, promql/): ranges
// and the instant-selector look-back are left-open, (t - range, t]; rate and
// increase are promql/functions.go extrapolatedRate (with the order of the
// extrapolation limits of prometheus/prometheus#13725, released in 2.52);
// histogram_quantile is promql/quantile.go bucketQuantile. Only float samples
// exist (no native histograms), and no annotations (warnings) are reported.
//
// Grammar (whitespace is free; `#` starts a comment to the end of the line):
//
//   expr      := expr binop [bool] [on(l, ...) | ignoring(l, ...)] expr
//              | ('-' | '+') expr | '(' expr ')'
//              | number | selector | selector '[' duration ']'
//              | function '(' args ')' | aggregation
//   binop     := '^' (right-associative)  >  '*' '/' '%'  >  '+' '-'
//              >  '==' '!=' '<' '<=' '>' '>='     (by precedence, as PromQL)
//                 A unary minus binds tighter than '*' and looser than '^':
//                 -2^2 is -4.
//   number    := decimal, scientific (1.5e3), hexadecimal (0x1f), Inf, NaN
//   selector  := metric_name ['{' matcher, ... '}'] | '{' matcher, ... '}'
//   matcher   := label ('=' | '!=' | '=~' | '!~') string
//                 Regexes are fully anchored, as Prometheus' are (std::regex
//                 ECMAScript, matched against the whole value); a label a
//                 series lacks has the value "". Without a metric name, one
//                 matcher must be `__name__="name"`; no other matcher may name
//                 __name__.
//   string    := "..." or '...' (with Go's escapes \\ \" \' \n \t \r) or `raw`
//   duration  := one or more of <integer><unit>, units in descending order,
//                each at most once: y (365d), w (7d), d, h, m, s, ms (1m30s);
//                greater than zero
//   function  := rate(range) | increase(range) | irate(range)
//              | abs(v) | clamp_min(v, s) | clamp_max(v, s)
//              | scalar(v) | vector(s) | histogram_quantile(s, v) | time()
//   aggregation := agg [by|without '(' label, ... ')'] '(' v ')'
//                | agg '(' v ')' [by|without '(' label, ... ')']
//   agg       := sum | avg | min | max | count
//
// Types are checked while parsing, as Prometheus' parser does: a range can
// only be an argument of rate, increase or irate; binary operators take
// scalars and instant vectors; comparisons of two scalars need `bool`; a
// query's result must be a scalar or an instant vector. Offsets, `@`,
// subqueries, group_left/group_right, `and`/`or`/`unless` and other
// functions are not supported and are parse errors.
//
// Evaluation: a vector-vector operation matches one-to-one on the label sets
// without __name__ (restricted by on, or without the ignoring labels; the
// result keeps only the on labels, or drops the ignoring ones); a match group
// with two series on one side is an error, as in Prometheus. Arithmetic,
// `bool` comparisons, unary minus and every function and aggregation drop
// the metric name; comparisons without `bool` filter and keep it. Division
// by zero is IEEE: 0/0 is NaN, x/0 is +-Inf. sum and avg add with Neumaier's
// compensation as Prometheus' kahansum does; min and max skip NaNs unless
// every value is NaN.
#ifndef PLATSIM_PLATFORM_ANALYSIS_PROMQL_H_
#define PLATSIM_PLATFORM_ANALYSIS_PROMQL_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "sim/time.h"

namespace platsim::platform::analysis {

// One scraped value of a series at simulated time `t`.
struct Sample {
  sim::Time t;
  double v;
};

// A series' labels, without __name__ (the same type as platform::Labels).
using Labels = std::map<std::string, std::string>;

// What the simulated Prometheus has scraped.
class SeriesSource {
 public:
  virtual ~SeriesSource() = default;
  // Calls `fn` for every series of metric `name`, with its labels (not
  // including __name__) and its samples with from < t <= to, in time order.
  // Series of one name have distinct label sets. The span is borrowed for
  // the call only.
  virtual void Select(
      std::string_view name, sim::Time from, sim::Time to,
      const std::function<void(const Labels&, std::span<const Sample>)>& fn) const = 0;
};

namespace internal {
struct QueryNode;  // the parsed tree, defined in promql.cc
}  // namespace internal

class Query;

// Parses `text`. On error returns nullopt and sets *error (if not null) to a
// message that names the 1-based column of the offending token, e.g.
// `column 12: expected ")" in call to "rate", got "]"` (on a later line of a
// multi-line query: `line 2, column 3: ...`).
std::optional<Query> ParseQuery(std::string_view text, std::string* error);

struct QueryResult {
  bool scalar = false;         // a scalar result (a number literal, or scalar arithmetic)
  std::vector<double> values;  // scalar: one value; vector: one per element, ordered by labels
  // Per element, for vectors. A series that kept its metric name (a bare
  // selector, or a comparison without `bool`) has it as the label __name__,
  // as Prometheus' answers do.
  std::vector<Labels> labels;
};

// Evaluates `query` at instant `now` against `source`. Instant selectors take
// each series' latest sample in (now - lookback, now] (Prometheus' default
// look-back is 5 minutes). Returns the result, or an error found only while
// evaluating (a many-to-many vector match) as a message.
// REQUIRES: lookback > 0.
std::variant<QueryResult, std::string> Evaluate(const Query& query, const SeriesSource& source,
                                                sim::Time now,
                                                sim::Time lookback = 5 * sim::kMinute);

// A parsed query: immutable, cheap to copy (copies share the tree), and safe
// to evaluate from several threads at once.
class Query {
 public:
  // The text the query was parsed from.
  const std::string& text() const { return text_; }
  // True if its result is a scalar, false if an instant vector.
  bool returns_scalar() const;

 private:
  friend std::optional<Query> ParseQuery(std::string_view text, std::string* error);
  friend std::variant<QueryResult, std::string> Evaluate(const Query& query,
                                                         const SeriesSource& source, sim::Time now,
                                                         sim::Time lookback);
  Query(std::string text, std::shared_ptr<const internal::QueryNode> root)
      : text_(std::move(text)), root_(std::move(root)) {}

  std::string text_;
  std::shared_ptr<const internal::QueryNode> root_;  // never null
};

}  // namespace platsim::platform::analysis

#endif  // PLATSIM_PLATFORM_ANALYSIS_PROMQL_H_
