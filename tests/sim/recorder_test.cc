#include "sim/recorder.h"

#include <gtest/gtest.h>

#include <sstream>

namespace platsim::sim {
namespace {

TEST(Recorder, SamplesEveryIntervalUpToTheLastTimeInclusive) {
  Engine engine(1);
  std::ostringstream out;
  CsvRowSink sink(out);
  Recorder recorder(engine, 10 * kSecond, {"value"}, sink);
  recorder.AddSeries("clock",
                     [&](Time now, std::span<double> row) { row[0] = ToSeconds(now) * 2; });
  recorder.Start(0, 30 * kSecond);
  engine.Run();
  EXPECT_EQ(out.str(),
            "time_s,series,value\n"
            "0,clock,0\n"
            "10,clock,20\n"
            "20,clock,40\n"
            "30,clock,60\n");
}

TEST(CsvRowSink, WritesPrefixColumnsAndEmptyForNaN) {
  std::ostringstream out;
  CsvRowSink sink(out, {"replication"}, {"3"});
  const std::string columns[] = {"a", "b"};
  sink.Header(columns);
  const double values[] = {0.5, std::nan("")};
  sink.Row(1500 * kMillisecond, "svc", values);
  EXPECT_EQ(out.str(), "replication,time_s,series,a,b\n3,1.5,svc,0.5,\n");
}

}  // namespace
}  // namespace platsim::sim
