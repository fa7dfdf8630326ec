#pragma once
// A Predictor with known, linear tyre curves: lap = base + compound offset +
// degradation x age + 0.035 s/kg x fuel. Tests state their expectations in
// terms of these numbers.
#include <array>

#include "infer/predictor.h"

namespace boxcall::infer::testing {

class FakePredictor final : public Predictor {
 public:
  double base_s = 90.0;
  // Soft, Medium, Hard.
  std::array<double, 3> offset_s{-0.8, 0.0, 0.5};
  std::array<double, 3> deg_s_per_lap{0.12, 0.07, 0.04};
  double p_pit = 0.2;
  mutable int lap_s_at_calls = 0;

  [[nodiscard]] std::string version() const override { return "fake-1"; }
  [[nodiscard]] std::optional<double> next_lap_s(const LapContext& ctx) const override {
    return lap_s_at(ctx, ctx.lap.compound, ctx.lap.tyre_age.value_or(1) + 1, ctx.lap.fuel_kg_est.value_or(50));
  }
  [[nodiscard]] std::optional<double> lap_s_at(const LapContext&, Compound c, std::int32_t age,
                                               double fuel_kg) const override {
    ++lap_s_at_calls;
    const int i = c == Compound::Soft ? 0 : c == Compound::Hard ? 2 : 1;
    return base_s + offset_s[i] + deg_s_per_lap[i] * age + 0.035 * fuel_kg;
  }
  [[nodiscard]] std::optional<double> pit_within_3(const LapContext&) const override { return p_pit; }
};

}  // namespace boxcall::infer::testing
