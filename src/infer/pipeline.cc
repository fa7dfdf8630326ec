#include "infer/pipeline.h"

namespace boxcall::infer {

SessionPipeline::SessionPipeline(std::string session_id, const features::FeatureConfig& features,
                                 const StrategyConfig& strategy, PredictorProvider predictor,
                                 std::shared_ptr<const StrategyPriors> priors)
    : strategy_(std::move(session_id), strategy, std::move(predictor), std::move(priors)),
      engine_(features, &strategy_) {}

Result<Applied> SessionPipeline::on_record(const Input& record, bool late, OutputSink& out) {
  if (const auto* sample = std::get_if<TelemetrySample>(&record)) {
    const auto placement = engine_.on_sample(*sample, late, out);
    if (placement != features::Placement::Accepted) return features::sample_error(placement, *sample);
    // The sensor rules (dropout, stuck values) need each car's samples in order.
    if (!late) {
      strategy_.on_sample(*sample, out);
      advance(sample->event_time_ns, out);
    }
    return Applied::Ok;
  }
  const auto& event = std::get<TimingEvent>(record);
  if (engine_.repeats(event)) return Applied::Duplicate;
  engine_.on_timing(event, out);
  if (!late) advance(event.event_time_ns, out);
  return Applied::Ok;
}

void SessionPipeline::advance(TimeNs t, OutputSink& out) {
  if (t <= clock_) return;
  clock_ = t;
  engine_.on_watermark(t, out);
  strategy_.on_watermark(t, out);
}

void SessionPipeline::on_tick(std::chrono::steady_clock::time_point now, OutputSink& out) {
  strategy_.on_tick(now, out);
}

}  // namespace boxcall::infer
