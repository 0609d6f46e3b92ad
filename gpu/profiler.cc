#include "gpu/profiler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "gpu/estimate.h"

namespace platsim::gpu {
namespace {

using Json = nlohmann::ordered_json;

// The rows a layer sees in the kernel table: a large prefill (or encoder)
// step, big enough that GEMMs reach their sustained rate.
constexpr long kTableRows = 4096;
// Decode attention in the kernel table: a long KV cache over a full batch.
constexpr long kTableDecodeBatch = 64;
constexpr long kTableDecodeKv = 4096;
constexpr double kBf16 = 2;  // bytes

std::string Dims(std::initializer_list<long> dims) {
  std::string s;
  for (long d : dims)
    s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

KernelCase GemmCase(const std::string& what, long m, long n, long k) {
  return {"gemm " + what,  Dims({m, n, k}) + " (m x n x k)",
          {m, n, k},       kBf16 * (m * k + k * n + m * n),
          2.0 * m * n * k, Bound::kCompute};
}

KernelCase Elementwise(const std::string& name, long n, int tensors) {
  return {name, std::to_string(n), {n}, kBf16 * tensors * n, 0, Bound::kMemory};
}

Json TimingJson(const Timing& t) {
  return Json{{"medianSeconds", t.median}, {"p10Seconds", t.p10}, {"p90Seconds", t.p90},
              {"minSeconds", t.min},       {"maxSeconds", t.max}, {"repetitions", t.repetitions}};
}

// Whole-pass grid plus the raw per-layer measurements, over `grid`.
struct GridResult {
  Json total;  // the models' grid format
  Json layer;  // medians and spreads of one layer
};

}  // namespace

ProfilePlan PlanFor(const ModelShape& model) {
  ProfilePlan plan;
  switch (model.architecture) {
    case Architecture::kDecoder:
      // Prefill steps of up to 64Ki tokens; decode batches up to 256 over KV
      // caches up to 8Ki tokens. Beyond, the models' fit extrapolates.
      plan.prefill = {{1, 2, 4, 8, 16}, {128, 256, 512, 1024, 2048, 4096}};
      plan.decode = {{1, 2, 4, 8, 16, 32, 64, 128, 256}, {128, 512, 1024, 2048, 4096, 8192}};
      break;
    case Architecture::kEncoder:
      plan.encoder = {{1, 2, 4, 8, 16, 32, 64}, {32, 64, 128, 256, 512}};
      break;
    case Architecture::kMlp:
      // A request is one row (or a few: candidates scored together).
      plan.encoder = {{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}, {1, 16}};
      break;
  }
  return plan;
}

double LayerWeightBytes(const ModelShape& m) {
  const double h = m.hidden, f = m.ffn, d = m.head_dim();
  const bool gated = m.activation == Activation::kSwiGlu;
  const double norms = (m.heads > 0 ? 2 : 1) * (m.norm == Norm::kLayerNorm ? 2 : 1);
  double n = (gated ? 3 : 2) * h * f + norms * h;  // FFN; norm scales (and biases)
  if (m.heads > 0) n += h * (m.heads * d) * 2 + h * (m.kv_heads * d) * 2;  // q, o; k, v
  return 2 * n;
}

double LayerActivationBytes(const ModelShape& m, Phase phase, int batch, int length) {
  const double t = phase == Phase::kPrefill ? double(batch) * length : batch;
  const double h = m.hidden, f = m.ffn, d = m.head_dim();
  double n = 5 * t * h + 3 * t * f;  // x, t1, t2, x1, y; gate, up, act
  if (m.heads > 0) n += 2 * t * m.heads * d + 2 * t * m.kv_heads * d;       // q, attn; k, v
  if (phase == Phase::kDecode) n += 2.0 * batch * length * m.kv_heads * d;  // the caches
  // Positions of the new tokens; lengths of the sequences (decode).
  return 2 * n + 4 * t + (phase == Phase::kDecode ? 4.0 * batch : 0);
}

std::string CheckFits(const ModelShape& model, const ProfilePlan& plan, double free_bytes) {
  const double available = free_bytes - LayerWeightBytes(model);
  std::string worst;
  double most = 0;
  auto consider = [&](const Grid& grid, Phase phase, const char* what) {
    for (int b : grid.batches) {
      for (int n : grid.lengths) {
        const double bytes = LayerActivationBytes(model, phase, b, n);
        if (bytes > most) {
          most = bytes;
          worst = std::string(what) + " at batch " + std::to_string(b) + ", length " +
                  std::to_string(n);
        }
      }
    }
  };
  consider(plan.prefill, Phase::kPrefill, "prefill");
  consider(plan.decode, Phase::kDecode, "decode");
  consider(plan.encoder, Phase::kPrefill, "a layer");
  const double head = 2.0 * model.hidden * model.vocab;  // also the embedding table
  if (model.vocab > 0 && head > most) {
    most = head;
    worst = "the output head's matrix";
  }
  if (most <= available) return "";
  char text[200];
  std::snprintf(text, sizeof text,
                "%s needs %.1f GB beside the layer's %.1f GB of weights; %.1f GB are free",
                worst.c_str(), most / 1e9, LayerWeightBytes(model) / 1e9, free_bytes / 1e9);
  return text;
}

Timing Summarize(std::vector<double> seconds) {
  if (seconds.empty()) throw std::invalid_argument("Summarize: no timings");
  std::sort(seconds.begin(), seconds.end());
  const std::size_t n = seconds.size();
  // Nearest rank: the smallest value with at least p of the samples at or below it.
  auto rank = [&](double p) {
    const auto r = static_cast<std::size_t>(std::ceil(p * n));
    return seconds[std::clamp<std::size_t>(r, 1, n) - 1];
  };
  Timing t;
  t.repetitions = static_cast<int>(n);
  t.median = n % 2 == 1 ? seconds[n / 2] : 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]);
  t.p10 = rank(0.10);
  t.p90 = rank(0.90);
  t.min = seconds.front();
  t.max = seconds.back();
  return t;
}

int RotationCopies(double set_bytes, double l2_bytes, double budget_bytes) {
  if (set_bytes <= 0) return 2;
  const double fit = std::floor(budget_bytes / set_bytes);
  if (fit < 1) return 0;
  const double wanted = std::max(2.0, std::ceil(4 * l2_bytes / set_bytes));
  return static_cast<int>(std::min({wanted, fit, 1024.0}));
}

std::vector<KernelCase> KernelCasesFor(const ModelShape& model) {
  const long m = kTableRows, h = model.hidden, f = model.ffn;
  std::vector<KernelCase> cases;
  const bool gated = model.activation == Activation::kSwiGlu;
  if (model.heads > 0) {
    const long heads = model.heads, kv = model.kv_heads, d = model.head_dim();
    cases.push_back(GemmCase("attention in/out", m, h, h));
    if (kv != heads) cases.push_back(GemmCase("key/value", m, kv * d, h));
  }
  cases.push_back(GemmCase("ffn up", m, f, h));
  cases.push_back(GemmCase("ffn down", m, h, f));
  if (model.norm == Norm::kRmsNorm) {
    cases.push_back({"rmsnorm", Dims({m, h}), {m, h}, kBf16 * (2 * m * h + h), 0, Bound::kMemory});
  } else {
    cases.push_back(
        {"layernorm", Dims({m, h}), {m, h}, kBf16 * (2 * m * h + 2 * h), 0, Bound::kMemory});
  }
  cases.push_back(gated ? Elementwise("swiglu", m * f, 3) : Elementwise("gelu", m * f, 2));
  cases.push_back(Elementwise("residual_add", m * h, 3));
  if (model.vocab > 0) {
    cases.push_back({"embedding",
                     Dims({m, h}),
                     {m, h, model.vocab},
                     kBf16 * 2 * m * h + 4.0 * m,
                     0,
                     Bound::kMemory});
  }
  if (model.heads > 0) {
    const long heads = model.heads, kv = model.kv_heads, d = model.head_dim();
    const bool causal = model.architecture == Architecture::kDecoder;
    if (causal) {
      cases.push_back({"rope",
                       Dims({m, heads, d}),
                       {m, heads, d},
                       kBf16 * 2 * m * heads * d + 4.0 * m,
                       0,
                       Bound::kMemory});
    }
    // Prefill attention: one sequence of kTableRows tokens for a decoder,
    // sequences of 512 for an encoder; 4d flops per (query, visible key).
    const long seq = causal ? m : std::min<long>(m, 512);
    const long batch = m / seq;
    const double pairs =
        static_cast<double>(batch) * heads * (causal ? seq * (seq + 1) / 2.0 : double(seq) * seq);
    cases.push_back({"attention_prefill",
                     Dims({batch, seq, heads, kv, d}) + (causal ? " causal" : ""),
                     {batch, seq, heads, kv, d, causal ? 1 : 0},
                     kBf16 * (2 * batch * seq * heads * d + 2 * batch * seq * kv * d),
                     4.0 * d * pairs,
                     Bound::kCompute});
    if (causal) {
      const long b = kTableDecodeBatch, len = kTableDecodeKv;
      cases.push_back({"attention_decode",
                       Dims({b, len, heads, kv, d}),
                       {b, len, heads, kv, d},
                       kBf16 * (2.0 * b * len * kv * d + 2.0 * b * heads * d) + 4.0 * b,
                       4.0 * d * b * heads * len,
                       Bound::kMemory});
    }
  }
  return cases;
}

Json BuildProfile(const ModelShape& model, Timer& timer, const ProfileOptions& options) {
  const ProfilePlan plan = PlanFor(model);
  const bool decoder = model.architecture == Architecture::kDecoder;
  const std::vector<KernelCase> kernels = KernelCasesFor(model);
  auto points = [](const Grid& g) { return static_cast<int>(g.batches.size() * g.lengths.size()); };
  const int total = 1 + points(plan.prefill) + points(plan.decode) + points(plan.encoder) +
                    static_cast<int>(kernels.size());
  int done = 0;
  auto step = [&](const std::string& what) {
    ++done;
    if (options.progress) options.progress(done, total, what);
  };

  const DeviceInfo device = timer.Device();
  const Ceilings ceilings = timer.MeasureCeilings();
  step("ceilings");

  std::map<int, Timing> embedding, head;
  auto embed = [&](int tokens) {
    if (model.vocab == 0) return 0.0;
    auto it = embedding.find(tokens);
    if (it == embedding.end()) it = embedding.emplace(tokens, timer.Embedding(tokens)).first;
    return it->second.median;
  };
  auto output_head = [&](int rows) {
    if (!decoder || model.vocab == 0) return 0.0;
    auto it = head.find(rows);
    if (it == head.end()) it = head.emplace(rows, timer.Head(rows)).first;
    return it->second.median;
  };

  auto measure = [&](const Grid& grid, Phase phase, const char* length_name) {
    Json totals = Json::array(), medians = Json::array(), p10 = Json::array(), p90 = Json::array(),
         mins = Json::array(), maxs = Json::array();
    for (int b : grid.batches) {
      Json t_row = Json::array(), m_row = Json::array(), p10_row = Json::array(),
           p90_row = Json::array(), min_row = Json::array(), max_row = Json::array();
      for (int n : grid.lengths) {
        const Timing layer = timer.Layer(phase, b, n);
        const int new_tokens = phase == Phase::kPrefill ? b * n : b;
        t_row.push_back(embed(new_tokens) + model.layers * layer.median + output_head(b));
        m_row.push_back(layer.median);
        p10_row.push_back(layer.p10);
        p90_row.push_back(layer.p90);
        min_row.push_back(layer.min);
        max_row.push_back(layer.max);
        step(std::string(phase == Phase::kPrefill ? "prefill" : "decode") + " batch " +
             std::to_string(b) + " " + length_name + " " + std::to_string(n));
      }
      totals.push_back(t_row);
      medians.push_back(m_row);
      p10.push_back(p10_row);
      p90.push_back(p90_row);
      mins.push_back(min_row);
      maxs.push_back(max_row);
    }
    return GridResult{
        Json{{"batchSizes", grid.batches}, {length_name, grid.lengths}, {"latencySeconds", totals}},
        Json{{"batchSizes", grid.batches},
             {length_name, grid.lengths},
             {"medianSeconds", medians},
             {"p10Seconds", p10},
             {"p90Seconds", p90},
             {"minSeconds", mins},
             {"maxSeconds", maxs}}};
  };

  Json profile;
  profile["apiVersion"] = "platsim.dev/v1alpha1";
  profile["kind"] = "LatencyProfile";
  profile["metadata"] = {{"name", model.name + " on " + device.name}, {"estimate", false}};
  if (model.context_tokens > 0) profile["metadata"]["contextTokens"] = model.context_tokens;
  profile["provenance"] = {
      {"method",
       "Each grid point is a whole forward pass composed from medians: embedding + layers x one "
       "layer + output head (decoders: final norm and head for one token per sequence). Each "
       "piece is timed with CUDA events around every repetition, after warm-up, on random "
       "inputs; weights, activations and KV caches are rotated over copies together larger "
       "than 4x the L2 cache, so that no repetition finds its data cached by the one before."},
      {"device",
       {{"name", device.name},
        {"smCount", device.sm_count},
        {"memoryGiB", device.memory_bytes / (1024.0 * 1024 * 1024)},
        {"l2MiB", device.l2_bytes / (1024.0 * 1024)},
        {"computeCapability", device.compute_capability}}},
      {"software",
       {{"driver", device.driver_version},
        {"cudaRuntime", device.runtime_version},
        {"cublas", device.cublas_version}}},
      {"commit", options.commit},
      {"date", options.date},
      {"ceilings",
       {{"copyBandwidthGBps", ceilings.copy_bytes_per_s() / 1e9},
        {"copyBytes", ceilings.copy_bytes},
        {"copy", TimingJson(ceilings.copy)},
        {"bf16Tflops", ceilings.bf16_flops_per_s() / 1e12},
        {"gemmSize", ceilings.gemm_size},
        {"gemm", TimingJson(ceilings.gemm)}}},
      {"timing", {{"warmup", options.warmup}, {"repetitions", options.repetitions}}},
      {"model", ModelShapeJson(model)}};

  Json measurements;
  if (decoder) {
    GridResult prefill = measure(plan.prefill, Phase::kPrefill, "tokens");
    GridResult decode = measure(plan.decode, Phase::kDecode, "kvLengths");
    profile["prefill"] = std::move(prefill.total);
    profile["decode"] = std::move(decode.total);
    measurements["layerPrefill"] = std::move(prefill.layer);
    measurements["layerDecode"] = std::move(decode.layer);
  } else {
    GridResult encoder = measure(plan.encoder, Phase::kPrefill, "sequenceLengths");
    profile["encoder"] = std::move(encoder.total);
    measurements["layer"] = std::move(encoder.layer);
  }
  auto listed = [](const std::map<int, Timing>& timings, const char* key) {
    Json list = Json::array();
    for (const auto& [n, t] : timings) {
      Json entry{{key, n}};
      entry.update(TimingJson(t));
      list.push_back(entry);
    }
    return list;
  };
  if (!embedding.empty()) measurements["embedding"] = listed(embedding, "tokens");
  if (!head.empty()) measurements["head"] = listed(head, "rows");
  profile["measurements"] = std::move(measurements);

  Json table = Json::array();
  for (const KernelCase& k : kernels) {
    const Timing t = timer.Kernel(k);
    const bool memory = k.bound == Bound::kMemory;
    const double achieved = memory ? k.bytes / t.median : k.flops / t.median;
    const double ceiling = memory ? ceilings.copy_bytes_per_s() : ceilings.bf16_flops_per_s();
    Json entry{{"name", k.name}, {"shape", k.shape}, {"bound", memory ? "memory" : "compute"}};
    entry.update(TimingJson(t));
    entry["achievedGBps"] = k.bytes / t.median / 1e9;
    entry["achievedTflops"] = k.flops / t.median / 1e12;
    entry["fractionOfCeiling"] = achieved / ceiling;
    table.push_back(entry);
    step("kernel " + k.name);
  }
  profile["kernels"] = std::move(table);
  return profile;
}

}  // namespace platsim::gpu
