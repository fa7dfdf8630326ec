#pragma once
/// Publishes RecordSources (a FastF1 export, the synthetic race, later
/// recordings and live-timing files) to the input topics: records merged
/// across sources in event-time order, keyed by session id, paced at a
/// multiple of real time or as fast as possible. Used by the embedded
/// default, `boxcall replay` and the integration tests.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sources/source.h"
#include "stream/config.h"

namespace boxcall::stream {

struct PublishOptions {
  /// Event-time speed-up: 1 = real time, 10 = ten times faster; 0 = as fast as possible.
  double speed = 0;
  /// librdkafka producer properties on top of boxcall's defaults.
  std::map<std::string, std::string> kafka;
  std::chrono::milliseconds flush_timeout{std::chrono::seconds(60)};
  /// Stops early when set.
  const std::atomic<bool>* stop = nullptr;
};

struct PublishStats {
  std::uint64_t telemetry = 0;
  std::uint64_t timing = 0;
  std::uint64_t failed = 0;
  double seconds = 0;
};

/// Blocks until every source is exhausted (or `stop`), then flushes.
/// Throws ConfigError when the brokers cannot be reached.
PublishStats publish_sources(std::vector<std::unique_ptr<sources::RecordSource>> sources, const std::string& brokers,
                             const TopicNames& topics, const PublishOptions& options);

}  // namespace boxcall::stream
