// The engine of one LLM serving replica: vLLM's engine loop over its
// scheduler (llm_scheduler.h). While it has work it runs one step after
// another: it schedules a step, which lasts what the step-time model says
// for its shape (prefill chunks and their context, decode sequences and
// their KV lengths: models/llm_step_time.h), and when the step ends its
// requests have their tokens: a first token, one more token each, or their
// last. A request that arrives during a step waits for the next one; one
// that arrives while the engine is idle starts a step at once. A step is
// one event, whatever its batch.
#ifndef PLATSIM_PLATFORM_SERVING_LLM_ENGINE_H_
#define PLATSIM_PLATFORM_SERVING_LLM_ENGINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "models/llm_step_time.h"
#include "platform/serving/llm_scheduler.h"
#include "sim/engine.h"

namespace platsim::platform::llm {

class Engine : public sim::EventHandler {
 public:
  // What the engine tells of its requests (by the caller's ids), at the
  // end of the step that did it: its tokens in batch order, then the
  // requests it finished.
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void OnFirstToken(std::uint64_t request, sim::Time now) = 0;
    // A token after the first: `gap` since the request's previous one.
    virtual void OnToken(std::uint64_t request, sim::Time gap, sim::Time now) = 0;
    virtual void OnFinished(std::uint64_t request, sim::Time now) = 0;
    virtual void OnPreempted(std::uint64_t request, sim::Time now) = 0;
    // A step of `shape` starts; the engine goes idle (no step to run).
    virtual void OnStepStart(const models::StepShape& shape, sim::Time now) {
      (void)shape;
      (void)now;
    }
    virtual void OnIdle(sim::Time now) { (void)now; }
  };
  using StepTime = std::function<sim::Time(const models::StepShape&)>;

  // Borrows engine and observer.
  Engine(sim::Engine& engine, const SchedulerConfig& config, StepTime step_time,
         Observer& observer);

  // A request arrives (`request` is the caller's id); returns its handle,
  // good until the request finishes or is aborted, or nothing if the
  // replica refuses it (Scheduler::Accepts: vLLM answers 400).
  std::optional<Scheduler::SeqId> Add(std::uint64_t request, int prompt_tokens, int output_tokens,
                                      PromptPrefix prefix = {}, int priority = 0);
  // The request's client has gone: it leaves at the end of the step that
  // runs it, or now if none does; nothing more is told of it.
  void Abort(Scheduler::SeqId seq);
  // The replica's process is gone: every request leaves at once, the step
  // running is lost and the KV cache is empty. Returns the caller's ids of
  // the requests it held (not those aborted); nothing is told of them.
  std::vector<std::uint64_t> Clear();

  const Scheduler& scheduler() const { return scheduler_; }
  bool busy() const { return busy_; }
  std::uint64_t steps() const { return steps_; }
  // Time spent running steps (busy), for utilization.
  sim::Time busy_time() const { return busy_time_; }

  void OnEvent(std::uint64_t payload) override;

 private:
  void StartStep();

  sim::Engine& engine_;
  Scheduler scheduler_;
  StepTime step_time_;
  Observer& observer_;
  const sim::HandlerId handler_;
  std::vector<std::uint64_t> request_of_;  // by sequence id
  std::vector<sim::Time> last_token_;      // by sequence id
  std::vector<std::uint8_t> in_step_;      // by sequence id: in the running step
  std::vector<std::uint8_t> aborted_;      // by sequence id: leaves after the step
  std::vector<Scheduler::SeqId> to_abort_;
  struct Note {
    std::uint64_t request;
    sim::Time gap;
    enum Kind : std::uint8_t { kFirst, kToken, kFinished } kind;
  };
  std::vector<Note> notes_;  // what the step's end tells, in order
  std::vector<Scheduler::SeqId> preempted_;
  bool busy_ = false;
  sim::EventId step_event_;
  sim::Time step_started_ = 0;
  std::uint64_t steps_ = 0;
  sim::Time busy_time_ = 0;
};

}  // namespace platsim::platform::llm

#endif  // PLATSIM_PLATFORM_SERVING_LLM_ENGINE_H_
