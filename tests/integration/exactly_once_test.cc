// Exactly-once through a real broker (issue 10): whatever fails, a read_committed consumer of
// the output topics reads exactly what an uninterrupted run of the same input publishes, key by
// key and value by value, counted: nothing lost, nothing twice.
//
// The reference is an uninterrupted run of a small synthetic race (in process). Each case runs
// the real binary (fork/exec) on fresh topics with the same input and compares the multisets of
// (topic, key, value) of features, predictions, alerts and dead letters.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <optional>
#include <random>
#include <sstream>

#include "harness.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/codec.h"
#include "stream/kafka.h"

namespace boxcall {
namespace {
using namespace std::chrono_literals;

/// (topic role, key, value bytes) -> how many times a read_committed consumer reads it.
using Multiset = std::map<std::string, int>;

sources::SynthConfig small_race() {
  sources::SynthConfig race;
  race.session_id = "eos-session";
  race.cars = 8;
  race.laps = 5;
  race.hz = 4;
  race.safety_car = false;
  return race;
}

std::size_t race_records() {
  std::size_t n = 0;
  for (sources::SynthRace r(small_race()); r.next();) ++n;
  return n;
}

void publish_race(const stream::TopicNames& topics, double speed = 0, std::atomic<std::uint64_t>* published = nullptr,
                  const std::string& bootstrap = "") {
  std::vector<std::unique_ptr<sources::RecordSource>> s;
  s.push_back(std::make_unique<sources::SynthRace>(small_race()));
  replay::PublishOptions options;
  options.speed = speed;
  if (published) {
    options.progress_interval = 50ms;
    options.on_progress = [published](const replay::PublishProgress& p) { *published = p.records; };
  }
  auto stats = replay::publish_sources(std::move(s), bootstrap.empty() ? itest::broker() : bootstrap, topics, options);
  ASSERT_EQ(stats.failed, 0U);
}

/// A feed-stall alert runs on processing time (no sample for 5 s of the instance's clock): an
/// outage of the broker really is one, an uninterrupted run has none. It is no function of the
/// records, so it is not compared with the reference (docs/operations.md, failure matrix).
std::optional<std::string> processing_time_alert(const std::vector<std::uint8_t>& value) {
  static stream::Codec codec;
  auto json = codec.to_json(std::as_bytes(std::span<const std::uint8_t>(value)));
  if (!json || json.value().find("\"kind\": \"feed_stall\"") == std::string::npos) return std::nullopt;
  return json.value();
}

/// What a read_committed consumer reads, counted; feed-stall alerts go to `stalls` when given.
Multiset outputs(const stream::TopicNames& t, const std::string& bootstrap = "", Multiset* stalls = nullptr) {
  Multiset m;
  for (const auto& [role, name] : {std::pair<const char*, const std::string*>{"features", &t.features},
                                   {"predictions", &t.predictions},
                                   {"alerts", &t.alerts},
                                   {"dead-letter", &t.dead_letter}}) {
    for (const auto& r : itest::read_topic(*name, std::chrono::seconds(60), bootstrap)) {
      std::string entry = std::string(role) + '\0' + r.key + '\0' + std::string(r.value.begin(), r.value.end());
      if (name == &t.alerts) {
        if (auto stall = processing_time_alert(r.value)) {
          if (stalls != nullptr) ++(*stalls)[*stall];
          continue;
        }
      }
      ++m[entry];
    }
  }
  return m;
}

std::size_t size_of(const Multiset& m) {
  std::size_t n = 0;
  for (const auto& [k, c] : m) n += static_cast<std::size_t>(c);
  return n;
}

/// What differs, readably: per topic, outputs missing and outputs read too often.
std::string difference(const Multiset& expected, const Multiset& actual) {
  struct Diff {
    int missing = 0, repeated = 0, unknown = 0;
  };
  std::map<std::string, Diff> by_topic;
  for (const auto& [k, c] : expected) {
    auto it = actual.find(k);
    const int got = it == actual.end() ? 0 : it->second;
    auto& d = by_topic[k.substr(0, k.find('\0'))];
    if (got < c) d.missing += c - got;
    if (got > c) d.repeated += got - c;
  }
  std::ostringstream samples;
  stream::Codec codec;
  auto show = [&](const char* what, const std::string& k) {
    const auto value = k.substr(k.find('\0', k.find('\0') + 1) + 1);
    auto json = codec.to_json(std::as_bytes(std::span<const char>(value.data(), value.size())));
    samples << what << " " << k.substr(0, k.find('\0')) << ": " << (json ? json.value() : "?") << "\n";
  };
  int shown = 0;
  for (const auto& [k, c] : actual) {
    if (!expected.contains(k)) {
      by_topic[k.substr(0, k.find('\0'))].unknown += c;
      if (shown++ < 3) show("not in the reference", k);
    }
  }
  shown = 0;
  for (const auto& [k, c] : expected) {
    if (!actual.contains(k) && shown++ < 3) show("missing", k);
  }
  std::ostringstream out;
  for (const auto& [topic, d] : by_topic) {
    if (d.missing || d.repeated || d.unknown) {
      out << topic << ": " << d.missing << " missing, " << d.repeated << " repeated, " << d.unknown
          << " not in the reference; ";
    }
  }
  return out.str() + "\n" + samples.str();
}

/// The outputs of an uninterrupted run of the race (all published first), computed once per
/// setting of snapshots. Rolling snapshots are stamped with the session watermark when emitted:
/// a run that consumes the race while it is published at high speed may stamp some differently
/// from one that reads it as a backlog (docs/operations.md, "Replay speed"), so the paced case
/// compares without them.
const Multiset& reference(bool snapshots) {
  static std::map<bool, Multiset> refs;
  if (auto it = refs.find(snapshots); it != refs.end()) return it->second;
  const auto topics = itest::fresh_topics(snapshots ? "eos-ref" : "eos-ref-nosnap", 1);
  publish_race(topics);
  auto config = itest::test_config(topics);
  config.stream.instance_id = "reference";
  config.models.fallback = "rules";  // predictions without model files (the documented rules)
  // The paced case replays at 25x: records of the two inputs may arrive a little apart
  // (docs/operations.md, "Replay speed and max_out_of_orderness").
  config.stream.processor.max_out_of_orderness = 2s;
  if (!snapshots) config.features.snapshot_period = std::chrono::nanoseconds(0);
  stream::StreamMetrics metrics;
  itest::Job job(config, metrics);
  const double total = static_cast<double>(race_records());
  stream::RunOptions options;
  options.status_interval = 0ms;
  options.duration = std::chrono::minutes(2);
  options.should_stop = [&] { return metrics.applied_count() >= total; };
  EXPECT_EQ(job.run(options), 0);
  EXPECT_EQ(metrics.applied_count(), total) << "the reference run must apply the whole race";
  return refs[snapshots] = outputs(topics);
}

/// The real binary, with its stderr in a file; killed (SIGKILL) if still running at the end.
class Instance {
 public:
  Instance(const std::string& toml, const std::string& log) : log_(log) {
    pid_ = fork();
    if (pid_ == 0) {
      FILE* err = std::freopen(log.c_str(), "w", stderr);
      (void)err;
      execl(BOXCALL_BINARY, BOXCALL_BINARY, "run", "--config", toml.c_str(), "--metrics", "", "--log-level", "warn",
            static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~Instance() {
    if (pid_ > 0) kill_now();
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  void kill_now() {
    if (pid_ <= 0) return;  // exited already (never kill(-1, ...))
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  /// The exit code within `timeout`, or nullopt (still running).
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    std::optional<int> code;
    if (pid_ <= 0) return code;
    itest::wait_for(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            pid_ = -1;
          }
          return code.has_value();
        },
        timeout);
    return code;
  }
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    auto code = wait_exit(60s);
    return code ? *code : -1;
  }
  [[nodiscard]] std::string log() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

/// A config file for the binary: the test broker, exactly-once, a stable instance id (so a
/// restart fences its dead predecessor and joins as the same static member at once).
std::string write_config(const stream::TopicNames& topics, const std::string& name, bool snapshots = true,
                         const std::string& bootstrap = "") {
  const auto config = itest::test_config(topics, bootstrap);
  const std::string toml = ::testing::TempDir() + "boxcall-eos-" + topics.telemetry + ".toml";
  std::ofstream(toml) << "[kafka]\nbrokers = \"" << config.stream.brokers << "\"\ngroup_id = \""
                      << config.stream.group_id << "\"\nprocessing_guarantee = \"exactly_once\"\ninstance_id = \""
                      << name << "\"\n[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n\"group.instance.id\" = \""
                      << name << "\"\n[topics]\ntelemetry = \"" << topics.telemetry << "\"\ntiming = \""
                      << topics.timing << "\"\nfeatures = \"" << topics.features << "\"\npredictions = \""
                      << topics.predictions << "\"\nalerts = \"" << topics.alerts << "\"\ndead_letter = \""
                      << topics.dead_letter
                      << "\"\n[watermark]\nmax_out_of_orderness = \"2s\"\n[models]\nenabled = false\nfallback = "
                         "\"rules\"\n[features]\nsnapshot_period = \""
                      << (snapshots ? "1s" : "0s") << "\"\n[commit]\ninterval = \"200ms\"\n[state]\ndir = \""
                      << ::testing::TempDir() << "boxcall-eos-state-" << topics.telemetry << "\"\n";
  return toml;
}

/// Runs `instance` until a read_committed consumer reads as many outputs as the reference, then
/// stops it cleanly; returns what is read then.
Multiset finish(Instance& instance, const stream::TopicNames& topics, const Multiset& reference,
                const std::string& bootstrap = "") {
  const std::size_t expected = size_of(reference);
  Multiset got;
  const bool complete = itest::wait_for(
      [&] {
        got = outputs(topics, bootstrap);
        return size_of(got) >= expected;
      },
      std::chrono::minutes(2));
  EXPECT_TRUE(complete) << "outputs read: " << size_of(got) << " of " << expected << "\n" << instance.log();
  EXPECT_EQ(instance.stop(), 0) << instance.log();
  Multiset stalls;
  auto final_outputs = outputs(topics, bootstrap, &stalls);
  // Not compared, but published like every output: once each, and every raise cleared.
  int raised = 0, cleared = 0;
  for (const auto& [entry, count] : stalls) {
    EXPECT_EQ(count, 1) << "a feed-stall alert published twice";
    (entry.find("\"active\": true") != std::string::npos ? raised : cleared) += count;
  }
  EXPECT_EQ(raised, cleared) << "every feed-stall alert is cleared by the end of the session";
  if (!stalls.empty()) std::cout << "feed-stall alerts (processing time, not compared): " << stalls.size() << "\n";
  return final_outputs;
}

/// Sets one configuration of a topic (AlterConfigs: the topic's other settings back to their defaults).
void set_topic_config(const std::string& topic, const char* name, const char* value) {
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", itest::broker());
  auto admin = conf.create(RD_KAFKA_PRODUCER);
  rd_kafka_ConfigResource_t* res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  ASSERT_EQ(rd_kafka_ConfigResource_set_config(res, name, value), RD_KAFKA_RESP_ERR_NO_ERROR);
  stream::KafkaQueue queue(rd_kafka_queue_new(admin.get()));
  rd_kafka_AlterConfigs(admin.get(), &res, 1, nullptr, queue.get());
  rd_kafka_ConfigResource_destroy(res);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), 30000);
  ASSERT_NE(ev, nullptr) << "AlterConfigs timed out";
  std::string error = rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) : "";
  if (const auto* result = rd_kafka_event_AlterConfigs_result(ev)) {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** resources = rd_kafka_AlterConfigs_result_resources(result, &n);
    for (size_t i = 0; i < n; ++i) {
      if (rd_kafka_ConfigResource_error(resources[i])) error = rd_kafka_ConfigResource_error_string(resources[i]);
    }
  }
  rd_kafka_event_destroy(ev);
  ASSERT_EQ(error, "");
}

TEST(ExactlyOnceThroughKafka, AnUninterruptedRunIsTheReference) {
  const auto& ref = reference(true);
  ASSERT_GT(size_of(ref), 100U);
  int lap_features = 0;
  for (const auto& [k, c] : ref) lap_features += k.starts_with(std::string("features\0", 9)) ? c : 0;
  EXPECT_GT(lap_features, 0);
}

// SIGKILL at five random points while the race is published (25x real time), restarting each
// time: a restart fences the dead instance, aborts its open transaction, re-reads the session
// from its first record and publishes only what was not committed. Without rolling snapshots
// (see reference(); the produce-failure case compares them).
TEST(ExactlyOnceThroughKafka, FiveKillsAtRandomPointsLoseAndRepeatNothing) {
  const auto& ref = reference(/*snapshots=*/false);
  ASSERT_GE(size_of(ref), 60U);  // lap features and predictions
  const auto topics = itest::fresh_topics("eos-kill", 1);
  const std::string toml = write_config(topics, "kill", /*snapshots=*/false);
  const std::string log = ::testing::TempDir() + "boxcall-eos-kill.log";

  // Five random points of the race, one in each fifth of its middle (at least ~1.5 s apart).
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> within(0.0, 0.12);
  const double total = static_cast<double>(race_records());
  std::vector<std::uint64_t> kills;
  std::string points;
  for (int i = 0; i < 5; ++i) {
    kills.push_back(static_cast<std::uint64_t>(total * (0.12 + 0.16 * i + within(rng))));
    points += std::to_string(kills.back()) + " ";
  }
  std::cout << "seed " << seed << ": SIGKILL once the race is published up to records " << points << "of " << total
            << "\n";
  RecordProperty("kill_points", points);

  std::atomic<std::uint64_t> published{0};
  auto publisher = std::async(std::launch::async, [&] { publish_race(topics, 25, &published); });
  for (std::uint64_t k : kills) {
    Instance instance(toml, log);
    ASSERT_TRUE(itest::wait_for([&] { return published.load() >= k; }, 2min));
    instance.kill_now();
  }
  // Failover of a restarted instance: from the restart after the last SIGKILL to the first output
  // committed after the ones already read (the session re-read from its start, the committed part
  // suppressed). Printed for docs/operations.md; bounded generously.
  const std::size_t before = size_of(outputs(topics));
  const auto restarted_at = std::chrono::steady_clock::now();
  Instance last(toml, log);
  ASSERT_TRUE(itest::wait_for([&] { return size_of(outputs(topics)) > before; }, 1min)) << last.log();
  const auto failover =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - restarted_at);
  std::cout << "restart after SIGKILL -> first new committed output: " << failover.count() << " ms\n";
  RecordProperty("restart_to_first_output_ms", std::to_string(failover.count()));
  EXPECT_LT(failover, 20s);
  publisher.get();
  const auto got = finish(last, topics, ref);
  EXPECT_EQ(size_of(got), size_of(ref));
  EXPECT_TRUE(got == ref) << difference(ref, got);
  std::remove(toml.c_str());
}

// An output topic that refuses every batch of records (max.message.bytes below any): boxcall aborts
// the transaction, commits nothing, exits non-zero with one clear line; once the topic accepts
// records again, a restart publishes everything exactly once.
TEST(ExactlyOnceThroughKafka, AProduceThatKeepsFailingCommitsNothingAndARestartCompletes) {
  const auto& ref = reference(true);
  const auto topics = itest::fresh_topics("eos-refuse", 1);
  // Room for the broker's transaction markers (about 80 bytes; a topic that refuses them leaves
  // the transaction unfinishable), none for a batch of outputs.
  set_topic_config(topics.features, "max.message.bytes", "100");
  publish_race(topics);
  const std::string toml = write_config(topics, "refuse");
  const std::string log = ::testing::TempDir() + "boxcall-eos-refuse.log";
  {
    Instance failing(toml, log);
    const auto code = failing.wait_exit(60s);
    ASSERT_TRUE(code.has_value()) << "boxcall kept running with an output topic that refuses records\n"
                                  << failing.log();
    EXPECT_EQ(*code, 1) << failing.log();
    EXPECT_NE(failing.log().find("an output could not be delivered; stopping without committing past it"),
              std::string::npos)
        << failing.log();
  }
  EXPECT_EQ(size_of(outputs(topics)), 0U) << "nothing of an aborted transaction is visible";

  set_topic_config(topics.features, "max.message.bytes", "1048588");
  Instance restarted(toml, log);
  const auto got = finish(restarted, topics, ref);
  EXPECT_EQ(size_of(got), size_of(ref));
  EXPECT_TRUE(got == ref) << difference(ref, got);
  std::remove(toml.c_str());
}

// The broker frozen (SIGSTOP) for 10 s mid-race, a broker of the test's own: the open
// transaction outlives transaction.timeout.ms, so boxcall either commits after the thaw or stops
// with exit 1 and one line; restarted if it stopped, the outputs are exactly the reference.
TEST(ExactlyOnceThroughKafka, ABrokerFrozenForTenSecondsLosesAndRepeatsNothing) {
  const auto& ref = reference(/*snapshots=*/false);
  itest::ScopedBroker broker;
  const auto topics = itest::fresh_topics("eos-freeze", 1, broker.bootstrap());
  const std::string toml = write_config(topics, "freeze", /*snapshots=*/false, broker.bootstrap());
  const std::string log = ::testing::TempDir() + "boxcall-eos-freeze.log";
  std::atomic<std::uint64_t> published{0};
  auto publisher = std::async(std::launch::async, [&] { publish_race(topics, 25, &published, broker.bootstrap()); });
  auto instance = std::make_unique<Instance>(toml, log);
  ASSERT_TRUE(itest::wait_for([&] { return size_of(outputs(topics, broker.bootstrap())) >= 8; }, 2min))
      << instance->log();
  broker.freeze();
  const auto frozen_at = std::chrono::steady_clock::now();
  // The freeze lasts 10 s: that duration is the scenario, not a synchronisation.
  itest::wait_for([&] { return std::chrono::steady_clock::now() - frozen_at >= 10s; }, 11s);
  broker.thaw();
  publisher.get();
  if (auto code = instance->wait_exit(15s)) {
    std::cout << "boxcall stopped after the freeze with exit code " << *code << "; restarting\n";
    EXPECT_EQ(*code, 1) << instance->log();
    instance = std::make_unique<Instance>(toml, log);
  } else {
    std::cout << "boxcall stayed up through the freeze\n";
  }
  const auto got = finish(*instance, topics, ref, broker.bootstrap());
  EXPECT_EQ(size_of(got), size_of(ref));
  EXPECT_TRUE(got == ref) << difference(ref, got);
  std::remove(toml.c_str());
}

// The broker stopped and started again (same data directory) mid-race: as a freeze, boxcall
// commits after it or stops with exit 1; restarted if it stopped, the outputs are the reference.
TEST(ExactlyOnceThroughKafka, ABrokerRestartMidRaceLosesAndRepeatsNothing) {
  const auto& ref = reference(/*snapshots=*/false);
  itest::ScopedBroker broker;
  const auto topics = itest::fresh_topics("eos-bounce", 1, broker.bootstrap());
  const std::string toml = write_config(topics, "bounce", /*snapshots=*/false, broker.bootstrap());
  const std::string log = ::testing::TempDir() + "boxcall-eos-bounce.log";
  std::atomic<std::uint64_t> published{0};
  auto publisher = std::async(std::launch::async, [&] { publish_race(topics, 25, &published, broker.bootstrap()); });
  auto instance = std::make_unique<Instance>(toml, log);
  ASSERT_TRUE(itest::wait_for([&] { return size_of(outputs(topics, broker.bootstrap())) >= 8; }, 2min))
      << instance->log();
  broker.stop();
  broker.start();
  publisher.get();
  if (auto code = instance->wait_exit(15s)) {
    std::cout << "boxcall stopped after the broker restart with exit code " << *code << "; restarting\n";
    EXPECT_EQ(*code, 1) << instance->log();
    instance = std::make_unique<Instance>(toml, log);
  } else {
    std::cout << "boxcall stayed up through the broker restart\n";
  }
  const auto got = finish(*instance, topics, ref, broker.bootstrap());
  EXPECT_EQ(size_of(got), size_of(ref));
  EXPECT_TRUE(got == ref) << difference(ref, got);
  std::remove(toml.c_str());
}

}  // namespace
}  // namespace boxcall
