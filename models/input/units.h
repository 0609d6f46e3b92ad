// Kubernetes-style units: durations ("30s", "1h30m", "250ms") and resource
// quantities ("500m", "4", "64Gi", "1.5e3").
#ifndef PLATSIM_MODELS_INPUT_UNITS_H_
#define PLATSIM_MODELS_INPUT_UNITS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim/time.h"

namespace platsim::input {

// Parses a duration in Go's time.ParseDuration syntax, as Kubernetes prints
// them: a sequence of decimal numbers, each with a unit (ns, us, µs, ms, s,
// m, h), optionally signed; "0" alone is allowed. Returns nullopt and sets
// `error` on bad syntax or overflow.
std::optional<sim::Time> ParseDuration(std::string_view text, std::string* error);

// `s` without leading spaces and tabs, and without trailing spaces, tabs and
// a carriage return (a CSV row of a file with CRLF line ends).
std::string_view TrimRow(std::string_view s);

// Formats a duration the way ParseDuration reads it ("1h30m", "250ms").
std::string FormatDuration(sim::Time t);

// Parses a Kubernetes resource.Quantity and returns its value in thousandths
// (a "milli-value": "500m" -> 500, "2" -> 2000, "1Ki" -> 1024000), rounded up
// as Quantity.MilliValue() does. Suffixes: Ki Mi Gi Ti Pi Ei; n u m k M G T P
// E; or an exponent e<N>/E<N>. Returns nullopt and sets `error` on bad
// syntax or if the milli-value does not fit in 63 bits.
std::optional<std::int64_t> ParseQuantityMilli(std::string_view text, std::string* error);

}  // namespace platsim::input

#endif  // PLATSIM_MODELS_INPUT_UNITS_H_
