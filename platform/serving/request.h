// Requests and the hops they pass through.
//
// DESIGN. A request is an index into one pool (the RequestTable), never an
// object that moves. It enters at a Client (the traffic source), which hands
// it to a Hop: the Service proxy, which hands it to the Hop its balancer
// picks among the endpoints, a pod's model server, which queues, batches and
// runs it. Each hop only knows the Hop interface of the next one, so an
// activator or a queue-proxy is one more Hop that endpoints can point at,
// and a WeightedSplit (split.h) in front of two Service proxies splits
// traffic for a canary.
//
// A request ends exactly once, in RequestTable::End, with one Outcome,
// wherever it is: the model server ends the ones it completes, rejects or
// drops; the client ends the ones whose deadline passes, after telling the
// hop that holds it (Hop::Withdraw). Ids are reused, so anything that keeps
// an id beyond the request's end also keeps its generation and checks it.
//
// Metrics are RequestObservers: told of every arrival and every end, with
// the request as it was; the request path itself counts nothing.
#ifndef PLATSIM_PLATFORM_SERVING_REQUEST_H_
#define PLATSIM_PLATFORM_SERVING_REQUEST_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sim/event_queue.h"
#include "sim/time.h"

namespace platsim::platform {

using RequestId = std::uint32_t;
inline constexpr std::uint32_t kNoPod = UINT32_MAX;

enum class Outcome {
  kCompleted,
  kTimedOut,    // the client's deadline or the server's queue timeout passed
  kNoEndpoint,  // the proxy had no endpoint
  kQueueFull,   // the server's queue was full
  kNotLoaded,   // the server had not loaded its model
  kTerminated,  // the server was stopping or was killed
  kFailed,      // the server answered with an error (a bad release's errorRate)
};

class Hop;

struct Request {
  sim::Time arrival = 0;  // at the client
  std::uint32_t client = 0;
  std::uint32_t generation = 0;  // bumped every time the id is reused
  std::uint32_t pod = kNoPod;    // the model server that took it (DataPlane's pod index)
  std::uint32_t queue_seq = 0;   // its place in the server's queue (a push count)
  std::uint16_t slot = 0;        // its batch slot while executing
  bool live = false;             // arrived and not yet ended
  bool measured = false;         // arrived at or after the warm-up
  bool executing = false;        // in a running batch (else queued, if held)
  Hop* holder = nullptr;         // the hop holding it; null once ended or before a hop took it
};

// An LLM request's tokens, and when its first output token came (kept
// beside the table, only where some traffic has tokens, so that other
// requests stay the size they are).
struct LlmTokens {
  std::int32_t prompt = 0, output = 0;  // 0: not given
  sim::Time accepted = sim::kNever;     // reached its server (vLLM's arrival_time)
  sim::Time first_token = sim::kNever;
  // The chained ids of the prompt's shared chunks (llm::PromptPrefix),
  // borrowed from the traffic; 0 chunks: none shared.
  std::int32_t prefix_chunks = 0, prefix_chunk_tokens = 0;
  const std::uint64_t* prefix_ids = nullptr;
  std::int32_t priority = 0;  // vLLM's request priority: lower goes first
};

// A request's identity that survives the reuse of its id.
struct RequestRef {
  RequestId id;
  std::uint32_t generation;
  // Packed into 64 bits, and back (for components that keep a number).
  std::uint64_t Packed() const { return std::uint64_t{generation} << 32 | id; }
  static RequestRef Unpack(std::uint64_t packed) {
    return {static_cast<RequestId>(packed), static_cast<std::uint32_t>(packed >> 32)};
  }
};

// An LLM server's gauges as its metrics endpoint shows them (vLLM's
// num_requests_waiting, kv_cache_usage_perc, cache_config_info's
// num_gpu_blocks and num_requests_running), for routing and scrapes.
struct LlmGauges {
  double waiting = 0, kv_usage = 0;
  std::int64_t gpu_blocks = 0;
  double running = 0;
};

// Something a request passes through.
class Hop {
 public:
  virtual ~Hop() = default;
  // Takes `id` (live, held by no hop yet). The hop either keeps it (and sets
  // itself as holder) or ends it.
  virtual void Accept(RequestId id) = 0;
  // `id`, held by this hop, is about to end elsewhere (its client gave up):
  // forget it, or keep working on it as the hop's policy says. Called before
  // the request ends; the hop must not end it itself.
  virtual void Withdraw(RequestId id) = 0;
  // Requests this hop holds (queued and executing): what a least-request
  // balancer compares. Kept up to date by the hop (not virtual: it is read
  // twice per request).
  std::size_t Outstanding() const { return outstanding_; }
  // An LLM server's gauges; false (nothing written) for other hops.
  virtual bool Gauges(LlmGauges& out) const {
    (void)out;
    return false;
  }
  // The engine partition (sim/engine.h) whose events call Accept and
  // Withdraw on this hop and whose state it touches: 0, the global order,
  // unless the data plane placed it in a Service's.
  sim::Partition partition = 0;

 protected:
  std::size_t outstanding_ = 0;
};

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  virtual void OnArrival(const Request& request, sim::Time now) = 0;
  virtual void OnEnd(const Request& request, Outcome outcome, sim::Time now) = 0;
};

// The pool of requests in the system. Allocation-free once the pool has
// reached its peak.
//
// Requests live in one reserved stretch of address space that never moves,
// and each engine partition (sim/engine.h) has its own list of free ids,
// so partitions running on several threads each take and free the ids of
// their own clients' requests while the others do the same.
class RequestTable {
 public:
  RequestTable();
  ~RequestTable();
  RequestTable(const RequestTable&) = delete;
  RequestTable& operator=(const RequestTable&) = delete;

  // Borrows `observer` for the table's lifetime; observers are told in the
  // order they were added.
  void AddObserver(RequestObserver* observer) { observers_.push_back(observer); }
  // Client `client`'s requests are taken and freed by engine partition
  // `partition`'s events only (0 until set). Before its first request.
  void SetClientPartition(std::uint32_t client, sim::Partition partition);

  // A new request from `client`, arrived now.
  RequestId Arrive(std::uint32_t client, sim::Time now, bool measured) {
    Pool& pool = PoolOf(client);
    RequestId id;
    if (!pool.free.empty()) {
      id = pool.free.back();
      pool.free.pop_back();
    } else {
      id = Grow();
    }
    Request& r = requests_[id];
    // Generation 0 marks removed queue entries: skip it when wrapping.
    const std::uint32_t generation = r.generation + 1 == 0 ? 1 : r.generation + 1;
    r = Request{now, client, generation, kNoPod, 0, 0, true, measured, false, nullptr};
    if (tokens_ != nullptr) tokens_[id] = LlmTokens{};
    ++pool.live;
    for (RequestObserver* o : observers_)
      o->OnArrival(r, now);
    return id;
  }
  // Ends `id` with `outcome` and frees it. REQUIRES: id live, and withdrawn
  // from (or never taken by) every other hop.
  void End(RequestId id, Outcome outcome, sim::Time now) {
    Request& r = requests_[id];
    for (RequestObserver* o : observers_)
      o->OnEnd(r, outcome, now);
    r.holder = nullptr;
    r.live = false;
    Pool& pool = PoolOf(r.client);
    --pool.live;
    pool.free.push_back(id);
  }

  Request& operator[](RequestId id) { return requests_[id]; }
  const Request& operator[](RequestId id) const { return requests_[id]; }
  RequestRef Ref(RequestId id) const { return {id, requests_[id].generation}; }
  // The id of a request of this table (observers are given the request).
  RequestId IdOf(const Request& r) const { return static_cast<RequestId>(&r - requests_); }
  // True if `ref` still names a live request (not ended, id not reused).
  bool Live(RequestRef ref) const {
    const Request& r = requests_[ref.id];
    return r.generation == ref.generation && r.live;
  }
  // Requests arrived and not ended: a sum over the partitions. From the
  // global order.
  std::uint64_t live() const;

  // Keeps every request's LlmTokens from now on (before the first arrival).
  void EnableTokens();
  bool has_tokens() const { return tokens_ != nullptr; }
  // REQUIRES: EnableTokens() was called.
  LlmTokens& tokens(RequestId id) { return tokens_[id]; }
  const LlmTokens& tokens(RequestId id) const { return tokens_[id]; }

 private:
  struct alignas(64) Pool {  // one cache line: partitions on threads share none
    std::vector<RequestId> free;
    std::uint64_t live = 0;
  };
  Pool& PoolOf(std::uint32_t client) {
    return pools_[client < pool_of_client_.size() ? pool_of_client_[client] : 0];
  }
  // A fresh id, from any thread.
  RequestId Grow();

  std::vector<RequestObserver*> observers_;
  Request* requests_ = nullptr;  // capacity_ reserved, fresh_ of them used
  LlmTokens* tokens_ = nullptr;  // the same, once enabled
  std::size_t reserved_ = 0, tokens_reserved_ = 0, capacity_ = 0;
  std::atomic<std::uint32_t> fresh_{0};
  std::atomic<std::size_t> committed_{0};  // ids below are usable
  std::mutex commit_mutex_;
  std::vector<std::uint32_t> pool_of_client_;  // by client: an index into pools_
  std::vector<Pool> pools_;                    // by partition
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_REQUEST_H_
