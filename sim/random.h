// Named, independent random streams.
//
// Every component draws from its own stream, seeded from (run seed, stream
// name). Adding a component or changing how much one draws never shifts the
// draws of another, so two designs run with the same seed see the same traffic
// (common random numbers). The generator is xoshiro256++ and every
// distribution is implemented here, not taken from <random>, whose
// distributions differ between standard libraries: outputs are identical on
// every machine.
#ifndef PLATSIM_SIM_RANDOM_H_
#define PLATSIM_SIM_RANDOM_H_

#include <cstdint>
#include <string_view>

namespace platsim::sim {

// A 64-bit seed derived from `seed` and `name` (FNV-1a of the name, mixed with
// SplitMix64). Distinct names give unrelated seeds.
std::uint64_t DeriveSeed(std::uint64_t seed, std::string_view name);

// The seed of replication `index` of a run whose scenario seed is `seed`.
// Replication 0 uses `seed` itself, so a single run and the first of several
// agree.
std::uint64_t ReplicationSeed(std::uint64_t seed, int index);

class RandomStream {
 public:
  // The state is filled from `seed` by SplitMix64, as xoshiro's authors advise.
  explicit RandomStream(std::uint64_t seed);

  std::uint64_t NextU64() {
    const std::uint64_t result = Rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform on (0, 1]: safe to take the logarithm of.
  double UniformPositive() { return static_cast<double>((NextU64() >> 11) + 1) * 0x1.0p-53; }
  // Uniform integer on [0, n). REQUIRES: n > 0. Unbiased (Lemire's method).
  std::uint64_t UniformInt(std::uint64_t n);
  // Exponential with the given mean. REQUIRES: mean > 0.
  double Exponential(double mean);
  // Standard normal (Marsaglia's polar method; the spare value is kept).
  double Normal();
  // exp(N(mu, sigma^2)).
  double LogNormal(double mu, double sigma);

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_RANDOM_H_
