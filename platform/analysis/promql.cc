#include "platform/analysis/promql.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

#include "platform/analysis/where.h"

namespace platsim::platform::analysis {
namespace internal {

enum class ValueType { kScalar, kVector, kMatrix };

enum class NodeKind { kNumber, kSelector, kCall, kAggregation, kBinary, kUnaryMinus };

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

struct Matcher {
  std::string label;
  MatchOp op = MatchOp::kEqual;
  std::string value;
  std::optional<std::regex> regex;  // for =~ and !~, matched against the whole value
};

enum class Function {
  kRate,
  kIncrease,
  kIrate,
  kAbs,
  kClampMin,
  kClampMax,
  kScalar,
  kVector,
  kHistogramQuantile,
  kTime,
};

enum class Aggregation { kSum, kAvg, kMin, kMax, kCount };

enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMod, kPow, kEq, kNe, kLt, kLe, kGt, kGe };

enum class Matching { kNone, kOn, kIgnoring };

// One node of a parsed query. Which fields mean something depends on `kind`;
// the tree is immutable once parsed.
struct QueryNode {
  NodeKind kind = NodeKind::kNumber;
  ValueType type = ValueType::kScalar;
  std::size_t pos = 0;  // byte offset of its first token, for errors
  int height = 1;       // this node and the longest chain of operands below it

  double number = 0;              // kNumber
  std::string metric;             // kSelector
  std::vector<Matcher> matchers;  // kSelector
  sim::Time range = 0;            // kSelector: > 0 for a range selector

  Function function = Function::kRate;  // kCall

  Aggregation aggregation = Aggregation::kSum;  // kAggregation
  bool without = false;                         // kAggregation: `without` rather than `by`
  std::vector<std::string> grouping;            // kAggregation

  BinaryOp op = BinaryOp::kAdd;         // kBinary
  bool return_bool = false;             // kBinary
  Matching matching = Matching::kNone;  // kBinary
  std::vector<std::string> matching_labels;

  std::vector<std::unique_ptr<QueryNode>> args;  // operands and arguments, in order
};

}  // namespace internal

namespace {

using internal::Aggregation;
using internal::BinaryOp;
using internal::Function;
using internal::Matcher;
using internal::Matching;
using internal::MatchOp;
using internal::NodeKind;
using internal::QueryNode;
using internal::ValueType;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr char kNameLabel[] = "__name__";

// ---------------------------------------------------------------------------
// Positions and names in messages.

const char* TypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Lexer.

enum class Tok {
  kIdent,
  kNumber,
  kString,
  kDuration,
  kLParen,
  kRParen,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kComma,
  kOp,
  kEnd,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // as written; for a string, its unescaped value
  std::size_t pos = 0;
};

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of input";
    case Tok::kString:
      return "string \"" + t.text + "\"";
    default:
      return "\"" + t.text + "\"";
  }
}

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsIdentStart(char c) {
  return IsAlpha(c) || c == '_' || c == ':';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || IsDigit(c);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The lexer's failure: where, and why.
struct LexError {
  std::size_t pos = 0;
  std::string message;
};

// Decodes the escapes of a quoted string body (Go's, as Prometheus' lexer
// accepts them). False on an unknown escape, with *bad at its offset in
// `body`.
bool Unescape(std::string_view body, std::string* out, std::size_t* bad) {
  out->clear();
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out->push_back(body[i]);
      continue;
    }
    if (i + 1 >= body.size()) {
      *bad = i;
      return false;
    }
    const char e = body[++i];
    switch (e) {
      case '\\':
      case '"':
      case '\'':
        out->push_back(e);
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 'a':
        out->push_back('\a');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'v':
        out->push_back('\v');
        break;
      default:
        *bad = i - 1;
        return false;
    }
  }
  return true;
}

// A Prometheus duration (model.ParseDuration): <integer><unit> parts, units
// y w d h m s ms in that order, each at most once. False if malformed.
bool ParseDuration(std::string_view s, sim::Time* out) {
  struct Unit {
    std::string_view name;
    sim::Time ns;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365 * 24 * sim::kHour}, {"w", 7 * 24 * sim::kHour},
      {"d", 24 * sim::kHour},       {"h", sim::kHour},
      {"m", sim::kMinute},          {"s", sim::kSecond},
      {"ms", sim::kMillisecond},
  };
  constexpr int kUnitCount = sizeof(kUnits) / sizeof(kUnits[0]);
  std::size_t i = 0;
  int next_unit = 0;  // units must come in this order
  sim::Time total = 0;
  if (s.empty()) return false;
  while (i < s.size()) {
    if (!IsDigit(s[i])) return false;
    std::int64_t n = 0;
    while (i < s.size() && IsDigit(s[i])) {
      n = n * 10 + (s[i] - '0');
      if (n > sim::kMaxDuration / sim::kMillisecond) return false;
      ++i;
    }
    std::size_t j = i;
    while (j < s.size() && IsAlpha(s[j]))
      ++j;
    const std::string_view unit = s.substr(i, j - i);
    int u = next_unit;
    while (u < kUnitCount && kUnits[u].name != unit)
      ++u;
    if (u == kUnitCount) return false;
    if (n > sim::kMaxDuration / kUnits[u].ns) return false;
    total += n * kUnits[u].ns;
    if (total > sim::kMaxDuration) return false;
    next_unit = u + 1;
    i = j;
  }
  *out = total;
  return true;
}

// Splits `text` into tokens ending with kEnd.
std::optional<LexError> Lex(std::string_view text, std::vector<Token>* tokens) {
  bool in_range = false;
  std::size_t i = 0;
  auto emit = [&](Tok kind, std::size_t start, std::size_t end) {
    tokens->push_back({kind, std::string(text.substr(start, end - start)), start});
  };
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '#') {
      while (i < text.size() && text[i] != '\n')
        ++i;
      continue;
    }
    const std::size_t start = i;
    if (IsDigit(c) || (c == '.' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
        i += 2;
        while (i < text.size() && std::isxdigit(static_cast<unsigned char>(text[i])))
          ++i;
      } else {
        while (i < text.size() && IsDigit(text[i]))
          ++i;
        if (i < text.size() && text[i] == '.') {
          ++i;
          while (i < text.size() && IsDigit(text[i]))
            ++i;
        }
        if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
          std::size_t j = i + 1;
          if (j < text.size() && (text[j] == '+' || text[j] == '-')) ++j;
          if (j < text.size() && IsDigit(text[j])) {
            i = j;
            while (i < text.size() && IsDigit(text[i]))
              ++i;
          }
        }
      }
      auto word_char = [](char d) { return IsAlpha(d) || IsDigit(d) || d == '_' || d == '.'; };
      if (i < text.size() && word_char(text[i])) {
        // Digits run into letters: a duration ("5m", "1m30s"), as
        // Prometheus' lexer reads one anywhere, or nothing valid.
        while (i < text.size() && word_char(text[i]))
          ++i;
        const std::string word(text.substr(start, i - start));
        sim::Time unused = 0;
        if (!ParseDuration(word, &unused)) {
          return LexError{start, "bad number or duration \"" + word + "\""};
        }
        emit(Tok::kDuration, start, i);
        continue;
      }
      emit(Tok::kNumber, start, i);
      continue;
    }
    if (c == ':' && in_range) return LexError{i, "subqueries ([range:step]) are not supported"};
    if (IsIdentStart(c)) {
      while (i < text.size() && IsIdentChar(text[i]))
        ++i;
      emit(Tok::kIdent, start, i);
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      ++i;
      while (i < text.size() && text[i] != c) {
        if (text[i] == '\n' && c != '`') break;
        i += text[i] == '\\' && c != '`' ? 2 : 1;  // skip an escaped character
      }
      if (i >= text.size() || text[i] != c) return LexError{start, "unterminated string"};
      const std::string_view body = text.substr(start + 1, i - start - 1);
      ++i;
      Token t{Tok::kString, std::string(body), start};
      std::size_t bad = 0;
      if (c != '`' && !Unescape(body, &t.text, &bad)) {
        return LexError{start + 1 + bad, "unknown escape sequence in string"};
      }
      tokens->push_back(std::move(t));
      continue;
    }
    switch (c) {
      case '(':
        emit(Tok::kLParen, i, i + 1);
        ++i;
        continue;
      case ')':
        emit(Tok::kRParen, i, i + 1);
        ++i;
        continue;
      case '{':
        emit(Tok::kLBrace, i, i + 1);
        ++i;
        continue;
      case '}':
        emit(Tok::kRBrace, i, i + 1);
        ++i;
        continue;
      case '[':
        emit(Tok::kLBracket, i, i + 1);
        ++i;
        in_range = true;
        continue;
      case ']':
        emit(Tok::kRBracket, i, i + 1);
        ++i;
        in_range = false;
        continue;
      case ',':
        emit(Tok::kComma, i, i + 1);
        ++i;
        continue;
      default:
        break;
    }
    // Operators: the two-character ones first.
    static constexpr std::string_view kTwo[] = {"==", "!=", "=~", "!~", "<=", ">="};
    bool matched = false;
    for (std::string_view op : kTwo) {
      if (text.substr(i, 2) == op) {
        emit(Tok::kOp, i, i + 2);
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("+-*/%^<>=").find(c) != std::string_view::npos) {
      emit(Tok::kOp, i, i + 1);
      ++i;
      continue;
    }
    return LexError{i, "unexpected character '" + std::string(1, c) + "'"};
  }
  tokens->push_back({Tok::kEnd, "", text.size()});
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Parser: precedence climbing over the tokens, with Prometheus' type checks.

struct BinaryInfo {
  BinaryOp op;
  int precedence;
  bool right_associative;
};

// PromQL's precedence (promql/parser/lex.go, generated_parser.y): ^ over
// * / % over + - over comparisons.
constexpr int kPowPrecedence = 4;

std::optional<BinaryInfo> LookupBinary(std::string_view op) {
  static constexpr struct {
    std::string_view text;
    BinaryInfo info;
  } kOps[] = {
      {"==", {BinaryOp::kEq, 1, false}}, {"!=", {BinaryOp::kNe, 1, false}},
      {"<", {BinaryOp::kLt, 1, false}},  {"<=", {BinaryOp::kLe, 1, false}},
      {">", {BinaryOp::kGt, 1, false}},  {">=", {BinaryOp::kGe, 1, false}},
      {"+", {BinaryOp::kAdd, 2, false}}, {"-", {BinaryOp::kSub, 2, false}},
      {"*", {BinaryOp::kMul, 3, false}}, {"/", {BinaryOp::kDiv, 3, false}},
      {"%", {BinaryOp::kMod, 3, false}}, {"^", {BinaryOp::kPow, kPowPrecedence, true}},
  };
  for (const auto& o : kOps) {
    if (o.text == op) return o.info;
  }
  return std::nullopt;
}

bool IsComparison(BinaryOp op) {
  return op == BinaryOp::kEq || op == BinaryOp::kNe || op == BinaryOp::kLt || op == BinaryOp::kLe ||
         op == BinaryOp::kGt || op == BinaryOp::kGe;
}

struct FunctionInfo {
  std::string_view name;
  Function function;
  std::vector<ValueType> args;
  ValueType result;
};

const FunctionInfo* LookupFunction(std::string_view name) {
  static const FunctionInfo kFunctions[] = {
      {"rate", Function::kRate, {ValueType::kMatrix}, ValueType::kVector},
      {"increase", Function::kIncrease, {ValueType::kMatrix}, ValueType::kVector},
      {"irate", Function::kIrate, {ValueType::kMatrix}, ValueType::kVector},
      {"abs", Function::kAbs, {ValueType::kVector}, ValueType::kVector},
      {"clamp_min",
       Function::kClampMin,
       {ValueType::kVector, ValueType::kScalar},
       ValueType::kVector},
      {"clamp_max",
       Function::kClampMax,
       {ValueType::kVector, ValueType::kScalar},
       ValueType::kVector},
      {"scalar", Function::kScalar, {ValueType::kVector}, ValueType::kScalar},
      {"vector", Function::kVector, {ValueType::kScalar}, ValueType::kVector},
      {"histogram_quantile",
       Function::kHistogramQuantile,
       {ValueType::kScalar, ValueType::kVector},
       ValueType::kVector},
      {"time", Function::kTime, {}, ValueType::kScalar},
  };
  for (const FunctionInfo& f : kFunctions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<Aggregation> LookupAggregation(std::string_view name) {
  if (name == "sum") return Aggregation::kSum;
  if (name == "avg") return Aggregation::kAvg;
  if (name == "min") return Aggregation::kMin;
  if (name == "max") return Aggregation::kMax;
  if (name == "count") return Aggregation::kCount;
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  // The whole query, or null with error() set.
  std::unique_ptr<QueryNode> ParseAll() {
    std::unique_ptr<QueryNode> root = ParseExpr(0);
    if (!root) return nullptr;
    if (Peek().kind != Tok::kEnd) return Fail(Peek().pos, "unexpected " + Describe(Peek()));
    if (root->type == ValueType::kMatrix) {
      return Fail(root->pos,
                  "a range vector cannot be a query's result (wrap it in rate, increase or "
                  "irate)");
    }
    return root;
  }

  const std::string& error() const { return error_; }

 private:
  const Token& Peek(std::size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const Token& Take() {
    const Token& t = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    return t;
  }
  bool PeekIdent(std::string_view name, std::size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kIdent && Peek(ahead).text == name;
  }

  // Records the first error; returns null for `return Fail(...)`.
  std::nullptr_t Fail(std::size_t pos, const std::string& message) {
    if (error_.empty()) error_ = Where(text_, pos) + ": " + message;
    return nullptr;
  }
  // Consumes a token of `kind` ("what" as written), or fails naming `context`.
  bool Expect(Tok kind, std::string_view what, std::string_view context) {
    if (Peek().kind == kind) {
      Take();
      return true;
    }
    Fail(Peek().pos, "expected \"" + std::string(what) + "\" " + std::string(context) + ", got " +
                         Describe(Peek()));
    return false;
  }

  static std::unique_ptr<QueryNode> NewNode(NodeKind kind, ValueType type, std::size_t pos) {
    auto n = std::make_unique<QueryNode>();
    n->kind = kind;
    n->type = type;
    n->pos = pos;
    return n;
  }

  // Makes `child` an operand of `parent`; fails if the tree grows taller
  // than kMaxHeight.
  bool Adopt(QueryNode* parent, std::unique_ptr<QueryNode> child) {
    parent->height = std::max(parent->height, child->height + 1);
    parent->args.push_back(std::move(child));
    if (parent->height <= kMaxHeight) return true;
    Fail(parent->pos, kTooDeep);
    return false;
  }

  std::unique_ptr<QueryNode> ParseExpr(int min_precedence) {
    if (depth_ >= kMaxHeight) return Fail(Peek().pos, kTooDeep);
    ++depth_;
    std::unique_ptr<QueryNode> expr = ParseExprAt(min_precedence);
    --depth_;
    return expr;
  }

  std::unique_ptr<QueryNode> ParseExprAt(int min_precedence) {
    std::unique_ptr<QueryNode> lhs = ParseUnary();
    if (!lhs) return nullptr;
    for (;;) {
      const Token& t = Peek();
      if (t.kind != Tok::kOp) break;
      const std::optional<BinaryInfo> info = LookupBinary(t.text);
      if (!info || info->precedence < min_precedence) break;
      const std::size_t op_pos = Take().pos;
      auto node = NewNode(NodeKind::kBinary, ValueType::kVector, op_pos);
      node->op = info->op;
      if (PeekIdent("bool")) {
        if (!IsComparison(info->op)) {
          return Fail(Peek().pos, "bool modifier can only be used on comparison operators");
        }
        Take();
        node->return_bool = true;
      }
      if ((PeekIdent("on") || PeekIdent("ignoring")) && Peek(1).kind == Tok::kLParen) {
        node->matching = Take().text == "on" ? Matching::kOn : Matching::kIgnoring;
        if (!ParseLabelList(&node->matching_labels, "in the vector matching")) return nullptr;
      }
      if (PeekIdent("group_left") || PeekIdent("group_right")) {
        return Fail(Peek().pos, "group_left and group_right are not supported");
      }
      std::unique_ptr<QueryNode> rhs =
          ParseExpr(info->right_associative ? info->precedence : info->precedence + 1);
      if (!rhs) return nullptr;
      // promql/parser/parser.go checkAST, for binary expressions.
      if (lhs->type == ValueType::kMatrix || rhs->type == ValueType::kMatrix) {
        return Fail(op_pos, "binary expression must contain only scalar and instant vector types");
      }
      const bool both_scalar = lhs->type == ValueType::kScalar && rhs->type == ValueType::kScalar;
      if (IsComparison(info->op) && both_scalar && !node->return_bool) {
        return Fail(op_pos, "comparisons between scalars must use BOOL modifier");
      }
      if (node->matching != Matching::kNone &&
          (lhs->type == ValueType::kScalar || rhs->type == ValueType::kScalar)) {
        return Fail(op_pos, "vector matching only allowed between instant vectors");
      }
      node->type = both_scalar ? ValueType::kScalar : ValueType::kVector;
      node->pos = lhs->pos;
      if (!Adopt(node.get(), std::move(lhs)) || !Adopt(node.get(), std::move(rhs))) return nullptr;
      lhs = std::move(node);
    }
    return lhs;
  }

  // A unary minus or plus binds tighter than * and looser than ^, as in
  // Prometheus' grammar (unary_expr %prec MUL).
  std::unique_ptr<QueryNode> ParseUnary() {
    const Token& t = Peek();
    if (t.kind != Tok::kOp || (t.text != "-" && t.text != "+")) return ParsePrimary();
    const std::size_t pos = t.pos;
    const bool minus = Take().text == "-";
    std::unique_ptr<QueryNode> operand = ParseExpr(kPowPrecedence);
    if (!operand) return nullptr;
    if (operand->type == ValueType::kMatrix) {
      return Fail(pos,
                  "unary expression only allowed on expressions of type scalar or instant "
                  "vector");
    }
    if (!minus) return operand;
    if (operand->kind == NodeKind::kNumber) {
      operand->number = -operand->number;
      operand->pos = pos;
      return operand;
    }
    auto node = NewNode(NodeKind::kUnaryMinus, operand->type, pos);
    if (!Adopt(node.get(), std::move(operand))) return nullptr;
    return node;
  }

  std::unique_ptr<QueryNode> ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kNumber: {
        auto node = NewNode(NodeKind::kNumber, ValueType::kScalar, t.pos);
        node->number = std::strtod(Take().text.c_str(), nullptr);
        return node;
      }
      case Tok::kLParen: {
        Take();
        std::unique_ptr<QueryNode> inner = ParseExpr(0);
        if (!inner) return nullptr;
        if (!Expect(Tok::kRParen, ")", "to close the parenthesis")) return nullptr;
        if (Peek().kind == Tok::kLBracket) {
          return Fail(Peek().pos, "ranges are only allowed on vector selectors (no subqueries)");
        }
        return inner;
      }
      case Tok::kLBrace:
        return ParseSelector();
      case Tok::kIdent: {
        const std::string lower = Lower(t.text);
        if (lower == "inf" || lower == "nan") {
          auto node = NewNode(NodeKind::kNumber, ValueType::kScalar, t.pos);
          node->number = lower == "inf" ? kInf : kNaN;
          Take();
          return node;
        }
        if (LookupAggregation(t.text) &&
            (Peek(1).kind == Tok::kLParen || PeekIdent("by", 1) || PeekIdent("without", 1))) {
          return ParseAggregation();
        }
        if (Peek(1).kind == Tok::kLParen) return ParseCall();
        return ParseSelector();
      }
      case Tok::kString:
        return Fail(t.pos, "string literals are only allowed in label matchers");
      case Tok::kDuration:
        return Fail(t.pos, "unexpected duration \"" + t.text +
                               "\" (durations are only allowed in a range, [5m])");
      default:
        return Fail(t.pos, "unexpected " + Describe(t));
    }
  }

  std::unique_ptr<QueryNode> ParseSelector() {
    auto node = NewNode(NodeKind::kSelector, ValueType::kVector, Peek().pos);
    if (Peek().kind == Tok::kIdent) node->metric = Take().text;
    if (Peek().kind == Tok::kLBrace) {
      Take();
      while (Peek().kind != Tok::kRBrace) {
        const Token& label = Peek();
        if (label.kind != Tok::kIdent || label.text.find(':') != std::string::npos) {
          return Fail(label.pos, "expected a label name in the selector, got " + Describe(label));
        }
        Take();
        const Token& op = Peek();
        Matcher m;
        m.label = label.text;
        if (op.kind == Tok::kOp && op.text == "=") {
          m.op = MatchOp::kEqual;
        } else if (op.kind == Tok::kOp && op.text == "!=") {
          m.op = MatchOp::kNotEqual;
        } else if (op.kind == Tok::kOp && op.text == "=~") {
          m.op = MatchOp::kRegexMatch;
        } else if (op.kind == Tok::kOp && op.text == "!~") {
          m.op = MatchOp::kRegexNoMatch;
        } else {
          return Fail(op.pos,
                      "expected a label matching operator (=, !=, =~, !~), got " + Describe(op));
        }
        Take();
        const Token& value = Peek();
        if (value.kind != Tok::kString) {
          return Fail(value.pos, "expected a string after the label matching operator, got " +
                                     Describe(value));
        }
        Take();
        m.value = value.text;
        if (m.op == MatchOp::kRegexMatch || m.op == MatchOp::kRegexNoMatch) {
          // std::regex reports a bad pattern by throwing; nothing else here
          // throws. regex_match anchors it at both ends, as Prometheus does
          // by wrapping the pattern in ^(?:...)$.
          try {
            m.regex.emplace(m.value, std::regex::ECMAScript);
          } catch (const std::regex_error& e) {
            return Fail(value.pos, "invalid regular expression \"" + m.value + "\": " + e.what());
          }
        }
        if (m.label == kNameLabel) {
          if (m.op != MatchOp::kEqual || !node->metric.empty()) {
            return Fail(label.pos,
                        "__name__ is only supported as one __name__=\"...\" matcher of a "
                        "selector without a metric name");
          }
          node->metric = m.value;
        } else {
          node->matchers.push_back(std::move(m));
        }
        if (Peek().kind == Tok::kComma) {
          Take();
        } else if (Peek().kind != Tok::kRBrace) {
          return Fail(Peek().pos,
                      "expected \",\" or \"}\" in the selector, got " + Describe(Peek()));
        }
      }
      Take();  // the closing brace
    }
    if (node->metric.empty()) {
      return Fail(node->pos, "a selector needs a metric name (or a __name__=\"...\" matcher)");
    }
    if (Peek().kind == Tok::kLBracket) {
      Take();
      const Token& d = Peek();
      if (d.kind != Tok::kDuration) {
        return Fail(d.pos, "expected a duration in the range, got " + Describe(d));
      }
      Take();
      if (!ParseDuration(d.text, &node->range)) {
        return Fail(d.pos, "bad duration \"" + d.text + "\" (expected e.g. 30s, 5m, 1m30s)");
      }
      if (node->range <= 0) return Fail(d.pos, "the range must be greater than 0");
      if (!Expect(Tok::kRBracket, "]", "to close the range")) return nullptr;
      node->type = ValueType::kMatrix;
    }
    return node;
  }

  std::unique_ptr<QueryNode> ParseCall() {
    const Token& name = Take();
    const FunctionInfo* f = LookupFunction(name.text);
    if (f == nullptr) return Fail(name.pos, "unknown function with name \"" + name.text + "\"");
    Take();  // (
    auto node = NewNode(NodeKind::kCall, f->result, name.pos);
    node->function = f->function;
    const std::string context = "in call to \"" + name.text + "\"";
    if (Peek().kind != Tok::kRParen) {
      for (;;) {
        std::unique_ptr<QueryNode> arg = ParseExpr(0);
        if (!arg) return nullptr;
        if (!Adopt(node.get(), std::move(arg))) return nullptr;
        if (Peek().kind == Tok::kComma) {
          Take();
          continue;
        }
        if (Peek().kind == Tok::kRParen) break;
        return Fail(Peek().pos, "expected \",\" or \")\" " + context + ", got " + Describe(Peek()));
      }
    }
    Take();  // )
    if (node->args.size() != f->args.size()) {
      return Fail(name.pos, "expected " + std::to_string(f->args.size()) +
                                " argument(s) in call to \"" + name.text + "\", got " +
                                std::to_string(node->args.size()));
    }
    for (std::size_t i = 0; i < f->args.size(); ++i) {
      if (node->args[i]->type != f->args[i]) {
        return Fail(node->args[i]->pos, std::string("expected type ") + TypeName(f->args[i]) +
                                            " in call to function \"" + name.text + "\", got " +
                                            TypeName(node->args[i]->type));
      }
    }
    return node;
  }

  // sum [by|without (...)] (v) [by|without (...)]
  std::unique_ptr<QueryNode> ParseAggregation() {
    const Token& name = Take();
    auto node = NewNode(NodeKind::kAggregation, ValueType::kVector, name.pos);
    node->aggregation = *LookupAggregation(name.text);
    bool grouped = false;
    if (PeekIdent("by") || PeekIdent("without")) {
      node->without = Take().text == "without";
      if (!ParseLabelList(&node->grouping, "in the grouping")) return nullptr;
      grouped = true;
    }
    const std::string context = "in aggregation \"" + name.text + "\"";
    if (!Expect(Tok::kLParen, "(", context)) return nullptr;
    std::unique_ptr<QueryNode> arg = ParseExpr(0);
    if (!arg) return nullptr;
    if (Peek().kind == Tok::kComma) {
      return Fail(Peek().pos,
                  "aggregations with a parameter (topk, quantile, ...) are not "
                  "supported");
    }
    if (!Expect(Tok::kRParen, ")", context)) return nullptr;
    if ((PeekIdent("by") || PeekIdent("without")) && Peek(1).kind == Tok::kLParen) {
      if (grouped) return Fail(Peek().pos, "the grouping is given twice");
      node->without = Take().text == "without";
      if (!ParseLabelList(&node->grouping, "in the grouping")) return nullptr;
    }
    if (arg->type != ValueType::kVector) {
      return Fail(arg->pos, std::string("expected type instant vector in aggregation expression, "
                                        "got ") +
                                TypeName(arg->type));
    }
    if (!Adopt(node.get(), std::move(arg))) return nullptr;
    return node;
  }

  // ( label, ... ) with an optional trailing comma.
  bool ParseLabelList(std::vector<std::string>* labels, std::string_view context) {
    if (!Expect(Tok::kLParen, "(", context)) return false;
    while (Peek().kind != Tok::kRParen) {
      const Token& l = Peek();
      if (l.kind != Tok::kIdent || l.text.find(':') != std::string::npos) {
        Fail(l.pos, "expected a label name " + std::string(context) + ", got " + Describe(l));
        return false;
      }
      labels->push_back(Take().text);
      if (Peek().kind == Tok::kComma) {
        Take();
      } else if (Peek().kind != Tok::kRParen) {
        Fail(Peek().pos,
             "expected \",\" or \")\" " + std::string(context) + ", got " + Describe(Peek()));
        return false;
      }
    }
    Take();  // )
    return true;
  }

  // Parsing and evaluation recurse once per level of nesting; the limit
  // keeps a hostile query from exhausting the stack.
  static constexpr int kMaxHeight = 200;
  static constexpr char kTooDeep[] = "the query is nested too deeply (more than 200 levels)";

  std::string_view text_;
  std::vector<Token> tokens_;  // ends with kEnd
  std::size_t next_ = 0;
  int depth_ = 0;  // ParseExpr calls under way
  std::string error_;
};

// ---------------------------------------------------------------------------
// Evaluation.

struct Element {
  Labels labels;  // with __name__ while the metric name is kept
  double v = 0;
};

struct Series {
  Labels labels;  // with __name__
  std::vector<Sample> samples;
};

struct EvalValue {
  ValueType type = ValueType::kScalar;
  double scalar = 0;
  std::vector<Element> vector;
  std::vector<Series> matrix;
};

bool Matches(const std::vector<Matcher>& matchers, const Labels& labels) {
  static const std::string kEmpty;
  for (const Matcher& m : matchers) {
    const auto it = labels.find(m.label);
    const std::string& v = it == labels.end() ? kEmpty : it->second;
    bool ok = false;
    switch (m.op) {
      case MatchOp::kEqual:
        ok = v == m.value;
        break;
      case MatchOp::kNotEqual:
        ok = v != m.value;
        break;
      case MatchOp::kRegexMatch:
        ok = std::regex_match(v, *m.regex);
        break;
      case MatchOp::kRegexNoMatch:
        ok = !std::regex_match(v, *m.regex);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

// Prometheus' extrapolatedRate (promql/functions.go), for float samples:
// rate (is_rate) and increase of a counter. `samples` are those in
// (range_start, range_end], in time order. Returns nullopt (no element) for
// fewer than two samples.
//
// The delta between the first and last sample (plus the value before each
// counter reset) is stretched from the sampled interval towards the range's
// ends: all the way to an end that is closer than 1.1 average sample
// intervals, else by half an average interval (the series is taken to start
// or stop there). A counter is not extrapolated to before its zero point.
// The zero-point limit is applied after the 1.1 threshold, as since
// prometheus/prometheus#13725 (2.52); before it, the zero point could shorten
// the start below the threshold and so let the full extrapolation through.
std::optional<double> ExtrapolatedRate(std::span<const Sample> samples, sim::Time range_start,
                                       sim::Time range_end, bool is_counter, bool is_rate) {
  if (samples.size() < 2) return std::nullopt;
  const Sample& first = samples.front();
  const Sample& last = samples.back();
  double result = last.v - first.v;
  if (is_counter) {
    for (std::size_t i = 1; i < samples.size(); ++i) {
      if (samples[i].v < samples[i - 1].v) result += samples[i - 1].v;
    }
  }
  double duration_to_start = sim::ToSeconds(first.t - range_start);
  double duration_to_end = sim::ToSeconds(range_end - last.t);
  const double sampled_interval = sim::ToSeconds(last.t - first.t);
  const double average_interval = sampled_interval / static_cast<double>(samples.size() - 1);
  const double threshold = average_interval * 1.1;
  if (duration_to_start >= threshold) duration_to_start = average_interval / 2;
  if (is_counter && result > 0 && first.v >= 0) {
    // Where a straight line through the samples would cross zero.
    const double duration_to_zero = sampled_interval * (first.v / result);
    if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
  }
  if (duration_to_end >= threshold) duration_to_end = average_interval / 2;
  double factor = (sampled_interval + duration_to_start + duration_to_end) / sampled_interval;
  if (is_rate) factor /= sim::ToSeconds(range_end - range_start);
  return result * factor;
}

// Prometheus' instantValue (promql/functions.go) for irate: the last two
// samples' per-second slope, or after a counter reset the last value over
// their interval.
std::optional<double> InstantRate(std::span<const Sample> samples) {
  if (samples.size() < 2) return std::nullopt;
  const Sample& prev = samples[samples.size() - 2];
  const Sample& last = samples.back();
  if (last.t == prev.t) return std::nullopt;
  const double delta = last.v < prev.v ? last.v : last.v - prev.v;
  return delta / sim::ToSeconds(last.t - prev.t);
}

struct Bucket {
  double upper_bound;
  double count;
};

// Prometheus' bucketQuantile (promql/quantile.go): the q-quantile of a
// classic histogram's cumulative buckets, interpolated linearly within the
// bucket the rank falls in; the lowest bucket starts at 0 unless its upper
// bound is <= 0 (then that bound is the answer); a rank in the +Inf bucket
// answers the highest finite bound.
double BucketQuantile(double q, std::vector<Bucket> buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (buckets.empty() || !(buckets.back().upper_bound == kInf)) return kNaN;
  // Buckets with equal bounds ("1" and "1.0") are one bucket (coalesceBuckets).
  std::vector<Bucket> merged;
  for (const Bucket& b : buckets) {
    if (!merged.empty() && merged.back().upper_bound == b.upper_bound) {
      merged.back().count += b.count;
    } else {
      merged.push_back(b);
    }
  }
  // Counts that differ by a relative 1e-12 are float noise from summing rates
  // (correctPrecisionErrors): take them as equal.
  double prev = merged[0].count;
  for (std::size_t i = 1; i < merged.size(); ++i) {
    const double delta = std::fabs(merged[i].count - prev);
    if (delta == 0) continue;
    if (delta / merged[i].count <= 1e-12) {
      merged[i].count = prev;
    } else {
      prev = merged[i].count;
    }
  }
  // Cumulative counts never fall with a higher bound; where the data says
  // otherwise, take the running maximum (ensureMonotonic).
  double max = merged[0].count;
  for (Bucket& b : merged) {
    if (b.count > max) max = b.count;
    if (b.count < max) b.count = max;
  }
  if (merged.size() < 2) return kNaN;
  const std::size_t n = merged.size();
  const double observations = merged[n - 1].count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  std::size_t b = 0;
  while (b < n - 1 && !(merged[b].count >= rank))
    ++b;
  if (b == n - 1) return merged[n - 2].upper_bound;
  if (b == 0 && merged[0].upper_bound <= 0) return merged[0].upper_bound;
  double bucket_start = 0;
  const double bucket_end = merged[b].upper_bound;
  double count = merged[b].count;
  if (b > 0) {
    bucket_start = merged[b - 1].upper_bound;
    count -= merged[b - 1].count;
    rank -= merged[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

// A bucket bound as Go's strconv.ParseFloat reads it ("0.5", "+Inf", "1e3").
bool ParseBound(const std::string& s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// Neumaier's compensated sum, as Prometheus' kahansum.Inc: `sum + c` is the
// total.
struct CompensatedSum {
  double sum = 0;
  double c = 0;
  void Add(double v) {
    const double t = sum + v;
    if (std::isinf(t)) {
      c = 0;
    } else if (std::fabs(sum) >= std::fabs(v)) {
      c += (sum - t) + v;
    } else {
      c += (v - t) + sum;
    }
    sum = t;
  }
  double Total() const { return sum + c; }
};

// Go's math.Max and math.Min: NaN if either is NaN.
double GoMax(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}
double GoMin(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
}

// vectorElemBinop (promql/engine.go): the value, and for comparisons whether
// the element is kept (the value is then the left operand's).
std::pair<double, bool> Apply(BinaryOp op, double l, double r) {
  switch (op) {
    case BinaryOp::kAdd:
      return {l + r, true};
    case BinaryOp::kSub:
      return {l - r, true};
    case BinaryOp::kMul:
      return {l * r, true};
    case BinaryOp::kDiv:
      return {l / r, true};  // IEEE: 0/0 is NaN, x/0 is +-Inf, as in Go
    case BinaryOp::kMod:
      return {std::fmod(l, r), true};
    case BinaryOp::kPow:
      return {std::pow(l, r), true};
    case BinaryOp::kEq:
      return {l, l == r};
    case BinaryOp::kNe:
      return {l, l != r};
    case BinaryOp::kLt:
      return {l, l < r};
    case BinaryOp::kLe:
      return {l, l <= r};
    case BinaryOp::kGt:
      return {l, l > r};
    case BinaryOp::kGe:
      return {l, l >= r};
  }
  return {kNaN, false};
}

std::string FormatLabels(const Labels& labels) {
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ", ";
    first = false;
    s += k + "=\"" + v + "\"";
  }
  return s + "}";
}

class Evaluator {
 public:
  Evaluator(const SeriesSource& source, sim::Time now, sim::Time lookback)
      : source_(source), now_(now), lookback_(lookback) {}

  // False with error() set if evaluation failed.
  bool Eval(const QueryNode& node, EvalValue* out) {
    out->type = node.type;
    switch (node.kind) {
      case NodeKind::kNumber:
        out->scalar = node.number;
        return true;
      case NodeKind::kSelector:
        EvalSelector(node, out);
        return true;
      case NodeKind::kCall:
        return EvalCall(node, out);
      case NodeKind::kAggregation:
        return EvalAggregation(node, out);
      case NodeKind::kBinary:
        return EvalBinary(node, out);
      case NodeKind::kUnaryMinus: {
        if (!Eval(*node.args[0], out)) return false;
        out->scalar = -out->scalar;
        for (Element& e : out->vector) {
          e.v = -e.v;
          e.labels.erase(kNameLabel);
        }
        return true;
      }
    }
    return Fail("unknown node");
  }

  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  void EvalSelector(const QueryNode& node, EvalValue* out) {
    const bool range = node.range > 0;
    const sim::Time from = now_ - (range ? node.range : lookback_);
    source_.Select(node.metric, from, now_,
                   [&](const Labels& labels, std::span<const Sample> samples) {
                     if (!Matches(node.matchers, labels)) return;
                     // The contract says from < t <= now; trust but do not depend on it.
                     std::vector<Sample> in;
                     for (const Sample& s : samples) {
                       if (s.t > from && s.t <= now_) in.push_back(s);
                     }
                     if (in.empty()) return;
                     Labels with_name = labels;
                     with_name[kNameLabel] = node.metric;
                     if (range) {
                       out->matrix.push_back({std::move(with_name), std::move(in)});
                     } else {
                       out->vector.push_back({std::move(with_name), in.back().v});
                     }
                   });
  }

  bool EvalCall(const QueryNode& node, EvalValue* out) {
    std::vector<EvalValue> args(node.args.size());
    for (std::size_t i = 0; i < node.args.size(); ++i) {
      if (!Eval(*node.args[i], &args[i])) return false;
    }
    auto each = [&](auto fn) {  // an element-wise function of the first argument
      for (Element& e : args[0].vector) {
        e.v = fn(e.v);
        e.labels.erase(kNameLabel);
        out->vector.push_back(std::move(e));
      }
    };
    switch (node.function) {
      case Function::kRate:
      case Function::kIncrease:
      case Function::kIrate: {
        const sim::Time range = node.args[0]->range;
        for (Series& s : args[0].matrix) {
          const std::optional<double> v =
              node.function == Function::kIrate
                  ? InstantRate(s.samples)
                  : ExtrapolatedRate(s.samples, now_ - range, now_, /*is_counter=*/true,
                                     /*is_rate=*/node.function == Function::kRate);
          if (!v) continue;
          s.labels.erase(kNameLabel);
          out->vector.push_back({std::move(s.labels), *v});
        }
        return true;
      }
      case Function::kAbs:
        each([](double v) { return std::fabs(v); });
        return true;
      case Function::kClampMin: {
        const double min = args[1].scalar;
        each([min](double v) { return GoMax(min, v); });
        return true;
      }
      case Function::kClampMax: {
        const double max = args[1].scalar;
        each([max](double v) { return GoMin(max, v); });
        return true;
      }
      case Function::kScalar:
        out->scalar = args[0].vector.size() == 1 ? args[0].vector[0].v : kNaN;
        return true;
      case Function::kVector:
        out->vector.push_back({Labels{}, args[0].scalar});
        return true;
      case Function::kTime:
        out->scalar = sim::ToSeconds(now_);
        return true;
      case Function::kHistogramQuantile: {
        // funcHistogramQuantile: buckets grouped by their labels without le
        // (and the name); a series without a parseable le is ignored.
        const double q = args[0].scalar;
        std::map<Labels, std::vector<Bucket>> groups;
        for (Element& e : args[1].vector) {
          const auto le = e.labels.find("le");
          double bound = 0;
          if (le == e.labels.end() || !ParseBound(le->second, &bound)) continue;
          e.labels.erase(le);
          e.labels.erase(kNameLabel);
          groups[std::move(e.labels)].push_back({bound, e.v});
        }
        for (auto& [labels, buckets] : groups) {
          out->vector.push_back({labels, BucketQuantile(q, std::move(buckets))});
        }
        return true;
      }
    }
    return Fail("unknown function");
  }

  bool EvalAggregation(const QueryNode& node, EvalValue* out) {
    EvalValue arg;
    if (!Eval(*node.args[0], &arg)) return false;
    struct Group {
      CompensatedSum sum;
      double count = 0;
      double extreme = 0;  // min or max so far
    };
    std::map<Labels, Group> groups;
    for (const Element& e : arg.vector) {
      Labels key;
      if (node.without) {
        key = e.labels;
        key.erase(kNameLabel);
        for (const std::string& l : node.grouping)
          key.erase(l);
      } else {
        for (const std::string& l : node.grouping) {
          const auto it = e.labels.find(l);
          if (it != e.labels.end()) key.insert(*it);
        }
      }
      auto [it, inserted] = groups.try_emplace(std::move(key));
      Group& g = it->second;
      if (inserted) g.extreme = e.v;
      g.sum.Add(e.v);
      g.count += 1;
      // Prometheus replaces a NaN so far by any value, so that min and max
      // are NaN only if every value is.
      if (node.aggregation == Aggregation::kMin && (g.extreme > e.v || std::isnan(g.extreme))) {
        g.extreme = e.v;
      }
      if (node.aggregation == Aggregation::kMax && (g.extreme < e.v || std::isnan(g.extreme))) {
        g.extreme = e.v;
      }
    }
    for (auto& [key, g] : groups) {
      double v = 0;
      switch (node.aggregation) {
        case Aggregation::kSum:
          v = g.sum.Total();
          break;
        case Aggregation::kAvg:
          v = g.sum.Total() / g.count;
          break;
        case Aggregation::kMin:
        case Aggregation::kMax:
          v = g.extreme;
          break;
        case Aggregation::kCount:
          v = g.count;
          break;
      }
      out->vector.push_back({key, v});
    }
    return true;
  }

  bool EvalBinary(const QueryNode& node, EvalValue* out) {
    EvalValue lhs, rhs;
    if (!Eval(*node.args[0], &lhs) || !Eval(*node.args[1], &rhs)) return false;
    const bool comparison = IsComparison(node.op);
    const bool drop_name = !comparison || node.return_bool;
    if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
      const auto [v, keep] = Apply(node.op, lhs.scalar, rhs.scalar);
      out->scalar = comparison ? (keep ? 1 : 0) : v;
      return true;
    }
    // One element of the result from the element `e` whose operand values
    // are l and r; comparisons keep the vector's value (VectorscalarBinop).
    auto emit = [&](Labels labels, double l, double r, double vector_value) {
      auto [v, keep] = Apply(node.op, l, r);
      if (comparison) v = vector_value;
      if (node.return_bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) return;
      if (drop_name) labels.erase(kNameLabel);
      out->vector.push_back({std::move(labels), v});
    };
    if (rhs.type == ValueType::kScalar) {
      for (Element& e : lhs.vector)
        emit(std::move(e.labels), e.v, rhs.scalar, e.v);
      return true;
    }
    if (lhs.type == ValueType::kScalar) {
      for (Element& e : rhs.vector)
        emit(std::move(e.labels), lhs.scalar, e.v, e.v);
      return true;
    }
    return MatchVectors(node, lhs.vector, rhs.vector, emit);
  }

  // One-to-one vector matching (VectorBinop in promql/engine.go).
  template <typename Emit>
  bool MatchVectors(const QueryNode& node, std::vector<Element>& lhs, std::vector<Element>& rhs,
                    Emit& emit) {
    auto signature = [&](const Labels& labels) {
      Labels sig;
      if (node.matching == Matching::kOn) {
        for (const std::string& l : node.matching_labels) {
          const auto it = labels.find(l);
          if (it != labels.end()) sig.insert(*it);
        }
        return sig;
      }
      sig = labels;
      sig.erase(kNameLabel);
      if (node.matching == Matching::kIgnoring) {
        for (const std::string& l : node.matching_labels)
          sig.erase(l);
      }
      return sig;
    };
    std::map<Labels, const Element*> right;
    for (const Element& e : rhs) {
      auto [it, inserted] = right.try_emplace(signature(e.labels), &e);
      if (!inserted) {
        return Fail("found duplicate series for the match group " + FormatLabels(it->first) +
                    " on the right hand-side of the operation: [" +
                    FormatLabels(it->second->labels) + ", " + FormatLabels(e.labels) +
                    "];many-to-many matching not allowed: matching labels must be unique on one "
                    "side");
      }
    }
    std::set<Labels> matched;
    for (Element& e : lhs) {
      Labels sig = signature(e.labels);
      const auto it = right.find(sig);
      if (it == right.end()) continue;
      if (!matched.insert(sig).second) {
        return Fail("multiple matches for labels " + FormatLabels(sig) +
                    ": many-to-one matching must be explicit (group_left/group_right)");
      }
      Labels labels = std::move(e.labels);
      if (node.matching == Matching::kOn) {
        // The result keeps only the `on` labels (resultMetric).
        Labels kept;
        for (const std::string& l : node.matching_labels) {
          const auto found = labels.find(l);
          if (found != labels.end()) kept.insert(*found);
        }
        labels = std::move(kept);
      } else if (node.matching == Matching::kIgnoring) {
        for (const std::string& l : node.matching_labels)
          labels.erase(l);
      }
      emit(std::move(labels), e.v, it->second->v, e.v);
    }
    return true;
  }

  const SeriesSource& source_;
  const sim::Time now_;
  const sim::Time lookback_;
  std::string error_;
};

}  // namespace

bool Query::returns_scalar() const {
  return root_->type == ValueType::kScalar;
}

std::optional<Query> ParseQuery(std::string_view text, std::string* error) {
  std::vector<Token> tokens;
  if (const std::optional<LexError> e = Lex(text, &tokens)) {
    if (error != nullptr) *error = Where(text, e->pos) + ": " + e->message;
    return std::nullopt;
  }
  Parser parser(text, std::move(tokens));
  std::unique_ptr<QueryNode> root = parser.ParseAll();
  if (!root) {
    if (error != nullptr) *error = parser.error();
    return std::nullopt;
  }
  return Query(std::string(text), std::shared_ptr<const QueryNode>(std::move(root)));
}

std::variant<QueryResult, std::string> Evaluate(const Query& query, const SeriesSource& source,
                                                sim::Time now, sim::Time lookback) {
  Evaluator evaluator(source, now, lookback);
  EvalValue value;
  if (!evaluator.Eval(*query.root_, &value)) return evaluator.error();
  QueryResult result;
  if (value.type == ValueType::kScalar) {
    result.scalar = true;
    result.values.push_back(value.scalar);
    return result;
  }
  std::sort(value.vector.begin(), value.vector.end(),
            [](const Element& a, const Element& b) { return a.labels < b.labels; });
  for (Element& e : value.vector) {
    result.values.push_back(e.v);
    result.labels.push_back(std::move(e.labels));
  }
  return result;
}

}  // namespace platsim::platform::analysis
