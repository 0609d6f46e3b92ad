// Token counts of LLM requests: distributions to draw a request's prompt
// and output tokens from, and the public trace formats that serving papers
// replay, read into arrivals that carry their tokens.
#ifndef PLATSIM_MODELS_TOKENS_H_
#define PLATSIM_MODELS_TOKENS_H_

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/arrivals.h"
#include "models/input/diagnostics.h"
#include "models/input/yaml_reader.h"
#include "sim/random.h"

namespace platsim::models {

// A distribution of token counts (each at least 1).
class TokenDistribution {
 public:
  virtual ~TokenDistribution() = default;
  virtual int Sample(sim::RandomStream& rng) const = 0;
  // The mean of what Sample returns.
  virtual double Mean() const = 0;
};

// Always `value`.
class FixedTokens : public TokenDistribution {
 public:
  explicit FixedTokens(int value) : value_(value) {}
  int Sample(sim::RandomStream&) const override { return value_; }
  double Mean() const override { return value_; }

 private:
  int value_;
};

// Uniform on the integers min..max (both included).
class UniformTokens : public TokenDistribution {
 public:
  UniformTokens(int min, int max) : min_(min), max_(max) {}
  int Sample(sim::RandomStream& rng) const override;
  double Mean() const override { return (min_ + max_) / 2.0; }

 private:
  int min_, max_;
};

// A lognormal of `mean` and coefficient of variation `cv`, rounded to the
// nearest integer and clamped to min..max. Mean() is that of the rounded,
// clamped values (computed numerically once).
class LogNormalTokens : public TokenDistribution {
 public:
  LogNormalTokens(double mean, double cv, int min, int max);
  int Sample(sim::RandomStream& rng) const override;
  double Mean() const override { return clamped_mean_; }

 private:
  double mu_, sigma_;
  int min_, max_;
  double clamped_mean_;
};

// One of `values` with probability proportional to its weight.
class EmpiricalTokens : public TokenDistribution {
 public:
  // REQUIRES: values non-empty, weights the same size, positive.
  EmpiricalTokens(std::vector<int> values, const std::vector<double>& weights);
  int Sample(sim::RandomStream& rng) const override;
  double Mean() const override { return mean_; }

 private:
  std::vector<int> values_;
  std::vector<double> cumulative_;  // normalised to end at 1
  double mean_ = 0;
};

// From a scenario mapping: {kind: fixed, value} | {kind: uniform, min, max} |
// {kind: lognormal, mean, cv, min (1), max (1,000,000)} | {kind: empirical,
// values: [...], weights: [...] (default all 1)}; or a bare integer, fixed.
// Returns nullptr after reporting problems.
std::unique_ptr<TokenDistribution> TokensFromScenario(const input::Node& node,
                                                      input::Diagnostics& diags);

// The Azure LLM inference trace (Azure/AzurePublicDataset,
// AzureLLMInferenceTrace_{code,conv}.csv): a header `TIMESTAMP,
// ContextTokens,GeneratedTokens`, then rows `2023-11-16 18:15:46.6805900,
// 4808,10`. Times are taken from the first row's.
std::optional<std::vector<Arrival>> ReadAzureLlmTrace(const std::filesystem::path& path,
                                                      const std::string& display_name,
                                                      input::Diagnostics& diags);

// A Mooncake trace (kvcache-ai/Mooncake, FAST'25): JSON lines
// {"timestamp": MS, "input_length": N, "output_length": M, "hash_ids":
// [...]}, the timestamp in milliseconds from the start. hash_ids (the
// prompt's 512-token blocks, chained: equal ids, equal prompts up to there)
// are checked, and with `prefix_ids` appended to it (salted with
// `display_name`, so that two traces' ids stay apart) and borrowed by each
// arrival (Arrival::prefix_ids).
std::optional<std::vector<Arrival>> ReadMooncakeTrace(
    const std::filesystem::path& path, const std::string& display_name, input::Diagnostics& diags,
    std::vector<std::uint64_t>* prefix_ids = nullptr);

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_TOKENS_H_
