#include "models/input/yaml_reader.h"

#include <yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "models/input/units.h"

namespace platsim::input {
namespace {

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 60)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 60) out += "...";
  return out + "'";
}

// The first byte that is NUL or not part of valid UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), as (line, column).
std::optional<std::pair<int, int>> FindBinary(const std::string& text) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    // The range the second byte must lie in, which rules out overlong forms,
    // surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
    unsigned char low = 0x80, high = 0xbf;
    if (c == 0) return std::make_pair(line, column);
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return std::make_pair(line, column);
    }
    if (extra > 0 && i + extra >= text.size()) return std::make_pair(line, column);
    for (int k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if (k == 1 ? (b < low || b > high) : (b & 0xc0) != 0x80) {
        return std::make_pair(line, column);
      }
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += 1 + extra;
  }
  return std::nullopt;
}

// (line, column), 1-based, of byte `offset` of `text`; columns count
// characters, as libyaml's marks do.
std::pair<int, int> LineColumnAt(const std::string& text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

namespace yaml {

enum class Kind { kNull, kScalar, kMap, kSequence };

struct Value {
  Kind kind = Kind::kNull;
  int line = 0;  // 1-based
  int column = 0;
  std::string scalar;
  // A sequence's items; a mapping's keys and values, alternating. Aliased
  // values appear once per reference (shared, not copied).
  std::vector<const Value*> children;
  // Nodes of this subtree with every alias expanded, saturating.
  std::int64_t expanded = 1;
};

struct Document {
  std::string file;
  std::deque<Value> values;  // stable addresses
  // Documents whose values this one's point to (a merge's inputs).
  std::vector<std::shared_ptr<const Document>> borrowed;
};

}  // namespace yaml

namespace {

using yaml::Kind;

// Owns a libyaml parser or event for the length of a scope.
struct ParserHandle {
  yaml_parser_t parser;
  ParserHandle() { yaml_parser_initialize(&parser); }
  ~ParserHandle() { yaml_parser_delete(&parser); }
};
struct EventHandle {
  yaml_event_t event{};
  ~EventHandle() { yaml_event_delete(&event); }
};

std::string CString(const yaml_char_t* s) {
  return s == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(s));
}

// Plain scalars that YAML reads as null; quoted ones are strings.
bool IsNullScalar(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

}  // namespace

std::string ChildPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

Node::Node(std::shared_ptr<const yaml::Document> doc, const yaml::Value* value,
           const yaml::Value* anchor, std::string path)
    : doc_(std::move(doc)), value_(value), anchor_(anchor), path_(std::move(path)) {}

bool Node::IsMap() const {
  return value_ != nullptr && value_->kind == Kind::kMap;
}
bool Node::IsSequence() const {
  return value_ != nullptr && value_->kind == Kind::kSequence;
}
bool Node::IsScalar() const {
  return value_ != nullptr && value_->kind == Kind::kScalar;
}
bool Node::IsNull() const {
  return value_ != nullptr && value_->kind == Kind::kNull;
}

const std::string& Node::file() const {
  static const std::string kNone;
  return doc_ ? doc_->file : kNone;
}

const std::string& Node::scalar() const {
  return value_->scalar;
}

Location Node::location() const {
  Location loc{file(), 0, 0};
  const yaml::Value* at = value_ != nullptr ? value_ : anchor_;
  if (at != nullptr) {
    loc.line = at->line;
    loc.column = at->column;
  }
  return loc;
}

std::vector<Node> Node::Elements() const {
  std::vector<Node> out;
  if (!IsSequence()) return out;
  out.reserve(value_->children.size());
  for (std::size_t i = 0; i < value_->children.size(); ++i) {
    out.emplace_back(doc_, value_->children[i], nullptr, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

std::vector<Node::Entry> Node::Entries() const {
  std::vector<Entry> out;
  if (!IsMap()) return out;
  const auto& c = value_->children;
  for (std::size_t i = 0; i + 1 < c.size(); i += 2) {
    const std::string key = c[i]->kind == Kind::kScalar ? c[i]->scalar : std::string();
    out.push_back(Entry{Node(doc_, c[i], nullptr, path_),
                        Node(doc_, c[i + 1], nullptr, ChildPath(path_, key))});
  }
  return out;
}

Node Node::Absent(std::string_view key) const {
  return Node(doc_, nullptr, value_ != nullptr ? value_ : anchor_, ChildPath(path_, key));
}

Node Node::WithPath(std::string path) const {
  return Node(doc_, value_, anchor_, std::move(path));
}

std::string Node::Describe() const {
  if (value_ == nullptr) return "nothing";
  switch (value_->kind) {
    case Kind::kNull:
      return "null";
    case Kind::kMap:
      return "a mapping";
    case Kind::kSequence:
      return "a list";
    case Kind::kScalar:
      break;
  }
  return Quote(value_->scalar);
}

namespace {

// RFC 7386's MergePatch over our values: new mappings go into `doc`, every
// other value is shared with the inputs.
class Merger {
 public:
  // `shallow`: a patch's values replace the target's whole (one level).
  Merger(yaml::Document& doc, Diagnostics& diags, bool shallow)
      : doc_(doc), diags_(diags), shallow_(shallow) {}

  // `patch` applied to `target` (null: none, as for a key target lacks).
  const yaml::Value* Merge(const yaml::Value* target, const yaml::Value* patch,
                           const std::string& path) {
    if (patch->kind != Kind::kMap) return patch;
    std::vector<const yaml::Value*> keys, values;
    if (target != nullptr && target->kind == Kind::kMap) {
      for (std::size_t i = 0; i + 1 < target->children.size(); i += 2) {
        keys.push_back(target->children[i]);
        values.push_back(target->children[i + 1]);
      }
    }
    std::vector<std::string> seen;
    const auto& c = patch->children;
    for (std::size_t i = 0; i + 1 < c.size(); i += 2) {
      const yaml::Value* key = c[i];
      const yaml::Value* value = c[i + 1];
      if (key->kind != Kind::kScalar) {
        diags_.Error({doc_.file, key->line, key->column}, path, "mapping keys must be strings");
        continue;
      }
      const std::string child = ChildPath(path, key->scalar);
      if (std::find(seen.begin(), seen.end(), key->scalar) != seen.end()) {
        diags_.Error({doc_.file, key->line, key->column}, child, "duplicate key");
        continue;
      }
      seen.push_back(key->scalar);
      const auto at = std::find_if(keys.begin(), keys.end(), [&](const yaml::Value* k) {
        return k->kind == Kind::kScalar && k->scalar == key->scalar;
      });
      const auto j = at - keys.begin();
      if (value->kind == Kind::kNull) {
        if (at != keys.end()) {
          keys.erase(at);
          values.erase(values.begin() + j);
        }
      } else if (at != keys.end()) {
        values[j] = shallow_ ? value : Merge(values[j], value, child);
      } else {
        keys.push_back(key);
        values.push_back(shallow_ ? value : Merge(nullptr, value, child));
      }
    }
    yaml::Value& out = doc_.values.emplace_back();
    out.kind = Kind::kMap;
    const yaml::Value* at = target != nullptr && target->kind == Kind::kMap ? target : patch;
    out.line = at->line;
    out.column = at->column;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      out.children.push_back(keys[i]);
      out.children.push_back(values[i]);
      out.expanded = std::min(out.expanded + keys[i]->expanded + values[i]->expanded,
                              kMaxYamlExpandedNodes + 1);
    }
    return &out;
  }

 private:
  yaml::Document& doc_;
  Diagnostics& diags_;
  const bool shallow_;
};

}  // namespace

Node Combine(const Node& target, const Node& patch, Diagnostics& diags, bool shallow) {
  if (!patch.present()) return target;
  auto doc = std::make_shared<yaml::Document>();
  doc->file = target.present() ? target.file() : patch.file();
  for (const Node* n : {&target, &patch}) {
    if (n->doc_) doc->borrowed.push_back(n->doc_);
  }
  Merger merger(*doc, diags, shallow);
  const yaml::Value* merged = merger.Merge(target.value_, patch.value_, target.path());
  return Node(std::move(doc), merged, target.present() ? target.anchor_ : patch.anchor_,
              target.path());
}

Node MergePatch(const Node& target, const Node& patch, Diagnostics& diags) {
  return Combine(target, patch, diags, /*shallow=*/false);
}

Node Override(const Node& target, const Node& patch, Diagnostics& diags) {
  return Combine(target, patch, diags, /*shallow=*/true);
}

std::optional<std::string> ReadString(const Node& node, Diagnostics& diags) {
  if (!node.IsScalar()) {
    diags.Error(node.location(), node.path(), "expected a string, got " + node.Describe());
    return std::nullopt;
  }
  return node.scalar();
}

std::optional<std::int64_t> ReadInt(const Node& node, Diagnostics& diags, std::int64_t min,
                                    std::int64_t max) {
  if (!node.IsScalar()) {
    diags.Error(node.location(), node.path(), "expected an integer, got " + node.Describe());
    return std::nullopt;
  }
  const std::string& s = node.scalar();
  std::int64_t value = 0;
  const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    diags.Error(node.location(), node.path(), "expected an integer, got " + node.Describe());
    return std::nullopt;
  }
  if (value < min || value > max) {
    diags.Error(node.location(), node.path(),
                "out of range (got " + s + ", expected " + std::to_string(min) + " to " +
                    std::to_string(max) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<double> ReadNumber(const Node& node, Diagnostics& diags, double min, double max) {
  if (!node.IsScalar()) {
    diags.Error(node.location(), node.path(), "expected a number, got " + node.Describe());
    return std::nullopt;
  }
  const std::string& s = node.scalar();
  double value = 0;
  const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(value)) {
    diags.Error(node.location(), node.path(), "expected a number, got " + node.Describe());
    return std::nullopt;
  }
  if (value < min || value > max) {
    std::ostringstream msg;
    msg << "out of range (got " << s << ", expected " << min << " to " << max << ")";
    diags.Error(node.location(), node.path(), msg.str());
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ReadBool(const Node& node, Diagnostics& diags) {
  if (node.IsScalar()) {
    const std::string& s = node.scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  diags.Error(node.location(), node.path(), "expected true or false, got " + node.Describe());
  return std::nullopt;
}

std::optional<sim::Time> ReadDuration(const Node& node, Diagnostics& diags, sim::Time min,
                                      sim::Time max) {
  if (!node.IsScalar()) {
    diags.Error(node.location(), node.path(),
                "expected a duration like 30s, got " + node.Describe());
    return std::nullopt;
  }
  std::string error;
  const auto value = ParseDuration(node.scalar(), &error);
  if (!value) {
    diags.Error(node.location(), node.path(), error);
    return std::nullopt;
  }
  if (*value < min || *value > max) {
    const std::string expected =
        "at least " + FormatDuration(min) + " and at most " + FormatDuration(max);
    diags.Error(node.location(), node.path(),
                "out of range (got " + node.scalar() + ", expected " + expected + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> ReadQuantityMilli(const Node& node, Diagnostics& diags,
                                              std::int64_t min_milli, std::int64_t max_milli) {
  if (!node.IsScalar()) {
    diags.Error(node.location(), node.path(),
                "expected a quantity like 4, 500m or 16Gi, got " + node.Describe());
    return std::nullopt;
  }
  std::string error;
  const auto value = ParseQuantityMilli(node.scalar(), &error);
  if (!value) {
    diags.Error(node.location(), node.path(), error);
    return std::nullopt;
  }
  if (*value < min_milli || *value > max_milli) {
    auto milli = [](std::int64_t m) {
      return m % 1000 == 0 ? std::to_string(m / 1000) : std::to_string(m) + "m";
    };
    diags.Error(node.location(), node.path(),
                "out of range (got " + node.scalar() + ", expected " + milli(min_milli) + " to " +
                    milli(max_milli) + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> ReadEnum(const Node& node, Diagnostics& diags,
                                    std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed)
    list += (list.empty() ? "" : ", ") + std::string(a);
  if (node.IsScalar()) {
    for (auto a : allowed) {
      if (node.scalar() == a) return node.scalar();
    }
  }
  diags.Error(node.location(), node.path(),
              "unknown value (got " + node.Describe() + ", expected one of: " + list + ")");
  return std::nullopt;
}

MapReader::MapReader(const Node& node, Diagnostics& diags) : node_(node), diags_(diags) {
  if (!node.present() || node.IsNull()) return;
  if (!node.IsMap()) {
    diags.Error(node.location(), node.path(), "expected a mapping, got " + node.Describe());
    ok_ = false;
    return;
  }
  for (const auto& [key, value] : node.Entries()) {
    if (!key.IsScalar()) {
      diags.Error(key.location(), node.path(), "mapping keys must be strings");
      continue;
    }
    const std::string& name = key.scalar();
    if (Find(name) != nullptr) {
      diags.Error(key.location(), ChildPath(node.path(), name), "duplicate key");
      continue;
    }
    entries_.push_back(Entry{name, value, key.location()});
  }
}

std::vector<std::string> MapReader::Keys() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& e : entries_)
    out.push_back(e.key);
  return out;
}

MapReader::Entry* MapReader::Find(std::string_view key) {
  for (auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

bool MapReader::Has(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return true;
  }
  return false;
}

Node MapReader::Get(std::string_view key) {
  Entry* e = Find(key);
  if (e == nullptr) return node_.Absent(key);
  e->used = true;
  return e->value;
}

Node MapReader::Require(std::string_view key) {
  Node n = Get(key);
  // Inside a mapping that is itself missing, nothing more is reported: a
  // required parent was reported already, and an optional one's children
  // are only required when it is there.
  if (!n.present() && ok_ && node_.present()) {
    diags_.Error(node_.location(), ChildPath(node_.path(), key), "required field is missing");
  }
  return n;
}

std::string MapReader::String(std::string_view key, std::string fallback) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadString(n, diags_).value_or(fallback);
}

std::optional<std::string> MapReader::RequiredString(std::string_view key) {
  const Node n = Require(key);
  if (!n.present()) return std::nullopt;
  return ReadString(n, diags_);
}

std::int64_t MapReader::Int(std::string_view key, std::int64_t fallback, std::int64_t min,
                            std::int64_t max) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadInt(n, diags_, min, max).value_or(fallback);
}

double MapReader::Number(std::string_view key, double fallback, double min, double max) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadNumber(n, diags_, min, max).value_or(fallback);
}

std::optional<double> MapReader::RequiredNumber(std::string_view key, double min, double max) {
  const Node n = Require(key);
  if (!n.present()) return std::nullopt;
  return ReadNumber(n, diags_, min, max);
}

bool MapReader::Bool(std::string_view key, bool fallback) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadBool(n, diags_).value_or(fallback);
}

sim::Time MapReader::Duration(std::string_view key, sim::Time fallback, sim::Time min) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadDuration(n, diags_, min).value_or(fallback);
}

std::optional<sim::Time> MapReader::RequiredDuration(std::string_view key, sim::Time min) {
  const Node n = Require(key);
  if (!n.present()) return std::nullopt;
  return ReadDuration(n, diags_, min);
}

std::string MapReader::Enum(std::string_view key, std::string fallback,
                            std::initializer_list<std::string_view> allowed) {
  const Node n = Get(key);
  if (!n.present()) return fallback;
  return ReadEnum(n, diags_, allowed).value_or(fallback);
}

void MapReader::RejectUnknown() {
  for (auto& e : entries_) {
    if (!e.used) {
      diags_.Error(e.key_location, e.value.path(), "unknown field");
      e.used = true;
    }
  }
}

void MapReader::WarnUnknown(std::string_view why) {
  for (auto& e : entries_) {
    if (!e.used) {
      diags_.Warning(e.key_location, e.value.path(), std::string(why));
      e.used = true;
    }
  }
}

void MapReader::AcceptRest() {
  for (auto& e : entries_)
    e.used = true;
}

std::optional<Source> ParseYaml(const std::string& text, const std::string& display_name,
                                Diagnostics& diags) {
  if (static_cast<std::int64_t>(text.size()) > kMaxInputFileBytes) {
    diags.Error(Location{display_name, 0, 0}, "",
                "file too large (" + std::to_string(text.size()) + " bytes, expected at most " +
                    std::to_string(kMaxInputFileBytes) + ")");
    return std::nullopt;
  }
  if (const auto at = FindBinary(text)) {
    diags.Error(Location{display_name, at->first, at->second}, "",
                "binary data (a NUL byte or invalid UTF-8); expected a YAML or JSON text file");
    return std::nullopt;
  }
  auto doc = std::make_shared<yaml::Document>();
  doc->file = display_name;
  std::vector<const yaml::Value*> roots;

  ParserHandle p;
  yaml_parser_set_input_string(&p.parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  yaml_parser_set_encoding(&p.parser, YAML_UTF8_ENCODING);
  struct Frame {
    yaml::Value* value;
    std::string anchor;
  };
  std::vector<Frame> open;
  std::map<std::string, const yaml::Value*, std::less<>> anchors;  // per document
  auto fail = [&](int line, int column, const std::string& message) {
    diags.Error(Location{display_name, line, column}, "", message);
    return std::nullopt;
  };
  // A finished node: register its anchor, attach it to its parent. False
  // (reported) if the document grows past the expansion limit.
  // Nodes of the whole file so far, each alias counting as the subtree it
  // names: checked after every event, so neither memory nor a walk over
  // the tree can grow past the limit.
  std::int64_t total_nodes = 0;
  // A finished node: register its anchor, attach it to its parent.
  auto finish = [&](const yaml::Value* v, const std::string& anchor) {
    if (!anchor.empty()) anchors[anchor] = v;
    if (open.empty()) {
      roots.push_back(v);
    } else {
      yaml::Value* parent = open.back().value;
      parent->children.push_back(v);
      parent->expanded = std::min(parent->expanded + v->expanded, kMaxYamlExpandedNodes + 1);
    }
  };
  const std::string too_many = "more than " + std::to_string(kMaxYamlExpandedNodes) +
                               " nodes in the file, counting every alias as the nodes it "
                               "names; expected a scenario, manifest or profile";
  for (bool done = false; !done;) {
    EventHandle e;
    if (!yaml_parser_parse(&p.parser, &e.event)) {
      const yaml_parser_t& q = p.parser;
      std::string message =
          std::string("YAML syntax error: ") + (q.problem != nullptr ? q.problem : "unknown");
      if (q.error == YAML_READER_ERROR) {
        const auto [line, column] = LineColumnAt(text, q.problem_offset);
        return fail(line, column, message);
      }
      if (q.context != nullptr) {
        message += " (" + std::string(q.context) + " at line " +
                   std::to_string(q.context_mark.line + 1) + ", column " +
                   std::to_string(q.context_mark.column + 1) + ")";
      }
      return fail(static_cast<int>(q.problem_mark.line) + 1,
                  static_cast<int>(q.problem_mark.column) + 1, message);
    }
    const yaml_event_t& ev = e.event;
    const int line = static_cast<int>(ev.start_mark.line) + 1;
    const int column = static_cast<int>(ev.start_mark.column) + 1;
    auto make = [&](Kind kind) {
      ++total_nodes;
      yaml::Value& v = doc->values.emplace_back();
      v.kind = kind;
      v.line = line;
      v.column = column;
      return &v;
    };
    switch (ev.type) {
      case YAML_STREAM_END_EVENT:
        done = true;
        break;
      case YAML_DOCUMENT_START_EVENT:
        anchors.clear();
        break;
      case YAML_SCALAR_EVENT: {
        const auto& sc = ev.data.scalar;
        std::string value(reinterpret_cast<const char*>(sc.value), sc.length);
        const std::string tag = CString(sc.tag);
        const bool null =
            tag == YAML_NULL_TAG ||
            (tag.empty() && sc.style == YAML_PLAIN_SCALAR_STYLE && IsNullScalar(value));
        yaml::Value* v = make(null ? Kind::kNull : Kind::kScalar);
        if (!null) v->scalar = std::move(value);
        finish(v, CString(sc.anchor));
        break;
      }
      case YAML_ALIAS_EVENT: {
        const std::string name = CString(ev.data.alias.anchor);
        const auto it = anchors.find(name);
        if (it == anchors.end()) {
          return fail(line, column, "YAML: alias *" + name + " names no anchor before it");
        }
        total_nodes += it->second->expanded;
        finish(it->second, "");
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (open.size() >= static_cast<std::size_t>(kMaxYamlDepth)) {
          return fail(line, column,
                      "nested too deeply (more than " + std::to_string(kMaxYamlDepth) + " levels)");
        }
        const bool map = ev.type == YAML_MAPPING_START_EVENT;
        const yaml_char_t* anchor =
            map ? ev.data.mapping_start.anchor : ev.data.sequence_start.anchor;
        open.push_back(Frame{make(map ? Kind::kMap : Kind::kSequence), CString(anchor)});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: {
        // The anchor names the node once it is complete, so an alias inside
        // its own anchor's node (a cycle) finds no anchor.
        const Frame frame = std::move(open.back());
        open.pop_back();
        finish(frame.value, frame.anchor);
        break;
      }
      default:
        break;
    }
    if (total_nodes > kMaxYamlExpandedNodes) return fail(line, column, too_many);
  }
  Source source{display_name, {}};
  for (const yaml::Value* root : roots) {
    if (root->kind == Kind::kNull) continue;
    source.documents.emplace_back(doc, root, nullptr, "");
  }
  if (source.documents.empty()) {
    diags.Error(Location{display_name, 1, 1}, "", "file is empty: expected a YAML document");
    return std::nullopt;
  }
  return source;
}

std::optional<Source> LoadYamlFile(const std::string& path, const std::string& display_name,
                                   Diagnostics& diags) {
  const auto text = ReadInputFile(path, display_name, diags);
  if (!text) return std::nullopt;
  return ParseYaml(*text, display_name, diags);
}

void ReportReferenced(const Node& ref, const Diagnostics& file_diags, Diagnostics& diags) {
  for (const Diagnostic& d : file_diags.all()) {
    if (d.location.line > 0) {
      if (d.severity == Severity::kError) {
        diags.Error(d.location, d.path, d.message);
      } else {
        diags.Warning(d.location, d.path, d.message);
      }
    } else {
      const std::string message = d.location.file + ": " + d.message;
      if (d.severity == Severity::kError) {
        diags.Error(ref.location(), ref.path(), message);
      } else {
        diags.Warning(ref.location(), ref.path(), message);
      }
    }
  }
}

std::optional<std::string> ReadInputFile(const std::string& path, const std::string& display_name,
                                         Diagnostics& diags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (fs::exists(status) && !fs::is_regular_file(status)) {
    diags.Error(Location{display_name, 0, 0}, "", "not a regular file");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.Error(Location{display_name, 0, 0}, "",
                std::string("cannot open file: ") + std::strerror(errno));
    return std::nullopt;
  }
  // Read at most one byte past the limit: a file's reported size can be 0
  // (procfs) or change while it is read.
  std::string text;
  char chunk[1 << 16];
  while (in && static_cast<std::int64_t>(text.size()) <= kMaxInputFileBytes) {
    in.read(chunk, sizeof chunk);
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    diags.Error(Location{display_name, 0, 0}, "", "cannot read file");
    return std::nullopt;
  }
  if (static_cast<std::int64_t>(text.size()) > kMaxInputFileBytes) {
    diags.Error(Location{display_name, 0, 0}, "",
                "file too large (more than " + std::to_string(kMaxInputFileBytes) + " bytes)");
    return std::nullopt;
  }
  return text;
}

}  // namespace platsim::input
