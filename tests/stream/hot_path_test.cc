// The processor's hot path (issue 13): records kept in a reorder buffer are held, not copied;
// in-order records are neither; per-record counters are batched into Prometheus on tick; the
// partition table and the loop timeline do what they say.
#include <gtest/gtest.h>

#include <list>

#include "stream/processor.h"
#include "stream/timeline.h"
#include "support/records.h"
#include "support/stream_harness.h"

namespace boxcall::stream {
namespace {
using test::kSecond;
using test::sample;
using test::session_status;

/// Records handed over to the processor: the test owns their bytes and counts holds and releases.
struct Storage {
  std::list<std::vector<std::uint8_t>> values;
  int holds = 0;
  int releases = 0;
  static HeldRecord hold(void* context) {
    auto* s = static_cast<Storage*>(context);
    ++s->holds;
    return {s, [](void* p) { ++static_cast<Storage*>(p)->releases; }};
  }
};

class HotPathTest : public ::testing::Test {
 protected:
  /// Feeds `in` through RecordRef::hold, as the runner does with librdkafka's messages.
  void feed(const Input& in) {
    const auto topic = std::holds_alternative<TelemetrySample>(in) ? InputTopic::Telemetry : InputTopic::Timing;
    auto bytes = h.codec.encode(test::ProcessorHarness::kSession, in);
    storage.values.emplace_back(bytes.begin(), bytes.end());
    const auto& value = storage.values.back();
    RecordRef r{topic,
                0,
                h.next_offset[static_cast<std::size_t>(topic)]++,
                as_bytes(std::string_view(test::ProcessorHarness::kSession)),
                as_bytes(std::span<const std::uint8_t>(value)),
                -1,
                &Storage::hold,
                &storage};
    h.processor->process(r);
    if (h.live) h.processor->partition_eof(topic, 0);
  }
  test::ProcessorHarness h;
  Storage storage;
};

TEST_F(HotPathTest, AnInOrderRecordIsNeitherHeldNorCopied) {
  h.eof_all();  // both inputs read to their end: each sample is released as it arrives
  for (int i = 0; i < 50; ++i) feed(Input(sample(1, i * kSecond)));
  EXPECT_EQ(h.metrics.applied_count(), 50);
  EXPECT_EQ(storage.holds, 0);
  EXPECT_EQ(h.processor->buffered_records(), 0U);
}

TEST_F(HotPathTest, ARecordThatWaitsForTheWatermarkIsHeldUntilReleasedAndItsBytesReachTheDeadLetterTopic) {
  // The timing input has not been read to its end: samples wait for it in the reorder buffer.
  auto a = sample(1, 10 * kSecond);
  auto b = sample(1, 11 * kSecond);
  b.session_time_ns = a.session_time_ns - kSecond;  // rejected by the handler when released
  feed(Input(a));
  feed(Input(b));
  EXPECT_EQ(h.processor->buffered_records(), 2U);
  EXPECT_EQ(storage.holds, 2);
  EXPECT_EQ(storage.releases, 0);
  EXPECT_EQ(h.metrics.applied_count(), 0);

  feed(Input(session_status(20 * kSecond, "Started")));  // the timing input moves past both
  EXPECT_EQ(h.processor->buffered_records(), 1U);        // (the status record waits for the telemetry)
  EXPECT_EQ(storage.holds, 3);
  EXPECT_EQ(storage.releases, 2);
  EXPECT_EQ(h.dead_letter_reasons(), std::vector<std::string>{"time_went_backwards"});
  // The dead letter carries the record exactly as consumed, read from the held storage.
  const auto& dl = h.publisher.of(OutputTopic::DeadLetter);
  ASSERT_EQ(dl.size(), 1U);
  EXPECT_EQ(dl[0]->value, *std::next(storage.values.begin()));
}

TEST_F(HotPathTest, HeldRecordsAreReleasedWhenTheirSessionIsDropped) {
  feed(Input(sample(1, 10 * kSecond)));
  feed(Input(sample(1, 11 * kSecond)));
  EXPECT_EQ(storage.holds, 2);
  h.processor->revoke(InputTopic::Telemetry, 0);  // a rebalance drops the session
  EXPECT_EQ(storage.releases, 2);
}

TEST_F(HotPathTest, ManyRecordsOutOfOrderComeOutInEventTimeOrder) {
  // The reorder buffer orders slots through a heap of small entries: shuffled input, sorted output.
  std::vector<int> order;
  for (int i = 0; i < 200; ++i) order.push_back((i * 73) % 200);  // a permutation of 0..199
  for (int i : order) feed(Input(sample(static_cast<std::uint16_t>(1 + i % 3), kSecond + i * (kSecond / 10))));
  EXPECT_EQ(h.processor->buffered_records(), 200U);
  feed(Input(session_status(60 * kSecond, "Started")));
  EXPECT_EQ(h.processor->buffered_records(), 1U);  // the status record, ahead of the telemetry
  EXPECT_EQ(h.metrics.applied_count(), 200);
  EXPECT_TRUE(h.dead_letter_reasons().empty());  // no time went backwards: every car saw its samples in order
  EXPECT_EQ(storage.releases, 200);
}

TEST(StreamMetricsTest, PerRecordCountersAreReadAtOnceAndReachPrometheusWhenPublished) {
  StreamMetrics m;
  for (int i = 0; i < 3; ++i) m.record_in(InputTopic::Telemetry);
  m.applied();
  EXPECT_EQ(m.records_in_count(InputTopic::Telemetry), 3);
  EXPECT_EQ(m.applied_count(), 1);
  // What a scrape reads: the family's telemetry metric (or its only, unlabelled one).
  auto scraped = [&](const std::string& family) {
    for (const auto& f : m.registry().Collect()) {
      if (f.name != family) continue;
      for (const auto& metric : f.metric) {
        if (metric.label.empty() || metric.label[0].value == "telemetry") return metric.counter.value;
      }
    }
    return -1.0;
  };
  EXPECT_EQ(scraped("boxcall_records_in_total"), 0);
  m.publish_batched();
  EXPECT_EQ(scraped("boxcall_records_in_total"), 3);
  EXPECT_EQ(scraped("boxcall_records_applied_total"), 1);
  m.record_in(InputTopic::Telemetry);
  m.publish_batched();
  m.publish_batched();  // nothing new: no double count
  EXPECT_EQ(scraped("boxcall_records_in_total"), 4);
}

TEST(PartitionTableTest, FindsSetsErasesAndIteratesInKeyOrder) {
  PartitionTable<int> t;
  EXPECT_EQ(t.find(InputTopic::Timing, 3), nullptr);
  t.set(InputTopic::Timing, 3, 30);
  t.set(InputTopic::Telemetry, 1, 11);
  t.set(InputTopic::Telemetry, 0, 10);
  EXPECT_EQ(*t.find(InputTopic::Timing, 3), 30);
  EXPECT_EQ(t.find(InputTopic::Timing, 2), nullptr);
  EXPECT_EQ(t.find(InputTopic::Telemetry, -1), nullptr);
  std::vector<int> seen;
  t.for_each([&](InputTopic, std::int32_t, int v) { seen.push_back(v); });
  EXPECT_EQ(seen, (std::vector<int>{10, 11, 30}));
  t.erase(InputTopic::Telemetry, 1);
  EXPECT_EQ(t.find(InputTopic::Telemetry, 1), nullptr);
  EXPECT_EQ(*t.find(InputTopic::Telemetry, 0), 10);
}

TEST(LoopTimelineTest, SummarisesSpansAndTellsWhatRanInAWindow) {
  LoopTimeline tl(3);
  tl.add({1'000, 500, 2'000'000, 10, 2, LoopWork::Records});
  tl.add({2'000, 4'000, 0, 1, 0, LoopWork::Commit});
  tl.add({10'000, 100, 0, 0, 0, LoopWork::Tick});
  tl.add({20'000, 100, 0, 0, 0, LoopWork::Tick});  // beyond the capacity: dropped, counted
  EXPECT_EQ(tl.spans().size(), 3U);
  EXPECT_EQ(tl.dropped(), 1U);
  const auto w = tl.window(1'200, 3'000);  // the records span from 1,200, the commit until 3,000
  EXPECT_EQ(w.busy_ns[static_cast<std::size_t>(LoopWork::Records)], 300);
  EXPECT_EQ(w.busy_ns[static_cast<std::size_t>(LoopWork::Commit)], 1'000);
  EXPECT_EQ(w.busy_ns[static_cast<std::size_t>(LoopWork::Tick)], 0);
  EXPECT_EQ(w.longest_span, LoopWork::Commit);
  EXPECT_EQ(w.input_waited_ns, 2'000'000);
  const std::string summary = tl.summary_json();
  EXPECT_NE(summary.find("\"commit\":{\"spans\":1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"dropped_spans\":1"), std::string::npos) << summary;
  EXPECT_NE(tl.spans_jsonl().find("\"work\":\"records\""), std::string::npos);
}

}  // namespace
}  // namespace boxcall::stream
