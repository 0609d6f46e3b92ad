#include "models/service_time.h"

#include <algorithm>
#include <cmath>

namespace platsim::models {

using input::Diagnostics;
using input::MapReader;
using input::Node;

LogNormalServiceTime::LogNormalServiceTime(double mean_s, double cv) : mean_s_(mean_s) {
  const double sigma2 = std::log1p(cv * cv);
  sigma_ = std::sqrt(sigma2);
  mu_ = std::log(mean_s) - sigma2 / 2.0;
}

BatchLatencyTable::BatchLatencyTable(std::vector<Point> points, std::string source, bool estimate)
    : points_(std::move(points)), source_(std::move(source)), estimate_(estimate) {}

double BatchLatencyTable::LatencySeconds(int batch_size) const {
  if (points_.size() == 1 || batch_size <= points_.front().batch_size) {
    return points_.front().latency_s;
  }
  std::size_t hi = 1;
  while (hi + 1 < points_.size() && points_[hi].batch_size < batch_size)
    ++hi;
  const Point& a = points_[hi - 1];
  const Point& b = points_[hi];
  const double slope = (b.latency_s - a.latency_s) / (b.batch_size - a.batch_size);
  // Past the last point the line may slope down if the profile does; never
  // let it go below the last measured latency.
  const double value = a.latency_s + slope * (batch_size - a.batch_size);
  return batch_size > b.batch_size ? std::max(value, b.latency_s) : value;
}

DecoderServiceTime::DecoderServiceTime(std::shared_ptr<const LatencyGrid> prefill,
                                       std::shared_ptr<const LatencyGrid> decode, int prompt_tokens,
                                       int output_tokens, std::string source, bool estimate)
    : prefill_(std::move(prefill)),
      decode_(std::move(decode)),
      prompt_tokens_(prompt_tokens),
      output_tokens_(output_tokens),
      source_(std::move(source)),
      estimate_(estimate) {}

double DecoderServiceTime::MeanBatchSeconds(int batch_size) const {
  const auto b = static_cast<std::size_t>(batch_size);
  if (b >= seconds_by_batch_.size()) seconds_by_batch_.resize(b + 1, 0.0);
  double& total = seconds_by_batch_[b];
  if (total == 0.0) {
    total = prefill_->Seconds(batch_size, prompt_tokens_);
    for (int i = 1; i <= output_tokens_; ++i) {
      total += decode_->Seconds(batch_size, prompt_tokens_ + i);
    }
  }
  return total;
}

std::string DecoderServiceTime::BeyondMeasured(int max_batch_size) const {
  std::string out;
  const std::string prefill =
      prefill_->Beyond(max_batch_size, prompt_tokens_, prompt_tokens_, "batch sizes", "tokens");
  if (!prefill.empty()) out = "prefill: " + prefill;
  if (output_tokens_ > 0) {
    const std::string decode =
        decode_->Beyond(max_batch_size, prompt_tokens_ + 1, prompt_tokens_ + output_tokens_,
                        "batch sizes", "KV lengths");
    if (!decode.empty()) out += (out.empty() ? "" : "; ") + std::string("decode: ") + decode;
  }
  return out;
}

double LatencyProfile::ModelShape::Parameters() const {
  const double head_dim = static_cast<double>(hidden) / heads;
  const double attention = 2.0 * hidden * hidden + 2.0 * hidden * kv_heads * head_dim;
  const double mlp = 3.0 * hidden * static_cast<double>(ffn);
  return 2.0 * vocab * static_cast<double>(hidden) + layers * (attention + mlp);
}

double LatencyProfile::ModelShape::KvBytesPerToken(int bytes_per_value, int tensor_parallel) const {
  const double head_dim = static_cast<double>(hidden) / heads;
  const int heads_here = std::max(1, kv_heads / std::max(1, tensor_parallel));
  return 2.0 * layers * heads_here * head_dim * bytes_per_value;
}

namespace {

// A grid section: two axes and a matrix of seconds, one row per x value.
std::shared_ptr<const LatencyGrid> ReadGrid(const Node& node, const char* x_name,
                                            const char* y_name, Diagnostics& diags) {
  const int errors_before = diags.error_count();
  MapReader m(node, diags);
  auto axis = [&](const char* key) {
    std::vector<double> out;
    const Node list = m.Require(key);
    if (!list.present()) return out;
    if (!list.IsSequence()) {
      diags.Error(list.location(), list.path(), "expected a list of numbers");
      return out;
    }
    for (const Node& v : list.Elements()) {
      const auto x = input::ReadNumber(v, diags, 1.0, 1e9);
      if (!x) continue;
      if (!out.empty() && *x <= out.back()) {
        diags.Error(v.location(), v.path(), "values must strictly increase");
      }
      out.push_back(*x);
    }
    if (out.size() < 2 && list.IsSequence()) {
      diags.Error(list.location(), list.path(), "needs at least two values");
    }
    return out;
  };
  std::vector<double> xs = axis(x_name), ys = axis(y_name);
  std::vector<double> seconds;
  const Node rows = m.Require("latencySeconds");
  if (rows.present() && !rows.IsSequence()) {
    diags.Error(rows.location(), rows.path(), "expected a list of rows");
  } else if (rows.present()) {
    const auto list = rows.Elements();
    if (list.size() != xs.size()) {
      diags.Error(rows.location(), rows.path(),
                  "expected one row per " + std::string(x_name) + " value (" +
                      std::to_string(xs.size()) + "), got " + std::to_string(list.size()));
    }
    for (const Node& row : list) {
      if (!row.IsSequence() || row.Elements().size() != ys.size()) {
        diags.Error(row.location(), row.path(),
                    "expected " + std::to_string(ys.size()) + " values, one per " + y_name);
        continue;
      }
      for (const Node& v : row.Elements()) {
        seconds.push_back(input::ReadNumber(v, diags, 1e-12, 1e6).value_or(1.0));
      }
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return std::make_shared<const LatencyGrid>(std::move(xs), std::move(ys), std::move(seconds));
}

}  // namespace

std::optional<LatencyProfile> ReadLatencyProfile(const std::filesystem::path& path,
                                                 const std::string& display_name,
                                                 Diagnostics& diags) {
  const int errors_before = diags.error_count();
  auto source = input::LoadYamlFile(path.string(), display_name, diags);
  if (!source) return std::nullopt;
  if (source->documents.size() != 1) {
    diags.Error({display_name, 1, 1}, "", "expected exactly one document in a latency profile");
    return std::nullopt;
  }
  LatencyProfile profile;
  MapReader m(source->documents[0], diags);
  const auto api = m.RequiredString("apiVersion");
  if (api && *api != "platsim.dev/v1alpha1") {
    diags.Error(m.Get("apiVersion").location(), "apiVersion",
                "unsupported (got '" + *api + "', expected platsim.dev/v1alpha1)");
  }
  const auto kind = m.RequiredString("kind");
  if (kind && *kind != "LatencyProfile") {
    diags.Error(m.Get("kind").location(), "kind",
                "wrong kind (got '" + *kind + "', expected LatencyProfile)");
  }
  MapReader meta(m.Get("metadata"), diags);
  profile.name = meta.String("name", display_name);
  profile.estimate = meta.Bool("estimate", false);
  profile.context_tokens = static_cast<int>(meta.Int("contextTokens", 0, 0, 1 << 30));
  profile.tensor_parallel = static_cast<int>(meta.Int("tensorParallelSize", 1, 1, 64));
  meta.AcceptRest();
  // Free-form records of how the profile was made: provenance, and from the
  // profiler its raw measurements and kernel table.
  if (const Node provenance = m.Get("provenance"); provenance.IsMap()) {
    // Read where present and well formed; the rest stays free-form.
    input::Diagnostics quiet, quiet_ceilings;
    MapReader p(provenance, quiet);
    MapReader shape(p.Get("model"), quiet);
    LatencyProfile::ModelShape s;
    s.layers = static_cast<int>(shape.Int("layers", 0, 0, 100000));
    s.hidden = static_cast<int>(shape.Int("hidden", 0, 0, 1 << 24));
    s.heads = static_cast<int>(shape.Int("heads", 0, 0, 1 << 16));
    s.kv_heads = static_cast<int>(shape.Int("kvHeads", s.heads, 0, 1 << 16));
    s.ffn = static_cast<int>(shape.Int("ffn", 0, 0, 1 << 26));
    s.vocab = static_cast<int>(shape.Int("vocab", 0, 0, 1 << 26));
    if (quiet.error_count() == 0 && s.layers > 0 && s.hidden > 0 && s.heads > 0 && s.kv_heads > 0 &&
        s.ffn > 0 && s.vocab > 0 && s.hidden % s.heads == 0) {
      profile.model = s;
    }
    input::Diagnostics quiet_device;
    MapReader device(p.Get("device"), quiet_device);
    const std::string device_name = device.String("name", "");
    const double memory_gib = device.Number("memoryGiB", 0, 0, 1e9);
    if (quiet_device.error_count() == 0) {
      profile.device_name = device_name;
      profile.device_memory_bytes = memory_gib * 1024 * 1024 * 1024;
    }
    MapReader ceilings(p.Get("ceilings"), quiet_ceilings);
    const double bw = ceilings.Number("copyBandwidthGBps", 0, 0, 1e7);
    if (quiet_ceilings.error_count() == 0) profile.copy_bandwidth_gbps = bw;
  }
  m.Get("measurements");
  m.Get("kernels");
  if (const Node table = m.Get("batchLatency"); table.present() && !table.IsSequence()) {
    diags.Error(table.location(), table.path(), "expected a list of {batchSize, latencySeconds}");
  } else if (table.present()) {
    for (const Node& entry : table.Elements()) {
      MapReader e(entry, diags);
      const auto batch = e.Require("batchSize");
      const auto latency = e.RequiredNumber("latencySeconds", 1e-12, 1e6);
      e.RejectUnknown();
      const auto b = batch.present() ? input::ReadInt(batch, diags, 1, 1 << 20) : std::nullopt;
      if (!b || !latency) continue;
      if (!profile.batch_latency.empty() && *b <= profile.batch_latency.back().batch_size) {
        diags.Error(entry.location(), entry.path() + ".batchSize",
                    "batch sizes must strictly increase");
        continue;
      }
      profile.batch_latency.push_back({static_cast<int>(*b), *latency});
    }
    if (profile.batch_latency.empty() && table.IsSequence()) {
      diags.Error(table.location(), table.path(), "needs at least one entry");
    }
  }
  if (const Node n = m.Get("encoder"); n.present()) {
    profile.encoder = ReadGrid(n, "batchSizes", "sequenceLengths", diags);
  }
  if (const Node n = m.Get("prefill"); n.present()) {
    profile.prefill = ReadGrid(n, "batchSizes", "tokens", diags);
  }
  if (const Node n = m.Get("decode"); n.present()) {
    profile.decode = ReadGrid(n, "batchSizes", "kvLengths", diags);
  }
  if (!m.Has("batchLatency") && !m.Has("encoder") && !m.Has("prefill") && !m.Has("decode")) {
    diags.Error({display_name, 1, 1}, "",
                "a latency profile needs batchLatency, encoder, or prefill and decode");
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return std::nullopt;
  return profile;
}

std::unique_ptr<ServiceTimeModel> ServiceTimeFromScenario(const Node& node,
                                                          const std::filesystem::path& base_dir,
                                                          Diagnostics& diags) {
  const int errors_before = diags.error_count();
  MapReader m(node, diags);
  if (!m.Has("kind")) m.Require("kind");
  const std::string kind = m.Enum("kind", "", {"constant", "exponential", "lognormal", "profile"});
  std::unique_ptr<ServiceTimeModel> out;
  if (kind == "constant") {
    if (const auto v = m.RequiredDuration("value", 1))
      out = std::make_unique<ConstantServiceTime>(*v);
  } else if (kind == "exponential") {
    if (const auto mean = m.RequiredDuration("mean", 1)) {
      out = std::make_unique<ExponentialServiceTime>(sim::ToSeconds(*mean));
    }
  } else if (kind == "lognormal") {
    const auto mean = m.RequiredDuration("mean", 1);
    const double cv = m.Number("cv", 1.0, 1e-6, 100.0);
    if (mean) out = std::make_unique<LogNormalServiceTime>(sim::ToSeconds(*mean), cv);
  } else if (kind == "profile") {
    const auto file = m.RequiredString("file");
    const Node seq = m.Get("sequenceLength");
    const Node prompt = m.Get("promptTokens");
    const Node output = m.Get("outputTokens");
    const auto sequence_length =
        seq.present() ? input::ReadInt(seq, diags, 1, 1 << 24) : std::nullopt;
    const auto prompt_tokens =
        prompt.present() ? input::ReadInt(prompt, diags, 1, 1 << 24) : std::nullopt;
    const auto output_tokens =
        output.present() ? input::ReadInt(output, diags, 0, 1 << 24) : std::nullopt;
    if (prompt.present() != output.present()) {
      diags.Error(node.location(), node.path(), "promptTokens and outputTokens go together");
    }
    if (seq.present() && prompt.present()) {
      diags.Error(
          seq.location(), seq.path(),
          "give sequenceLength (encoder) or promptTokens and outputTokens (decoder), not both");
    }
    if (file) {
      const std::filesystem::path path = base_dir / *file;
      const std::string display = path.lexically_normal().string();
      Diagnostics file_diags;
      const auto profile = ReadLatencyProfile(path, display, file_diags);
      input::ReportReferenced(m.Get("file"), file_diags, diags);
      const std::string source =
          profile ? "profile " + display + " (" + profile->name + ")" : std::string();
      // Sequences longer than the model takes: the grid may extend to them,
      // the model cannot.
      std::int64_t tokens = 0;
      for (const auto* n : {&sequence_length, &prompt_tokens, &output_tokens}) {
        if (n->has_value()) tokens += **n;
      }
      if (profile && profile->context_tokens > 0 && tokens > profile->context_tokens) {
        const Node at = seq.present() ? seq : prompt;
        diags.Warning(at.location(), at.path(),
                      std::to_string(tokens) +
                          " tokens per sequence is beyond the model's "
                          "context of " +
                          std::to_string(profile->context_tokens) + " tokens (" + display + ")");
      }
      if (profile && sequence_length) {
        if (!profile->encoder) {
          diags.Error(seq.location(), seq.path(), display + " has no encoder grid");
        } else {
          out = std::make_unique<EncoderServiceTime>(
              profile->encoder, static_cast<int>(*sequence_length), source, profile->estimate);
        }
      } else if (profile && prompt_tokens && output_tokens) {
        if (!profile->prefill || !profile->decode) {
          diags.Error(prompt.location(), prompt.path(),
                      display + " needs both prefill and decode grids");
        } else {
          out = std::make_unique<DecoderServiceTime>(
              profile->prefill, profile->decode, static_cast<int>(*prompt_tokens),
              static_cast<int>(*output_tokens), source, profile->estimate);
        }
      } else if (profile && !seq.present() && !prompt.present()) {
        if (profile->batch_latency.empty()) {
          diags.Error(node.location(), node.path(),
                      display +
                          " has no batchLatency table: give sequenceLength (encoder) or "
                          "promptTokens and outputTokens (decoder)");
        } else {
          out = std::make_unique<BatchLatencyTable>(profile->batch_latency, source,
                                                    profile->estimate);
        }
      }
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return out;
}

}  // namespace platsim::models
