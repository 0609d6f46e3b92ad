#include "platform/serving/llm_engine.h"

#include <algorithm>
#include <utility>

namespace platsim::platform::llm {

Engine::Engine(sim::Engine& engine, const SchedulerConfig& config, StepTime step_time,
               Observer& observer)
    : engine_(engine),
      scheduler_(config),
      step_time_(std::move(step_time)),
      observer_(observer),
      handler_(engine.AddHandler(this)) {}

std::optional<Scheduler::SeqId> Engine::Add(std::uint64_t request, int prompt_tokens,
                                            int output_tokens, PromptPrefix prefix, int priority) {
  if (!scheduler_.Accepts(prompt_tokens, output_tokens)) return std::nullopt;
  const Scheduler::SeqId seq = scheduler_.Add(prompt_tokens, output_tokens, prefix, priority);
  if (seq >= request_of_.size()) {
    const std::size_t n = seq + 1;
    request_of_.resize(n);
    last_token_.resize(n);
    in_step_.resize(n);
    aborted_.resize(n);
  }
  request_of_[seq] = request;
  aborted_[seq] = 0;
  in_step_[seq] = 0;
  if (!busy_) StartStep();
  return seq;
}

void Engine::Abort(Scheduler::SeqId seq) {
  if (seq >= in_step_.size()) return;
  if (in_step_[seq]) {
    if (!aborted_[seq]) to_abort_.push_back(seq);
    aborted_[seq] = 1;
    return;
  }
  scheduler_.Remove(seq);
}

std::vector<std::uint64_t> Engine::Clear() {
  std::vector<std::uint64_t> held;
  for (const Scheduler::SeqId seq : scheduler_.running_seqs()) {
    if (!aborted_[seq]) held.push_back(request_of_[seq]);
  }
  for (const Scheduler::SeqId seq : scheduler_.waiting_seqs()) {
    if (!aborted_[seq]) held.push_back(request_of_[seq]);
  }
  if (busy_ && engine_.Cancel(step_event_)) busy_time_ += engine_.Now() - step_started_;
  const SchedulerConfig config = scheduler_.config();
  scheduler_ = Scheduler(config);
  std::fill(in_step_.begin(), in_step_.end(), 0);
  std::fill(aborted_.begin(), aborted_.end(), 0);
  to_abort_.clear();
  if (busy_) {
    busy_ = false;
    observer_.OnIdle(engine_.Now());
  }
  return held;
}

void Engine::StartStep() {
  while (true) {
    const Scheduler::Batch& batch = scheduler_.Schedule();
    // The step's requests are marked, and the engine busy, before anyone
    // hears of it: an observer that aborts or adds requests waits for the
    // step.
    models::StepShape shape;
    for (const Scheduler::Batch::Entry& e : batch.entries) {
      in_step_[e.seq] = 1;
      if (e.prefill) {
        ++shape.prefill_seqs;
        shape.prefill_tokens += e.tokens;
        shape.prefill_context += e.computed;
      } else {
        ++shape.decode_seqs;
        shape.decode_kv += e.computed + e.tokens;
      }
    }
    busy_ = true;
    preempted_.assign(batch.preempted.begin(), batch.preempted.end());
    const bool empty = batch.empty();
    if (!empty) {
      step_started_ = engine_.Now();
      step_event_ = engine_.ScheduleAfter(step_time_(shape), handler_, 0);
      observer_.OnStepStart(shape, step_started_);
    }
    for (const Scheduler::SeqId seq : preempted_)
      observer_.OnPreempted(request_of_[seq], engine_.Now());
    if (!empty) return;
    scheduler_.Complete();
    busy_ = false;
    observer_.OnIdle(engine_.Now());
    // Nothing ran. Unless a preemption freed blocks (then schedule again),
    // nothing can until a request arrives or leaves.
    if (preempted_.empty() || scheduler_.waiting() + scheduler_.running() == 0) return;
  }
}

void Engine::OnEvent(std::uint64_t) {
  const sim::Time now = engine_.Now();
  ++steps_;
  busy_time_ += now - step_started_;
  for (const Scheduler::Batch::Entry& e : scheduler_.batch().entries)
    in_step_[e.seq] = 0;
  // What to tell, gathered before telling: an observer may add requests,
  // which may take the ids of those finished here. Still busy meanwhile: a
  // request added waits for the next step, scheduled below.
  const Scheduler::Outcome& o = scheduler_.Complete();
  notes_.clear();
  for (const Scheduler::SeqId seq : o.tokens) {
    if (aborted_[seq]) continue;
    const bool first = scheduler_.output_tokens(seq) == 1;
    notes_.push_back({request_of_[seq], first ? 0 : now - last_token_[seq],
                      first ? Note::kFirst : Note::kToken});
    last_token_[seq] = now;
  }
  for (const Scheduler::SeqId seq : o.finished) {
    if (!aborted_[seq]) notes_.push_back({request_of_[seq], 0, Note::kFinished});
    aborted_[seq] = 0;
  }
  // Aborted requests leave now (those that finished have gone already).
  for (const Scheduler::SeqId seq : to_abort_) {
    if (aborted_[seq]) scheduler_.Remove(seq);
  }
  to_abort_.clear();
  for (const Note& n : notes_) {
    switch (n.kind) {
      case Note::kFirst:
        observer_.OnFirstToken(n.request, now);
        break;
      case Note::kToken:
        observer_.OnToken(n.request, n.gap, now);
        break;
      case Note::kFinished:
        observer_.OnFinished(n.request, now);
        break;
    }
  }
  StartStep();
}

}  // namespace platsim::platform::llm
