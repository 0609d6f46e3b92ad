#include "models/input/units.h"

#include <cctype>
#include <cmath>

namespace platsim::input {
namespace {

__extension__ using Int128 = __int128;

struct DurationUnit {
  std::string_view name;
  sim::Time ns;
};
// Longest names first so that "ms" is not read as "m" followed by "s".
constexpr DurationUnit kDurationUnits[] = {
    {"ns", 1},         {"us", 1'000},       {"\xc2\xb5s", 1'000}, {"\xce\xbcs", 1'000},
    {"ms", 1'000'000}, {"s", sim::kSecond}, {"m", sim::kMinute},  {"h", sim::kHour},
};

}  // namespace

std::optional<sim::Time> ParseDuration(std::string_view text, std::string* error) {
  const std::string_view original = text;
  auto fail = [&](const std::string& why) -> std::optional<sim::Time> {
    if (error)
      *error = why + " (got '" + std::string(original) +
               "', expected a duration like 30s, 1m30s or 250ms)";
    return std::nullopt;
  };
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  if (text == "0") return sim::Time{0};
  if (text.empty()) return fail("empty duration");
  Int128 total = 0;  // nanoseconds
  while (!text.empty()) {
    // Integer and fractional digits, kept exactly.
    Int128 whole = 0;
    Int128 frac = 0;
    Int128 frac_scale = 1;
    std::size_t i = 0;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      whole = whole * 10 + (text[i] - '0');
      if (whole > Int128{1} << 70) return fail("duration too large");
      digits = true;
      ++i;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (frac_scale < Int128{1'000'000'000'000'000'000LL}) {
          frac = frac * 10 + (text[i] - '0');
          frac_scale *= 10;
        }
        digits = true;
        ++i;
      }
    }
    if (!digits) return fail("expected a number");
    text.remove_prefix(i);
    const DurationUnit* unit = nullptr;
    for (const auto& u : kDurationUnits) {
      if (text.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return fail(text.empty() ? "missing unit" : "unknown unit");
    text.remove_prefix(unit->name.size());
    total += whole * unit->ns + frac * unit->ns / frac_scale;
    if (total > Int128{sim::kNever}) return fail("duration too large");
  }
  const auto t = static_cast<sim::Time>(total);
  return negative ? -t : t;
}

std::string FormatDuration(sim::Time t) {
  if (t == 0) return "0s";
  std::string out;
  if (t < 0) {
    out = "-";
    t = -t;
  }
  if (t < sim::kSecond) {
    const char* unit = "ns";
    sim::Time scale = 1;
    if (t % sim::kMillisecond == 0) {
      unit = "ms";
      scale = sim::kMillisecond;
    } else if (t % sim::kMicrosecond == 0) {
      unit = "us";
      scale = sim::kMicrosecond;
    }
    return out + std::to_string(t / scale) + unit;
  }
  const sim::Time h = t / sim::kHour;
  const sim::Time m = (t % sim::kHour) / sim::kMinute;
  const sim::Time ns = t % sim::kMinute;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  {  // seconds always print, as Go's Duration.String does: 1h30m0s
    std::string s = std::to_string(ns / sim::kSecond);
    if (const sim::Time sub = ns % sim::kSecond; sub != 0) {
      std::string digits = std::to_string(sub);
      digits.insert(0, 9 - digits.size(), '0');
      while (digits.back() == '0')
        digits.pop_back();
      s += "." + digits;
    }
    out += s + "s";
  }
  return out;
}

std::optional<std::int64_t> ParseQuantityMilli(std::string_view text, std::string* error) {
  const std::string_view original = text;
  auto fail = [&](const std::string& why) -> std::optional<std::int64_t> {
    if (error)
      *error =
          why + " (got '" + std::string(original) + "', expected a quantity like 500m, 4, 16Gi)";
    return std::nullopt;
  };
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  // The number as mantissa * 10^exp10, exactly.
  Int128 mantissa = 0;
  int exp10 = 0;
  std::size_t i = 0;
  bool digits = false;
  // The mantissa keeps at most about 20 significant digits (below 2^67), so
  // that times the largest binary suffix (2^60) it still fits in 128 bits;
  // further digits only scale the value (any such quantity is far past what
  // is accepted unless an exponent brings it down, and then only digits past
  // the 20th are lost).
  constexpr Int128 kMantissaLimit = Int128{1} << 63;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (mantissa < kMantissaLimit) {
      mantissa = mantissa * 10 + (text[i] - '0');
    } else {
      ++exp10;
    }
    digits = true;
    ++i;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (mantissa < kMantissaLimit) {
        mantissa = mantissa * 10 + (text[i] - '0');
        --exp10;
      }
      digits = true;
      ++i;
    }
  }
  if (!digits) return fail("expected a number");
  const std::string_view suffix = text.substr(i);
  Int128 binary_multiplier = 1;
  if (suffix.empty()) {
  } else if (suffix == "Ki") {
    binary_multiplier = Int128{1} << 10;
  } else if (suffix == "Mi") {
    binary_multiplier = Int128{1} << 20;
  } else if (suffix == "Gi") {
    binary_multiplier = Int128{1} << 30;
  } else if (suffix == "Ti") {
    binary_multiplier = Int128{1} << 40;
  } else if (suffix == "Pi") {
    binary_multiplier = Int128{1} << 50;
  } else if (suffix == "Ei") {
    binary_multiplier = Int128{1} << 60;
  } else if (suffix == "n") {
    exp10 -= 9;
  } else if (suffix == "u") {
    exp10 -= 6;
  } else if (suffix == "m") {
    exp10 -= 3;
  } else if (suffix == "k") {
    exp10 += 3;
  } else if (suffix == "M") {
    exp10 += 6;
  } else if (suffix == "G") {
    exp10 += 9;
  } else if (suffix == "T") {
    exp10 += 12;
  } else if (suffix == "P") {
    exp10 += 15;
  } else if (suffix == "E") {
    exp10 += 18;
  } else if ((suffix[0] == 'e' || suffix[0] == 'E') && suffix.size() > 1) {
    std::size_t j = 1;
    bool exp_negative = false;
    if (suffix[j] == '-' || suffix[j] == '+') {
      exp_negative = suffix[j] == '-';
      ++j;
    }
    if (j == suffix.size()) return fail("bad exponent");
    int e = 0;
    for (; j < suffix.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[j]))) return fail("bad exponent");
      e = e * 10 + (suffix[j] - '0');
      if (e > 1000) return fail("exponent too large");
    }
    exp10 += exp_negative ? -e : e;
  } else {
    return fail("unknown suffix '" + std::string(suffix) + "'");
  }
  // milli-value = ceil(mantissa * binary_multiplier * 10^(exp10 + 3)).
  exp10 += 3;
  Int128 value = mantissa * binary_multiplier;
  constexpr Int128 kLimit = Int128{1} << 63;
  for (; exp10 > 0; --exp10) {
    if (value > kLimit) return fail("quantity too large");
    value *= 10;
  }
  // Rounding up at each step equals rounding up once: ceil(ceil(x/a)/b) = ceil(x/ab).
  for (; exp10 < 0 && value > 1; ++exp10)
    value = (value + 9) / 10;
  if (value >= kLimit) return fail("quantity too large");
  const auto v = static_cast<std::int64_t>(value);
  return negative ? -v : v;
}

std::string_view TrimRow(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace platsim::input
