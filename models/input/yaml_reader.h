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
#ifndef PLATSIM_MODELS_INPUT_YAML_READER_H_
#define PLATSIM_MODELS_INPUT_YAML_READER_H_

#include <yaml-cpp/yaml.h>

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

class Node {
 public:
  Node() = default;  // absent
  Node(YAML::Node node, std::shared_ptr<const std::string> file, std::string path);

  bool present() const { return present_; }
  bool IsMap() const { return present_ && node_.IsMap(); }
  bool IsSequence() const { return present_ && node_.IsSequence(); }
  bool IsScalar() const { return present_ && node_.IsScalar(); }
  bool IsNull() const { return present_ && node_.IsNull(); }
  const std::string& path() const { return path_; }
  const std::string& file() const { return *file_; }
  std::shared_ptr<const std::string> file_ptr() const { return file_; }
  Location location() const;
  // REQUIRES: IsScalar().
  const std::string& scalar() const { return node_.Scalar(); }
  const YAML::Node& yaml() const { return node_; }
  // Elements of a sequence, with paths `path[i]`. REQUIRES: IsSequence().
  std::vector<Node> Elements() const;
  // A short description of what the node is, for "got X" messages.
  std::string Describe() const;

 private:
  YAML::Node node_;
  std::shared_ptr<const std::string> file_ = std::make_shared<const std::string>();
  std::string path_;
  bool present_ = false;
};

// Typed reading of one node. Each reports a problem to `diags` and returns
// nullopt when the node is not of the expected form or out of range.
std::optional<std::string> ReadString(const Node& node, Diagnostics& diags);
std::optional<std::int64_t> ReadInt(const Node& node, Diagnostics& diags, std::int64_t min,
                                    std::int64_t max);
std::optional<double> ReadNumber(const Node& node, Diagnostics& diags, double min, double max);
std::optional<bool> ReadBool(const Node& node, Diagnostics& diags);
std::optional<sim::Time> ReadDuration(const Node& node, Diagnostics& diags, sim::Time min,
                                      sim::Time max = sim::kNever);
// A resource quantity as a milli-value (see units.h). REQUIRES min >= 0 value.
std::optional<std::int64_t> ReadQuantityMilli(const Node& node, Diagnostics& diags,
                                              std::int64_t min_milli = 0);
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
  std::shared_ptr<const std::string> file;
  std::vector<Node> documents;  // null documents (empty ---) are dropped
};

// Reads and parses `path`; `display_name` is what messages call the file.
// Missing or unreadable files, empty files, binary data (NUL bytes or invalid
// UTF-8) and syntax errors are reported with their line and column; the
// result is then nullopt.
std::optional<Source> LoadYamlFile(const std::string& path, const std::string& display_name,
                                   Diagnostics& diags);
std::optional<Source> ParseYaml(const std::string& text, const std::string& display_name,
                                Diagnostics& diags);

// Joins a field path and a key: Child("spec", "seed") == "spec.seed";
// Child("", "spec") == "spec".
std::string ChildPath(const std::string& parent, std::string_view key);

}  // namespace platsim::input

#endif  // PLATSIM_MODELS_INPUT_YAML_READER_H_
