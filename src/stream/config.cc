#include "stream/config.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
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
  return std::chrono::milliseconds(std::llround(ms));
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
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!kLevels.contains(c.log_level))
    throw ConfigError("log level '" + c.log_level + "' is not one of: trace, debug, info, warn, error, critical, off");
  if (c.group_id.empty()) throw ConfigError("kafka.group_id must not be empty");
  if (c.processing_guarantee != kExactlyOnce && c.processing_guarantee != kAtLeastOnce) {
    throw ConfigError("kafka.processing_guarantee '" + c.processing_guarantee +
                      "' is not one of: exactly_once, at_least_once");
  }
  if (c.exactly_once()) {
    for (const auto* props : {&c.kafka_common, &c.kafka_producer}) {
      if (props->contains("transactional.id")) {
        throw ConfigError(
            "transactional.id is set by boxcall in exactly-once processing (from kafka.group_id and "
            "kafka.instance_id): set kafka.instance_id instead");
      }
    }
  }
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

std::string transactional_id(const StreamConfig& c, const std::string& state_file) {
  if (!c.instance_id.empty()) return c.group_id + "-" + c.instance_id;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0 || !host[0]) std::snprintf(host, sizeof(host), "host");
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the state file's path
  for (unsigned char ch : state_file) h = (h ^ ch) * 1099511628211ULL;
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%08llx", static_cast<unsigned long long>(h & 0xffffffffULL));
  return c.group_id + "-" + host + "-" + suffix;
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

std::map<std::string, std::string> default_transactional_properties() {
  return {
      // A transaction left open by a dead instance blocks read_committed readers of the output
      // partitions until the broker aborts it: a restart with the same transactional.id aborts it
      // at once, an instance that takes over waits this long (docs/operations.md).
      {"transaction.timeout.ms", "10000"},
      {"message.timeout.ms", "10000"},  // at most transaction.timeout.ms
  };
}

}  // namespace boxcall::stream
