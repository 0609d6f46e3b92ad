#include "models/llm_step_time.h"

#include <algorithm>

namespace platsim::models {

StepTimeModel::StepTimeModel(const LatencyProfile& profile)
    : prefill_(profile.prefill), decode_(profile.decode) {
  if (profile.model && profile.copy_bandwidth_gbps > 0) {
    // Each GPU of a split pass reads its share of the weights, in parallel.
    weight_read_s_ = profile.model->Parameters() * 2.0 / profile.tensor_parallel /
                     (profile.copy_bandwidth_gbps * 1e9);
  }
}

double StepTimeModel::PrefillSeconds(int seqs, double chunk, double context) const {
  if (context <= 0) return prefill_->Seconds(seqs, chunk);
  return prefill_->Seconds(seqs, context + chunk) - prefill_->Seconds(seqs, context) +
         prefill_->Seconds(seqs, 0);
}

double StepTimeModel::DecodeSeconds(int seqs, double kv) const {
  return decode_->Seconds(seqs, kv);
}

double StepTimeModel::Seconds(const StepShape& step) const {
  double prefill = 0, decode = 0;
  if (step.prefill_seqs > 0) {
    const double n = step.prefill_seqs;
    prefill = PrefillSeconds(step.prefill_seqs, static_cast<double>(step.prefill_tokens) / n,
                             static_cast<double>(step.prefill_context) / n);
  }
  if (step.decode_seqs > 0) {
    decode =
        DecodeSeconds(step.decode_seqs, static_cast<double>(step.decode_kv) / step.decode_seqs);
  }
  if (prefill > 0 && decode > 0)
    return prefill + decode - std::min({weight_read_s_, prefill, decode});
  return prefill + decode;
}

}  // namespace platsim::models
