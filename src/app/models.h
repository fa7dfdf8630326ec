#pragma once
/// Where predictions come from, decided once at start-up ([models] in the
/// configuration): the model store and its reload timer, the circuit priors,
/// or the documented fallback. Shared by `run` (through the live pipeline
/// factory) and `backtest`, so both use the same models by default.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/session.h"
#include "features/session_engine.h"
#include "infer/pipeline.h"
#include "infer/predictor.h"
#include "infer/strategy.h"

namespace boxcall::infer {
class ModelStore;
}  // namespace boxcall::infer

namespace boxcall::app {

struct ModelsConfig {
  /// XGBoost models (+ priors.json) from `boxcall train`; empty: the models
  /// shipped with boxcall (`default_models_dir()`), unless `enabled` is false.
  std::string dir;
  /// False (--no-models): no model directory; `fallback` decides.
  bool enabled = true;
  /// How often the model files are checked for a new version (0: never).
  std::chrono::milliseconds reload_interval{std::chrono::seconds(30)};
  /// Without models: "none" (no predictions; alerts still run) or "rules".
  std::string fallback = "none";
};

/// The models shipped with boxcall: `<prefix>/share/boxcall/models` next to an
/// installed binary, the source tree's models/ for a binary inside its build
/// tree (app/paths.h).
[[nodiscard]] std::string default_models_dir();

class ModelSetup {
 public:
  /// Loads what `config` names; throws ConfigError when it does not load.
  explicit ModelSetup(const ModelsConfig& config);
  ~ModelSetup();
  [[nodiscard]] infer::PredictorProvider predictor() const { return predictor_; }
  [[nodiscard]] std::shared_ptr<const infer::StrategyPriors> priors() const { return priors_; }
  /// "models 2026-..." / "fallback rules" / "no models": for logs and reports.
  [[nodiscard]] std::string describe() const;
  /// Processing time: reloads changed model files every `reload_interval`.
  void on_tick(std::chrono::steady_clock::time_point now);
  /// Called (on the loop thread) when a reload fails: the run counts it in its metrics.
  void on_reload_failure(std::function<void()> hook) { on_reload_failure_ = std::move(hook); }

 private:
  ModelsConfig config_;
  std::shared_ptr<infer::ModelStore> store_;
  infer::PredictorProvider predictor_;
  std::shared_ptr<const infer::StrategyPriors> priors_;
  std::string description_;
  std::chrono::steady_clock::time_point next_reload_{};
  std::function<void()> on_reload_failure_;
};

/// The live pipeline: one infer::SessionPipeline per session, models reloaded on tick.
class LivePipelineFactory final : public SessionHandlerFactory {
 public:
  LivePipelineFactory(features::FeatureConfig features, infer::StrategyConfig strategy,
                      std::shared_ptr<ModelSetup> models)
      : models_(std::move(models)),
        factory_(std::move(features), std::move(strategy), models_->predictor(), models_->priors()) {}
  [[nodiscard]] std::unique_ptr<SessionHandler> create(std::string_view session_id) override {
    return factory_.create(session_id);
  }
  void on_tick(std::chrono::steady_clock::time_point now) override { models_->on_tick(now); }

 private:
  std::shared_ptr<ModelSetup> models_;
  infer::PipelineFactory factory_;
};

}  // namespace boxcall::app
