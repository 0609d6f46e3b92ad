// LLM serving's speed. BM_LlmReplica: one replica's engine alone
// (llm_engine.h), Llama-3-8B on an H100 from its measured profile, Poisson
// requests with lognormal prompts (mean 1000 tokens) and outputs (mean 200),
// for one simulated hour. BM_LlmPlatform: the same model and requests
// through the whole platform, 8 replicas at 70% load. Both report simulated
// requests per second of wall time, the ratio to real time, and what the
// replicas did.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>

#include "models/input/diagnostics.h"
#include "models/llm_step_time.h"
#include "models/tokens.h"
#include "platform/scenario.h"
#include "platform/serving/llm_engine.h"
#include "platform/simulation.h"
#include "sim/engine.h"

namespace platsim::platform::llm {
namespace {

class Tally : public Engine::Observer {
 public:
  explicit Tally(sim::Engine& engine) : engine_(engine) {}
  void OnFirstToken(std::uint64_t r, sim::Time now) override {
    ttft_s += sim::ToSeconds(now - arrival[r]);
    ++first;
  }
  void OnToken(std::uint64_t, sim::Time, sim::Time) override { ++tokens; }
  void OnFinished(std::uint64_t, sim::Time) override { ++finished; }
  void OnPreempted(std::uint64_t, sim::Time) override { ++preempted; }
  std::vector<sim::Time> arrival;
  double ttft_s = 0;
  std::uint64_t first = 0, tokens = 0, finished = 0, preempted = 0;

 private:
  sim::Engine& engine_;
};

void BM_LlmReplica(benchmark::State& state) {
  input::Diagnostics diags;
  const auto profile = models::ReadLatencyProfile(
      std::string(PLATSIM_SOURCE_DIR) + "/gpu/profiles/h100-80gb-hbm3/llama-3-8b.json", "p", diags);
  if (!profile) {
    state.SkipWithError("cannot read the profile");
    return;
  }
  const models::StepTimeModel model(*profile);
  const double rate = static_cast<double>(state.range(0));
  const models::LogNormalTokens prompts(1000, 0.8, 16, 7000), outputs(200, 0.9, 1, 1000);
  std::uint64_t requests = 0;
  double simulated_s = 0;
  Tally* last = nullptr;
  std::unique_ptr<Tally> keep;
  std::uint64_t steps = 0, batched = 0;
  for (auto _ : state) {
    sim::Engine sim(7);
    keep = std::make_unique<Tally>(sim);
    Tally& tally = *keep;
    // 80 GiB at 0.92, less 16 GB of weights and ~4 GB of activations and
    // the rest: about 50 GiB of KV at 2 MiB a block.
    Engine engine(
        sim,
        {.max_num_seqs = 1024,
         .max_num_batched_tokens = 8192,
         .block_size = 16,
         .num_gpu_blocks = 25600,
         .max_model_len = 8192},
        [&](const models::StepShape& s) {
          batched += static_cast<std::uint64_t>(s.prefill_seqs + s.decode_seqs);
          return sim::FromSeconds(model.Seconds(s));
        },
        tally);
    sim::RandomStream rng(11);
    sim::Time t = 0;
    std::uint64_t n = 0;
    std::function<void()> arrive = [&] {
      tally.arrival.push_back(sim.Now());
      engine.Add(n++, prompts.Sample(rng), outputs.Sample(rng));
      t += sim::FromSeconds(rng.Exponential(1.0 / rate));
      if (t < sim::kHour) sim.ScheduleCallbackAt(t, arrive);
    };
    sim.ScheduleCallbackAt(0, arrive);
    sim.RunUntil(sim::kHour);
    requests += n;
    simulated_s += 3600;
    steps += engine.steps();
    last = &tally;
  }
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["x_real_time"] = benchmark::Counter(simulated_s, benchmark::Counter::kIsRate);
  state.counters["mean_batch"] = static_cast<double>(batched) / static_cast<double>(steps);
  if (last != nullptr && last->first > 0) {
    state.counters["ttft_mean_s"] = last->ttft_s / static_cast<double>(last->first);
    state.counters["preempted"] = static_cast<double>(last->preempted);
    state.counters["finished"] = static_cast<double>(last->finished);
  }
}
BENCHMARK(BM_LlmReplica)->Arg(5)->Arg(15)->Arg(25)->Unit(benchmark::kMillisecond)->MinTime(2.0);

// The whole platform: tests/bench/llm-8-replicas.yaml (8 replicas at 70%
// load for a simulated hour), loader excluded.
void BM_LlmPlatform(benchmark::State& state) {
  input::Diagnostics diags;
  const auto scenario =
      LoadScenario(std::string(PLATSIM_SOURCE_DIR) + "/tests/bench/llm-8-replicas.yaml", diags);
  if (!scenario) {
    state.SkipWithError("cannot load tests/bench/llm-8-replicas.yaml");
    return;
  }
  std::uint64_t requests = 0;
  double simulated_s = 0;
  std::map<std::string, double> last;
  for (auto _ : state) {
    NullEventSink sink;
    Simulation sim(*scenario, scenario->seed, sink, nullptr);
    const RunResult r = sim.Run();
    requests += r.requests;
    simulated_s += sim::ToSeconds(scenario->duration);
    last = r.services.at(0).metrics;
  }
  state.counters["requests_per_s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsRate);
  state.counters["x_real_time"] = benchmark::Counter(simulated_s, benchmark::Counter::kIsRate);
  for (const char* m : {"throughput_rps", "ttft_p99_s", "tpot_p99_s", "goodput_fraction",
                        "batch_occupancy", "preemptions"}) {
    if (last.count(m)) state.counters[m] = last.at(m);
  }
}
BENCHMARK(BM_LlmPlatform)->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace
}  // namespace platsim::platform::llm
