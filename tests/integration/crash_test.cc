// A crash may repeat work, never lose it: a boxcall process killed (SIGKILL)
// mid-session leaves its committed offsets at the session start, so the
// instance that takes over rebuilds the session's state from its first record
// and every lap of every car comes out, including those the dead one had done.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <set>

#include "boxcall/schema/boxcall_generated.h"
#include "harness.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/runner.h"

namespace boxcall {
namespace {

/// The records of `inner` from index `from` (inclusive) to `to` (exclusive).
class Slice final : public sources::RecordSource {
 public:
  Slice(const sources::SynthConfig& c, std::size_t from, std::size_t to) : race_(c), from_(from), to_(to) {}
  const std::string& session_id() const override { return race_.session_id(); }
  std::optional<Input> next() override {
    while (index_ < from_ && race_.next()) ++index_;
    if (index_ >= to_) return std::nullopt;
    ++index_;
    return race_.next();
  }

 private:
  sources::SynthRace race_;
  std::size_t from_, to_, index_ = 0;
};

std::set<std::pair<int, int>> laps_in(const std::string& topic) {
  std::set<std::pair<int, int>> laps;
  for (const auto& r : itest::read_topic(topic)) {
    if (const auto* f = wire::GetEnvelope(r.value.data())->payload_as_LapFeatures()) {
      laps.insert({f->car_number(), f->lap()});
    }
  }
  return laps;
}

TEST(CrashRecoveryThroughKafka, AKilledInstanceLosesNothing) {
  const auto topics = itest::fresh_topics("crash", 1);
  sources::SynthConfig race;
  race.session_id = "crash-session";
  race.cars = 4;
  race.laps = 6;
  race.hz = 4;
  race.safety_car = false;
  std::size_t total = 0;
  for (sources::SynthRace counter(race); counter.next();) ++total;
  const std::size_t half = total / 2;
  auto publish = [&](std::size_t from, std::size_t to) {
    std::vector<std::unique_ptr<sources::RecordSource>> s;
    s.push_back(std::make_unique<Slice>(race, from, to));
    auto stats = replay::publish_sources(std::move(s), itest::broker(), topics, {});
    ASSERT_EQ(stats.failed, 0U);
  };
  publish(0, half);

  // Instance A: the real binary, killed without warning once it has emitted laps.
  const auto config = itest::test_config(topics);
  const std::string toml = "/tmp/boxcall-crash-" + topics.telemetry + ".toml";
  std::ofstream(toml) << "[kafka]\nbrokers = \"" << config.stream.brokers << "\"\ngroup_id = \""
                      << config.stream.group_id
                      << "\"\n[kafka.consumer]\n\"session.timeout.ms\" = \"6000\"\n[topics]\ntelemetry = \""
                      << topics.telemetry << "\"\ntiming = \"" << topics.timing << "\"\nfeatures = \""
                      << topics.features << "\"\npredictions = \"" << topics.predictions << "\"\nalerts = \""
                      << topics.alerts << "\"\ndead_letter = \"" << topics.dead_letter
                      << "\"\n[commit]\ninterval = \"100ms\"\n";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(BOXCALL_BINARY, BOXCALL_BINARY, "run", "--config", toml.c_str(), "--metrics", "", "--log-level", "warn",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const bool emitted = itest::wait_for([&] { return laps_in(topics.features).size() >= 4; }, std::chrono::seconds(90));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(emitted) << "instance A emitted no laps";
  const auto laps_by_a = laps_in(topics.features);

  // The rest of the race arrives; instance B takes over the group.
  publish(half, total);
  stream::StreamMetrics metrics;
  itest::Job b(config, metrics);
  std::atomic<bool> done{false};
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(3);
  options.should_stop = [&] { return done.load(); };
  auto run = std::async(std::launch::async, [&] { return b.run(options); });
  const double all = static_cast<double>(total);
  EXPECT_TRUE(itest::wait_for(
      [&] {
        return metrics.records_in_count(stream::InputTopic::Telemetry) +
                   metrics.records_in_count(stream::InputTopic::Timing) >=
               all;
      },
      std::chrono::minutes(2)))
      << "B must re-read the session from its first record";
  done = true;
  ASSERT_EQ(run.get(), 0);
  std::remove(toml.c_str());

  const auto laps = laps_in(topics.features);
  for (const auto& lap : laps_by_a) EXPECT_TRUE(laps.contains(lap));
  for (int lap = 1; lap < race.laps; ++lap) {
    int cars = 0;
    for (const auto& [c, l] : laps) cars += l == lap;
    EXPECT_EQ(cars, race.cars) << "lap " << lap;
  }
  EXPECT_EQ(metrics.dead_letter_total(), 0);
}

}  // namespace
}  // namespace boxcall
