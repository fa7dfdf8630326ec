// `boxcall run`: the live job. With --brokers it consumes a real Kafka
// cluster; without, it starts the embedded broker (librdkafka's mock cluster)
// and the built-in synthetic race, so one command shows boxcall working.
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "app/commands.h"
#include "app/config.h"
#include "app/live_serving.h"
#include "app/logging.h"
#include "app/models.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/kafka.h"
#include "stream/metrics.h"
#include "stream/runner.h"

namespace boxcall::app {
namespace {

struct RunArgs {
  std::string config_file;
  std::string brokers;
  std::string group;
  std::vector<std::string> kafka_overrides;
  std::optional<std::string> http;
  std::string web_root;
  std::string duration;
  std::optional<std::string> print;  ///< topics, comma-separated; "" = all
  bool summary = false;
  bool no_summary = false;
  int sessions = 1;
  double speed = 10.0;
  std::uint64_t seed = 1;
  int partitions = 4;
  std::optional<std::string> models;
  bool no_models = false;
  std::optional<std::string> output_encoding;
};

/// The command that prints the predictions readably, for the start-up hint.
std::string read_predictions_hint(const stream::StreamConfig& c) {
  if (c.output.predictions == stream::OutputEncoding::Json) {
    return "kcat -b " + c.brokers + " -C -t " + c.topics.predictions;
  }
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (ec ? std::string("boxcall") : self.string()) + " inspect --brokers " + c.brokers + " --topic " +
         c.topics.predictions + " --follow";
}

int run_job(const RunArgs& a) {
  Config config;
  if (!a.config_file.empty()) load_toml(a.config_file, config);
  stream::StreamConfig& sc = config.stream;
  if (!a.brokers.empty()) sc.brokers = a.brokers;
  if (!a.group.empty()) sc.group_id = a.group;
  if (a.http) sc.metrics_address = *a.http;
  const auto& cli_log = command_line_log_options();
  if (cli_log.format) sc.log_format = *cli_log.format;
  if (cli_log.level) sc.log_level = *cli_log.level;
  stream::apply_kafka_overrides(a.kafka_overrides, sc);
  if (a.output_encoding) sc.output.set_all(stream::parse_output_encoding(*a.output_encoding, "--output-encoding"));
  if (a.models) config.models.dir = *a.models;
  if (a.no_models) config.models.enabled = false;
  validate(config);
  std::optional<std::chrono::milliseconds> duration;
  if (!a.duration.empty()) duration = stream::parse_duration(a.duration, "--duration");
  if (a.sessions < 1 || a.sessions > 100000) throw ConfigError("--sessions must be 1-100000");
  if (a.speed < 0) throw ConfigError("--speed must be >= 0 (0: as fast as possible)");
  if (a.partitions < 1 || a.partitions > 1000) throw ConfigError("--partitions must be 1-1000");
  const auto printed = a.print ? parse_print_topics(*a.print) : std::array<bool, stream::kOutputTopics>{};
  check_listen_address(sc.metrics_address);
  configure_logging(sc.log_format, sc.log_level);
  auto models = std::make_shared<ModelSetup>(config.models);
  spdlog::info("strategy: {}", models->describe());
  LivePipelineFactory sessions(config.features, config.strategy, models);

  // Embedded default: an in-process broker and the synthetic race.
  std::unique_ptr<stream::MockCluster> embedded;
  if (sc.brokers.empty()) {
    embedded = std::make_unique<stream::MockCluster>(1);
    for (const auto* t : {&sc.topics.telemetry, &sc.topics.timing}) embedded->create_topic(*t, a.partitions);
    for (const auto* t : {&sc.topics.features, &sc.topics.predictions, &sc.topics.alerts, &sc.topics.dead_letter}) {
      embedded->create_topic(*t, a.partitions);
    }
    sc.brokers = embedded->bootstrap();
    if (sc.exactly_once()) {
      spdlog::info(
          "the embedded broker (librdkafka mock cluster) does not enforce transactions: processing at least once");
      sc.processing_guarantee = stream::kAtLeastOnce;
    }
    // The mock cluster waits 3 s before the first group join unless told otherwise.
    sc.kafka_consumer.emplace("session.timeout.ms", "6000");
    spdlog::info("embedded Kafka (librdkafka mock cluster) at {}", sc.brokers);
    spdlog::info("see the predictions as they come: {}", read_predictions_hint(sc));
    spdlog::info(
        "read them from Python or TypeScript: examples/README.md (headers and encodings: "
        "docs/wire-contract.md)");
  }

  stream::StreamMetrics metrics;
  models->on_reload_failure([&metrics] { metrics.model_reload_failed(); });
  const std::string models_dir =
      !config.models.enabled ? "" : (config.models.dir.empty() ? default_models_dir() : config.models.dir);
  LiveServing live(sc, metrics,
                   live_serving_options(sc, models_dir, config.models.fallback,
                                        {a.web_root, a.summary, a.no_summary, a.print.has_value()}));

  stream::Runner runner(sc, metrics, sessions);

  std::atomic<bool> stop_source{false};
  std::thread source_thread;
  if (embedded) {
    sources::SynthConfig base;
    base.seed = a.seed;
    auto configs = sources::make_synth_sessions(a.sessions, base);
    std::vector<std::unique_ptr<sources::RecordSource>> races;
    races.reserve(configs.size());
    for (auto& race : configs) races.push_back(std::make_unique<sources::SynthRace>(race));
    spdlog::info("synthetic source: {} session(s) x {} cars at {} Hz, {}x real time", a.sessions, base.cars, base.hz,
                 a.speed);
    source_thread = std::thread([&, races = std::move(races)]() mutable {
      replay::PublishOptions po;
      po.speed = a.speed;
      po.stop = &stop_source;
      try {
        auto stats = replay::publish_sources(std::move(races), sc.brokers, sc.topics, po);
        spdlog::info("synthetic source finished: {} telemetry, {} timing records in {:.1f} s", stats.telemetry,
                     stats.timing, stats.seconds);
      } catch (const std::exception& e) {
        spdlog::error("synthetic source: {}", e.what());
      }
    });
  }

  stream::RunOptions options;
  options.duration = duration;
  options.crash_marker = !embedded;  // the embedded broker's topics end with the process
  if (a.print) {
    options.on_output = [printed](stream::OutputTopic topic, std::string_view json) {
      if (!printed[static_cast<std::size_t>(topic)]) return;
      std::cout << "{\"topic\":\"" << stream::to_string(topic) << "\",\"record\":" << json << "}\n";
    };
  }
  live.attach(options);
  if (live.shows_summary()) options.status_interval = std::chrono::seconds(30);  // the summary is the progress
  int code = runner.run(options);
  stop_source = true;
  if (source_thread.joinable()) source_thread.join();
  std::cout.flush();
  return code;
}

}  // namespace

void register_run(CLI::App& app, std::function<int()>& run) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(
      "run",
      "Run the live job: consume telemetry and timing, publish features, predictions and alerts.\n"
      "Without --brokers (and no kafka.brokers in --config) boxcall starts an embedded Kafka broker\n"
      "and a synthetic 20-car race, so this one command shows it working.");
  cmd->add_option("-c,--config", args->config_file, "TOML configuration file (see deploy/boxcall.toml)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-b,--brokers", args->brokers, "Kafka bootstrap servers (host:port,...); empty: embedded broker");
  cmd->add_option("-g,--group", args->group, "Consumer group id (default boxcall)");
  cmd->add_option("-X", args->kafka_overrides, "librdkafka property key=value (repeatable), e.g. -X linger.ms=5");
  cmd->add_option("--http,--metrics", args->http,
                  "HTTP address host:port of the pit-wall page, the API and /metrics (default 127.0.0.1:9464; "
                  "'' off; port 0 picks one). --metrics is its older name");
  cmd->add_option("--web-root", args->web_root, "The page's files (default: <prefix>/share/boxcall/web)");
  cmd->add_option("-d,--duration", args->duration,
                  "Stop cleanly after this long: 20 (seconds), 90s, 5m (default: until SIGINT/SIGTERM)");
  cmd->add_option("-p,--print", args->print,
                  "Write acknowledged outputs as JSON lines on stdout: all, or a list such as predictions,alerts")
      ->expected(0, 1);
  cmd->add_flag("--summary", args->summary,
                "Write the compact live summary (a line per lap and per alert) even when stdout is not a terminal");
  cmd->add_flag("--no-summary", args->no_summary, "No live summary (default: on when stdout is a terminal)");
  cmd->add_option("--models", args->models,
                  "Model directory (boxcall train output); default: the models shipped with boxcall");
  cmd->add_flag("--no-models", args->no_models,
                "Run without models: no strategy predictions (alerts still run), or the rules of "
                "models.fallback = \"rules\"");
  cmd->add_option("--output-encoding", args->output_encoding,
                  "Encoding of the features, predictions and alerts topics: flatbuffers (default) or json\n"
                  "(overrides [output] in --config; every record says which in its content-type header)");
  cmd->add_option("--sessions", args->sessions, "Embedded mode: number of synthetic sessions (default 1)");
  cmd->add_option("--speed", args->speed, "Embedded mode: synthetic race speed-up over real time (default 10; 0 max)");
  cmd->add_option("--seed", args->seed, "Embedded mode: synthetic race seed (default 1)");
  cmd->add_option("--partitions", args->partitions, "Embedded mode: partitions per topic (default 4)");
  cmd->callback([args, &run] { run = [args] { return run_job(*args); }; });
}

}  // namespace boxcall::app
