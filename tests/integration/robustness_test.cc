// Issue 8 through a real broker: no record, timestamp or delivery pattern may
// crash boxcall or change its results.
//  - records that crashed it (empty unions) and a record that crashes it anyway
//    (fault injection): dead letters, and no crash loop;
//  - a restart with a backlog in which telemetry is read far ahead of timing:
//    the same outputs as an uninterrupted run;
//  - the broker stopped and restarted mid-replay: every snapshot still comes out.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "boxcall/schema/boxcall_generated.h"
#include "features/session_engine.h"
#include "harness.h"
#include "replay/source_publisher.h"
#include "sources/drive.h"
#include "sources/fastf1_reader.h"
#include "sources/window.h"
#include "stream/codec.h"
#include "support/records.h"
#include "support/sinks.h"

namespace boxcall {
namespace {

const std::string kRace = std::string(BOXCALL_SHARED_DATA) + "/fastf1/2023_01_bahrain_race";

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

std::string toml_for(const app::Config& c) {
  const auto& t = c.stream.topics;
  return "[kafka]\nbrokers = \"" + c.stream.brokers + "\"\ngroup_id = \"" + c.stream.group_id +
         "\"\n[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n[topics]\ntelemetry = \"" + t.telemetry +
         "\"\ntiming = \"" + t.timing + "\"\nfeatures = \"" + t.features + "\"\npredictions = \"" + t.predictions +
         "\"\nalerts = \"" + t.alerts + "\"\ndead_letter = \"" + t.dead_letter +
         "\"\n[commit]\ninterval = \"100ms\"\n[models]\nenabled = false\n";
}

/// `boxcall run --config <file>` in a child process with extra environment.
pid_t spawn_boxcall(const std::string& toml, const std::map<std::string, std::string>& env) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execl(BOXCALL_BINARY, BOXCALL_BINARY, "run", "--config", toml.c_str(), "--metrics", "", "--log-level", "warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

/// Waits for the child to exit (false on timeout); `status` as waitpid gives it.
bool wait_exit(pid_t pid, int& status, std::chrono::seconds timeout) {
  return itest::wait_for([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
}

std::multiset<std::string> reasons(const std::vector<itest::Record>& dead) {
  std::multiset<std::string> r;
  for (const auto& d : dead) r.insert(d.headers.at("boxcall.reason"));
  return r;
}

TEST(RobustnessThroughKafka, RecordsThatCrashedBoxcallAreDeadLettersAndACrashDoesNotLoop) {
  const auto topics = itest::fresh_topics("robust-crash", 1);
  auto config = itest::test_config(topics);
  const std::string toml = "/tmp/boxcall-" + topics.telemetry + ".toml";
  std::ofstream(toml) << toml_for(config);
  const std::string state = "/tmp/boxcall-state-" + topics.telemetry;
  const std::map<std::string, std::string> env{{"BOXCALL_STATE_DIR", state}, {"BOXCALL_FAULT_CRASH_SESSION", "poison"}};
  // Two 50-byte records that used to be a SIGSEGV, then a session whose records
  // crash boxcall (fault injection), then a healthy session.
  itest::produce(topics.telemetry, "s1", bytes(R"({"schema_version": 1, "payload_type": "CarSample"})"));
  itest::produce(topics.timing, "s1",
                 bytes(R"({"schema_version": 1, "payload_type": "TimingEvent", "payload": {"session": "s1",
                 "car_number": 1, "event_time_ns": 1700000000000000000, "body_type": "LapCompleted"}})"));
  stream::Codec codec;
  auto encoded = [&](const std::string& session, const Input& in) {
    auto b = codec.encode(session, in);
    return std::vector<std::uint8_t>(b.begin(), b.end());
  };
  const auto poison = itest::produce(topics.telemetry, "poison", encoded("poison", Input(test::sample(1, 0))));
  for (int i = 0; i < 20; ++i) {
    itest::produce(topics.telemetry, "good", encoded("good", Input(test::sample(44, i * test::kSecond))));
  }

  // The first run dies on the poisoned record (SIGABRT), leaving a crash marker.
  int status = 0;
  pid_t pid = spawn_boxcall(toml, env);
  ASSERT_TRUE(wait_exit(pid, status, std::chrono::seconds(90))) << "boxcall did not die on the poisoned record";
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status;
  ASSERT_TRUE(std::filesystem::exists(state + "/" + config.stream.group_id + ".crash"));

  // The restart (the fault still injected) skips that record: a dead letter, not a crash loop.
  pid = spawn_boxcall(toml, env);
  const bool skipped =
      itest::wait_for([&] { return reasons(itest::read_topic(topics.dead_letter)).contains("processing_crashed"); },
                      std::chrono::seconds(90));
  const bool good_out = itest::wait_for(
      [&] {
        for (const auto& r : itest::read_topic(topics.features)) {
          if (r.key == "good") return true;
        }
        return false;
      },
      std::chrono::seconds(60));
  kill(pid, SIGTERM);
  ASSERT_TRUE(wait_exit(pid, status, std::chrono::seconds(60)));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_TRUE(skipped) << "the poisoned record never reached the dead-letter topic";
  EXPECT_TRUE(good_out) << "the healthy session was not processed";

  const auto dead = itest::read_topic(topics.dead_letter);
  const auto r = reasons(dead);
  EXPECT_GE(r.count("missing_field"), 2U);
  EXPECT_EQ(r.count("processing_crashed"), 1U);
  for (const auto& d : dead) {
    if (d.headers.at("boxcall.reason") != "processing_crashed") continue;
    EXPECT_EQ(d.headers.at("boxcall.source.offset"), std::to_string(poison.offset));
  }
  // Committed past it: the marker is gone.
  EXPECT_FALSE(std::filesystem::exists(state + "/" + config.stream.group_id + ".crash"));
  std::filesystem::remove_all(state);
  std::remove(toml.c_str());
}

/// What the offline driver computes from `source`: the uninterrupted run every
/// live run must equal (outputs as sorted JSON lines, and what it rejected).
struct Offline {
  std::vector<std::string> outputs;
  sources::DriveStats stats;
};
Offline offline_features(sources::RecordSource& source, const features::FeatureConfig& fc, const std::string& session) {
  features::FeatureHandler engine(fc);
  test::CollectingSink sink;
  Offline out;
  out.stats = sources::drive(source, engine, sink);
  stream::Codec codec;
  for (auto& o : sink.outputs) out.outputs.push_back(codec.to_json(std::as_bytes(codec.encode(session, o))).value());
  std::sort(out.outputs.begin(), out.outputs.end());
  return out;
}

std::vector<std::string> live_features(const std::string& topic, const std::string& bootstrap = "") {
  stream::Codec codec;
  std::vector<std::string> out;
  for (const auto& r : itest::read_topic(topic, std::chrono::seconds(120), bootstrap)) {
    out.push_back(codec.to_json(std::as_bytes(std::span<const std::uint8_t>(r.value))).value());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Lines in one list and not the other (for a readable failure).
std::string difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  std::string s = std::to_string(only_a.size()) + " only live, " + std::to_string(only_b.size()) + " only offline";
  for (std::size_t i = 0; i < only_a.size() && i < 25; ++i) s += "\nonly live:    " + only_a[i];
  for (std::size_t i = 0; i < only_b.size() && i < 25; ++i) s += "\nonly offline: " + only_b[i];
  return s;
}

TEST(RobustnessThroughKafka, ARestartWithABacklogRebuildsTheSameOutputsAsAnUninterruptedRun) {
  const auto topics = itest::fresh_topics("robust-restart", 2);
  std::vector<std::unique_ptr<sources::RecordSource>> srcs;
  srcs.push_back(std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(kRace)));
  const std::string session = srcs.front()->session_id();
  auto published = replay::publish_sources(std::move(srcs), itest::broker(), topics, {});
  ASSERT_EQ(published.failed, 0U);
  const double total = static_cast<double>(published.telemetry + published.timing);

  auto config = itest::test_config(topics);
  // At least once: B publishes the whole session again, into a topic of its own (exactly-once
  // would publish only what A did not commit; exactly_once_test.cc covers that).
  config.stream.processing_guarantee = stream::kAtLeastOnce;
  // Instance A runs part of the race, then stops (its commits stay at the session's start).
  {
    stream::StreamMetrics metrics;
    itest::Job a(config, metrics);
    stream::RunOptions options;
    options.status_interval = std::chrono::milliseconds(0);
    options.duration = std::chrono::minutes(3);
    options.should_stop = [&] {
      return metrics.records_in_count(stream::InputTopic::Telemetry) >= 250'000 &&
             metrics.output_count(stream::OutputTopic::Features) > 0;
    };
    ASSERT_EQ(a.run(options), 0);
  }
  // Instance B restarts with the whole backlog of telemetry, and its timing comes late: the
  // race's timing records are published to B's timing topic only once B has read telemetry
  // far ahead and paused it. (Which input a consumer happens to fetch first is up to the
  // broker's fetch order; holding timing back makes "telemetry far ahead" certain.) The
  // reorder buffer must pause telemetry, not release it early.
  const auto held = itest::fresh_topics("robust-restart-held", 2);
  auto b_config = config;
  b_config.stream.topics.features = topics.features + "-b";
  b_config.stream.topics.timing = held.timing;
  b_config.stream.kafka_consumer["max.partition.fetch.bytes"] = "67108864";
  b_config.stream.kafka_consumer["fetch.max.bytes"] = "134217728";
  b_config.stream.processor.pause_buffered_records = 20'000;
  // The empty timing topic holds the session (and the pause) while its producer is slow; the
  // session stays open while nothing arrives. Both bound the time the copy below may take.
  b_config.stream.processor.input_idle = std::chrono::seconds(15);
  b_config.stream.processor.idle_timeout = std::chrono::seconds(15);
  stream::StreamMetrics metrics;
  std::atomic<bool> give_up{false};
  std::atomic<bool> done{false};
  auto b_run = std::async(std::launch::async, [&] {
    itest::Job b(b_config, metrics);
    stream::RunOptions options;
    options.status_interval = std::chrono::milliseconds(0);
    options.duration = std::chrono::minutes(8);  // a guard, not a synchronisation
    options.should_stop = [&] {
      return give_up.load() || (metrics.records_in_count(stream::InputTopic::Telemetry) +
                                        metrics.records_in_count(stream::InputTopic::Timing) >=
                                    total &&
                                metrics.active_sessions() == 0);
    };
    const int code = b.run(options);
    done = true;
    return code;
  });
  const bool paused =
      itest::wait_for([&] { return metrics.backpressure_pauses() > 0 || done.load(); }, std::chrono::seconds(120));
  if (!paused || metrics.backpressure_pauses() == 0) {
    give_up = true;
    b_run.wait();
    FAIL() << "telemetry never paused while timing was held back (" << metrics.reorder_overflows() << " overflows)";
  }
  EXPECT_EQ(metrics.output_count(stream::OutputTopic::Features), 0.0) << "nothing released before timing arrived";
  const auto timing_records = itest::read_topic(topics.timing);
  ASSERT_EQ(timing_records.size(), published.timing);
  for (const auto& r : timing_records) {
    // Same key, same partitioner as the replay: same partition, same order per session.
    itest::produce(held.timing, r.key.empty() ? std::nullopt : std::optional<std::string>(r.key), r.value);
  }
  ASSERT_EQ(b_run.get(), 0);
  EXPECT_EQ(metrics.reorder_overflows(), 0);
  EXPECT_EQ(metrics.late_accepted_count(), 0);

  sources::FastF1Reader offline(sources::FastF1Paths::from_export_dir(kRace));
  const auto expected = offline_features(offline, b_config.features, session);
  // The race's own bad samples (gear out of range), and nothing else.
  EXPECT_EQ(metrics.dead_letter_total(), static_cast<double>(expected.stats.invalid + expected.stats.rejected));
  const auto live = live_features(b_config.stream.topics.features);
  EXPECT_EQ(live.size(), expected.outputs.size());
  EXPECT_TRUE(live == expected.outputs) << difference(live, expected.outputs);
}

TEST(RobustnessThroughKafka, ABrokerRestartMidReplayLosesNoSnapshot) {
  itest::ScopedBroker broker;
  const auto topics = itest::fresh_topics("robust-broker", 2, broker.bootstrap());
  // 12 minutes of racing, replayed at 100x (about 7 s), with the broker stopped
  // for a while in the middle: the replay holds records back, then sends them in a burst.
  const TimeNs from = 4500 * test::kSecond, to = from + 720 * test::kSecond;
  auto window = [&] {
    return std::make_unique<sources::WindowSource>(
        std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(kRace)), from, to);
  };
  auto config = itest::test_config(topics, broker.bootstrap());
  // At least once: the run stays up through the 14 s outage and may repeat outputs (counted below);
  // exactly-once aborts a transaction that outlives transaction.timeout.ms (docs/operations.md).
  config.stream.processing_guarantee = stream::kAtLeastOnce;
  config.features.scheduled_laps = 57;
  // At 100x, a few milliseconds between the producer's telemetry and timing batches are
  // seconds of race time: the watermark allows for it (docs/operations.md, replays).
  config.stream.processor.max_out_of_orderness = std::chrono::seconds(2);
  // After the broker's return the producer re-acquires its id and sends what it held back, one
  // topic before the other; an input read to its end is not idle for `recovery_idle`. The default
  // (5 s) was too short for that catch-up under AddressSanitizer on a 2-core machine (the inputs
  // parted: 400 snapshots missed); the test allows the catch-up the time a loaded machine needs.
  config.stream.processor.recovery_idle = std::chrono::seconds(30);
  stream::StreamMetrics metrics;
  itest::Job job(config, metrics);
  std::atomic<bool> done{false};
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(4);
  options.should_stop = [&] { return done.load(); };
  auto run = std::async(std::launch::async, [&] { return job.run(options); });

  replay::PublishStats published;
  auto replay = std::async(std::launch::async, [&] {
    std::vector<std::unique_ptr<sources::RecordSource>> srcs;
    srcs.push_back(window());
    replay::PublishOptions po;
    po.speed = 100;
    published = replay::publish_sources(std::move(srcs), broker.bootstrap(), topics, po);
  });
  ASSERT_TRUE(itest::wait_for([&] { return metrics.output_count(stream::OutputTopic::Features) > 200; },
                              std::chrono::seconds(60)));
  broker.stop();
  std::this_thread::sleep_for(std::chrono::seconds(8));  // the outage itself, not a synchronisation
  broker.start();
  replay.get();
  ASSERT_EQ(published.failed, 0U);

  // At least once (a rebalance after the broker's return repeats outputs; exactly-once is
  // another test): every output of the uninterrupted run comes out, with the same values.
  auto offline = window();
  const auto expected = offline_features(*offline, config.features, offline->session_id());
  std::vector<std::string> live;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (std::chrono::steady_clock::now() < deadline) {
    live = live_features(topics.features, broker.bootstrap());
    live.erase(std::unique(live.begin(), live.end()), live.end());
    if (std::includes(live.begin(), live.end(), expected.outputs.begin(), expected.outputs.end())) break;
    std::this_thread::sleep_for(std::chrono::seconds(2));  // polling interval: reading the topic takes a while
  }
  done = true;
  ASSERT_EQ(run.get(), 0);
  std::size_t expected_snapshots = 0;
  for (const auto& e : expected.outputs) expected_snapshots += e.find("FeatureSnapshot") != std::string::npos;
  EXPECT_GT(expected_snapshots, 10'000U);
  EXPECT_TRUE(std::includes(live.begin(), live.end(), expected.outputs.begin(), expected.outputs.end()))
      << difference(live, expected.outputs);
  // The broker's absence outlasts the group session: the rebalance that follows re-reads the
  // session and recomputes everything; outputs of the first pass stay in the topic (at-least-once
  // delivery, docs/operations.md).
  if (live.size() > expected.outputs.size()) {
    std::cout << "note: " << live.size() - expected.outputs.size() << " outputs of the first pass\n";
  }
  EXPECT_EQ(metrics.reorder_overflows(), 0);
}

}  // namespace
}  // namespace boxcall
