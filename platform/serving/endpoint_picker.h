// LLM-aware routing as the Gateway API Inference Extension's endpoint
// picker (EPP) does it, in the form llm-d's inference scheduler carries
// forward (GIE v1.4.0, pkg/epp/config/loader/defaults.go loadDefaultConfig;
// pkg/epp/scheduling/framework/plugins/...):
// - every pod's vLLM gauges are scraped every `refresh` (the EPP's
//   --refresh-metrics-interval, 50 ms), and a pick reads the last scrape,
//   not the pod's state now (a pod just added reads as idle);
// - scorers, each 0..1 per candidate pod: the queue scorer
//   ((max - waiting) / (max - min) over the candidates, 1 for all when they
//   are equal: queue.go), the KV-cache utilization scorer
//   (1 - kv_cache_usage_perc: kvcache_utilization.go) and the prefix-cache
//   scorer (below);
// - a pod's score is the weighted sum (weights 2, 2 and 3 by default:
//   SchedulerProfile.runScorerPlugins), and the max-score picker takes the
//   highest, ties broken at random (max_score_picker.go).
// The prefix-cache scorer (prefix/plugin.go, indexer.go) keeps an index of
// which pod was sent which prompt blocks (16 tokens, at most 256 blocks a
// prompt): each pod has an LRU of the block hashes it was sent, as many as
// its KV cache has blocks (autoTune, from vllm:cache_config_info). A pick
// walks the request's blocks from the first while some pod holds each; a
// pod's score is the blocks it holds among those walked over the request's
// blocks. The chosen pod is then recorded for all of the request's blocks.
// What a block holds is known from the request's shared prefix (as the
// scheduler's prefix cache knows it, llm_scheduler.h); its other blocks are
// its own, which no other request can match but which still take their
// place in the LRU.
#ifndef PLATSIM_PLATFORM_SERVING_ENDPOINT_PICKER_H_
#define PLATSIM_PLATFORM_SERVING_ENDPOINT_PICKER_H_

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "platform/serving/llm_scheduler.h"
#include "platform/serving/request.h"
#include "sim/engine.h"
#include "sim/random.h"

namespace platsim::platform {

struct PickerWeights {
  double queue = 2, kv_cache = 2, prefix = 3;
};

class EndpointPicker : public sim::EventHandler {
 public:
  // Borrows engine and table. Scrapes every `refresh` once it has pods.
  EndpointPicker(sim::Engine& engine, const RequestTable& table, PickerWeights weights,
                 sim::Time refresh);
  // The endpoints changed (a new one reads as idle until its first scrape).
  void SetEndpoints(const std::vector<Hop*>& endpoints);
  // The endpoint for request `id`, and records it in the prefix index.
  // REQUIRES: endpoints non-empty.
  Hop* Pick(RequestId id, const std::vector<Hop*>& endpoints, sim::RandomStream& rng);

  void OnEvent(std::uint64_t payload) override;

 private:
  // One pod's LRU of block hashes: findable hashes one by one, the
  // request's own blocks (never matched) as runs of a count, most recent at
  // the front.
  struct Lru {
    struct Entry {
      std::uint64_t hash;  // 0: a run of `count` unmatched hashes
      std::uint64_t count;
    };
    std::list<Entry> order;
    std::unordered_map<std::uint64_t, std::list<Entry>::iterator> where;
    std::uint64_t size = 0, capacity = 0;
  };
  struct Pod {
    Hop* hop = nullptr;
    LlmGauges gauges;  // the last scrape
    Lru lru;
  };
  void Scrape();
  // Adds `hashes` (then `own` unmatched ones) to `pod`'s LRU, evicting.
  void Record(std::size_t pod, const std::vector<std::uint64_t>& hashes, std::uint64_t own);

  sim::Engine& engine_;
  const RequestTable& table_;
  const PickerWeights weights_;
  const sim::Time refresh_;
  const sim::HandlerId handler_;
  bool scraping_ = false;
  std::vector<Pod> pods_;                              // every pod seen, by first sight
  std::unordered_map<const Hop*, std::size_t> index_;  // pods_ by hop
  // The pods holding each findable hash.
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> holders_;
  std::vector<std::uint64_t> hashes_;        // scratch
  std::vector<double> scores_;               // scratch
  std::vector<std::size_t> matched_;         // scratch: per candidate
  std::vector<std::size_t> candidate_pods_;  // scratch: pods_ index per candidate
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_ENDPOINT_PICKER_H_
