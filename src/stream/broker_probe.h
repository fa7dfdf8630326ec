#pragma once
/// Is the Kafka cluster reachable right now? A small client of its own asks
/// for broker metadata every `interval` on its own thread, so /readyz answers
/// without touching the processing loop. One metadata request per interval.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "stream/config.h"
#include "stream/kafka.h"

namespace boxcall::stream {

class BrokerProbe {
 public:
  /// Uses the cluster's address and the common librdkafka properties (security).
  explicit BrokerProbe(const StreamConfig& config, std::chrono::milliseconds interval = std::chrono::seconds(5));
  ~BrokerProbe();
  BrokerProbe(const BrokerProbe&) = delete;
  BrokerProbe& operator=(const BrokerProbe&) = delete;

  struct Status {
    bool reachable = false;
    std::string detail;  ///< e.g. "3 brokers, answered in 2 ms" or the error
  };
  [[nodiscard]] Status status() const;

 private:
  void run();

  std::chrono::milliseconds interval_;
  std::string brokers_;
  KafkaHandle client_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  Status status_{false, "not probed yet"};
  std::thread thread_;
};

}  // namespace boxcall::stream
