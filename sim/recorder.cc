#include "sim/recorder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace platsim::sim {

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", value);
  return buf;
}

CsvRowSink::CsvRowSink(std::ostream& out, std::vector<std::string> prefix_columns,
                       std::vector<std::string> prefix_values, bool write_header)
    : out_(out), prefix_columns_(std::move(prefix_columns)), write_header_(write_header) {
  for (const auto& v : prefix_values)
    prefix_ += v + ",";
}

void CsvRowSink::Header(std::span<const std::string> columns) {
  if (!write_header_) return;
  for (const auto& c : prefix_columns_)
    out_ << c << ',';
  out_ << "time_s,series";
  for (const auto& c : columns)
    out_ << ',' << c;
  out_ << '\n';
}

void CsvRowSink::Row(Time time, const std::string& series, std::span<const double> values) {
  out_ << prefix_ << FormatNumber(ToSeconds(time)) << ',' << series;
  for (double v : values)
    out_ << ',' << FormatNumber(v);
  out_ << '\n';
}

Recorder::Recorder(Engine& engine, Time interval, std::vector<std::string> columns, RowSink& sink)
    : engine_(engine), interval_(interval), columns_(std::move(columns)), sink_(sink) {
  row_.resize(columns_.size());
}

void Recorder::AddSeries(std::string name, Sampler sampler) {
  series_.emplace_back(std::move(name), std::move(sampler));
}

void Recorder::Start(Time first, Time last) {
  last_ = last;
  sink_.Header(columns_);
  engine_.ScheduleCallbackAt(first, [this] { Sample(); });
}

void Recorder::Sample() {
  const Time now = engine_.Now();
  for (auto& [name, sampler] : series_) {
    std::fill(row_.begin(), row_.end(), std::nan(""));
    sampler(now, row_);
    sink_.Row(now, name, row_);
  }
  if (interval_ <= last_ - now) engine_.ScheduleCallbackAt(now + interval_, [this] { Sample(); });
}

}  // namespace platsim::sim
