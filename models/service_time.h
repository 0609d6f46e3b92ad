// Service-time models: how long a model server takes to run one batch.
//
// A batch of b requests runs as one forward pass, so a model gives the time
// of a whole batch. Constant, exponential and lognormal models ignore the
// batch size (a single draw per batch; with maxBatchSize 1 they are the
// per-request service time of queueing theory). The batch-latency table gives
// latency by batch size, as a GPU latency profile measures it.
#ifndef PLATSIM_MODELS_SERVICE_TIME_H_
#define PLATSIM_MODELS_SERVICE_TIME_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/input/yaml_reader.h"
#include "models/latency_grid.h"
#include "sim/random.h"
#include "sim/time.h"

namespace platsim::models {

class ServiceTimeModel {
 public:
  virtual ~ServiceTimeModel() = default;
  // Time to run a batch. REQUIRES: batch_size >= 1. Never negative.
  virtual sim::Time BatchTime(int batch_size, sim::RandomStream& rng) const = 0;
  // The mean of BatchTime for this batch size, in seconds.
  virtual double MeanBatchSeconds(int batch_size) const = 0;
  // Where the times come from, for outputs: "lognormal", "profile NAME", ...
  virtual std::string Source() const = 0;
  // True if they come from an estimate rather than a GPU measurement.
  virtual bool estimate() const { return false; }
  // "" if batches of 1 to `max_batch_size` stay inside what the profile
  // measured; otherwise how far beyond it they go, for a warning.
  virtual std::string BeyondMeasured(int max_batch_size) const {
    (void)max_batch_size;
    return "";
  }
};

class ConstantServiceTime : public ServiceTimeModel {
 public:
  explicit ConstantServiceTime(sim::Time value) : value_(value) {}
  sim::Time BatchTime(int, sim::RandomStream&) const override { return value_; }
  double MeanBatchSeconds(int) const override { return sim::ToSeconds(value_); }
  std::string Source() const override { return "constant"; }

 private:
  sim::Time value_;
};

class ExponentialServiceTime : public ServiceTimeModel {
 public:
  explicit ExponentialServiceTime(double mean_s) : mean_s_(mean_s) {}
  sim::Time BatchTime(int, sim::RandomStream& rng) const override {
    return sim::FromSeconds(rng.Exponential(mean_s_));
  }
  double MeanBatchSeconds(int) const override { return mean_s_; }
  std::string Source() const override { return "exponential"; }

 private:
  double mean_s_;
};

// Lognormal with the given mean and coefficient of variation (stddev/mean):
// sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2.
class LogNormalServiceTime : public ServiceTimeModel {
 public:
  LogNormalServiceTime(double mean_s, double cv);
  sim::Time BatchTime(int, sim::RandomStream& rng) const override {
    return sim::FromSeconds(rng.LogNormal(mu_, sigma_));
  }
  double MeanBatchSeconds(int) const override { return mean_s_; }
  std::string Source() const override { return "lognormal"; }

 private:
  double mean_s_;
  double mu_;
  double sigma_;
};

// Deterministic latency by batch size: exact at the table's batch sizes,
// linear between them, and beyond the largest batch size extended along the
// line through the last two points (the per-item cost of a GPU forward pass
// becomes constant once the device is saturated). Below the smallest batch
// size the first latency holds.
class BatchLatencyTable : public ServiceTimeModel {
 public:
  struct Point {
    int batch_size;
    double latency_s;
  };
  // REQUIRES: at least one point; batch sizes strictly increasing and >= 1;
  // latencies > 0.
  explicit BatchLatencyTable(std::vector<Point> points, std::string source = "batch table",
                             bool estimate = false);
  sim::Time BatchTime(int batch_size, sim::RandomStream&) const override {
    return sim::FromSeconds(LatencySeconds(batch_size));
  }
  double MeanBatchSeconds(int batch_size) const override { return LatencySeconds(batch_size); }
  double LatencySeconds(int batch_size) const;
  std::string BeyondMeasured(int max_batch_size) const override {
    if (max_batch_size <= points_.back().batch_size) return "";
    return "batch sizes up to " + std::to_string(max_batch_size) + " (measured up to " +
           std::to_string(points_.back().batch_size) +
           "); there the table's last segment is extended linearly";
  }
  std::string Source() const override { return source_; }
  bool estimate() const override { return estimate_; }

 private:
  std::vector<Point> points_;
  std::string source_;
  bool estimate_;
};

// A latency profile (JSON or YAML), as gpu/ writes it for a model on a GPU:
//   {"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
//    "metadata": {"name": ..., "estimate": false},
//    "batchLatency": [{"batchSize": 1, "latencySeconds": 0.012}, ...],
//    "encoder": {"batchSizes": [...], "sequenceLengths": [...],
//                "latencySeconds": [[...], ...]},   one row per batch size
//    "prefill": {"batchSizes": [...], "tokens": [...], "latencySeconds": [[...]]},
//    "decode":  {"batchSizes": [...], "kvLengths": [...], "latencySeconds": [[...]]}}
// Every section is optional but at least one is needed. Grid times are of a
// whole forward pass (every layer, embedding and output head); a decode time
// is one step of one new token per sequence. metadata.estimate marks figures
// not measured on a GPU.
struct LatencyProfile {
  std::string name;
  bool estimate = false;
  int context_tokens = 0;  // metadata.contextTokens: the model's context; 0 if not given
  // metadata.tensorParallelSize: the GPUs one pass is split over; its times
  // are of the whole split pass, and its device of one of the GPUs.
  int tensor_parallel = 1;
  std::vector<BatchLatencyTable::Point> batch_latency;  // empty if absent
  std::shared_ptr<const LatencyGrid> encoder;           // batch x sequence length
  std::shared_ptr<const LatencyGrid> prefill;           // batch x prompt tokens
  std::shared_ptr<const LatencyGrid> decode;            // batch x KV length
  // From the profiler's provenance, where it records them: the model's
  // shape and the GPU's measured copy bandwidth (0: not recorded).
  struct ModelShape {
    int layers = 0, hidden = 0, heads = 0, kv_heads = 0, ffn = 0, vocab = 0;
    // Parameters of a Llama-style decoder of this shape: embedding and
    // output head, and per layer the q, k, v and o projections and a gated
    // MLP of three matrices (norms left out: under 0.01%).
    double Parameters() const;
    // KV cache bytes per token at `bytes_per_value` on one of
    // `tensor_parallel` GPUs: keys and values of every layer's KV heads on
    // that GPU, max(1, kv_heads / g) as vLLM's get_num_kv_heads
    // (vllm/config/model.py) counts them.
    double KvBytesPerToken(int bytes_per_value, int tensor_parallel = 1) const;
  };
  std::optional<ModelShape> model;
  double copy_bandwidth_gbps = 0;
  // The GPU it was measured on, as the profiler saw it: its name and total
  // memory (0: not recorded).
  std::string device_name;
  double device_memory_bytes = 0;
};

std::optional<LatencyProfile> ReadLatencyProfile(const std::filesystem::path& path,
                                                 const std::string& display_name,
                                                 input::Diagnostics& diags);

// An encoder (or MLP) answering requests of a fixed sequence length: a batch
// of b takes encoder(b, sequence_length).
class EncoderServiceTime : public ServiceTimeModel {
 public:
  EncoderServiceTime(std::shared_ptr<const LatencyGrid> grid, int sequence_length,
                     std::string source, bool estimate)
      : grid_(std::move(grid)),
        sequence_length_(sequence_length),
        source_(std::move(source)),
        estimate_(estimate) {}
  std::string Source() const override { return source_; }
  bool estimate() const override { return estimate_; }
  sim::Time BatchTime(int batch_size, sim::RandomStream&) const override {
    return sim::FromSeconds(MeanBatchSeconds(batch_size));
  }
  double MeanBatchSeconds(int batch_size) const override {
    return grid_->Seconds(batch_size, sequence_length_);
  }
  std::string BeyondMeasured(int max_batch_size) const override {
    return grid_->Beyond(max_batch_size, sequence_length_, sequence_length_, "batch sizes",
                         "sequence length");
  }

 private:
  std::shared_ptr<const LatencyGrid> grid_;
  int sequence_length_;
  std::string source_;
  bool estimate_;
};

// A decoder serving requests of prompt_tokens in and output_tokens out as a
// static batch: the batch is prefilled, then decoded one token per step
// until every sequence has its output; step i reads a KV cache of
// prompt_tokens + i. Batch times are summed once per batch size and kept.
class DecoderServiceTime : public ServiceTimeModel {
 public:
  DecoderServiceTime(std::shared_ptr<const LatencyGrid> prefill,
                     std::shared_ptr<const LatencyGrid> decode, int prompt_tokens,
                     int output_tokens, std::string source, bool estimate);
  std::string Source() const override { return source_; }
  bool estimate() const override { return estimate_; }
  sim::Time BatchTime(int batch_size, sim::RandomStream&) const override {
    return sim::FromSeconds(MeanBatchSeconds(batch_size));
  }
  double MeanBatchSeconds(int batch_size) const override;
  std::string BeyondMeasured(int max_batch_size) const override;

 private:
  std::shared_ptr<const LatencyGrid> prefill_, decode_;
  int prompt_tokens_, output_tokens_;
  std::string source_;
  bool estimate_;
  mutable std::vector<double> seconds_by_batch_;  // 0: not computed yet
};

// Builds a model from a scenario's `serviceTime` mapping (kind: constant |
// exponential | lognormal | profile). A profile is used by its batchLatency
// table, or with `sequenceLength` by its encoder grid, or with
// `promptTokens` and `outputTokens` by its prefill and decode grids.
// Returns nullptr after reporting problems.
std::unique_ptr<ServiceTimeModel> ServiceTimeFromScenario(const input::Node& node,
                                                          const std::filesystem::path& base_dir,
                                                          input::Diagnostics& diags);

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_SERVICE_TIME_H_
