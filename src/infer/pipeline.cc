#include "infer/pipeline.h"

namespace boxcall::infer {

SessionPipeline::SessionPipeline(std::string session_id, const features::FeatureConfig& features,
                                 const StrategyConfig& strategy, PredictorProvider predictor,
                                 std::shared_ptr<const StrategyPriors> priors)
    : engine_(features), strategy_(std::move(session_id), strategy, std::move(predictor), std::move(priors)) {}

features::Placement SessionPipeline::on_sample(const TelemetrySample& sample, bool late, OutputSink& out) {
  StrategyTee tee(out, strategy_);
  const auto placement = engine_.on_sample(sample, late, tee);
  // The sensor rules (dropout, stuck values) need each car's samples in order.
  if (placement == features::Placement::Accepted && !late) strategy_.on_sample(sample, out);
  return placement;
}

void SessionPipeline::on_timing(const TimingEvent& event, OutputSink& out) {
  strategy_.on_timing(event, out);  // before the engine: the lap record precedes its features
  StrategyTee tee(out, strategy_);
  engine_.on_timing(event, tee);
}

void SessionPipeline::on_watermark(TimeNs watermark, OutputSink& out) {
  StrategyTee tee(out, strategy_);
  engine_.on_watermark(watermark, tee);
  strategy_.on_watermark(watermark, out);
}

void SessionPipeline::on_tick(std::chrono::steady_clock::time_point now, OutputSink& out) {
  strategy_.on_tick(now, out);
}

}  // namespace boxcall::infer
