#include "platform/serving/llm_scheduler.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace platsim::platform::llm {

std::int64_t KvBlocks(const KvMemory& m) {
  const double requested = std::ceil(m.gpu_memory_bytes * m.utilization);
  const double available = requested - m.weight_bytes - m.other_bytes;
  const double per_block = m.block_size * m.kv_bytes_per_token;
  if (!(available > 0) || !(per_block > 0)) return 0;
  return static_cast<std::int64_t>(std::floor(available / per_block));
}

int SchedulerConfig::ModelLen() const {
  if (max_model_len > 0) return max_model_len;
  const std::int64_t pool = (num_gpu_blocks - 1) * block_size;
  return static_cast<int>(std::clamp<std::int64_t>(pool, 0, 1 << 30));
}

std::string SchedulerConfig::Problem() const {
  if (block_size < 1) return "block_size must be at least 1";
  if (num_gpu_blocks < 2) return "the KV cache needs at least 2 blocks (one is the null block)";
  if (max_num_seqs < 1 || max_num_batched_tokens < 1) {
    return "max_num_seqs and max_num_batched_tokens must be at least 1";
  }
  const std::int64_t pool = (num_gpu_blocks - 1) * static_cast<std::int64_t>(block_size);
  if (ModelLen() < 2 || ModelLen() > pool) {
    return "max_model_len " + std::to_string(ModelLen()) + " does not fit the KV cache's " +
           std::to_string(pool) + " tokens";
  }
  if (!chunked_prefill && max_num_batched_tokens < ModelLen()) {
    return "without chunked prefill, max_num_batched_tokens must be at least max_model_len";
  }
  return "";
}

Scheduler::Scheduler(const SchedulerConfig& config)
    : config_(config), model_len_(config.ModelLen()) {
  // A programming error: the loader checks what users give.
  if (const std::string problem = config.Problem(); !problem.empty()) {
    std::fprintf(stderr, "platsim: bad LLM scheduler configuration: %s\n", problem.c_str());
    std::abort();
  }
}

Scheduler::SeqId Scheduler::Add(int prompt_tokens, int output_tokens) {
  SeqId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<SeqId>(seqs_.size());
    seqs_.emplace_back();
  }
  Seq& s = seqs_[id];
  s = Seq{};
  s.prompt = prompt_tokens;
  s.max_output = output_tokens;
  s.state = State::kWaiting;
  waiting_.push_back(id);
  return id;
}

bool Scheduler::Remove(SeqId seq) {
  if (seq >= seqs_.size()) return false;
  Seq& s = seqs_[seq];
  if (in_step_ && s.state == State::kRunning &&
      std::any_of(batch_.entries.begin(), batch_.entries.end(),
                  [seq](const Batch::Entry& e) { return e.seq == seq; })) {
    return false;
  }
  if (s.state == State::kWaiting) {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq));
  } else if (s.state == State::kRunning) {
    running_.erase(std::find(running_.begin(), running_.end(), seq));
  } else {
    return false;
  }
  Free(s);
  s.state = State::kFree;
  free_ids_.push_back(seq);
  return true;
}

bool Scheduler::Allocate(Seq& seq, int tokens) {
  // kv_cache_manager.py allocate_slots: the blocks for every token computed
  // once this step has run, if that many are free.
  const std::int64_t more = BlocksFor(tokens) - seq.blocks;
  if (more <= 0) return true;
  if (more > free_blocks()) return false;
  seq.blocks += more;
  used_blocks_ += more;
  return true;
}

void Scheduler::Free(Seq& seq) {
  used_blocks_ -= seq.blocks;
  seq.blocks = 0;
}

int Scheduler::NewTokens(const Seq& seq, bool running) const {
  int n = seq.tokens() - seq.computed;
  // The threshold only when more than one request is there to share.
  const int threshold = config_.long_prefill_token_threshold;
  if (threshold > 0 && n > threshold && running_.size() + waiting_.size() > 1) n = threshold;
  return running ? std::min(n, model_len_ - seq.computed - 1) : n;
}

const Scheduler::Batch& Scheduler::Schedule() {
  assert(!in_step_);
  in_step_ = true;
  batch_.entries.clear();
  batch_.preempted.clear();
  int budget = config_.max_num_batched_tokens;
  // Running requests, in order.
  for (std::size_t i = 0; i < running_.size() && budget > 0;) {
    const SeqId id = running_[i];
    Seq& s = seqs_[id];
    const int n = std::min(NewTokens(s, true), budget);
    if (n <= 0) {
      ++i;
      continue;
    }
    bool scheduled = true;
    while (!Allocate(s, s.computed + n)) {
      // Preempt the last running request (FCFS), recomputed later.
      const SeqId victim = running_.back();
      running_.pop_back();
      Seq& v = seqs_[victim];
      Free(v);
      v.computed = 0;
      v.state = State::kWaiting;
      waiting_.push_front(victim);
      batch_.preempted.push_back(victim);
      ++preemptions_;
      if (victim == id) {
        scheduled = false;
        break;
      }
    }
    if (!scheduled) break;
    batch_.entries.push_back({id, n, s.computed, !IsDecode(s, n)});
    budget -= n;
    ++i;
  }
  // Waiting requests, only when nobody was preempted in this step.
  if (batch_.preempted.empty()) {
    while (!waiting_.empty() && budget > 0 &&
           running_.size() < static_cast<std::size_t>(config_.max_num_seqs)) {
      const SeqId id = waiting_.front();
      Seq& s = seqs_[id];
      int n = NewTokens(s, false);
      if (!config_.chunked_prefill && n > budget) break;
      n = std::min(n, budget);
      if (n <= 0) break;
      if (config_.reserve_full_sequence && BlocksFor(s.tokens()) - s.blocks > free_blocks()) break;
      if (!Allocate(s, s.computed + n)) break;
      waiting_.pop_front();
      s.state = State::kRunning;
      running_.push_back(id);
      batch_.entries.push_back({id, n, s.computed, !IsDecode(s, n)});
      budget -= n;
    }
  }
  batch_.tokens = config_.max_num_batched_tokens - budget;
  return batch_;
}

const Scheduler::Outcome& Scheduler::Complete() {
  assert(in_step_);
  in_step_ = false;
  outcome_.tokens.clear();
  outcome_.first_token.clear();
  outcome_.finished.clear();
  outcome_.tokens_out = 0;
  bool any_finished = false;
  for (const Batch::Entry& e : batch_.entries) {
    Seq& s = seqs_[e.seq];
    s.computed += e.tokens;
    if (s.computed < s.tokens()) continue;  // a partial prefill samples nothing
    ++s.output;
    ++outcome_.tokens_out;
    outcome_.tokens.push_back(e.seq);
    if (s.output == 1) outcome_.first_token.push_back(e.seq);
    if (Finished(s)) {
      outcome_.finished.push_back(e.seq);
      Free(s);
      s.state = State::kFree;
      any_finished = true;
    }
  }
  if (any_finished) {
    // Finished requests leave the running list; the others keep their order.
    running_.erase(std::remove_if(running_.begin(), running_.end(),
                                  [this](SeqId id) { return seqs_[id].state == State::kFree; }),
                   running_.end());
    for (const SeqId id : outcome_.finished)
      free_ids_.push_back(id);
  }
  return outcome_;
}

}  // namespace platsim::platform::llm
