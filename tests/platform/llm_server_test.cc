// LLM model servers (engine: vllm) in whole scenarios: requests replayed
// from a Mooncake trace with given token counts, on a profile whose every
// pass takes 10 ms, so that each step lasts 10 ms (prefill or decode alone)
// or 20 ms (both: without the model's shape no weight read is shared), and
// each token's time can be worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>

#include "models/input/diagnostics.h"
#include "platform/scenario.h"
#include "platform/simulation.h"
#include "tests/testing/temp_dir.h"

namespace platsim::platform {
namespace {

// Every pass 10 ms, whatever its batch, tokens or KV length.
const char* kFlatProfile = R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
 "metadata": {"name": "flat", "contextTokens": 4096},
 "prefill": {"batchSizes": [1, 64], "tokens": [1, 8192],
             "latencySeconds": [[0.01, 0.01], [0.01, 0.01]]},
 "decode": {"batchSizes": [1, 64], "kvLengths": [1, 8192],
            "latencySeconds": [[0.01, 0.01], [0.01, 0.01]]}})";

struct Options {
  std::string trace;  // Mooncake JSON lines
  std::string vllm = "{numGpuBlocks: 1000}";
  std::string server;  // extra model server fields
  std::string client;  // extra traffic fields
  std::string profile = kFlatProfile;
  std::string manifests;  // more manifests (list entries)
  std::string arrivals = "{kind: trace, format: mooncake, file: trace.jsonl, startAt: 300s}";
  std::string duration = "400s";
  std::string more_traffic;     // more traffic entries
  std::string trace2;           // trace2.jsonl
  int gpus = 1;                 // per node and per pod
  std::string sample_interval;  // spec.sampleInterval, if given
};

// A request `ms` after the first (the replay starts at 300 s).
// `hash_ids` (Mooncake's 512-token prompt blocks) only where given: then
// requests share cached prefixes.
std::string Line(int ms, int in, int out, const std::string& hash_ids = "") {
  return R"({"timestamp": )" + std::to_string(ms) + R"(, "input_length": )" + std::to_string(in) +
         R"(, "output_length": )" + std::to_string(out) +
         (hash_ids.empty() ? "" : R"(, "hash_ids": )" + hash_ids) + "}\n";
}

struct Result {
  std::map<std::string, double> m;
  std::vector<ClusterEvent> events;
  std::vector<std::map<std::string, double>> all;  // every Service's, in traffic order
  // The time series of the first Service: each sample's time and columns.
  std::vector<std::pair<double, std::map<std::string, double>>> series;
  bool loaded = false;
  std::string errors;
};

Result RunLlm(const Options& o) {
  platsim::testing::TempDir dir;
  dir.Write("trace.jsonl", o.trace);
  dir.Write("trace2.jsonl", o.trace2.empty() ? o.trace : o.trace2);
  dir.Write("flat.json", o.profile);
  const auto path = dir.Write(
      "s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: )" + o.duration +
                    (o.sample_interval.empty() ? "" : "\n  sampleInterval: " + o.sample_interval) +
                    R"(
  nodePools:
  - name: pool
    count: 4
    allocatable: {cpu: "16", memory: 64Gi, nvidia.com/gpu: ")" +
                    std::to_string(o.gpus) + R"("}
  manifests:
  - inline:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: m}
      spec:
        replicas: 1
        selector: {matchLabels: {app: m}}
        template:
          metadata: {labels: {app: m}}
          spec:
            containers:
            - name: server
              image: m:1
              resources: {limits: {nvidia.com/gpu: ")" +
                    std::to_string(o.gpus) + R"("}}
              readinessProbe: {periodSeconds: 1}
  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: m}
      spec: {selector: {app: m}}
)" + o.manifests + R"(
  modelServers:
  - deployment: m
    engine: vllm
    vllm: )" + o.vllm +
                    (o.server.empty() ? "" : "\n    " + o.server) +
                    R"(
    serviceTime: {kind: profile, file: flat.json}
  traffic:
  - service: m
    arrivals: )" + o.arrivals +
                    (o.client.empty() ? "" : "\n    " + o.client) + "\n" + o.more_traffic);
  input::Diagnostics diags;
  const auto scenario = LoadScenario(path.string(), diags);
  Result r;
  for (const auto& d : diags.all()) {
    if (d.severity == input::Severity::kError) r.errors += input::Format(d) + "\n";
  }
  if (!scenario) return r;
  // Keeps the rows of the first Service's series.
  struct Rows : sim::RowSink {
    std::vector<std::string> columns;
    std::vector<std::pair<double, std::map<std::string, double>>>* out;
    void Header(std::span<const std::string> c) override { columns.assign(c.begin(), c.end()); }
    void Row(sim::Time t, const std::string& series, std::span<const double> v) override {
      if (series != "default/m") return;
      std::map<std::string, double> row;
      for (std::size_t i = 0; i < v.size(); ++i)
        row[columns[i]] = v[i];
      out->emplace_back(sim::ToSeconds(t), std::move(row));
    }
  } rows;
  rows.out = &r.series;
  EventListSink events;
  Simulation sim(*scenario, scenario->seed, events, &rows);
  const RunResult run = sim.Run();
  r.m = run.services.at(0).metrics;
  for (const auto& service : run.services)
    r.all.push_back(service.metrics);
  r.events = events.events;
  r.loaded = true;
  return r;
}

constexpr double kTol = 2e-3;  // the quantile sketches' relative error, with room

// With two values a quantile below 1 is the lower (the sketch's rank is
// q x (n - 1), rounded down); the means tell both apart.
TEST(LlmServer, AnIdleEngineStartsAStepAtOnceAndLaterRequestsJoinTheNext) {
  Options o;
  // A: 100 prompt tokens, 3 out; B: 50 in, 2 out; both at 300 s, A first.
  o.trace = Line(0, 100, 3) + Line(0, 50, 2);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  // Step 1 [0, 10 ms): A's prompt (the engine was idle). Step 2 [10, 30):
  // A's decode and B's prompt, 10 + 10 ms. Step 3 [30, 40): A's third
  // token, B's second; both done.
  EXPECT_EQ(r.m.at("completed"), 2);
  EXPECT_NEAR(r.m.at("ttft_mean_s"), (0.010 + 0.030) / 2, 1e-12);
  EXPECT_NEAR(r.m.at("ttft_p50_s"), 0.010, 0.010 * kTol);
  EXPECT_NEAR(r.m.at("latency_mean_s"), 0.040, 1e-12);
  EXPECT_NEAR(r.m.at("itl_mean_s"), (0.020 + 0.010 + 0.010) / 3, 1e-12);
  EXPECT_NEAR(r.m.at("tpot_mean_s"), ((0.040 - 0.010) / 2 + (0.040 - 0.030) / 1) / 2, 1e-12);
  EXPECT_NEAR(r.m.at("output_tokens_mean"), 2.5, 1e-12);
  EXPECT_EQ(r.m.at("preemptions"), 0);
}

TEST(LlmServer, ARequestArrivingMidStepJoinsTheNextAsAMixedStep) {
  Options o;
  // A at 300 s (100 in, 3 out); B 5 ms later (50 in, 2 out).
  o.trace = Line(0, 100, 3) + Line(5, 50, 2);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  // Step 1 [0, 10): A's prompt. Step 2 [10, 30): A's decode and B's prompt,
  // 10 + 10 ms. Step 3 [30, 40): a decode each; both finish.
  EXPECT_NEAR(r.m.at("ttft_mean_s"), (0.010 + 0.025) / 2, 1e-12);  // B: 30 - 5 ms
  // A ends at 40 ms, B at 40 - 5 = 35 ms after it came.
  EXPECT_NEAR(r.m.at("latency_mean_s"), (0.040 + 0.035) / 2, 1e-12);
  // A's gaps: 20 and 10 ms; B's: 10 ms.
  EXPECT_NEAR(r.m.at("itl_mean_s"), 0.040 / 3, 1e-12);
  EXPECT_NEAR(r.m.at("itl_p50_s"), 0.010, 0.010 * kTol);
}

TEST(LlmServer, WhenTheKvCacheRunsOutTheLaterRequestIsPreemptedAndRecomputed) {
  Options o;
  // 10 usable blocks of 16 tokens (one more is the null block). A and B:
  // 64 in, 40 out, both at 300 s.
  o.vllm = "{numGpuBlocks: 11, maxModelLen: 160}";
  o.trace = Line(0, 64, 40) + Line(0, 64, 40);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  // Step 1 [0, 10): A's prompt (4 blocks); first token. Step 2 [10, 30): A's
  // decode (a 5th block) and B's prompt (4). From step 3 (10 ms each) A
  // computes token 62 + j and B token 61 + j at step j; B takes its 5th
  // block at step 3, and every block is in use. Step 18 needs a 6th for A:
  // B, running last, is preempted with 16 tokens out (its 16th at 180 ms),
  // and nobody is admitted in that step. B's recompute (80 tokens, 5 blocks)
  // does not fit beside A's 6, then 7, until A's 40th token ends it at step
  // 40 (410 ms). Step 41 recomputes B and samples its 17th token at 420 ms,
  // 240 ms after its 16th; then 23 steps to 650 ms.
  EXPECT_EQ(r.m.at("completed"), 2);
  EXPECT_EQ(r.m.at("preemptions"), 1);
  EXPECT_NEAR(r.m.at("ttft_mean_s"), (0.010 + 0.030) / 2, 1e-12);
  EXPECT_NEAR(r.m.at("latency_mean_s"), (0.410 + 0.650) / 2, 1e-12);
  // A's gaps: 20 ms, then 38 of 10 ms. B's: 15 of 10 ms, 240 ms, 23 of 10.
  EXPECT_NEAR(r.m.at("itl_mean_s"), (0.400 + 0.150 + 0.240 + 0.230) / 78, 1e-12);
  EXPECT_NEAR(r.m.at("tpot_mean_s"), ((0.410 - 0.010) / 39 + (0.650 - 0.030) / 39) / 2, 1e-12);
  EXPECT_NEAR(r.m.at("tpot_p50_s"), (0.410 - 0.010) / 39, 0.010 * kTol);
}

TEST(LlmServer, GoodputCountsRequestsMeetingBothObjectives) {
  Options o;
  o.vllm = "{numGpuBlocks: 11, maxModelLen: 160}";
  o.trace = Line(0, 64, 40) + Line(0, 64, 40);
  // As above. A: TTFT 10 ms, TPOT 10.26 ms; B: TTFT 30 ms, TPOT 15.9 ms.
  o.client = "slo: {ttft: 100ms, tpot: 12ms}";
  Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  EXPECT_EQ(r.m.at("goodput_fraction"), 0.5);
  o.client = "slo: {ttft: 100ms, tpot: 16ms}";
  r = RunLlm(o);
  EXPECT_EQ(r.m.at("goodput_fraction"), 1.0);
  o.client = "slo: {ttft: 9ms}";
  r = RunLlm(o);
  EXPECT_EQ(r.m.at("goodput_fraction"), 0.0);
}

TEST(LlmServer, ARequestLongerThanMaxModelLenIsAnsweredWithAnError) {
  Options o;
  o.vllm = "{numGpuBlocks: 100, maxModelLen: 160}";
  o.trace = Line(0, 150, 11) + Line(0, 150, 10);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  EXPECT_EQ(r.m.at("failed"), 1);
  EXPECT_EQ(r.m.at("refused_too_long"), 1);
  EXPECT_EQ(r.m.at("completed"), 1);
}

TEST(LlmServer, AClientThatGivesUpAbortsItsRequestAndFreesItsPlace) {
  Options o;
  // max_num_seqs 1: B (at 500 ms) waits for A (1000 tokens out: 10 s). A's
  // client gives up at 1.005 s, in the step [1.000, 1.010).
  o.vllm = "{numGpuBlocks: 1000, maxNumSeqs: 1}";
  o.client = "timeout: 1005ms";
  o.trace = Line(0, 10, 1000) + Line(500, 10, 2);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  EXPECT_EQ(r.m.at("timed_out"), 1);
  EXPECT_EQ(r.m.at("completed"), 1);
  // A leaves at the step's end; B's prompt runs [1.010, 1.020), its
  // decode [1.020, 1.030): 530 ms after it came.
  EXPECT_NEAR(r.m.at("latency_mean_s"), 0.530, 1e-12);
}

TEST(LlmServer, KvBlocksComeFromTheGpusMemoryLessWeightsAndTheRest) {
  Options o;
  // A profile that records Llama-3-8B's shape and an 80 GiB GPU.
  std::string profile = kFlatProfile;
  profile.insert(profile.rfind('}'),
                 R"(, "provenance": {"device": {"name": "NVIDIA H100", "memoryGiB": 80},
   "model": {"layers": 32, "hidden": 4096, "heads": 32, "kvHeads": 8, "ffn": 14336,
             "vocab": 128256}})");
  o.profile = profile;
  // 80 GiB x 0.9 = 77,309,411,328 bytes, less 8,029,995,008 parameters x
  // 2 bytes and 10 GiB: 50,512,003,072 bytes, at 16 tokens x 131,072 bytes
  // (2 x 32 layers x 8 KV heads x 128 x 2 bytes) a block: 24,086 blocks,
  // one the null block, so 385,360 tokens. vLLM's start check pins it: a
  // max_model_len of that many fits, one more does not.
  o.trace = Line(0, 10, 2);
  o.vllm = "{gpuMemoryUtilization: 0.9, nonKvMemory: 10Gi, maxModelLen: 385360}";
  Result r = RunLlm(o);
  EXPECT_TRUE(r.loaded) << r.errors;
  o.vllm = "{gpuMemoryUtilization: 0.9, nonKvMemory: 10Gi, maxModelLen: 385361}";
  r = RunLlm(o);
  EXPECT_FALSE(r.loaded);
  EXPECT_NE(r.errors.find("vLLM would not start"), std::string::npos) << r.errors;
}

// The flat profile made one of a model split over `gpus` GPUs.
std::string SplitProfile(int gpus, const std::string& more = "") {
  std::string profile = kFlatProfile;
  profile.insert(profile.find("\"contextTokens\""),
                 "\"tensorParallelSize\": " + std::to_string(gpus) + ", ");
  profile.insert(profile.rfind('}'), more);
  return profile;
}

TEST(LlmServer, SplitOverTwoGpusEachHoldsHalfTheWeightsAndHalfTheKvHeads) {
  Options o;
  o.gpus = 2;
  o.profile =
      SplitProfile(2, R"(, "provenance": {"device": {"name": "NVIDIA H100", "memoryGiB": 80},
   "model": {"layers": 32, "hidden": 4096, "heads": 32, "kvHeads": 8, "ffn": 14336,
             "vocab": 128256}})");
  // On each GPU: 80 GiB x 0.9 = 77,309,411,328 bytes, less half of
  // 8,029,995,008 parameters x 2 bytes and 10 GiB: 58,541,998,080 bytes, at
  // 16 tokens x 65,536 bytes (2 x 32 layers x 4 of the 8 KV heads x 128 x 2
  // bytes) a block: 55,830 blocks exactly, one the null block, so 893,264
  // tokens.
  o.trace = Line(0, 10, 2);
  o.vllm =
      "{tensorParallelSize: 2, gpuMemoryUtilization: 0.9, nonKvMemory: 10Gi, "
      "maxModelLen: 893264}";
  Result r = RunLlm(o);
  EXPECT_TRUE(r.loaded) << r.errors;
  o.vllm =
      "{tensorParallelSize: 2, gpuMemoryUtilization: 0.9, nonKvMemory: 10Gi, "
      "maxModelLen: 893265}";
  r = RunLlm(o);
  EXPECT_FALSE(r.loaded);
  EXPECT_NE(r.errors.find("vLLM would not start"), std::string::npos) << r.errors;
}

TEST(LlmServer, TheGpusASplitModelDoesNotUseSitIdle) {
  // Pods of 4 GPUs, every pass 10 ms: utilization is busy GPU-time over
  // held, so a model split over 2 of the 4 uses half what one split over all
  // 4 does, and one on a single GPU a quarter.
  Options o;
  o.gpus = 4;
  o.trace = Line(0, 100, 50) + Line(3000, 100, 50);
  std::map<int, double> used;
  for (int gpus : {1, 2, 4}) {
    o.profile = SplitProfile(gpus);
    o.vllm = "{numGpuBlocks: 1000, tensorParallelSize: " + std::to_string(gpus) + "}";
    const Result r = RunLlm(o);
    ASSERT_TRUE(r.loaded) << r.errors;
    EXPECT_EQ(r.m.at("completed"), 2);
    used[gpus] = r.m.at("gpu_utilization");
  }
  EXPECT_GT(used[4], 0);
  EXPECT_NEAR(used[2], used[4] / 2, 1e-12);
  EXPECT_NEAR(used[1], used[4] / 4, 1e-12);
}

TEST(LlmServer, ASplitNeedsAProfileOfThatSplitAndPodsWithThatManyGpus) {
  Options o;
  o.trace = Line(0, 10, 2);
  o.vllm = "{numGpuBlocks: 1000, tensorParallelSize: 2}";
  o.gpus = 2;
  // The one-GPU profile: the error says how to derive one.
  Result r = RunLlm(o);
  EXPECT_FALSE(r.loaded);
  EXPECT_NE(r.errors.find("flat.json is a profile of the model on 1 GPU, and "
                          "vllm.tensorParallelSize splits it over 2 GPUs"),
            std::string::npos)
      << r.errors;
  EXPECT_NE(r.errors.find("--tensor-parallel 2"), std::string::npos) << r.errors;
  // A split profile where the server is not split.
  o.profile = SplitProfile(2);
  o.vllm = "{numGpuBlocks: 1000}";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("is a profile of the model on 2 GPUs"), std::string::npos) << r.errors;
  // Pods of one GPU cannot hold a split over two.
  o.gpus = 1;
  o.vllm = "{numGpuBlocks: 1000, tensorParallelSize: 2}";
  r = RunLlm(o);
  EXPECT_FALSE(r.loaded);
  EXPECT_NE(r.errors.find("vllm.tensorParallelSize 2 needs as many GPUs in the pod, and the pods "
                          "of default/m request 1 nvidia.com/gpu"),
            std::string::npos)
      << r.errors;
  o.vllm = "{numGpuBlocks: 1000, tensorParallelSize: 0}";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("tensorParallelSize"), std::string::npos) << r.errors;
}

// What an Argo analysis reads of vLLM's metrics through Prometheus: each
// metric of the template named after its query, and the value it measured.
std::map<std::string, std::string> MeasuredThroughPrometheus(
    const std::vector<std::pair<std::string, std::string>>& queries) {
  platsim::testing::TempDir dir;
  dir.Write("flat.json", kFlatProfile);
  // Two requests of 100 prompt tokens and 3 output tokens, 1 s apart, each
  // alone on the server: a 10 ms prefill step makes the first token, two
  // 10 ms decode steps the others.
  dir.Write("trace.jsonl", Line(0, 100, 3) + Line(1000, 100, 3));
  std::string metrics;
  for (const auto& [name, query] : queries) {
    metrics += "        - name: " + name + "\n          successCondition: 'true'\n" +
               "          provider: {prometheus: {query: '" + query + "'}}\n";
  }
  // The Rollout, and its release at 300 s (whose analysis step measures).
  for (const int v : {1, 2}) {
    dir.Write("r" + std::to_string(v) + ".yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  replicas: 1
  selector: {matchLabels: {app: r}}
  template:
    metadata: {labels: {app: r}}
    spec:
      containers:
      - name: server
        image: r:)" + std::to_string(v) + R"(
        resources: {limits: {nvidia.com/gpu: "1"}}
  strategy:
    canary:
      steps:
      - analysis: {templates: [{templateName: t}]}
)");
  }
  const auto path = dir.Write("s.yaml", R"(apiVersion: platsim.dev/v1alpha1
kind: Scenario
metadata: {name: t}
spec:
  duration: 400s
  prometheus: {scrapeInterval: 15s}
  nodePools:
  - name: pool
    count: 2
    allocatable: {cpu: "16", memory: 64Gi, nvidia.com/gpu: "1"}
  manifests:
  - file: r1.yaml
  - inline:
      apiVersion: argoproj.io/v1alpha1
      kind: AnalysisTemplate
      metadata: {name: t}
      spec:
        metrics:
)" + metrics + R"(  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: r}
      spec: {selector: {app: r}}
  modelServers:
  - rollout: r
    engine: vllm
    vllm: {numGpuBlocks: 1000}
    serviceTime: {kind: profile, file: flat.json}
  timeline:
  - {at: 300s, apply: {file: r2.yaml}}
  traffic:
  - service: r
    arrivals: {kind: trace, format: mooncake, file: trace.jsonl, startAt: 100s}
)");
  input::Diagnostics diags;
  const auto scenario = LoadScenario(path.string(), diags);
  std::map<std::string, std::string> out;
  for (const auto& d : diags.all()) {
    if (d.severity == input::Severity::kError) out["error"] += input::Format(d) + "\n";
  }
  if (!scenario) return out;
  EventListSink events;
  Simulation sim(*scenario, scenario->seed, events, nullptr);
  sim.Run();
  for (const ClusterEvent& e : events.events) {
    if (e.reason != "MetricSuccessful" && e.reason != "MetricError") continue;
    const std::string name = e.message.substr(e.message.find('\'') + 1);
    for (const auto& [k, v] : e.fields) {
      if (k == "value") out[name.substr(0, name.find('\''))] = v;
    }
  }
  return out;
}

TEST(LlmServer, PrometheusScrapesVllmsHistogramsAndCounters) {
  const auto got = MeasuredThroughPrometheus({
      {"generated", "scalar(sum(vllm:generation_tokens_total))"},
      {"prompt", "scalar(sum(vllm:prompt_tokens_total))"},
      {"ttft_count", "scalar(sum(vllm:time_to_first_token_seconds_count))"},
      {"ttft_sum", "scalar(sum(vllm:time_to_first_token_seconds_sum))"},
      // 10 ms each: above the 5 ms bound, within 20 ms; +Inf holds all.
      {"ttft_le_5ms", "scalar(sum(vllm:time_to_first_token_seconds_bucket{le=\"0.005\"}))"},
      {"ttft_le_20ms", "scalar(sum(vllm:time_to_first_token_seconds_bucket{le=\"0.02\"}))"},
      {"ttft_inf", "scalar(sum(vllm:time_to_first_token_seconds_bucket{le=\"+Inf\"}))"},
      {"itl_count", "scalar(sum(vllm:inter_token_latency_seconds_count))"},
      {"itl_sum", "scalar(sum(vllm:inter_token_latency_seconds_sum))"},
      {"tpot_sum", "scalar(sum(vllm:request_time_per_output_token_seconds_sum))"},
      {"e2e_sum", "scalar(sum(vllm:e2e_request_latency_seconds_sum))"},
      {"e2e_le_300ms", "scalar(sum(vllm:e2e_request_latency_seconds_bucket{le=\"0.3\"}))"},
      // Bounds written as vLLM's Python client writes them.
      {"e2e_le_1s", "scalar(sum(vllm:e2e_request_latency_seconds_bucket{le=\"1.0\"}))"},
      {"waiting", "scalar(sum(vllm:num_requests_waiting))"},
      {"preempted", "scalar(sum(vllm:num_preemptions_total))"},
  });
  ASSERT_EQ(got.count("error"), 0u) << got.at("error");
  auto value = [&](const std::string& name) {
    const auto it = got.find(name);
    EXPECT_NE(it, got.end()) << name;
    return it == got.end() ? -1.0 : std::stod(it->second);
  };
  EXPECT_EQ(value("generated"), 6);  // 3 tokens, twice
  EXPECT_EQ(value("prompt"), 200);
  EXPECT_EQ(value("ttft_count"), 2);
  EXPECT_NEAR(value("ttft_sum"), 0.02, 1e-9);
  EXPECT_EQ(value("ttft_le_5ms"), 0);
  EXPECT_EQ(value("ttft_le_20ms"), 2);
  EXPECT_EQ(value("ttft_inf"), 2);
  EXPECT_EQ(value("itl_count"), 4);  // the 2 tokens after each first
  EXPECT_NEAR(value("itl_sum"), 0.04, 1e-9);
  EXPECT_NEAR(value("tpot_sum"), 2 * 0.01, 1e-9);  // (30 - 10 ms) / 2 tokens, twice
  EXPECT_NEAR(value("e2e_sum"), 2 * 0.03, 1e-9);
  EXPECT_EQ(value("e2e_le_300ms"), 2);
  EXPECT_EQ(value("e2e_le_1s"), 2);
  EXPECT_EQ(value("waiting"), 0);
  EXPECT_EQ(value("preempted"), 0);
}

TEST(LlmServer, TheTimeSeriesHasEachIntervalsTtftAndTpot) {
  // Samples every 10 s. A at 300 s and B at 305 s come alone (TTFT 10 ms);
  // A's 3 tokens take 10 ms each. B's 1000 run until about 315 s. C comes
  // at 312.005 s, mid-step: it joins the next (at 312.010) as a mixed step
  // of 20 ms, so its TTFT is 25 ms, and its 2 later tokens 10 ms each.
  Options o;
  o.sample_interval = "10s";
  o.trace = Line(0, 100, 3) + Line(5000, 100, 1000) + Line(12005, 100, 3);
  const Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  std::map<double, std::map<std::string, double>> at;
  for (const auto& [t, row] : r.series)
    at[t] = row;
  ASSERT_TRUE(at.count(310) && at.count(320) && at.count(330));
  EXPECT_NEAR(at[310]["ttft_p99_s"], 0.010, 0.010 * kTol);  // A's and B's
  EXPECT_NEAR(at[310]["tpot_p99_s"], 0.010, 0.010 * kTol);  // A's
  EXPECT_NEAR(at[320]["ttft_p99_s"], 0.025, 0.025 * kTol);  // C's alone
  // C's 10 ms, and B's: 999 tokens in 999 steps of 10 ms and one of 20.
  EXPECT_NEAR(at[320]["tpot_p99_s"], 0.010, 0.01001 * kTol);
  EXPECT_GE(at[320]["tpot_p99_s"], 0.010 * (1 - kTol));
  EXPECT_TRUE(std::isnan(at[330]["ttft_p99_s"]));  // nothing came
  EXPECT_TRUE(std::isnan(at[330]["tpot_p99_s"]));
  EXPECT_TRUE(std::isnan(at[300]["ttft_p99_s"]));
  // The whole run's, every interval folded in.
  EXPECT_NEAR(r.m.at("ttft_mean_s"), (0.010 + 0.010 + 0.025) / 3, 1e-9);
  EXPECT_NEAR(r.m.at("ttft_p50_s"), 0.010, 0.010 * kTol);
  EXPECT_EQ(r.m.at("completed"), 3);
}

TEST(LlmServer, BadVllmSettingsAreErrorsWithTheirField) {
  Options o;
  o.trace = Line(0, 10, 2);
  o.server = "maxBatchSize: 8";
  Result r = RunLlm(o);
  EXPECT_FALSE(r.loaded);
  EXPECT_NE(r.errors.find("maxBatchSize"), std::string::npos) << r.errors;
  o.server = "abandonedRequests: dequeue";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("abandonedRequests"), std::string::npos) << r.errors;
  o.server = "";
  o.vllm = "{numGpuBlocks: 1000, blockSize: 20}";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("blockSize"), std::string::npos) << r.errors;
  o.vllm = "{numGpuBlocks: 1000, maxNumSeq: 4}";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("maxNumSeq"), std::string::npos) << r.errors;
  // A profile without decode grids.
  o.vllm = "{numGpuBlocks: 1000}";
  o.profile = R"({"apiVersion": "platsim.dev/v1alpha1", "kind": "LatencyProfile",
    "metadata": {"name": "b"}, "batchLatency": [{"batchSize": 1, "latencySeconds": 0.01}]})";
  r = RunLlm(o);
  EXPECT_NE(r.errors.find("no prefill and decode grids"), std::string::npos) << r.errors;
}

TEST(LlmServer, RequestsSharingAPrefixFindItInThePrefixCache) {
  Options o;
  // A: 600 tokens in chunks [1, 2]; B, 100 ms later: [1, 3]. B shares A's
  // first 512 tokens: 32 blocks of 16. Of the 1,200 prompt tokens looked
  // up, 512 are found.
  o.trace = Line(0, 600, 1, "[1, 2]") + Line(100, 600, 1, "[1, 3]");
  Result r = RunLlm(o);
  ASSERT_TRUE(r.loaded) << r.errors;
  EXPECT_NEAR(r.m.at("prefix_cache_hit_rate"), 512.0 / 1200, 1e-12);
  o.vllm = "{numGpuBlocks: 1000, enablePrefixCaching: false}";
  r = RunLlm(o);
  EXPECT_TRUE(std::isnan(r.m.at("prefix_cache_hit_rate")));  // nothing looked up
  // Without ids in the trace, a shared prefix of 100 tokens for every
  // request (one group): 6 full blocks, found by the second and third of
  // three 200-token prompts.
  o.vllm = "{numGpuBlocks: 1000}";
  o.trace = Line(0, 200, 1) + Line(100, 200, 1) + Line(200, 200, 1);
  o.client = "sharedPrefix: {tokens: 100}";
  r = RunLlm(o);
  EXPECT_NEAR(r.m.at("prefix_cache_hit_rate"), 2 * 96.0 / 600, 1e-12);
  // A million groups: three requests almost surely draw three.
  o.client = "sharedPrefix: {tokens: 100, groups: 1000000}";
  r = RunLlm(o);
  EXPECT_EQ(r.m.at("prefix_cache_hit_rate"), 0);  // a repeat is one in a million
}

TEST(LlmServer, ThePriorityPolicyServesAHigherPriorityServiceFirst) {
  Options o;
  // One sequence at a time, 10 ms a step. Service m (priority 1): A at 0
  // (10 in, 5 out: steps to 50 ms), B at 1 ms (the same). Service m2, the
  // same pods, priority 0: C at 2 ms (10 in, 5 out). FCFS runs B, then C
  // (first token at 110 ms); the priority policy runs C (first token at
  // 60 ms), then B (110 ms).
  o.trace = Line(0, 10, 5) + Line(1, 10, 5);
  o.trace2 = Line(0, 10, 5);
  o.client = "priority: 1";
  o.manifests = R"(  - inline:
      apiVersion: v1
      kind: Service
      metadata: {name: m2}
      spec: {selector: {app: m}})";
  o.more_traffic = R"(  - service: m2
    priority: 0
    arrivals: {kind: trace, format: mooncake, file: trace2.jsonl, startAt: 300002ms}
)";
  for (const bool priority : {false, true}) {
    o.vllm = std::string("{numGpuBlocks: 1000, maxNumSeqs: 1, schedulingPolicy: ") +
             (priority ? "priority}" : "fcfs}");
    const Result r = RunLlm(o);
    ASSERT_TRUE(r.loaded) << r.errors;
    ASSERT_EQ(r.all.size(), 2u);
    // m: A's first token at 10 ms, B's at 60 or 110 ms after 0 (B came at 1).
    const double b_ttft = priority ? 0.109 : 0.059;
    EXPECT_NEAR(r.all[0].at("ttft_mean_s"), (0.010 + b_ttft) / 2, 1e-12) << priority;
    EXPECT_NEAR(r.all[1].at("ttft_mean_s"), priority ? 0.058 : 0.108, 1e-12) << priority;
  }
}

TEST(LlmServer, AnHpaScalesOnVllmsWaitingRequests) {
  Options o;
  // One sequence at a time, 10 steps a request (10 tokens out): 10
  // requests/s a replica, against 30 arriving. The waiting requests pile up
  // and the HPA (2 waiting a pod) scales to its maximum; scaling down would
  // wait 5 minutes.
  o.vllm = "{numGpuBlocks: 1000, maxNumSeqs: 1}";
  o.client = "promptTokens: 10\n    outputTokens: 10";
  o.arrivals = "{kind: poisson, rate: 30}";
  o.duration = "300s";
  for (const std::string name :
       {"vllm:num_requests_waiting", "prometheus.googleapis.com|vllm:num_requests_waiting|gauge"}) {
    o.manifests = R"(  - inline:
      apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: m}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: m}
        minReplicas: 1
        maxReplicas: 4
        metrics:
        - type: Pods
          pods:
            metric: {name: ")" +
                  name + R"("}
            target: {type: AverageValue, averageValue: "2"})";
    const Result r = RunLlm(o);
    ASSERT_TRUE(r.loaded) << r.errors;
    EXPECT_EQ(r.m.at("ready_replicas_final"), 4) << name;
    int rescales = 0;
    for (const ClusterEvent& e : r.events)
      rescales += e.reason == "SuccessfulRescale";
    EXPECT_GE(rescales, 1) << name;
  }
}

}  // namespace
}  // namespace platsim::platform
