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
  if (block_size < 1 || (block_size & (block_size - 1)) != 0) {
    return "block_size must be a power of two";
  }
  if (num_gpu_blocks < 2) return "the KV cache needs at least 2 blocks (one is the null block)";
  if (num_gpu_blocks > kMaxGpuBlocks) return "more KV blocks than platsim simulates";
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
    : config_(config), model_len_(config.ModelLen()), block_shift_(0) {
  // A programming error: the loader checks what users give.
  if (const std::string problem = config.Problem(); !problem.empty()) {
    std::fprintf(stderr, "platsim: bad LLM scheduler configuration: %s\n", problem.c_str());
    std::abort();
  }
  while ((1 << block_shift_) < config_.block_size)
    ++block_shift_;
  if (config_.prefix_caching) {
    // Every block but the null block, free, in order.
    pool_.resize(static_cast<std::size_t>(config_.num_gpu_blocks));
    for (std::int32_t b = static_cast<std::int32_t>(pool_.size()) - 1; b >= 1; --b)
      spare_ids_.push_back(b);
    queue_.push_back({-1, static_cast<std::uint32_t>(spare_ids_.size())});
  }
}

std::uint64_t MixKey(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int SharedBlocks(const PromptPrefix& prefix, int prompt, int block_size) {
  return static_cast<int>(std::min<std::int64_t>(prompt, static_cast<std::int64_t>(prefix.count) *
                                                             prefix.chunk_tokens) /
                          block_size);
}

std::uint64_t SharedBlockKey(const PromptPrefix& prefix, int k, int block_size) {
  const std::int64_t last = static_cast<std::int64_t>(k + 1) * block_size - 1;
  return MixKey(prefix.ids[last / prefix.chunk_tokens], static_cast<std::uint64_t>(k)) | 1;
}

std::uint64_t Scheduler::KeyOf(const Seq& seq, int k) const {
  if (k < seq.shared_blocks) return SharedBlockKey(seq.prefix, k, config_.block_size);
  return MixKey(seq.serial | (1ULL << 63), static_cast<std::uint64_t>(k));  // its own
}

void Scheduler::TakeFree(std::vector<std::int32_t>& out, int n) {
  // block_pool.py get_new_blocks: from the front, each evicted from the
  // cache.
  while (n > 0) {
    QueueEntry& e = queue_.front();
    if (e.block < 0) {
      const int take =
          static_cast<int>(std::min<std::uint32_t>(e.count, static_cast<std::uint32_t>(n)));
      out.insert(out.end(), spare_ids_.end() - take, spare_ids_.end());
      spare_ids_.resize(spare_ids_.size() - static_cast<std::size_t>(take));
      n -= take;
      e.count -= static_cast<std::uint32_t>(take);
      if (e.count == 0) queue_.pop_front();
      continue;
    }
    const QueueEntry entry = e;
    queue_.pop_front();
    Block& x = pool_[static_cast<std::size_t>(entry.block)];
    if (!x.queued || x.serial != entry.count) continue;  // taken since, by a hit
    x.queued = false;
    cached_.erase(x.key);
    out.push_back(entry.block);
    --n;
  }
}

void Scheduler::PushRun(std::uint32_t count) {
  if (count == 0) return;
  if (!queue_.empty() && queue_.back().block < 0) {
    queue_.back().count += count;
  } else {
    queue_.push_back({-1, count});
  }
}

void Scheduler::PushFindable(std::int32_t block) {
  Block& x = pool_[static_cast<std::size_t>(block)];
  x.queued = true;
  queue_.push_back({block, ++x.serial});
}

void Scheduler::CacheFull(Seq& seq, int tokens, bool own) {
  const int full = std::min(tokens, seq.tokens()) / config_.block_size;
  const int end = own ? full : std::min(full, seq.shared_blocks);
  for (int k = own ? 0 : seq.cached; k < end; ++k) {
    std::int32_t& id = seq.ids[static_cast<std::size_t>(k)];
    if ((id & kFindable) != 0) continue;
    const std::uint64_t key = KeyOf(seq, k);
    // A copy already cached stays the one found.
    if (cached_.emplace(key, id).second) {
      Block& x = pool_[static_cast<std::size_t>(id)];
      x.key = key;
      x.ref = 1;
      id |= kFindable;
    }
  }
  if (!own) seq.cached = std::max(seq.cached, end);
}

int Scheduler::FindHits(const Seq& seq, std::vector<std::int32_t>& hits) const {
  // kv_cache_manager.py get_computed_blocks: full blocks, and at most the
  // request's tokens less one (the last is recomputed for its logits).
  hits.clear();
  int evictable = 0;
  const int max_blocks = (seq.tokens() - 1) / config_.block_size;
  for (int k = 0; k < max_blocks; ++k) {
    const auto it = cached_.find(KeyOf(seq, k));
    if (it == cached_.end()) break;
    hits.push_back(it->second);
    evictable += pool_[static_cast<std::size_t>(it->second)].ref == 0;
  }
  return evictable;
}

Scheduler::SeqId Scheduler::Add(int prompt_tokens, int output_tokens, PromptPrefix prefix,
                                int priority) {
  SeqId id;
  if (!free_ids_.empty()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  } else {
    id = static_cast<SeqId>(seqs_.size());
    seqs_.emplace_back();
  }
  Seq& s = seqs_[id];
  std::vector<std::int32_t> ids = std::move(s.ids);  // keeps its capacity
  s = Seq{};
  s.ids = std::move(ids);
  s.ids.clear();
  s.prefix = prefix;
  s.shared_blocks = SharedBlocks(prefix, prompt_tokens, config_.block_size);
  s.serial = ++serials_;
  s.prompt = prompt_tokens;
  s.max_output = output_tokens;
  s.priority = priority;
  s.state = State::kWaiting;
  Enqueue(id, false);
  return id;
}

bool Scheduler::Before(SeqId a, SeqId b) const {
  // request.py Request.__lt__: priority, then arrival.
  const Seq &x = seqs_[a], &y = seqs_[b];
  return x.priority != y.priority ? x.priority < y.priority : x.serial < y.serial;
}

void Scheduler::Enqueue(SeqId id, bool preempted) {
  if (!config_.priority_policy) {
    // FCFS: new requests at the back, preempted ones at the front.
    if (preempted) {
      waiting_.push_front(id);
    } else {
      waiting_.push_back(id);
    }
    return;
  }
  // request_queue.py PriorityRequestQueue: by priority and arrival, either way.
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), id,
                                   [this](SeqId a, SeqId b) { return Before(a, b); }),
                  id);
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

bool Scheduler::AllocateMore(Seq& seq, int tokens) {
  // kv_cache_manager.py allocate_slots: the blocks for every token computed
  // once this step has run, if that many are free.
  const std::int64_t more = BlocksFor(tokens) - seq.blocks;
  if (more > free_blocks()) return false;
  if (more > 0) {
    if (config_.prefix_caching) TakeFree(seq.ids, static_cast<int>(more));
    seq.blocks += more;
    used_blocks_ += more;
  }
  // block_pool.py cache_full_blocks: the blocks this step fills (of its
  // shared prefix: the others only its preemption makes findable).
  if (seq.cached < seq.shared_blocks && config_.prefix_caching) CacheFull(seq, tokens, false);
  return true;
}

void Scheduler::Free(Seq& seq) {
  if (!config_.prefix_caching) {
    used_blocks_ -= seq.blocks;
    seq.blocks = 0;
    return;
  }
  // single_type_kv_cache_manager.py free, block_pool.py free_blocks: the
  // request's blocks from its last; a partial one to the front of the free
  // queue, full ones to the back.
  const int full = std::min(seq.computed, seq.tokens()) / config_.block_size;
  std::uint32_t run = 0;  // interchangeable full blocks, to the back together
  for (int k = static_cast<int>(seq.ids.size()) - 1; k >= 0; --k) {
    const std::int32_t id = seq.ids[static_cast<std::size_t>(k)];
    if ((id & kFindable) != 0) {
      const std::int32_t b = id & ~kFindable;
      if (--pool_[static_cast<std::size_t>(b)].ref > 0) continue;
      PushRun(run);
      run = 0;
      PushFindable(b);  // always full
    } else if (k < full) {
      spare_ids_.push_back(id);
      ++run;
    } else {
      // A partial block: to the front, reused first.
      spare_ids_.push_back(id);
      if (!queue_.empty() && queue_.front().block < 0) {
        ++queue_.front().count;
      } else {
        queue_.push_front({-1, 1});
      }
    }
    --used_blocks_;
  }
  PushRun(run);
  seq.ids.clear();
  seq.blocks = 0;
  seq.cached = 0;
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
      // Preempt the last running request (FCFS), or the lowest priority,
      // latest arrival, even one scheduled earlier in this step, whose
      // tokens go back to the budget (priority); recomputed later.
      SeqId victim = running_.back();
      if (config_.priority_policy) {
        std::size_t vi = 0;
        for (std::size_t j = 1; j < running_.size(); ++j) {
          if (Before(running_[vi], running_[j])) vi = j;
        }
        victim = running_[vi];
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(vi));
        if (vi < i) --i;
        const auto e = std::find_if(batch_.entries.begin(), batch_.entries.end(),
                                    [victim](const Batch::Entry& x) { return x.seq == victim; });
        if (e != batch_.entries.end()) {
          budget += e->tokens;
          batch_.entries.erase(e);
        }
      } else {
        running_.pop_back();
      }
      Seq& v = seqs_[victim];
      if (config_.prefix_caching) {
        // A victim scheduled earlier in this step (priority) had blocks
        // cached for tokens it will not compute now: nobody may find them.
        for (std::size_t k = static_cast<std::size_t>(v.computed / config_.block_size);
             k < v.ids.size(); ++k) {
          std::int32_t& b = v.ids[k];
          if ((b & kFindable) == 0) continue;
          Block& x = pool_[static_cast<std::size_t>(b & ~kFindable)];
          if (x.ref > 1) continue;  // others found it, and hold it
          cached_.erase(x.key);
          b &= ~kFindable;
        }
        // Its computed blocks stay cached, for its recompute to find.
        CacheFull(v, v.computed, true);
      }
      Free(v);
      v.computed = 0;
      v.state = State::kWaiting;
      Enqueue(victim, true);
      batch_.preempted.push_back(victim);
      ++preemptions_;
      if (victim == id) {
        scheduled = false;
        break;
      }
    }
    if (!scheduled) {
      // It preempted itself. With priority, the requests after it rank
      // higher and may still fit: it has left running_, so `i` is the next.
      if (config_.priority_policy) continue;
      break;
    }
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
      // Its cached prefix, if it has nothing computed (new, or preempted).
      int hits = 0, evictable = 0;
      if (config_.prefix_caching && s.computed == 0) {
        evictable = FindHits(s, hits_);
        hits = static_cast<int>(hits_.size());
        s.computed = hits * config_.block_size;
      }
      int n = NewTokens(s, false);
      if (!config_.chunked_prefill && n > budget) n = 0;
      n = std::min(n, budget);
      // Cached blocks nobody holds leave the free queue: they count too.
      const std::int64_t have = s.blocks + hits - evictable;
      if (n <= 0 ||
          (config_.reserve_full_sequence && BlocksFor(s.tokens()) - have > free_blocks()) ||
          BlocksFor(s.computed + n) - have > free_blocks()) {
        if (hits > 0) s.computed = 0;
        break;
      }
      if (config_.prefix_caching && s.computed == hits * config_.block_size && s.blocks == 0) {
        hit_tokens_ += static_cast<std::uint64_t>(s.computed);
        query_tokens_ += static_cast<std::uint64_t>(s.tokens());
        for (const std::int32_t b : hits_) {
          Block& x = pool_[static_cast<std::size_t>(b)];
          if (x.ref++ == 0) {
            x.queued = false;  // its entry in the free queue goes stale
            ++used_blocks_;
          }
          s.ids.push_back(b | kFindable);
        }
        s.blocks = hits;
        s.cached = hits;
      }
      Allocate(s, s.computed + n);
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
