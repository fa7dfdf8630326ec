#pragma once
// An in-memory Publisher for benchmarks: every output is "acknowledged" at
// once (its pin is dropped, as the runner does on the delivery report), and
// only counts and bytes are kept, so the processor's cost is measured alone.
#include <array>
#include <cstdint>

#include "app/models.h"
#include "stream/processor.h"

namespace boxcall::bench {

class CountingPublisher final : public stream::Publisher {
 public:
  void publish(stream::OutputTopic topic, std::string_view, std::span<const std::uint8_t> value,
               std::shared_ptr<stream::Pin>, std::int64_t) override {
    ++outputs[static_cast<std::size_t>(topic)];
    bytes += value.size();
  }
  void dead_letter(const stream::RecordRef&, const Error&, std::shared_ptr<stream::Pin>) override { ++dead_letters; }
  std::array<std::uint64_t, stream::kOutputTopics> outputs{};
  std::uint64_t bytes = 0;
  std::uint64_t dead_letters = 0;
};

/// The session pipeline `boxcall run` builds (features, strategy, alerts), with
/// no model directory: the stream and memory benchmarks measure the per-record
/// path; model scoring has its own benchmark (bench_infer).
inline app::LivePipelineFactory make_pipeline_factory() {
  app::ModelsConfig models;
  models.enabled = false;
  return app::LivePipelineFactory(features::FeatureConfig{}, infer::StrategyConfig{},
                                  std::make_shared<app::ModelSetup>(models));
}

/// Feeds one encoded record to the processor as a live (caught-up) consumer
/// would: a single partition per input topic, read to its end after each
/// record (the EOF event follows every record when nothing else is waiting).
class ProcessorDriver {
 public:
  explicit ProcessorDriver(stream::Processor& p) : p_(p) {
    p_.assign(stream::InputTopic::Telemetry, 0);
    p_.assign(stream::InputTopic::Timing, 0);
    p_.partition_eof(stream::InputTopic::Timing, 0);
  }
  /// `hold`/`context`: RecordRef::hold, so that the processor keeps records without copying
  /// them, as it does with the runner's consumed messages (null: it copies what it keeps).
  void feed(const std::string& session, stream::InputTopic topic, std::span<const std::uint8_t> value,
            std::int64_t timestamp_ms = -1, stream::HeldRecord (*hold)(void*) = nullptr, void* context = nullptr) {
    auto& offset = offsets_[static_cast<std::size_t>(topic)];
    stream::RecordRef rec{
        topic,        0,    offset++, stream::as_bytes(std::string_view(session)), stream::as_bytes(value),
        timestamp_ms, hold, context};
    p_.process(rec);
    p_.partition_eof(topic, 0, offset);
  }

 private:
  stream::Processor& p_;
  std::array<std::int64_t, stream::kInputTopics> offsets_{};
};

}  // namespace boxcall::bench
