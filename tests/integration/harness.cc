#include "harness.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <signal.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "stream/kafka.h"

namespace boxcall::itest {

std::string broker() {
  const char* dir = std::getenv("BOXCALL_TEST_BROKER_DIR");
  if (!dir) throw std::runtime_error("BOXCALL_TEST_BROKER_DIR is not set: run through ctest (broker fixture)");
  std::ifstream in(std::string(dir) + "/bootstrap");
  std::string address;
  if (!(in >> address)) throw std::runtime_error(std::string("no broker bootstrap file in ") + dir);
  return address;
}

stream::TopicNames fresh_topics(const std::string& test_name, int partitions, const std::string& bootstrap) {
  std::random_device rd;
  const std::string suffix = test_name + "-" + std::to_string(rd() % 1000000000);
  stream::TopicNames t;
  t.telemetry = "telemetry-" + suffix;
  t.timing = "timing-" + suffix;
  t.features = "features-" + suffix;
  t.predictions = "predictions-" + suffix;
  t.alerts = "alerts-" + suffix;
  t.dead_letter = "dead-letter-" + suffix;
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", bootstrap.empty() ? broker() : bootstrap);
  auto admin = conf.create(RD_KAFKA_PRODUCER);
  stream::create_topics(admin.get(),
                        {{t.telemetry, partitions},
                         {t.timing, partitions},
                         {t.features, partitions},
                         {t.predictions, partitions},
                         {t.alerts, partitions},
                         {t.dead_letter, partitions}},
                        std::chrono::seconds(30));
  return t;
}

app::Config test_config(const stream::TopicNames& topics, const std::string& bootstrap) {
  app::Config c;
  c.stream.brokers = bootstrap.empty() ? broker() : bootstrap;
  c.stream.group_id = "boxcall-" + topics.telemetry;
  c.stream.topics = topics;
  c.stream.metrics_address.clear();
  c.stream.kafka_consumer["session.timeout.ms"] = "6000";
  c.stream.state_dir = (std::filesystem::temp_directory_path() / "boxcall-itest-state").string();
  c.models.enabled = false;
  return c;
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return condition();
    std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval, not a synchronisation
  }
  return true;
}

std::vector<Record> read_topic(const std::string& topic, std::chrono::seconds timeout, const std::string& bootstrap) {
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", bootstrap.empty() ? broker() : bootstrap).set("group.id", "reader-" + topic);
  conf.set("enable.partition.eof", "true").set("enable.auto.commit", "false");
  conf.set("isolation.level", "read_committed");
  auto consumer = conf.create(RD_KAFKA_CONSUMER);
  auto partitions = stream::partition_count(consumer.get(), topic, std::chrono::seconds(10));
  if (!partitions) throw std::runtime_error("topic " + topic + " does not exist");
  stream::KafkaPartitionList list(rd_kafka_topic_partition_list_new(*partitions));
  for (int p = 0; p < *partitions; ++p) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(consumer.get(), list.get());
  std::vector<Record> out;
  int at_end = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (at_end < *partitions) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("timed out reading " + topic);
    stream::KafkaMessage msg(rd_kafka_consumer_poll(consumer.get(), 200));
    if (!msg) continue;
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
      continue;
    }
    if (msg->err) throw std::runtime_error(std::string("reading ") + topic + ": " + rd_kafka_message_errstr(msg.get()));
    Record r;
    if (msg->key) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    const auto* p = static_cast<const std::uint8_t*>(msg->payload);
    r.value.assign(p, p + msg->len);
    r.partition = msg->partition;
    r.offset = msg->offset;
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(msg.get(), &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        r.headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    out.push_back(std::move(r));
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
}

namespace {
std::string script() { return std::string(BOXCALL_SOURCE_DIR) + "/tools/kafka/kafka-broker.sh"; }

/// Runs a shell command; its stdout's last line, or throws with the command's exit code.
std::string sh(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + command);
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out = buf;
  const int rc = ::pclose(p);
  if (rc != 0) throw std::runtime_error("failed (" + std::to_string(rc) + "): " + command);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}
}  // namespace

ScopedBroker::ScopedBroker() {
  char tmpl[] = "/tmp/boxcall-broker-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  start();
}

ScopedBroker::~ScopedBroker() {
  try {
    sh("'" + script() + "' stop --dir '" + dir_ + "' --kill 2>/dev/null");
  } catch (...) {  // NOLINT(bugprone-empty-catch): best effort in a destructor
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void ScopedBroker::start() { bootstrap_ = sh("'" + script() + "' start --dir '" + dir_ + "' 2>/dev/null"); }
void ScopedBroker::stop() { sh("'" + script() + "' stop --dir '" + dir_ + "' 2>/dev/null"); }
int ScopedBroker::pid() const {
  std::ifstream in(dir_ + "/pid");
  int pid = 0;
  if (!(in >> pid) || pid <= 0) throw std::runtime_error("no broker pid in " + dir_);
  return pid;
}
void ScopedBroker::freeze() { ::kill(pid(), SIGSTOP); }
void ScopedBroker::thaw() { ::kill(pid(), SIGCONT); }

namespace {
void record_offset(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* pos = static_cast<Position*>(msg->_private);
  pos->partition = msg->partition;
  pos->offset = msg->err ? -2 : msg->offset;
}
}  // namespace

Position produce(const std::string& topic, std::optional<std::string> key, const std::vector<std::uint8_t>& value) {
  static stream::KafkaHandle producer = [] {
    stream::KafkaConf conf;
    conf.set("bootstrap.servers", broker()).set("partitioner", "murmur2_random").set("linger.ms", "0");
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &record_offset);
    return conf.create(RD_KAFKA_PRODUCER);
  }();
  Position pos;
  stream::KafkaTopic t(rd_kafka_topic_new(producer.get(), topic.c_str(), nullptr));
  int rc =
      rd_kafka_produce(t.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, const_cast<std::uint8_t*>(value.data()),
                       value.size(), key ? key->data() : nullptr, key ? key->size() : 0, &pos);
  if (rc != 0) throw std::runtime_error("produce failed");
  rd_kafka_flush(producer.get(), 30000);
  if (pos.offset < 0) throw std::runtime_error("produce to " + topic + " was not acknowledged");
  return pos;
}

}  // namespace boxcall::itest
