#include "app/models.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "app/paths.h"
#include "infer/priors.h"
#include "infer/rules_predictor.h"
#include "infer/xgb_predictor.h"

namespace boxcall::app {
namespace fs = std::filesystem;

std::string default_models_dir() {
  // An installed binary (<prefix>/bin/boxcall) finds <prefix>/share/boxcall/models; one still in its
  // build tree the source tree's (app/paths.h). Nothing found: the first place looked, for the error.
  if (auto dir = find_share_dir("models")) return dir->string();
  return share_candidates("models").front().string();
}

ModelSetup::ModelSetup(const ModelsConfig& config) : config_(config) {
  std::string dir = config.dir;
  if (config.enabled && dir.empty()) {
    dir = default_models_dir();
    if (!fs::is_directory(dir)) {
      throw ConfigError("no model directory found (looked in " + joined(share_candidates("models")) +
                        "): reinstall, pass --models DIR, or --no-models to run without predictions");
    }
  }
  if (!config.enabled) dir.clear();
  auto priors = std::make_shared<infer::StrategyPriors>();
  if (!dir.empty()) {
    const fs::path priors_file = fs::path(dir) / infer::kPriorsFile;
    if (fs::exists(priors_file)) {
      auto loaded = infer::load_priors(priors_file);
      if (!loaded) throw ConfigError("models: " + loaded.error().detail);
      *priors = std::move(loaded.value());
    }
    auto store = infer::ModelStore::open(dir);
    if (!store) throw ConfigError("models: " + store.error().detail);
    store_ = std::shared_ptr<infer::ModelStore>(std::move(store.value()));
    predictor_ = [store = store_]() -> std::shared_ptr<const infer::Predictor> { return store->current(); };
    description_ = "models " + store_->version() + " from " + dir;
    next_reload_ = std::chrono::steady_clock::now() + config.reload_interval;
  } else if (config.fallback == "rules") {
    auto rules = std::make_shared<const infer::RulesPredictor>();
    predictor_ = [rules]() -> std::shared_ptr<const infer::Predictor> { return rules; };
    description_ = "no models: predictions from the fallback rules (" + rules->version() + ")";
  } else {
    description_ = "no models and models.fallback = none: no strategy predictions (alerts still run)";
  }
  priors_ = std::move(priors);
}

ModelSetup::~ModelSetup() = default;

std::string ModelSetup::describe() const { return description_; }

void ModelSetup::on_tick(std::chrono::steady_clock::time_point now) {
  if (!store_ || config_.reload_interval.count() <= 0 || now < next_reload_) return;
  next_reload_ = now + config_.reload_interval;
  auto reloaded = store_->maybe_reload();
  if (!reloaded) {
    spdlog::warn("model reload failed, keeping {}: {}", store_->version(), reloaded.error().detail);
    if (on_reload_failure_) on_reload_failure_();
  } else if (reloaded.value()) {
    spdlog::info("models reloaded: {}", store_->version());
  }
}

}  // namespace boxcall::app
