#include "platform/serving/llm_stats.h"

#include <cmath>
#include <utility>

namespace platsim::platform {

LlmStats::LlmStats(std::vector<LlmObjectives> objectives)
    : objectives_(std::move(objectives)), metrics_(objectives_.size()), runs_(objectives_.size()) {}

void LlmStats::Flush(std::size_t client) {
  Run& run = runs_[client];
  if (run.count == 0) return;
  const double s = sim::ToSeconds(run.gap);
  LlmMetrics& m = metrics_[client];
  m.itl_s.AddCount(s, s > sim::QuantileSketch::kMinPositive ? std::log(s) : 0.0, run.count);
  m.itl_sum_s += s * static_cast<double>(run.count);
  run.count = 0;
}

void LlmStats::ResetInterval(std::size_t client) {
  LlmMetrics& m = metrics_[client];
  m.ttft_s.Merge(m.interval_ttft_s);
  m.tpot_s.Merge(m.interval_tpot_s);
  m.interval_ttft_s.Clear();
  m.interval_tpot_s.Clear();
  m.interval_warmup_ttft_s.Clear();
  m.interval_warmup_tpot_s.Clear();
}

double LlmStats::IntervalQuantile(std::size_t client, bool tpot, double q) const {
  const LlmMetrics& m = metrics_[client];
  const sim::QuantileSketch& measured = tpot ? m.interval_tpot_s : m.interval_ttft_s;
  const sim::QuantileSketch& warmup = tpot ? m.interval_warmup_tpot_s : m.interval_warmup_ttft_s;
  if (warmup.count() == 0) return measured.Quantile(q);
  sim::QuantileSketch both = measured;
  both.Merge(warmup);
  return both.Quantile(q);
}

void LlmStats::Finished(const Request& r, const LlmTokens& t, sim::Time now) {
  LlmMetrics& m = metrics_[r.client];
  if (!r.measured) {
    if (t.output > 1) {
      m.interval_warmup_tpot_s.Add(sim::ToSeconds(now - t.first_token) / (t.output - 1));
    }
    return;
  }
  ++m.completed;
  m.output_tokens += static_cast<std::uint64_t>(t.output);
  m.prompt_tokens += static_cast<std::uint64_t>(t.prompt);
  // vLLM's benchmark counts a request of one token as meeting any TPOT
  // objective (it has no time per output token).
  const sim::Time ttft = t.first_token - r.arrival;
  const sim::Time decode = now - t.first_token;  // the tokens after the first
  if (t.output > 1) {
    const double tpot = sim::ToSeconds(decode) / (t.output - 1);
    m.interval_tpot_s.Add(tpot);
    m.tpot_sum_s += tpot;
  }
  const LlmObjectives& o = objectives_[r.client];
  const bool ttft_met = o.ttft == 0 || ttft <= o.ttft;
  const bool tpot_met = o.tpot == 0 || t.output <= 1 || decode <= o.tpot * (t.output - 1);
  if (ttft_met && tpot_met) ++m.good;
}

}  // namespace platsim::platform
