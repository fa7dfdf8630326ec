#pragma once
/// Every stream metric, declared in one place. The hot path only increments
/// through the pointers held here; labels are bounded (topic, reason, stage,
/// partition, active session). The two per-record counters (records in,
/// records applied) are batched: the loop thread adds to plain counters and
/// `publish_batched()` (the processor's tick, every 20 ms) moves them into
/// Prometheus, so a record costs no atomic read-modify-write.
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace boxcall::stream {

enum class InputTopic : std::uint8_t { Telemetry = 0, Timing = 1 };
enum class OutputTopic : std::uint8_t { Features = 0, Predictions = 1, Alerts = 2, DeadLetter = 3 };
inline constexpr std::size_t kInputTopics = 2;
inline constexpr std::size_t kOutputTopics = 4;
std::string_view to_string(InputTopic t);
std::string_view to_string(OutputTopic t);

enum class Stage : std::uint8_t {
  Process = 0,   ///< record dequeued -> its outputs handed to the producer
  Deliver = 1,   ///< output handed to the producer -> acknowledged by the broker
  EndToEnd = 2,  ///< input record timestamp (producer clock) -> output acknowledged
};
inline constexpr std::size_t kStages = 3;

class StreamMetrics {
 public:
  StreamMetrics();

  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> registry_ptr() { return registry_; }

  void record_in(InputTopic t) { bump(records_in_n_[static_cast<std::size_t>(t)]); }
  void dead_letter(Reason r) { dead_letter_[static_cast<std::size_t>(r)]->Increment(); }
  void output(OutputTopic t) { outputs_[static_cast<std::size_t>(t)]->Increment(); }
  void applied() { bump(applied_n_); }
  /// Moves the batched per-record counts into their Prometheus counters (loop thread).
  void publish_batched();
  void late_accepted() { late_accepted_->Increment(); }
  void duplicate() { duplicates_->Increment(); }
  void delivery_failed() { delivery_failed_->Increment(); }
  void model_reload_failed() { model_reload_failures_->Increment(); }
  void observe(Stage s, double seconds) { stage_latency_[static_cast<std::size_t>(s)]->Observe(seconds); }
  void set_active_sessions(double n) { active_sessions_->Set(n); }
  void set_buffered_records(double n) { buffered_->Set(n); }
  void set_assigned_partitions(double n) { assigned_->Set(n); }
  [[nodiscard]] double assigned_partitions() const { return assigned_->Value(); }
  void commit_done() { commits_->Increment(); }
  void set_paused_partitions(double n) { paused_->Set(n); }
  void backpressure_pause() { pauses_->Increment(); }
  void reorder_overflow() { overflow_->Increment(); }
  void event_time_jump() { jumps_->Increment(); }
  [[nodiscard]] double backpressure_pauses() const { return pauses_->Value(); }
  [[nodiscard]] double reorder_overflows() const { return overflow_->Value(); }

  /// Consumer lag per assigned input partition (high watermark - position).
  void set_lag(InputTopic t, int partition, double lag);
  /// How far a session's watermark trails the newest event seen (event time).
  void set_watermark_delay(const std::string& session, double seconds);
  void remove_session(const std::string& session);

  [[nodiscard]] double dead_letter_count(Reason r) const { return dead_letter_[static_cast<std::size_t>(r)]->Value(); }
  [[nodiscard]] double records_in_count(InputTopic t) const {
    return static_cast<double>(records_in_n_[static_cast<std::size_t>(t)].load(std::memory_order_relaxed));
  }
  [[nodiscard]] double output_count(OutputTopic t) const { return outputs_[static_cast<std::size_t>(t)]->Value(); }
  [[nodiscard]] double duplicate_count() const { return duplicates_->Value(); }
  [[nodiscard]] double applied_count() const { return static_cast<double>(applied_n_.load(std::memory_order_relaxed)); }
  [[nodiscard]] double active_sessions() const { return active_sessions_->Value(); }
  [[nodiscard]] double dead_letter_total() const {
    double n = 0;
    for (const auto* c : dead_letter_) n += c->Value();
    return n;
  }
  [[nodiscard]] double late_accepted_count() const { return late_accepted_->Value(); }

 private:
  /// One writer (the loop thread); readers on any thread see a recent value.
  static void bump(std::atomic<std::uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, kInputTopics> records_in_n_{};
  std::atomic<std::uint64_t> applied_n_{0};
  std::array<std::uint64_t, kInputTopics> records_in_published_{};
  std::uint64_t applied_published_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  std::array<prometheus::Counter*, kInputTopics> records_in_{};
  std::array<prometheus::Counter*, static_cast<std::size_t>(Reason::kCount)> dead_letter_{};
  std::array<prometheus::Counter*, kOutputTopics> outputs_{};
  prometheus::Counter* applied_ = nullptr;
  prometheus::Counter* late_accepted_ = nullptr;
  prometheus::Counter* duplicates_ = nullptr;
  prometheus::Counter* delivery_failed_ = nullptr;
  prometheus::Counter* model_reload_failures_ = nullptr;
  prometheus::Counter* commits_ = nullptr;
  std::array<prometheus::Histogram*, kStages> stage_latency_{};
  prometheus::Gauge* active_sessions_ = nullptr;
  prometheus::Gauge* buffered_ = nullptr;
  prometheus::Gauge* assigned_ = nullptr;
  prometheus::Gauge* paused_ = nullptr;
  prometheus::Counter* pauses_ = nullptr;
  prometheus::Counter* overflow_ = nullptr;
  prometheus::Counter* jumps_ = nullptr;
  prometheus::Family<prometheus::Gauge>* lag_family_ = nullptr;
  prometheus::Family<prometheus::Gauge>* watermark_family_ = nullptr;
};

}  // namespace boxcall::stream
