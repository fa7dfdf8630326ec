// boxcall replay / record against the real broker (and the embedded one):
// max speed, paced 10x, the record -> replay round trip bit for bit, and
// live-timing lines that end on the dead-letter topic.
#include <gtest/gtest.h>

#include "base/clock.h"

#include <chrono>
#include <filesystem>

#include "harness.h"
#include "replay/recording.h"
#include "replay/source_publisher.h"
#include "sources/fastf1_reader.h"
#include "sources/livetiming.h"
#include "stream/kafka.h"

namespace boxcall {
namespace {

namespace fs = std::filesystem;
const std::string kRace = std::string(BOXCALL_SHARED_DATA) + "/fastf1/2023_01_bahrain_race";

std::vector<std::unique_ptr<sources::RecordSource>> bahrain() {
  std::vector<std::unique_ptr<sources::RecordSource>> v;
  v.push_back(std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(kRace)));
  return v;
}

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".rec");
}

/// Frames of a recording per topic (in recorded order): key, value and headers.
using Frame = std::tuple<std::optional<std::string>, std::optional<std::string>,
                         std::vector<std::pair<std::string, std::optional<std::string>>>>;
std::vector<std::vector<Frame>> frames_by_topic(const fs::path& file, std::vector<std::string>* names = nullptr) {
  replay::RecordingReader reader(file);
  std::vector<std::vector<Frame>> out;
  replay::RecordedRecord r;
  while (reader.next(r)) {
    if (out.size() < reader.topics().size()) out.resize(reader.topics().size());
    out[r.topic_id].emplace_back(r.key, r.value, r.headers);
  }
  EXPECT_TRUE(reader.complete());
  if (names) *names = reader.topics();
  return out;
}

replay::RecordTopicsStats record_all(const std::string& brokers, const std::vector<std::string>& topics,
                                     const fs::path& file) {
  replay::RecordingWriter writer(file, {true, 1});
  replay::RecordTopicsOptions o;
  o.from_beginning = true;
  o.until_end = true;
  auto stats = replay::record_topics(brokers, topics, writer, o);
  writer.close();
  return stats;
}

TEST(Replay, BahrainAtMaxSpeedThenRecordReplayRecordIsByteIdentical) {
  const auto t1 = itest::fresh_topics("replay-rt1", 2);
  const auto t2 = itest::fresh_topics("replay-rt2", 2);
  const auto published = replay::publish_sources(bahrain(), itest::broker(), t1, {});
  ASSERT_EQ(published.failed, 0U);
  ASSERT_EQ(published.telemetry, 721300U);
  std::printf("replay at max speed (real broker): %llu records in %.2f s = %.0f rec/s\n",
              static_cast<unsigned long long>(published.records()), published.seconds, published.rate());

  const fs::path r1 = temp_file("replay-r1"), r2 = temp_file("replay-r2");
  auto rec1 = record_all(itest::broker(), {t1.telemetry, t1.timing}, r1);
  EXPECT_EQ(rec1.records[t1.telemetry], published.telemetry);
  EXPECT_EQ(rec1.records[t1.timing], published.timing);

  replay::RecordingReader reader(r1);
  replay::PublishOptions po;
  po.topic_map = {{t1.telemetry, t2.telemetry}, {t1.timing, t2.timing}};
  const auto replayed = replay::publish_recording(reader, itest::broker(), t2, po);
  ASSERT_EQ(replayed.failed, 0U);
  EXPECT_EQ(replayed.records(), published.records());
  EXPECT_EQ(replayed.telemetry, published.telemetry);
  auto rec2 = record_all(itest::broker(), {t2.telemetry, t2.timing}, r2);

  std::vector<std::string> n1, n2;
  const auto f1 = frames_by_topic(r1, &n1);
  const auto f2 = frames_by_topic(r2, &n2);
  ASSERT_EQ(n1, (std::vector<std::string>{t1.telemetry, t1.timing}));
  ASSERT_EQ(n2, (std::vector<std::string>{t2.telemetry, t2.timing}));
  ASSERT_EQ(f1.size(), 2U);
  ASSERT_EQ(f2.size(), 2U);
  for (std::size_t t = 0; t < 2; ++t) {
    ASSERT_EQ(f1[t].size(), f2[t].size()) << n1[t];
    std::size_t differing = 0;
    for (std::size_t i = 0; i < f1[t].size(); ++i) differing += f1[t][i] == f2[t][i] ? 0 : 1;
    EXPECT_EQ(differing, 0U) << n1[t];
  }
  fs::remove(r1);
  fs::remove(r2);
}

// Pacing under a manual clock (the publisher waits on the injected clock): the
// run takes exactly event span / speed of that clock, and no record is ever
// published ahead of its time.
TEST(Replay, PacedAtTenTimesRealTime) {
  const auto topics = itest::fresh_topics("replay-10x", 2);
  ManualClock clock;
  replay::PublishOptions po;
  po.speed = 10;
  po.clock = &clock;
  po.from_ns = 3600 * kNsPerSecond;  // a minute of racing, one hour into the session
  po.to_ns = 3660 * kNsPerSecond;
  po.progress_interval = std::chrono::milliseconds(100);
  int ahead = 0, reports = 0;
  po.on_progress = [&](const replay::PublishProgress& p) {
    ++reports;
    if (p.wall_seconds + 1e-9 < ns_to_s(p.event_elapsed_ns) / po.speed) ++ahead;
  };
  const auto stats = replay::publish_sources(bahrain(), itest::broker(), topics, po);
  ASSERT_EQ(stats.failed, 0U);
  ASSERT_GT(stats.telemetry, 3000U);
  const double span = ns_to_s(stats.event_span_ns);
  EXPECT_NEAR(span, 60.0, 1.0);
  EXPECT_NEAR(stats.seconds, span / 10, 1e-6) << "the injected clock paced every record";
  EXPECT_GT(reports, 10);
  EXPECT_EQ(ahead, 0) << "a record was published before its time";
  const auto records = itest::read_topic(topics.telemetry);
  EXPECT_EQ(records.size(), stats.telemetry);
}

TEST(Replay, RecordingPacedByItsTimestamps) {
  // A recording whose timestamps span 2 s of event time, replayed at 1x and 4x.
  const fs::path file = temp_file("replay-paced");
  {
    replay::RecordingWriter w(file);
    replay::RecordedRecord r;
    r.topic_id = w.topic_id("src");
    for (int i = 0; i <= 20; ++i) {
      r.timestamp_ms = 1'700'000'000'000 + i * 100;
      r.key = "k";
      r.value = std::to_string(i);
      w.write(r);
    }
  }
  const auto topics = itest::fresh_topics("replay-rec-paced", 1);
  for (double speed : {1.0, 4.0}) {
    replay::RecordingReader reader(file);
    ManualClock clock;
    replay::PublishOptions po;
    po.speed = speed;
    po.clock = &clock;
    po.topic_map = {{"src", topics.telemetry}};
    const auto stats = replay::publish_recording(reader, itest::broker(), topics, po);
    EXPECT_EQ(stats.records(), 21U);
    // Paced by the recorded timestamps on the injected clock: 2 s of recording.
    EXPECT_NEAR(stats.seconds, 2.0 / speed, 1e-6) << speed;
  }
  fs::remove(file);
}

TEST(Replay, EmbeddedBrokerRoundTrip) {
  stream::MockCluster embedded(1);
  stream::TopicNames t1, t2;
  t2.telemetry = "telemetry2";
  t2.timing = "timing2";
  for (const auto* t : {&t1.telemetry, &t1.timing, &t2.telemetry, &t2.timing}) embedded.create_topic(*t, 2);
  replay::PublishOptions po;
  po.limit = 20000;
  const auto published = replay::publish_sources(bahrain(), embedded.bootstrap(), t1, po);
  ASSERT_EQ(published.failed, 0U);
  ASSERT_EQ(published.records(), 20000U);
  const fs::path r1 = temp_file("replay-e1"), r2 = temp_file("replay-e2");
  auto rec1 = record_all(embedded.bootstrap(), {t1.telemetry, t1.timing}, r1);
  EXPECT_EQ(rec1.records[t1.telemetry] + rec1.records[t1.timing], 20000U);
  replay::RecordingReader reader(r1);
  replay::PublishOptions rp;
  rp.speed = 0;
  rp.topic_map = {{t1.telemetry, t2.telemetry}, {t1.timing, t2.timing}};
  ASSERT_EQ(replay::publish_recording(reader, embedded.bootstrap(), t2, rp).failed, 0U);
  record_all(embedded.bootstrap(), {t2.telemetry, t2.timing}, r2);
  EXPECT_EQ(frames_by_topic(r1), frames_by_topic(r2));
  fs::remove(r1);
  fs::remove(r2);
}

TEST(Replay, LiveTimingRejectsGoToTheDeadLetterTopicWithReasonAndSource) {
  const auto topics = itest::fresh_topics("replay-lt", 1);
  auto src = std::make_unique<sources::LiveTimingSource>(fs::path(BOXCALL_SHARED_DATA) /
                                                         "livetiming/fastf1_reference_data/livedata/with_errors.txt");
  std::vector<replay::DeadLetter> dead;
  const std::string key = src->session_id();
  src->on_reject([&](const sources::RejectedLine& r) {
    dead.push_back({key, r.text, {{"boxcall.reason", std::string(to_string(r.reason))}, {"boxcall.source", r.source}}});
  });
  std::vector<std::unique_ptr<sources::RecordSource>> v;
  v.push_back(std::move(src));
  replay::PublishOptions po;
  po.dead_letters = &dead;
  const auto stats = replay::publish_sources(std::move(v), itest::broker(), topics, po);
  ASSERT_EQ(stats.failed, 0U);
  EXPECT_GT(stats.timing, 0U);
  const auto dl = itest::read_topic(topics.dead_letter);
  ASSERT_EQ(dl.size(), stats.dead_letter);
  ASSERT_GT(dl.size(), 20U);
  for (const auto& r : dl) {
    EXPECT_EQ(r.key, "with_errors");
    EXPECT_TRUE(r.headers.contains("boxcall.reason"));
    EXPECT_TRUE(r.headers.at("boxcall.source").starts_with("with_errors.txt:"));
  }
  EXPECT_EQ(std::string(dl.front().value.begin(), dl.front().value.end()), "['CarData.z', ]");
}

}  // namespace
}  // namespace boxcall
