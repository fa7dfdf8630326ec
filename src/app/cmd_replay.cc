// `boxcall replay`: publishes a recorded session to the input topics -- a
// FastF1 export, a boxcall recording or F1 live-timing files -- at real time,
// N times faster, or as fast as possible, with progress and a summary on stderr.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "app/publish_progress.h"
#include "base/time_text.h"
#include "replay/recording.h"
#include "replay/source_publisher.h"
#include "sources/fastf1_reader.h"
#include "sources/livetiming.h"
#include "stream/config.h"

namespace boxcall::app {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct ReplayArgs {
  std::vector<std::string> inputs;
  std::string format = "auto";
  std::string brokers;
  double speed = 1.0;
  bool max = false;
  std::string from, to;
  std::uint64_t limit = 0;
  std::string session;
  std::string start_utc;
  std::string start_time;
  std::string telemetry_topic, timing_topic, dead_letter_topic;
  std::vector<std::string> topic_map;
  bool keep_partitions = false;
  std::vector<std::string> kafka_overrides;
  std::string progress = "auto";
};

enum class Format { FastF1, Recording, LiveTiming };

Format detect(const std::filesystem::path& p, const std::string& forced) {
  if (forced == "fastf1") return Format::FastF1;
  if (forced == "recording") return Format::Recording;
  if (forced == "livetiming") return Format::LiveTiming;
  if (forced != "auto") throw ConfigError("--format must be auto, fastf1, recording or livetiming");
  if (!std::filesystem::exists(p)) throw ConfigError("input " + p.string() + " does not exist");
  if (std::filesystem::is_directory(p)) {
    if (std::filesystem::exists(p / "car_data") || std::filesystem::exists(p / "laps.csv")) return Format::FastF1;
    if (sources::is_live_timing(p)) return Format::LiveTiming;
    throw ConfigError("input " + p.string() +
                      " is neither a FastF1 export (car_data/, laps.csv) nor a live-timing directory (*.jsonStream)");
  }
  if (replay::is_recording(p)) return Format::Recording;
  if (sources::is_live_timing(p)) return Format::LiveTiming;
  throw ConfigError("input " + p.string() + " is not a boxcall recording nor a live-timing file");
}

std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items, const std::string& what) {
  std::map<std::string, std::string> out;
  for (const auto& kv : items) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError(what + " expects key=value, got '" + kv + "'");
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

std::optional<TimeNs> parse_time_option(const std::string& text, const std::string& what) {
  if (text.empty()) return std::nullopt;
  // "HH:MM:SS[.mmm]" or a duration such as "90s", "12m".
  if (text.find(':') != std::string::npos) {
    int h = 0, m = 0;
    double s = 0;
    if (std::sscanf(text.c_str(), "%d:%d:%lf", &h, &m, &s) != 3 || h < 0 || m < 0 || m > 59 || s < 0 || s >= 60) {
      throw ConfigError(what + ": expected HH:MM:SS[.mmm] or a duration like 90s, got '" + text + "'");
    }
    return static_cast<TimeNs>(h) * 3600 * kNsPerSecond + static_cast<TimeNs>(m) * 60 * kNsPerSecond + s_to_ns(s);
  }
  return std::chrono::duration_cast<std::chrono::nanoseconds>(stream::parse_duration(text, what)).count();
}

int run_replay(const ReplayArgs& a) {
  if (a.brokers.empty()) throw ConfigError("--brokers is required (host:port of the Kafka cluster to publish to)");
  if (a.speed < 0) throw ConfigError("--speed must be >= 0 (0: as fast as possible)");
  stream::TopicNames topics;
  if (!a.telemetry_topic.empty()) topics.telemetry = a.telemetry_topic;
  if (!a.timing_topic.empty()) topics.timing = a.timing_topic;
  if (!a.dead_letter_topic.empty()) topics.dead_letter = a.dead_letter_topic;

  replay::PublishOptions po;
  po.speed = a.max ? 0 : a.speed;
  po.kafka = parse_pairs(a.kafka_overrides, "-X");
  po.from_ns = parse_time_option(a.from, "--from");
  po.to_ns = parse_time_option(a.to, "--to");
  if (po.from_ns && po.to_ns && *po.to_ns < *po.from_ns) throw ConfigError("--to is before --from");
  po.limit = a.limit;
  po.topic_map = parse_pairs(a.topic_map, "--topic-map");
  po.keep_partitions = a.keep_partitions;
  po.stop = &g_stop;
  const auto mode = parse_progress_mode(a.progress);
  std::optional<TimeNs> window;
  if (po.to_ns) window = *po.to_ns - po.from_ns.value_or(0);
  install_progress(po, mode, "replay", a.limit ? std::optional<std::uint64_t>(a.limit) : std::nullopt, window);

  std::vector<Format> formats;
  for (const auto& in : a.inputs) formats.push_back(detect(in, a.format));
  const bool any_recording = std::find(formats.begin(), formats.end(), Format::Recording) != formats.end();
  if (any_recording && a.inputs.size() != 1) throw ConfigError("a recording is replayed on its own (one input)");

  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  replay::PublishStats stats;
  std::vector<replay::DeadLetter> dead_letters;
  std::array<std::uint64_t, static_cast<std::size_t>(Reason::kCount)> reject_counts{};
  if (any_recording) {
    replay::RecordingReader reader(a.inputs.front());
    stats = replay::publish_recording(reader, a.brokers, topics, po);
    if (!reader.complete() && !g_stop && !(a.limit && stats.records() >= a.limit) && !po.to_ns) {
      std::fprintf(stderr, "replay: warning: %s has no END frame%s (the recorder stopped abruptly)\n",
                   a.inputs.front().c_str(), reader.truncated() ? " and ends inside a frame" : "");
    }
  } else {
    std::vector<std::unique_ptr<sources::RecordSource>> srcs;
    for (std::size_t i = 0; i < a.inputs.size(); ++i) {
      if (formats[i] == Format::FastF1) {
        srcs.push_back(
            std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(a.inputs[i]), a.session));
      } else {
        sources::LiveTimingOptions lo;
        lo.session_id = a.session;
        if (!a.start_utc.empty()) {
          auto t = parse_utc_datetime(a.start_utc);
          if (!t) throw ConfigError("--start-utc: expected e.g. 2018-04-29T12:06:00Z, got '" + a.start_utc + "'");
          lo.start_utc_ns = *t;
        }
        lo.start_time_of_day_ns = parse_time_option(a.start_time, "--start-time");
        auto src = std::make_unique<sources::LiveTimingSource>(a.inputs[i], lo);
        const std::string key = src->session_id();
        src->on_reject([&dead_letters, &reject_counts, key](const sources::RejectedLine& r) {
          ++reject_counts[static_cast<std::size_t>(r.reason)];
          dead_letters.push_back({key,
                                  r.text,
                                  {{"boxcall.reason", std::string(to_string(r.reason))},
                                   {"boxcall.detail", r.detail},
                                   {"boxcall.source", r.source}}});
        });
        srcs.push_back(std::move(src));
      }
    }
    po.dead_letters = &dead_letters;
    for (const auto& s : srcs)
      spdlog::info("replay: session {} to {} / {}", s->session_id(), topics.telemetry, topics.timing);
    stats = replay::publish_sources(std::move(srcs), a.brokers, topics, po);
    for (std::size_t r = 0; r < reject_counts.size(); ++r) {
      if (reject_counts[r] == 0) continue;
      std::fprintf(stderr,
                   "replay: %llu live-timing line(s) rejected: %s (sent to %s with boxcall.reason, boxcall.source)\n",
                   static_cast<unsigned long long>(reject_counts[r]),
                   std::string(to_string(static_cast<Reason>(r))).c_str(), topics.dead_letter.c_str());
    }
  }
  print_summary("replay", stats, progress_is_tty(mode) && static_cast<bool>(po.on_progress));
  return stats.failed == 0 ? 0 : 1;
}

}  // namespace

void register_replay(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand(
      "replay",
      "Publish a recorded session to the input topics, keeping event order and relative timing.\n"
      "INPUT: a FastF1 export directory (car_data/, laps.csv ...), a boxcall recording (boxcall record,\n"
      "boxcall synth --out), or F1 live-timing files (a directory of *.jsonStream, one .jsonStream, or a\n"
      "FastF1 live-data file). Several FastF1 / live-timing inputs are merged in event time.");
  cmd->add_option("input", a->inputs, "What to replay (see above)")->required();
  cmd->add_option("-b,--brokers", a->brokers, "Kafka bootstrap servers host:port[,...] (required)");
  cmd->add_option("--format", a->format, "auto (default), fastf1, recording or livetiming");
  cmd->add_option("-s,--speed", a->speed, "Speed-up over real time: 1 (default), 10 ...; 0 = as fast as possible");
  cmd->add_flag("--max", a->max, "As fast as possible (same as --speed 0)");
  cmd->add_option("--from", a->from,
                  "Start at this session time (HH:MM:SS or 90s, 12m); recordings: time since the first record");
  cmd->add_option("--to", a->to, "Stop after this session time (same forms as --from)");
  cmd->add_option("-n,--limit", a->limit, "Stop after this many records");
  cmd->add_option("--session", a->session, "Session id (the record key); default: the input's directory name");
  cmd->add_option("--start-utc", a->start_utc,
                  "Live timing: UTC of session time 0, e.g. 2018-04-29T12:06:00Z (default: see docs/replay.md)");
  cmd->add_option("--start-time", a->start_time,
                  "Live timing: UTC time of day of session time 0 (HH:MM:SS), with the date of the directory name");
  cmd->add_option("--telemetry-topic", a->telemetry_topic, "Telemetry topic (default telemetry)");
  cmd->add_option("--timing-topic", a->timing_topic, "Timing topic (default timing)");
  cmd->add_option("--dead-letter-topic", a->dead_letter_topic,
                  "Topic for rejected live-timing lines (default dead-letter)");
  cmd->add_option("--topic-map", a->topic_map, "Recordings: publish recorded topic FROM to TO (FROM=TO, repeatable)");
  cmd->add_flag("--keep-partitions", a->keep_partitions,
                "Recordings: publish to the recorded partition (default: the key's partition)");
  cmd->add_option("-X", a->kafka_overrides, "librdkafka producer property key=value (repeatable)");
  cmd->add_option("--progress", a->progress, "auto (bar on a terminal, a line every 5 s otherwise), bar, lines, none");
  cmd->callback([a, &run] { run = [a] { return run_replay(*a); }; });
}

}  // namespace boxcall::app
