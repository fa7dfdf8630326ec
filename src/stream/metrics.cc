#include "stream/metrics.h"

namespace boxcall::stream {

std::string_view to_string(InputTopic t) { return t == InputTopic::Telemetry ? "telemetry" : "timing"; }

std::string_view to_string(OutputTopic t) {
  switch (t) {
    case OutputTopic::Features:
      return "features";
    case OutputTopic::Predictions:
      return "predictions";
    case OutputTopic::Alerts:
      return "alerts";
    case OutputTopic::DeadLetter:
      break;
  }
  return "dead-letter";
}

namespace {
std::string_view stage_name(std::size_t i) {
  static constexpr std::array<std::string_view, kStages> kNames{"process", "deliver", "end_to_end"};
  return kNames[i];
}
}  // namespace

StreamMetrics::StreamMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& in = prometheus::BuildCounter()
                 .Name("boxcall_records_in_total")
                 .Help("Input records consumed, per input topic")
                 .Register(*registry_);
  for (std::size_t i = 0; i < kInputTopics; ++i) {
    records_in_[i] = &in.Add({{"topic", std::string(to_string(static_cast<InputTopic>(i)))}});
  }
  auto& dlq = prometheus::BuildCounter()
                  .Name("boxcall_dead_letter_total")
                  .Help("Input records sent to the dead-letter topic, per reason")
                  .Register(*registry_);
  for (std::size_t i = 0; i < dead_letter_.size(); ++i) {
    dead_letter_[i] = &dlq.Add({{"reason", std::string(to_string(static_cast<Reason>(i)))}});
  }
  auto& out = prometheus::BuildCounter()
                  .Name("boxcall_outputs_total")
                  .Help("Output records acknowledged by the broker, per output topic")
                  .Register(*registry_);
  for (std::size_t i = 0; i < kOutputTopics; ++i) {
    outputs_[i] = &out.Add({{"topic", std::string(to_string(static_cast<OutputTopic>(i)))}});
  }
  applied_ = &prometheus::BuildCounter()
                  .Name("boxcall_records_applied_total")
                  .Help("Input records that contributed to session state (the rest: dead letters, duplicates)")
                  .Register(*registry_)
                  .Add({});
  late_accepted_ = &prometheus::BuildCounter()
                        .Name("boxcall_late_accepted_total")
                        .Help("Records behind the session watermark but within the allowed lateness")
                        .Register(*registry_)
                        .Add({});
  duplicates_ = &prometheus::BuildCounter()
                     .Name("boxcall_duplicates_total")
                     .Help("Duplicate input records dropped")
                     .Register(*registry_)
                     .Add({});
  delivery_failed_ = &prometheus::BuildCounter()
                          .Name("boxcall_delivery_failed_total")
                          .Help("Outputs the producer could not deliver (the process stops without committing)")
                          .Register(*registry_)
                          .Add({});
  model_reload_failures_ = &prometheus::BuildCounter()
                                .Name("boxcall_model_reload_failures_total")
                                .Help("Model reloads that failed (the models already loaded keep serving)")
                                .Register(*registry_)
                                .Add({});
  commits_ = &prometheus::BuildCounter()
                  .Name("boxcall_offset_commits_total")
                  .Help("Offset commits completed")
                  .Register(*registry_)
                  .Add({});
  auto& lat = prometheus::BuildHistogram()
                  .Name("boxcall_stage_latency_seconds")
                  .Help(
                      "Latency per stage: process (dequeued -> produced), deliver (produced -> acked), "
                      "end_to_end (input timestamp -> output acked)")
                  .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries buckets{1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2,
                                                        3e-2, 0.1,  0.3,  1.0,  3.0,  10.0};
  for (std::size_t i = 0; i < kStages; ++i) {
    stage_latency_[i] = &lat.Add({{"stage", std::string(stage_name(i))}}, buckets);
  }
  active_sessions_ = &prometheus::BuildGauge()
                          .Name("boxcall_active_sessions")
                          .Help("Sessions with live state")
                          .Register(*registry_)
                          .Add({});
  buffered_ = &prometheus::BuildGauge()
                   .Name("boxcall_buffered_records")
                   .Help("Records held in watermark reorder buffers")
                   .Register(*registry_)
                   .Add({});
  assigned_ = &prometheus::BuildGauge()
                   .Name("boxcall_assigned_partitions")
                   .Help("Input partitions this instance owns in its consumer group")
                   .Register(*registry_)
                   .Add({});
  paused_ = &prometheus::BuildGauge()
                 .Name("boxcall_paused_partitions")
                 .Help("Input partitions paused for backpressure (an input of a session ran ahead of the other)")
                 .Register(*registry_)
                 .Add({});
  pauses_ = &prometheus::BuildCounter()
                 .Name("boxcall_backpressure_pauses_total")
                 .Help("Times an input partition was paused because a session's reorder buffer filled up")
                 .Register(*registry_)
                 .Add({});
  overflow_ = &prometheus::BuildCounter()
                   .Name("boxcall_reorder_overflow_total")
                   .Help("Records released before an input caught up because reorder buffers hit their memory bound")
                   .Register(*registry_)
                   .Add({});
  jumps_ =
      &prometheus::BuildCounter()
           .Name("boxcall_event_time_jumps_total")
           .Help("Sessions whose event time moved further ahead than max_event_time_step, confirmed by two records")
           .Register(*registry_)
           .Add({});
  lag_family_ = &prometheus::BuildGauge()
                     .Name("boxcall_consumer_lag_records")
                     .Help("High watermark minus consumer position, per assigned input partition")
                     .Register(*registry_);
  watermark_family_ = &prometheus::BuildGauge()
                           .Name("boxcall_watermark_delay_seconds")
                           .Help("Newest event time seen minus the session watermark (event time)")
                           .Register(*registry_);
}

void StreamMetrics::publish_batched() {
  for (std::size_t i = 0; i < kInputTopics; ++i) {
    const std::uint64_t n = records_in_n_[i].load(std::memory_order_relaxed);
    if (n != records_in_published_[i]) records_in_[i]->Increment(static_cast<double>(n - records_in_published_[i]));
    records_in_published_[i] = n;
  }
  const std::uint64_t applied = applied_n_.load(std::memory_order_relaxed);
  if (applied != applied_published_) applied_->Increment(static_cast<double>(applied - applied_published_));
  applied_published_ = applied;
}

void StreamMetrics::set_lag(InputTopic t, int partition, double lag) {
  lag_family_->Add({{"topic", std::string(to_string(t))}, {"partition", std::to_string(partition)}}).Set(lag);
}

void StreamMetrics::set_watermark_delay(const std::string& session, double seconds) {
  watermark_family_->Add({{"session", session}}).Set(seconds);
}

void StreamMetrics::remove_session(const std::string& session) {
  auto& g = watermark_family_->Add({{"session", session}});
  watermark_family_->Remove(&g);
}

}  // namespace boxcall::stream
