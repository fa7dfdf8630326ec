#pragma once
/// One session's whole computation: the feature engine and the strategy,
/// each fed in the order it needs (the strategy sees a lap's timing record
/// before the engine emits that lap's features, and then the features). The
/// live processor and the offline twin (`boxcall backtest`) both drive this
/// class, so they compute the same outputs from the same records.
#include <chrono>
#include <memory>
#include <string>

#include "features/session_engine.h"
#include "infer/strategy.h"

namespace boxcall::infer {

class SessionPipeline {
 public:
  SessionPipeline(std::string session_id, const features::FeatureConfig& features, const StrategyConfig& strategy,
                  PredictorProvider predictor, std::shared_ptr<const StrategyPriors> priors);

  /// A sample (see features::SessionEngine::on_sample for `late`).
  [[nodiscard]] features::Placement on_sample(const TelemetrySample& sample, bool late, OutputSink& out);
  void on_timing(const TimingEvent& event, OutputSink& out);
  void on_watermark(TimeNs watermark, OutputSink& out);
  /// Processing-time checks (feed stall).
  void on_tick(std::chrono::steady_clock::time_point now, OutputSink& out);

  [[nodiscard]] bool finished() const { return engine_.finished(); }
  [[nodiscard]] const SessionStrategy& strategy() const { return strategy_; }

 private:
  features::SessionEngine engine_;
  SessionStrategy strategy_;
};

}  // namespace boxcall::infer
