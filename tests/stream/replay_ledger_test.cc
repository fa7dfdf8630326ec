#include "stream/replay_ledger.h"

#include <gtest/gtest.h>

namespace boxcall::stream {
namespace {

std::string error_of(std::string_view metadata) {
  try {
    (void)parse_ledger(metadata);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ReplayLedger, RoundTripsSessionsWithAnyCharacters) {
  ReplayLedger l;
  l.dead_letters_below = 1234;
  l.sessions["2024-bahrain-race"] = {5321, -1};
  l.sessions["odd;id=with:%chars and spaces/\xc3\xa9"] = {7, 99};
  const auto text = format_ledger(l);
  EXPECT_TRUE(text.starts_with("boxcall-eos-1;d=1234;")) << text;
  EXPECT_EQ(text.find(' '), std::string::npos);
  const auto back = parse_ledger(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, l);
}

TEST(ReplayLedger, TheExactTextIsStable) {
  ReplayLedger l;
  l.dead_letters_below = 10;
  l.sessions["a b"] = {3, -1};
  l.sessions["s1"] = {0, 42};
  EXPECT_EQ(format_ledger(l), "boxcall-eos-1;d=10;a%20b=3:-1;s1=0:42");
  EXPECT_EQ(format_ledger(ReplayLedger{}), "boxcall-eos-1;d=-1");
}

TEST(ReplayLedger, EmptyMetadataIsNoLedger) { EXPECT_FALSE(parse_ledger("").has_value()); }

TEST(ReplayLedger, AnUnknownVersionIsRefusedWithAClearError) {
  const auto e = error_of("boxcall-eos-2;d=10;s=3:-1");
  EXPECT_NE(e.find("version 2"), std::string::npos) << e;
  EXPECT_NE(e.find("reads version 1 only"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST(ReplayLedger, AnythingMalformedIsRefusedNeverMisread) {
  for (const char* bad : {"some other tool's metadata", "boxcall-eos-",
                          "boxcall-eos-x;d=1",          "boxcall-eos-1",
                          "boxcall-eos-1;x=1",          "boxcall-eos-1;d=",
                          "boxcall-eos-1;d=1x",         "boxcall-eos-1;d=-5",
                          "boxcall-eos-1;d=1;s",        "boxcall-eos-1;d=1;s=3",
                          "boxcall-eos-1;d=1;s=3:",     "boxcall-eos-1;d=1;=3:-1",
                          "boxcall-eos-1;d=1;s=-3:-1",  "boxcall-eos-1;d=1;s=3:-2",
                          "boxcall-eos-1;d=1;s%2=3:-1", "boxcall-eos-1;d=1;s%zz=3:-1",
                          "boxcall-eos-1;d=1;a b=3:-1", "boxcall-eos-1;d=1;s=1:-1;s=2:-1",
                          "boxcall-eos-1;d=1;",         "boxcall-eos-1;d=1;s=99999999999999999999999:-1"}) {
    const auto e = error_of(bad);
    EXPECT_FALSE(e.empty()) << "accepted: " << bad;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace boxcall::stream
