// Simulated time. The clock is a signed 64-bit count of nanoseconds since the
// start of a run: no floating-point clock anywhere in the engine. Seconds as a
// double appear only at the edges (inputs already converted, outputs printed).
#ifndef PLATSIM_SIM_TIME_H_
#define PLATSIM_SIM_TIME_H_

#include <cmath>
#include <cstdint>
#include <limits>

namespace platsim::sim {

// A point in simulated time or a duration, in nanoseconds.
using Time = std::int64_t;

inline constexpr Time kNanosecond = 1;
inline constexpr Time kMicrosecond = 1'000;
inline constexpr Time kMillisecond = 1'000'000;
inline constexpr Time kSecond = 1'000'000'000;
inline constexpr Time kMinute = 60 * kSecond;
inline constexpr Time kHour = 60 * kMinute;
// Later than any event: "never". About 292 years.
inline constexpr Time kNever = std::numeric_limits<Time>::max();
// The longest duration any input may give (1e9 s, about 31.7 years, as
// Kubernetes' own integer-seconds fields allow): nine such durations add up
// without overflow, and a run, which lasts at most this long, never reaches
// kNever.
inline constexpr Time kMaxDuration = 1'000'000'000 * kSecond;

// `t + d`, or kNever if that would pass it ("never" stays never).
// REQUIRES: t >= 0 and d >= 0.
inline constexpr Time SatAdd(Time t, Time d) {
  return d > kNever - t ? kNever : t + d;
}

// Seconds as a double, for output and for models written in seconds. A
// division, not a multiplication by 1e-9, so that the result is the double
// nearest the exact value and 30ms prints as 0.03, not 0.030000000000000002.
inline constexpr double ToSeconds(Time t) {
  return static_cast<double>(t) / 1e9;
}

// Nearest nanosecond to `seconds`. REQUIRES: finite and within +-292 years;
// values beyond are clamped to [-kNever, kNever].
inline Time FromSeconds(double seconds) {
  const double ns = std::nearbyint(seconds * 1e9);
  if (!(ns < 9.2e18)) return kNever;
  if (!(ns > -9.2e18)) return -kNever;
  return static_cast<Time>(ns);
}

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_TIME_H_
