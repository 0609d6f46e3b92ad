// Fixed-interval time series.
//
// A Recorder samples registered series every `interval` of simulated time and
// hands each row to a RowSink as it is taken, so output streams out during a
// run instead of being held until the end. Rows come out in time order, and
// within a time in the order the series were added.
#ifndef PLATSIM_SIM_RECORDER_H_
#define PLATSIM_SIM_RECORDER_H_

#include <functional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "sim/engine.h"
#include "sim/time.h"

namespace platsim::sim {

class RowSink {
 public:
  virtual ~RowSink() = default;
  // Called once, before any row.
  virtual void Header(std::span<const std::string> columns) = 0;
  // One sample of one series. values.size() == columns.size().
  virtual void Row(Time time, const std::string& series, std::span<const double> values) = 0;
};

// Writes `time_s,series,<columns>` CSV. Numbers are printed with up to 9
// significant digits in a fixed locale-independent form; NaN prints empty.
// `prefix_columns` / `prefix_values` add constant leading columns (for
// example a replication index).
class CsvRowSink : public RowSink {
 public:
  // Borrows `out` for the sink's lifetime.
  explicit CsvRowSink(std::ostream& out, std::vector<std::string> prefix_columns = {},
                      std::vector<std::string> prefix_values = {}, bool write_header = true);
  void Header(std::span<const std::string> columns) override;
  void Row(Time time, const std::string& series, std::span<const double> values) override;

 private:
  std::ostream& out_;
  std::vector<std::string> prefix_columns_;
  std::string prefix_;
  bool write_header_;
};

// Formats a double for CSV and JSON-like text output: shortest of %.9g,
// "" for NaN.
std::string FormatNumber(double value);

class Recorder {
 public:
  // Fills `out` (one value per column) with the series' values at `now`.
  using Sampler = std::function<void(Time now, std::span<double> out)>;

  // Borrows `engine` and `sink`. REQUIRES: interval > 0.
  Recorder(Engine& engine, Time interval, std::vector<std::string> columns, RowSink& sink);

  // REQUIRES: Start() not yet called.
  void AddSeries(std::string name, Sampler sampler);

  // Writes the header and takes the first sample at `first`, then every
  // interval after it, until `last` (inclusive).
  void Start(Time first, Time last);

 private:
  void Sample();

  Engine& engine_;
  const Time interval_;
  const std::vector<std::string> columns_;
  RowSink& sink_;
  std::vector<std::pair<std::string, Sampler>> series_;
  std::vector<double> row_;
  Time last_ = 0;
};

}  // namespace platsim::sim

#endif  // PLATSIM_SIM_RECORDER_H_
