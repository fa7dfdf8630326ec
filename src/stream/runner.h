#pragma once
/// The live event loop: a librdkafka consumer and producer driven by one
/// Boost.Asio io_context thread. librdkafka's queues signal a pipe when they
/// become non-empty, so the loop sleeps until there is work (no polling
/// timer on the data path). SIGINT/SIGTERM (or --duration) stop consuming,
/// wait for every output to be acknowledged, commit what is safe and return
/// exit code 0; what reorder buffers still hold is read again after a restart.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "base/session.h"
#include "stream/config.h"
#include "stream/metrics.h"
#include "stream/timeline.h"

namespace boxcall::stream {

struct RunOptions {
  /// Stop after this long (processing time); nullopt runs until a signal.
  std::optional<std::chrono::milliseconds> duration;
  /// Called on the loop thread for every output acknowledged by the broker,
  /// with its JSON form (dead letters: a JSON line with reason and source).
  std::function<void(OutputTopic, std::string_view json)> on_output;
  /// Called on the loop thread for every acknowledged feature, prediction and
  /// alert with its wire value (an Envelope FlatBuffer, valid during the call
  /// only). Must return at once: copy and hand over (serve::LiveFeed).
  std::function<void(OutputTopic, std::span<const std::byte> value)> on_acked;
  /// Period of the one-line progress log (0 disables).
  std::chrono::milliseconds status_interval{std::chrono::seconds(5)};
  /// Stops the loop when it returns true (checked every tick; tests).
  std::function<bool()> should_stop;
  /// Keep a crash marker (crash_marker.h): on for real clusters, off for the
  /// embedded broker, whose topics do not outlive the process.
  bool crash_marker = true;
  /// Records what the loop runs, batch by batch (timeline.h; benchmarks). Owned by the caller;
  /// written on the loop thread, read after run() returned.
  LoopTimeline* timeline = nullptr;
};

class Runner {
 public:
  /// Connects and checks topics; throws ConfigError (one line) when the
  /// configuration is bad or the brokers cannot be reached. `sessions` makes
  /// the handler of each session (the race logic, built by the caller).
  Runner(const StreamConfig& config, StreamMetrics& metrics, SessionHandlerFactory& sessions);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  /// Runs until stopped. Returns the process exit code (0: a clean stop).
  int run(const RunOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace boxcall::stream
