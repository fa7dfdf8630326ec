#pragma once
// A stream::Processor driven by hand: records fed as a Kafka consumer would
// hand them over (topic, partition, offset, key), a manual clock, and every
// output and dead letter kept in memory, decodable for assertions.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/session.h"
#include "stream/codec.h"
#include "stream/processor.h"

namespace boxcall::test {

/// Collects what the processor publishes; "acknowledges" by dropping pins.
class MemoryPublisher final : public stream::Publisher {
 public:
  struct Out {
    stream::OutputTopic topic;
    std::string key;
    std::vector<std::uint8_t> value;
    std::shared_ptr<stream::Pin> pin;
    std::string reason;  ///< dead letters
    std::string detail;  ///< dead letters
    std::int64_t source_offset = -1;
  };
  void publish(stream::OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value,
               std::shared_ptr<stream::Pin> pin, std::int64_t) override;
  void dead_letter(const stream::RecordRef& rec, const Error& error, std::shared_ptr<stream::Pin> pin) override;
  void ack_all();
  [[nodiscard]] std::vector<const Out*> of(stream::OutputTopic t) const;
  std::vector<Out> outs;
};

/// Records pause/resume requests.
class RecordingFlow final : public stream::FlowControl {
 public:
  void pause(stream::InputTopic topic, std::int32_t partition) override { paused.push_back({topic, partition}); }
  void resume(stream::InputTopic topic, std::int32_t partition) override { resumed.push_back({topic, partition}); }
  std::vector<stream::OffsetTracker::Key> paused, resumed;
};

/// A factory from a function (tests choose the handler).
class FunctionFactory final : public SessionHandlerFactory {
 public:
  using Make = std::function<std::unique_ptr<SessionHandler>(std::string_view)>;
  explicit FunctionFactory(Make make) : make_(std::move(make)) {}
  [[nodiscard]] std::unique_ptr<SessionHandler> create(std::string_view id) override { return make_(id); }

 private:
  Make make_;
};

/// The features alone per session (features::FeatureHandler), snapshots off unless asked.
std::unique_ptr<SessionHandlerFactory> feature_factory(std::chrono::nanoseconds snapshot_period = {});

class ProcessorHarness {
 public:
  /// One partition per input (0), assigned. `factory` null: feature_factory().
  explicit ProcessorHarness(stream::ProcessorConfig config = default_config(),
                            std::unique_ptr<SessionHandlerFactory> factory = nullptr);
  /// Input idle 0: EOF alone makes an input idle (tests of input_idle set it).
  static stream::ProcessorConfig default_config();

  void feed(const Input& in, std::string_view key = kSession);
  void feed_bytes(stream::InputTopic topic, std::span<const std::uint8_t> value, std::string_view key = kSession,
                  std::int32_t partition = 0);
  void feed_text(stream::InputTopic topic, std::string_view text, std::string_view key = kSession);
  /// Both partitions read to their end, and from now on after every record: the consumer is live.
  void eof_all();
  void advance(std::chrono::milliseconds d);  ///< manual clock, then tick()

  [[nodiscard]] std::vector<std::string> dead_letter_reasons() const;
  [[nodiscard]] std::vector<LapFeatures> lap_features() const;
  [[nodiscard]] std::vector<FeatureSnapshot> snapshots() const;
  /// Every published output and dead letter as one line each ("features {json}", "dead-letter late"), in order.
  [[nodiscard]] std::vector<std::string> transcript();

  static inline const std::string kSession = "test-session";
  stream::ProcessorConfig config;
  MemoryPublisher publisher;
  stream::StreamMetrics metrics;
  ManualClock clock;
  stream::Codec codec;
  RecordingFlow flow;
  std::unique_ptr<SessionHandlerFactory> factory;
  std::unique_ptr<stream::Processor> processor;
  std::array<std::int64_t, 2> next_offset{0, 0};
  bool live = false;
};

}  // namespace boxcall::test
