#include "stream/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace boxcall::stream {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/boxcall-config-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

TEST(Config, ParsesDurations) {
  EXPECT_EQ(parse_duration("250ms", "x").count(), 250);
  EXPECT_EQ(parse_duration("5s", "x").count(), 5000);
  EXPECT_EQ(parse_duration("2m", "x").count(), 120000);
  EXPECT_EQ(parse_duration("1.5s", "x").count(), 1500);
  EXPECT_EQ(parse_duration("40", "x").count(), 40);
  EXPECT_THROW(parse_duration("5 parsecs", "x"), ConfigError);
  EXPECT_THROW(parse_duration("-1s", "x"), ConfigError);
}

TEST(Config, LoadsTomlAndKeepsDefaults) {
  auto path = write_temp(R"(
[kafka]
brokers = "127.0.0.1:9092"
[kafka.producer]
"linger.ms" = 5
[topics]
features = "f1-features"
[watermark]
allowed_lateness = "2s"
)");
  StreamConfig c;
  load_toml(path, c);
  EXPECT_EQ(c.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.kafka_producer.at("linger.ms"), "5");
  EXPECT_EQ(c.topics.features, "f1-features");
  EXPECT_EQ(c.topics.telemetry, "telemetry");
  EXPECT_EQ(c.processor.allowed_lateness.count(), 2000);
  validate(c);
  std::remove(path.c_str());
}

TEST(Config, BadConfigurationFailsWithOneClearLine) {
  auto path = write_temp("[watermark]\nallowed_lateness = \"soon\"\n");
  StreamConfig c;
  try {
    load_toml(path, c);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("watermark.allowed_lateness"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  std::remove(path.c_str());

  auto unknown = write_temp("[kafak]\nbrokers = \"x\"\n");
  EXPECT_THROW(load_toml(unknown, c), ConfigError);
  std::remove(unknown.c_str());

  StreamConfig dup;
  dup.topics.features = dup.topics.telemetry;
  EXPECT_THROW(validate(dup), ConfigError);
  EXPECT_THROW(apply_kafka_overrides({"no-equals-sign"}, dup), ConfigError);
}

}  // namespace
}  // namespace boxcall::stream

namespace boxcall::stream {
namespace {

TEST(Config, ShippedExampleLoadsToTheDefaults) {
  StreamConfig shipped;
  load_toml(std::string(BOXCALL_SOURCE_DIR) + "/deploy/boxcall.toml", shipped);
  validate(shipped);
  StreamConfig defaults;
  EXPECT_EQ(shipped.brokers, defaults.brokers);
  EXPECT_EQ(shipped.processor.allowed_lateness, defaults.processor.allowed_lateness);
  EXPECT_EQ(shipped.processor.max_out_of_orderness, defaults.processor.max_out_of_orderness);
  EXPECT_EQ(shipped.processor.idle_timeout, defaults.processor.idle_timeout);
  EXPECT_EQ(shipped.processor.lap_close_grace, defaults.processor.lap_close_grace);
  EXPECT_EQ(shipped.processor.input_idle, defaults.processor.input_idle);
  EXPECT_EQ(shipped.processor.session_expiry, defaults.processor.session_expiry);
  EXPECT_EQ(shipped.processor.features.snapshot_period, defaults.processor.features.snapshot_period);
  EXPECT_EQ(shipped.commit_interval, defaults.commit_interval);
  EXPECT_EQ(shipped.metrics_address, defaults.metrics_address);
  EXPECT_EQ(shipped.topics.dead_letter, defaults.topics.dead_letter);
}

}  // namespace
}  // namespace boxcall::stream

namespace boxcall::stream {
namespace {

TEST(Config, ModelsSection) {
  auto path = write_temp("[models]\ndir = \"/srv/models\"\nreload_interval = \"1m\"\nfallback = \"rules\"\n");
  StreamConfig c;
  EXPECT_TRUE(c.processor.models.dir.empty());
  EXPECT_EQ(c.processor.models.fallback, "none");
  load_toml(path, c);
  EXPECT_EQ(c.processor.models.dir, "/srv/models");
  EXPECT_EQ(c.processor.models.reload_interval.count(), 60000);
  EXPECT_EQ(c.processor.models.fallback, "rules");
  validate(c);
  c.processor.models.fallback = "guess";
  EXPECT_THROW(validate(c), ConfigError);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace boxcall::stream
