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

/// `[kafka] processing_guarantee`.
inline constexpr const char* kExactlyOnce = "exactly_once";
inline constexpr const char* kAtLeastOnce = "at_least_once";

struct StreamConfig {
  /// Empty: the embedded broker (librdkafka's in-process mock cluster).
  std::string brokers;
  std::string group_id = "boxcall";
  /// "exactly_once": outputs and input offsets (with the replay ledger, replay_ledger.h) are
  /// committed in Kafka transactions; "at_least_once": offsets committed after the outputs
  /// were acknowledged. The embedded broker runs at least once (it does not enforce transactions).
  std::string processing_guarantee = kExactlyOnce;
  /// This instance's stable identity in the group: its transactional producer is
  /// `transactional.id = <group_id>-<instance_id>`, so a restart fences its dead predecessor.
  /// Empty: derived from the host name and the state directory (transactional_id()).
  std::string instance_id;
  [[nodiscard]] bool exactly_once() const { return processing_guarantee == kExactlyOnce; }
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

/// The transactional.id of exactly-once processing: `<group_id>-<instance_id>`, or, without an
/// instance id, `<group_id>-<host name>-<hash of the state directory>` (stable across restarts
/// of the same instance; two instances on one host have different state directories).
[[nodiscard]] std::string transactional_id(const StreamConfig& config, const std::string& state_file);

/// The low-latency defaults boxcall sets before any user property.
std::map<std::string, std::string> default_consumer_properties();
std::map<std::string, std::string> default_producer_properties();
/// Set in exactly-once processing after the producer defaults (before any user property).
std::map<std::string, std::string> default_transactional_properties();

}  // namespace boxcall::stream
