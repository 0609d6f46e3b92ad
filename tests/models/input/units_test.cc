#include "models/input/units.h"

#include <gtest/gtest.h>

#include <ostream>

namespace platsim::input {
namespace {

using sim::kHour;
using sim::kMillisecond;
using sim::kMinute;
using sim::kSecond;

struct DurationCase {
  const char* text;
  sim::Time ns;
};

std::ostream& operator<<(std::ostream& os, const DurationCase& c) {
  return os << c.text;
}

class ParseDurationValid : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationValid, ReadsGoDurationSyntax) {
  std::string error;
  const auto got = ParseDuration(GetParam().text, &error);
  ASSERT_TRUE(got.has_value()) << GetParam().text << ": " << error;
  EXPECT_EQ(*got, GetParam().ns) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseDurationValid,
    ::testing::Values(
        DurationCase{"0", 0}, DurationCase{"30s", 30 * kSecond}, DurationCase{"15m", 15 * kMinute},
        DurationCase{"2h", 2 * kHour}, DurationCase{"1h30m", kHour + 30 * kMinute},
        DurationCase{"250ms", 250 * kMillisecond}, DurationCase{"1.5s", 1500 * kMillisecond},
        DurationCase{"10us", 10'000}, DurationCase{"10\xc2\xb5s", 10'000}, DurationCase{"7ns", 7},
        DurationCase{"-2s", -2 * kSecond}, DurationCase{"1m0.5s", kMinute + 500 * kMillisecond},
        DurationCase{".5h", 30 * kMinute}));

TEST(ParseDuration, RejectsBadSyntaxWithAnExplanation) {
  for (const char* bad : {"", "30", "s", "3x", "1.2.3s", "1h 30m", "abc", "99999999999999h"}) {
    std::string error;
    EXPECT_FALSE(ParseDuration(bad, &error).has_value()) << bad;
    EXPECT_NE(error.find("expected a duration"), std::string::npos) << error;
  }
}

TEST(FormatDuration, RoundTripsThroughParse) {
  for (sim::Time t : {sim::Time{0}, 5 * kSecond, 90 * kMinute, 250 * kMillisecond, sim::Time{1234},
                      2 * kHour + 3 * kSecond + 5 * kMillisecond}) {
    std::string error;
    EXPECT_EQ(ParseDuration(FormatDuration(t), &error).value(), t) << FormatDuration(t);
  }
  EXPECT_EQ(FormatDuration(90 * kMinute), "1h30m0s");
  EXPECT_EQ(FormatDuration(250 * kMillisecond), "250ms");
}

struct QuantityCase {
  const char* text;
  std::int64_t milli;
};

std::ostream& operator<<(std::ostream& os, const QuantityCase& c) {
  return os << c.text;
}

class ParseQuantityValid : public ::testing::TestWithParam<QuantityCase> {};

TEST_P(ParseQuantityValid, GivesTheKubernetesMilliValue) {
  std::string error;
  const auto got = ParseQuantityMilli(GetParam().text, &error);
  ASSERT_TRUE(got.has_value()) << GetParam().text << ": " << error;
  EXPECT_EQ(*got, GetParam().milli) << GetParam().text;
}

// Values follow resource.Quantity.MilliValue(), which rounds up.
INSTANTIATE_TEST_SUITE_P(
    Cases, ParseQuantityValid,
    ::testing::Values(QuantityCase{"500m", 500}, QuantityCase{"4", 4000}, QuantityCase{"0.5", 500},
                      QuantityCase{"1Ki", 1024000},
                      QuantityCase{"64Gi", 64LL * 1024 * 1024 * 1024 * 1000},
                      QuantityCase{"1k", 1000000}, QuantityCase{"1.5M", 1500000000},
                      QuantityCase{"1e3", 1000000}, QuantityCase{"1E-3", 1}, QuantityCase{"1n", 1},
                      QuantityCase{"0.0001", 1}, QuantityCase{"0", 0}, QuantityCase{"100u", 1},
                      QuantityCase{"2.5m", 3},
                      // 19 significant digits are kept exactly.
                      QuantityCase{"1234567890123456.789", 1234567890123456789},
                      QuantityCase{"1.2345678901234567890123Ki", 1264198},
                      QuantityCase{"0.000000000000000000000000001Ei", 1}));

TEST(ParseQuantity, RejectsBadSyntaxAndOverflow) {
  // The last one overflowed 128-bit arithmetic (found by the fuzz target).
  for (const char* bad : {"", "abc", "1Qi", "1.2.3", "4 Gi", "1e", "1Gib", "9Ei", "1e400",
                          "25611111111111111111111111111111111111111111111111111111Gi",
                          "1111111111111111111111111111111111111111111111111111111111Ei"}) {
    std::string error;
    EXPECT_FALSE(ParseQuantityMilli(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace platsim::input
