#include "gpu/catalogue.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace platsim::gpu {
namespace {

using Json = nlohmann::json;

// Line and column (1-based) of a byte offset.
std::string Where(const std::string& text, const std::string& file, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

// Parses `text` as a platsim.dev/v1alpha1 document of `kind` and returns
// its list field `list`; nullopt after reporting what is wrong.
std::optional<Json> ReadList(const std::string& text, const std::string& file, const char* kind,
                             const char* list, std::vector<std::string>* errors) {
  Json root;
  try {
    root = Json::parse(text);
  } catch (const Json::parse_error& e) {
    errors->push_back(Where(text, file, e.byte > 0 ? e.byte - 1 : 0) + ": " +
                      "JSON syntax error: " + e.what());
    return std::nullopt;
  }
  if (!root.is_object() || root.value("kind", "") != kind ||
      root.value("apiVersion", "") != "platsim.dev/v1alpha1") {
    errors->push_back(file + ": kind: expected apiVersion platsim.dev/v1alpha1 and kind " + kind);
    return std::nullopt;
  }
  if (!root.contains(list) || !root[list].is_array()) {
    errors->push_back(file + ": " + list + ": expected a list of " + list);
    return std::nullopt;
  }
  return root[list];
}

}  // namespace

std::optional<std::vector<ModelShape>> ParseCatalogue(const std::string& text,
                                                      const std::string& file,
                                                      std::vector<std::string>* errors) {
  const std::size_t errors_before = errors->size();
  const auto list = ReadList(text, file, "ModelCatalogue", "models", errors);
  if (!list) return std::nullopt;
  // nlohmann does not keep positions of values; field paths locate problems.
  auto fail = [&](const std::string& path, const std::string& what) {
    errors->push_back(file + ": " + path + ": " + what);
  };
  std::vector<ModelShape> out;
  std::set<std::string> names;
  const Json& models = *list;
  for (std::size_t i = 0; i < models.size(); ++i) {
    const Json& m = models[i];
    const std::string at = "models[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      fail(at, "expected a mapping");
      continue;
    }
    ModelShape s;
    auto integer = [&](const char* key, int min) {
      if (!m.contains(key) || !m[key].is_number_integer()) {
        fail(at + "." + key, "required integer is missing or not an integer");
        return 0;
      }
      const auto v = m[key].get<long long>();
      if (v < min || v > 10'000'000) {
        fail(at + "." + key, "out of range (got " + std::to_string(v) + ")");
        return 0;
      }
      return static_cast<int>(v);
    };
    auto choice = [&](const char* key, std::initializer_list<const char*> allowed) {
      const std::string v = m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : "";
      for (const char* a : allowed) {
        if (v == a) return v;
      }
      std::string list;
      for (const char* a : allowed)
        list += (list.empty() ? "" : ", ") + std::string(a);
      fail(at + "." + key, "expected one of: " + list + " (got '" + v + "')");
      return std::string();
    };
    s.name = m.value("name", "");
    if (s.name.empty()) fail(at + ".name", "required string is missing");
    if (!s.name.empty() && !names.insert(s.name).second)
      fail(at + ".name", "duplicate model " + s.name);
    const std::string arch = choice("architecture", {"encoder", "decoder", "mlp"});
    s.architecture = arch == "encoder"   ? Architecture::kEncoder
                     : arch == "decoder" ? Architecture::kDecoder
                                         : Architecture::kMlp;
    const bool attention = s.architecture != Architecture::kMlp;
    s.layers = integer("layers", 1);
    s.hidden = integer("hidden", 1);
    s.heads = integer("heads", attention ? 1 : 0);
    s.kv_heads = integer("kvHeads", attention ? 1 : 0);
    s.ffn = integer("ffn", 1);
    s.vocab = integer("vocab", 0);
    s.norm =
        choice("norm", {"layernorm", "rmsnorm"}) == "layernorm" ? Norm::kLayerNorm : Norm::kRmsNorm;
    s.activation = choice("activation", {"gelu", "swiglu"}) == "gelu" ? Activation::kGelu
                                                                      : Activation::kSwiGlu;
    if (m.contains("ropeTheta")) {
      if (!m["ropeTheta"].is_number() || m["ropeTheta"].get<double>() <= 0) {
        fail(at + ".ropeTheta", "expected a positive number");
      } else {
        s.rope_theta = m["ropeTheta"].get<double>();
      }
    }
    s.context_tokens = m.contains("contextTokens") ? integer("contextTokens", 1) : 0;
    if (attention && s.heads > 0 && s.hidden % s.heads != 0) {
      fail(at + ".heads", "must divide hidden");
    }
    if (attention && s.kv_heads > 0 && s.heads % s.kv_heads != 0) {
      fail(at + ".kvHeads", "must divide heads (grouped-query attention)");
    }
    if (attention && s.head_dim() % 2 != 0) {
      fail(at + ".heads", "head dimension must be even (rotary embedding rotates pairs)");
    }
    for (const auto& [key, _] : m.items()) {
      static const std::set<std::string> known = {
          "name",  "architecture", "layers",     "hidden",    "heads",  "kvHeads",      "ffn",
          "vocab", "norm",         "activation", "ropeTheta", "source", "contextTokens"};
      if (!known.count(key)) fail(at + "." + key, "unknown field");
    }
    out.push_back(s);
  }
  if (errors->size() != errors_before) return std::nullopt;
  return out;
}

namespace {

std::optional<std::string> ReadText(const std::string& path, std::vector<std::string>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back(path + ": cannot open file");
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<std::vector<ModelShape>> LoadCatalogue(const std::string& path,
                                                     std::vector<std::string>* errors) {
  const auto text = ReadText(path, errors);
  if (!text) return std::nullopt;
  return ParseCatalogue(*text, path, errors);
}

std::optional<std::vector<DeviceSheet>> ParseDeviceCatalogue(const std::string& text,
                                                             const std::string& file,
                                                             std::vector<std::string>* errors) {
  const std::size_t errors_before = errors->size();
  const auto list = ReadList(text, file, "DeviceCatalogue", "devices", errors);
  if (!list) return std::nullopt;
  auto fail = [&](const std::string& path, const std::string& what) {
    errors->push_back(file + ": " + path + ": " + what);
  };
  std::vector<DeviceSheet> out;
  const Json& devices = *list;
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const Json& d = devices[i];
    const std::string at = "devices[" + std::to_string(i) + "]";
    if (!d.is_object()) {
      fail(at, "expected a mapping");
      continue;
    }
    auto positive = [&](const char* key) {
      if (!d.contains(key) || !d[key].is_number() || !(d[key].get<double>() > 0)) {
        fail(at + "." + key, "required positive number is missing or invalid");
        return 0.0;
      }
      return d[key].get<double>();
    };
    DeviceSheet sheet;
    sheet.name = d.value("name", "");
    if (sheet.name.empty()) fail(at + ".name", "required string is missing");
    sheet.bf16_dense_tflops = positive("bf16DenseTflops");
    sheet.memory_bandwidth_gbps = positive("memoryBandwidthGBps");
    sheet.memory_gib = positive("memoryGiB");
    sheet.source = d.value("source", "");
    if (sheet.source.empty()) fail(at + ".source", "say where the figures come from");
    if (d.contains("interconnect")) {
      const Json& link = d["interconnect"];
      const std::string link_at = at + ".interconnect";
      if (!link.is_object()) {
        fail(link_at, "expected a mapping of name, gbpsPerDirection, collectiveLatencyUs, source");
      } else {
        auto number = [&](const char* key, double max) {
          if (!link.contains(key) || !link[key].is_number() || !(link[key].get<double>() > 0) ||
              !(link[key].get<double>() <= max)) {
            fail(link_at + "." + key, "required number in (0, " +
                                          std::to_string(static_cast<long>(max)) +
                                          "] is missing or invalid");
            return 0.0;
          }
          return link[key].get<double>();
        };
        auto text = [&](const char* key) {
          return link.contains(key) && link[key].is_string() ? link[key].get<std::string>() : "";
        };
        sheet.interconnect = text("name");
        if (sheet.interconnect.empty()) fail(link_at + ".name", "required string is missing");
        sheet.interconnect_gbps = number("gbpsPerDirection", 1e6);
        sheet.collective_latency_us = number("collectiveLatencyUs", 1e6);
        sheet.interconnect_source = text("source");
        if (sheet.interconnect_source.empty()) {
          fail(link_at + ".source", "say where the figures come from");
        }
      }
    }
    out.push_back(sheet);
  }
  if (errors->size() != errors_before) return std::nullopt;
  return out;
}

std::optional<std::vector<DeviceSheet>> LoadDeviceCatalogue(const std::string& path,
                                                            std::vector<std::string>* errors) {
  const auto text = ReadText(path, errors);
  if (!text) return std::nullopt;
  return ParseDeviceCatalogue(*text, path, errors);
}

}  // namespace platsim::gpu
