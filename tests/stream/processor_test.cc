#include "stream/processor.h"

#include <gtest/gtest.h>

#include "boxcall/schema/boxcall_generated.h"

namespace boxcall::stream {
namespace {

constexpr TimeNs kT0 = 1'700'000'000LL * kNsPerSecond;  // 2023-11-14
const std::string kSession = "test-session";

/// Collects what the processor publishes; "acknowledges" by dropping pins.
class MemoryPublisher final : public Publisher {
 public:
  struct Out {
    OutputTopic topic;
    std::string key;
    std::vector<std::uint8_t> value;
    std::shared_ptr<Pin> pin;
    std::string reason;
    std::int64_t source_offset = -1;
  };
  void publish(OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value, std::shared_ptr<Pin> pin,
               std::int64_t) override {
    outs.push_back({topic, std::string(key), {value.begin(), value.end()}, std::move(pin), "", -1});
  }
  void dead_letter(const RecordRef& rec, const Error& error, std::shared_ptr<Pin> pin) override {
    const auto* b = reinterpret_cast<const std::uint8_t*>(rec.value.data());
    outs.push_back({OutputTopic::DeadLetter,
                    std::string(reinterpret_cast<const char*>(rec.key.data()), rec.key.size()),
                    {b, b + rec.value.size()},
                    std::move(pin),
                    std::string(to_string(error.reason)),
                    rec.offset});
  }
  void ack_all() {
    for (auto& o : outs) o.pin.reset();
  }
  [[nodiscard]] std::vector<const Out*> of(OutputTopic t) const {
    std::vector<const Out*> r;
    for (const auto& o : outs) {
      if (o.topic == t) r.push_back(&o);
    }
    return r;
  }
  std::vector<Out> outs;
};

class ProcessorTest : public ::testing::Test {
 protected:
  ProcessorTest() {
    config_.features.snapshot_period = std::chrono::nanoseconds(0);
    config_.input_idle = std::chrono::milliseconds(0);  // EOF alone makes an input idle; see InputIdle* tests
    processor_ = std::make_unique<Processor>(config_, publisher_, metrics_, clock_);
    processor_->assign(InputTopic::Telemetry, 0);
    processor_->assign(InputTopic::Timing, 0);
  }

  static TelemetrySample sample(std::uint16_t car, TimeNs t, float speed = 200) {
    TelemetrySample s;
    s.car = car;
    s.driver = DriverCode(car == 1 ? "VER" : "HAM");
    s.event_time_ns = kT0 + t;
    s.session_time_ns = t;
    s.speed_kph = speed;
    s.rpm = 10000;
    s.gear = 6;
    s.throttle = 80;
    return s;
  }
  static TimingEvent timing(std::uint16_t car, TimeNs t, TimingBody body) {
    TimingEvent e;
    e.car = car;
    e.driver = DriverCode(car == 1 ? "VER" : car == 0 ? "" : "HAM");
    e.event_time_ns = kT0 + t;
    e.session_time_ns = t;
    e.body = std::move(body);
    return e;
  }

  void feed(InputTopic topic, std::span<const std::uint8_t> value, std::string_view key = kSession) {
    std::vector<std::uint8_t> copy(value.begin(), value.end());
    RecordRef r{topic,
                0,
                next_offset_[static_cast<std::size_t>(topic)]++,
                as_bytes(key),
                as_bytes(std::span<const std::uint8_t>(copy)),
                -1};
    processor_->process(r);
    // A live consumer reads each record's partition to its end right after it.
    if (live_) processor_->partition_eof(topic, 0);
  }
  void feed(const Input& in, std::string_view key = kSession) {
    auto topic = std::holds_alternative<TelemetrySample>(in) ? InputTopic::Telemetry : InputTopic::Timing;
    feed(topic, codec_.encode(kSession, in), key);
  }
  void feed_raw(InputTopic topic, std::string_view text, std::string_view key = kSession) {
    feed(topic, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), key);
  }
  /// Both partitions read to the end, and from now on after every record: the consumer is live.
  void eof_all() {
    live_ = true;
    processor_->partition_eof(InputTopic::Telemetry, 0);
    processor_->partition_eof(InputTopic::Timing, 0);
  }
  std::vector<std::string> dead_letter_reasons() const {
    std::vector<std::string> r;
    for (const auto* o : publisher_.of(OutputTopic::DeadLetter)) r.push_back(o->reason);
    return r;
  }
  std::vector<LapFeatures> lap_features() {
    std::vector<LapFeatures> laps;
    for (const auto* o : publisher_.of(OutputTopic::Features)) {
      const auto* env = wire::GetEnvelope(o->value.data());
      if (const auto* f = env->payload_as_LapFeatures()) {
        LapFeatures l;
        l.car = f->car_number();
        l.lap = f->lap();
        l.samples = f->samples();
        laps.push_back(l);
      }
    }
    return laps;
  }

  ProcessorConfig config_;
  MemoryPublisher publisher_;
  StreamMetrics metrics_;
  ManualClock clock_;
  Codec codec_;
  std::unique_ptr<Processor> processor_;
  std::array<std::int64_t, 2> next_offset_{0, 0};
  bool live_ = false;
};

TEST_F(ProcessorTest, EveryBadRecordLandsInTheDeadLetterTopicWithItsReason) {
  eof_all();
  feed_raw(InputTopic::Telemetry, "not a record at all");
  feed_raw(InputTopic::Telemetry, "{\"payload_type\": \"CarSample\", \"payload\": {\"session\": ");
  auto too_fast = sample(1, 1 * kNsPerSecond, 512);
  feed(too_fast);
  feed(Input(timing(1, 2 * kNsPerSecond, PitIn{})), kSession);                                         // fine
  feed(InputTopic::Telemetry, codec_.encode(kSession, Input(timing(1, 3 * kNsPerSecond, PitOut{}))));  // wrong topic
  feed(Input(sample(1, 4 * kNsPerSecond)), "");                                                        // no key
  feed(Input(sample(1, 5 * kNsPerSecond)), "another-session");                                         // key mismatch
  LapFeatures not_input;
  feed(InputTopic::Telemetry, codec_.encode(kSession, Output(not_input)));

  EXPECT_EQ(dead_letter_reasons(),
            (std::vector<std::string>{"malformed_flatbuffer", "malformed_json", "out_of_range", "wrong_topic",
                                      "missing_key", "key_mismatch", "unknown_message_type"}));
  // Dead letters carry the input untouched.
  auto dl = publisher_.of(OutputTopic::DeadLetter);
  EXPECT_EQ(std::string(dl[0]->value.begin(), dl[0]->value.end()), "not a record at all");
  EXPECT_EQ(dl[0]->source_offset, 0);
  EXPECT_EQ(metrics_.dead_letter_count(Reason::OutOfRange), 1);
}

TEST_F(ProcessorTest, DuplicatesAreDroppedAndCounted) {
  eof_all();
  feed(Input(sample(1, 1 * kNsPerSecond)));
  feed(Input(sample(1, 1 * kNsPerSecond)));   // same car, same event time
  feed(Input(sample(44, 1 * kNsPerSecond)));  // another car at the same time is not a duplicate
  EXPECT_EQ(metrics_.duplicate_count(), 1);
  EXPECT_TRUE(dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, LateRecordsBeyondTheAllowedLatenessAreDeadLettered) {
  eof_all();
  feed(Input(sample(1, 100 * kNsPerSecond)));
  feed(Input(sample(1, 99 * kNsPerSecond)));  // 1 s behind its own car: within the 5 s allowed lateness
  feed(Input(sample(1, 90 * kNsPerSecond)));  // 10 s behind: late
  EXPECT_EQ(metrics_.late_accepted_count(), 1);
  EXPECT_EQ(dead_letter_reasons(), (std::vector<std::string>{"late"}));
  // A car whose feed lags the session is still in order for its own state.
  feed(Input(sample(44, 90 * kNsPerSecond)));
  EXPECT_EQ(dead_letter_reasons().size(), 1U);
  EXPECT_EQ(metrics_.applied_count(), 3);
}

TEST_F(ProcessorTest, TimeGoingBackwardsForACarIsDeadLettered) {
  eof_all();
  auto a = sample(1, 10 * kNsPerSecond);
  auto b = sample(1, 11 * kNsPerSecond);
  b.session_time_ns = a.session_time_ns - kNsPerSecond;  // clocks disagree
  feed(Input(a));
  feed(Input(b));
  EXPECT_EQ(dead_letter_reasons(), (std::vector<std::string>{"time_went_backwards"}));
}

TEST_F(ProcessorTest, WatermarkWaitsForTheSlowerInputBeforeClosingALap) {
  // Neither partition is at its end: the session's watermark is the minimum of
  // both inputs, so a lap completion read early waits for the telemetry.
  const TimeNs start = 10 * kNsPerSecond;
  feed(Input(timing(0, start, SessionInfo{57, "Started", "test"})));
  LapCompleted lap;
  lap.lap = 1;
  lap.lap_time_s = 10.0;
  lap.lap_start_session_ns = start;
  lap.track_status = "1";
  feed(Input(timing(1, start + 10 * kNsPerSecond, lap)));
  EXPECT_TRUE(lap_features().empty()) << "the lap must not close before its telemetry arrived";
  for (int i = 0; i < 10; ++i) feed(Input(sample(1, start + i * kNsPerSecond + 1)));
  feed(Input(sample(1, start + 10 * kNsPerSecond + 500'000'000)));  // telemetry passes the lap end
  auto laps = lap_features();
  ASSERT_EQ(laps.size(), 1U);
  EXPECT_EQ(laps[0].lap, 1);
  EXPECT_EQ(laps[0].samples, 10);
  EXPECT_TRUE(dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, ALapEndReadBeforeItsLastSamplesStillCountsThem) {
  // Both inputs are caught up (EOF): records apply on arrival. The timing
  // partition delivers car 1's lap end before the telemetry partition delivers
  // the lap's last samples; the lap must wait for them.
  eof_all();
  const TimeNs start = 10 * kNsPerSecond;
  feed(Input(timing(0, start, SessionInfo{57, "Started", "test"})));
  for (int i = 0; i < 8; ++i) feed(Input(sample(1, start + i * kNsPerSecond + 1)));
  LapCompleted lap;
  lap.lap = 1;
  lap.lap_time_s = 10.0;
  lap.lap_start_session_ns = start;
  lap.track_status = "1";
  feed(Input(timing(1, start + 10 * kNsPerSecond, lap)));
  feed(Input(sample(44, start + 10 * kNsPerSecond + 100)));  // another car moves on
  EXPECT_TRUE(lap_features().empty());
  feed(Input(sample(1, start + 8 * kNsPerSecond + 1)));  // car 1's last two samples of lap 1
  feed(Input(sample(1, start + 9 * kNsPerSecond + 1)));
  EXPECT_TRUE(lap_features().empty());
  feed(Input(sample(1, start + 10 * kNsPerSecond + 2)));  // car 1 is past its lap end
  auto laps = lap_features();
  ASSERT_EQ(laps.size(), 1U);
  EXPECT_EQ(laps[0].samples, 10);
  EXPECT_TRUE(dead_letter_reasons().empty());
  EXPECT_EQ(metrics_.late_accepted_count(), 0);
}

TEST_F(ProcessorTest, ALapEndOfACarWithoutTelemetryWaitsOnlyTheGrace) {
  eof_all();
  const TimeNs start = 10 * kNsPerSecond;
  feed(Input(timing(0, start, SessionInfo{57, "Started", "test"})));
  feed(Input(sample(44, start + 1)));  // the session has telemetry (a session without any is not held)
  LapCompleted lap;
  lap.lap = 1;
  lap.lap_time_s = 10.0;
  lap.lap_start_session_ns = start;
  feed(Input(timing(1, start + 10 * kNsPerSecond, lap)));  // car 1 never sends telemetry
  feed(Input(sample(44, start + 10 * kNsPerSecond + 500'000'000)));
  EXPECT_TRUE(lap_features().empty());
  feed(Input(sample(44, start + 11 * kNsPerSecond + 1)));  // the session is a grace past the lap end
  EXPECT_EQ(lap_features().size(), 1U);
}

TEST_F(ProcessorTest, PreRaceSamplesReadAfterTheStartAreNotLate) {
  eof_all();
  const TimeNs start = 10 * kNsPerSecond;
  feed(Input(timing(0, start, SessionInfo{57, "Started", "test"})));  // the timing partition is ahead
  feed(Input(sample(1, start - 2 * kNsPerSecond)));                   // grid samples, read later
  feed(Input(sample(1, start - kNsPerSecond)));
  feed(Input(sample(1, start + 1)));
  EXPECT_TRUE(dead_letter_reasons().empty());
  EXPECT_EQ(metrics_.applied_count(), 4);
}

TEST_F(ProcessorTest, InputIdleHoldsTelemetryUntilTheTimingInputHasBeenQuiet) {
  // A producer wrote both topics, but the timing batch is still in flight: the
  // timing partition reads as ended, yet the session's timing may come.
  processor_ = std::make_unique<Processor>(
      [&] {
        auto c = config_;
        c.input_idle = std::chrono::milliseconds(100);
        return c;
      }(),
      publisher_, metrics_, clock_);
  processor_->assign(InputTopic::Telemetry, 0);
  processor_->assign(InputTopic::Timing, 0);
  eof_all();
  const TimeNs start = 10 * kNsPerSecond;
  feed(Input(sample(1, start + 1)));
  feed(Input(sample(1, start + 2 * kNsPerSecond)));
  EXPECT_EQ(processor_->buffered_records(), 2U) << "timing has not been quiet for 100 ms yet";
  feed(Input(timing(0, start, SessionInfo{57, "Started", "test"})));  // the late batch arrives, in order
  EXPECT_EQ(processor_->buffered_records(), 2U);
  clock_.advance(std::chrono::milliseconds(100));
  processor_->tick();
  EXPECT_EQ(processor_->buffered_records(), 0U);
  EXPECT_TRUE(dead_letter_reasons().empty());
  EXPECT_EQ(metrics_.applied_count(), 3);
}

TEST_F(ProcessorTest, AnEmptyPartitionReadToItsEndCountsAsCaughtUp) {
  // Partition 1 of each topic never had a record: its fetched high watermark is
  // 0 and its EOF is at 0. The consumer is live, so a quiet timing input stops
  // holding telemetry back after input_idle.
  auto c = config_;
  c.input_idle = std::chrono::milliseconds(100);
  processor_ = std::make_unique<Processor>(c, publisher_, metrics_, clock_);
  for (auto t : {InputTopic::Telemetry, InputTopic::Timing}) {
    processor_->assign(t, 0);
    processor_->assign(t, 1);
    processor_->high_watermark(t, 1, 0);
    processor_->partition_eof(t, 1, 0);
  }
  eof_all();
  feed(Input(sample(1, 1 * kNsPerSecond)));
  clock_.advance(std::chrono::milliseconds(100));
  processor_->tick();
  EXPECT_EQ(processor_->buffered_records(), 0U);
}

TEST_F(ProcessorTest, AllBuffersTogetherStayWithinTheirBound) {
  auto c = config_;
  c.max_buffered_records = 50;
  processor_ = std::make_unique<Processor>(c, publisher_, metrics_, clock_);
  processor_->assign(InputTopic::Telemetry, 0);
  processor_->assign(InputTopic::Timing, 0);
  // Catching up (no EOF): without timing the session's telemetry would be held.
  for (int i = 1; i <= 200; ++i) feed(Input(sample(1, i * 100'000'000LL)));
  EXPECT_LE(processor_->buffered_records(), 51U);
  EXPECT_TRUE(dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, IdleTimeoutReleasesABufferedSession) {
  feed(Input(sample(1, 1 * kNsPerSecond)));
  feed(Input(sample(1, 2 * kNsPerSecond)));
  EXPECT_EQ(processor_->buffered_records(), 2U);  // timing input still has unread records
  clock_.advance(config_.idle_timeout + std::chrono::milliseconds(1));
  processor_->tick();
  EXPECT_EQ(processor_->buffered_records(), 0U);
}

TEST_F(ProcessorTest, CommitsOnlyPastAcknowledgedOutputsAndEndedSessions) {
  eof_all();
  feed_raw(InputTopic::Telemetry, "garbage");  // offset 0: dead letter, not yet acknowledged
  feed(Input(sample(1, 1 * kNsPerSecond)));    // offset 1: opens the session (pinned)
  feed(Input(sample(1, 2 * kNsPerSecond)));    // offset 2
  auto positions = processor_->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 0) << "the unacknowledged dead letter pins offset 0";
  publisher_.ack_all();
  positions = processor_->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 1) << "the live session pins its first offset";
  // The session ends: after the idle timeout it is evicted and nothing is pinned.
  feed(Input(timing(0, 3 * kNsPerSecond, SessionInfo{std::nullopt, "Finished", ""})));
  clock_.advance(config_.idle_timeout + std::chrono::milliseconds(1));
  processor_->tick();
  publisher_.ack_all();
  EXPECT_EQ(processor_->session_count(), 0U);
  positions = processor_->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 3);
  EXPECT_EQ(positions.at({InputTopic::Timing, 0}), 1);
}

}  // namespace
}  // namespace boxcall::stream

// ------------------------------------------------------------------ strategy wiring

#include "../infer/fake_predictor.h"

namespace boxcall::stream {
namespace {

TEST_F(ProcessorTest, LapFeaturesAlsoDriveTheStrategyWhosePredictionsAndAlertsGoToTheirTopics) {
  auto model = std::make_shared<infer::testing::FakePredictor>();
  MemoryPublisher publisher;
  Processor processor(config_, publisher, metrics_, clock_,
                      [model]() -> std::shared_ptr<const infer::Predictor> { return model; });
  processor.assign(InputTopic::Telemetry, 0);
  processor.assign(InputTopic::Timing, 0);
  processor.partition_eof(InputTopic::Telemetry, 0);
  processor.partition_eof(InputTopic::Timing, 0);
  std::array<std::int64_t, 2> offsets{0, 0};
  auto feed_to = [&](const Input& in) {
    auto topic = std::holds_alternative<TelemetrySample>(in) ? InputTopic::Telemetry : InputTopic::Timing;
    auto bytes = codec_.encode(kSession, in);
    std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
    processor.process(RecordRef{topic, 0, offsets[static_cast<std::size_t>(topic)]++, as_bytes(kSession),
                                as_bytes(std::span<const std::uint8_t>(copy)), -1});
  };
  const TimeNs start = 10 * kNsPerSecond;
  feed_to(Input(timing(0, start, SessionInfo{57, "Started", "test"})));
  for (int i = 0; i < 10; ++i) feed_to(Input(sample(1, start + i * kNsPerSecond + 1)));
  LapCompleted lap;
  lap.lap = 1;
  lap.lap_time_s = 10.0;
  lap.lap_start_session_ns = start;
  lap.compound = Compound::Soft;
  lap.tyre_life = 1;
  lap.stint = 1;
  lap.track_status = "1";
  feed_to(Input(timing(1, start + 10 * kNsPerSecond, lap)));
  feed_to(Input(sample(1, start + 10 * kNsPerSecond + 500'000'000)));

  ASSERT_EQ(publisher.of(OutputTopic::Features).size(), 1U);
  auto predictions = publisher.of(OutputTopic::Predictions);
  ASSERT_EQ(predictions.size(), 1U);
  const auto* p = wire::GetEnvelope(predictions[0]->value.data())->payload_as_StrategyPrediction();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->lap(), 1);
  EXPECT_EQ(predictions[0]->key, kSession);

  // The feed stops (processing time): one critical feed-stall alert on the alerts topic
  // (the idle flush at 2 s releases the last buffered sample: 5 s of stall from there).
  for (int i = 0; i < 80; ++i) {
    clock_.advance(std::chrono::milliseconds(100));
    processor.tick();
  }
  // (The fixture's samples repeat the very same values at 200 km/h: a stuck sensor too.)
  std::vector<std::string> kinds;
  for (const auto* o : publisher.of(OutputTopic::Alerts)) {
    const auto* a = wire::GetEnvelope(o->value.data())->payload_as_Alert();
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(a->active());
    kinds.push_back(a->kind()->str());
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"stuck_sensor", "feed_stall"}));
}

}  // namespace
}  // namespace boxcall::stream
