#pragma once
/// Owning wrappers for librdkafka's C handles (one owner each, custom
/// deleters) and the few start-up helpers boxcall needs. Start-up failures
/// throw ConfigError with one clear line; nothing here runs per record.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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

/// A record header: name and value (nullopt: a null value), viewed (copied by `Producer::produce`).
struct Header {
  std::string_view name;
  std::optional<std::string_view> value;
};

/// The one place that builds and enqueues a Kafka record (key, value,
/// headers, timestamp, partition), used by the live runner, replay and synth.
class Producer {
 public:
  /// librdkafka's delivery-report callback, served by poll()/flush().
  using DeliveryCallback = void (*)(rd_kafka_t*, const rd_kafka_message_t*, void*);
  /// Creates the producer from `conf` (consumed). Throws ConfigError.
  Producer(KafkaConf conf, DeliveryCallback on_delivery, void* opaque);
  Producer(Producer&&) noexcept = default;
  Producer& operator=(Producer&&) noexcept = default;

  struct Message {
    rd_kafka_topic_t* topic = nullptr;
    std::int32_t partition = RD_KAFKA_PARTITION_UA;
    std::optional<std::string_view> key;  ///< nullopt: no key
    std::span<const std::byte> value;
    std::int64_t timestamp_ms = 0;  ///< 0: now
    std::span<const Header> headers;
    void* opaque = nullptr;  ///< handed to the delivery report
  };
  /// Enqueues a copy of `m`. A full queue is backpressure: deliveries are
  /// served until there is room. Any other refusal is returned (nothing enqueued).
  [[nodiscard]] rd_kafka_resp_err_t produce(const Message& m);
  /// The topic handle of `name` (created once, cached).
  [[nodiscard]] rd_kafka_topic_t* topic(const std::string& name);
  /// Serves delivery reports; returns how many.
  int poll(int timeout_ms) { return rd_kafka_poll(rk_.get(), timeout_ms); }
  [[nodiscard]] rd_kafka_resp_err_t flush(std::chrono::milliseconds timeout) {
    return rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  }
  [[nodiscard]] int in_flight() const { return rd_kafka_outq_len(rk_.get()); }
  [[nodiscard]] rd_kafka_t* get() const { return rk_.get(); }

 private:
  KafkaHandle rk_;
  std::map<std::string, KafkaTopic, std::less<>> topics_;
};

/// An owned consumer handle (messages served by consumer_poll).
class Consumer {
 public:
  explicit Consumer(KafkaConf conf);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;
  [[nodiscard]] rd_kafka_t* get() const { return rk_.get(); }
  [[nodiscard]] KafkaMessage poll(int timeout_ms) {
    return KafkaMessage(rd_kafka_consumer_poll(rk_.get(), timeout_ms));
  }
  /// Throws ConfigError when the subscription is refused.
  void subscribe(const std::vector<std::string>& topics);
  void pause(const std::string& topic, std::int32_t partition);
  void resume(const std::string& topic, std::int32_t partition);
  /// Leaves the group and closes, waiting at most `timeout` (a blocked group
  /// join must not hold a shutdown); the handle is destroyed either way.
  void close(std::chrono::milliseconds timeout);

 private:
  KafkaHandle rk_;
  bool closed_ = false;
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
