#include "stream/processor.h"

#include <gtest/gtest.h>

#include "../infer/fake_predictor.h"
#include "boxcall/schema/boxcall_generated.h"
#include "infer/pipeline.h"
#include "support/records.h"
#include "support/stream_harness.h"

namespace boxcall::stream {
namespace {
using test::kSecond;
using test::lap_completed;
using test::sample;
using test::session_status;
using test::timing;
using Strings = std::vector<std::string>;

class ProcessorTest : public ::testing::Test {
 protected:
  void rebuild(ProcessorConfig c) { h_ = std::make_unique<test::ProcessorHarness>(std::move(c)); }
  test::ProcessorHarness& h() { return *h_; }
  std::unique_ptr<test::ProcessorHarness> h_ = std::make_unique<test::ProcessorHarness>();
};

TEST_F(ProcessorTest, EveryBadRecordLandsInTheDeadLetterTopicWithItsReason) {
  h().eof_all();
  h().feed_text(InputTopic::Telemetry, "not a record at all");
  h().feed_text(InputTopic::Telemetry, "{\"payload_type\": \"CarSample\", \"payload\": {\"session\": ");
  h().feed(Input(sample(1, 1 * kSecond, 512)));
  h().feed(Input(timing(1, 2 * kSecond, PitIn{})));  // fine
  h().feed_bytes(InputTopic::Telemetry,
                 h().codec.encode(test::ProcessorHarness::kSession, Input(timing(1, 3 * kSecond, PitOut{}))));
  h().feed(Input(sample(1, 4 * kSecond)), "");                 // no key
  h().feed(Input(sample(1, 5 * kSecond)), "another-session");  // key mismatch
  LapFeatures not_input;
  h().feed_bytes(InputTopic::Telemetry, h().codec.encode(test::ProcessorHarness::kSession, Output(not_input)));

  EXPECT_EQ(h().dead_letter_reasons(), (Strings{"malformed_flatbuffer", "malformed_json", "out_of_range", "wrong_topic",
                                                "missing_key", "key_mismatch", "unknown_message_type"}));
  // Dead letters carry the input untouched.
  auto dl = h().publisher.of(OutputTopic::DeadLetter);
  EXPECT_EQ(std::string(dl[0]->value.begin(), dl[0]->value.end()), "not a record at all");
  EXPECT_EQ(dl[0]->source_offset, 0);
  EXPECT_EQ(h().metrics.dead_letter_count(Reason::OutOfRange), 1);
}

// Issue 8, defect 1: a union whose type is set but whose value is absent was
// dereferenced (SIGSEGV, then a crash loop on restart).
TEST_F(ProcessorTest, AnEnvelopeWhoseUnionHasNoValueIsADeadLetterNotACrash) {
  h().eof_all();
  h().feed_text(InputTopic::Telemetry, R"({"schema_version": 1, "payload_type": "CarSample"})");
  for (const char* body : {"LapCompleted", "Weather", "TrackStatusChange", "RaceControlMessage", "SessionInfo"}) {
    h().feed_text(InputTopic::Timing,
                  std::string(R"({"schema_version": 1, "payload_type": "TimingEvent", "payload": {"session": ")") +
                      test::ProcessorHarness::kSession +
                      R"(", "car_number": 1, "event_time_ns": 1700000000000000000, "body_type": ")" + body + "\"}}");
  }
  h().feed_text(InputTopic::Timing, R"({"schema_version": 1, "payload_type": "TimingEvent"})");
  EXPECT_EQ(h().dead_letter_reasons(), Strings(7, "missing_field"));
  EXPECT_NE(h().publisher.of(OutputTopic::DeadLetter)[0]->detail.find("CarSample"), std::string::npos);
}

TEST_F(ProcessorTest, AValidJsonRecordFollowedByANulByteAndGarbageIsRejected) {
  h().eof_all();
  const std::string good = R"({"schema_version": 1, "payload_type": "TimingEvent", "payload": {"session": ")" +
                           test::ProcessorHarness::kSession +
                           R"(", "car_number": 1, "event_time_ns": 1700000001000000000, "body_type": "PitIn",
                           "body": {}}})";
  h().feed_text(InputTopic::Timing, good + std::string(1, '\0') + "garbage");
  h().feed_text(InputTopic::Timing, good);
  EXPECT_EQ(h().dead_letter_reasons(), Strings{"malformed_json"});
  EXPECT_EQ(h().metrics.applied_count(), 1);
}

TEST_F(ProcessorTest, DuplicatesAreDroppedAndCounted) {
  h().eof_all();
  h().feed(Input(sample(1, 1 * kSecond)));
  h().feed(Input(sample(1, 1 * kSecond)));   // same car, same event time
  h().feed(Input(sample(44, 1 * kSecond)));  // another car at the same time is not a duplicate
  EXPECT_EQ(h().metrics.duplicate_count(), 1);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, LateRecordsBeyondTheAllowedLatenessAreDeadLettered) {
  h().eof_all();
  h().feed(Input(sample(1, 100 * kSecond)));
  h().feed(Input(sample(1, 99 * kSecond)));  // 1 s behind its own car: within the 5 s allowed lateness
  h().feed(Input(sample(1, 90 * kSecond)));  // 10 s behind: late
  EXPECT_EQ(h().metrics.late_accepted_count(), 1);
  EXPECT_EQ(h().dead_letter_reasons(), Strings{"late"});
  // A car whose feed lags the session is still in order for its own state.
  h().feed(Input(sample(44, 90 * kSecond)));
  EXPECT_EQ(h().dead_letter_reasons().size(), 1U);
  EXPECT_EQ(h().metrics.applied_count(), 3);
}

TEST_F(ProcessorTest, TimeGoingBackwardsForACarIsDeadLettered) {
  h().eof_all();
  auto a = sample(1, 10 * kSecond);
  auto b = sample(1, 11 * kSecond);
  b.session_time_ns = a.session_time_ns - kSecond;  // clocks disagree
  h().feed(Input(a));
  h().feed(Input(b));
  EXPECT_EQ(h().dead_letter_reasons(), Strings{"time_went_backwards"});
}

// Issue 8, defect 2: one sample in 2099 made 8,786 of the following 8,803
// records of its session late dead letters.
TEST_F(ProcessorTest, OneTimestampFarInTheFutureChangesNothing) {
  h().eof_all();
  for (int i = 0; i < 10; ++i) h().feed(Input(sample(1, i * kSecond)));
  auto wild = sample(1, 10 * kSecond);
  wild.event_time_ns = 4'070'908'800LL * kSecond;  // 2099-01-01
  h().feed(Input(wild));
  auto near_future = sample(44, 10 * kSecond);
  near_future.event_time_ns = test::kT0 + 3 * 3600 * kSecond;  // 3 h ahead of the session (and in the past)
  h().feed(Input(near_future));
  for (int i = 10; i < 100; ++i) h().feed(Input(sample(1, i * kSecond + 1)));
  EXPECT_EQ(h().dead_letter_reasons(), (Strings{"event_time_out_of_range", "event_time_out_of_range"}));
  EXPECT_EQ(h().metrics.applied_count(), 100);
  EXPECT_EQ(h().metrics.late_accepted_count(), 0);
  const auto& dl = h().publisher.of(OutputTopic::DeadLetter);
  EXPECT_NE(dl[0]->detail.find("ahead of this machine's clock"), std::string::npos) << dl[0]->detail;
  EXPECT_NE(dl[1]->detail.find("did not follow it"), std::string::npos) << dl[1]->detail;
}

TEST_F(ProcessorTest, AJumpAheadConfirmedByTheNextRecordMovesTheSessionOn) {
  // A real gap (a long red flag with the feed off): both inputs jump 2 h.
  h().eof_all();
  for (int i = 0; i < 5; ++i) h().feed(Input(sample(1, i * kSecond)));
  const TimeNs gap = 2 * 3600 * kSecond;
  for (int i = 0; i < 5; ++i) h().feed(Input(sample(1, gap + i * kSecond)));
  h().feed(Input(session_status(gap + 10 * kSecond, "Finished")));
  EXPECT_TRUE(h().dead_letter_reasons().empty());
  EXPECT_EQ(h().metrics.applied_count(), 11);
}

TEST_F(ProcessorTest, AnUnconfirmedJumpAtTheEndOfASessionIsDeadLetteredWhenItGoesIdle) {
  h().eof_all();
  h().feed(Input(sample(1, 1 * kSecond)));
  h().feed(Input(sample(1, 5 * 3600 * kSecond)));
  EXPECT_TRUE(h().dead_letter_reasons().empty()) << "held aside, waiting for the next record";
  h().advance(h().config.idle_timeout);
  EXPECT_EQ(h().dead_letter_reasons(), Strings{"event_time_out_of_range"});
}

TEST_F(ProcessorTest, WatermarkWaitsForTheSlowerInputBeforeClosingALap) {
  // Neither partition is at its end: the session's watermark is the minimum of
  // both inputs, so a lap completion read early waits for the telemetry.
  const TimeNs start = 10 * kSecond;
  h().feed(Input(session_status(start, "Started")));
  h().feed(Input(lap_completed(1, 1, start, start + 10 * kSecond)));
  EXPECT_TRUE(h().lap_features().empty()) << "the lap must not close before its telemetry arrived";
  for (int i = 0; i < 10; ++i) h().feed(Input(sample(1, start + i * kSecond + 1)));
  h().feed(Input(sample(1, start + 10 * kSecond + 500'000'000)));  // telemetry passes the lap end
  auto laps = h().lap_features();
  ASSERT_EQ(laps.size(), 1U);
  EXPECT_EQ(laps[0].lap, 1);
  EXPECT_EQ(laps[0].samples, 10);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, ALapEndReadBeforeItsLastSamplesStillCountsThem) {
  // Both inputs are caught up (EOF): records apply on arrival. The timing
  // partition delivers car 1's lap end before the telemetry partition delivers
  // the lap's last samples; the lap must wait for them.
  h().eof_all();
  const TimeNs start = 10 * kSecond;
  h().feed(Input(session_status(start, "Started")));
  for (int i = 0; i < 8; ++i) h().feed(Input(sample(1, start + i * kSecond + 1)));
  h().feed(Input(lap_completed(1, 1, start, start + 10 * kSecond)));
  h().feed(Input(sample(44, start + 10 * kSecond + 100)));  // another car moves on
  EXPECT_TRUE(h().lap_features().empty());
  h().feed(Input(sample(1, start + 8 * kSecond + 1)));  // car 1's last two samples of lap 1
  h().feed(Input(sample(1, start + 9 * kSecond + 1)));
  EXPECT_TRUE(h().lap_features().empty());
  h().feed(Input(sample(1, start + 10 * kSecond + 2)));  // car 1 is past its lap end
  auto laps = h().lap_features();
  ASSERT_EQ(laps.size(), 1U);
  EXPECT_EQ(laps[0].samples, 10);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
  EXPECT_EQ(h().metrics.late_accepted_count(), 0);
}

TEST_F(ProcessorTest, ALapEndOfACarWithoutTelemetryWaitsOnlyTheGrace) {
  h().eof_all();
  const TimeNs start = 10 * kSecond;
  h().feed(Input(session_status(start, "Started")));
  h().feed(Input(sample(44, start + 1)));  // the session has telemetry (a session without any is not held)
  h().feed(Input(lap_completed(1, 1, start, start + 10 * kSecond)));  // car 1 never sends telemetry
  h().feed(Input(sample(44, start + 10 * kSecond + 500'000'000)));
  EXPECT_TRUE(h().lap_features().empty());
  h().feed(Input(sample(44, start + 11 * kSecond + 1)));  // the session is a grace past the lap end
  EXPECT_EQ(h().lap_features().size(), 1U);
}

TEST_F(ProcessorTest, PreRaceSamplesReadAfterTheStartAreNotLate) {
  h().eof_all();
  const TimeNs start = 10 * kSecond;
  h().feed(Input(session_status(start, "Started")));  // the timing partition is ahead
  h().feed(Input(sample(1, start - 2 * kSecond)));    // grid samples, read later
  h().feed(Input(sample(1, start - kSecond)));
  h().feed(Input(sample(1, start + 1)));
  EXPECT_TRUE(h().dead_letter_reasons().empty());
  EXPECT_EQ(h().metrics.applied_count(), 4);
}

TEST_F(ProcessorTest, InputIdleHoldsTelemetryUntilTheTimingInputHasBeenQuiet) {
  // A producer wrote both topics, but the timing batch is still in flight: the
  // timing partition reads as ended, yet the session's timing may come.
  auto c = test::ProcessorHarness::default_config();
  c.input_idle = std::chrono::milliseconds(100);
  rebuild(c);
  h().eof_all();
  const TimeNs start = 10 * kSecond;
  h().feed(Input(sample(1, start + 1)));
  h().feed(Input(sample(1, start + 2 * kSecond)));
  EXPECT_EQ(h().processor->buffered_records(), 2U) << "timing has not been quiet for 100 ms yet";
  h().feed(Input(session_status(start, "Started")));  // the late batch arrives, in order
  EXPECT_EQ(h().processor->buffered_records(), 2U);
  h().advance(std::chrono::milliseconds(100));
  EXPECT_EQ(h().processor->buffered_records(), 0U);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
  EXPECT_EQ(h().metrics.applied_count(), 3);
}

TEST_F(ProcessorTest, AnEmptyPartitionReadToItsEndCountsAsCaughtUp) {
  // Partition 1 of each topic never had a record: its fetched high watermark is
  // 0 and its EOF is at 0. The consumer is live, so a quiet timing input stops
  // holding telemetry back after input_idle.
  auto c = test::ProcessorHarness::default_config();
  c.input_idle = std::chrono::milliseconds(100);
  rebuild(c);
  for (auto t : {InputTopic::Telemetry, InputTopic::Timing}) {
    h().processor->assign(t, 1);
    h().processor->high_watermark(t, 1, 0);
    h().processor->partition_eof(t, 1, 0);
  }
  h().eof_all();
  h().feed(Input(sample(1, 1 * kSecond)));
  h().advance(std::chrono::milliseconds(100));
  EXPECT_EQ(h().processor->buffered_records(), 0U);
}

// Issue 8, defect 4: after a broker outage the consumer's idea of a partition's
// end was old, so the first records back (timing) were released before the
// telemetry of the same stretch arrived, and its snapshots were lost.
TEST_F(ProcessorTest, AfterALostConnectionNoInputCountsAsReadToItsEndUntilFreshlyKnown) {
  auto c = test::ProcessorHarness::default_config();
  c.input_idle = std::chrono::milliseconds(100);
  rebuild(c);
  h().eof_all();
  h().live = false;  // from here, EOFs come only when the test says
  for (auto t : {InputTopic::Telemetry, InputTopic::Timing}) h().processor->high_watermark(t, 0, 0);
  h().feed(Input(sample(1, 1 * kSecond)));
  h().feed(Input(session_status(1 * kSecond, "Started")));
  h().processor->high_watermark(InputTopic::Telemetry, 0, 1);
  h().processor->high_watermark(InputTopic::Timing, 0, 1);
  h().advance(std::chrono::milliseconds(200));
  ASSERT_EQ(h().processor->buffered_records(), 0U);

  h().processor->connection_lost();
  h().advance(std::chrono::seconds(1));  // the outage: nothing arrives
  // Timing comes back first; the telemetry partition's last known end is old.
  h().feed(Input(timing(0, 30 * kSecond, TrackStatusChange{TrackStatus::Yellow, "yellow"})));
  h().advance(std::chrono::milliseconds(500));
  EXPECT_EQ(h().processor->buffered_records(), 1U) << "released although the telemetry of the stretch may come";
  // A fresh watermark query says the telemetry partition has 50 more records.
  h().processor->high_watermark(InputTopic::Telemetry, 0, 51, /*fresh=*/true);
  h().processor->high_watermark(InputTopic::Timing, 0, 2, /*fresh=*/true);
  for (int i = 2; i < 52; ++i) h().feed(Input(sample(1, i * kSecond)));
  // Both read to their ends again, but producers catch up in bursts after an
  // outage: a quiet input does not count as idle for recovery_idle.
  h().advance(std::chrono::milliseconds(200));
  EXPECT_GT(h().processor->buffered_records(), 0U);
  h().advance(h().config.recovery_idle);
  EXPECT_EQ(h().processor->buffered_records(), 0U);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
  EXPECT_EQ(h().metrics.late_accepted_count(), 0);
}

// Issue 8, defect 3: a consumer with a backlog read one input far ahead of the
// other; the reorder buffer hit its cap and released early (late timing, wrong laps).
TEST_F(ProcessorTest, AnInputThatRunsAheadIsPausedNotReleasedEarly) {
  auto c = test::ProcessorHarness::default_config();
  c.pause_buffered_records = 100;
  rebuild(c);
  // A backlog: neither partition is at its end. Telemetry is read first.
  h().processor->high_watermark(InputTopic::Telemetry, 0, 1'000'000);
  h().processor->high_watermark(InputTopic::Timing, 0, 1'000'000);
  for (int i = 0; i < 100; ++i) h().feed(Input(sample(1, i * 100'000'000LL)));
  ASSERT_EQ(h().flow.paused.size(), 1U);
  EXPECT_EQ(h().flow.paused[0].topic, InputTopic::Telemetry);
  EXPECT_EQ(h().processor->buffered_records(), 100U);
  EXPECT_EQ(h().processor->paused_partitions(), 1U);
  // Timing catches up: the buffer drains in order, then telemetry resumes.
  h().feed(Input(session_status(0, "Started")));
  for (int i = 1; i <= 10; ++i) h().feed(Input(timing(1, i * kSecond - 1, PitIn{})));
  EXPECT_LE(h().processor->buffered_records(), 50U);
  ASSERT_EQ(h().flow.resumed.size(), 1U);
  EXPECT_EQ(h().flow.resumed[0].topic, InputTopic::Telemetry);
  EXPECT_EQ(h().metrics.reorder_overflows(), 0);
  EXPECT_EQ(h().metrics.late_accepted_count(), 0);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, AnInputBehindAtItsEndHoldsThePauseOnlyUntilItIsIdle) {
  // A slow producer: timing is read to its end but not yet idle, so it still holds the session
  // and the telemetry that runs ahead is paused; once timing is idle the session releases on
  // telemetry alone and the partition resumes.
  auto c = test::ProcessorHarness::default_config();
  c.pause_buffered_records = 10;
  c.input_idle = std::chrono::milliseconds(100);
  rebuild(c);
  h().processor->high_watermark(InputTopic::Telemetry, 0, 1'000'000);
  h().processor->partition_eof(InputTopic::Timing, 0, 0);
  for (int i = 0; i < 10; ++i) h().feed(Input(sample(1, i * 100'000'000LL)));
  ASSERT_EQ(h().flow.paused.size(), 1U);
  EXPECT_EQ(h().flow.paused[0].topic, InputTopic::Telemetry);
  EXPECT_EQ(h().processor->buffered_records(), 10U) << "paused at the pause level, nothing released early";
  h().advance(std::chrono::milliseconds(100));
  EXPECT_EQ(h().processor->buffered_records(), 0U);
  ASSERT_EQ(h().flow.resumed.size(), 1U);
  EXPECT_EQ(h().flow.resumed[0].topic, InputTopic::Telemetry);
  EXPECT_EQ(h().metrics.reorder_overflows(), 0);
  // Timing idle now: no pause for what telemetry brings next.
  for (int i = 20; i < 40; ++i) h().feed(Input(sample(1, i * 100'000'000LL)));
  EXPECT_EQ(h().flow.paused.size(), 1U);
}

TEST_F(ProcessorTest, AllBuffersTogetherStayWithinTheirBound) {
  auto c = test::ProcessorHarness::default_config();
  c.max_buffered_records = 50;
  rebuild(c);
  // Catching up (no EOF): without timing the session's telemetry would be held.
  for (int i = 1; i <= 200; ++i) h().feed(Input(sample(1, i * 100'000'000LL)));
  EXPECT_LE(h().processor->buffered_records(), 51U);
  EXPECT_GT(h().metrics.reorder_overflows(), 0);
  EXPECT_TRUE(h().dead_letter_reasons().empty());
}

TEST_F(ProcessorTest, IdleTimeoutReleasesABufferedSession) {
  h().feed(Input(sample(1, 1 * kSecond)));
  h().feed(Input(sample(1, 2 * kSecond)));
  EXPECT_EQ(h().processor->buffered_records(), 2U);  // timing input still has unread records
  h().advance(h().config.idle_timeout + std::chrono::milliseconds(1));
  EXPECT_EQ(h().processor->buffered_records(), 0U);
}

TEST_F(ProcessorTest, ARecordThatCrashedBoxcallBeforeIsDeadLetteredOnRestart) {
  h().eof_all();
  h().processor->set_poisoned({Position{InputTopic::Telemetry, 0, 1}});
  h().feed(Input(sample(1, 1 * kSecond)));
  h().feed(Input(sample(1, 2 * kSecond)));  // offset 1: the record being processed when boxcall died
  h().feed(Input(sample(1, 3 * kSecond)));
  EXPECT_EQ(h().dead_letter_reasons(), Strings{"processing_crashed"});
  EXPECT_EQ(h().publisher.of(OutputTopic::DeadLetter)[0]->source_offset, 1);
  EXPECT_EQ(h().metrics.applied_count(), 2);
}

TEST_F(ProcessorTest, CommitsOnlyPastAcknowledgedOutputsAndEndedSessions) {
  h().eof_all();
  h().feed_text(InputTopic::Telemetry, "garbage");  // offset 0: dead letter, not yet acknowledged
  h().feed(Input(sample(1, 1 * kSecond)));          // offset 1: opens the session (pinned)
  h().feed(Input(sample(1, 2 * kSecond)));          // offset 2
  auto positions = h().processor->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 0) << "the unacknowledged dead letter pins offset 0";
  h().publisher.ack_all();
  positions = h().processor->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 1) << "the live session pins its first offset";
  // The session ends: after the idle timeout it is evicted and nothing is pinned.
  h().feed(Input(session_status(3 * kSecond, "Finished", std::nullopt)));
  h().advance(h().config.idle_timeout + std::chrono::milliseconds(1));
  h().publisher.ack_all();
  EXPECT_EQ(h().processor->session_count(), 0U);
  positions = h().processor->commit_positions();
  EXPECT_EQ(positions.at({InputTopic::Telemetry, 0}), 3);
  EXPECT_EQ(positions.at({InputTopic::Timing, 0}), 1);
}

TEST_F(ProcessorTest, LapFeaturesAlsoDriveTheStrategyWhosePredictionsAndAlertsGoToTheirTopics) {
  auto model = std::make_shared<infer::testing::FakePredictor>();
  auto factory = std::make_unique<test::FunctionFactory>([model](std::string_view id) {
    features::FeatureConfig fc;
    fc.snapshot_period = std::chrono::nanoseconds(0);
    return std::make_unique<infer::SessionPipeline>(
        std::string(id), fc, infer::StrategyConfig{},
        [model]() -> std::shared_ptr<const infer::Predictor> { return model; },
        std::make_shared<infer::StrategyPriors>());
  });
  h_ = std::make_unique<test::ProcessorHarness>(test::ProcessorHarness::default_config(), std::move(factory));
  h().eof_all();
  const TimeNs start = 10 * kSecond;
  h().feed(Input(session_status(start, "Started")));
  for (int i = 0; i < 10; ++i) h().feed(Input(sample(1, start + i * kSecond + 1)));
  h().feed(Input(lap_completed(1, 1, start, start + 10 * kSecond, Compound::Soft)));
  h().feed(Input(sample(1, start + 10 * kSecond + 500'000'000)));

  ASSERT_EQ(h().publisher.of(OutputTopic::Features).size(), 1U);
  auto predictions = h().publisher.of(OutputTopic::Predictions);
  ASSERT_EQ(predictions.size(), 1U);
  const auto* p = wire::GetEnvelope(predictions[0]->value.data())->payload_as_StrategyPrediction();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->lap(), 1);
  EXPECT_EQ(predictions[0]->key, test::ProcessorHarness::kSession);

  // The feed stops (processing time): one critical feed-stall alert on the alerts topic
  // (the idle flush at 2 s releases the last buffered sample: 5 s of stall from there).
  for (int i = 0; i < 80; ++i) h().advance(std::chrono::milliseconds(100));
  // (The fixture's samples repeat the very same values at 200 km/h: a stuck sensor too.)
  Strings kinds;
  for (const auto* o : h().publisher.of(OutputTopic::Alerts)) {
    const auto* a = wire::GetEnvelope(o->value.data())->payload_as_Alert();
    ASSERT_NE(a, nullptr);
    EXPECT_TRUE(a->active());
    kinds.push_back(a->kind()->str());
  }
  EXPECT_EQ(kinds, (Strings{"stuck_sensor", "feed_stall"}));
}

// Exactly-once replay (replay_ledger.h): a processor that re-reads a partition from a session's
// first record with the ledger committed at some point publishes exactly what the first one
// published after that point: the state is rebuilt, nothing is published twice, nothing lost.
TEST(ProcessorReplay, AReplayWithTheLedgerPublishesExactlyWhatWasNotCommitted) {
  const TimeNs start = 10 * kSecond;
  std::vector<std::function<void(test::ProcessorHarness&)>> feed;
  feed.push_back([&](auto& h) { h.feed(Input(session_status(start, "Started"))); });
  for (int lap = 1; lap <= 4; ++lap) {
    const TimeNs lap_start = start + (lap - 1) * 10 * kSecond;
    for (int i = 0; i < 10; ++i) {
      feed.push_back([=](auto& h) { h.feed(Input(sample(1, lap_start + i * kSecond + 1))); });
      feed.push_back([=](auto& h) { h.feed(Input(sample(44, lap_start + i * kSecond + 2))); });
      if (i == 5) feed.push_back([](auto& h) { h.feed_text(InputTopic::Telemetry, "garbage"); });
      if (i == 7) feed.push_back([=](auto& h) { h.feed(Input(sample(1, lap_start + i * kSecond + 3, 512))); });
    }
    feed.push_back([=](auto& h) { h.feed(Input(lap_completed(1, lap, lap_start, lap_start + 10 * kSecond))); });
    feed.push_back([=](auto& h) { h.feed(Input(lap_completed(44, lap, lap_start, lap_start + 10 * kSecond))); });
  }
  feed.push_back([=](auto& h) { h.feed(Input(sample(1, start + 40 * kSecond + 5))); });
  feed.push_back([=](auto& h) { h.feed(Input(sample(44, start + 40 * kSecond + 6))); });

  for (std::size_t cut : {std::size_t{3}, feed.size() / 3, feed.size() / 2, feed.size() - 1}) {
    test::ProcessorHarness first;
    first.eof_all();
    std::vector<std::string> committed;
    std::map<OffsetTracker::Key, std::string> ledgers;
    for (std::size_t i = 0; i < feed.size(); ++i) {
      if (i == cut) {
        committed = first.transcript();
        for (const auto& [k, offset] : first.processor->commit_positions()) {
          ledgers[k] = format_ledger(first.processor->ledger(k.topic, k.partition, offset));
          EXPECT_EQ(offset, 0) << "the live session pins its first record";
        }
      }
      feed[i](first);
    }
    const auto all = first.transcript();
    ASSERT_GT(all.size(), 8U);
    ASSERT_GE(all.size(), committed.size());

    test::ProcessorHarness replay;
    replay.eof_all();
    for (const auto& [k, text] : ledgers) replay.processor->load_ledger(k.topic, k.partition, *parse_ledger(text));
    for (const auto& f : feed) f(replay);
    std::vector<std::string> expected(all.begin() + static_cast<std::ptrdiff_t>(committed.size()), all.end());
    EXPECT_EQ(replay.transcript(), expected) << "cut at record " << cut;
    EXPECT_EQ(replay.processor->replay_suppressed(), committed.size());
  }
}

// A record that crashed boxcall had no outputs committed: its processing_crashed dead letter is
// published even below the ledger's offset (where a replay's immediate dead letters are not).
TEST(ProcessorReplay, ACrashedRecordsDeadLetterIsNeverSuppressed) {
  test::ProcessorHarness h;
  h.eof_all();
  ReplayLedger ledger;
  ledger.dead_letters_below = 10;
  h.processor->load_ledger(InputTopic::Telemetry, 0, ledger);
  h.processor->set_poisoned({Position{InputTopic::Telemetry, 0, 1}});
  h.feed_text(InputTopic::Telemetry, "garbage");  // offset 0: its dead letter was committed
  h.feed(Input(sample(1, 1 * kSecond)));          // offset 1: crashed boxcall
  h.feed_text(InputTopic::Telemetry, "garbage");  // offset 2: committed
  EXPECT_EQ(h.dead_letter_reasons(), (Strings{"processing_crashed"}));
  EXPECT_EQ(h.processor->replay_suppressed(), 2U);
}

}  // namespace
}  // namespace boxcall::stream
