// The scheduler of one LLM serving replica as vLLM's v1 engine runs it
// (vllm/v1/core/sched/scheduler.py Scheduler.schedule and
// update_from_output; vllm/v1/core/kv_cache_manager.py allocate_slots):
// continuous batching, one step at a time.
//
// A request has prompt tokens and a number of output tokens to generate; its
// tokens are the prompt and what it has generated so far, and the KV cache
// holds the tokens computed so far, in blocks of `block_size` tokens. Each
// step:
// - running requests first, in order: each is scheduled the tokens it has
//   not computed (a decode: one; a prefill: the rest of its prompt, capped
//   by long_prefill_token_threshold), no more than the step's token budget
//   (max_num_batched_tokens) has left. Its KV blocks must cover what it will
//   have computed; when the free blocks do not, the last running request is
//   preempted (recompute: its blocks freed, its computed tokens forgotten,
//   back to the front of the waiting queue), again until they do or the
//   request itself was the one preempted;
// - then, only if nobody was preempted in this step, waiting requests in
//   order while the budget lasts and fewer than max_num_seqs run: each
//   takes the tokens it has not computed up to the budget (with chunked
//   prefill; without it, a prompt that does not fit waits), if blocks can
//   cover them and (reserve_full_sequence, on by default) all its tokens
//   so far; the first that cannot stops the admission (head of line).
// The long-prefill threshold applies only when more than one request is
// running or waiting. A request's prompt and output must fit
// max_model_len (Accepts, as vLLM's OpenAI server checks), which must fit
// the KV cache (SchedulerConfig::Problem, as vLLM checks at start): so a
// request alone always fits, and the replica never stalls. One block of
// the pool is vLLM's null block.
// After the step has run (Complete), each scheduled request has computed its
// tokens; one that has computed every token it has samples a new one (a
// partial prefill chunk samples nothing): its first output token at the
// step that computes the last of its prompt, then one a step. It finishes
// once it has generated its output tokens, and frees its blocks.
//
// Checked against vllm 0.33.0 (commit 4ba787ec9): vllm/v1/core/sched/
// scheduler.py schedule (running loop, preemption, waiting loop) and
// _preempt_request, kv_cache_manager.py allocate_slots (the full-sequence
// gate, the watermark left at its default of 0), block_pool.py (the null
// block). With prefix caching (on by default, as in vLLM; block_pool.py,
// kv_cache_manager.py get_computed_blocks, single_type_kv_cache_manager.py
// get_num_blocks_to_allocate): a waiting request with nothing computed
// first takes the longest run of its full blocks still cached, up to its
// tokens less one; those blocks count as computed, and those nobody holds
// are taken out of the free queue (so they count against the free blocks
// too). A block is cached once a step will fill it. Freed blocks go to the
// free queue, a request's last first: a partial block to the front (reused
// first), full ones to the back (evicted last, least recently freed
// first); a block taken from the front loses what it cached. What a block
// holds is known only as far as the request's PromptPrefix says: its
// shared chunks, and otherwise tokens of its own (which only its own
// recompute, after a preemption, can find again).
// With the priority policy (scheduler.py, request_queue.py
// PriorityRequestQueue): waiting requests in order of priority, then
// arrival, preempted ones among them; the victim of a preemption is the
// running request of lowest priority and latest arrival, even one already
// scheduled in this step (its tokens go back to the budget), and a request
// that preempts itself lets those after it run.
// Not yet: speculative decoding, async scheduling's
// one-step-late EOS (requests here stop at their output count, which async
// scheduling sees in time).
#ifndef PLATSIM_PLATFORM_SERVING_LLM_SCHEDULER_H_
#define PLATSIM_PLATFORM_SERVING_LLM_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace platsim::platform::llm {

// Which of a request's prompt tokens other requests share: its first
// `count` chunks of `chunk_tokens` tokens, named by ids that chain (two
// requests with the same id at index m share their first
// (m + 1) x chunk_tokens tokens), as a Mooncake trace's hash_ids do for 512
// tokens. Borrowed: the ids must outlive the request.
struct PromptPrefix {
  const std::uint64_t* ids = nullptr;
  int count = 0;
  int chunk_tokens = 0;
};
// The full blocks of `block_size` tokens that a `prompt`-token request's
// prefix shares, and what shared block `k` holds (never 0; REQUIRES k <
// SharedBlocks): the chunk holding the block's last token names everything
// before it. The scheduler's prefix cache and the endpoint picker's index
// both name blocks so.
int SharedBlocks(const PromptPrefix& prefix, int prompt, int block_size);
std::uint64_t SharedBlockKey(const PromptPrefix& prefix, int k, int block_size);
// Mixes two numbers into one (splitmix64's finalizer).
std::uint64_t MixKey(std::uint64_t a, std::uint64_t b);

// The most KV blocks a replica may have (block ids must stay below the
// flag that marks findable ones): 2^30 blocks of 16 tokens, far beyond any GPU.
inline constexpr std::int64_t kMaxGpuBlocks = (std::int64_t{1} << 30) - 1;

struct SchedulerConfig {
  int max_num_seqs = 256;
  int max_num_batched_tokens = 8192;
  int block_size = 16;
  // As vLLM counts them: one is its null block, never handed out.
  std::int64_t num_gpu_blocks = 0;
  bool chunked_prefill = true;
  int long_prefill_token_threshold = 0;  // 0: none
  // Prompt and output tokens of one request, at most; 0: what the pool
  // holds, (num_gpu_blocks - 1) x block_size.
  int max_model_len = 0;
  // scheduler_reserve_full_isl: a waiting request is admitted only if
  // blocks for all its tokens so far are free, though it may be computed
  // in chunks.
  bool reserve_full_sequence = true;
  // enable_prefix_caching.
  bool prefix_caching = true;
  // scheduling_policy "priority" (else "fcfs"): the waiting queue ordered by
  // priority (lower first), then arrival; a preemption takes the lowest
  // priority, latest arrival.
  bool priority_policy = false;

  // max_model_len as given, or what the pool holds.
  int ModelLen() const;
  // What makes the configuration unusable, as vLLM refuses to start with it
  // (a request of max_model_len tokens must fit the KV pool; without
  // chunked prefill, the budget must hold one); "" if nothing.
  std::string Problem() const;
};

// The KV cache's blocks on one GPU as vLLM sizes it (vllm/v1/worker/
// gpu_worker.py determine_available_memory, kv_cache_planning.py): the GPU's
// memory times gpu_memory_utilization (rounded up), less what is not KV
// cache (the weights, and `other_bytes`: non-torch memory, peak
// activations of a max_num_batched_tokens pass and the CUDA graph
// estimate, which vLLM measures by profiling and a simulator must be
// told), in blocks of block_size tokens of `kv_bytes_per_token` each
// (2 x layers x KV heads x head dim x bytes per value). The count
// includes vLLM's null block; 0 if nothing is left.
struct KvMemory {
  double gpu_memory_bytes = 0;
  double utilization = 0.92;
  double weight_bytes = 0;
  double other_bytes = 0;
  int block_size = 16;
  double kv_bytes_per_token = 0;
};
std::int64_t KvBlocks(const KvMemory& m);

class Scheduler {
 public:
  using SeqId = std::uint32_t;

  // What one step runs: each request with its tokens, in the order
  // scheduled (running first, then the newly admitted).
  struct Batch {
    struct Entry {
      SeqId seq;
      int tokens;    // scheduled this step
      int computed;  // tokens in its KV cache before the step (its context)
      bool prefill;  // not one decode token: a prompt chunk, or outputs recomputed
    };
    std::vector<Entry> entries;
    std::vector<SeqId> preempted;  // in this step's scheduling, in order
    int tokens = 0;                // sum of entries' tokens
    bool empty() const { return entries.empty(); }
  };
  // What the step did for its requests once it has run.
  struct Outcome {
    std::vector<SeqId> tokens;       // generated a token (any), in batch order
    std::vector<SeqId> first_token;  // generated their first output token
    std::vector<SeqId> finished;     // generated their last (blocks freed)
    int tokens_out = 0;              // output tokens generated by the step
  };

  explicit Scheduler(const SchedulerConfig& config);

  // True if a request of these tokens can be served: vLLM's OpenAI server
  // refuses one whose prompt and max_tokens exceed max_model_len (an HTTP
  // 400, "maximum context length").
  bool Accepts(int prompt_tokens, int output_tokens) const {
    return prompt_tokens >= 1 && output_tokens >= 1 &&
           static_cast<std::int64_t>(prompt_tokens) + output_tokens <= model_len_;
  }
  // A new request (at the back of the waiting queue); returns its id, which
  // stays its until it finishes or is removed. REQUIRES: Accepts.
  SeqId Add(int prompt_tokens, int output_tokens, PromptPrefix prefix = {}, int priority = 0);
  // Takes a request out wherever it is (its client gave up), freeing its
  // blocks; false (and nothing done) for an id that is not live or is in
  // the step scheduled and not yet completed.
  bool Remove(SeqId seq);

  // Schedules the next step. REQUIRES: the previous one has completed.
  const Batch& Schedule();
  // The scheduled step has run.
  const Outcome& Complete();

  // Observers.
  const Batch& batch() const { return batch_; }  // the last scheduled
  std::size_t waiting() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }
  std::int64_t used_blocks() const { return used_blocks_; }
  std::int64_t free_blocks() const { return config_.num_gpu_blocks - 1 - used_blocks_; }
  // vllm:kv_cache_usage_perc (block_pool.py get_usage), 0 to 1.
  double kv_usage() const {
    return config_.num_gpu_blocks > 1
               ? static_cast<double>(used_blocks_) / static_cast<double>(config_.num_gpu_blocks - 1)
               : 0.0;
  }
  std::uint64_t preemptions() const { return preemptions_; }
  // Prompt tokens found in the prefix cache, and prompt tokens looked up
  // (vllm:prefix_cache_hits and vllm:prefix_cache_queries).
  std::uint64_t prefix_hit_tokens() const { return hit_tokens_; }
  std::uint64_t prefix_query_tokens() const { return query_tokens_; }
  // A request's tokens so far (still readable once it has finished, until
  // its id is reused by Add).
  int output_tokens(SeqId seq) const { return seqs_[seq].output; }
  int computed_tokens(SeqId seq) const { return seqs_[seq].computed; }
  std::int64_t blocks_of(SeqId seq) const { return seqs_[seq].blocks; }
  // Its blocks by id, with prefix caching (shared ones appear in several).
  std::vector<std::int32_t> block_ids(SeqId seq) const {
    std::vector<std::int32_t> ids = seqs_[seq].ids;
    for (std::int32_t& id : ids)
      id &= ~kFindable;
    return ids;
  }
  const SchedulerConfig& config() const { return config_; }
  const std::vector<SeqId>& running_seqs() const { return running_; }
  const std::deque<SeqId>& waiting_seqs() const { return waiting_; }

 private:
  enum class State : std::uint8_t { kFree, kWaiting, kRunning };
  struct Seq {
    int prompt = 0, max_output = 0;
    int priority = 0;
    int output = 0;    // tokens generated so far
    int computed = 0;  // num_computed_tokens
    std::int64_t blocks = 0;
    State state = State::kFree;
    // With prefix caching: its blocks, how many are cached, its prefix, and
    // a number of its own (what its own tokens hash with).
    std::vector<std::int32_t> ids;
    int cached = 0;         // blocks looked at for caching (of the shared ones)
    int shared_blocks = 0;  // full blocks of its shared prefix
    PromptPrefix prefix;
    std::uint64_t serial = 0;
    int tokens() const { return prompt + output; }
  };
  // The block pool with prefix caching. Blocks that nobody can find (what
  // they hold is not known to be shared, and no preempted request looks
  // for them) are interchangeable: the free queue holds them as runs of a
  // count, their ids on a stack, and only findable blocks one by one, so
  // that a request's blocks cost no cache misses. A findable block has its
  // references counted and is in `cached_`; a request's ids carry
  // kFindable for it.
  struct Block {
    std::uint64_t key = 0;
    std::int32_t ref = 0;
    std::uint32_t serial = 0;  // of its latest entry in the free queue
    bool queued = false;       // in the free queue (its latest entry)
  };
  struct QueueEntry {
    std::int32_t block;   // -1: a run of interchangeable blocks
    std::uint32_t count;  // a run's length, or the block's serial
  };
  static constexpr std::int32_t kFindable = 1 << 30;
  // True if `a` ranks before `b` (priority policy).
  bool Before(SeqId a, SeqId b) const;
  // Puts `id` in the waiting queue: as the policy says.
  void Enqueue(SeqId id, bool preempted);
  // What block `k` of `seq` holds.
  std::uint64_t KeyOf(const Seq& seq, int k) const;
  // Blocks of `seq`'s cached prefix (nothing computed yet), at most its
  // tokens less one; `hits` gets them, and the result counts those in the
  // free queue.
  int FindHits(const Seq& seq, std::vector<std::int32_t>& hits) const;
  // The free queue: takes `n` blocks from the front into `out` (evicting
  // what they cached); adds `count` interchangeable blocks (their ids
  // already on spare_ids_) or a findable one at the back.
  void TakeFree(std::vector<std::int32_t>& out, int n);
  void PushRun(std::uint32_t count);
  void PushFindable(std::int32_t block);
  // Makes `seq`'s blocks of its shared prefix that `tokens` computed fill
  // findable; with `own`, every full block (it is preempted, and its
  // recompute will look for them).
  void CacheFull(Seq& seq, int tokens, bool own);
  std::int64_t BlocksFor(int tokens) const {
    return (static_cast<std::int64_t>(tokens) + config_.block_size - 1) >> block_shift_;
  }
  // Grows `seq`'s blocks to cover `tokens` computed; false if too few are
  // free (nothing allocated then).
  bool Allocate(Seq& seq, int tokens) {
    // A decode within its last block, the usual case, needs nothing.
    if (BlocksFor(tokens) <= seq.blocks && seq.cached >= seq.shared_blocks) return true;
    return AllocateMore(seq, tokens);
  }
  bool AllocateMore(Seq& seq, int tokens);
  void Free(Seq& seq);
  // The tokens a request would take now, before the budget.
  // The tokens a request would take now, before the budget; `running`:
  // also capped at max_model_len - 1 computed (scheduler.py caps the
  // running only).
  int NewTokens(const Seq& seq, bool running) const {
    int n = seq.tokens() - seq.computed;
    // The threshold only when more than one request is there to share.
    const int threshold = config_.long_prefill_token_threshold;
    if (threshold > 0 && n > threshold && running_.size() + waiting_.size() > 1) n = threshold;
    return running ? std::min(n, model_len_ - seq.computed - 1) : n;
  }
  // One token, the last: a decode; anything else runs as a prefill (a
  // prompt chunk, or a preempted request recomputing its outputs too).
  static bool IsDecode(const Seq& seq, int tokens) {
    return tokens == 1 && seq.computed + 1 == seq.tokens();
  }
  bool Finished(const Seq& seq) const {
    return seq.output >= seq.max_output || seq.tokens() >= model_len_;
  }

  SchedulerConfig config_;
  int model_len_;
  int block_shift_;  // log2(block_size)
  std::vector<Seq> seqs_;
  std::vector<SeqId> free_ids_;
  std::vector<SeqId> running_;
  std::deque<SeqId> waiting_;
  std::int64_t used_blocks_ = 0;
  std::uint64_t preemptions_ = 0;
  std::vector<Block> pool_;  // with prefix caching
  std::deque<QueueEntry> queue_;
  std::vector<std::int32_t> spare_ids_;  // of the interchangeable free blocks
  std::unordered_map<std::uint64_t, std::int32_t> cached_;
  std::vector<std::int32_t> hits_;  // scratch
  std::uint64_t serials_ = 0;
  std::uint64_t hit_tokens_ = 0, query_tokens_ = 0;
  Batch batch_;
  Outcome outcome_;
  bool in_step_ = false;
};

}  // namespace platsim::platform::llm

#endif  // PLATSIM_PLATFORM_SERVING_LLM_SCHEDULER_H_
