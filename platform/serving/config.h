// The serving layer's inputs, as the scenario loader fills them: how model
// servers run, how clients send and give up, how the Service proxy balances
// and learns of endpoints. Plain values with upstream defaults; nothing here
// runs.
#ifndef PLATSIM_PLATFORM_SERVING_CONFIG_H_
#define PLATSIM_PLATFORM_SERVING_CONFIG_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/llm_step_time.h"
#include "models/service_time.h"
#include "platform/serving/llm_scheduler.h"
#include "sim/time.h"

namespace platsim::platform {

// What a model server does with a request whose client has gone (timed out).
// Triton removes cancelled requests from its batcher queues and stops running
// ones only in backends that check for cancellation (server
// docs/user_guide/request_cancellation.md); vLLM aborts the request wherever
// it is (vllm/entrypoints/utils.py with_cancellation, AsyncLLM.abort).
enum class AbandonPolicy {
  kKeep,     // never notices: runs it anyway, the result is thrown away
  kDequeue,  // leaves the queue; a batch already running keeps it (Triton)
  kAbort,    // leaves the queue or its batch; a batch left empty stops (vLLM)
};

// An LLM served as vLLM serves it (continuous batching, a KV cache:
// llm_engine.h) instead of with the dynamic batcher: its step times and KV
// blocks on one kind of GPU.
struct LlmOnGpu {
  std::shared_ptr<const models::StepTimeModel> step_time;
  std::string source;               // the profile, for outputs
  bool estimate = false;            // the profile is a roofline estimate
  std::int64_t num_gpu_blocks = 0;  // vLLM's count, its null block included
  bool blocks_estimated = false;    // from memory not measured by vLLM's profiling run
};
struct LlmServerConfig {
  llm::SchedulerConfig scheduler;  // num_gpu_blocks comes from the GPU's entry
  // The GPUs one engine splits the model over (vLLM's
  // --tensor-parallel-size, default 1); its profiles are of that split.
  int tensor_parallel = 1;
  LlmOnGpu any;  // on a node whose product has no entry (step_time may be null)
  std::map<std::string, LlmOnGpu> by_gpu;  // by nvidia.com/gpu.product
  // The entry for a node with that product label ("" if none); null if
  // the server cannot run there.
  const LlmOnGpu* On(const std::string& gpu_product) const {
    const auto it = by_gpu.find(gpu_product);
    const LlmOnGpu& e = it != by_gpu.end() ? it->second : any;
    return e.step_time ? &e : nullptr;
  }
  // Every entry with a model, for reports: (product or "" for the default, entry).
  std::vector<std::pair<std::string, const LlmOnGpu*>> All() const {
    std::vector<std::pair<std::string, const LlmOnGpu*>> out;
    if (any.step_time) out.emplace_back("", &any);
    for (const auto& [product, e] : by_gpu)
      out.emplace_back(product, &e);
    return out;
  }
};

struct ModelServerConfig {
  int max_concurrency = 1;  // batches executing at once
  int max_batch_size = 1;
  sim::Time max_queue_delay = 0;  // 0: never wait for a fuller batch
  int max_queue_length = 0;       // 0: unbounded
  // A request still queued this long after it reached the server is rejected
  // as timed out; one already running is not (Triton's
  // default_queue_policy.default_timeout_microseconds, checked in
  // core src/scheduler_utils.cc PolicyQueue). 0: none, Triton's default.
  sim::Time queue_timeout = 0;
  sim::Time model_load = 0;  // from container start to serving
  // The fraction of the requests it runs that end with an error (a bad
  // release), drawn per request from the Deployment's own error stream.
  double error_rate = 0;
  // The server process exits this long after its containers start (a
  // release that crashes on start); 0: never. The kubelet restarts it with
  // CrashLoopBackOff.
  sim::Time crash_after = 0;
  // A Knative revision's pod: Knative's queue-proxy sidecar in front of the
  // server (queue_proxy.h), enforcing the revision's containerConcurrency
  // (0: no limit).
  bool queue_proxy = false;
  int container_concurrency = 0;
  AbandonPolicy abandoned = AbandonPolicy::kDequeue;
  // CPU model: the server process uses `cpu_base_milli` millicores while it
  // runs, plus `cpu_per_request` of CPU time for each request it executes
  // (decoding, pre- and post-processing).
  std::int64_t cpu_base_milli = 0;
  sim::Time cpu_per_request = 0;
  // Memory model: the pod's working set is `memory_base_bytes` (the server
  // process and what it keeps in host memory) plus `memory_per_request_bytes`
  // for each request it holds (queued or executing).
  std::int64_t memory_base_bytes = 0;
  std::int64_t memory_per_request_bytes = 0;
  // The time of a batch on a node whose nvidia.com/gpu.product label (set
  // by GPU feature discovery) names a key of `service_time_by_gpu`;
  // `service_time` on any other node (may be null if the loader has checked
  // that no pod can land on such a node).
  std::shared_ptr<const models::ServiceTimeModel> service_time;
  std::map<std::string, std::shared_ptr<const models::ServiceTimeModel>> service_time_by_gpu;
  // An LLM engine instead of batches (service_time and max_batch_size
  // unused then); null: batches.
  std::shared_ptr<const LlmServerConfig> llm;

  // The model for a node with that label value ("" if none); null if none.
  const models::ServiceTimeModel* ServiceTimeOn(const std::string& gpu_product) const {
    const auto it = service_time_by_gpu.find(gpu_product);
    return it != service_time_by_gpu.end() ? it->second.get() : service_time.get();
  }
  // Every model, for reports: (product or "" for the default, model).
  std::vector<std::pair<std::string, const models::ServiceTimeModel*>> AllServiceTimes() const {
    std::vector<std::pair<std::string, const models::ServiceTimeModel*>> out;
    if (service_time) out.emplace_back("", service_time.get());
    for (const auto& [product, model] : service_time_by_gpu)
      out.emplace_back(product, model.get());
    return out;
  }
};

// The node label GPU feature discovery sets to the GPU's product name.
inline constexpr const char* kGpuProductLabel = "nvidia.com/gpu.product";

// The last three read LLM servers' gauges (endpoint_picker.h): the fewest
// waiting requests, the least KV cache in use, or the inference gateway's
// endpoint picker (both, and prefix-cache affinity).
enum class Balancer {
  kRandom,
  kRoundRobin,
  kLeastRequest,
  kLeastWaiting,
  kLeastKvCache,
  kEndpointPicker
};

// How a Service proxy learns of endpoint changes, as kube-proxy does: a sync
// runs at once if at least `min_sync_period` has passed since the last one,
// otherwise at `min_sync_period` after it; changes in between are merged
// (pkg/proxy/runner/bounded_frequency_runner.go Loop; iptables
// minSyncPeriod defaults to 1s in SetDefaults_KubeProxyConfiguration). Rules
// take effect `programming_delay` after a sync starts.
struct ProxyConfig {
  sim::Time min_sync_period = sim::kSecond;
  sim::Time programming_delay = 0;
};

// Long-lived connections of a traffic entry (connections.h).
struct ConnectionConfig {
  int clients = 0;  // 0: per-request balancing, no connections
  bool websocket = false;
  sim::Time handshake = 0;
  sim::Time reconnect_delay = 0;  // after a break, before the first attempt
  sim::Time initial_backoff = sim::kSecond;
  sim::Time max_backoff = 120 * sim::kSecond;
  double multiplier = 1.6;
  double jitter = 0.2;
  bool fail_fast = true;
};

}  // namespace platsim::platform

#endif  // PLATSIM_PLATFORM_SERVING_CONFIG_H_
