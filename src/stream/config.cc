#include "stream/config.h"

#include <toml++/toml.h>

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
    throw ConfigError(what + ": '" + text + "' is not a duration (examples: 250ms, 5s, 2m)");
  }
  std::string unit(p, end);
  double ms = 0;
  if (unit.empty() || unit == "ms")
    ms = value;
  else if (unit == "s")
    ms = value * 1e3;
  else if (unit == "m" || unit == "min")
    ms = value * 60e3;
  else if (unit == "h")
    ms = value * 3600e3;
  else
    throw ConfigError(what + ": unknown duration unit '" + unit + "' in '" + text + "' (use ms, s, m or h)");
  return std::chrono::milliseconds(static_cast<long long>(ms + 0.5));
}

namespace {

std::string where(const std::string& path, const std::string& key) { return path + ": " + key; }

std::map<std::string, std::string> string_table(const toml::table& t, const std::string& path,
                                                const std::string& name) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (auto s = v.value<std::string>())
      out[key] = *s;
    else if (auto i = v.value<std::int64_t>())
      out[key] = std::to_string(*i);
    else if (auto b = v.value<bool>())
      out[key] = *b ? "true" : "false";
    else
      throw ConfigError(where(path, name + "." + key) + ": librdkafka properties must be strings, numbers or booleans");
  }
  return out;
}

}  // namespace

void load_toml(const std::string& path, StreamConfig& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& src = e.source();
    throw ConfigError(path + ":" + std::to_string(src.begin.line) + ": " + std::string(e.description()));
  }
  static const std::set<std::string> known_sections{"kafka",   "topics", "watermark", "session", "features",
                                                    "metrics", "log",    "commit",    "models",  "output"};
  for (const auto& [k, v] : root) {
    if (!known_sections.contains(std::string(k.str()))) {
      throw ConfigError(where(path, std::string(k.str())) +
                        ": unknown section (known: kafka, topics, watermark, "
                        "session, features, metrics, log, commit, models, output)");
    }
  }
  auto str = [&](const toml::node_view<toml::node>& n, const std::string& key, std::string& out) {
    if (!n) return;
    auto s = n.value<std::string>();
    if (!s) throw ConfigError(where(path, key) + ": expected a string");
    out = *s;
  };
  auto dur = [&](const toml::node_view<toml::node>& n, const std::string& key, std::chrono::milliseconds& out) {
    if (!n) return;
    if (auto s = n.value<std::string>())
      out = parse_duration(*s, where(path, key));
    else if (auto i = n.value<std::int64_t>())
      out = std::chrono::milliseconds(*i);
    else
      throw ConfigError(where(path, key) + ": expected a duration such as \"250ms\"");
  };
  str(root["kafka"]["brokers"], "kafka.brokers", c.brokers);
  str(root["kafka"]["group_id"], "kafka.group_id", c.group_id);
  if (auto* t = root["kafka"]["common"].as_table()) c.kafka_common = string_table(*t, path, "kafka.common");
  if (auto* t = root["kafka"]["consumer"].as_table()) c.kafka_consumer = string_table(*t, path, "kafka.consumer");
  if (auto* t = root["kafka"]["producer"].as_table()) c.kafka_producer = string_table(*t, path, "kafka.producer");
  for (auto [name, field] :
       std::initializer_list<std::pair<const char*, std::string*>>{{"telemetry", &c.topics.telemetry},
                                                                   {"timing", &c.topics.timing},
                                                                   {"features", &c.topics.features},
                                                                   {"predictions", &c.topics.predictions},
                                                                   {"alerts", &c.topics.alerts},
                                                                   {"dead_letter", &c.topics.dead_letter}}) {
    str(root["topics"][name], std::string("topics.") + name, *field);
  }
  if (auto* t = root["output"].as_table()) {
    std::map<std::string, std::string> keys;
    for (const auto& [k, v] : *t) {
      str(root["output"][k.str()], "output." + std::string(k.str()), keys[std::string(k.str())]);
    }
    apply_output_section(keys, where(path, "output"), c.output);
  }
  dur(root["watermark"]["max_out_of_orderness"], "watermark.max_out_of_orderness", c.processor.max_out_of_orderness);
  dur(root["watermark"]["allowed_lateness"], "watermark.allowed_lateness", c.processor.allowed_lateness);
  dur(root["watermark"]["lap_close_grace"], "watermark.lap_close_grace", c.processor.lap_close_grace);
  dur(root["watermark"]["input_idle"], "watermark.input_idle", c.processor.input_idle);
  dur(root["session"]["idle_timeout"], "session.idle_timeout", c.processor.idle_timeout);
  dur(root["session"]["expiry"], "session.expiry", c.processor.session_expiry);
  std::chrono::milliseconds snapshot(
      std::chrono::duration_cast<std::chrono::milliseconds>(c.processor.features.snapshot_period));
  dur(root["features"]["snapshot_period"], "features.snapshot_period", snapshot);
  c.processor.features.snapshot_period = snapshot;
  if (auto laps = root["features"]["scheduled_laps"]) {
    auto v = laps.value<std::int64_t>();
    if (!v || *v < 1 || *v > 500) throw ConfigError(where(path, "features.scheduled_laps") + ": expected 1-500");
    c.processor.features.scheduled_laps = static_cast<std::int32_t>(*v);
  }
  dur(root["commit"]["interval"], "commit.interval", c.commit_interval);
  str(root["models"]["dir"], "models.dir", c.processor.models.dir);
  dur(root["models"]["reload_interval"], "models.reload_interval", c.processor.models.reload_interval);
  str(root["models"]["fallback"], "models.fallback", c.processor.models.fallback);
  str(root["metrics"]["address"], "metrics.address", c.metrics_address);
  str(root["log"]["format"], "log.format", c.log_format);
  str(root["log"]["level"], "log.level", c.log_level);
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
  if (c.processor.models.fallback != "none" && c.processor.models.fallback != "rules") {
    throw ConfigError("models.fallback '" + c.processor.models.fallback + "' is not one of: none, rules");
  }
  if (c.processor.idle_timeout.count() <= 0) throw ConfigError("session.idle_timeout must be positive");
  if (c.processor.session_expiry < c.processor.idle_timeout) {
    throw ConfigError("session.expiry must not be shorter than session.idle_timeout");
  }
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
