#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace boxcall::app {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/boxcall-config-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

std::string error_of(const std::string& toml) {
  auto path = write_temp(toml);
  Config c;
  std::string msg;
  try {
    load_toml(path, c);
    validate(c);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  std::remove(path.c_str());
  return msg;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Config, ParsesDurations) {
  EXPECT_EQ(stream::parse_duration("250ms", "x").count(), 250);
  EXPECT_EQ(stream::parse_duration("5s", "x").count(), 5000);
  EXPECT_EQ(stream::parse_duration("2m", "x").count(), 120000);
  EXPECT_EQ(stream::parse_duration("1.5s", "x").count(), 1500);
  EXPECT_EQ(stream::parse_duration("40", "x").count(), 40000) << "a bare number is seconds (--duration 40)";
  EXPECT_EQ(stream::parse_duration("0.5", "x").count(), 500);
  EXPECT_THROW(stream::parse_duration("5 parsecs", "x"), ConfigError);
  EXPECT_THROW(stream::parse_duration("-1s", "x"), ConfigError);
}

TEST(Config, LoadsTomlIntoEveryModuleAndKeepsDefaults) {
  auto path = write_temp(R"(
[kafka]
brokers = "127.0.0.1:9092"
[kafka.producer]
"linger.ms" = 5
[topics]
features = "f1-features"
[watermark]
allowed_lateness = "2s"
max_event_time_step = 600
[features]
snapshot_period = "500ms"
scheduled_laps = 57
[strategy]
scenarios = 200
[alerts]
cliff_slope_s_per_lap = 0.5
[models]
dir = "/srv/models"
reload_interval = "1m"
fallback = "rules"
)");
  Config c;
  load_toml(path, c);
  EXPECT_EQ(c.stream.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.stream.kafka_producer.at("linger.ms"), "5");
  EXPECT_EQ(c.stream.topics.features, "f1-features");
  EXPECT_EQ(c.stream.topics.telemetry, "telemetry");
  EXPECT_EQ(c.stream.processor.allowed_lateness.count(), 2000);
  EXPECT_EQ(c.stream.processor.max_event_time_step, std::chrono::minutes(10)) << "a bare number is seconds";
  EXPECT_EQ(c.features.snapshot_period, std::chrono::milliseconds(500));
  EXPECT_EQ(c.features.scheduled_laps, 57);
  EXPECT_EQ(c.strategy.scenarios, 200);
  EXPECT_DOUBLE_EQ(c.strategy.alerts.cliff_slope_s_per_lap, 0.5);
  EXPECT_EQ(c.models.dir, "/srv/models");
  EXPECT_EQ(c.models.reload_interval, std::chrono::minutes(1));
  EXPECT_EQ(c.models.fallback, "rules");
  validate(c);
  std::remove(path.c_str());
}

TEST(Config, BadConfigurationFailsWithOneClearLine) {
  const std::string bad_value = error_of("[watermark]\nallowed_lateness = \"soon\"\n");
  EXPECT_NE(bad_value.find("watermark.allowed_lateness"), std::string::npos) << bad_value;
  EXPECT_EQ(bad_value.find('\n'), std::string::npos) << bad_value;

  EXPECT_NE(error_of("[kafak]\nbrokers = \"x\"\n").find("did you mean 'kafka'"), std::string::npos);
  // Issue 8: a misspelled key inside a known section was silently ignored.
  const std::string misspelled = error_of("[watermark]\nallowed_latenes = \"2s\"\n");
  EXPECT_NE(misspelled.find("watermark.allowed_latenes: unknown key"), std::string::npos) << misspelled;
  EXPECT_NE(misspelled.find("did you mean 'allowed_lateness'"), std::string::npos) << misspelled;
  EXPECT_NE(error_of("[models]\nfallback = \"guess\"\n").find("not one of: none, rules"), std::string::npos);
  EXPECT_NE(error_of("[strategy]\nscenarios = 0\n").find("strategy.scenarios"), std::string::npos);

  Config dup;
  dup.stream.topics.features = dup.stream.topics.telemetry;
  EXPECT_THROW(validate(dup), ConfigError);
  EXPECT_THROW(stream::apply_kafka_overrides({"no-equals-sign"}, dup.stream), ConfigError);
}

// Found by the configuration fuzzer (tests/fuzz/config_fuzz.cc): a quoted key holding a newline, and
// toml++ quoting the newline it "saw", made the one-line error two lines (and let a file forge log lines).
TEST(Config, ErrorsStayOneLineWhateverTheFileHolds) {
  const std::string key = error_of("[kafka]\n\"bro\\nkers\" = 1\n");
  EXPECT_NE(key.find("kafka.bro\\nkers: unknown key"), std::string::npos) << key;
  EXPECT_EQ(key.find('\n'), std::string::npos) << key;
  const std::string saw = error_of("[kafka]\nbrokers = n\n# x\n");
  EXPECT_NE(saw.find(":2: "), std::string::npos) << saw;
  EXPECT_EQ(saw.find('\n'), std::string::npos) << saw;
  const std::string ctl = error_of("[kafka]\n\"a\\u0007\\tb\" = 1\n");
  EXPECT_NE(ctl.find("kafka.a\\x07\\tb"), std::string::npos) << ctl;
}

TEST(Config, OutputSectionSetsEveryTopicThenPerTopicKeysOverride) {
  // The per-topic key comes first in the file: `encoding` must not override it.
  auto path = write_temp("[output]\npredictions_encoding = \"flatbuffers\"\nencoding = \"json\"\n");
  Config c;
  load_toml(path, c);
  std::remove(path.c_str());
  using stream::OutputEncoding;
  EXPECT_EQ(c.stream.output.features, OutputEncoding::Json);
  EXPECT_EQ(c.stream.output.predictions, OutputEncoding::FlatBuffers);
  EXPECT_EQ(c.stream.output.alerts, OutputEncoding::Json);
  EXPECT_EQ(c.stream.output.of(stream::OutputTopic::DeadLetter), OutputEncoding::FlatBuffers)
      << "dead letters are never re-encoded";
  validate(c);
}

TEST(Config, BadOutputEncodingsFailAtStartWithOneLine) {
  auto expect_one_line = [](const std::string& msg, std::initializer_list<const char*> parts) {
    EXPECT_FALSE(msg.empty()) << "expected a ConfigError";
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  expect_one_line(error_of("[output]\nencoding = \"protobuf\"\n"),
                  {"output.encoding", "'protobuf'", "flatbuffers or json"});
  expect_one_line(error_of("[output]\nalerts_encoding = \"JSON\"\n"), {"output.alerts_encoding", "'JSON'"});
  expect_one_line(error_of("[output]\npredictions = \"json\"\n"), {"output.predictions", "unknown key"});
  expect_one_line(error_of("[output]\ndead_letter_encoding = \"json\"\n"), {"dead letters keep", "as received"});
  expect_one_line(error_of("[output]\nencoding = 1\n"), {"output.encoding", "expected a string"});
}

// The reference and the example are generated from the option table: the files
// in the repository must be what the code generates (regenerate, do not edit).
TEST(Config, ReferenceAndExampleInTheRepositoryAreWhatTheCodeGenerates) {
  EXPECT_EQ(read_file(std::string(BOXCALL_SOURCE_DIR) + "/docs/configuration.md"), configuration_reference())
      << "regenerate: boxcall config reference > docs/configuration.md";
  EXPECT_EQ(read_file(std::string(BOXCALL_SOURCE_DIR) + "/deploy/boxcall.toml"), example_toml())
      << "regenerate: boxcall config example > deploy/boxcall.toml";
}

TEST(Config, ShippedExampleLoadsToTheDefaults) {
  Config shipped;
  load_toml(std::string(BOXCALL_SOURCE_DIR) + "/deploy/boxcall.toml", shipped);
  validate(shipped);
  const Config defaults;
  EXPECT_EQ(shipped.stream.processor.allowed_lateness, defaults.stream.processor.allowed_lateness);
  EXPECT_EQ(shipped.stream.processor.max_event_time_step, defaults.stream.processor.max_event_time_step);
  EXPECT_EQ(shipped.features.snapshot_period, defaults.features.snapshot_period);
  EXPECT_EQ(shipped.strategy.scenarios, defaults.strategy.scenarios);
  EXPECT_EQ(shipped.strategy.alerts.stall_after, defaults.strategy.alerts.stall_after);
  EXPECT_EQ(shipped.models.fallback, defaults.models.fallback);
  EXPECT_EQ(shipped.stream.metrics_address, defaults.stream.metrics_address);
}

}  // namespace
}  // namespace boxcall::app
