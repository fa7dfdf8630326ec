#pragma once
// What the `boxcall ingest` bridges share: where records go (a Kafka cluster,
// the embedded broker, or stdout only), --print, dead letters, signals and the
// closing summary. Publishing goes through replay::publish_sources, so the
// bridges add no Kafka code of their own.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "replay/source_publisher.h"
#include "sources/source.h"
#include "stream/config.h"

namespace boxcall::app {

/// Options every ingest bridge takes.
struct IngestOutputArgs {
  std::string brokers;  ///< empty: the embedded broker
  bool print = false;
  bool no_publish = false;
  int partitions = 4;
  std::string telemetry_topic, timing_topic, dead_letter_topic;
  std::vector<std::string> kafka_overrides;
  std::uint64_t dead_letter_limit = 1000;

  void add_to(CLI::App* cmd);
};

/// Set by SIGINT / SIGTERM once ingest_install_signals() ran.
std::atomic<bool>& ingest_stop_flag();
void ingest_install_signals();

/// Dead letters of a bridge: counted always, queued for publishing up to a limit.
class DeadLetterBox {
 public:
  explicit DeadLetterBox(std::uint64_t limit) : limit_(limit) {}
  void add(replay::DeadLetter d);
  std::vector<replay::DeadLetter>& queue() { return queue_; }
  [[nodiscard]] std::uint64_t total() const { return total_; }
  [[nodiscard]] std::uint64_t beyond_limit() const { return total_ > limit_ ? total_ - limit_ : 0; }
  /// Also write each dead letter as a JSON line on stdout (--print).
  bool print = false;

 private:
  std::uint64_t limit_;
  std::uint64_t total_ = 0;
  std::vector<replay::DeadLetter> queue_;
};

/// Publishes (or only prints) `source` until it ends; returns the process exit code.
/// `label` names the bridge in progress and summary lines.
int run_ingest(sources::RecordSource& source, const IngestOutputArgs& args, DeadLetterBox& dead,
               const std::string& label);

}  // namespace boxcall::app
