#pragma once
// Shared helpers for the integration tests: the real broker started by the
// ctest fixture, fresh topics per test, a runner on its own thread, and
// readers that consume a topic to its end. Waits are on conditions with
// deadlines, never on sleeps.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config.h"
#include "app/models.h"
#include "stream/config.h"
#include "stream/metrics.h"
#include "stream/runner.h"

namespace boxcall::itest {

/// The bootstrap address of the broker the fixture started. Fails the test
/// (throws) when there is none: integration tests never skip.
std::string broker();

/// Fresh, uniquely named topics, created with `partitions` partitions each.
stream::TopicNames fresh_topics(const std::string& test_name, int partitions = 2, const std::string& bootstrap = "");

/// A config pointing at the test broker with a fresh group id; no models
/// unless the test names a directory (config.models).
app::Config test_config(const stream::TopicNames& topics, const std::string& bootstrap = "");

/// A live job as `boxcall run` composes it: the models, one pipeline per
/// session, the runner.
class Job {
 public:
  Job(const app::Config& config, stream::StreamMetrics& metrics)
      : models_(std::make_shared<app::ModelSetup>(config.models)),
        factory_(config.features, config.strategy, models_),
        runner_(config.stream, metrics, factory_) {}
  int run(const stream::RunOptions& options) { return runner_.run(options); }

 private:
  std::shared_ptr<app::ModelSetup> models_;
  app::LivePipelineFactory factory_;
  stream::Runner runner_;
};

struct Record {
  std::string key;
  std::vector<std::uint8_t> value;
  std::map<std::string, std::string> headers;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

/// Every record currently in `topic`, read from the beginning to the end of each partition.
std::vector<Record> read_topic(const std::string& topic, std::chrono::seconds timeout = std::chrono::seconds(60),
                               const std::string& bootstrap = "");

struct Position {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

/// Produces one record synchronously; returns where it landed. `key` nullopt: no key.
Position produce(const std::string& topic, std::optional<std::string> key, const std::vector<std::uint8_t>& value);

/// A broker of the test's own, started by tools/kafka/kafka-broker.sh in a fresh
/// directory, for tests that stop, restart or freeze it (the shared fixture
/// broker is never disturbed). Stopped and killed with the test.
class ScopedBroker {
 public:
  ScopedBroker();
  ~ScopedBroker();
  ScopedBroker(const ScopedBroker&) = delete;
  ScopedBroker& operator=(const ScopedBroker&) = delete;
  [[nodiscard]] const std::string& bootstrap() const { return bootstrap_; }
  void stop();    ///< a clean stop (SIGTERM, wait)
  void start();   ///< again, on the same data directory and ports
  void freeze();  ///< SIGSTOP: alive, silent
  void thaw();    ///< SIGCONT

 private:
  int pid() const;
  std::string dir_, bootstrap_;
};

/// Polls `condition` until true or the deadline; returns its last value.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

}  // namespace boxcall::itest
