// The whole 2023 Bahrain GP (20 cars, ~720k telemetry samples, 1,056 laps)
// published to a real Kafka broker and processed by the live path.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "base/validate.h"
#include "boxcall/schema/boxcall_generated.h"
#include "features/session_engine.h"
#include "harness.h"
#include "replay/source_publisher.h"
#include "sources/drive.h"
#include "sources/fastf1_reader.h"
#include "stream/codec.h"
#include "stream/kafka.h"
#include "stream/runner.h"

namespace boxcall {
namespace {

const std::string kRace = std::string(BOXCALL_SHARED_DATA) + "/fastf1/2023_01_bahrain_race";

/// Laps per car number, read straight from laps.csv (independent of the reader under test).
std::map<int, int> laps_per_car_from_csv() {
  std::ifstream in(kRace + "/laps.csv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  const auto col = std::find(header.begin(), header.end(), "DriverNumber") - header.begin();
  std::map<int, int> out;
  while (std::getline(in, line)) {
    std::stringstream ls(line);
    std::string f;
    for (long i = 0; i <= col; ++i) std::getline(ls, f, ',');
    ++out[std::stoi(f)];
  }
  return out;
}

struct CollectingSink final : OutputSink {
  std::vector<LapFeatures> laps;
  std::vector<FeatureSnapshot> snapshots;
  void emit(Output&& out) override {
    if (auto* l = std::get_if<LapFeatures>(&out)) laps.push_back(*l);
    if (auto* s = std::get_if<FeatureSnapshot>(&out)) snapshots.push_back(*s);
  }
};

/// The race with two samples whose event time is impossible (issue 8): one in
/// 2099, one 3 h ahead of its session, injected mid-race. Each must become a
/// dead letter and change nothing else.
class WildTimestamps final : public sources::RecordSource {
 public:
  explicit WildTimestamps(std::unique_ptr<sources::RecordSource> inner) : inner_(std::move(inner)) {}
  const std::string& session_id() const override { return inner_->session_id(); }
  std::optional<Input> next() override {
    if (++n_ == kAt || n_ == kAt + 1000) {
      if (auto* s = std::get_if<TelemetrySample>(&last_)) {
        TelemetrySample wild = *s;
        wild.event_time_ns = n_ == kAt ? 4'070'908'800LL * kNsPerSecond  // 2099-01-01
                                       : s->event_time_ns + 3 * 3600 * kNsPerSecond;
        return Input(wild);
      }
    }
    auto r = inner_->next();
    if (r) last_ = *r;
    return r;
  }

 private:
  static constexpr std::uint64_t kAt = 300'000;  // mid-race
  std::unique_ptr<sources::RecordSource> inner_;
  Input last_;
  std::uint64_t n_ = 0;
};

std::map<std::int64_t, std::int64_t> committed_offsets(const std::string& group, const std::string& topic,
                                                       int partitions) {
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", itest::broker()).set("group.id", group);
  auto c = conf.create(RD_KAFKA_CONSUMER);
  stream::KafkaPartitionList list(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p);
  EXPECT_EQ(rd_kafka_committed(c.get(), list.get(), 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::map<std::int64_t, std::int64_t> out;
  for (int i = 0; i < list->cnt; ++i) out[list->elems[i].partition] = list->elems[i].offset;
  return out;
}

TEST(BahrainThroughKafka, EveryCarEveryLapNothingLostSameValuesAsOffline) {
  const auto topics = itest::fresh_topics("bahrain", 2);
  std::vector<std::unique_ptr<sources::RecordSource>> srcs;
  srcs.push_back(std::make_unique<WildTimestamps>(
      std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(kRace))));
  const std::string session = srcs.front()->session_id();
  auto published = replay::publish_sources(std::move(srcs), itest::broker(), topics, {});
  ASSERT_EQ(published.failed, 0U);
  ASSERT_GT(published.telemetry, 700000U);
  const double total = static_cast<double>(published.telemetry + published.timing);

  auto config = itest::test_config(topics);
  stream::StreamMetrics metrics;
  itest::Job runner(config, metrics);
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(8);  // a guard, not a synchronisation
  // Everything consumed and the finished session evicted (its pins released).
  options.should_stop = [&] {
    return metrics.records_in_count(stream::InputTopic::Telemetry) +
                   metrics.records_in_count(stream::InputTopic::Timing) >=
               total &&
           metrics.active_sessions() == 0;
  };
  ASSERT_EQ(runner.run(options), 0);

  // Nothing lost: every input contributed to state, was a dropped duplicate, or is a dead letter.
  const double in =
      metrics.records_in_count(stream::InputTopic::Telemetry) + metrics.records_in_count(stream::InputTopic::Timing);
  EXPECT_EQ(in, total);
  EXPECT_EQ(metrics.applied_count() + metrics.duplicate_count() + metrics.dead_letter_total(), in);
  const auto dead = itest::read_topic(topics.dead_letter);
  EXPECT_EQ(static_cast<double>(dead.size()), metrics.dead_letter_total());
  // The two wild timestamps, and the race's own bad samples (gear codes out of range), nothing else.
  std::map<std::string, int> reasons;
  for (const auto& d : dead) ++reasons[d.headers.at("boxcall.reason")];
  EXPECT_EQ(reasons["event_time_out_of_range"], 2);
  EXPECT_EQ(reasons.size(), 2U);
  EXPECT_EQ(metrics.late_accepted_count(), 0);
  EXPECT_EQ(metrics.duplicate_count(), 0) << "the recorded race has no duplicate samples";

  // Outputs: one LapFeatures per laps.csv row, for every car, plus rolling snapshots.
  stream::Codec codec;
  std::map<std::pair<int, int>, std::string> live;  // (car, lap) -> JSON
  std::map<int, int> snapshots_per_car;
  std::vector<std::string> live_snapshots;
  for (const auto& r : itest::read_topic(topics.features)) {
    EXPECT_EQ(r.key, session);
    const auto* env = wire::GetEnvelope(r.value.data());
    if (const auto* f = env->payload_as_LapFeatures()) {
      auto json = codec.to_json(std::as_bytes(std::span<const std::uint8_t>(r.value)));
      ASSERT_TRUE(json.ok());
      EXPECT_TRUE(live.emplace(std::make_pair(int(f->car_number()), f->lap()), json.value()).second)
          << "duplicate lap output for car " << f->car_number() << " lap " << f->lap();
    } else if (const auto* s = env->payload_as_FeatureSnapshot()) {
      ++snapshots_per_car[s->car_number()];
      auto json = codec.to_json(std::as_bytes(std::span<const std::uint8_t>(r.value)));
      ASSERT_TRUE(json.ok());
      live_snapshots.push_back(json.value());
    }
  }
  const auto expected_laps = laps_per_car_from_csv();
  ASSERT_EQ(expected_laps.size(), 20U);
  std::map<int, int> live_laps;
  for (const auto& [key, json] : live) ++live_laps[key.first];
  EXPECT_EQ(live_laps, expected_laps);
  EXPECT_EQ(snapshots_per_car.size(), 20U) << "every car gets rolling snapshots";

  // The live path computes exactly what the offline twin computes (same code, same order).
  sources::FastF1Reader offline(sources::FastF1Paths::from_export_dir(kRace));
  features::FeatureHandler engine(config.features);
  CollectingSink sink;
  const auto drove = sources::drive(offline, engine, sink);
  EXPECT_EQ(reasons["out_of_range"], static_cast<int>(drove.invalid));
  EXPECT_EQ(drove.rejected, 0U);
  ASSERT_EQ(sink.laps.size(), live.size());
  int mismatches = 0;
  for (const auto& lap : sink.laps) {
    auto bytes = codec.encode(session, Output(lap));
    auto json = codec.to_json(std::as_bytes(bytes));
    auto it = live.find({lap.car, lap.lap});
    ASSERT_NE(it, live.end()) << "car " << lap.car << " lap " << lap.lap << " missing from the features topic";
    if (it->second != json.value() && ++mismatches <= 3) {
      ADD_FAILURE() << "live and offline differ for car " << lap.car << " lap " << lap.lap
                    << "\nlive:    " << it->second << "\noffline: " << json.value();
    }
  }
  EXPECT_EQ(mismatches, 0);

  // Rolling snapshots fall on the same records live and offline, however the consumer batched them.
  std::vector<std::string> offline_snapshots;
  for (const auto& s : sink.snapshots) {
    auto json = codec.to_json(std::as_bytes(codec.encode(session, Output(s))));
    offline_snapshots.push_back(json.value());
  }
  std::sort(live_snapshots.begin(), live_snapshots.end());
  std::sort(offline_snapshots.begin(), offline_snapshots.end());
  EXPECT_EQ(live_snapshots.size(), offline_snapshots.size());
  EXPECT_TRUE(live_snapshots == offline_snapshots) << "live and offline snapshots differ";

  // The finished session released its pins: the group committed the end of both inputs.
  for (const auto* topic : {&topics.telemetry, &topics.timing}) {
    auto committed = committed_offsets(config.stream.group_id, *topic, 2);
    std::int64_t sum = 0;
    for (const auto& [p, off] : committed) sum += std::max<std::int64_t>(off, 0);
    EXPECT_EQ(sum, static_cast<std::int64_t>(topic == &topics.telemetry ? published.telemetry : published.timing))
        << *topic;
  }
}

}  // namespace
}  // namespace boxcall
