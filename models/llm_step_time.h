// The time of one step of an LLM serving engine (continuous batching: some
// sequences' prompt chunks and one decode token for each other running
// sequence, in one forward pass), from a decoder's latency profile.
//
// The profile measures two kinds of whole forward passes: prefill P(b, t)
// (b sequences of t prompt tokens each, no earlier context) and decode
// D(b, L) (b sequences of one token each at KV length L). A step is composed
// from them:
// - its prefill part, for n sequences of mean chunk c at mean earlier
//   context k: P(n, k + c) - P(n, k) + P(n, 0), the passes' growth from k
//   to k + c tokens (the chunk's linear work and its attention to the
//   context and itself) plus a pass's fixed cost; P(n, c) exactly when k is
//   0;
// - its decode part, for m sequences of mean KV length L: D(m, L);
// - a mixed step reads the weights once, not twice: the parts add up less
//   min(W, prefill part, decode part), W the time to read the weights at
//   the GPU's measured copy bandwidth (parameters x 2 bytes / bandwidth,
//   over the tensor-parallel GPUs: each reads its share at once),
//   where the profile records the model's shape and the bandwidth (else 0:
//   no overlap, an upper bound).
// A pure prefill or pure decode step is therefore the profile's own
// interpolated value, exact at its grid points; outside the grids the
// grids' fitted trends extrapolate (latency_grid.h). Inside a grid cell the
// interpolation is linear in tokens, so a chunk's attention to its context
// grows from cell to cell, not within one; beyond the grid's longest prompt
// the fitted trend is linear in tokens too, so attention's growth at long
// context is not there. Known limits, to settle against measured mixed
// steps (the live-kernel check): averaging chunks over sequences makes a
// step of one long chunk and several tiny ones cheaper than the long chunk
// alone (P(8, 1000) stands for about P(1, 8000)). Means stand for
// spread: a step's chunks and KV lengths are averaged, which a profile over
// batch and length cannot resolve further.
#ifndef PLATSIM_MODELS_LLM_STEP_TIME_H_
#define PLATSIM_MODELS_LLM_STEP_TIME_H_

#include <cstdint>
#include <memory>

#include "models/latency_grid.h"
#include "models/service_time.h"

namespace platsim::models {

struct StepShape {
  int prefill_seqs = 0;
  std::int64_t prefill_tokens = 0;   // the chunks' tokens, summed
  std::int64_t prefill_context = 0;  // the chunks' earlier context, summed
  int decode_seqs = 0;
  std::int64_t decode_kv = 0;  // the decode sequences' KV lengths, summed
};

class StepTimeModel {
 public:
  // REQUIRES: profile.prefill and profile.decode.
  explicit StepTimeModel(const LatencyProfile& profile);
  double Seconds(const StepShape& step) const;
  // The prefill and decode parts, and the weights' read time.
  double PrefillSeconds(int seqs, double chunk, double context) const;
  double DecodeSeconds(int seqs, double kv) const;
  double weight_read_s() const { return weight_read_s_; }

 private:
  std::shared_ptr<const LatencyGrid> prefill_, decode_;
  double weight_read_s_ = 0;
};

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_LLM_STEP_TIME_H_
