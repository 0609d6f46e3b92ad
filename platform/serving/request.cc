#include "platform/serving/request.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace platsim::platform {
namespace {

// Address space for this many requests is reserved up front, inaccessible
// (it costs no memory and counts against no commit limit), and made
// usable a chunk at a time as ids are first taken: far more than any
// memory budget lets into the system.
constexpr std::size_t kReservedRequests = std::size_t{1} << 28;
constexpr std::size_t kChunk = std::size_t{1} << 16;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "platsim: %s\n", what);
  std::_Exit(2);  // perhaps from a worker thread: no exit handlers
}

// Reserves address space for `count` objects of `size` bytes, halving the
// count while the system refuses (a limit on address space); sets `count`
// to what it got.
void* Reserve(std::size_t size, std::size_t& count) {
  for (; count >= kChunk; count /= 2) {
    void* p =
        mmap(nullptr, count * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) return p;
  }
  Die("cannot reserve address space for the request table");
}

// Makes objects [from, to) of `size` bytes at `base` usable.
void Commit(void* base, std::size_t size, std::size_t from, std::size_t to) {
  char* start = static_cast<char*>(base) + from * size;
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<std::uintptr_t>(start) & ~(page - 1);
  const auto last = reinterpret_cast<std::uintptr_t>(static_cast<char*>(base) + to * size);
  if (mprotect(reinterpret_cast<void*>(first), last - first, PROT_READ | PROT_WRITE) != 0) {
    Die("out of memory for the request table");
  }
}

}  // namespace

RequestTable::RequestTable() : pools_(1) {
  reserved_ = kReservedRequests;
  requests_ = static_cast<Request*>(Reserve(sizeof(Request), reserved_));
  capacity_ = reserved_;
}

RequestTable::~RequestTable() {
  munmap(requests_, reserved_ * sizeof(Request));
  if (tokens_ != nullptr) munmap(tokens_, tokens_reserved_ * sizeof(LlmTokens));
}

void RequestTable::SetClientPartition(std::uint32_t client, sim::Partition partition) {
  if (client >= pool_of_client_.size()) pool_of_client_.resize(client + 1, 0);
  pool_of_client_[client] = partition;
  if (partition >= pools_.size()) pools_.resize(partition + 1);
}

std::uint64_t RequestTable::live() const {
  std::uint64_t n = 0;
  for (const Pool& pool : pools_)
    n += pool.live;
  return n;
}

void RequestTable::EnableTokens() {
  if (tokens_ != nullptr) return;
  tokens_reserved_ = reserved_;
  tokens_ = static_cast<LlmTokens*>(Reserve(sizeof(LlmTokens), tokens_reserved_));
  capacity_ = std::min(reserved_, tokens_reserved_);
  if (committed_ > 0) Commit(tokens_, sizeof(LlmTokens), 0, committed_);
  for (std::uint32_t id = 0; id < fresh_.load(); ++id)
    new (&tokens_[id]) LlmTokens();
}

RequestId RequestTable::Grow() {
  const std::uint32_t id = fresh_.fetch_add(1, std::memory_order_relaxed);
  if (id >= capacity_) {
    Die("more requests in the system than the request table holds; give the run a smaller "
        "memory budget (--max-memory)");
  }
  if (id >= committed_.load(std::memory_order_acquire)) {
    const std::lock_guard<std::mutex> lock(commit_mutex_);
    const std::size_t had = committed_.load(std::memory_order_relaxed);
    if (id >= had) {
      const std::size_t to = std::min(capacity_, (id / kChunk + 1) * kChunk);
      Commit(requests_, sizeof(Request), had, to);
      if (tokens_ != nullptr) Commit(tokens_, sizeof(LlmTokens), had, to);
      committed_.store(to, std::memory_order_release);
    }
  }
  new (&requests_[id]) Request();
  if (tokens_ != nullptr) new (&tokens_[id]) LlmTokens();
  return id;
}

}  // namespace platsim::platform
