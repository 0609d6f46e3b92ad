#include "models/input/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
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

// The first byte that is NUL or not part of valid UTF-8, as (line, column).
std::optional<std::pair<int, int>> FindBinary(const std::string& text) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    if (c == 0) return std::make_pair(line, column);
    if (c < 0x80) {
      extra = 0;
    } else if ((c & 0xe0) == 0xc0 && c >= 0xc2) {
      extra = 1;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
    } else if ((c & 0xf8) == 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      return std::make_pair(line, column);
    }
    if (extra > 0 && i + extra >= text.size()) return std::make_pair(line, column);
    for (int k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
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

}  // namespace

std::string ChildPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

Node::Node(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)), present_(true) {
  if (!node_.IsDefined()) present_ = false;
}

Location Node::location() const {
  Location loc{*file_, 0, 0};
  if (!present_) return loc;
  const YAML::Mark mark = node_.Mark();
  if (mark.line >= 0) {
    loc.line = mark.line + 1;
    loc.column = mark.column + 1;
  }
  return loc;
}

std::vector<Node> Node::Elements() const {
  std::vector<Node> out;
  std::size_t i = 0;
  for (const auto& element : node_) {
    out.emplace_back(element, file_, path_ + "[" + std::to_string(i++) + "]");
  }
  return out;
}

std::string Node::Describe() const {
  if (!present_) return "nothing";
  if (node_.IsNull()) return "null";
  if (node_.IsMap()) return "a mapping";
  if (node_.IsSequence()) return "a list";
  return Quote(node_.Scalar());
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
    std::string expected = "at least " + FormatDuration(min);
    if (max != sim::kNever) expected += " and at most " + FormatDuration(max);
    diags.Error(node.location(), node.path(),
                "out of range (got " + node.scalar() + ", expected " + expected + ")");
    return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> ReadQuantityMilli(const Node& node, Diagnostics& diags,
                                              std::int64_t min_milli) {
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
  if (*value < min_milli) {
    diags.Error(node.location(), node.path(),
                "out of range (got " + node.scalar() + ", expected a non-negative quantity)");
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
  for (const auto& kv : node.yaml()) {
    const Node key(kv.first, node.file_ptr(), node.path());
    if (!key.IsScalar()) {
      diags.Error(key.location(), node.path(), "mapping keys must be strings");
      continue;
    }
    const std::string& name = key.scalar();
    if (Find(name) != nullptr) {
      diags.Error(key.location(), ChildPath(node.path(), name), "duplicate key");
      continue;
    }
    entries_.push_back(Entry{name, Node(kv.second, node.file_ptr(), ChildPath(node.path(), name)),
                             key.location()});
  }
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
  if (e == nullptr) return Node();
  e->used = true;
  return e->value;
}

Node MapReader::Require(std::string_view key) {
  Node n = Get(key);
  if (!n.present() && ok_) {
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
  auto file = std::make_shared<const std::string>(display_name);
  if (const auto at = FindBinary(text)) {
    diags.Error(Location{display_name, at->first, at->second}, "",
                "binary data (a NUL byte or invalid UTF-8); expected a YAML or JSON text file");
    return std::nullopt;
  }
  Source source{file, {}};
  try {
    for (const YAML::Node& doc : YAML::LoadAll(text)) {
      if (doc.IsNull() || !doc.IsDefined()) continue;
      source.documents.emplace_back(doc, file, "");
    }
  } catch (const YAML::Exception& e) {
    Location at{display_name, 0, 0};
    if (e.mark.line >= 0) {
      at.line = e.mark.line + 1;
      at.column = e.mark.column + 1;
    }
    diags.Error(at, "", "YAML syntax error: " + e.msg);
    return std::nullopt;
  }
  if (source.documents.empty()) {
    diags.Error(Location{display_name, 1, 1}, "", "file is empty: expected a YAML document");
    return std::nullopt;
  }
  return source;
}

std::optional<Source> LoadYamlFile(const std::string& path, const std::string& display_name,
                                   Diagnostics& diags) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)) {
    diags.Error(Location{display_name, 0, 0}, "", "not a regular file");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.Error(Location{display_name, 0, 0}, "", "cannot open file (missing or unreadable)");
    return std::nullopt;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    diags.Error(Location{display_name, 0, 0}, "", "cannot read file");
    return std::nullopt;
  }
  return ParseYaml(buffer.str(), display_name, diags);
}

}  // namespace platsim::input
