#pragma once
/// Owning wrappers for librdkafka's C handles (one owner each, custom
/// deleters) and the few start-up helpers boxcall needs. Start-up failures
/// throw ConfigError with one clear line; nothing here runs per record.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_mock_cluster_s;

namespace boxcall::stream {

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaPartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;

/// An rd_kafka_conf_t under construction; every property is checked by librdkafka.
class KafkaConf {
 public:
  KafkaConf();
  /// Throws ConfigError naming the property and librdkafka's complaint.
  KafkaConf& set(const std::string& key, const std::string& value);
  KafkaConf& set_all(const std::map<std::string, std::string>& props);
  [[nodiscard]] rd_kafka_conf_t* get() { return conf_.get(); }
  /// Creates the client; the conf is consumed. Throws ConfigError.
  [[nodiscard]] KafkaHandle create(rd_kafka_type_t type);

 private:
  std::unique_ptr<rd_kafka_conf_t, KafkaDeleter> conf_;
};

/// librdkafka's in-process mock cluster: a real Kafka-protocol server on
/// loopback for the embedded default and fast tests (no transactions
/// enforcement, ~5 MiB retention: see docs/operations.md).
class MockCluster {
 public:
  explicit MockCluster(int brokers = 1);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;
  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }
  void create_topic(const std::string& name, int partitions);

 private:
  KafkaHandle owner_;
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

/// Checks every librdkafka property of both clients (names and values) without connecting.
/// Throws ConfigError naming the first bad one.
void check_kafka_properties(const std::map<std::string, std::string>& consumer,
                            const std::map<std::string, std::string>& producer);

/// Throws ConfigError("cannot reach Kafka at ... within ...") when no broker answers.
void ensure_reachable(rd_kafka_t* rk, const std::string& brokers, std::chrono::milliseconds timeout);

/// Partition count of `topic`, or nullopt when it does not exist.
[[nodiscard]] std::optional<int> partition_count(rd_kafka_t* rk, const std::string& topic,
                                                 std::chrono::milliseconds timeout);

/// Creates topics through the Admin API; existing ones are left alone. Throws ConfigError.
void create_topics(rd_kafka_t* rk, const std::vector<std::pair<std::string, int>>& topics,
                   std::chrono::milliseconds timeout);

}  // namespace boxcall::stream
