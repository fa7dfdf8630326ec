#pragma once
/// The documented fallback Predictor (docs/models.md "Fallback rules"): used
/// only when the user asks for it (`--no-models`), never silently in place of
/// a missing model.
///
///  - next lap: the car's latest clean lap + its degradation slope (or a
///    per-compound default) - the fuel burnt in one lap x kFuelEffectSPerKg (base/regulations.h);
///  - pit within 3 laps: logistic in (tyre age - a per-compound typical stint
///    length), damped near the end of the race and raised under SC/VSC.
#include "infer/predictor.h"

namespace boxcall::infer {

class RulesPredictor final : public Predictor {
 public:
  [[nodiscard]] std::string version() const override { return "fallback-rules"; }
  [[nodiscard]] std::optional<double> next_lap_s(const LapContext& ctx) const override;
  [[nodiscard]] std::optional<double> lap_s_at(const LapContext& ctx, Compound compound, std::int32_t tyre_age,
                                               double fuel_kg) const override;
  [[nodiscard]] std::optional<double> pit_within_3(const LapContext& ctx) const override;

  /// Seconds per lap of tyre age assumed for a compound when the car has no slope yet.
  [[nodiscard]] static double default_deg_s_per_lap(Compound c);
  /// Typical stint length (laps) of a compound in a dry race.
  [[nodiscard]] static double typical_stint_laps(Compound c);
  /// Lap-time offset of a compound against medium (fresh tyres), seconds.
  [[nodiscard]] static double compound_offset_s(Compound c);
};

}  // namespace boxcall::infer
