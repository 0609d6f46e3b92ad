// What each client's LLM requests did, token by token: time to first token
// (TTFT), the gaps between tokens (inter-token latency, ITL), each
// request's time per output token (TPOT: from its first token to its last,
// over the tokens after the first, as vLLM's
// request_time_per_output_token), output tokens, goodput (requests that met
// both their TTFT and TPOT objectives) and preemptions. Told by the LLM
// model servers as tokens come; counts requests that arrived at or after
// the warm-up ("measured"), as ServiceStats does.
#ifndef PLATSIM_PLATFORM_SERVING_LLM_STATS_H_
#define PLATSIM_PLATFORM_SERVING_LLM_STATS_H_

#include <cstdint>
#include <vector>

#include "platform/serving/request.h"
#include "sim/stats.h"

namespace platsim::platform {

// A client's objectives for goodput; 0: none on that measure.
struct LlmObjectives {
  sim::Time ttft = 0, tpot = 0;
};

struct LlmMetrics {
  sim::QuantileSketch ttft_s = sim::QuantileSketch();
  sim::QuantileSketch itl_s = sim::QuantileSketch();
  sim::QuantileSketch tpot_s = sim::QuantileSketch();  // requests with 2 tokens or more
  // Since the last time-series sample, folded into the above at each: of
  // measured requests, and of warm-up ones (for the samples alone).
  sim::QuantileSketch interval_ttft_s = sim::QuantileSketch();
  sim::QuantileSketch interval_tpot_s = sim::QuantileSketch();
  sim::QuantileSketch interval_warmup_ttft_s = sim::QuantileSketch();
  sim::QuantileSketch interval_warmup_tpot_s = sim::QuantileSketch();
  double ttft_sum_s = 0, itl_sum_s = 0, tpot_sum_s = 0;  // for the means
  std::uint64_t completed = 0;      // requests completed (as their last token came)
  std::uint64_t output_tokens = 0;  // of those
  std::uint64_t prompt_tokens = 0;  // of those
  std::uint64_t good = 0;           // of those, meeting both objectives
  std::uint64_t preemptions = 0;
  std::uint64_t refused = 0;  // too long for the server's max_model_len, or without tokens
};

class LlmStats {
 public:
  explicit LlmStats(std::vector<LlmObjectives> objectives);

  const LlmMetrics& metrics(std::size_t client) const { return metrics_[client]; }
  bool has_objectives(std::size_t client) const {
    return objectives_[client].ttft > 0 || objectives_[client].tpot > 0;
  }

  void FirstToken(const Request& r, sim::Time ttft) {
    LlmMetrics& m = metrics_[r.client];
    if (!r.measured) {
      m.interval_warmup_ttft_s.Add(sim::ToSeconds(ttft));
      return;
    }
    m.interval_ttft_s.Add(sim::ToSeconds(ttft));
    m.ttft_sum_s += sim::ToSeconds(ttft);
  }
  // A token after the first, `gap` after the request's previous one. The
  // tokens of a step come with equal gaps, so equal gaps in a row are
  // counted and added to the sketch once.
  void Token(const Request& r, sim::Time gap) {
    if (!r.measured) return;
    Run& run = runs_[r.client];
    if (gap != run.gap) {
      Flush(r.client);
      run.gap = gap;
    }
    ++run.count;
  }
  // The request's last token came now (before it ends).
  void Finished(const Request& r, const LlmTokens& t, sim::Time now);
  void Preempted(const Request& r) {
    if (r.measured) ++metrics_[r.client].preemptions;
  }
  void Refused(const Request& r) {
    if (r.measured) ++metrics_[r.client].refused;
  }
  // Adds the gaps counted and not yet added, and the last interval's
  // times (before the metrics are read).
  void Fold() {
    for (std::size_t i = 0; i < runs_.size(); ++i) {
      Flush(i);
      ResetInterval(i);
    }
  }
  // A time-series sample was taken: client's interval starts again.
  void ResetInterval(std::size_t client);
  // A quantile of the TTFT or TPOT (`tpot`) of requests whose first token
  // (TTFT) or last (TPOT) came in the interval, warm-up included; NaN if
  // none.
  double IntervalQuantile(std::size_t client, bool tpot, double q) const;

 private:
  struct Run {
    sim::Time gap = -1;
    std::uint64_t count = 0;
  };
  void Flush(std::size_t client);

  std::vector<LlmObjectives> objectives_;
  std::vector<LlmMetrics> metrics_;
  std::vector<Run> runs_;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_LLM_STATS_H_
