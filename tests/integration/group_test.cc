// Two boxcall instances in one consumer group share the sessions of a topic:
// every session is processed by one of them, and every lap of every car comes out.
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "boxcall/schema/boxcall_generated.h"
#include "harness.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/runner.h"

namespace boxcall {
namespace {

TEST(ConsumerGroupThroughKafka, TwoInstancesShareTheSessionsAndEveryLapComesOut) {
  const auto topics = itest::fresh_topics("group", 4);
  sources::SynthConfig base;
  base.cars = 5;
  base.laps = 5;
  base.hz = 4;
  base.safety_car = false;
  auto configs = sources::make_synth_sessions(8, base);
  std::vector<std::unique_ptr<sources::RecordSource>> races;
  std::set<std::string> session_ids;
  for (const auto& c : configs) {
    races.push_back(std::make_unique<sources::SynthRace>(c));
    session_ids.insert(c.session_id);
  }
  // Two instances of one group: two identities (exactly-once: two transactional producers).
  auto config_a = itest::test_config(topics), config_b = config_a;
  config_a.stream.instance_id = "a";
  config_b.stream.instance_id = "b";
  stream::StreamMetrics metrics_a, metrics_b;
  itest::Job a(config_a, metrics_a), b(config_b, metrics_b);
  std::atomic<bool> done{false};
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(4);
  options.should_stop = [&] { return done.load(); };
  auto run_a = std::async(std::launch::async, [&] { return a.run(options); });
  auto run_b = std::async(std::launch::async, [&] { return b.run(options); });
  // Both instances are in the group, sharing the 2 x 4 input partitions, before any record exists.
  ASSERT_TRUE(itest::wait_for(
      [&] {
        return metrics_a.assigned_partitions() > 0 && metrics_b.assigned_partitions() > 0 &&
               metrics_a.assigned_partitions() + metrics_b.assigned_partitions() == 8;
      },
      std::chrono::seconds(60)))
      << "the group did not settle on two members";
  // Published while both instances are live, as a replay at 50x real time would be (see
  // docs/operations.md on producers that batch the two topics far apart).
  replay::PublishOptions pace;
  pace.speed = 50;
  auto published = replay::publish_sources(std::move(races), itest::broker(), topics, pace);
  ASSERT_EQ(published.failed, 0U);
  const double total = static_cast<double>(published.telemetry + published.timing);
  auto consumed = [&] {
    return metrics_a.records_in_count(stream::InputTopic::Telemetry) +
           metrics_a.records_in_count(stream::InputTopic::Timing) +
           metrics_b.records_in_count(stream::InputTopic::Telemetry) +
           metrics_b.records_in_count(stream::InputTopic::Timing);
  };
  // A rebalance may make an instance re-read a session (at least once): wait for all of it at least once.
  ASSERT_TRUE(itest::wait_for([&] { return consumed() >= total; }, std::chrono::minutes(3)));
  done = true;
  EXPECT_EQ(run_a.get(), 0);
  EXPECT_EQ(run_b.get(), 0);
  EXPECT_GT(metrics_a.applied_count(), 0) << "instance A got no session";
  EXPECT_GT(metrics_b.applied_count(), 0) << "instance B got no session";
  EXPECT_EQ(metrics_a.dead_letter_total() + metrics_b.dead_letter_total(), 0);

  // Every (session, car, lap) the races completed is in the features topic.
  std::map<std::string, std::set<std::pair<int, int>>> laps;
  for (const auto& r : itest::read_topic(topics.features)) {
    const auto* env = wire::GetEnvelope(r.value.data());
    if (const auto* f = env->payload_as_LapFeatures()) {
      laps[r.key].insert({f->car_number(), f->lap()});
    }
  }
  EXPECT_EQ(laps.size(), session_ids.size());
  for (const auto& id : session_ids) {
    // 5 cars; a lapped car may complete one lap fewer than the leader.
    EXPECT_GE(laps[id].size(), 5U * (base.laps - 1)) << id;
    for (int car_lap = 1; car_lap < base.laps; ++car_lap) {
      int cars_with_lap = 0;
      for (const auto& [car, lap] : laps[id]) cars_with_lap += lap == car_lap;
      EXPECT_EQ(cars_with_lap, 5) << id << " lap " << car_lap;
    }
  }
}

}  // namespace
}  // namespace boxcall
