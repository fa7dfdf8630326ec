#pragma once
// The floor: what the broker and librdkafka allow on this machine, measured by the same harness
// as boxcall (bench_e2e). A pass-through with no processing at all: one librdkafka consumer in
// boxcall's consumer group settings (stream::default_consumer_properties: manual commits,
// fetch.wait.max.ms 5, read_committed, partition EOF events) subscribed to the two input topics,
// and one producer with boxcall's producer settings (default_producer_properties: linger.ms 1,
// idempotence, acks=all, lz4) that forwards each record's key and value untouched to one output
// topic. Offsets are committed asynchronously every second, like boxcall's commit interval.
// One thread does all of it, as boxcall's loop does. docs/benchmarks.md, "The floor".
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "stream/config.h"
#include "stream/kafka.h"

namespace boxcall::bench {

class PassThrough {
 public:
  PassThrough(const std::string& brokers, const std::string& group, const std::vector<std::string>& inputs,
              const std::string& output) {
    stream::KafkaConf pconf;
    pconf.set("bootstrap.servers", brokers);
    pconf.set_all(stream::default_producer_properties());
    producer_ = pconf.create(RD_KAFKA_PRODUCER);
    out_ = stream::KafkaTopic(rd_kafka_topic_new(producer_.get(), output.c_str(), nullptr));

    stream::KafkaConf cconf;
    cconf.set("bootstrap.servers", brokers).set("group.id", group);
    cconf.set_all(stream::default_consumer_properties());
    consumer_ = cconf.create(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(consumer_.get());
    stream::KafkaPartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(inputs.size())));
    for (const auto& t : inputs) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer_.get(), topics.get())) {
      throw ConfigError(std::string("floor: subscribe: ") + rd_kafka_err2str(err));
    }
  }
  ~PassThrough() {
    if (consumer_) rd_kafka_consumer_close(consumer_.get());
  }
  PassThrough(const PassThrough&) = delete;
  PassThrough& operator=(const PassThrough&) = delete;

  /// Forwards until `should_stop()` (checked at least every 10 ms), then waits for every
  /// forwarded record to be acknowledged. Returns the number of delivery failures.
  std::uint64_t run(const std::function<bool()>& should_stop) {
    auto next_commit = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!should_stop()) {
      stream::KafkaMessage msg(rd_kafka_consumer_poll(consumer_.get(), 10));
      if (msg && !msg->err) {
        while (rd_kafka_produce(out_.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, msg->payload, msg->len,
                                msg->key, msg->key_len, nullptr) != 0) {
          rd_kafka_poll(producer_.get(), 1);  // queue full: serve delivery reports
        }
        consumed.store(consumed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      }
      rd_kafka_poll(producer_.get(), 0);  // delivery reports
      if (const auto now = std::chrono::steady_clock::now(); now >= next_commit) {
        next_commit = now + std::chrono::seconds(1);
        commit_positions();
      }
    }
    rd_kafka_flush(producer_.get(), 30'000);
    return static_cast<std::uint64_t>(rd_kafka_outq_len(producer_.get()));
  }

  std::atomic<std::uint64_t> consumed{0};

 private:
  /// Commits the consumed positions asynchronously (offsets are not stored automatically).
  void commit_positions() {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer_.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return;
    stream::KafkaPartitionList parts(raw);
    rd_kafka_position(consumer_.get(), parts.get());
    if (parts->cnt > 0) (void)rd_kafka_commit(consumer_.get(), parts.get(), 1);
  }

  stream::KafkaHandle producer_;
  stream::KafkaTopic out_;
  stream::KafkaHandle consumer_;
};

}  // namespace boxcall::bench
