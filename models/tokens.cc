#include "models/tokens.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

namespace platsim::models {

using input::Diagnostics;
using input::MapReader;
using input::Node;

int UniformTokens::Sample(sim::RandomStream& rng) const {
  return min_ + static_cast<int>(rng.UniformInt(static_cast<std::uint64_t>(max_ - min_ + 1)));
}

LogNormalTokens::LogNormalTokens(double mean, double cv, int min, int max)
    : sigma_(std::sqrt(std::log1p(cv * cv))), min_(min), max_(max) {
  mu_ = std::log(mean) - sigma_ * sigma_ / 2;
  if (min_ >= max_) {
    clamped_mean_ = min_;
    return;
  }
  // The mean of the rounded, clamped values in closed form: a draw below
  // min + 0.5 gives min, one at or above max - 0.5 gives max, and one
  // between rounds to itself on average (rounding a smooth density leaves
  // its mean); the lognormal's partial expectation over [a, b] is
  // e^(mu + sigma^2/2) (Phi((ln b - mu - sigma^2)/sigma) - Phi((ln a - mu -
  // sigma^2)/sigma)).
  auto phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double a = min_ + 0.5, b = max_ - 0.5;
  const double za = (std::log(a) - mu_) / sigma_, zb = (std::log(b) - mu_) / sigma_;
  const double inside = std::exp(mu_ + sigma_ * sigma_ / 2) * (phi(zb - sigma_) - phi(za - sigma_));
  clamped_mean_ = min_ * phi(za) + inside + max_ * (1 - phi(zb));
}

int LogNormalTokens::Sample(sim::RandomStream& rng) const {
  const double x = std::round(rng.LogNormal(mu_, sigma_));
  if (!(x >= min_)) return min_;  // also NaN
  if (x > max_) return max_;
  return static_cast<int>(x);
}

EmpiricalTokens::EmpiricalTokens(std::vector<int> values, const std::vector<double>& weights)
    : values_(std::move(values)) {
  double total = 0;
  for (const double w : weights)
    total += w;
  double running = 0;
  for (std::size_t i = 0; i < values_.size(); ++i) {
    running += weights[i];
    cumulative_.push_back(running / total);
    mean_ += values_[i] * weights[i] / total;
  }
  cumulative_.back() = 1.0;
}

int EmpiricalTokens::Sample(sim::RandomStream& rng) const {
  const double u = rng.Uniform();
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), u);
  return values_[static_cast<std::size_t>(std::min<std::ptrdiff_t>(
      it - cumulative_.begin(), static_cast<std::ptrdiff_t>(values_.size()) - 1))];
}

std::unique_ptr<TokenDistribution> TokensFromScenario(const Node& node, Diagnostics& diags) {
  constexpr std::int64_t kMaxTokens = 10'000'000;
  if (node.IsScalar()) {
    const auto n = input::ReadInt(node, diags, 1, kMaxTokens);
    return n ? std::make_unique<FixedTokens>(static_cast<int>(*n)) : nullptr;
  }
  const int errors_before = diags.error_count();
  MapReader m(node, diags);
  const std::string kind = m.Enum("kind", "", {"fixed", "uniform", "lognormal", "empirical"});
  if (!m.Has("kind")) m.Require("kind");
  std::unique_ptr<TokenDistribution> out;
  if (kind == "fixed") {
    m.Require("value");
    out = std::make_unique<FixedTokens>(static_cast<int>(m.Int("value", 1, 1, kMaxTokens)));
  } else if (kind == "uniform") {
    m.Require("min");
    m.Require("max");
    const auto lo = static_cast<int>(m.Int("min", 1, 1, kMaxTokens));
    const auto hi = static_cast<int>(m.Int("max", lo, 1, kMaxTokens));
    if (hi < lo) diags.Error(m.Get("max").location(), m.Get("max").path(), "is below min");
    out = std::make_unique<UniformTokens>(lo, std::max(lo, hi));
  } else if (kind == "lognormal") {
    const auto mean = m.RequiredNumber("mean", 1, kMaxTokens);
    const auto cv = m.RequiredNumber("cv", 0.01, 10);
    const auto lo = static_cast<int>(m.Int("min", 1, 1, kMaxTokens));
    const auto hi = static_cast<int>(m.Int("max", 1'000'000, 1, kMaxTokens));
    if (hi < lo) diags.Error(m.Get("max").location(), m.Get("max").path(), "is below min");
    if (mean && cv) out = std::make_unique<LogNormalTokens>(*mean, *cv, lo, std::max(lo, hi));
  } else if (kind == "empirical") {
    std::vector<int> values;
    std::vector<double> weights;
    const Node v = m.Require("values");
    if (v.present() && (!v.IsSequence() || v.Elements().empty())) {
      diags.Error(v.location(), v.path(), "expected a non-empty list of token counts");
    } else if (v.present()) {
      for (const Node& e : v.Elements())
        values.push_back(static_cast<int>(input::ReadInt(e, diags, 1, kMaxTokens).value_or(1)));
    }
    const Node w = m.Get("weights");
    if (w.present()) {
      if (!w.IsSequence() || w.Elements().size() != values.size()) {
        diags.Error(w.location(), w.path(), "expected one weight per value");
      } else {
        for (const Node& e : w.Elements())
          weights.push_back(input::ReadNumber(e, diags, 1e-12, 1e12).value_or(1));
      }
    } else {
      weights.assign(values.size(), 1.0);
    }
    if (!values.empty() && weights.size() == values.size()) {
      out = std::make_unique<EmpiricalTokens>(std::move(values), weights);
    }
  }
  m.RejectUnknown();
  if (diags.error_count() != errors_before) return nullptr;
  return out;
}

namespace {

// Days from 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's
// days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.fraction]" as nanoseconds since 1970 (UTC, no
// zone; digits beyond the nanosecond dropped), exact.
std::optional<sim::Time> ParseTimestamp(std::string_view s) {
  auto number = [&](std::size_t at, std::size_t len) -> std::optional<int> {
    if (at + len > s.size()) return std::nullopt;
    int v = 0;
    const auto [end, ec] = std::from_chars(s.data() + at, s.data() + at + len, v);
    if (ec != std::errc() || end != s.data() + at + len) return std::nullopt;
    return v;
  };
  // A zone: Z, or +HH:MM / -HH:MM (the 2024 traces' +00:00), applied.
  sim::Time offset = 0;
  if (!s.empty() && s.back() == 'Z') {
    s.remove_suffix(1);
  } else if (s.size() >= 25 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-') &&
             s[s.size() - 3] == ':') {
    const std::string_view zone = s.substr(s.size() - 6);
    int zh = 0, zm = 0;
    const auto [e1, c1] = std::from_chars(zone.data() + 1, zone.data() + 3, zh);
    const auto [e2, c2] = std::from_chars(zone.data() + 4, zone.data() + 6, zm);
    if (c1 != std::errc() || c2 != std::errc() || e1 != zone.data() + 3 || e2 != zone.data() + 6 ||
        zh > 23 || zm > 59) {
      return std::nullopt;
    }
    offset = (zone[0] == '+' ? 1 : -1) * (zh * 3600LL + zm * 60LL) * sim::kSecond;
    s.remove_suffix(6);
  }
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  const auto y = number(0, 4), mo = number(5, 2), d = number(8, 2), h = number(11, 2),
             mi = number(14, 2), sec = number(17, 2);
  // Years 1970 to 2200: nanoseconds since 1970 fit in 64 bits.
  if (!y || !mo || !d || !h || !mi || !sec || *y < 1970 || *y > 2200 || *mo < 1 || *mo > 12 ||
      *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *sec > 59) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
  if (*d > kDays[*mo - 1] + (*mo == 2 && leap ? 1 : 0)) return std::nullopt;
  sim::Time fraction = 0;
  if (s.size() > 19) {
    if (s[19] != '.' || s.size() == 20) return std::nullopt;
    sim::Time scale = sim::kSecond / 10;
    for (std::size_t i = 20; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      fraction += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  const std::int64_t days =
      DaysFromCivil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return ((days * 24 + *h) * 60 + *mi) * 60 * sim::kSecond + *sec * sim::kSecond + fraction -
         offset;
}

std::optional<std::int32_t> ParseTokens(std::string_view s) {
  s = input::TrimRow(s);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0 || v > 10'000'000) {
    return std::nullopt;
  }
  return static_cast<std::int32_t>(v);
}

// Reads `path` line by line into arrivals with `parse` (which reports a bad
// line and returns nullopt); checks that times do not decrease; at most 20
// errors.
template <class Parse>
std::optional<std::vector<Arrival>> ReadLines(const std::filesystem::path& path,
                                              const std::string& display_name, Diagnostics& diags,
                                              Parse parse) {
  const auto text = input::ReadInputFile(path.string(), display_name, diags);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::vector<Arrival> out;
  std::string line;
  int line_no = 0, errors = 0;
  sim::Time last = 0;
  while (std::getline(in, line) && errors < 20) {
    ++line_no;
    if (line.find('\0') != std::string::npos) {
      diags.Error({display_name, line_no, 1}, "", "binary data; expected text");
      return std::nullopt;
    }
    std::string_view row = input::TrimRow(line);
    if (line_no == 1 && row.substr(0, 3) == "\xEF\xBB\xBF") row.remove_prefix(3);  // a BOM
    if (row.empty()) continue;
    sim::Time time = 0;
    Arrival a;
    const auto parsed = parse(row, line_no, time, a);
    if (!parsed) {
      ++errors;
      continue;
    }
    if (!*parsed) continue;  // a header
    if (!out.empty() && time < last) {
      diags.Error({display_name, line_no, 1}, "timestamp", "times must not decrease");
      ++errors;
      continue;
    }
    last = time;
    a.time = time;
    out.push_back(a);
  }
  if (errors > 0) return std::nullopt;
  if (out.empty()) {
    diags.Error({display_name, 1, 1}, "", "trace has no requests");
    return std::nullopt;
  }
  // Times from the first request's.
  const sim::Time first = out.front().time;
  if (out.back().time - first > sim::kMaxDuration) {
    diags.Error({display_name, line_no, 1}, "", "the trace spans more than platsim simulates");
    return std::nullopt;
  }
  for (Arrival& a : out)
    a.time -= first;
  return out;
}

}  // namespace

std::optional<std::vector<Arrival>> ReadAzureLlmTrace(const std::filesystem::path& path,
                                                      const std::string& display_name,
                                                      Diagnostics& diags) {
  bool seen_row = false;  // the header is the first row's, if any
  return ReadLines(
      path, display_name, diags,
      [&](std::string_view row, int line_no, sim::Time& time, Arrival& a) -> std::optional<bool> {
        if (!seen_row && row.rfind("TIMESTAMP", 0) == 0) {
          seen_row = true;
          return false;
        }
        seen_row = true;
        std::string_view fields[3];
        std::size_t at = 0;
        int n = 0;
        for (; n < 3 && at != std::string_view::npos; ++n) {
          const std::size_t comma = row.find(',', at);
          fields[n] = row.substr(at, comma == std::string_view::npos ? comma : comma - at);
          at = comma == std::string_view::npos ? comma : comma + 1;
        }
        if (n != 3 || at != std::string_view::npos) {
          diags.Error({display_name, line_no, 1}, "",
                      "expected TIMESTAMP,ContextTokens,GeneratedTokens");
          return std::nullopt;
        }
        const auto t = ParseTimestamp(input::TrimRow(fields[0]));
        const auto context = ParseTokens(fields[1]), generated = ParseTokens(fields[2]);
        if (!t) {
          diags.Error({display_name, line_no, 1}, "TIMESTAMP",
                      "expected YYYY-MM-DD HH:MM:SS[.fraction], got '" +
                          std::string(input::TrimRow(fields[0])) + "'");
          return std::nullopt;
        }
        const bool bad_context = !context || *context < 1;
        if (bad_context || !generated || *generated < 1) {
          const std::size_t column =
              fields[0].size() + 2 + (bad_context ? 0 : fields[1].size() + 1);
          diags.Error({display_name, line_no, static_cast<int>(column)},
                      bad_context ? "ContextTokens" : "GeneratedTokens",
                      "expected a token count from 1 to 10,000,000");
          return std::nullopt;
        }
        time = *t;
        a.prompt_tokens = *context;
        a.output_tokens = *generated;
        return true;
      });
}

std::optional<std::vector<Arrival>> ReadMooncakeTrace(const std::filesystem::path& path,
                                                      const std::string& display_name,
                                                      Diagnostics& diags,
                                                      std::vector<std::uint64_t>* prefix_ids) {
  const std::size_t first_id = prefix_ids != nullptr ? prefix_ids->size() : 0;
  std::optional<std::vector<Arrival>> rows = ReadLines(
      path, display_name, diags,
      [&](std::string_view row, int line_no, sim::Time& time, Arrival& a) -> std::optional<bool> {
        const auto j = nlohmann::json::parse(row, nullptr, false);
        auto bad = [&](const std::string& field, const std::string& message) {
          diags.Error({display_name, line_no, 1}, field, message);
          return std::nullopt;
        };
        if (j.is_discarded() || !j.is_object()) return bad("", "expected a JSON object");
        auto count = [&](const char* key, std::int64_t min) -> std::optional<std::int64_t> {
          const auto it = j.find(key);
          if (it == j.end() || !it->is_number_integer() || it->get<std::int64_t>() < min ||
              it->get<std::int64_t>() > 10'000'000'000'000LL) {
            return std::nullopt;
          }
          return it->get<std::int64_t>();
        };
        const auto t = count("timestamp", 0);
        if (!t) return bad("timestamp", "expected milliseconds from the start (an integer >= 0)");
        const auto in = count("input_length", 1), out = count("output_length", 1);
        if (!in || *in > 10'000'000) return bad("input_length", "expected a token count >= 1");
        if (!out || *out > 10'000'000) return bad("output_length", "expected a token count >= 1");
        if (const auto h = j.find("hash_ids"); h != j.end()) {
          if (!h->is_array() || !std::all_of(h->begin(), h->end(),
                                             [](const auto& x) { return x.is_number_integer(); })) {
            return bad("hash_ids", "expected a list of integers");
          }
        }
        if (*t > sim::kMaxDuration / sim::kMillisecond) {
          return bad("timestamp", "beyond the longest run platsim simulates");
        }
        time = *t * sim::kMillisecond;
        a.prompt_tokens = static_cast<std::int32_t>(*in);
        a.output_tokens = static_cast<std::int32_t>(*out);
        if (const auto h = j.find("hash_ids"); prefix_ids != nullptr && h != j.end()) {
          // Kept only for rows that parse: a read that keeps its rows keeps
          // them all, in order (a bad row fails the read).
          for (const auto& id : *h)
            prefix_ids->push_back(id.get<std::uint64_t>());
          a.prefix_chunks = static_cast<std::int32_t>(h->size());
          a.prefix_chunk_tokens = 512;  // Mooncake's block
        }
        return true;
      });
  if (rows && prefix_ids != nullptr) {
    // Ids name blocks within this trace: salted with its name (FNV-1a), so
    // that two traces' small integers do not pass for shared prompts.
    std::uint64_t salt = 14695981039346656037ULL;
    for (const unsigned char ch : display_name)
      salt = (salt ^ ch) * 1099511628211ULL;
    for (std::size_t i = first_id; i < prefix_ids->size(); ++i)
      (*prefix_ids)[i] ^= salt;
    std::size_t offset = first_id;
    for (Arrival& a : *rows) {
      if (a.prefix_chunks == 0) continue;
      a.prefix_ids = prefix_ids->data() + offset;
      offset += static_cast<std::size_t>(a.prefix_chunks);
    }
  }
  return rows;
}

}  // namespace platsim::models
