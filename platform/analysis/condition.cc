#include "platform/analysis/condition.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "platform/analysis/where.h"

namespace platsim::platform::analysis {
namespace internal {

enum class ConditionKind {
  kNumber,
  kBool,
  kResult,
  kElement,    // `#` in a predicate
  kIndex,      // args: base, index
  kCall,       // len, isNaN, isInf; name in `op`
  kPredicate,  // all, any, none, one; args: collection, predicate
  kUnary,      // op: "!", "not", "-", "+"
  kBinary,     // op as written
};

// One node of a parsed condition. A chained comparison shares its middle
// operand between two comparisons, as expr's parser does, hence shared_ptr.
struct ConditionNode {
  ConditionKind kind = ConditionKind::kNumber;
  std::size_t pos = 0;   // byte offset, for errors
  int height = 1;        // this node and the longest chain of operands below it
  double number = 0;     // kNumber
  bool is_int = false;   // kNumber: written without '.' or exponent
  bool boolean = false;  // kBool
  std::string op;        // kUnary, kBinary: the operator; kCall, kPredicate: the function
  std::vector<std::shared_ptr<const ConditionNode>> args;
};

}  // namespace internal

namespace {

using internal::ConditionKind;
using internal::ConditionNode;
using NodePtr = std::shared_ptr<const ConditionNode>;

// ---------------------------------------------------------------------------
// Lexer (expr's parser/lexer, for the tokens of the subset).

enum class Tok { kNumber, kIdent, kOp, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
  std::size_t pos = 0;
};

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || IsDigit(c);
}

struct LexError {
  std::size_t pos = 0;
  std::string message;
};

std::optional<LexError> Lex(std::string_view text, std::vector<Token>* tokens) {
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    const std::size_t start = i;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (IsDigit(c) || (c == '.' && i + 1 < text.size() && IsDigit(text[i + 1]))) {
      // expr's scanNumber: 0x/0o/0b prefixes, '_' separators, a fraction
      // and an exponent; nothing alphanumeric may follow.
      int base = 10;
      if (c == '0' && i + 1 < text.size()) {
        const int p = std::tolower(static_cast<unsigned char>(text[i + 1]));
        base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
        if (base != 10) i += 2;
      }
      auto is_digit = [base](char d) {
        if (d == '_') return true;
        switch (base) {
          case 16:
            return std::isxdigit(static_cast<unsigned char>(d)) != 0;
          case 8:
            return d >= '0' && d <= '7';
          case 2:
            return d == '0' || d == '1';
          default:
            return IsDigit(d);
        }
      };
      while (i < text.size() && is_digit(text[i]))
        ++i;
      if (base == 10 && i < text.size() && text[i] == '.' &&
          !(i + 1 < text.size() && text[i + 1] == '.')) {
        ++i;
        while (i < text.size() && is_digit(text[i]))
          ++i;
      }
      if (base == 10 && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
        while (i < text.size() && IsDigit(text[i]))
          ++i;
      }
      if (i < text.size() && IsIdentChar(text[i])) {
        while (i < text.size() && IsIdentChar(text[i]))
          ++i;
        return LexError{
            start, "bad number syntax: \"" + std::string(text.substr(start, i - start)) + "\""};
      }
      tokens->push_back({Tok::kNumber, std::string(text.substr(start, i - start)), start});
      continue;
    }
    if (IsIdentStart(c)) {
      while (i < text.size() && IsIdentChar(text[i]))
        ++i;
      std::string word(text.substr(start, i - start));
      const bool word_op = word == "and" || word == "or" || word == "not";
      tokens->push_back({word_op ? Tok::kOp : Tok::kIdent, std::move(word), start});
      continue;
    }
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
    bool matched = false;
    for (std::string_view op : kTwo) {
      if (text.substr(i, 2) == op) {
        tokens->push_back({Tok::kOp, std::string(op), start});
        i += 2;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (std::string_view("()[]{},#+-*/%!<>").find(c) != std::string_view::npos) {
      tokens->push_back({Tok::kOp, std::string(1, c), start});
      ++i;
      continue;
    }
    return LexError{start, "unrecognized character '" + std::string(1, c) + "'"};
  }
  tokens->push_back({Tok::kEnd, "", text.size()});
  return std::nullopt;
}

// Reads a number token as expr does: an int unless it has '.' or an
// exponent (hexadecimal, octal and binary are ints).
bool ParseNumber(const std::string& text, double* out, bool* is_int) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  int base = 10;
  std::string digits = s;
  if (s.size() > 2 && s[0] == '0') {
    const char p = static_cast<char>(std::tolower(static_cast<unsigned char>(s[1])));
    if (p == 'x') base = 16;
    if (p == 'o') base = 8;
    if (p == 'b') base = 2;
    if (base != 10) digits = s.substr(2);
  }
  if (base != 10) {
    if (digits.empty()) return false;
    char* end = nullptr;
    *out = static_cast<double>(std::strtoull(digits.c_str(), &end, base));
    *is_int = true;
    return *end == '\0';
  }
  *is_int = s.find_first_of(".eE") == std::string::npos;
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

// ---------------------------------------------------------------------------
// Parser: expr's parseExpression, parsePrimary and parseComparison.

// parser/operator/operator.go, for the operators of the subset.
std::optional<int> BinaryPrecedence(std::string_view op) {
  if (op == "or" || op == "||") return 10;
  if (op == "and" || op == "&&") return 15;
  if (op == "==" || op == "!=" || op == "<" || op == ">" || op == "<=" || op == ">=") return 20;
  if (op == "+" || op == "-") return 30;
  if (op == "*" || op == "/" || op == "%") return 60;
  return std::nullopt;
}
std::optional<int> UnaryPrecedence(std::string_view op) {
  if (op == "not" || op == "!") return 50;
  if (op == "-" || op == "+") return 90;
  return std::nullopt;
}
bool IsOrdering(std::string_view op) {
  return op == "<" || op == ">" || op == "<=" || op == ">=";
}

bool IsFunction(std::string_view name) {
  return name == "len" || name == "isNaN" || name == "isInf";
}
bool IsPredicate(std::string_view name) {
  return name == "all" || name == "any" || name == "none" || name == "one";
}

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> tokens)
      : text_(text), tokens_(std::move(tokens)) {}

  NodePtr ParseAll() {
    NodePtr root = ParseExpression(0);
    if (!root) return nullptr;
    if (Peek().kind != Tok::kEnd) return Unexpected(Peek());
    return root;
  }

  const std::string& error() const { return error_; }

 private:
  const Token& Peek() const { return tokens_[next_]; }
  const Token& Take() {
    const Token& t = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    return t;
  }
  bool PeekOp(std::string_view op) const { return Peek().kind == Tok::kOp && Peek().text == op; }

  std::nullptr_t Fail(std::size_t pos, const std::string& message) {
    if (error_.empty()) error_ = Where(text_, pos) + ": " + message;
    return nullptr;
  }
  std::nullptr_t Unexpected(const Token& t) {
    if (t.kind == Tok::kEnd) return Fail(t.pos, "unexpected end of input");
    return Fail(t.pos, "unexpected token '" + t.text + "'");
  }
  bool Expect(std::string_view op) {
    if (PeekOp(op)) {
      Take();
      return true;
    }
    if (Peek().kind == Tok::kEnd) {
      Fail(Peek().pos, "unexpected end of input (expected '" + std::string(op) + "')");
    } else {
      Fail(Peek().pos,
           "unexpected token '" + Peek().text + "' (expected '" + std::string(op) + "')");
    }
    return false;
  }

  // Gives `n` its operands; null (and an error) if the tree grows taller
  // than kMaxHeight.
  NodePtr Finish(std::shared_ptr<ConditionNode> n, std::vector<NodePtr> args) {
    for (const NodePtr& a : args)
      n->height = std::max(n->height, a->height + 1);
    n->args = std::move(args);
    if (n->height > kMaxHeight) return Fail(n->pos, kTooDeep);
    return n;
  }

  NodePtr Binary(std::string op, NodePtr l, NodePtr r, std::size_t pos) {
    auto n = std::make_shared<ConditionNode>();
    n->kind = ConditionKind::kBinary;
    n->op = std::move(op);
    n->pos = pos;
    return Finish(std::move(n), {std::move(l), std::move(r)});
  }

  NodePtr ParseExpression(int precedence) {
    if (depth_ >= kMaxHeight) return Fail(Peek().pos, kTooDeep);
    ++depth_;
    NodePtr expr = ParseExpressionAt(precedence);
    --depth_;
    return expr;
  }

  NodePtr ParseExpressionAt(int precedence) {
    NodePtr left = ParsePrimary();
    if (!left) return nullptr;
    for (;;) {
      const Token& t = Peek();
      if (t.kind != Tok::kOp) break;
      const std::optional<int> p = BinaryPrecedence(t.text);
      if (!p || *p < precedence) break;
      Take();
      if (IsOrdering(t.text)) {
        left = ParseComparison(std::move(left), t, *p);
      } else {
        NodePtr right = ParseExpression(*p + 1);
        if (!right) return nullptr;
        left = Binary(t.text, std::move(left), std::move(right), t.pos);
      }
      if (!left) return nullptr;
    }
    return left;
  }

  // `a < b < c` is `a < b && b < c` (parseComparison).
  NodePtr ParseComparison(NodePtr left, const Token& first, int precedence) {
    NodePtr root;
    const Token* op = &first;
    for (;;) {
      NodePtr comparator = ParseExpression(precedence + 1);
      if (!comparator) return nullptr;
      NodePtr cmp = Binary(op->text, left, comparator, op->pos);
      if (!cmp) return nullptr;
      root = root ? Binary("&&", root, cmp, op->pos) : cmp;
      if (!root) return nullptr;
      left = comparator;
      if (!(Peek().kind == Tok::kOp && IsOrdering(Peek().text))) break;
      op = &Take();
    }
    return root;
  }

  NodePtr ParsePrimary() {
    const Token& t = Peek();
    if (t.kind == Tok::kOp) {
      if (const std::optional<int> p = UnaryPrecedence(t.text)) {
        Take();
        NodePtr operand = ParseExpression(*p);
        if (!operand) return nullptr;
        auto n = std::make_shared<ConditionNode>();
        n->kind = ConditionKind::kUnary;
        n->op = t.text;
        n->pos = t.pos;
        NodePtr unary = Finish(std::move(n), {std::move(operand)});
        if (!unary) return nullptr;
        return ParsePostfix(std::move(unary));
      }
      if (t.text == "(") {
        Take();
        NodePtr inner = ParseExpression(0);
        if (!inner || !Expect(")")) return nullptr;
        return ParsePostfix(std::move(inner));
      }
      if (t.text == "#" && predicate_depth_ > 0) {
        Take();
        auto n = std::make_shared<ConditionNode>();
        n->kind = ConditionKind::kElement;
        n->pos = t.pos;
        return ParsePostfix(std::move(n));
      }
      return Unexpected(t);
    }
    if (t.kind == Tok::kNumber) {
      auto n = std::make_shared<ConditionNode>();
      n->kind = ConditionKind::kNumber;
      n->pos = t.pos;
      if (!ParseNumber(t.text, &n->number, &n->is_int)) {
        return Fail(t.pos, "bad number syntax: \"" + t.text + "\"");
      }
      Take();
      return ParsePostfix(std::move(n));
    }
    if (t.kind == Tok::kIdent) return ParseIdentifier();
    return Unexpected(t);
  }

  NodePtr ParseIdentifier() {
    const Token& t = Take();
    auto n = std::make_shared<ConditionNode>();
    n->pos = t.pos;
    if (t.text == "true" || t.text == "false") {
      n->kind = ConditionKind::kBool;
      n->boolean = t.text == "true";
      return ParsePostfix(std::move(n));
    }
    if (t.text == "result") {
      n->kind = ConditionKind::kResult;
      return ParsePostfix(std::move(n));
    }
    if (PeekOp("(") && (IsFunction(t.text) || IsPredicate(t.text))) {
      Take();
      n->op = t.text;
      if (IsPredicate(t.text)) {
        // all(collection, predicate), the predicate in braces or bare
        // (parsePredicate).
        n->kind = ConditionKind::kPredicate;
        NodePtr collection = ParseExpression(0);
        if (!collection || !Expect(",")) return nullptr;
        const bool braces = PeekOp("{");
        if (braces) Take();
        ++predicate_depth_;
        NodePtr predicate = ParseExpression(0);
        --predicate_depth_;
        if (!predicate || (braces && !Expect("}")) || !Expect(")")) return nullptr;
        NodePtr call = Finish(std::move(n), {std::move(collection), std::move(predicate)});
        if (!call) return nullptr;
        return ParsePostfix(std::move(call));
      }
      n->kind = ConditionKind::kCall;
      std::vector<NodePtr> args;
      if (!PeekOp(")")) {
        for (;;) {
          NodePtr arg = ParseExpression(0);
          if (!arg) return nullptr;
          args.push_back(std::move(arg));
          if (!PeekOp(",")) break;
          Take();
        }
      }
      if (!Expect(")")) return nullptr;
      NodePtr call = Finish(std::move(n), std::move(args));
      if (!call) return nullptr;
      return ParsePostfix(std::move(call));
    }
    // Argo's environment has result, asInt, asFloat, isNaN, isInf, isNil and
    // default; expr adds its builtins. The subset knows the ones above.
    return Fail(t.pos, "unknown name " + t.text);
  }

  // node[index] ...
  NodePtr ParsePostfix(NodePtr node) {
    while (PeekOp("[")) {
      const std::size_t pos = Take().pos;
      NodePtr index = ParseExpression(0);
      if (!index || !Expect("]")) return nullptr;
      auto n = std::make_shared<ConditionNode>();
      n->kind = ConditionKind::kIndex;
      n->pos = pos;
      node = Finish(std::move(n), {std::move(node), std::move(index)});
      if (!node) return nullptr;
    }
    return node;
  }

  // Parsing, checking and evaluation recurse once per level of nesting; the
  // limit keeps a hostile condition from exhausting the stack.
  static constexpr int kMaxHeight = 200;
  static constexpr char kTooDeep[] = "the condition is nested too deeply (more than 200 levels)";

  std::string_view text_;
  std::vector<Token> tokens_;  // ends with kEnd
  std::size_t next_ = 0;
  int depth_ = 0;  // ParseExpression calls under way
  int predicate_depth_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------
// Type checking: expr's checker/checker.go for the subset. kUnknown is the
// type of `result` before it is known; like expr's unknown nature, it is
// accepted wherever a value could be, so that checking with it at parse
// time reports exactly the errors no result could avoid.

enum class Type { kBool, kInt, kFloat, kList, kUnknown };

// The name expr (Go's reflect) gives the type in messages.
const char* TypeName(Type t) {
  switch (t) {
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kFloat:
      return "float64";
    case Type::kList:
      return "[]float64";
    case Type::kUnknown:
      return "interface {}";
  }
  return "?";
}

bool IsNumber(Type t) {
  return t == Type::kInt || t == Type::kFloat;
}

// expr's MaybeCompatible: one side unknown and the other acceptable.
bool MaybeCompatible(Type l, Type r, bool (*ok)(Type)) {
  return (l == Type::kUnknown && r == Type::kUnknown) || (l == Type::kUnknown && ok(r)) ||
         (r == Type::kUnknown && ok(l));
}

class Checker {
 public:
  explicit Checker(Type result) : result_(result) {}

  // The node's type, or nullopt with error() and error_pos() set to the
  // first error in expr's visiting order (operands before operators).
  std::optional<Type> Check(const ConditionNode& n) {
    switch (n.kind) {
      case ConditionKind::kNumber:
        return n.is_int ? Type::kInt : Type::kFloat;
      case ConditionKind::kBool:
        return Type::kBool;
      case ConditionKind::kResult:
        return result_;
      case ConditionKind::kElement:  // `#`, parsed only inside a predicate
        if (elements_.empty()) return std::nullopt;
        return elements_.back();
      case ConditionKind::kIndex:
        return CheckIndex(n);
      case ConditionKind::kCall:
        return CheckCall(n);
      case ConditionKind::kPredicate:
        return CheckPredicate(n);
      case ConditionKind::kUnary:
        return CheckUnary(n);
      case ConditionKind::kBinary:
        return CheckBinary(n);
    }
    return Fail(n, "unknown node");
  }

  const std::string& error() const { return error_; }
  std::size_t error_pos() const { return error_pos_; }

 private:
  std::nullopt_t Fail(const ConditionNode& n, std::string message) {
    error_ = std::move(message);
    error_pos_ = n.pos;
    return std::nullopt;
  }

  std::optional<Type> CheckIndex(const ConditionNode& n) {
    const std::optional<Type> base = Check(*n.args[0]);
    if (!base) return std::nullopt;
    const std::optional<Type> index = Check(*n.args[1]);
    if (!index) return std::nullopt;
    if (*base == Type::kUnknown) return Type::kUnknown;
    if (*base == Type::kList) {
      if (*index != Type::kInt && *index != Type::kUnknown) {
        return Fail(*n.args[1],
                    std::string("array elements can only be selected using an integer (got ") +
                        TypeName(*index) + ")");
      }
      return Type::kFloat;
    }
    return Fail(n,
                std::string("type ") + TypeName(*base) + "[" + TypeName(*index) + "] is undefined");
  }

  std::optional<Type> CheckCall(const ConditionNode& n) {
    std::vector<Type> args;
    for (const NodePtr& a : n.args) {
      const std::optional<Type> t = Check(*a);
      if (!t) return std::nullopt;
      args.push_back(*t);
    }
    if (n.op == "len") {
      // builtin.go len's Validate.
      if (args.size() != 1) {
        return Fail(
            n, "invalid number of arguments (expected 1, got " + std::to_string(args.size()) + ")");
      }
      if (args[0] != Type::kList && args[0] != Type::kUnknown) {
        return Fail(n, std::string("invalid argument for len (type ") + TypeName(args[0]) + ")");
      }
      return Type::kInt;
    }
    // isNaN and isInf are func(float64) bool in Argo's environment
    // (checkArguments; an integer argument is converted).
    if (args.size() < 1) return Fail(n, "not enough arguments to call " + n.op);
    if (args.size() > 1) return Fail(n, "too many arguments to call " + n.op);
    if (!IsNumber(args[0]) && args[0] != Type::kUnknown) {
      return Fail(*n.args[0], std::string("cannot use ") + TypeName(args[0]) +
                                  " as argument (type float64) to call " + n.op + " ");
    }
    return Type::kBool;
  }

  std::optional<Type> CheckPredicate(const ConditionNode& n) {
    const std::optional<Type> collection = Check(*n.args[0]);
    if (!collection) return std::nullopt;
    if (*collection != Type::kList && *collection != Type::kUnknown) {
      return Fail(*n.args[0],
                  "builtin " + n.op + " takes only array (got " + TypeName(*collection) + ")");
    }
    elements_.push_back(*collection == Type::kList ? Type::kFloat : Type::kUnknown);
    const std::optional<Type> out = Check(*n.args[1]);
    elements_.pop_back();
    if (!out) return std::nullopt;
    if (*out != Type::kBool && *out != Type::kUnknown) {
      return Fail(*n.args[1],
                  std::string("predicate should return boolean (got ") + TypeName(*out) + ")");
    }
    return Type::kBool;
  }

  std::optional<Type> CheckUnary(const ConditionNode& n) {
    const std::optional<Type> t = Check(*n.args[0]);
    if (!t) return std::nullopt;
    if (n.op == "!" || n.op == "not") {
      if (*t == Type::kBool || *t == Type::kUnknown) return Type::kBool;
    } else {
      if (IsNumber(*t) || *t == Type::kUnknown) return *t;
    }
    return Fail(n, "invalid operation: " + n.op + " (mismatched type " + TypeName(*t) + ")");
  }

  std::optional<Type> CheckBinary(const ConditionNode& n) {
    const std::optional<Type> lt = Check(*n.args[0]);
    if (!lt) return std::nullopt;
    const std::optional<Type> rt = Check(*n.args[1]);
    if (!rt) return std::nullopt;
    const Type l = *lt, r = *rt;
    const std::string& op = n.op;
    auto is_bool = [](Type t) { return t == Type::kBool; };
    auto is_number = [](Type t) { return IsNumber(t); };
    auto is_int = [](Type t) { return t == Type::kInt; };
    if (op == "==" || op == "!=") {
      // Nature.ComparableTo.
      if (l == Type::kUnknown || r == Type::kUnknown || (IsNumber(l) && IsNumber(r)) || l == r) {
        return Type::kBool;
      }
    } else if (op == "or" || op == "||" || op == "and" || op == "&&") {
      if ((l == Type::kBool && r == Type::kBool) || MaybeCompatible(l, r, is_bool)) {
        return Type::kBool;
      }
    } else if (IsOrdering(op)) {
      if ((IsNumber(l) && IsNumber(r)) || MaybeCompatible(l, r, is_number)) return Type::kBool;
    } else if (op == "+" || op == "-" || op == "*") {
      if (IsNumber(l) && IsNumber(r)) {
        return l == Type::kInt && r == Type::kInt ? Type::kInt : Type::kFloat;
      }
      if (MaybeCompatible(l, r, is_number)) return Type::kUnknown;
    } else if (op == "/") {
      if ((IsNumber(l) && IsNumber(r)) || MaybeCompatible(l, r, is_number)) return Type::kFloat;
    } else if (op == "%") {
      if ((l == Type::kInt && r == Type::kInt) || MaybeCompatible(l, r, is_int)) {
        return Type::kInt;
      }
    }
    return Fail(n, "invalid operation: " + op + " (mismatched types " + TypeName(l) + " and " +
                       TypeName(r) + ")");
  }

  const Type result_;
  std::vector<Type> elements_;  // the type of `#` in each enclosing predicate
  std::string error_;
  std::size_t error_pos_ = 0;
};

// ---------------------------------------------------------------------------
// Evaluation (expr's vm, for a tree that has passed the checker with the
// result's type, so every operation here has operands of the right types).

struct RValue {
  Type type = Type::kBool;
  bool b = false;
  double num = 0;
  const std::vector<double>* list = nullptr;
};

RValue Bool(bool b) {
  return {Type::kBool, b, 0, nullptr};
}
RValue Number(Type type, double v) {
  return {type, false, v, nullptr};
}

class Evaluator {
 public:
  explicit Evaluator(const Value& result) : result_(result) {}

  // False with error() set on a run-time error.
  bool Eval(const ConditionNode& n, RValue* out) {
    switch (n.kind) {
      case ConditionKind::kNumber:
        *out = Number(n.is_int ? Type::kInt : Type::kFloat, n.number);
        return true;
      case ConditionKind::kBool:
        *out = Bool(n.boolean);
        return true;
      case ConditionKind::kResult:
        if (const double* d = std::get_if<double>(&result_)) {
          *out = Number(Type::kFloat, *d);
        } else {
          *out = {Type::kList, false, 0, &std::get<std::vector<double>>(result_)};
        }
        return true;
      case ConditionKind::kElement:
        *out = Number(Type::kFloat, elements_.back());
        return true;
      case ConditionKind::kIndex:
        return EvalIndex(n, out);
      case ConditionKind::kCall:
        return EvalCall(n, out);
      case ConditionKind::kPredicate:
        return EvalPredicate(n, out);
      case ConditionKind::kUnary:
        return EvalUnary(n, out);
      case ConditionKind::kBinary:
        return EvalBinary(n, out);
    }
    return Fail("unknown node");
  }

  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }

  // runtime.Fetch: a negative index counts from the end.
  bool EvalIndex(const ConditionNode& n, RValue* out) {
    RValue base, index;
    if (!Eval(*n.args[0], &base) || !Eval(*n.args[1], &index)) return false;
    const auto size = static_cast<std::int64_t>(base.list->size());
    std::int64_t i = static_cast<std::int64_t>(index.num);
    if (i < 0) i += size;
    if (i < 0 || i >= size) {
      return Fail("index out of range: " + std::to_string(i) + " (array length is " +
                  std::to_string(size) + ")");
    }
    *out = Number(Type::kFloat, (*base.list)[static_cast<std::size_t>(i)]);
    return true;
  }

  bool EvalCall(const ConditionNode& n, RValue* out) {
    RValue arg;
    if (!Eval(*n.args[0], &arg)) return false;
    if (n.op == "len") {
      *out = Number(Type::kInt, static_cast<double>(arg.list->size()));
    } else if (n.op == "isNaN") {
      *out = Bool(std::isnan(arg.num));
    } else {
      *out = Bool(std::isinf(arg.num));  // Argo's isInf: math.IsInf(f, 0)
    }
    return true;
  }

  // builtin all, any, none, one: short-circuiting as expr's compiled loops.
  bool EvalPredicate(const ConditionNode& n, RValue* out) {
    RValue collection;
    if (!Eval(*n.args[0], &collection)) return false;
    int matches = 0;
    for (double element : *collection.list) {
      elements_.push_back(element);
      RValue v;
      const bool ok = Eval(*n.args[1], &v);
      elements_.pop_back();
      if (!ok) return false;
      if (v.b) ++matches;
      if (n.op == "all" && !v.b) break;
      if ((n.op == "any" || n.op == "none") && v.b) break;
      if (n.op == "one" && matches > 1) break;
    }
    const auto size = static_cast<int>(collection.list->size());
    if (n.op == "all") *out = Bool(matches == size);
    if (n.op == "any") *out = Bool(matches > 0);
    if (n.op == "none") *out = Bool(matches == 0);
    if (n.op == "one") *out = Bool(matches == 1);
    return true;
  }

  bool EvalUnary(const ConditionNode& n, RValue* out) {
    if (!Eval(*n.args[0], out)) return false;
    if (n.op == "!" || n.op == "not") {
      out->b = !out->b;
    } else if (n.op == "-") {
      out->num = -out->num;
    }
    return true;
  }

  bool EvalBinary(const ConditionNode& n, RValue* out) {
    const std::string& op = n.op;
    RValue l, r;
    if (!Eval(*n.args[0], &l)) return false;
    if (op == "&&" || op == "and" || op == "||" || op == "or") {
      const bool is_and = op == "&&" || op == "and";
      if (l.b != is_and) {  // false && ..., true || ...
        *out = Bool(l.b);
        return true;
      }
      if (!Eval(*n.args[1], &r)) return false;
      *out = Bool(r.b);
      return true;
    }
    if (!Eval(*n.args[1], &r)) return false;
    if (op == "==" || op == "!=") {
      bool equal = false;
      if (l.type == Type::kBool) {
        equal = l.b == r.b;
      } else if (l.type == Type::kList) {
        equal = *l.list == *r.list;  // reflect.DeepEqual: element-wise ==
      } else {
        equal = l.num == r.num;
      }
      *out = Bool(op == "==" ? equal : !equal);
      return true;
    }
    if (op == "<") *out = Bool(l.num < r.num);
    if (op == "<=") *out = Bool(l.num <= r.num);
    if (op == ">") *out = Bool(l.num > r.num);
    if (op == ">=") *out = Bool(l.num >= r.num);
    const Type arithmetic =
        l.type == Type::kInt && r.type == Type::kInt ? Type::kInt : Type::kFloat;
    if (op == "+") *out = Number(arithmetic, l.num + r.num);
    if (op == "-") *out = Number(arithmetic, l.num - r.num);
    if (op == "*") *out = Number(arithmetic, l.num * r.num);
    if (op == "/") *out = Number(Type::kFloat, l.num / r.num);  // IEEE, as Go's float64
    if (op == "%") {
      const auto a = static_cast<std::int64_t>(l.num);
      const auto b = static_cast<std::int64_t>(r.num);
      if (b == 0) return Fail("runtime error: integer divide by zero");
      *out = Number(Type::kInt, b == -1 ? 0 : static_cast<double>(a % b));
    }
    return true;
  }

  const Value& result_;
  std::vector<double> elements_;  // `#` of each enclosing predicate
  std::string error_;
};

bool IsEmpty(const Value& v) {
  const auto* list = std::get_if<std::vector<double>>(&v);
  return list != nullptr && list->empty();
}

}  // namespace

std::optional<Condition> ParseCondition(std::string_view text, std::string* error) {
  std::vector<Token> tokens;
  if (const std::optional<LexError> e = Lex(text, &tokens)) {
    if (error != nullptr) *error = Where(text, e->pos) + ": " + e->message;
    return std::nullopt;
  }
  Parser parser(text, std::move(tokens));
  NodePtr root = parser.ParseAll();
  if (!root) {
    if (error != nullptr) *error = parser.error();
    return std::nullopt;
  }
  // What fails with a result of unknown type fails with any result.
  Checker checker(Type::kUnknown);
  if (!checker.Check(*root)) {
    if (error != nullptr) *error = Where(text, checker.error_pos()) + ": " + checker.error();
    return std::nullopt;
  }
  return Condition(std::string(text), std::move(root));
}

// utils/evaluate/evaluate.go EvalCondition: compile with the result's type
// (type errors first), run, then require a boolean.
std::variant<bool, std::string> Evaluate(const Condition& condition, const Value& result) {
  const Type result_type = std::holds_alternative<double>(result) ? Type::kFloat : Type::kList;
  Checker checker(result_type);
  if (!checker.Check(*condition.root_)) return checker.error();
  Evaluator evaluator(result);
  RValue v;
  if (!evaluator.Eval(*condition.root_, &v)) return evaluator.error();
  if (v.type != Type::kBool) return std::string("expected bool, but got ") + TypeName(v.type);
  return v.b;
}

Assessment AssessMeasurement(const Condition* success, const Condition* failure,
                             const Value& result) {
  // formatEvalError: an empty vector gets its own explanation.
  auto error = [&](const char* which, const Condition& c, const std::string& message) {
    Assessment a;
    a.phase = MeasurementPhase::kError;
    a.message = std::string("could not evaluate ") + which + " \"" + c.text() + "\": " +
                (IsEmpty(result)
                     ? "metric result is nil or empty: no data returned from the metric provider"
                     : message);
    return a;
  };
  bool success_holds = false;
  bool failure_holds = false;
  if (success != nullptr) {
    auto v = Evaluate(*success, result);
    if (const auto* e = std::get_if<std::string>(&v))
      return error("successCondition", *success, *e);
    success_holds = std::get<bool>(v);
  }
  if (failure != nullptr) {
    auto v = Evaluate(*failure, result);
    if (const auto* e = std::get_if<std::string>(&v))
      return error("failureCondition", *failure, *e);
    failure_holds = std::get<bool>(v);
  }
  if (success == nullptr && failure == nullptr) return {MeasurementPhase::kSuccessful, ""};
  if (failure == nullptr) failure_holds = !success_holds;
  if (success == nullptr) success_holds = !failure_holds;
  if (failure_holds) return {MeasurementPhase::kFailed, ""};
  if (!success_holds) return {MeasurementPhase::kInconclusive, ""};
  return {MeasurementPhase::kSuccessful, ""};
}

}  // namespace platsim::platform::analysis
