#include "base/time_text.h"

#include <gtest/gtest.h>

namespace boxcall {
namespace {

TEST(TimeText, ParsesPandasTimedelta) {
  EXPECT_EQ(parse_timedelta("0 days 01:04:15.961000"), (3600 + 4 * 60 + 15) * kNsPerSecond + 961'000'000);
  EXPECT_EQ(parse_timedelta("0 days 00:01:39.019000"), 99 * kNsPerSecond + 19'000'000);
  EXPECT_EQ(parse_timedelta("1 days 00:00:00"), 86'400 * kNsPerSecond);
  EXPECT_EQ(parse_timedelta("-1 days +23:59:59.500000"), -500'000'000);
}

TEST(TimeText, ParsesPlainClockTexts) {
  EXPECT_EQ(parse_timedelta("1:39.019"), 99 * kNsPerSecond + 19'000'000);
  EXPECT_EQ(parse_timedelta("01:02:03"), 3723 * kNsPerSecond);
  EXPECT_EQ(parse_timedelta("42.5"), 42'500'000'000);
}

TEST(TimeText, RejectsGarbageAndMissing) {
  EXPECT_FALSE(parse_timedelta(""));
  EXPECT_FALSE(parse_timedelta("NaT"));
  EXPECT_FALSE(parse_timedelta("abc"));
  EXPECT_FALSE(parse_timedelta("0 days 01:xx:00"));
  EXPECT_FALSE(parse_utc_datetime("2023-02-30 10:00:00"));
  EXPECT_FALSE(parse_utc_datetime("yesterday"));
}

TEST(TimeText, ParsesUtcDatesBothStyles) {
  // 2023-03-05T15:03:38.501Z is 1678028618.501 s after the epoch.
  const TimeNs expected = 1'678'028'618 * kNsPerSecond + 501'000'000;
  EXPECT_EQ(parse_utc_datetime("2023-03-05 15:03:38.501"), expected);
  EXPECT_EQ(parse_utc_datetime("2023-03-05T15:03:38.501Z"), expected);
  EXPECT_EQ(format_utc_datetime(expected), "2023-03-05T15:03:38.501000000Z");
  EXPECT_EQ(parse_utc_datetime(format_utc_datetime(expected)), expected);
}

// Found by the livetiming fuzzer: a race control message stamped "1011-03-05T14:20:00" overflowed
// TimeNs (signed overflow, undefined behaviour) while deriving the session's start time.
TEST(TimeText, DatesAndDurationsBeyondTimeNsAreRejectedNotOverflowed) {
  EXPECT_FALSE(parse_utc_datetime("1011-03-05T14:20:00"));
  EXPECT_FALSE(parse_utc_datetime("2263-01-01T00:00:00Z"));
  EXPECT_FALSE(parse_utc_datetime("-2023-03-05T00:00:00Z"));
  EXPECT_TRUE(parse_utc_datetime("1950-05-13T14:00:00Z"));  // the first championship race
  EXPECT_TRUE(parse_utc_datetime("2200-12-31T23:59:59Z"));
  EXPECT_FALSE(parse_timedelta("200000 days 00:00:00"));
  EXPECT_FALSE(parse_timedelta("99999999999999:00:00"));
  EXPECT_FALSE(parse_timedelta("9223372036:00"));
  EXPECT_EQ(parse_timedelta("100000 days 00:00:00"), 100'000LL * 86'400 * kNsPerSecond);
}

}  // namespace
}  // namespace boxcall
