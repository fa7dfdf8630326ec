#include "stream/kafka.h"

#include <librdkafka/rdkafka_mock.h>

#include "base/result.h"

namespace boxcall::stream {

KafkaConf::KafkaConf() : conf_(rd_kafka_conf_new()) {}

KafkaConf& KafkaConf::set(const std::string& key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf_.get(), key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    throw ConfigError("librdkafka property " + key + "=" + value + ": " + err);
  }
  return *this;
}

KafkaConf& KafkaConf::set_all(const std::map<std::string, std::string>& props) {
  for (const auto& [k, v] : props) set(k, v);
  return *this;
}

KafkaHandle KafkaConf::create(rd_kafka_type_t type) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf_.get(), err, sizeof err);
  if (!rk) throw ConfigError(std::string("cannot create the Kafka client: ") + err);
  conf_.release();  // owned by rk now
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
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) {
    throw ConfigError("cannot reach Kafka at " + brokers + " within " + std::to_string(timeout.count()) +
                      " ms: " + rd_kafka_err2str(err));
  }
  rd_kafka_metadata_destroy(md);
}

std::optional<int> partition_count(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  KafkaTopic t(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  auto err = rd_kafka_metadata(rk, 0, t.get(), &md, static_cast<int>(timeout.count()));
  if (err) throw ConfigError("cannot read metadata of topic " + topic + ": " + rd_kafka_err2str(err));
  std::optional<int> count;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topics[0].partition_cnt > 0) {
    count = md->topics[0].partition_cnt;
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
