#pragma once
/// The model input vectors: one list of names per model kind, and the one
/// function that fills them from a LapContext. Training, backtest and live
/// scoring all go through `fill_features`, and a model file whose metadata
/// lists other names (or another order) is refused at load.
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "infer/predictor.h"

namespace boxcall::infer {

enum class ModelKind : unsigned char {
  LapTimeDelta,  ///< next green lap time minus the reference lap (see reference_lap_s), seconds
  PitWithin3,    ///< probability that the car pits on one of its next 3 laps
};

/// The metadata `kind` string of each model ("lap_time_delta_v1", "pit_within_3_v1").
[[nodiscard]] std::string_view kind_name(ModelKind kind);

/// Feature names, in model input order.
[[nodiscard]] std::span<const std::string_view> feature_names(ModelKind kind);

inline constexpr std::size_t kMaxFeatures = 32;

/// The lap the lap-time model predicts a delta to: the car's latest clean lap.
[[nodiscard]] inline std::optional<double> reference_lap_s(const LapContext& ctx) { return ctx.prev_clean_lap_s; }

/// Writes the inputs of `kind` for `ctx` into `out` (size >= feature_names(kind).size());
/// a missing value is NaN (XGBoost's missing). Allocation-free.
void fill_features(ModelKind kind, const LapContext& ctx, std::span<float> out);

/// Typical fuel burn per lap for a race of `scheduled_laps` (features::kFuelStartKg at the start).
[[nodiscard]] double fuel_per_lap_kg(const LapContext& ctx);

}  // namespace boxcall::infer
