#pragma once
/// One session's whole computation behind the session interface
/// (base/session.h): the feature engine, single owner of the race state,
/// and the strategy, which it calls with each closed lap and each change
/// (features/race.h). The live processor and the offline driver both call
/// it, so they compute the same outputs from the same records.
#include <chrono>
#include <limits>
#include <memory>
#include <string>

#include "base/session.h"
#include "features/session_engine.h"
#include "infer/strategy.h"

namespace boxcall::infer {

class SessionPipeline final : public SessionHandler {
 public:
  SessionPipeline(std::string session_id, const features::FeatureConfig& features, const StrategyConfig& strategy,
                  PredictorProvider predictor, std::shared_ptr<const StrategyPriors> priors);

  [[nodiscard]] Result<Applied> on_record(const Input& record, bool late, OutputSink& out) override;
  /// Processing-time checks (feed stall).
  void on_tick(std::chrono::steady_clock::time_point now, OutputSink& out) override;
  [[nodiscard]] bool finished() const override { return engine_.finished(); }

  [[nodiscard]] const SessionStrategy& strategy() const { return strategy_; }

 private:
  /// The pipeline's clock is the event time of the records it was given, in
  /// order: rolling snapshots fall on the same records however they arrived.
  void advance(TimeNs t, OutputSink& out);

  SessionStrategy strategy_;  // listens to engine_: constructed first
  features::SessionEngine engine_;
  TimeNs clock_ = std::numeric_limits<TimeNs>::min();
};

/// Makes a SessionPipeline per session, all sharing the configuration, the
/// predictor and the priors.
class PipelineFactory final : public SessionHandlerFactory {
 public:
  PipelineFactory(features::FeatureConfig features, StrategyConfig strategy, PredictorProvider predictor,
                  std::shared_ptr<const StrategyPriors> priors)
      : features_(std::move(features)),
        strategy_(std::move(strategy)),
        predictor_(std::move(predictor)),
        priors_(std::move(priors)) {}
  [[nodiscard]] std::unique_ptr<SessionHandler> create(std::string_view session_id) override {
    return std::make_unique<SessionPipeline>(std::string(session_id), features_, strategy_, predictor_, priors_);
  }

 private:
  features::FeatureConfig features_;
  StrategyConfig strategy_;
  PredictorProvider predictor_;
  std::shared_ptr<const StrategyPriors> priors_;
};

}  // namespace boxcall::infer
