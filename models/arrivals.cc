#include "models/arrivals.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

#include "models/tokens.h"

namespace platsim::models {

using input::Diagnostics;
using input::MapReader;
using input::Node;
using sim::FromSeconds;
using sim::Time;
using sim::ToSeconds;

PoissonArrivals::PoissonArrivals(double rate_per_s, double size)
    : mean_gap_s_(1.0 / rate_per_s), rate_per_s_(rate_per_s), size_(size) {}

Arrival PoissonArrivals::Next(sim::RandomStream& rng) {
  // At the smallest rates a gap can pass kNever: then no more arrivals.
  last_ = sim::SatAdd(last_, FromSeconds(rng.Exponential(mean_gap_s_)));
  return Arrival{last_, size_};
}

double PoissonArrivals::ExpectedCount(Time from, Time to) const {
  return rate_per_s_ * ToSeconds(to - from);
}

DiurnalArrivals::DiurnalArrivals(double mean_rate_per_s, double amplitude, Time period,
                                 Time peak_at, double size)
    : mean_(mean_rate_per_s),
      amplitude_(amplitude),
      period_(period),
      peak_at_(peak_at),
      size_(size),
      piece_s_(ToSeconds(period) / kSegments) {
  // The cosine is monotone between its peak (phase 0) and trough (pi), both
  // piece ends, so a piece's extremes are at its ends.
  for (int j = 0; j < kSegments; ++j) {
    const double a = mean_ * (1.0 + amplitude_ * std::cos(2.0 * std::numbers::pi * j / kSegments));
    const double b =
        mean_ * (1.0 + amplitude_ * std::cos(2.0 * std::numbers::pi * (j + 1) / kSegments));
    hi_.push_back(std::max(a, b));
    lo_.push_back(std::max(0.0, std::min(a, b)));
  }
  piece_ = static_cast<std::int64_t>(std::floor(-ToSeconds(peak_at_) / piece_s_));
}

double DiurnalArrivals::RateAt(Time t) const {
  const double phase = 2.0 * std::numbers::pi * ToSeconds(t - peak_at_) / ToSeconds(period_);
  return mean_ * (1.0 + amplitude_ * std::cos(phase));
}

Arrival DiurnalArrivals::Next(sim::RandomStream& rng) {
  const double peak_s = ToSeconds(peak_at_);
  for (;;) {
    // Spend an Exp(1) amount of the bound's integrated rate, piece by piece.
    double need = rng.Exponential(1.0);
    int j;
    for (;;) {
      j = static_cast<int>(((piece_ % kSegments) + kSegments) % kSegments);
      const double end_s = peak_s + static_cast<double>(piece_ + 1) * piece_s_;
      if (hi_[j] > 0.0) {
        const double t = t_s_ + need / hi_[j];
        if (t < end_s) {
          t_s_ = t;
          break;
        }
        need -= (end_s - t_s_) * hi_[j];
      }
      t_s_ = end_s;
      ++piece_;
    }
    const double u = rng.Uniform() * hi_[j];
    if (u < lo_[j]) return Arrival{FromSeconds(t_s_), size_};
    const double phase = 2.0 * std::numbers::pi * (t_s_ - peak_s) / ToSeconds(period_);
    if (u < mean_ * (1.0 + amplitude_ * std::cos(phase))) return Arrival{FromSeconds(t_s_), size_};
  }
}

double DiurnalArrivals::ExpectedCount(Time from, Time to) const {
  // Integral of the rate: mean * (dt + amplitude * P/(2 pi) * [sin(phase)]).
  const double p = ToSeconds(period_);
  const double w = 2.0 * std::numbers::pi / p;
  const double a = ToSeconds(from - peak_at_);
  const double b = ToSeconds(to - peak_at_);
  return mean_ * ((b - a) + amplitude_ * (std::sin(w * b) - std::sin(w * a)) / w);
}

PiecewiseArrivals::PiecewiseArrivals(std::vector<Segment> segments, double size)
    : segments_(std::move(segments)), size_(size) {}

Arrival PiecewiseArrivals::Next(sim::RandomStream& rng) {
  // Spend an Exp(1) amount of integrated rate, segment by segment.
  double need = rng.Exponential(1.0);
  for (;;) {
    const double rate = segments_[current_].rate_per_s;
    const bool last = current_ + 1 == segments_.size();
    const double end_s = last ? INFINITY : ToSeconds(segments_[current_ + 1].start);
    if (rate > 0.0) {
      const double t = t_s_ + need / rate;
      if (t < end_s) {
        t_s_ = t;
        return Arrival{FromSeconds(t_s_), size_};
      }
      need -= (end_s - t_s_) * rate;
    } else if (last) {
      return Arrival{};  // a zero rate forever: no more arrivals
    }
    t_s_ = end_s;
    ++current_;
  }
}

double PiecewiseArrivals::ExpectedCount(Time from, Time to) const {
  double total = 0.0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Time start = std::max(from, segments_[i].start);
    const Time end = std::min(to, i + 1 < segments_.size() ? segments_[i + 1].start : sim::kNever);
    if (end > start) total += segments_[i].rate_per_s * ToSeconds(end - start);
  }
  return total;
}

TraceArrivals::TraceArrivals(std::shared_ptr<const std::vector<Arrival>> arrivals, bool loop,
                             sim::Time period, std::shared_ptr<const void> keep)
    : arrivals_(std::move(arrivals)),
      keep_(std::move(keep)),
      loop_(loop && !arrivals_->empty()),
      period_(period) {}

Arrival TraceArrivals::Next(sim::RandomStream&) {
  if (next_ >= arrivals_->size()) {
    if (!loop_ || offset_ > sim::kMaxDuration) return Arrival{};
    next_ = 0;
    offset_ += period_;
  }
  Arrival a = (*arrivals_)[next_++];
  a.time += offset_;
  return a;
}

std::unique_ptr<ArrivalProcess> PoissonArrivals::Restarted() const {
  return std::make_unique<PoissonArrivals>(rate_per_s_, size_);
}

std::unique_ptr<ArrivalProcess> DiurnalArrivals::Restarted() const {
  return std::make_unique<DiurnalArrivals>(mean_, amplitude_, period_, peak_at_, size_);
}

std::unique_ptr<ArrivalProcess> PiecewiseArrivals::Restarted() const {
  return std::make_unique<PiecewiseArrivals>(segments_, size_);
}

std::unique_ptr<ArrivalProcess> TraceArrivals::Restarted() const {
  return std::make_unique<TraceArrivals>(arrivals_, loop_, period_, keep_);
}

double TraceArrivals::ExpectedCount(Time from, Time to) const {
  if (!loop_) return CountInOnePlay(from, to);
  double n = 0;
  const Time first = arrivals_->front().time, last = arrivals_->back().time;
  for (Time k = std::max<Time>(0, from - last) / period_;
       first + k * period_ < to && k * period_ <= sim::kMaxDuration; ++k)
    n += CountInOnePlay(from - k * period_, to - k * period_);
  return n;
}

double TraceArrivals::CountInOnePlay(Time from, Time to) const {
  const auto lo = std::lower_bound(arrivals_->begin(), arrivals_->end(), from,
                                   [](const Arrival& a, Time t) { return a.time < t; });
  const auto hi = std::lower_bound(arrivals_->begin(), arrivals_->end(), to,
                                   [](const Arrival& a, Time t) { return a.time < t; });
  return static_cast<double>(hi - lo);
}

namespace {

std::optional<double> ParseDouble(std::string_view s) {
  s = input::TrimRow(s);
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

std::optional<std::vector<Arrival>> ReadTraceCsv(const std::filesystem::path& path,
                                                 const std::string& display_name,
                                                 Diagnostics& diags) {
  const auto text = input::ReadInputFile(path.string(), display_name, diags);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::vector<Arrival> out;
  std::string line;
  int line_no = 0;
  int errors = 0;
  bool seen_data = false;
  double last_s = 0.0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find('\0') != std::string::npos) {
      diags.Error({display_name, line_no, 1}, "", "binary data; expected CSV text");
      return std::nullopt;
    }
    const std::string_view row = input::TrimRow(line);
    if (row.empty() || row.front() == '#') continue;
    const auto comma = row.find(',');
    const std::string_view time_field = row.substr(0, comma);
    const auto time_s = ParseDouble(time_field);
    if (!time_s) {
      if (!seen_data && out.empty() && errors == 0 && line_no == 1) continue;  // a header
      diags.Error(
          {display_name, line_no, 1}, "time_s",
          "expected a time in seconds, got '" + std::string(input::TrimRow(time_field)) + "'");
      if (++errors >= 20) break;
      continue;
    }
    seen_data = true;
    Arrival a;
    if (*time_s < 0 || *time_s < last_s) {
      diags.Error({display_name, line_no, 1}, "time_s",
                  *time_s < 0 ? "negative time" : "times must not decrease");
      if (++errors >= 20) break;
      continue;
    }
    last_s = *time_s;
    a.time = sim::FromSeconds(*time_s);
    if (comma != std::string_view::npos) {
      const std::string_view size_field = row.substr(comma + 1);
      const auto size = ParseDouble(size_field.substr(0, size_field.find(',')));
      if (!size || *size <= 0) {
        diags.Error({display_name, line_no, static_cast<int>(comma) + 2}, "size",
                    "expected a positive request size, got '" +
                        std::string(input::TrimRow(size_field)) + "'");
        if (++errors >= 20) break;
        continue;
      }
      a.size = *size;
    }
    out.push_back(a);
  }
  if (errors > 0) return std::nullopt;
  if (out.empty()) {
    diags.Error({display_name, 1, 1}, "", "trace has no arrivals");
    return std::nullopt;
  }
  return out;
}

std::unique_ptr<ArrivalProcess> ArrivalsFromScenario(const Node& node,
                                                     const std::filesystem::path& base_dir,
                                                     Diagnostics& diags) {
  MapReader m(node, diags);
  const int errors_before = diags.error_count();
  const std::string kind = m.Enum("kind", "", {"poisson", "diurnal", "steps", "bursts", "trace"});
  if (!m.Has("kind")) m.Require("kind");
  const double size = m.Number("requestSize", 1.0, 1e-9, 1e12);
  std::unique_ptr<ArrivalProcess> out;
  if (kind == "poisson") {
    const auto rate = m.RequiredNumber("rate", 1e-9, 1e9);
    if (rate) out = std::make_unique<PoissonArrivals>(*rate, size);
  } else if (kind == "diurnal") {
    const auto mean = m.RequiredNumber("meanRate", 1e-9, 1e9);
    const double amplitude = m.Number("amplitude", 0.5, 0.0, 1.0);
    const Time period = m.Duration("period", 24 * sim::kHour, sim::kSecond);
    const Time peak_at = m.Duration("peakAt", 14 * sim::kHour, 0);
    if (mean) out = std::make_unique<DiurnalArrivals>(*mean, amplitude, period, peak_at, size);
  } else if (kind == "steps" || kind == "bursts") {
    std::vector<PiecewiseArrivals::Segment> segments;
    if (kind == "steps") {
      const Node steps = m.Require("steps");
      if (steps.present() && !steps.IsSequence()) {
        diags.Error(steps.location(), steps.path(), "expected a list of {at, rate}");
      } else if (steps.present()) {
        std::optional<Time> last_at;  // of the previous step with a valid time
        for (const Node& step : steps.Elements()) {
          MapReader s(step, diags);
          const auto at = s.RequiredDuration("at");
          const auto rate = s.RequiredNumber("rate", 0.0, 1e9);
          s.RejectUnknown();
          if (at && last_at && *at <= *last_at) {
            diags.Error(step.location(), step.path() + ".at",
                        "steps must be in strictly increasing time order");
          }
          if (at) last_at = at;
          if (!at || !rate) continue;
          if (segments.empty() && *at != 0) segments.push_back({0, 0.0});
          segments.push_back({*at, *rate});
        }
        if (segments.empty() && steps.IsSequence()) {
          diags.Error(steps.location(), steps.path(), "needs at least one step");
        }
      }
    } else {
      const auto base = m.RequiredNumber("rate", 0.0, 1e9);
      const Node bursts = m.Require("bursts");
      if (base) segments.push_back({0, *base});
      if (bursts.present() && !bursts.IsSequence()) {
        diags.Error(bursts.location(), bursts.path(), "expected a list of {at, duration, rate}");
      } else if (bursts.present() && base) {
        Time previous_end = 0;
        for (const Node& burst : bursts.Elements()) {
          MapReader b(burst, diags);
          const auto at = b.RequiredDuration("at");
          const auto duration = b.RequiredDuration("duration", 1);
          const auto rate = b.RequiredNumber("rate", 0.0, 1e9);
          b.RejectUnknown();
          if (!at || !duration || !rate) continue;
          if (*at < previous_end) {
            diags.Error(burst.location(), burst.path() + ".at",
                        "bursts must be in time order and must not overlap");
            continue;
          }
          if (*duration > sim::kMaxDuration - *at) {
            diags.Error(b.Get("duration").location(), burst.path() + ".duration",
                        "the burst ends past " + input::FormatDuration(sim::kMaxDuration) +
                            ", the longest run there can be");
            continue;
          }
          if (*at == segments.back().start) {
            segments.back().rate_per_s = *rate;
          } else {
            segments.push_back({*at, *rate});
          }
          segments.push_back({*at + *duration, *base});
          previous_end = *at + *duration;
        }
      }
    }
    if (diags.error_count() == errors_before && !segments.empty()) {
      out = std::make_unique<PiecewiseArrivals>(std::move(segments), size);
    }
  } else if (kind == "trace") {
    const auto file = m.RequiredString("file");
    // csv: platsim's own (time_s[,size]); azure-llm and mooncake: the LLM
    // traces serving papers replay, whose arrivals carry their tokens.
    const std::string format = m.Enum("format", "csv", {"csv", "azure-llm", "mooncake"});
    // The LLM traces' times count from their first request; a replay may
    // start later (once the service is up).
    const Time start_at = m.Duration("startAt", 0);
    // Played `speedup` times faster (more requests per second, the same
    // shape), and with `loop` again and again, each play one mean gap
    // after the last request of the one before.
    const double speedup = m.Number("speedup", 1.0, 1e-6, 1e6);
    const bool loop = m.Bool("loop", false);
    if (m.Has("requestSize")) {
      diags.Error(m.node().location(), m.node().path() + ".requestSize",
                  "not allowed with kind: trace (sizes come from the trace's second column)");
    }
    if (file) {
      const std::filesystem::path path = base_dir / *file;
      Diagnostics file_diags;
      const std::string display = path.lexically_normal().string();
      auto ids = std::make_shared<std::vector<std::uint64_t>>();
      auto arrivals = format == "azure-llm" ? ReadAzureLlmTrace(path, display, file_diags)
                      : format == "mooncake"
                          ? ReadMooncakeTrace(path, display, file_diags, ids.get())
                          : ReadTraceCsv(path, display, file_diags);
      input::ReportReferenced(m.Get("file"), file_diags, diags);
      if (arrivals) {
        for (Arrival& a : *arrivals) {
          const double t = std::min(static_cast<double>(a.time) / speedup,
                                    static_cast<double>(sim::kMaxDuration));
          a.time = sim::SatAdd(static_cast<Time>(std::llround(t)), start_at);
        }
        const Time span = arrivals->back().time - arrivals->front().time;
        if (loop && span == 0) {
          const Node at = m.Get("loop");
          diags.Error(at.location(), at.path(),
                      "a trace whose requests all come at one time cannot loop (it would "
                      "replay them without end at that instant)");
          return nullptr;
        }
        const Time period = std::max<Time>(
            1, span + span / static_cast<Time>(std::max<std::size_t>(1, arrivals->size() - 1)));
        out = std::make_unique<TraceArrivals>(
            std::make_shared<const std::vector<Arrival>>(std::move(*arrivals)), loop, period,
            std::move(ids));
      }
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return out;
}

SwitchedArrivals::SwitchedArrivals(std::vector<Phase> phases)
    : phases_(std::move(phases)), running_(phases_.front().process->Restarted()) {}

Arrival SwitchedArrivals::Next(sim::RandomStream& rng) {
  while (true) {
    Arrival a = running_->Next(rng);
    const sim::Time offset = phases_[current_].from;
    a.time = a.time == sim::kNever ? sim::kNever : sim::SatAdd(offset, a.time);
    if (current_ + 1 < phases_.size() && a.time >= phases_[current_ + 1].from) {
      ++current_;
      running_ = phases_[current_].process->Restarted();
      continue;
    }
    return a;
  }
}

double SwitchedArrivals::ExpectedCount(sim::Time from, sim::Time to) const {
  double n = 0;
  for (std::size_t i = 0; i < phases_.size(); ++i) {
    const sim::Time start = phases_[i].from;
    const sim::Time end = i + 1 < phases_.size() ? phases_[i + 1].from : sim::kNever;
    const sim::Time a = std::max(from, start), b = std::min(to, end);
    if (a < b) n += phases_[i].process->ExpectedCount(a - start, b - start);
  }
  return n;
}

std::unique_ptr<ArrivalProcess> SwitchedArrivals::Restarted() const {
  return std::make_unique<SwitchedArrivals>(phases_);
}

}  // namespace platsim::models
