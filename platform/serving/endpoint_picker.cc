#include "platform/serving/endpoint_picker.h"

#include <algorithm>

namespace platsim::platform {
namespace {

// prefix/plugin.go: blocks of 64 characters, vLLM's 16 tokens at the 4
// characters a token it assumes; at most 256 a prompt
// (maxPrefixBlocksToMatch); lruCapacityPerServer before a pod's block
// count is known.
constexpr int kBlockTokens = 16;
constexpr int kMaxBlocks = 256;
constexpr std::uint64_t kDefaultCapacity = 31250;

}  // namespace

EndpointPicker::EndpointPicker(sim::Engine& engine, const RequestTable& table,
                               PickerWeights weights, sim::Time refresh)
    : engine_(engine),
      table_(table),
      weights_(weights),
      refresh_(refresh),
      handler_(engine.AddHandler(this)) {}

void EndpointPicker::SetEndpoints(const std::vector<Hop*>& endpoints) {
  for (Hop* hop : endpoints) {
    if (index_.emplace(hop, pods_.size()).second) {
      pods_.push_back(Pod{});
      pods_.back().hop = hop;
      pods_.back().lru.capacity = kDefaultCapacity;
    }
  }
  if (!scraping_ && !pods_.empty()) {
    scraping_ = true;
    Scrape();
  }
}

void EndpointPicker::OnEvent(std::uint64_t) {
  Scrape();
}

void EndpointPicker::Scrape() {
  for (Pod& p : pods_) {
    if (p.hop->Gauges(p.gauges) && p.gauges.gpu_blocks > 0) {
      p.lru.capacity = static_cast<std::uint64_t>(p.gauges.gpu_blocks);
    }
  }
  engine_.ScheduleAfter(refresh_, handler_, 0);
}

Hop* EndpointPicker::Pick(RequestId id, const std::vector<Hop*>& endpoints,
                          sim::RandomStream& rng) {
  const std::size_t n = endpoints.size();
  // The request's blocks: those of its shared prefix can match.
  static const LlmTokens kNone;
  const LlmTokens& t = table_.has_tokens() ? table_.tokens(id) : kNone;
  const int total = std::min(kMaxBlocks, t.prompt / kBlockTokens);
  const llm::PromptPrefix prefix{t.prefix_ids, t.prefix_chunks, t.prefix_chunk_tokens};
  const int shared = std::min(total, llm::SharedBlocks(prefix, t.prompt, kBlockTokens));
  hashes_.clear();
  for (int k = 0; k < shared; ++k)
    hashes_.push_back(llm::SharedBlockKey(prefix, k, kBlockTokens));  // never 0: a run's mark
  // Candidates: their pods, queue bounds, and prefix matches (walked from
  // the first block while any pod holds it).
  matched_.assign(n, 0);
  double min_q = 0, max_q = 0;
  std::vector<std::size_t>& pod_of = candidate_pods_;
  pod_of.resize(n);
  for (std::size_t c = 0; c < n; ++c) {
    auto [it, added] = index_.emplace(endpoints[c], pods_.size());
    if (added) {
      pods_.push_back(Pod{});
      pods_.back().hop = endpoints[c];
      pods_.back().lru.capacity = kDefaultCapacity;
    }
    pod_of[c] = it->second;
    const double q = pods_[it->second].gauges.waiting;
    min_q = c == 0 ? q : std::min(min_q, q);
    max_q = c == 0 ? q : std::max(max_q, q);
  }
  for (const std::uint64_t h : hashes_) {
    const auto it = holders_.find(h);
    if (it == holders_.end() || it->second.empty()) break;
    for (const std::size_t p : it->second) {
      for (std::size_t c = 0; c < n; ++c)
        matched_[c] += pod_of[c] == p;
    }
  }
  // The highest weighted score, ties at random.
  std::size_t best = 0, ties = 0;
  double best_score = -1;
  for (std::size_t c = 0; c < n; ++c) {
    const LlmGauges& g = pods_[pod_of[c]].gauges;
    const double queue = max_q == min_q ? 1.0 : (max_q - g.waiting) / (max_q - min_q);
    const double kv = std::clamp(1.0 - g.kv_usage, 0.0, 1.0);
    const double prefix = total > 0 ? static_cast<double>(matched_[c]) / total : 0.0;
    const double score = weights_.queue * queue + weights_.kv_cache * kv + weights_.prefix * prefix;
    if (score > best_score) {
      best_score = score;
      best = c;
      ties = 1;
    } else if (score == best_score && rng.UniformInt(++ties) == 0) {
      best = c;
    }
  }
  Record(pod_of[best], hashes_, static_cast<std::uint64_t>(total - shared));
  return endpoints[best];
}

void EndpointPicker::Record(std::size_t pod, const std::vector<std::uint64_t>& hashes,
                            std::uint64_t own) {
  Lru& lru = pods_[pod].lru;
  for (const std::uint64_t h : hashes) {
    const auto it = lru.where.find(h);
    if (it != lru.where.end()) {
      lru.order.splice(lru.order.begin(), lru.order, it->second);  // most recent
      continue;
    }
    lru.order.push_front({h, 1});
    lru.where.emplace(h, lru.order.begin());
    holders_[h].push_back(pod);
    ++lru.size;
  }
  if (own > 0) {
    if (!lru.order.empty() && lru.order.front().hash == 0) {
      lru.order.front().count += own;
    } else {
      lru.order.push_front({0, own});
    }
    lru.size += own;
  }
  // Least recently sent first.
  while (lru.size > lru.capacity) {
    Lru::Entry& back = lru.order.back();
    if (back.hash == 0) {
      const std::uint64_t drop = std::min(back.count, lru.size - lru.capacity);
      back.count -= drop;
      lru.size -= drop;
      if (back.count == 0) lru.order.pop_back();
      continue;
    }
    auto& holders = holders_[back.hash];
    holders.erase(std::find(holders.begin(), holders.end(), pod));
    if (holders.empty()) holders_.erase(back.hash);
    lru.where.erase(back.hash);
    lru.order.pop_back();
    --lru.size;
  }
}

}  // namespace platsim::platform
