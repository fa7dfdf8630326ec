#pragma once
/// One XGBoost booster and its metadata, owned by a move-only RAII wrapper.
///
/// A model is two files: the booster (`<name>.json` or `.ubj`, XGBoost's own
/// formats) and `<name>.meta.json`:
///
///     {"version": "lap_time@1a2b3c4d", "kind": "lap_time_delta_v1",
///      "features": ["tyre_age", ...], "training": {...}, "validation_races": [...],
///      "metrics": {...}, "command": "boxcall train ..."}
///
/// Loading checks the kind and the feature names (order included) against what
/// this build computes (infer/model_features.h). Loading is start-up/reload
/// work (milliseconds); `predict` is the hot path: nthread=1, no allocation
/// beyond XGBoost's own thread-local output buffer.
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace boxcall::infer {

struct ModelMetadata {
  std::string version;
  std::string kind;
  std::vector<std::string> features;
  /// Lap-time model: the share of its predicted delta the next-lap figure keeps (`next_lap_shrink`,
  /// fitted by `boxcall train` on the validation split; 1 when absent).
  double next_lap_shrink = 1.0;
  std::string raw_json;  ///< the whole metadata file, for `inspect`-style tools
};

/// `<dir>/<stem>.meta.json` for `<dir>/<stem>.json|.ubj`.
[[nodiscard]] std::filesystem::path metadata_path(const std::filesystem::path& model_file);

class XgbModel {
 public:
  /// Loads booster + metadata. Errors (missing or unreadable file, corrupt
  /// booster, wrong kind, feature names other than `expected_features`) come
  /// back as values with a one-line `detail`; `Error::reason` is not meaningful
  /// for models. An empty `expected_kind` / `expected_features` skips that check.
  [[nodiscard]] static Result<XgbModel> load(const std::filesystem::path& model_file, std::string_view expected_kind,
                                             std::span<const std::string_view> expected_features);

  XgbModel(XgbModel&&) noexcept = default;
  XgbModel& operator=(XgbModel&&) noexcept = default;
  XgbModel(const XgbModel&) = delete;
  XgbModel& operator=(const XgbModel&) = delete;
  ~XgbModel() = default;

  /// The model's raw output for one row (margin-free: probability for
  /// binary:logistic, value for regression). nullopt if XGBoost reports an error.
  [[nodiscard]] std::optional<double> predict(std::span<const float> row) const;
  /// Several rows in one XGBoost call (`rows`: row-major, `out.size()` rows of
  /// feature_count() floats each): the trees are walked once per batch, so a
  /// row costs a fraction of a single-row call. False if XGBoost reports an error.
  [[nodiscard]] bool predict_batch(std::span<const float> rows, std::span<double> out) const;
  [[nodiscard]] const ModelMetadata& metadata() const { return meta_; }
  [[nodiscard]] std::size_t feature_count() const { return meta_.features.size(); }

 private:
  struct BoosterDeleter {
    void operator()(void* handle) const;
  };
  using Booster = std::unique_ptr<void, BoosterDeleter>;
  XgbModel(Booster booster, ModelMetadata meta) : booster_(std::move(booster)), meta_(std::move(meta)) {}

  Booster booster_;
  ModelMetadata meta_;
};

}  // namespace boxcall::infer
