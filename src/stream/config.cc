#include "stream/config.h"

#include <charconv>
#include <set>

#include "base/result.h"
#include "stream/kafka.h"

namespace boxcall::stream {

const std::string& TopicNames::output(OutputTopic t) const {
  switch (t) {
    case OutputTopic::Features:
      return features;
    case OutputTopic::Predictions:
      return predictions;
    case OutputTopic::Alerts:
      return alerts;
    case OutputTopic::DeadLetter:
      break;
  }
  return dead_letter;
}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& what) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc{} || p == begin || value < 0) {
    throw ConfigError(what + ": '" + text + "' is not a duration (examples: 250ms, 5s, 2m; a bare number is seconds)");
  }
  std::string unit(p, end);
  double ms = 0;
  if (unit == "ms")
    ms = value;
  else if (unit.empty() || unit == "s")  // a bare number is seconds, everywhere
    ms = value * 1e3;
  else if (unit == "m" || unit == "min")
    ms = value * 60e3;
  else if (unit == "h")
    ms = value * 3600e3;
  else
    throw ConfigError(what + ": unknown duration unit '" + unit + "' in '" + text + "' (use ms, s, m or h)");
  return std::chrono::milliseconds(static_cast<long long>(ms + 0.5));
}

void apply_kafka_overrides(const std::vector<std::string>& overrides, StreamConfig& c) {
  for (const auto& kv : overrides) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("-X " + kv + ": expected a librdkafka property as key=value");
    }
    c.kafka_common[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
}

void validate(const StreamConfig& c) {
  if (c.log_format != "text" && c.log_format != "json") {
    throw ConfigError("log format '" + c.log_format + "' is not one of: text, json");
  }
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.contains(c.log_level))
    throw ConfigError("log level '" + c.log_level + "' is not one of: trace, debug, info, warn, error, critical, off");
  if (c.group_id.empty()) throw ConfigError("kafka.group_id must not be empty");
  std::set<std::string> names;
  for (const auto* n : {&c.topics.telemetry, &c.topics.timing, &c.topics.features, &c.topics.predictions,
                        &c.topics.alerts, &c.topics.dead_letter}) {
    if (n->empty()) throw ConfigError("topic names must not be empty");
    if (!names.insert(*n).second) throw ConfigError("topic '" + *n + "' is configured for two roles");
  }
  if (c.commit_interval.count() <= 0) throw ConfigError("commit.interval must be positive");
  auto merged = [&](std::map<std::string, std::string> props, const std::map<std::string, std::string>& client) {
    for (const auto& [k, v] : c.kafka_common) props[k] = v;
    for (const auto& [k, v] : client) props[k] = v;
    return props;
  };
  check_kafka_properties(merged(default_consumer_properties(), c.kafka_consumer),
                         merged(default_producer_properties(), c.kafka_producer));
}

std::map<std::string, std::string> default_consumer_properties() {
  return {
      {"enable.auto.commit", "false"},  // boxcall commits what is safe, see processor.h
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},          // EOF releases watermarks (idle inputs)
      {"fetch.wait.max.ms", "5"},                // low latency
      {"max.partition.fetch.bytes", "8388608"},  // catch-up and replay read in large batches (bench/RESULTS.md)
      {"fetch.error.backoff.ms", "50"},
      {"partition.assignment.strategy", "range"},  // same partitions of telemetry and timing together
      {"isolation.level", "read_committed"},
  };
}

std::map<std::string, std::string> default_producer_properties() {
  return {
      {"linger.ms", "1"},  // low latency; batching still happens under load
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"partitioner", "murmur2_random"},  // the Java clients' partitioner: same key, same partition
      {"compression.type", "lz4"},
      {"message.timeout.ms", "60000"},
  };
}

}  // namespace boxcall::stream
