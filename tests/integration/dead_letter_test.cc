// Malformed, out-of-range, misrouted and late records go to the dead-letter
// topic untouched, with the reason and their source position in headers.
#include <gtest/gtest.h>

#include <future>

#include "boxcall/schema/boxcall_generated.h"
#include "harness.h"
#include "stream/codec.h"
#include "stream/runner.h"

namespace boxcall {
namespace {

constexpr TimeNs kT0 = 1'700'000'000LL * kNsPerSecond;
const std::string kSession = "dlq-session";

std::vector<std::uint8_t> bytes(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }
std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TelemetrySample sample(TimeNs t, float speed = 250) {
  TelemetrySample s;
  s.car = 16;
  s.driver = DriverCode("LEC");
  s.event_time_ns = kT0 + t;
  s.session_time_ns = t;
  s.speed_kph = speed;
  s.rpm = 11000;
  s.gear = 7;
  s.throttle = 100;
  return s;
}

TEST(DeadLetterThroughKafka, EveryBadRecordArrivesWithItsReasonAndSource) {
  const auto topics = itest::fresh_topics("dlq", 1);
  stream::Codec codec;
  // Phase 1: good records move the session watermark to t0 + 100 s.
  std::size_t good = 0;
  for (int i = 1; i <= 100; ++i) {
    itest::produce(topics.telemetry, kSession, bytes(codec.encode(kSession, Input(sample(i * kNsPerSecond)))));
    ++good;
  }
  TimingEvent status;
  status.event_time_ns = kT0 + 100 * kNsPerSecond;
  status.session_time_ns = 100 * kNsPerSecond;
  status.body = TrackStatusChange{TrackStatus::Green, "AllClear"};
  itest::produce(topics.timing, kSession, bytes(codec.encode(kSession, Input(status))));
  ++good;

  auto config = itest::test_config(topics);
  stream::StreamMetrics metrics;
  itest::Job runner(config, metrics);
  std::atomic<bool> done{false};
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(3);
  options.should_stop = [&] { return done.load(); };
  auto run = std::async(std::launch::async, [&] { return runner.run(options); });
  ASSERT_TRUE(
      itest::wait_for([&] { return metrics.applied_count() >= static_cast<double>(good); }, std::chrono::seconds(60)))
      << "the good records were not applied";

  // Phase 2: one record per reason.
  struct Bad {
    std::string topic;
    std::optional<std::string> key;
    std::vector<std::uint8_t> value;
    std::string reason;
    itest::Position at;
  };
  flatbuffers::FlatBufferBuilder v2;
  {
    auto s = v2.CreateString(kSession);
    auto m = wire::CreateCarSample(v2, s, 16);
    wire::FinishEnvelopeBuffer(v2, wire::CreateEnvelope(v2, 2, wire::Payload::CarSample, m.Union()));
  }
  LapFeatures not_an_input;
  not_an_input.car = 16;
  std::vector<Bad> bad = {
      {topics.telemetry, kSession, bytes("\x01\x02garbage that is not a record"), "malformed_flatbuffer", {}},
      {topics.telemetry,
       kSession,
       bytes(R"({"payload_type": "CarSample", "payload": {"session": "x")"),
       "malformed_json",
       {}},
      {topics.telemetry,
       kSession,
       bytes(std::span<const std::uint8_t>(v2.GetBufferPointer(), v2.GetSize())),
       "wrong_schema_version",
       {}},
      {topics.telemetry,
       kSession,
       bytes(codec.encode(kSession, Input(sample(101 * kNsPerSecond, 512)))),
       "out_of_range",
       {}},
      {topics.telemetry, kSession, bytes(codec.encode(kSession, Output(not_an_input))), "unknown_message_type", {}},
      {topics.timing, kSession, bytes(codec.encode(kSession, Input(sample(102 * kNsPerSecond)))), "wrong_topic", {}},
      {topics.telemetry,
       std::nullopt,
       bytes(codec.encode(kSession, Input(sample(103 * kNsPerSecond)))),
       "missing_key",
       {}},
      {topics.telemetry,
       std::string("other-session"),
       bytes(codec.encode(kSession, Input(sample(104 * kNsPerSecond)))),
       "key_mismatch",
       {}},
      {topics.telemetry, kSession, bytes(codec.encode(kSession, Input(sample(80 * kNsPerSecond)))), "late", {}},
  };
  for (auto& b : bad) b.at = itest::produce(b.topic, b.key, b.value);
  // A valid JSON record is accepted, not dead-lettered.
  auto json = codec.to_json(std::as_bytes(codec.encode(kSession, Input(sample(105 * kNsPerSecond)))));
  ASSERT_TRUE(json.ok());
  itest::produce(topics.telemetry, kSession, bytes(std::string_view(json.value())));
  ++good;

  ASSERT_TRUE(itest::wait_for(
      [&] {
        return metrics.applied_count() >= static_cast<double>(good) &&
               metrics.dead_letter_total() >= static_cast<double>(bad.size());
      },
      std::chrono::seconds(60)));
  done = true;
  ASSERT_EQ(run.get(), 0);

  auto dead = itest::read_topic(topics.dead_letter);
  ASSERT_EQ(dead.size(), bad.size());
  for (const auto& b : bad) {
    const std::string source_topic = b.topic;
    auto it = std::find_if(dead.begin(), dead.end(), [&](const itest::Record& r) {
      return r.headers.at("boxcall.source.topic") == source_topic &&
             r.headers.at("boxcall.source.offset") == std::to_string(b.at.offset) &&
             r.headers.at("boxcall.source.partition") == std::to_string(b.at.partition);
    });
    ASSERT_NE(it, dead.end()) << "no dead letter for the " << b.reason << " record";
    EXPECT_EQ(it->headers.at("boxcall.reason"), b.reason);
    EXPECT_FALSE(it->headers.at("boxcall.detail").empty());
    EXPECT_EQ(it->value, b.value) << b.reason << ": the payload must be forwarded untouched";
    EXPECT_EQ(it->key, b.key.value_or("")) << b.reason;
  }
  EXPECT_EQ(
      metrics.applied_count() + metrics.dead_letter_total() + metrics.duplicate_count(),
      metrics.records_in_count(stream::InputTopic::Telemetry) + metrics.records_in_count(stream::InputTopic::Timing));
}

}  // namespace
}  // namespace boxcall
