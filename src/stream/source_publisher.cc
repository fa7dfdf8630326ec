#include "stream/source_publisher.h"

#include <spdlog/spdlog.h>

#include <queue>
#include <thread>

#include "stream/codec.h"
#include "stream/kafka.h"

namespace boxcall::stream {

namespace {
struct Head {
  TimeNs t;
  std::size_t source;
  bool operator>(const Head& o) const { return t != o.t ? t > o.t : source > o.source; }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (msg->err) {
    auto* failed = static_cast<std::atomic<std::uint64_t>*>(opaque);
    if (failed->fetch_add(1) == 0) spdlog::error("publish failed: {}", rd_kafka_err2str(msg->err));
  }
}
}  // namespace

PublishStats publish_sources(std::vector<std::unique_ptr<sources::RecordSource>> srcs, const std::string& brokers,
                             const TopicNames& topics, const PublishOptions& options) {
  std::atomic<std::uint64_t> failed{0};
  KafkaConf conf;
  conf.set("bootstrap.servers", brokers);
  conf.set_all(default_producer_properties());
  conf.set("linger.ms", options.speed == 0 ? "20" : "1");
  conf.set("queue.buffering.max.messages", "1000000");
  conf.set_all(options.kafka);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), &failed);
  KafkaHandle producer = conf.create(RD_KAFKA_PRODUCER);
  ensure_reachable(producer.get(), brokers, std::chrono::seconds(10));
  KafkaTopic telemetry(rd_kafka_topic_new(producer.get(), topics.telemetry.c_str(), nullptr));
  KafkaTopic timing(rd_kafka_topic_new(producer.get(), topics.timing.c_str(), nullptr));

  Codec codec;
  std::vector<std::optional<Input>> pending(srcs.size());
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  for (std::size_t i = 0; i < srcs.size(); ++i) {
    pending[i] = srcs[i]->next();
    if (pending[i]) heads.push({event_time(*pending[i]), i});
  }
  PublishStats stats;
  const auto wall_start = std::chrono::steady_clock::now();
  const TimeNs event_start = heads.empty() ? 0 : heads.top().t;
  while (!heads.empty() && !(options.stop && options.stop->load())) {
    Head h = heads.top();
    heads.pop();
    const Input& input = *pending[h.source];
    if (options.speed > 0) {
      auto due = wall_start + std::chrono::nanoseconds(static_cast<TimeNs>(
                                  static_cast<double>(h.t - event_start) / options.speed));
      if (due > std::chrono::steady_clock::now()) {
        rd_kafka_poll(producer.get(), 0);
        std::this_thread::sleep_until(due);
      }
    }
    const std::string& session = srcs[h.source]->session_id();
    auto bytes = codec.encode(session, input);
    const bool is_sample = std::holds_alternative<TelemetrySample>(input);
    while (rd_kafka_produce(is_sample ? telemetry.get() : timing.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                            const_cast<std::uint8_t*>(bytes.data()), bytes.size(), session.data(), session.size(),
                            nullptr) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        throw ConfigError(std::string("cannot publish: ") + rd_kafka_err2str(rd_kafka_last_error()));
      }
      rd_kafka_poll(producer.get(), 10);
    }
    ++(is_sample ? stats.telemetry : stats.timing);
    if (((stats.telemetry + stats.timing) & 0xfff) == 0) rd_kafka_poll(producer.get(), 0);
    pending[h.source] = srcs[h.source]->next();
    if (pending[h.source]) heads.push({event_time(*pending[h.source]), h.source});
  }
  if (rd_kafka_flush(producer.get(), static_cast<int>(options.flush_timeout.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::error("publish: {} record(s) not acknowledged", rd_kafka_outq_len(producer.get()));
    failed += static_cast<std::uint64_t>(rd_kafka_outq_len(producer.get()));
  }
  stats.failed = failed.load();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return stats;
}

}  // namespace boxcall::stream
