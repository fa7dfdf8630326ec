#include "infer/rules_predictor.h"

#include <algorithm>
#include <cmath>

#include "infer/model_features.h"

namespace boxcall::infer {
using features::kFuelEffectSPerKg;

double RulesPredictor::default_deg_s_per_lap(Compound c) {
  switch (c) {
    case Compound::Soft:
      return 0.08;
    case Compound::Medium:
      return 0.05;
    case Compound::Hard:
      return 0.03;
    default:
      return 0.05;
  }
}

double RulesPredictor::typical_stint_laps(Compound c) {
  switch (c) {
    case Compound::Soft:
      return 18;
    case Compound::Medium:
      return 26;
    case Compound::Hard:
      return 34;
    case Compound::Intermediate:
      return 25;
    case Compound::Wet:
      return 30;
    default:
      return 25;
  }
}

double RulesPredictor::compound_offset_s(Compound c) {
  switch (c) {
    case Compound::Soft:
      return -0.5;
    case Compound::Hard:
      return 0.5;
    default:
      return 0.0;
  }
}

std::optional<double> RulesPredictor::next_lap_s(const LapContext& ctx) const {
  const auto ref = reference_lap_s(ctx);
  if (!ref) return std::nullopt;
  const double deg = ctx.lap.deg_slope_s_per_lap.value_or(default_deg_s_per_lap(ctx.lap.compound));
  return *ref + std::clamp(deg, -0.2, 0.5) - kFuelEffectSPerKg * fuel_per_lap_kg(ctx);
}

std::optional<double> RulesPredictor::lap_s_at(const LapContext& ctx, Compound compound, std::int32_t tyre_age,
                                               double fuel_kg) const {
  const auto ref = reference_lap_s(ctx);
  if (!ref) return std::nullopt;
  // Back out the current state from the reference lap, then add the asked state.
  const double now_fuel = ctx.lap.fuel_kg_est.value_or(fuel_kg);
  const double now_age = ctx.lap.tyre_age.value_or(1);
  const double base = *ref - kFuelEffectSPerKg * now_fuel - compound_offset_s(ctx.lap.compound) -
                      default_deg_s_per_lap(ctx.lap.compound) * now_age;
  return base + kFuelEffectSPerKg * fuel_kg + compound_offset_s(compound) +
         default_deg_s_per_lap(compound) * static_cast<double>(tyre_age);
}

std::optional<double> RulesPredictor::pit_within_3(const LapContext& ctx) const {
  if (!ctx.lap.tyre_age) return std::nullopt;
  const double excess = static_cast<double>(*ctx.lap.tyre_age) - typical_stint_laps(ctx.lap.compound);
  double logit = -2.5 + 0.25 * excess;
  if (ctx.track_status == TrackStatus::SafetyCar || ctx.track_status == TrackStatus::Vsc) logit += 1.5;
  if (ctx.lap.laps_remaining && *ctx.lap.laps_remaining < 5) logit -= 3.0;
  return 1.0 / (1.0 + std::exp(-logit));
}

}  // namespace boxcall::infer
