#include "stream/broker_probe.h"

#include <fmt/format.h>

namespace boxcall::stream {

BrokerProbe::BrokerProbe(const StreamConfig& config, std::chrono::milliseconds interval)
    : interval_(interval), brokers_(config.brokers) {
  KafkaConf conf;
  conf.set("bootstrap.servers", config.brokers).set_all(config.kafka_common);
  client_ = conf.create(RD_KAFKA_PRODUCER);
  thread_ = std::thread([this] { run(); });
}

BrokerProbe::~BrokerProbe() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

BrokerProbe::Status BrokerProbe::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void BrokerProbe::run() {
  while (true) {
    const rd_kafka_metadata_t* md = nullptr;
    const auto started = std::chrono::steady_clock::now();
    const auto timeout = std::max<long long>(1000, interval_.count());
    auto err = rd_kafka_metadata(client_.get(), 0, nullptr, &md, static_cast<int>(timeout));
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    Status s;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md) {
      s = Status{md->broker_cnt > 0, fmt::format("{} broker(s) at {} answered in {} ms", md->broker_cnt, brokers_, ms)};
    } else {
      s = Status{false, fmt::format("no answer from {}: {}", brokers_, rd_kafka_err2str(err))};
    }
    if (md) rd_kafka_metadata_destroy(md);
    std::unique_lock lock(mutex_);
    status_ = std::move(s);
    if (wake_.wait_for(lock, interval_, [&] { return stop_; })) return;
  }
}

}  // namespace boxcall::stream
