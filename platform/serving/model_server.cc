#include "platform/serving/model_server.h"

#include <algorithm>

namespace platsim::platform {
namespace {

__extension__ using Int128 = __int128;

}  // namespace

Batcher::Decision DynamicBatcher::Next(std::size_t queued, sim::Time oldest_enqueued, sim::Time now,
                                       bool draining) const {
  const auto full = static_cast<std::size_t>(max_batch_size_);
  if (queued >= full || max_queue_delay_ == 0 || draining) {
    return {static_cast<int>(std::min(queued, full)), sim::kNever};
  }
  const sim::Time ready_at = sim::SatAdd(oldest_enqueued, max_queue_delay_);
  if (now < ready_at) return {0, ready_at};
  return {static_cast<int>(queued), sim::kNever};
}

namespace {

// Batches that run at full speed at once: one per GPU, or all of them on a
// pod without GPUs.
std::int64_t CapacityOf(const ModelServerConfig& config, std::int64_t gpus) {
  return gpus > 0 ? gpus : std::max(1, config.max_concurrency);
}

}  // namespace

ModelServer::ModelServer(sim::Engine& engine, RequestTable& table, const ModelServerConfig& config,
                         const models::ServiceTimeModel* service_time, sim::RandomStream& rng,
                         std::uint32_t pod, std::int64_t gpus, sim::Time warmup,
                         sim::RandomStream* errors)
    : engine_(engine),
      table_(table),
      config_(config),
      service_time_(service_time),
      shared_(config.max_concurrency > CapacityOf(config, gpus)),
      pod_(pod),
      handler_(engine.AddHandler(this)),
      batcher_(config.max_batch_size, config.max_queue_delay),
      rng_(rng),
      errors_(config.error_rate > 0 ? errors : nullptr),
      gpus_(gpus),
      capacity_(CapacityOf(config, gpus)),
      warmup_(warmup),
      held_since_(engine.Now()) {
  // Every slot free, the lowest first.
  batches_.resize(static_cast<std::size_t>(std::max(1, config.max_concurrency)));
  finish_.assign(batches_.size(), kIdle);
  for (std::size_t i = 0; i + 1 < batches_.size(); ++i)
    batches_[i].next_free = static_cast<int>(i + 1);
}

void ModelServer::OnEvent(std::uint64_t payload) {
  switch (payload & 0xF) {
    case kDispatch:
      dispatch_armed_ = false;
      TryDispatch();
      break;
    case kLoaded:
      // The load of the containers' latest start (an earlier one crashed).
      if (state_ == State::kLoading && (payload >> 4) == starts_) state_ = State::kServing;
      break;
    case kCompletion:
      OnCompletion();
      break;
    case kQueueDeadline:
      deadline_armed_ = false;
      ExpireQueued();
      break;
    case kGraceEnd:
      Kill();
      break;
  }
}

void ModelServer::DropRemovedFront() {
  while (!queue_.empty() && queue_.front().ref.generation == 0) {
    queue_.pop_front();
    ++popped_;
  }
}

// The queue is in arrival order and every entry waits the same timeout, so
// the front holds the earliest deadline. An entry whose client left
// unnoticed (AbandonPolicy::kKeep) times out like any other: the server
// does not know the difference.
void ModelServer::ExpireQueued() {
  const sim::Time now = engine_.Now();
  DropRemovedFront();
  while (!queue_.empty() && sim::SatAdd(queue_.front().enqueued, config_.queue_timeout) <= now) {
    const Entry e = queue_.pop_front();
    ++popped_;
    --queued_;
    --outstanding_;
    if (table_.Live(e.ref)) table_.End(e.ref.id, Outcome::kTimedOut, now);
    DropRemovedFront();
  }
  ArmQueueDeadline();
}

void ModelServer::ArmQueueDeadline() {
  if (config_.queue_timeout == 0 || deadline_armed_) return;
  DropRemovedFront();
  if (queue_.empty()) return;
  const sim::Time at = sim::SatAdd(queue_.front().enqueued, config_.queue_timeout);
  deadline_timer_ = engine_.ScheduleAt(std::max(at, engine_.Now()), handler_, kQueueDeadline);
  deadline_armed_ = true;
}

void ModelServer::StartContainers() {
  if (state_ != State::kStarting) return;
  state_ = State::kLoading;
  if (started_at_ == sim::kNever) started_at_ = engine_.Now();
  ++starts_;
  engine_.ScheduleAfter(config_.model_load, handler_, kLoaded | (starts_ << 4));
}

void ModelServer::Die() {
  if (state_ == State::kStopped) return;
  EndEverything(Outcome::kTerminated);
  state_ = State::kStopped;
  on_stopped_ = nullptr;
  CancelTimers();
}

void ModelServer::CancelTimers() {
  engine_.Cancel(grace_timer_);
  engine_.Cancel(dispatch_timer_);
  dispatch_armed_ = false;
  engine_.Cancel(deadline_timer_);
  deadline_armed_ = false;
}

void ModelServer::Revive() {
  if (state_ != State::kStopped) return;
  state_ = State::kStarting;  // until the kubelet starts the containers again
}

void ModelServer::Crash() {
  if (state_ != State::kLoading && state_ != State::kServing) return;
  EndEverything(Outcome::kTerminated);
  state_ = State::kStarting;  // until the kubelet starts the containers again
}

void ModelServer::Accept(RequestId id) {
  const sim::Time now = engine_.Now();
  if (state_ == State::kStopping || state_ == State::kStopped) {
    table_.End(id, Outcome::kTerminated, now);
    return;
  }
  if (state_ != State::kServing || (service_time_ == nullptr && llm_ == nullptr)) {
    table_.End(id, Outcome::kNotLoaded, now);
    return;
  }
  if (llm_) {
    AcceptLlm(id, now);
    return;
  }
  if (config_.max_queue_length > 0 &&
      queued_ >= static_cast<std::size_t>(config_.max_queue_length)) {
    table_.End(id, Outcome::kQueueFull, now);
    return;
  }
  Request& r = table_[id];
  r.holder = this;
  r.pod = pod_;
  r.executing = false;
  r.queue_seq = pushed_++;
  queue_.push_back({table_.Ref(id), now});
  ++queued_;
  ++outstanding_;
  ArmQueueDeadline();
  TryDispatch();
}

void ModelServer::RemoveFromQueue(RequestId id) {
  Entry& e = queue_[table_[id].queue_seq - popped_];
  e.ref.generation = 0;
  --queued_;
  --outstanding_;
  DropRemovedFront();  // while every slot is busy, removed entries would pile up
}

void ModelServer::Withdraw(RequestId id) {
  Request& r = table_[id];
  if (config_.abandoned == AbandonPolicy::kKeep) return;  // it never knows
  if (llm_) {
    // vLLM aborts a request whose client has gone, wherever it is.
    llm_->Abort(r.queue_seq);
    r.holder = nullptr;
    --outstanding_;
    MaybeStopped();
    return;
  }
  if (!r.executing) {
    RemoveFromQueue(id);
    return;
  }
  if (config_.abandoned != AbandonPolicy::kAbort) return;
  r.holder = nullptr;  // let go: its client ends it
  Batch& batch = batches_[r.slot];
  --batch.counted;
  --outstanding_;
  if (batch.counted == 0) {
    AdvanceWork();
    // Every request of it has been withdrawn (this one just now, let go
    // above), so ending it ends nobody.
    EndBatch(batch, r.slot, Outcome::kTerminated, engine_.Now());
    ScheduleNextCompletion();
    // The freed slot takes the next batch in an event of its own, once the
    // client has withdrawn everything that gives up at this instant.
    if (dispatch_armed_) engine_.Cancel(dispatch_timer_);
    dispatch_timer_ = engine_.ScheduleAt(engine_.Now(), handler_, kDispatch);
    dispatch_armed_ = true;
    MaybeStopped();
  }
}

void ModelServer::TryDispatch() {
  if (state_ != State::kServing && state_ != State::kStopping) return;
  const sim::Time now = engine_.Now();
  while (free_head_ >= 0) {
    DropRemovedFront();
    if (queued_ == 0) return;
    const Batcher::Decision d =
        batcher_.Next(queued_, queue_.front().enqueued, now, state_ == State::kStopping);
    if (d.take == 0) {
      if (!dispatch_armed_) {
        dispatch_timer_ = engine_.ScheduleAt(d.ask_again, handler_, kDispatch);
        dispatch_armed_ = true;
      }
      return;
    }
    StartBatch(d.take);
  }
}

void ModelServer::StartBatch(int size) {
  const int slot = free_head_;
  Batch& batch = batches_[static_cast<std::size_t>(slot)];
  free_head_ = batch.next_free;
  batch.requests.clear();
  while (static_cast<int>(batch.requests.size()) < size) {
    const Entry e = queue_.pop_front();
    ++popped_;
    if (e.ref.generation == 0) continue;  // removed
    // A live entry, or one whose client left unnoticed (AbandonPolicy::kKeep):
    // either fills a position of the batch.
    if (table_.Live(e.ref)) {
      Request& r = table_[e.ref.id];
      r.executing = true;
      r.slot = static_cast<std::uint16_t>(slot);
    }
    batch.requests.push_back(e.ref);
  }
  batch.counted = size;
  const sim::Time now = engine_.Now();
  if (trace_ != nullptr) [[unlikely]] {
    batch_started_[static_cast<std::size_t>(slot)] = now;
  }
  queued_ -= static_cast<std::size_t>(size);  // still outstanding, now executing
  if (now >= warmup_) {
    batched_requests_ += static_cast<std::uint64_t>(size);
    ++batches_started_;
  }
  AdvanceWork();
  // kIdle - 1 at most: a batch that would finish at the end of time still runs.
  const std::int64_t finish =
      std::min(sim::SatAdd(work_, service_time_->BatchTime(size, rng_)), kIdle - 1);
  finish_[static_cast<std::size_t>(slot)] = finish;
  // Below the pod's capacity every batch runs at full speed before and
  // after: only a batch finishing first moves the completion event.
  const bool same_rates = running_ < capacity_;
  SetRunning(running_ + 1, now);
  if (!same_rates) {
    ScheduleNextCompletion();
  } else if (!completion_pending_ || finish < completion_work_) {
    ScheduleCompletion(finish);
  }
}

void ModelServer::AdvanceWork() {
  const sim::Time now = engine_.Now();
  if (!shared_) {  // every batch always runs at full speed: work is time
    work_ = now;
    return;
  }
  if (running_ > 0 && now > work_at_) {
    const sim::Time dt = now - work_at_;
    work_ += running_ <= capacity_
                 ? dt
                 : static_cast<std::int64_t>(static_cast<Int128>(dt) * capacity_ / running_);
  }
  work_at_ = now;
}

void ModelServer::ScheduleNextCompletion() {
  if (running_ == 0) {
    if (completion_pending_) engine_.Cancel(completion_);
    completion_pending_ = false;
    return;
  }
  ScheduleCompletion(*std::min_element(finish_.begin(), finish_.end()));
}

void ModelServer::ScheduleCompletion(std::int64_t finish_work) {
  if (completion_pending_) engine_.Cancel(completion_);
  completion_pending_ = true;
  completion_work_ = finish_work;
  if (!shared_) {
    completion_ = engine_.ScheduleAt(finish_work, handler_, kCompletion);
    return;
  }
  const Int128 left = std::max<std::int64_t>(0, finish_work - work_);
  Int128 wall = left;
  if (running_ > capacity_) wall = (left * running_ + capacity_ - 1) / capacity_;
  const sim::Time now = engine_.Now();
  const sim::Time at = wall >= sim::kNever - now ? sim::kNever : now + static_cast<sim::Time>(wall);
  completion_ = engine_.ScheduleAt(at, handler_, kCompletion);
}

void ModelServer::OnCompletion() {
  completion_pending_ = false;
  AdvanceWork();
  // The earliest batch finishes now; rounding of the shared rate must not
  // leave it a nanosecond short.
  work_ = std::max(work_, completion_work_);
  const sim::Time now = engine_.Now();
  for (std::size_t slot = 0; slot < finish_.size(); ++slot) {
    if (finish_[slot] > work_) continue;  // running on, or idle (kIdle)
    EndBatch(batches_[slot], static_cast<int>(slot), Outcome::kCompleted, now);
  }
  ScheduleNextCompletion();
  TryDispatch();
  MaybeStopped();
}

void ModelServer::EndBatch(Batch& batch, int slot, Outcome outcome, sim::Time now) {
  if (trace_ != nullptr) [[unlikely]] {
    trace_->Batch(trace_pod_, batch_started_[static_cast<std::size_t>(slot)], now,
                  static_cast<int>(batch.requests.size()));
  }
  const bool errors = outcome == Outcome::kCompleted && errors_ != nullptr;
  for (const RequestRef ref : batch.requests) {
    if (!table_.Live(ref) || table_[ref.id].holder != this) continue;
    // A bad release answers some of what it runs with an error.
    const bool failed = errors && errors_->Uniform() < config_.error_rate;
    table_.End(ref.id, failed ? Outcome::kFailed : outcome, now);
  }
  outstanding_ -= static_cast<std::size_t>(batch.counted);
  batch.counted = 0;
  batch.requests.clear();
  finish_[static_cast<std::size_t>(slot)] = kIdle;
  batch.next_free = free_head_;
  free_head_ = slot;
  SetRunning(running_ - 1, now);
}

void ModelServer::SetRunning(int running, sim::Time now) {
  const auto busy_gpus = static_cast<double>(std::min<std::int64_t>(running_, gpus_));
  busy_gpu_ns_ += static_cast<double>(Clipped(busy_at_, now)) * busy_gpus;
  busy_all_gpu_ns_ += static_cast<double>(now - busy_at_) * busy_gpus;
  busy_at_ = now;
  running_ = running;
}

sim::Time ModelServer::Clipped(sim::Time from, sim::Time to) const {
  return std::max<sim::Time>(0, to - std::max(from, warmup_));
}

void ModelServer::Stop(sim::Time grace, std::function<void()> stopped) {
  state_ = State::kStopping;
  on_stopped_ = std::move(stopped);
  // An event of the server's own: in its partition, which may run ahead of
  // the global order on another rank while it drains (sim/ranks.h).
  grace_timer_ = engine_.ScheduleAfter(grace, handler_, kGraceEnd);
  TryDispatch();  // drain without waiting for fuller batches
  MaybeStopped();
}

void ModelServer::Kill() {
  EndEverything(Outcome::kTerminated);
  MaybeStopped();
}

void ModelServer::EndEverything(Outcome outcome) {
  const sim::Time now = engine_.Now();
  if (llm_) {
    llm_hit_tokens_ += llm_->scheduler().prefix_hit_tokens();
    llm_query_tokens_ += llm_->scheduler().prefix_query_tokens();
    for (const std::uint64_t request : llm_->Clear()) {
      if (HeldLlm(request) != nullptr) table_.End(RequestRef::Unpack(request).id, outcome, now);
    }
    outstanding_ = 0;
    return;
  }
  while (!queue_.empty()) {
    const Entry e = queue_.pop_front();
    ++popped_;
    if (e.ref.generation != 0 && table_.Live(e.ref)) table_.End(e.ref.id, outcome, now);
  }
  outstanding_ -= queued_;
  queued_ = 0;
  AdvanceWork();
  for (std::size_t slot = 0; slot < finish_.size(); ++slot) {
    if (finish_[slot] != kIdle) EndBatch(batches_[slot], static_cast<int>(slot), outcome, now);
  }
  ScheduleNextCompletion();
}

void ModelServer::MaybeStopped() {
  if (state_ != State::kStopping) return;
  if (llm_ ? outstanding_ > 0 : queued_ > 0 || running_ > 0) return;
  state_ = State::kStopped;
  // The GPUs are held until the containers have stopped; the pod object goes
  // one API write later, when the kubelet removes it.
  held_until_ = engine_.Now();
  CancelTimers();
  auto stopped = std::move(on_stopped_);
  on_stopped_ = nullptr;
  if (stopped) stopped();
}

void ModelServer::Release() {
  if (held_until_ == sim::kNever) held_until_ = engine_.Now();
}

double ModelServer::GpuBusySeconds(bool whole_run) const {
  const sim::Time now = engine_.Now();
  const sim::Time open = whole_run ? now - busy_at_ : Clipped(busy_at_, now);
  const double open_ns =
      static_cast<double>(open) * static_cast<double>(std::min<std::int64_t>(running_, gpus_));
  return ((whole_run ? busy_all_gpu_ns_ : busy_gpu_ns_) + open_ns) * 1e-9;
}

double ModelServer::GpuHeldSeconds() const {
  return static_cast<double>(gpus_) *
         sim::ToSeconds(Clipped(held_since_, std::min(held_until_, engine_.Now())));
}

double ModelServer::CpuSeconds() const {
  const sim::Time until = std::min(held_until_, engine_.Now());
  const double running_s =
      started_at_ == sim::kNever ? 0.0 : sim::ToSeconds(Clipped(started_at_, until));
  return static_cast<double>(config_.cpu_base_milli) * 1e-3 * running_s +
         static_cast<double>(batched_requests_) * sim::ToSeconds(config_.cpu_per_request);
}

PodMetrics ModelServer::Metrics() const {
  PodMetrics m;
  m.queued = llm_ ? llm_->scheduler().waiting() : queued_;
  m.executing = outstanding_ - m.queued;
  if (llm_) {
    m.max_batch_size = llm_->scheduler().config().max_num_seqs;
    m.kv_usage = llm_->scheduler().kv_usage();
    m.preemptions = llm_preemptions_;
    m.prefix_hit_tokens = llm_hit_tokens_ + llm_->scheduler().prefix_hit_tokens();
    m.prefix_query_tokens = llm_query_tokens_ + llm_->scheduler().prefix_query_tokens();
  }
  m.batches_running = running_;
  m.gpus = gpus_;
  if (!llm_) m.max_batch_size = config_.max_batch_size;
  m.batches = batches_started_;
  m.batched_requests = batched_requests_;
  m.gpu_busy_s = GpuBusySeconds(false);
  m.gpu_busy_whole_run_s = GpuBusySeconds(true);
  m.gpu_held_s = GpuHeldSeconds();
  m.cpu_s = CpuSeconds();
  return m;
}

// The LLM engine in place of the queue and batcher.

void ModelServer::ServeLlm(const LlmOnGpu& gpu, LlmStats& stats, bool exposes_metrics) {
  if (exposes_metrics) vllm_metrics_ = std::make_unique<LlmPodMetrics>();
  llm::SchedulerConfig scheduler = config_.llm->scheduler;
  scheduler.num_gpu_blocks = gpu.num_gpu_blocks;
  const models::StepTimeModel* model = gpu.step_time.get();
  llm_ = std::make_unique<llm::Engine>(
      engine_, scheduler,
      [model](const models::StepShape& shape) { return sim::FromSeconds(model->Seconds(shape)); },
      static_cast<llm::Engine::Observer&>(*this));
  llm_stats_ = &stats;
}

void ModelServer::AcceptLlm(RequestId id, sim::Time now) {
  Request& r = table_[id];
  r.pod = pod_;
  LlmTokens& t = table_.tokens(id);
  t.accepted = now;
  if (config_.max_queue_length > 0 &&
      llm_->scheduler().waiting() >= static_cast<std::size_t>(config_.max_queue_length)) {
    table_.End(id, Outcome::kQueueFull, now);
    return;
  }
  // Set before the engine may start a step with it.
  r.holder = this;
  r.executing = false;
  ++outstanding_;
  const std::optional<llm::Scheduler::SeqId> seq =
      t.prompt > 0 && t.output > 0
          ? llm_->Add(table_.Ref(id).Packed(), t.prompt, t.output,
                      {t.prefix_ids, t.prefix_chunks, t.prefix_chunk_tokens}, t.priority)
          : std::nullopt;
  if (!seq) {
    // vLLM answers 400: the prompt and output do not fit max_model_len.
    --outstanding_;
    r.holder = nullptr;
    llm_stats_->Refused(r);
    table_.End(id, Outcome::kFailed, now);
    return;
  }
  r.queue_seq = *seq;
}

Request* ModelServer::HeldLlm(std::uint64_t request) {
  const RequestRef ref = RequestRef::Unpack(request);
  if (!table_.Live(ref)) return nullptr;
  Request& r = table_[ref.id];
  return r.holder == this ? &r : nullptr;
}

void ModelServer::OnFirstToken(std::uint64_t request, sim::Time now) {
  Request* r = HeldLlm(request);
  if (r == nullptr) return;
  r->executing = true;
  LlmTokens& t = table_.tokens(RequestRef::Unpack(request).id);
  t.first_token = now;
  llm_stats_->FirstToken(*r, now - r->arrival);
  if (LlmPodMetrics* m = vllm_metrics_.get()) {
    m->ttft.Observe(sim::ToSeconds(now - t.accepted), LlmPodMetrics::kTtftBounds);
    m->prompt_tokens += t.prompt;
    ++m->generation_tokens;
  }
}

void ModelServer::OnToken(std::uint64_t request, sim::Time gap, sim::Time) {
  const Request* r = HeldLlm(request);
  if (r == nullptr) return;
  llm_stats_->Token(*r, gap);
  if (vllm_metrics_) [[unlikely]] {
    ObserveToken(gap);
  }
}

// Out of the token path, which most runs (no Prometheus) never take.
[[gnu::noinline]] void ModelServer::ObserveToken(sim::Time gap) {
  vllm_metrics_->itl.Observe(sim::ToSeconds(gap), LlmPodMetrics::kTokenBounds);
  ++vllm_metrics_->generation_tokens;
}

void ModelServer::OnFinished(std::uint64_t request, sim::Time now) {
  --outstanding_;  // held here until now, withdrawn unnoticed or not
  if (Request* r = HeldLlm(request)) {
    const RequestId id = RequestRef::Unpack(request).id;
    const LlmTokens& t = table_.tokens(id);
    llm_stats_->Finished(*r, t, now);
    if (LlmPodMetrics* m = vllm_metrics_.get()) {
      m->e2e.Observe(sim::ToSeconds(now - t.accepted), LlmPodMetrics::kRequestBounds);
      const double tpot = t.output > 1 ? sim::ToSeconds(now - t.first_token) / (t.output - 1) : 0.0;
      m->tpot.Observe(tpot, LlmPodMetrics::kTokenBounds);
    }
    // A bad release answers some of what it runs with an error.
    const bool failed = errors_ != nullptr && errors_->Uniform() < config_.error_rate;
    table_.End(id, failed ? Outcome::kFailed : Outcome::kCompleted, now);
  }
  MaybeStopped();
}

void ModelServer::OnPreempted(std::uint64_t request, sim::Time) {
  ++llm_preemptions_;
  if (vllm_metrics_) ++vllm_metrics_->preemptions;
  if (const Request* r = HeldLlm(request)) llm_stats_->Preempted(*r);
}

void ModelServer::OnStepStart(const models::StepShape& shape, sim::Time now) {
  // The GPUs the model is split over run the step; any more the pod holds
  // sit idle (the loader has checked the pod holds that many).
  SetRunning(config_.llm->tensor_parallel, now);
  if (trace_ != nullptr) [[unlikely]] {
    if (step_started_ != sim::kNever) trace_->Batch(trace_pod_, step_started_, now, step_size_);
    step_started_ = now;
    step_size_ = shape.prefill_seqs + shape.decode_seqs;
  }
  if (now >= warmup_) {
    ++batches_started_;
    batched_requests_ += static_cast<std::uint64_t>(shape.prefill_seqs + shape.decode_seqs);
  }
}

void ModelServer::OnIdle(sim::Time now) {
  SetRunning(0, now);
  if (trace_ != nullptr && step_started_ != sim::kNever) [[unlikely]] {
    trace_->Batch(trace_pod_, step_started_, now, step_size_);
    step_started_ = sim::kNever;
  }
}

void ModelServer::TraceBatches(BatchTrace* trace, std::string pod) {
  trace_ = trace;
  trace_pod_ = std::move(pod);
  batch_started_.assign(batches_.size(), 0);
}

bool ModelServer::Gauges(LlmGauges& out) const {
  if (!llm_) return false;
  out.waiting = static_cast<double>(llm_->scheduler().waiting());
  out.running = static_cast<double>(llm_->scheduler().running());
  out.kv_usage = llm_->scheduler().kv_usage();
  out.gpu_blocks = llm_->scheduler().config().num_gpu_blocks;
  return true;
}

}  // namespace platsim::platform
