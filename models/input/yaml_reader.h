// Reading YAML (and JSON, which is YAML) input with exact diagnostics.
//
// A Node is a YAML node together with the file it came from and its field
// path (spec.services[0].traffic), so every problem can be reported as
// `file:line:col: path: message`. A MapReader reads a mapping field by
// field, remembers which keys were read, and reports the rest: as errors for
// platsim's own kinds, as warnings for real Kubernetes manifests (fields
// platsim does not simulate). Nothing here throws; problems go to a
// Diagnostics and the reader returns a fallback so that loading continues and
// every problem is found in one pass.
//
// Parsing is libyaml's (YAML 1.1, which reads JSON too), into a small tree of
// our own that keeps each node's line and column. The tree is bounded so
// that no input hangs or exhausts memory: nesting depth, the number of nodes
// once aliases are expanded, and the size of a file all have limits, each
// reported as an error with its line. Text must be valid UTF-8 (no
// surrogates, overlong forms or code points past U+10FFFF), in the file and
// in what escapes produce.
#ifndef PLATSIM_MODELS_INPUT_YAML_READER_H_
#define PLATSIM_MODELS_INPUT_YAML_READER_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "models/input/diagnostics.h"
#include "sim/time.h"

namespace platsim::input {

namespace yaml {
struct Value;     // one node of a parsed document (yaml_reader.cc)
struct Document;  // owns the values of one file's documents
}  // namespace yaml

// Limits on any input file, so that no input hangs or exhausts memory.
inline constexpr std::int64_t kMaxInputFileBytes = std::int64_t{256} << 20;
inline constexpr int kMaxYamlDepth = 512;
// Nodes one file may hold, each alias counting as the nodes it names (the
// reader visits an aliased subtree once per reference).
inline constexpr std::int64_t kMaxYamlExpandedNodes = 4'000'000;

class Node {
 public:
  Node() = default;  // absent, with no location

  bool present() const { return value_ != nullptr; }
  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;  // a string, number or boolean; null is not a scalar
  bool IsNull() const;
  const std::string& path() const { return path_; }
  const std::string& file() const;
  // Where the node is; for an absent node, where its parent mapping is (so
  // that "required field is missing" points somewhere useful).
  Location location() const;
  // REQUIRES: IsScalar().
  const std::string& scalar() const;
  // Elements of a sequence, with paths `path[i]`. REQUIRES: IsSequence().
  std::vector<Node> Elements() const;
  // Key and value of each entry of a mapping, in file order; values have
  // paths `path.key`. Keys that are not scalars come back with an empty
  // key string. REQUIRES: IsMap().
  struct Entry;
  std::vector<Entry> Entries() const;
  // The child of a mapping at `key`, absent (located at this node) if
  // there is none or this is not a mapping.
  Node Absent(std::string_view key) const;
  // The same node under another field path.
  Node WithPath(std::string path) const;
  // A short description of what the node is, for "got X" messages.
  std::string Describe() const;

  // For the parser: `value` (or, when it is null, `anchor`) belongs to `doc`.
  Node(std::shared_ptr<const yaml::Document> doc, const yaml::Value* value,
       const yaml::Value* anchor, std::string path);

 private:
  friend Node Combine(const Node& target, const Node& patch, Diagnostics& diags, bool shallow);

  std::shared_ptr<const yaml::Document> doc_;
  const yaml::Value* value_ = nullptr;   // null: absent
  const yaml::Value* anchor_ = nullptr;  // where an absent node is reported
  std::string path_;
};

struct Node::Entry {
  Node key;
  Node value;
};

// `target` patched by `patch` as a JSON Merge Patch (RFC 7386): where
// `patch` is a mapping, the result is `target`'s entries (none if it is not
// a mapping) with each of `patch`'s keys applied in turn: a null value
// removes the key, any other value is merged into the key's value (or added
// after the existing keys); a `patch` that is anything else (a list, a
// scalar, null) replaces `target` whole, so lists are replaced, never
// merged. An absent `patch` leaves `target` as it is. Every value keeps the
// line and column it was written at, so a problem in the result is
// reported where its text is; the result has `target`'s field path.
// Duplicate and non-string keys of `patch` are reported to `diags` (and
// skipped). REQUIRES: both come from one file (messages name `target`'s).
Node MergePatch(const Node& target, const Node& patch, Diagnostics& diags);
// The same one level deep: where both are mappings, each key of `patch`
// replaces (or, null, removes) the target's value whole.
Node Override(const Node& target, const Node& patch, Diagnostics& diags);
// What the two share: MergePatch (`shallow` false) or Override (true).
Node Combine(const Node& target, const Node& patch, Diagnostics& diags, bool shallow);

// Typed reading of one node. Each reports a problem to `diags` and returns
// nullopt when the node is not of the expected form or out of range.
std::optional<std::string> ReadString(const Node& node, Diagnostics& diags);
std::optional<std::int64_t> ReadInt(const Node& node, Diagnostics& diags, std::int64_t min,
                                    std::int64_t max);
std::optional<double> ReadNumber(const Node& node, Diagnostics& diags, double min, double max);
std::optional<bool> ReadBool(const Node& node, Diagnostics& diags);
// Durations are at most sim::kMaxDuration unless a smaller `max` is given.
std::optional<sim::Time> ReadDuration(const Node& node, Diagnostics& diags, sim::Time min,
                                      sim::Time max = sim::kMaxDuration);
// A resource quantity as a milli-value (see units.h), in [min_milli,
// max_milli]; an out-of-range value is reported with the range.
std::optional<std::int64_t> ReadQuantityMilli(const Node& node, Diagnostics& diags,
                                              std::int64_t min_milli, std::int64_t max_milli);
std::optional<std::string> ReadEnum(const Node& node, Diagnostics& diags,
                                    std::initializer_list<std::string_view> allowed);

class MapReader {
 public:
  // An absent node reads as an empty mapping; anything else that is not a
  // mapping is reported (and then reads as empty). Duplicate keys are errors.
  MapReader(const Node& node, Diagnostics& diags);

  const Node& node() const { return node_; }
  bool ok() const { return ok_; }
  bool Has(std::string_view key) const;
  // The mapping's keys in file order (duplicates and non-string keys left out).
  std::vector<std::string> Keys() const;

  // The value at `key` (absent if not there). Marks the key as known.
  Node Get(std::string_view key);
  // Like Get, and reports an error if the key is missing.
  Node Require(std::string_view key);

  // Typed fields: the value if present and valid, else `fallback` (absent) or
  // nullopt-and-reported (invalid). The Required* forms report a missing key.
  std::string String(std::string_view key, std::string fallback);
  std::optional<std::string> RequiredString(std::string_view key);
  std::int64_t Int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  double Number(std::string_view key, double fallback, double min, double max);
  std::optional<double> RequiredNumber(std::string_view key, double min, double max);
  bool Bool(std::string_view key, bool fallback);
  sim::Time Duration(std::string_view key, sim::Time fallback, sim::Time min = 0);
  std::optional<sim::Time> RequiredDuration(std::string_view key, sim::Time min = 0);
  std::string Enum(std::string_view key, std::string fallback,
                   std::initializer_list<std::string_view> allowed);

  // Reports every key that was never read: as errors ("unknown field").
  void RejectUnknown();
  // Reports every key that was never read as a warning with `why`.
  void WarnUnknown(std::string_view why);
  // Marks every key known without reporting (a subtree copied verbatim).
  void AcceptRest();

 private:
  struct Entry {
    std::string key;
    Node value;
    Location key_location;
    bool used = false;
  };
  Entry* Find(std::string_view key);

  Node node_;
  Diagnostics& diags_;
  std::vector<Entry> entries_;
  bool ok_ = true;
};

// A YAML source read from disk (or given as text), split into documents.
struct Source {
  std::string file;
  std::vector<Node> documents;  // null documents (empty ---) are dropped
};

// Reads and parses `path`; `display_name` is what messages call the file.
// Missing or unreadable files, files over kMaxInputFileBytes, empty files,
// binary data (NUL bytes or invalid UTF-8), syntax errors and documents past
// the limits above are reported with their line and column; the result is
// then nullopt.
std::optional<Source> LoadYamlFile(const std::string& path, const std::string& display_name,
                                   Diagnostics& diags);
std::optional<Source> ParseYaml(const std::string& text, const std::string& display_name,
                                Diagnostics& diags);
// The whole of a (non-YAML) input file, with the same checks on opening and
// size as LoadYamlFile; nullopt and reported when it cannot be read.
std::optional<std::string> ReadInputFile(const std::string& path, const std::string& display_name,
                                         Diagnostics& diags);

// Passes on the problems found in a file that the field `ref` names (a
// manifest, a profile, a trace). Problems at a place in the file stay
// there; a file that could not be read at all (no line) is reported at
// `ref` with the file's name, so every message names the line that led to
// it.
void ReportReferenced(const Node& ref, const Diagnostics& file_diags, Diagnostics& diags);

// Joins a field path and a key: Child("spec", "seed") == "spec.seed";
// Child("", "spec") == "spec".
std::string ChildPath(const std::string& parent, std::string_view key);

}  // namespace platsim::input

#endif  // PLATSIM_MODELS_INPUT_YAML_READER_H_
