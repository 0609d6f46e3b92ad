// The model server of one pod: a queue, a batcher that forms batches from
// it, and the pod's accelerators running the batches.
//
// Lifecycle: starting (admitted, image not yet there) -> loading (containers
// started; refuses requests as not loaded) -> serving -> stopping (deleted:
// refuses new requests, drains without waiting for fuller batches) ->
// stopped (drained, or killed when the grace period ends: what is left ends
// as terminated).
//
// Admission: a request is refused (ended at once) when the server is not
// serving, or when `max_queue_length` requests already wait.
//
// Timeouts: a request still queued `queue_timeout` after it arrived here is
// rejected then, as timed out (one kept after its client left too: the
// server cannot tell). A request whose client gives up is withdrawn per the
// AbandonPolicy: kept (it still fills a batch position and runs), dequeued,
// or also aborted from a running batch (which stops when no request of it
// is left; a static batch is not shortened by losing some).
//
// Accelerators are shared, not free: the pod's concurrent batches share its
// GPUs by processor sharing. With k batches running on a pod of g GPUs each
// progresses at min(1, g/k) of its own speed, so concurrency beyond the
// GPUs overlaps batches without adding capacity. A batch's own time comes
// from the service-time model (the profile's time on one GPU). A pod without
// GPUs runs its `max_concurrency` batches independently (one CPU share
// each). Busy GPU time is the integral of min(k, g).
//
// Nothing is allocated per request once the queue, batches and pool have
// grown to their peak.
#ifndef PLATSIM_PLATFORM_SERVING_MODEL_SERVER_H_
#define PLATSIM_PLATFORM_SERVING_MODEL_SERVER_H_

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "platform/events.h"
#include "platform/ring_queue.h"
#include "platform/serving/config.h"
#include "platform/serving/llm_engine.h"
#include "platform/serving/llm_pod_metrics.h"
#include "platform/serving/llm_stats.h"
#include "platform/serving/request.h"
#include "sim/engine.h"

namespace platsim::platform {

// How batches are formed from the queue: the seam where another policy
// (continuous batching) replaces the dynamic batcher.
class Batcher {
 public:
  struct Decision {
    int take = 0;                       // requests for a batch now; 0: wait
    sim::Time ask_again = sim::kNever;  // when take is 0: when to ask again
  };
  virtual ~Batcher() = default;
  // `queued` >= 1 requests wait, the oldest since `oldest_enqueued`;
  // `draining` once the server stops.
  virtual Decision Next(std::size_t queued, sim::Time oldest_enqueued, sim::Time now,
                        bool draining) const = 0;
};

// Triton's dynamic batcher: a batch starts when a slot is free and either
// max_batch_size requests wait or the oldest has waited max_queue_delay;
// it takes up to max_batch_size requests.
class DynamicBatcher : public Batcher {
 public:
  DynamicBatcher(int max_batch_size, sim::Time max_queue_delay)
      : max_batch_size_(max_batch_size), max_queue_delay_(max_queue_delay) {}
  Decision Next(std::size_t queued, sim::Time oldest_enqueued, sim::Time now,
                bool draining) const override;

 private:
  int max_batch_size_;
  sim::Time max_queue_delay_;
};

// One pod's metrics as its server would expose them: gauges (now) and
// counters, which count from the warm-up (or from the pod's start, if
// later), so that a rate is the difference of two readings over their
// interval, as a scrape of a metrics endpoint gives it.
struct PodMetrics {
  // Gauges.
  std::size_t queued = 0;     // requests waiting (as the server counts them)
  std::size_t executing = 0;  // requests in running batches
  int batches_running = 0;
  std::int64_t gpus = 0;
  int max_batch_size = 1;
  // Counters.
  std::uint64_t completed = 0;         // requests completed (counted by an observer)
  std::uint64_t batches = 0;           // batches started
  std::uint64_t batched_requests = 0;  // requests in those batches
  double gpu_busy_s = 0;               // GPU-seconds with a batch running on the GPU
  double gpu_busy_whole_run_s = 0;     // the same, warm-up included (for power over time)
  double gpu_held_s = 0;               // GPU-seconds held by the pod
  double cpu_s = 0;                    // CPU-seconds of the server process
  // An LLM server's (llm_engine.h): its KV cache in use (a gauge, 0..1)
  // and its preemptions (a counter, from the pod's start).
  double kv_usage = 0;
  std::uint64_t preemptions = 0;
  // Prompt tokens its prefix cache found, of those looked up (counters).
  std::uint64_t prefix_hit_tokens = 0, prefix_query_tokens = 0;
  std::size_t in_flight() const { return queued + executing; }
  // Sums of pods (the largest batch size of the two).
  PodMetrics& operator+=(const PodMetrics& o) {
    queued += o.queued;
    executing += o.executing;
    batches_running += o.batches_running;
    gpus += o.gpus;
    max_batch_size = std::max(max_batch_size, o.max_batch_size);
    completed += o.completed;
    batches += o.batches;
    batched_requests += o.batched_requests;
    gpu_busy_s += o.gpu_busy_s;
    gpu_busy_whole_run_s += o.gpu_busy_whole_run_s;
    gpu_held_s += o.gpu_held_s;
    cpu_s += o.cpu_s;
    kv_usage += o.kv_usage;
    preemptions += o.preemptions;
    prefix_hit_tokens += o.prefix_hit_tokens;
    prefix_query_tokens += o.prefix_query_tokens;
    return *this;
  }
};

// An LLM server (config.llm) runs vLLM's engine (llm_engine.h) in place of
// the queue and batcher: a request joins the engine's waiting queue, or is
// answered with an error (failed) if its prompt and output do not fit
// max_model_len or it has no tokens; it completes with its last token.
// queued counts the engine's waiting requests, executing its running ones;
// a step counts as a batch of its sequences. A client that gives up aborts
// its request wherever it is (vLLM's abort), unless abandoned requests are
// kept. The queue timeout does not apply.
class ModelServer : public sim::EventHandler, public Hop, private llm::Engine::Observer {
 public:
  enum class State { kStarting, kLoading, kServing, kStopping, kStopped };

  // Borrows everything. `service_time` is the model for the node the pod
  // landed on (null: the server refuses requests); `pod` is the data plane's
  // index of this pod; `gpus` the GPUs it holds; `rng` the deployment's
  // service-time stream. Counters count from `warmup`.
  // `errors` is the Deployment's error stream, drawn from when the config
  // has an error_rate (may be null otherwise).
  ModelServer(sim::Engine& engine, RequestTable& table, const ModelServerConfig& config,
              const models::ServiceTimeModel* service_time, sim::RandomStream& rng,
              std::uint32_t pod, std::int64_t gpus, sim::Time warmup,
              sim::RandomStream* errors = nullptr);

  // Lifecycle, driven by the container runtime.
  void StartContainers();
  // The server process exits: what it holds ends (terminated), and it
  // refuses requests until StartContainers starts it (and its load) again.
  void Crash();
  // A server that died with its machine (Die) can start again when the
  // machine is back: StartContainers starts it.
  void Revive();
  // Its machine died: what it holds ends (terminated) at once, with no
  // drain, and it never serves again nor calls a `stopped` given earlier.
  // Its GPUs stay held: the pod object stays.
  void Die();
  // Refuses new requests and drains for at most `grace`, then calls
  // `stopped` once (at once if already idle).
  void Stop(sim::Time grace, std::function<void()> stopped);
  // The pod object is gone: it holds nothing from now on.
  void Release();
  State state() const { return state_; }
  const ModelServerConfig& config() const { return config_; }
  bool serving() const { return state_ == State::kServing; }

  // Hop
  void Accept(RequestId id) override;
  void Withdraw(RequestId id) override;
  bool Gauges(LlmGauges& out) const override;

  // Serves as an LLM replica on that GPU (config.llm), telling `stats` of
  // its requests' tokens, and keeping vLLM's metrics if `exposes_metrics`.
  // Call once, at admission.
  void ServeLlm(const LlmOnGpu& gpu, LlmStats& stats, bool exposes_metrics);
  // An LLM server's histograms and counters under vLLM's names (null: not
  // an LLM server, or not kept); its gauges are Gauges().
  const LlmPodMetrics* VllmMetrics() const { return vllm_metrics_.get(); }
  // Tells `trace` of every batch (or LLM step) this server runs, as pod
  // `pod` (namespace/name). Call at admission.
  void TraceBatches(BatchTrace* trace, std::string pod);

  PodMetrics Metrics() const;
  // CPU model: the server process uses cpu_base while its containers run,
  // plus cpu_per_request of CPU time for every request it executes.
  double CpuSeconds() const;

  void OnEvent(std::uint64_t payload) override;

 private:
  // llm::Engine::Observer
  void OnFirstToken(std::uint64_t request, sim::Time now) override;
  void OnToken(std::uint64_t request, sim::Time gap, sim::Time now) override;
  void OnFinished(std::uint64_t request, sim::Time now) override;
  void OnPreempted(std::uint64_t request, sim::Time now) override;
  void OnStepStart(const models::StepShape& shape, sim::Time now) override;
  void OnIdle(sim::Time now) override;
  void AcceptLlm(RequestId id, sim::Time now);
  void ObserveToken(sim::Time gap);  // into vllm_metrics_
  // The live request `request` names, if this server still holds it.
  Request* HeldLlm(std::uint64_t request);

  enum EventKind : std::uint64_t {
    kDispatch = 0,
    kLoaded = 1,
    kCompletion = 2,
    kQueueDeadline = 3,
    kGraceEnd = 4,  // the termination grace period is over: Kill
  };
  struct Entry {
    RequestRef ref;  // generation 0: removed
    sim::Time enqueued;
  };
  struct Batch {
    std::vector<RequestRef> requests;
    int counted = 0;     // requests the server still counts as executing
    int next_free = -1;  // the next free slot after this one, while free
  };
  // finish_ of a slot whose batch is not running.
  static constexpr std::int64_t kIdle = INT64_MAX;

  void TryDispatch();
  void StartBatch(int size);
  void OnCompletion();
  // Ends the batch in `slot`, and with `outcome` every request of it still
  // held here, and frees the slot.
  void EndBatch(Batch& batch, int slot, Outcome outcome, sim::Time now);
  void RemoveFromQueue(RequestId id);
  void Kill();
  // Ends every request the server holds, queued or running, with `outcome`.
  void EndEverything(Outcome outcome);
  // Cancels the grace, dispatch and queue-deadline timers (a server stopped).
  void CancelTimers();
  // Keeps one kQueueDeadline event pending for the earliest queue deadline
  // (with a queue timeout), and rejects the entries whose deadline came.
  void ArmQueueDeadline();
  void ExpireQueued();
  // Pops removed entries off the front of the queue.
  void DropRemovedFront();
  void MaybeStopped();
  // Work clock: nanoseconds of work each running batch has received.
  void AdvanceWork();
  // Schedules the completion event for the running batch that finishes
  // first (none if none runs), or for the one that finishes at
  // `finish_work`.
  void ScheduleNextCompletion();
  void ScheduleCompletion(std::int64_t finish_work);
  void SetRunning(int running, sim::Time now);
  sim::Time Clipped(sim::Time from, sim::Time to) const;
  // From the warm-up, or (whole_run) from the pod's admission.
  double GpuBusySeconds(bool whole_run) const;
  double GpuHeldSeconds() const;

  // Members in the order a request touches them: what every request reads
  // or writes first, together, so that the pod's hot state spans few cache
  // lines (on a large platform each pod's state is a cache miss away).
  sim::Engine& engine_;
  RequestTable& table_;
  const ModelServerConfig& config_;
  const models::ServiceTimeModel* const service_time_;
  State state_ = State::kStarting;
  bool dispatch_armed_ = false;  // dispatch_timer_ is pending
  bool deadline_armed_ = false;  // a kQueueDeadline event is pending
  bool completion_pending_ = false;
  const bool shared_;  // more batches may run than run at full speed
  const std::uint32_t pod_;
  const sim::HandlerId handler_;
  // Requests waiting as the server counts them; with those executing they
  // make Hop::outstanding_, so executing = outstanding_ - queued_.
  std::size_t queued_ = 0;
  std::uint32_t pushed_ = 0;  // entries ever pushed (wraps)
  std::uint32_t popped_ = 0;
  int running_ = 0;
  int free_head_ = 0;  // first free batch slot (a list through Batch::next_free); -1: none
  RingQueue<Entry> queue_;
  std::vector<Batch> batches_;  // max_concurrency slots
  // By slot: the work clock's reading when its batch completes, or kIdle.
  // Apart from the batches, so that finding the next to finish reads one
  // small array.
  std::vector<std::int64_t> finish_;
  const DynamicBatcher batcher_;  // in the object: one cache miss fewer per dispatch
  sim::RandomStream& rng_;
  sim::RandomStream* const errors_;  // null: no errors
  const std::int64_t gpus_;
  const std::int64_t capacity_;  // batches that run at full speed at once
  const sim::Time warmup_;
  std::int64_t work_ = 0;
  sim::Time work_at_ = 0;
  std::int64_t completion_work_ = 0;  // the work clock's reading it is for
  sim::EventId completion_;
  sim::EventId dispatch_timer_;
  sim::EventId deadline_timer_;
  // Accounting, touched once per batch.
  sim::Time busy_at_ = 0;
  double busy_gpu_ns_ = 0;              // from the warm-up
  double busy_all_gpu_ns_ = 0;          // from admission
  std::uint64_t batched_requests_ = 0;  // from the warm-up on
  std::uint64_t batches_started_ = 0;   // from the warm-up on
  // Lifecycle, rarely touched.
  sim::Time held_since_;
  sim::Time held_until_ = sim::kNever;
  sim::Time started_at_ = sim::kNever;  // containers first started
  std::uint64_t starts_ = 0;            // container starts (restarts after crashes)
  std::function<void()> on_stopped_;
  sim::EventId grace_timer_;
  // An LLM server's engine and where it tells of tokens (null: batches).
  std::unique_ptr<llm::Engine> llm_;
  LlmStats* llm_stats_ = nullptr;
  std::unique_ptr<LlmPodMetrics> vllm_metrics_;
  // A trace's (null: none), the pod's name, when each slot's batch (or the
  // LLM step running) started, and the step's sequences.
  BatchTrace* trace_ = nullptr;
  std::string trace_pod_;
  std::vector<sim::Time> batch_started_;
  sim::Time step_started_ = sim::kNever;
  int step_size_ = 0;
  std::uint64_t llm_preemptions_ = 0;
  // Of the engine's schedulers before its last restart (a crash empties it).
  std::uint64_t llm_hit_tokens_ = 0, llm_query_tokens_ = 0;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_MODEL_SERVER_H_
