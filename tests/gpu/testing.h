// Helpers shared by the gpu/ tests.
#ifndef PLATSIM_TESTS_GPU_TESTING_H_
#define PLATSIM_TESTS_GPU_TESTING_H_

#include <cmath>
#include <vector>

#include "gpu/catalogue.h"

namespace platsim::gpu::testing {

// ||got - want|| / ||want||; NaN if any element of `got` is NaN, which
// fails every bound.
inline double RelativeError(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

// A small model of each architecture: 4 heads of hidden / 4 (grouped 2:1
// for a decoder), FFN 2 x hidden, vocabulary 1000; Llama-style decoder,
// BERT-style encoder and MLP block otherwise.
inline ModelShape SmallModel(Architecture arch, int hidden) {
  ModelShape m;
  m.name = "small";
  m.architecture = arch;
  m.layers = 2;
  m.hidden = hidden;
  m.ffn = 2 * hidden;
  m.vocab = 1000;
  const bool decoder = arch == Architecture::kDecoder;
  if (arch != Architecture::kMlp) {
    m.heads = 4;
    m.kv_heads = decoder ? 2 : 4;
  }
  m.norm = decoder ? Norm::kRmsNorm : Norm::kLayerNorm;
  m.activation = decoder ? Activation::kSwiGlu : Activation::kGelu;
  return m;
}

}  // namespace platsim::gpu::testing

#endif  // PLATSIM_TESTS_GPU_TESTING_H_
