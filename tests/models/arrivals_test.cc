#include "models/arrivals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "sim/stats.h"
#include "tests/testing/temp_dir.h"

namespace platsim::models {
namespace {

using sim::kHour;
using sim::kMinute;
using sim::kSecond;
using sim::Time;

// Counts arrivals of `p` in [from, to); consumes the process up to `to`.
std::vector<int> CountInWindows(ArrivalProcess& p, sim::RandomStream& rng,
                                const std::vector<Time>& edges) {
  std::vector<int> counts(edges.size() - 1, 0);
  for (;;) {
    const Arrival a = p.Next(rng);
    if (a.time >= edges.back()) break;
    for (std::size_t w = 0; w + 1 < edges.size(); ++w) {
      if (a.time >= edges[w] && a.time < edges[w + 1]) ++counts[w];
    }
  }
  return counts;
}

// A Poisson count lies within 5 standard deviations of its mean.
void ExpectPoissonCount(int count, double mean, const std::string& what) {
  EXPECT_NEAR(count, mean, 5.0 * std::sqrt(mean)) << what;
}

TEST(PoissonArrivals, CountMatchesRateTimesDurationAndGapsHaveUnitCv) {
  PoissonArrivals p(200.0, 1.0);
  sim::RandomStream rng(1);
  sim::RunningStats gaps;
  Time last = 0;
  int n = 0;
  for (;;) {
    const Arrival a = p.Next(rng);
    if (a.time >= 500 * kSecond) break;
    gaps.Add(sim::ToSeconds(a.time - last));
    last = a.time;
    ++n;
  }
  ExpectPoissonCount(n, 200.0 * 500, "arrivals in 500 s at 200/s");
  EXPECT_NEAR(std::sqrt(gaps.variance()) / gaps.mean(), 1.0, 0.02);
}

TEST(DiurnalArrivals, WindowCountsFollowTheCosineRate) {
  const double mean = 50, amplitude = 0.8;
  const Time period = 2 * kHour, peak = 30 * kMinute;
  DiurnalArrivals p(mean, amplitude, period, peak, 1.0);
  sim::RandomStream rng(2);
  std::vector<Time> edges;
  for (Time t = 0; t <= period; t += 15 * kMinute)
    edges.push_back(t);
  const auto counts = CountInWindows(p, rng, edges);
  for (std::size_t w = 0; w < counts.size(); ++w) {
    // Expected count by numeric integration of the rate formula, 1 s steps.
    double expected = 0;
    for (Time t = edges[w]; t < edges[w + 1]; t += kSecond) {
      const double mid = sim::ToSeconds(t + kSecond / 2 - peak);
      expected +=
          mean * (1 + amplitude * std::cos(2 * std::numbers::pi * mid / sim::ToSeconds(period)));
    }
    ExpectPoissonCount(counts[w], expected, "window " + std::to_string(w));
    EXPECT_NEAR(p.ExpectedCount(edges[w], edges[w + 1]), expected, 1e-3 * expected);
  }
}

// Full amplitude (the rate touches zero at the trough), a peak late in the
// period and a short period, over many periods: every window of a sixteenth
// of the period gets the integral of the cosine rate. 1.2M arrivals: the
// 5-sigma band of the total is 0.5%, so a bound accepted without the cosine
// test (1.2% too many here) fails it.
TEST(DiurnalArrivals, FullAmplitudeOverManyPeriodsFollowsTheRate) {
  const double mean = 20, amplitude = 1.0;
  const Time period = 10 * kMinute, peak = 9 * kMinute;
  DiurnalArrivals p(mean, amplitude, period, peak, 1.0);
  sim::RandomStream rng(7);
  std::vector<Time> edges;
  for (Time t = 0; t <= 100 * period; t += period / 16)
    edges.push_back(t);
  const auto counts = CountInWindows(p, rng, edges);
  std::vector<double> by_phase(16, 0.0), expected_by_phase(16, 0.0);
  for (std::size_t w = 0; w < counts.size(); ++w) {
    by_phase[w % 16] += counts[w];
    const double a = sim::ToSeconds(edges[w] - peak), b = sim::ToSeconds(edges[w + 1] - peak);
    const double omega = 2 * std::numbers::pi / sim::ToSeconds(period);
    expected_by_phase[w % 16] +=
        mean * ((b - a) + amplitude * (std::sin(omega * b) - std::sin(omega * a)) / omega);
  }
  double total = 0, expected_total = 0;
  for (int k = 0; k < 16; ++k) {
    ExpectPoissonCount(static_cast<int>(by_phase[k]), expected_by_phase[k],
                       "phase window " + std::to_string(k));
    total += by_phase[k];
    expected_total += expected_by_phase[k];
  }
  ExpectPoissonCount(static_cast<int>(total), expected_total, "all windows");
}

TEST(PiecewiseArrivals, EachStepHasItsOwnRateIncludingZero) {
  PiecewiseArrivals p({{0, 10.0}, {100 * kSecond, 0.0}, {200 * kSecond, 100.0}}, 1.0);
  sim::RandomStream rng(3);
  const auto counts = CountInWindows(p, rng, {0, 100 * kSecond, 200 * kSecond, 300 * kSecond});
  ExpectPoissonCount(counts[0], 1000, "10/s for 100 s");
  EXPECT_EQ(counts[1], 0) << "a zero-rate step has no arrivals";
  ExpectPoissonCount(counts[2], 10000, "100/s for 100 s");
}

TEST(PiecewiseArrivals, ZeroRateForeverEndsTheProcess) {
  PiecewiseArrivals p({{0, 1000.0}, {kSecond, 0.0}}, 1.0);
  sim::RandomStream rng(4);
  int n = 0;
  while (p.Next(rng).time != sim::kNever)
    ++n;
  ExpectPoissonCount(n, 1000, "1000/s for 1 s");
}

TEST(ArrivalsFromScenario, BuildsBurstsOverABaseRate) {
  input::Diagnostics diags;
  const auto src = input::ParseYaml(
      "kind: bursts\nrate: 10\nbursts:\n- {at: 100s, duration: 50s, rate: 200}\n", "t.yaml", diags);
  auto p = ArrivalsFromScenario(src->documents[0], ".", diags);
  ASSERT_NE(p, nullptr) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  sim::RandomStream rng(5);
  const auto counts = CountInWindows(*p, rng, {0, 100 * kSecond, 150 * kSecond, 300 * kSecond});
  ExpectPoissonCount(counts[0], 1000, "base before the burst");
  ExpectPoissonCount(counts[1], 10000, "during the burst");
  ExpectPoissonCount(counts[2], 1500, "base after the burst");
}

TEST(ArrivalsFromScenario, ReplaysATraceWithSizesExactly) {
  platsim::testing::TempDir dir;
  dir.Write("trace.csv", "time_s,size\n# a comment\n0.5,10\n1.25,20\n1.25,5\n");
  input::Diagnostics diags;
  const auto src = input::ParseYaml("kind: trace\nfile: trace.csv\n", "t.yaml", diags);
  auto p = ArrivalsFromScenario(src->documents[0], dir.path(), diags);
  ASSERT_NE(p, nullptr);
  sim::RandomStream rng(6);
  const Arrival a = p->Next(rng), b = p->Next(rng), c = p->Next(rng), d = p->Next(rng);
  EXPECT_EQ(a.time, 500 * sim::kMillisecond);
  EXPECT_EQ(a.size, 10);
  EXPECT_EQ(b.time, 1250 * sim::kMillisecond);
  EXPECT_EQ(c.size, 5);
  EXPECT_EQ(d.time, sim::kNever);
}

TEST(ArrivalsFromScenario, AnLlmTracePlaysFromStartAtFasterAndAgain) {
  platsim::testing::TempDir dir;
  // Three requests 0, 1 and 2 s after the first (the trace's own times count
  // from its first request).
  dir.Write("t.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2026-11-02 09:00:10.0,100,5\n"
            "2026-11-02 09:00:11.0,200,6\n2026-11-02 09:00:12.0,300,7\n");
  input::Diagnostics diags;
  const auto src = input::ParseYaml(
      "kind: trace\nformat: azure-llm\nfile: t.csv\nstartAt: 60s\nspeedup: 2\nloop: true\n",
      "t.yaml", diags);
  auto p = ArrivalsFromScenario(src->documents[0], dir.path(), diags);
  ASSERT_NE(p, nullptr) << (diags.all().empty() ? "" : input::Format(diags.all()[0]));
  sim::RandomStream rng(6);
  // Twice as fast: 0, 0.5 and 1 s after 60 s; each play a mean gap (0.5 s)
  // after the last request of the one before, so every 1.5 s.
  const sim::Time expected[] = {60000, 60500, 61000, 61500, 62000, 62500, 63000};
  const int prompts[] = {100, 200, 300, 100, 200, 300, 100};
  for (int i = 0; i < 7; ++i) {
    const Arrival a = p->Next(rng);
    EXPECT_EQ(a.time, expected[i] * sim::kMillisecond) << i;
    EXPECT_EQ(a.prompt_tokens, prompts[i]) << i;
  }
  EXPECT_EQ(p->ExpectedCount(0, 63 * kSecond), 6);
  EXPECT_EQ(p->ExpectedCount(60500 * sim::kMillisecond, 62100 * sim::kMillisecond), 4);
}

TEST(ReadTraceCsv, ReportsEveryBadRowWithItsLine) {
  platsim::testing::TempDir dir;
  const auto path = dir.Write("bad.csv", "1.0\nabc\n0.5\n2.0,-3\n");
  input::Diagnostics diags;
  EXPECT_FALSE(ReadTraceCsv(path, "bad.csv", diags).has_value());
  std::string all;
  for (const auto& d : diags.all())
    all += input::Format(d) + "\n";
  EXPECT_NE(all.find("bad.csv:2:1: time_s: expected a time in seconds, got 'abc'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("bad.csv:3:1: time_s: times must not decrease"), std::string::npos) << all;
  EXPECT_NE(all.find("bad.csv:4:5: size: expected a positive request size"), std::string::npos)
      << all;
}

TEST(ArrivalsFromScenario, ReportsBadFieldsAllAtOnce) {
  input::Diagnostics diags;
  const auto src = input::ParseYaml(
      "kind: steps\nsteps:\n- {at: 10s, rate: -1}\n- {at: 5s, rate: 3}\nbogus: 1\n", "t.yaml",
      diags);
  EXPECT_EQ(ArrivalsFromScenario(src->documents[0], ".", diags), nullptr);
  std::string all;
  for (const auto& d : diags.all())
    all += input::Format(d) + "\n";
  EXPECT_NE(all.find("t.yaml:3:19: steps[0].rate: out of range"), std::string::npos) << all;
  EXPECT_NE(all.find("steps[1].at: steps must be in strictly increasing time order"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("t.yaml:5:1: bogus: unknown field"), std::string::npos) << all;
}

// A process switched at 60 s from 10/s to 100/s (the timeline's traffic
// change): Poisson counts of 600 and 6,000 in the two minutes (each within
// 4 sd), no arrival of the first after the switch, and the expected count
// the sum of the two.
TEST(SwitchedArrivals, RunsEachProcessFromItsSwitchTime) {
  SwitchedArrivals p({{0, std::make_shared<PoissonArrivals>(10.0, 1.0)},
                      {60 * sim::kSecond, std::make_shared<PoissonArrivals>(100.0, 1.0)}});
  sim::RandomStream rng(3);
  int first = 0, second = 0;
  for (Arrival a = p.Next(rng); a.time < 120 * sim::kSecond; a = p.Next(rng)) {
    (a.time < 60 * sim::kSecond ? first : second) += 1;
  }
  EXPECT_NEAR(first, 600, 4 * std::sqrt(600.0));
  EXPECT_NEAR(second, 6000, 4 * std::sqrt(6000.0));
  EXPECT_DOUBLE_EQ(p.ExpectedCount(0, 120 * sim::kSecond), 6600.0);
  EXPECT_DOUBLE_EQ(p.ExpectedCount(30 * sim::kSecond, 90 * sim::kSecond), 300.0 + 3000.0);
  // Restarted, it gives the same arrivals from the same stream.
  auto again = p.Restarted();
  sim::RandomStream a(3), b(3);
  SwitchedArrivals fresh({{0, std::make_shared<PoissonArrivals>(10.0, 1.0)},
                          {60 * sim::kSecond, std::make_shared<PoissonArrivals>(100.0, 1.0)}});
  for (int k = 0; k < 1000; ++k)
    EXPECT_EQ(again->Next(a).time, fresh.Next(b).time);
}

}  // namespace
}  // namespace platsim::models
