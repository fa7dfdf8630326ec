// `boxcall synth`: synthetic sessions (sources/synth.h) published to the input
// topics for load tests, or written to a recording (--out) for benchmarks.
#include <csignal>
#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "app/publish_progress.h"
#include "replay/recording.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/config.h"

namespace boxcall::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct SynthArgs {
  std::string brokers;
  std::string out;
  bool compress = false;
  int sessions = 1;
  int cars = 20;
  double hz = 10.0;
  std::uint64_t seed = 1;
  double speed = 0;
  bool max = false;
  int laps = 57;
  std::string session = "synth";
  std::uint64_t limit = 0;
  std::string telemetry_topic, timing_topic;
  std::vector<std::string> kafka_overrides;
  std::string progress = "auto";
};

int run_synth(const SynthArgs& a) {
  if (a.brokers.empty() == a.out.empty())
    throw ConfigError("give either --brokers (publish) or --out (write a recording)");
  if (a.sessions < 1 || a.sessions > 100000) throw ConfigError("--sessions must be 1-100000");
  if (a.speed < 0) throw ConfigError("--speed must be >= 0 (0: as fast as possible)");
  sources::SynthConfig base;
  base.session_id = a.session;
  base.seed = a.seed;
  base.cars = a.cars;
  base.hz = a.hz;
  base.laps = a.laps;
  std::vector<std::unique_ptr<sources::RecordSource>> races;
  std::uint64_t estimate = 0;
  for (auto& c :
       (a.sessions == 1 ? std::vector<sources::SynthConfig>{base} : sources::make_synth_sessions(a.sessions, base))) {
    auto race = std::make_unique<sources::SynthRace>(c);  // throws ConfigError on a bad config
    estimate += race->estimated_records();
    races.push_back(std::move(race));
  }
  stream::TopicNames topics;
  if (!a.telemetry_topic.empty()) topics.telemetry = a.telemetry_topic;
  if (!a.timing_topic.empty()) topics.timing = a.timing_topic;
  replay::PublishOptions po;
  po.speed = a.max ? 0 : a.speed;
  po.limit = a.limit;
  po.stop = &g_stop;
  for (const auto& kv : a.kafka_overrides) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError("-X expects key=value, got '" + kv + "'");
    po.kafka[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  const auto mode = parse_progress_mode(a.progress);
  install_progress(po, mode, "synth", a.limit ? std::min(a.limit, estimate) : estimate, std::nullopt);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "synth: %d session(s) x %d cars at %g Hz, %d laps, ~%llu records%s\n", a.sessions, a.cars, a.hz,
               a.laps, static_cast<unsigned long long>(estimate), a.out.empty() ? "" : (" -> " + a.out).c_str());
  replay::PublishStats stats;
  if (!a.out.empty()) {
    replay::RecordingWriter writer(a.out, {a.compress, 1});
    stats = replay::record_sources(std::move(races), topics, writer, po);
    writer.close();
  } else {
    stats = replay::publish_sources(std::move(races), a.brokers, topics, po);
  }
  print_summary("synth", stats, progress_is_tty(mode));
  return stats.failed == 0 ? 0 : 1;
}

}  // namespace

void register_synth(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<SynthArgs>();
  auto* cmd = app.add_subcommand(
      "synth",
      "Publish synthetic races (deterministic per seed) to the input topics for load tests, or write\n"
      "them to a recording with --out (replayable with boxcall replay; useful for benchmarks).");
  cmd->add_option("-b,--brokers", a->brokers, "Kafka bootstrap servers host:port[,...]");
  cmd->add_option("-o,--out", a->out, "Write a recording instead of publishing (timestamps = event time)");
  cmd->add_flag("-z,--compress", a->compress, "With --out: gzip the recording");
  cmd->add_option("--sessions", a->sessions, "Number of sessions (default 1; ids <session>-0001...)");
  cmd->add_option("--cars", a->cars, "Cars per session (default 20)");
  cmd->add_option("--hz", a->hz, "Telemetry samples per second per car (default 10)");
  cmd->add_option("--seed", a->seed, "Seed (default 1)");
  cmd->add_option("--laps", a->laps, "Race laps (default 57)");
  cmd->add_option("--session", a->session, "Session id, or prefix with --sessions > 1 (default synth)");
  cmd->add_option("-s,--speed", a->speed, "Speed-up over real time (default 0: as fast as possible)");
  cmd->add_flag("--max", a->max, "As fast as possible (same as --speed 0)");
  cmd->add_option("-n,--limit", a->limit, "Stop after this many records");
  cmd->add_option("--telemetry-topic", a->telemetry_topic, "Telemetry topic (default telemetry)");
  cmd->add_option("--timing-topic", a->timing_topic, "Timing topic (default timing)");
  cmd->add_option("-X", a->kafka_overrides, "librdkafka producer property key=value (repeatable)");
  cmd->add_option("--progress", a->progress, "auto, bar, lines, none");
  cmd->callback([a, &run] { run = [a] { return run_synth(*a); }; });
}

}  // namespace boxcall::app
