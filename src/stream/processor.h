#pragma once
/// The processing core of the stream layer, free of Kafka so that it can be
/// driven by tests and benchmarks: records in (with their source position),
/// outputs and dead letters out through a Publisher, offsets tracked so that
/// only positions whose derived outputs were all acknowledged get committed.
///
/// Event time: each session has a watermark W = min over its two inputs of
/// (newest event time seen there - max out-of-orderness). An input whose
/// partition is read to its end (nothing fetched and unread) and on which the
/// session has had no record for `input_idle` does not hold W back; an input
/// with unread records always does, so a replay or restart applies records in
/// event-time order. A session silent past `idle_timeout` releases all. Records are released to the feature engine
/// in event-time order once W passes them. A record arriving behind what was already released is late: within the
/// allowed lateness it is still applied (placed in its lap if that lap is open), beyond it, or if its lap has closed,
/// it goes to the dead-letter topic with reason `late`. A sample behind the session but still after its own car's last
/// sample is in order for everything per car and is applied normally. A lap completion waits for its car's telemetry to
/// pass the lap end (or `lap_close_grace`), so the lap's last samples are not lost to the race between two partitions.
///
/// Delivery: every session pins the first offset it consumed on each input
/// partition until it ends and its outputs are acknowledged; a dead letter
/// pins its own offset until acknowledged. The commit position of a partition
/// is the lowest pin (or the next offset when nothing is pinned), so a crash
/// re-reads what is needed to rebuild state and never loses an output.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/records.h"
#include "base/result.h"
#include "features/session_engine.h"
#include "infer/strategy.h"
#include "stream/codec.h"
#include "stream/metrics.h"

namespace boxcall::infer {
class ModelStore;
}  // namespace boxcall::infer

namespace boxcall::stream {

/// Where predictions come from ([models] in the TOML file).
struct ModelsConfig {
  /// XGBoost models (+ priors.json) loaded at start-up; a directory that does
  /// not load is a start-up error. Empty: no models.
  std::string dir;
  /// How often the model files are checked for a new version (0: never).
  std::chrono::milliseconds reload_interval{std::chrono::seconds(30)};
  /// Without a model directory: "none" (no predictions; alerts still run) or
  /// "rules" (the documented RulesPredictor, docs/models.md).
  std::string fallback = "none";
};

struct ProcessorConfig {
  std::chrono::milliseconds max_out_of_orderness{0};
  std::chrono::milliseconds allowed_lateness{5000};
  /// An input read to its end stops holding a session's watermark back after
  /// this long without a record of that session on it (processing time). Bounds the
  /// wait for a sparse input (timing) while protecting order against producers
  /// that batch the two topics apart.
  std::chrono::milliseconds input_idle{100};
  /// Memory bound of all reorder buffers together: beyond it, the session that
  /// grows releases its oldest records even if an input still holds it back.
  std::size_t max_buffered_records = 1'000'000;
  /// A lap completion is applied once its car's telemetry has passed the lap
  /// end, or once the session's telemetry is this far past it (a car whose
  /// telemetry stopped; sessions without telemetry are not held). Keeps samples
  /// that arrive after their lap's timing event (separate partitions, each
  /// batched by its producer) in their lap.
  std::chrono::milliseconds lap_close_grace{1000};
  /// A session silent this long (processing time) releases everything it holds.
  std::chrono::milliseconds idle_timeout{2000};
  /// A session silent this long, or finished and silent for `idle_timeout`, is evicted.
  std::chrono::milliseconds session_expiry{std::chrono::minutes(10)};
  features::FeatureConfig features;
  infer::StrategyConfig strategy;
  ModelsConfig models;
};

/// One input record as consumed. Views are valid during `Processor::process` only.
struct RecordRef {
  InputTopic topic = InputTopic::Telemetry;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::span<const std::byte> key;
  std::span<const std::byte> value;
  std::int64_t timestamp_ms = -1;  ///< Kafka record timestamp, -1 if none
};

/// Tracks per input partition the next offset and the offsets still pinned.
class OffsetTracker {
 public:
  struct Key {
    InputTopic topic;
    std::int32_t partition;
    auto operator<=>(const Key&) const = default;
  };
  void assign(Key k, std::int64_t generation);
  void revoke(Key k);
  void consumed(Key k, std::int64_t offset);
  void pin(Key k, std::int64_t generation, std::int64_t offset);
  void unpin(Key k, std::int64_t generation, std::int64_t offset);
  [[nodiscard]] std::int64_t generation(Key k) const;
  /// The offset after the last consumed record, -1 before any.
  [[nodiscard]] std::int64_t next_offset(Key k) const;
  /// The offset to commit for each assigned partition that consumed anything.
  [[nodiscard]] std::map<Key, std::int64_t> commit_positions() const;

 private:
  struct Part {
    std::int64_t generation = 0;
    std::int64_t next_offset = -1;
    std::map<std::int64_t, int> pins;
  };
  std::map<Key, Part> parts_;
};

/// Keeps offsets pinned while alive. Outputs in flight share their session's pin.
class Pin {
 public:
  explicit Pin(std::shared_ptr<OffsetTracker> tracker) : tracker_(std::move(tracker)) {}
  ~Pin();
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  void add(OffsetTracker::Key k, std::int64_t offset);

 private:
  struct Entry {
    OffsetTracker::Key key;
    std::int64_t generation;
    std::int64_t offset;
  };
  std::shared_ptr<OffsetTracker> tracker_;
  std::vector<Entry> entries_;
};

/// What the processor produces. The runner implements it with a Kafka
/// producer; tests collect in memory. `pin` must be held until the broker
/// acknowledged the record.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual void publish(OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value,
                       std::shared_ptr<Pin> pin, std::int64_t input_timestamp_ms) = 0;
  /// Forwards an input record untouched, with the reason and source position in headers.
  virtual void dead_letter(const RecordRef& record, const Error& error, std::shared_ptr<Pin> pin) = 0;
};

class Processor {
 public:
  /// `predictor`: where each decision gets its model; empty means "as
  /// `config.models` says" (loads the models: throws ConfigError when they do not load).
  Processor(ProcessorConfig config, Publisher& publisher, StreamMetrics& metrics, const Clock& clock,
            infer::PredictorProvider predictor = {});
  ~Processor();

  /// Partition assignment changes (consumer group rebalances).
  void assign(InputTopic topic, std::int32_t partition);
  /// Drops the state of every session on a revoked partition.
  void revoke(InputTopic topic, std::int32_t partition);

  /// One consumed record: decoded, validated, deduplicated, ordered, applied.
  void process(const RecordRef& record);
  /// The consumer reached the end of a partition; `offset` is where that end
  /// is (the EOF event's offset), -1 when unknown.
  void partition_eof(InputTopic topic, std::int32_t partition, std::int64_t offset = -1);
  /// The broker's high watermark of a partition, as of the consumer's last
  /// fetch (records fetched but not yet consumed count as unread).
  void high_watermark(InputTopic topic, std::int32_t partition, std::int64_t offset);
  /// Periodic work (processing time): idle flushes, session eviction, gauges,
  /// feed-stall alerts, model reloads.
  void tick();
  /// Releases everything buffered (shutdown drain).
  void drain();

  [[nodiscard]] std::map<OffsetTracker::Key, std::int64_t> commit_positions() const {
    return tracker_->commit_positions();
  }
  [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }
  [[nodiscard]] std::size_t buffered_records() const;

 private:
  struct Session;
  struct Pending;
  Session& session_for(std::string_view id);
  void route(Session& s, const RecordRef& rec, Input&& input);
  void release(Session& s, TimeNs watermark, bool flush_all);
  void advance(Session& s, TimeNs t, OutputSink& sink);
  void apply(Session& s, InputTopic topic, const Input& input, bool late, const RecordRef* raw,
             const std::vector<std::byte>* raw_copy, std::int64_t offset, std::int32_t partition);
  void refresh_watermark(Session& s, bool flush_all);
  void reject(const RecordRef& rec, Error error, std::shared_ptr<Pin> pin = nullptr);
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using SessionMap = std::unordered_map<std::string, std::unique_ptr<Session>, StringHash, std::equal_to<>>;
  void evict(SessionMap::iterator it);

  ProcessorConfig config_;
  Publisher& publisher_;
  StreamMetrics& metrics_;
  const Clock& clock_;
  Codec codec_;
  std::shared_ptr<OffsetTracker> tracker_;
  SessionMap sessions_;
  /// Per assigned input partition: read to its end (an EOF event after the
  /// last consumed record) and the broker's high watermark as last fetched.
  struct PartitionEnd {
    bool at_eof = false;
    std::int64_t eof_offset = -1;
    std::int64_t high_watermark = -1;
  };
  std::map<OffsetTracker::Key, PartitionEnd> ends_;

  /// Records held in all reorder buffers (bounded by `max_buffered_records`).
  std::size_t buffered_ = 0;
  /// Nothing of the partition is fetched and unread (high watermark of the last fetch, EOF).
  [[nodiscard]] bool read_to_end(OffsetTracker::Key key) const;
  std::int64_t current_timestamp_ms_ = -1;
  // Strategy: the model store (when models are configured) and what decisions use.
  std::shared_ptr<infer::ModelStore> models_;
  infer::PredictorProvider predictor_;
  std::shared_ptr<const infer::StrategyPriors> priors_;
  std::chrono::steady_clock::time_point next_reload_{};
};

}  // namespace boxcall::stream
