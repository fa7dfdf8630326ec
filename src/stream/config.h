#pragma once
/// Stream configuration: the transport's part of boxcall's configuration
/// (app/config.h reads the TOML file and the command line into it once).
/// librdkafka properties stay strings, named as librdkafka names them, and are
/// checked by librdkafka at start-up.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "stream/output_encoding.h"
#include "stream/processor.h"

namespace boxcall::stream {

struct TopicNames {
  std::string telemetry = "telemetry";
  std::string timing = "timing";
  std::string features = "features";
  std::string predictions = "predictions";
  std::string alerts = "alerts";
  std::string dead_letter = "dead-letter";
  [[nodiscard]] const std::string& input(InputTopic t) const { return t == InputTopic::Telemetry ? telemetry : timing; }
  [[nodiscard]] const std::string& output(OutputTopic t) const;
};

struct StreamConfig {
  /// Empty: the embedded broker (librdkafka's in-process mock cluster).
  std::string brokers;
  std::string group_id = "boxcall";
  TopicNames topics;
  /// Encoding of the features, predictions and alerts topics ([output]).
  OutputEncodings output;
  ProcessorConfig processor;
  std::chrono::milliseconds commit_interval{1000};
  std::chrono::milliseconds startup_timeout{10000};
  std::chrono::milliseconds shutdown_timeout{10000};
  /// "host:port" of the HTTP port (pit-wall page, API, /metrics): `[metrics] address`
  /// or `run --http`; empty disables it.
  std::string metrics_address = "127.0.0.1:9464";
  /// Where the crash marker lives (processor.h set_poisoned); empty: the default
  /// ($BOXCALL_STATE_DIR, $XDG_STATE_HOME/boxcall, ~/.local/state/boxcall).
  std::string state_dir;
  std::string log_format = "text";  ///< text | json
  std::string log_level = "info";
  /// librdkafka properties by their librdkafka names: common, then per client.
  std::map<std::string, std::string> kafka_common;
  std::map<std::string, std::string> kafka_consumer;
  std::map<std::string, std::string> kafka_producer;
};

/// Parses "250ms", "5s", "2m", "1h"; a bare number is seconds ("20" = 20 s). Throws ConfigError.
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& what);

/// Applies "key=value" librdkafka overrides (`-X`) to the common properties.
void apply_kafka_overrides(const std::vector<std::string>& overrides, StreamConfig& config);

/// Cross-field checks. Throws ConfigError.
void validate(const StreamConfig& config);

/// The low-latency defaults boxcall sets before any user property.
std::map<std::string, std::string> default_consumer_properties();
std::map<std::string, std::string> default_producer_properties();

}  // namespace boxcall::stream
