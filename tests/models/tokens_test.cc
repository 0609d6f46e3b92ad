#include "models/tokens.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "tests/testing/temp_dir.h"

namespace platsim::models {
namespace {

std::string All(const input::Diagnostics& diags) {
  std::string all;
  for (const auto& d : diags.all())
    all += input::Format(d) + "\n";
  return all;
}

// The shipped samples (tools/traces/make_samples.py writes the same
// requests in both formats): each parser reads the same times, to the
// Mooncake format's millisecond, and the same tokens.
TEST(LlmTraces, TheTwoSampleFormatsReadAsTheSameRequests) {
  const auto dir = platsim::testing::SourceDir() / "scenarios/traces";
  input::Diagnostics diags;
  const auto azure = ReadAzureLlmTrace(dir / "azure-llm-sample.csv", "azure", diags);
  const auto mooncake = ReadMooncakeTrace(dir / "mooncake-sample.jsonl", "mooncake", diags);
  ASSERT_TRUE(azure && mooncake) << All(diags);
  ASSERT_EQ(azure->size(), 600u);
  ASSERT_EQ(mooncake->size(), 600u);
  EXPECT_EQ(azure->front().time, 0);
  EXPECT_EQ(mooncake->front().time, 0);
  // The first rows, as the files have them: 09:00:00.0301090 (2022, 136),
  // then .0743710 (358, 341); in the Mooncake file 30 and 74 ms.
  EXPECT_EQ((*azure)[1].time, 44262 * sim::kMicrosecond);
  EXPECT_EQ((*mooncake)[1].time, 44 * sim::kMillisecond);
  EXPECT_EQ((*azure)[0].prompt_tokens, 2022);
  EXPECT_EQ((*azure)[0].output_tokens, 136);
  for (std::size_t i = 0; i < azure->size(); ++i) {
    const auto& a = (*azure)[i];
    const auto& m = (*mooncake)[i];
    ASSERT_EQ(a.prompt_tokens, m.prompt_tokens) << i;
    ASSERT_EQ(a.output_tokens, m.output_tokens) << i;
    ASSERT_LE(std::llabs(a.time - m.time), sim::kMillisecond) << i;
    if (i > 0) ASSERT_GE(a.time, (*azure)[i - 1].time) << i;
  }
}

TEST(LlmTraces, BadRowsAreReportedWithTheirLines) {
  platsim::testing::TempDir dir;
  input::Diagnostics diags;
  const auto azure = dir.Write("a.csv",
                               "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                               "2023-11-16 18:15:46.6805900,4808,10\n"
                               "2023-11-16 18:15:45,10,1\n"
                               "2023-13-16 18:15:47,10,1\n"
                               "2023-11-16 18:15:48,0,1\n"
                               "2023-11-16 18:15:49,10\n");
  EXPECT_FALSE(ReadAzureLlmTrace(azure, "a.csv", diags));
  const std::string a = All(diags);
  EXPECT_NE(a.find("a.csv:3:1: timestamp: times must not decrease"), std::string::npos) << a;
  EXPECT_NE(a.find("a.csv:4:1: TIMESTAMP: expected YYYY-MM-DD HH:MM:SS"), std::string::npos) << a;
  EXPECT_NE(a.find("a.csv:5:21: ContextTokens: expected a token count from 1 to 10,000,000"),
            std::string::npos)
      << a;
  EXPECT_NE(a.find("a.csv:6:1: expected TIMESTAMP,ContextTokens,GeneratedTokens"),
            std::string::npos)
      << a;

  input::Diagnostics more;
  const auto mooncake = dir.Write("m.jsonl",
                                  "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 2}\n"
                                  "{\"timestamp\": 6, \"input_length\": 10}\n"
                                  "not json\n"
                                  "{\"timestamp\": 7, \"input_length\": 1, \"output_length\": 1, "
                                  "\"hash_ids\": [1, \"x\"]}\n");
  EXPECT_FALSE(ReadMooncakeTrace(mooncake, "m.jsonl", more));
  const std::string m = All(more);
  EXPECT_NE(m.find("m.jsonl:2:1: output_length: expected a token count >= 1"), std::string::npos)
      << m;
  EXPECT_NE(m.find("m.jsonl:3:1: expected a JSON object"), std::string::npos) << m;
  EXPECT_NE(m.find("m.jsonl:4:1: hash_ids: expected a list of integers"), std::string::npos) << m;
}

// The 2024 traces' timestamps carry a zone (+00:00), some without a
// fraction; a BOM may lead the header; an impossible date and a bad
// GeneratedTokens (reported at its own column) are errors.
TEST(LlmTraces, ZonesBomsAndCalendarDatesAreRead) {
  platsim::testing::TempDir dir;
  input::Diagnostics diags;
  const auto ok = dir.Write("a.csv",
                            "\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\n"
                            "2024-05-10 00:00:00+00:00,100,10\n"
                            "2024-05-10 02:00:00.5+02:00,200,20\n"
                            "2024-05-10T00:00:01Z,300,30\n");
  const auto arrivals = ReadAzureLlmTrace(ok, "a.csv", diags);
  ASSERT_TRUE(arrivals) << All(diags);
  ASSERT_EQ(arrivals->size(), 3u);
  EXPECT_EQ((*arrivals)[1].time, 500 * sim::kMillisecond);  // 02:00 at +02:00 is 00:00 UTC
  EXPECT_EQ((*arrivals)[2].time, sim::kSecond);
  const auto bad = dir.Write("b.csv",
                             "2023-02-29 00:00:00,10,1\n"
                             "2024-02-29 00:00:00,10,0\n");
  EXPECT_FALSE(ReadAzureLlmTrace(bad, "b.csv", diags));
  const std::string b = All(diags);
  EXPECT_NE(b.find("b.csv:1:1: TIMESTAMP"), std::string::npos) << b;  // 2023 is no leap year
  EXPECT_NE(b.find("b.csv:2:24: GeneratedTokens"), std::string::npos) << b;
}

std::unique_ptr<TokenDistribution> Parse(const std::string& yaml, input::Diagnostics& diags) {
  const auto src = input::ParseYaml(yaml, "t.yaml", diags);
  return TokensFromScenario(src->documents[0], diags);
}

// Sample means against each distribution's mean: within 4 standard errors
// of 200,000 draws.
TEST(TokenDistributions, SampleMeansMatchTheirMeans) {
  struct Case {
    std::string yaml;
    double mean;  // independently: the closed form, or a sum
  };
  // lognormal 1000, cv 0.8, clamped at 1..100000: the clamp is far in the
  // tails, so the mean stays 1000 (to 0.1%); clamped at 1..1200, the
  // numerically computed Mean() is the one to match.
  const std::vector<Case> cases = {
      {"{kind: uniform, min: 10, max: 20}", 15.0},
      {"{kind: empirical, values: [100, 400], weights: [3, 1]}", 175.0},
      {"{kind: lognormal, mean: 1000, cv: 0.8, max: 100000}", 1000.0},
      {"{kind: lognormal, mean: 200, cv: 1.5}", 200.0},
      {"{kind: lognormal, mean: 1000, cv: 0.8, max: 1200}", -1},
      // Heavy tails: the clamp at 1,000,000 takes a little of the mean of
      // 1500 at cv 2, so the closed form is matched by the samples only.
      {"{kind: lognormal, mean: 1500, cv: 2}", -1},
      {"{kind: lognormal, mean: 500, cv: 1, min: 500, max: 500}", 500.0},
  };
  for (const Case& c : cases) {
    input::Diagnostics diags;
    const auto d = Parse(c.yaml, diags);
    ASSERT_NE(d, nullptr) << c.yaml << All(diags);
    if (c.mean > 0) EXPECT_NEAR(d->Mean(), c.mean, c.mean * 2e-3) << c.yaml;
    sim::RandomStream rng(3);
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      const double x = d->Sample(rng);
      ASSERT_GE(x, 1);
      sum += x;
      sum2 += x * x;
    }
    const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
    EXPECT_NEAR(mean, d->Mean(), 4 * sd / std::sqrt(n)) << c.yaml;
  }
  input::Diagnostics diags;
  const auto fixed = Parse("128", diags);
  ASSERT_NE(fixed, nullptr);
  sim::RandomStream rng(1);
  EXPECT_EQ(fixed->Sample(rng), 128);
}

TEST(TokenDistributions, BadFieldsAreReported) {
  for (const auto& [yaml, expected] : std::vector<std::pair<std::string, std::string>>{
           {"{kind: uniform, min: 20, max: 10}", "max: is below min"},
           {"{kind: lognormal, mean: 100}", "cv"},
           {"{kind: empirical, values: [1, 2], weights: [1]}", "expected one weight per value"},
           {"{kind: fixed, value: 0}", "value"},
           {"{kind: zipf}", "kind"},
           {"0", "out of range"},
       }) {
    input::Diagnostics diags;
    EXPECT_EQ(Parse(yaml, diags), nullptr) << yaml;
    EXPECT_NE(All(diags).find(expected), std::string::npos) << yaml << "\n" << All(diags);
  }
}

}  // namespace
}  // namespace platsim::models
