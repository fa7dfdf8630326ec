#include "stream/kafka.h"

#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <array>

#include "base/result.h"
#include "stream/kafka_log.h"

namespace boxcall::stream {

KafkaConf::KafkaConf() : conf_(rd_kafka_conf_new()) { route_kafka_logs_to_spdlog(conf_.get()); }

KafkaConf& KafkaConf::set(const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf_.get(), key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    // Values are never echoed: a misspelled "sasl.pasword" carries a password too.
    std::string why = err;
    if (!value.empty()) {
      for (auto at = why.find(value); at != std::string::npos; at = why.find(value, at + 3))
        why.replace(at, value.size(), "***");
    }
    throw ConfigError("librdkafka property " + key + " (value not shown): " + why);
  }
  return *this;
}

// ------------------------------------------------------------------ producer

Producer::Producer(KafkaConf conf, DeliveryCallback on_delivery, void* opaque) {
  if (on_delivery) rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), opaque);
  rk_ = conf.create(RD_KAFKA_PRODUCER);
}

rd_kafka_topic_t* Producer::topic(const std::string& name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    it = topics_.emplace(name, KafkaTopic(rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr))).first;
  }
  return it->second.get();
}

rd_kafka_resp_err_t Producer::produce(const Message& m) {
  while (true) {
    std::array<rd_kafka_vu_t, 8> vu{};
    std::size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = m.topic;
    vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[n++].u.i32 = m.partition;
    if (m.key) {
      vu[n].vtype = RD_KAFKA_VTYPE_KEY;
      vu[n].u.mem.ptr = const_cast<char*>(m.key->data());
      vu[n++].u.mem.size = m.key->size();
    }
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = const_cast<std::byte*>(m.value.data());
    vu[n++].u.mem.size = m.value.size();
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
    if (m.timestamp_ms > 0) {
      vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
      vu[n++].u.i64 = m.timestamp_ms;
    }
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = m.opaque;
    rd_kafka_headers_t* headers = nullptr;
    if (!m.headers.empty()) {
      headers = rd_kafka_headers_new(m.headers.size());
      for (const auto& h : m.headers) {
        rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                            h.value ? h.value->data() : nullptr, h.value ? static_cast<ssize_t>(h.value->size()) : 0);
      }
      vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
      vu[n++].u.headers = headers;
    }
    rd_kafka_error_t* error = rd_kafka_produceva(rk_.get(), vu.data(), n);
    if (!error) return RD_KAFKA_RESP_ERR_NO_ERROR;  // the headers belong to the message now
    const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
    rd_kafka_error_destroy(error);
    if (headers) rd_kafka_headers_destroy(headers);
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return err;
    rd_kafka_poll(rk_.get(), 10);  // backpressure: wait for deliveries
  }
}

// ------------------------------------------------------------------ consumer

Consumer::Consumer(KafkaConf conf) : rk_(conf.create(RD_KAFKA_CONSUMER)) { rd_kafka_poll_set_consumer(rk_.get()); }

Consumer::~Consumer() {
  if (!closed_) close(std::chrono::seconds(10));
}

void Consumer::subscribe(const std::vector<std::string>& topics) {
  KafkaPartitionList sub(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const auto& t : topics) rd_kafka_topic_partition_list_add(sub.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto err = rd_kafka_subscribe(rk_.get(), sub.get())) {
    throw ConfigError(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
  }
}

void Consumer::pause(const std::string& topic, std::int32_t partition) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  rd_kafka_pause_partitions(rk_.get(), list.get());
}

void Consumer::resume(const std::string& topic, std::int32_t partition) {
  KafkaPartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  rd_kafka_resume_partitions(rk_.get(), list.get());
}

void Consumer::close(std::chrono::milliseconds timeout) {
  if (closed_ || !rk_) return;
  closed_ = true;
  // Asynchronous close: rebalance events arrive on `queue`; a group join that
  // cannot complete (broker down, rejected settings) must not block a stop.
  KafkaQueue queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_error_t* error = rd_kafka_consumer_close_queue(rk_.get(), queue.get());
  if (error) {
    rd_kafka_error_destroy(error);
  } else {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!rd_kafka_consumer_closed(rk_.get()) && std::chrono::steady_clock::now() < deadline) {
      if (rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), 50)) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) rd_kafka_assign(rk_.get(), nullptr);
        rd_kafka_event_destroy(ev);
      }
    }
  }
  queue.reset();
  rd_kafka_t* rk = rk_.release();
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

KafkaConf& KafkaConf::set_all(const std::map<std::string, std::string>& props) {
  for (const auto& [k, v] : props) set(k, v);
  return *this;
}

KafkaHandle KafkaConf::create(rd_kafka_type_t type) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf_.get(), err, sizeof err);
  if (!rk) throw ConfigError(std::string("cannot create the Kafka client: ") + err);
  (void)conf_.release();  // owned by rk now
  return KafkaHandle(rk);
}

MockCluster::MockCluster(int brokers) {
  KafkaConf conf;
  conf.set("log_level", "3");
  owner_ = conf.create(RD_KAFKA_PRODUCER);
  cluster_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
  if (!cluster_) throw ConfigError("cannot start the embedded Kafka (librdkafka mock cluster)");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
}

MockCluster::~MockCluster() {
  if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
}

void MockCluster::create_topic(const std::string& name, int partitions) {
  auto err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err) throw ConfigError("embedded Kafka: cannot create topic " + name + ": " + rd_kafka_err2str(err));
}

void check_kafka_properties(const std::map<std::string, std::string>& consumer,
                            const std::map<std::string, std::string>& producer) {
  KafkaConf().set_all(consumer);
  KafkaConf().set_all(producer);
}

void ensure_reachable(rd_kafka_t* rk, const std::string& brokers, std::chrono::milliseconds timeout) {
  // In steps, so that rejected credentials or a failed TLS handshake stop start-up at once, saying so
  // (librdkafka keeps retrying them like an unreachable broker).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(std::clamp<std::int64_t>(left.count(), 1, 500)));
    if (!err) {
      rd_kafka_metadata_destroy(md);
      return;
    }
    if (auto why = last_auth_failure(rk)) {
      throw ConfigError("Kafka at " + brokers +
                        " refused the connection (check the security.protocol, sasl.* and ssl.* "
                        "properties; values not shown): " +
                        *why);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw ConfigError("cannot reach Kafka at " + brokers + " within " + std::to_string(timeout.count()) +
                        " ms: " + rd_kafka_err2str(err));
    }
  }
}

std::optional<int> partition_count(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  // Metadata of all topics: asking for one by name makes a broker with
  // auto.create.topics.enable create it, and the check would create what it checks.
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) throw ConfigError("cannot read metadata of topic " + topic + ": " + rd_kafka_err2str(err));
  std::optional<int> count;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (topic == t.topic && t.err == RD_KAFKA_RESP_ERR_NO_ERROR && t.partition_cnt > 0) count = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return count;
}

void create_topics(rd_kafka_t* rk, const std::vector<std::pair<std::string, int>>& topics,
                   std::chrono::milliseconds timeout) {
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  char err[512];
  for (const auto& [name, partitions] : topics) {
    auto* nt = rd_kafka_NewTopic_new(name.c_str(), partitions, 1, err, sizeof err);
    if (!nt) throw ConfigError("topic " + name + ": " + err);
    new_topics.push_back(nt);
  }
  KafkaQueue queue(rd_kafka_queue_new(rk));
  auto* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(options, static_cast<int>(timeout.count()), err, sizeof err);
  rd_kafka_CreateTopics(rk, new_topics.data(), new_topics.size(), options, queue.get());
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue.get(), static_cast<int>(timeout.count()) + 1000);
  if (!ev) throw ConfigError("creating topics timed out");
  std::string failure;
  if (rd_kafka_event_error(ev)) {
    failure = rd_kafka_event_error_string(ev);
  } else if (const auto* res = rd_kafka_event_CreateTopics_result(ev)) {
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(results[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        failure = std::string(rd_kafka_topic_result_name(results[i])) + ": " + rd_kafka_err2str(e);
        break;
      }
    }
  }
  rd_kafka_event_destroy(ev);
  if (!failure.empty()) throw ConfigError("cannot create topics: " + failure);
}

}  // namespace boxcall::stream
