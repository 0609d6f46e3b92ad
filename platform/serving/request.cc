#include "platform/serving/request.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace platsim::platform {
namespace {

// Address space for this many requests is reserved up front (pages are
// only backed once touched): far more than any memory budget lets into the
// system at once.
constexpr std::size_t kReservedRequests = std::size_t{1} << 28;

// Reserves address space for `count` objects of `size` bytes, halving the
// count while the system refuses (a strict overcommit policy); sets `count`
// to what it got.
void* Reserve(std::size_t size, std::size_t& count) {
  for (; count >= (std::size_t{1} << 20); count /= 2) {
    void* p = mmap(nullptr, count * size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) return p;
  }
  std::fprintf(stderr, "platsim: cannot reserve address space for the request table\n");
  std::abort();
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
  for (std::uint32_t id = 0; id < fresh_.load(); ++id)
    new (&tokens_[id]) LlmTokens();
}

RequestId RequestTable::Grow() {
  const std::uint32_t id = fresh_.fetch_add(1, std::memory_order_relaxed);
  if (id >= capacity_) {
    std::fprintf(stderr,
                 "platsim: more than %zu requests in the system at once; give the run a "
                 "smaller memory budget (--max-memory)\n",
                 capacity_);
    std::exit(2);
  }
  new (&requests_[id]) Request();
  if (tokens_ != nullptr) new (&tokens_[id]) LlmTokens();
  return id;
}

}  // namespace platsim::platform
