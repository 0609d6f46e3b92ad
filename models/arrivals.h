// Arrival processes: when requests reach a service, and how big they are.
//
// A process is a stateful generator started at time 0: each call to Next()
// returns the arrival after the previous one. Processes draw only from the
// stream they are handed, so traffic is identical across designs compared
// under one seed.
#ifndef PLATSIM_MODELS_ARRIVALS_H_
#define PLATSIM_MODELS_ARRIVALS_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "models/input/units.h"
#include "models/input/yaml_reader.h"
#include "sim/random.h"
#include "sim/time.h"

namespace platsim::models {

struct Arrival {
  sim::Time time = sim::kNever;  // kNever: no more arrivals
  double size = 1.0;             // request size (tokens, items); 1 unless the input says
  // An LLM request's tokens (a trace's); 0: not given.
  std::int32_t prompt_tokens = 0, output_tokens = 0;
  // The chained ids of its prompt's chunks of prefix_chunk_tokens tokens,
  // as a Mooncake trace gives them (its hash_ids of 512 tokens); borrowed
  // from the trace. 0 chunks: none.
  std::int32_t prefix_chunks = 0, prefix_chunk_tokens = 0;
  const std::uint64_t* prefix_ids = nullptr;
};

class ArrivalProcess {
 public:
  virtual ~ArrivalProcess() = default;
  // The next arrival, at or after the previous one.
  virtual Arrival Next(sim::RandomStream& rng) = 0;
  // The expected number of arrivals in [from, to), for reports and checks.
  virtual double ExpectedCount(sim::Time from, sim::Time to) const = 0;
  // The same process restarted at time 0 (one per run of a replicated scenario).
  virtual std::unique_ptr<ArrivalProcess> Restarted() const = 0;
};

// Homogeneous Poisson arrivals. REQUIRES: rate_per_s > 0.
class PoissonArrivals : public ArrivalProcess {
 public:
  PoissonArrivals(double rate_per_s, double size);
  Arrival Next(sim::RandomStream& rng) override;
  double ExpectedCount(sim::Time from, sim::Time to) const override;
  std::unique_ptr<ArrivalProcess> Restarted() const override;

 private:
  double mean_gap_s_;
  double rate_per_s_;
  double size_;
  sim::Time last_ = 0;
};

// Poisson arrivals whose rate follows a daily (or any period) cosine:
//   rate(t) = mean * (1 + amplitude * cos(2 pi (t - peak_at) / period)),
// generated exactly by thinning (Lewis and Shedler, 1979) against a
// piecewise-constant bound: the period is cut into kSegments pieces, each
// with the rate's maximum and minimum over it. Candidates come at the
// piece's maximum rate; one under the piece's minimum is accepted without
// evaluating the cosine (a squeeze). So nearly every candidate is an
// arrival and most cost one exponential and one uniform draw.
// REQUIRES: mean_rate_per_s > 0, 0 <= amplitude <= 1, period > 0.
class DiurnalArrivals : public ArrivalProcess {
 public:
  DiurnalArrivals(double mean_rate_per_s, double amplitude, sim::Time period, sim::Time peak_at,
                  double size);
  Arrival Next(sim::RandomStream& rng) override;
  double ExpectedCount(sim::Time from, sim::Time to) const override;
  std::unique_ptr<ArrivalProcess> Restarted() const override;
  double RateAt(sim::Time t) const;

 private:
  double mean_;
  double amplitude_;
  sim::Time period_;
  sim::Time peak_at_;
  double size_;
  static constexpr int kSegments = 256;  // even: the peak and trough are piece ends
  // Piece j covers phases [2 pi j / kSegments, 2 pi (j + 1) / kSegments).
  std::vector<double> hi_, lo_;  // the rate's maximum and minimum over piece j
  double piece_s_;               // a piece's length in seconds
  std::int64_t piece_;           // pieces since the peak at peak_at (may be < 0)
  double t_s_ = 0.0;             // candidate clock in seconds (thinning runs in continuous time)
};

// Poisson arrivals with a piecewise-constant rate: step schedules and bursts.
// Generated exactly by inverting the integrated rate.
class PiecewiseArrivals : public ArrivalProcess {
 public:
  struct Segment {
    sim::Time start;  // the rate holds from here to the next segment's start
    double rate_per_s;
  };
  // REQUIRES: segments sorted by strictly increasing start, the first at 0,
  // every rate >= 0. The last rate holds forever.
  PiecewiseArrivals(std::vector<Segment> segments, double size);
  Arrival Next(sim::RandomStream& rng) override;
  double ExpectedCount(sim::Time from, sim::Time to) const override;
  std::unique_ptr<ArrivalProcess> Restarted() const override;

 private:
  std::vector<Segment> segments_;
  double size_;
  std::size_t current_ = 0;  // segment holding t_s_
  double t_s_ = 0.0;
};

// Replays recorded arrivals (times in seconds from the start, sizes).
// REQUIRES: times non-decreasing.
// A trace's arrivals as given; with `loop`, played again and again, each
// time `period` after the previous (REQUIRES: period > 0 then).
class TraceArrivals : public ArrivalProcess {
 public:
  // `keep` holds what the arrivals borrow (their prefix ids).
  explicit TraceArrivals(std::shared_ptr<const std::vector<Arrival>> arrivals, bool loop = false,
                         sim::Time period = 0, std::shared_ptr<const void> keep = nullptr);
  Arrival Next(sim::RandomStream& rng) override;
  double ExpectedCount(sim::Time from, sim::Time to) const override;
  std::unique_ptr<ArrivalProcess> Restarted() const override;
  std::size_t size() const { return arrivals_->size(); }

 private:
  // Arrivals in [from, to) of one play (times as in the trace).
  double CountInOnePlay(sim::Time from, sim::Time to) const;

  std::shared_ptr<const std::vector<Arrival>> arrivals_;
  std::shared_ptr<const void> keep_;
  bool loop_;
  sim::Time period_;
  std::size_t next_ = 0;
  sim::Time offset_ = 0;  // of the play under way
};

// A process that changes at given times (the timeline's `traffic`
// actions): the first one runs from 0; at each switch time the next one
// starts as if at time 0 then (its times shifted by the switch time), and
// the previous one's arrivals from then on are dropped. REQUIRES:
// processes non-empty, switch times increasing, the first 0.
class SwitchedArrivals : public ArrivalProcess {
 public:
  struct Phase {
    sim::Time from;
    std::shared_ptr<const ArrivalProcess> process;  // restarted for each run
  };
  explicit SwitchedArrivals(std::vector<Phase> phases);
  Arrival Next(sim::RandomStream& rng) override;
  double ExpectedCount(sim::Time from, sim::Time to) const override;
  std::unique_ptr<ArrivalProcess> Restarted() const override;

 private:
  std::vector<Phase> phases_;
  std::size_t current_ = 0;
  std::unique_ptr<ArrivalProcess> running_;
};

// Reads a trace CSV: one arrival per line, `time_s[,size]`, an optional
// header line, `#` comments. Reports the line of every bad row.
std::optional<std::vector<Arrival>> ReadTraceCsv(const std::filesystem::path& path,
                                                 const std::string& display_name,
                                                 input::Diagnostics& diags);

// Builds an arrival process from a scenario's `traffic` mapping. Relative
// file names resolve against `base_dir`. Returns nullptr after reporting
// problems.
std::unique_ptr<ArrivalProcess> ArrivalsFromScenario(const input::Node& node,
                                                     const std::filesystem::path& base_dir,
                                                     input::Diagnostics& diags);

}  // namespace platsim::models

#endif  // PLATSIM_MODELS_ARRIVALS_H_
