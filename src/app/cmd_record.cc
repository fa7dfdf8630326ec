// `boxcall record`: Kafka topics to a recording file that `boxcall replay`
// publishes back bit for bit (same keys, values, headers, per-partition order),
// paced by the recorded timestamps. Format: src/stream/recording.h, docs/replay.md.
#include <csignal>
#include <cstdio>
#include <memory>
#include <sstream>

#include "app/commands.h"
#include "replay/recording.h"
#include "stream/config.h"

namespace boxcall::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct RecordArgs {
  std::string brokers;
  std::string topics = "telemetry,timing";
  std::string out;
  std::string duration;
  bool until_end = false;
  std::string start;
  bool compress = false;
  std::vector<std::string> kafka_overrides;
};

int run_record(const RecordArgs& a) {
  if (a.brokers.empty()) throw ConfigError("--brokers is required");
  if (a.out.empty()) throw ConfigError("--out is required");
  std::vector<std::string> topics;
  std::stringstream ss(a.topics);
  for (std::string t; std::getline(ss, t, ',');) {
    if (!t.empty()) topics.push_back(t);
  }
  if (topics.empty()) throw ConfigError("--topics lists no topic");
  replay::RecordTopicsOptions o;
  if (!a.duration.empty()) o.duration = stream::parse_duration(a.duration, "--duration");
  o.until_end = a.until_end;
  if (a.start.empty())
    o.from_beginning = a.until_end;
  else if (a.start == "earliest")
    o.from_beginning = true;
  else if (a.start == "latest")
    o.from_beginning = false;
  else
    throw ConfigError("--start must be earliest or latest");
  if (a.until_end && !o.from_beginning) throw ConfigError("--until-end needs --start earliest");
  for (const auto& kv : a.kafka_overrides) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError("-X expects key=value, got '" + kv + "'");
    o.kafka[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  o.stop = &g_stop;
  o.on_progress = [](std::uint64_t n) {
    std::fprintf(stderr, "record: %llu records\n", static_cast<unsigned long long>(n));
  };
  o.progress_interval = std::chrono::seconds(5);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  replay::RecordingWriter writer(a.out, {a.compress, 1});
  auto stats = replay::record_topics(a.brokers, topics, writer, o);
  writer.close();
  std::string per_topic;
  std::uint64_t total = 0;
  for (const auto& [t, n] : stats.records) {
    per_topic += (per_topic.empty() ? "" : ", ") + t + " " + std::to_string(n);
    total += n;
  }
  std::fprintf(stderr, "record: %llu records (%s), %.1f MB of keys and values in %.2f s -> %s (%.1f MB)\n",
               static_cast<unsigned long long>(total), per_topic.empty() ? "none" : per_topic.c_str(),
               static_cast<double>(stats.bytes) / 1e6, stats.seconds, a.out.c_str(),
               static_cast<double>(std::filesystem::file_size(a.out)) / 1e6);
  return 0;
}

}  // namespace

void register_record(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<RecordArgs>();
  auto* cmd = app.add_subcommand(
      "record",
      "Record Kafka topics to a file that `boxcall replay` publishes back bit for bit, at the recorded pace.\n"
      "Stops after --duration, at the current end of every partition (--until-end), or on SIGINT/SIGTERM.");
  cmd->add_option("-b,--brokers", a->brokers, "Kafka bootstrap servers host:port[,...] (required)");
  cmd->add_option("-t,--topics", a->topics, "Comma-separated topics (default telemetry,timing)");
  cmd->add_option("-o,--out", a->out, "Recording file to write (required)");
  auto* d = cmd->add_option("-d,--duration", a->duration, "Record for this long, e.g. 10m");
  auto* u = cmd->add_flag("--until-end", a->until_end,
                          "Record from the beginning to the end every partition has now, then stop");
  d->excludes(u);
  cmd->add_option("--start", a->start, "earliest or latest (default: earliest with --until-end, else latest)");
  cmd->add_flag("-z,--compress", a->compress, "gzip the recording (replay reads both)");
  cmd->add_option("-X", a->kafka_overrides, "librdkafka consumer property key=value (repeatable)");
  cmd->callback([a, &run] { run = [a] { return run_record(*a); }; });
}

}  // namespace boxcall::app
