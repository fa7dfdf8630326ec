#include "replay/recording.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/result.h"

namespace boxcall::replay {
namespace {

namespace fs = std::filesystem;

fs::path temp(const std::string& name) {
  return fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".rec");
}

std::vector<RecordedRecord> sample_records(RecordingWriter& w) {
  std::vector<RecordedRecord> v;
  RecordedRecord a;
  a.topic_id = w.topic_id("telemetry");
  a.partition = 3;
  a.offset = 42;
  a.timestamp_ms = 1'678'028'618'501;
  a.key = "2023_01_bahrain_race";
  a.value = std::string("\x00\x01\xff binary", 10);
  v.push_back(a);
  RecordedRecord b;
  b.topic_id = w.topic_id("dead-letter");
  b.partition = 0;
  b.offset = 7;
  b.timestamp_ms = 1'678'028'618'600;
  b.key.reset();  // null key
  b.value = "";   // empty, not null
  b.headers = {
      {"boxcall.reason", "malformed_json"}, {"boxcall.source", "with_errors.txt:2"}, {"nullvalue", std::nullopt}};
  v.push_back(b);
  RecordedRecord c = a;
  c.value.reset();  // tombstone
  c.offset = 43;
  v.push_back(c);
  return v;
}

void expect_same(const RecordedRecord& x, const RecordedRecord& y) {
  EXPECT_EQ(x.topic_id, y.topic_id);
  EXPECT_EQ(x.partition, y.partition);
  EXPECT_EQ(x.offset, y.offset);
  EXPECT_EQ(x.timestamp_ms, y.timestamp_ms);
  EXPECT_EQ(x.key, y.key);
  EXPECT_EQ(x.value, y.value);
  EXPECT_EQ(x.headers, y.headers);
}

class RecordingRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(RecordingRoundTrip, EveryFieldBackBitForBit) {
  const fs::path f = temp(GetParam() ? "rec-gz" : "rec-plain");
  std::vector<RecordedRecord> written;
  {
    RecordingWriter w(f, {GetParam(), 6});
    written = sample_records(w);
    for (const auto& r : written) w.write(r);
    EXPECT_EQ(w.records(), 3U);
  }  // the destructor closes (END frame)
  EXPECT_TRUE(is_recording(f));
  RecordingReader r(f);
  RecordedRecord got;
  for (const auto& want : written) {
    ASSERT_TRUE(r.next(got));
    expect_same(got, want);
  }
  EXPECT_FALSE(r.next(got));
  EXPECT_TRUE(r.complete());
  EXPECT_EQ(r.topics(), (std::vector<std::string>{"telemetry", "dead-letter"}));
  EXPECT_EQ(r.topic_name(1), "dead-letter");
  fs::remove(f);
}
INSTANTIATE_TEST_SUITE_P(PlainAndGzip, RecordingRoundTrip, ::testing::Bool());

TEST(Recording, BadFilesFailWithOneClearLine) {
  EXPECT_THROW(RecordingReader(temp("does-not-exist")), ConfigError);
  const fs::path f = temp("rec-bad");
  std::ofstream(f) << "hello, this is not a recording at all";
  EXPECT_FALSE(is_recording(f));
  try {
    RecordingReader r(f);
    FAIL() << "accepted a bad magic";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos) << e.what();
  }
  fs::remove(f);
}

TEST(Recording, CorruptionIsDetectedTruncationIsReported) {
  const fs::path f = temp("rec-corrupt");
  {
    RecordingWriter w(f);
    for (const auto& r : sample_records(w)) w.write(r);
    w.close();
  }
  // Flip one byte of the first record's value: the CRC catches it.
  std::string bytes;
  {
    std::ifstream in(f, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = bytes.find("binary");
  ASSERT_NE(at, std::string::npos);
  std::string corrupt = bytes;
  corrupt[at] = 'B';
  std::ofstream(f, std::ios::binary | std::ios::trunc) << corrupt;
  {
    RecordingReader r(f);
    RecordedRecord got;
    try {
      (void)r.next(got);
      FAIL() << "corruption not detected";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    }
  }
  // Cut the END frame (9-byte body + 8-byte frame header): every record reads, complete() is false.
  std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 17);
  RecordingReader r(f);
  RecordedRecord got;
  int n = 0;
  while (r.next(got)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_FALSE(r.complete());
  EXPECT_FALSE(r.truncated());
  // Cut inside the last record: the two before it read, then the end.
  std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 17 - 5);
  RecordingReader cut(f);
  n = 0;
  while (cut.next(got)) ++n;
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(cut.truncated());
  fs::remove(f);
}

/// Resident memory of this process (VmRSS), bytes.
std::int64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6)) * 1024;
  }
  return -1;
}

// Found by the recording fuzzer (tests/fuzz/recording_fuzz.cc): a frame header
// claiming a 256 MiB body in a file of a few dozen bytes made the reader
// allocate and zero the whole claimed length before finding the file ended.
TEST(Recording, AFrameLengthBeyondTheFileCostsNoMemory) {
  const fs::path f = temp("rec-huge-frame");
  std::string bytes("BXCREC\r\n\x01\x00\x00\x00\x00\x00\x00\x00", 16);
  const std::uint32_t len = 256U << 20;  // the largest frame the format allows
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  bytes.append(4, '\0');              // CRC (never reached)
  bytes.append("\x02 a short body");  // a few bytes of the claimed 256 MiB
  std::ofstream(f, std::ios::binary | std::ios::trunc) << bytes;
  const std::int64_t before = resident_bytes();
  ASSERT_GT(before, 0);
  RecordingReader r(f);
  RecordedRecord got;
  EXPECT_FALSE(r.next(got));
  EXPECT_TRUE(r.truncated());
  const std::int64_t grown = resident_bytes() - before;  // with the reader (and its buffer) alive
  EXPECT_LT(grown, 32 << 20) << "reading a " << bytes.size() << "-byte file grew resident memory by " << grown;
  fs::remove(f);
}

}  // namespace
}  // namespace boxcall::replay
