#pragma once
/// The seam between the models and the strategy engine: what the strategy
/// asks of a model, and the priors it needs about circuits. XGBoost stays
/// behind `Predictor` (infer/xgb_predictor.h); tests and the documented
/// fallback plug in other implementations. No Kafka here.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/records.h"
#include "features/race.h"

namespace boxcall::infer {

/// Everything known about one car when its lap completes: the feature
/// engine's complete lap record (features/race.h, the single owner of the
/// race state), as the models and the strategy see it. The live path, the
/// backtest and the training command all get it from the engine.
struct LapContext : features::ClosedLap {};

/// What a model predicts for the strategy engine.
class Predictor {
 public:
  virtual ~Predictor() = default;
  /// Carried by every prediction (model versions, or "fallback-rules").
  [[nodiscard]] virtual std::string version() const = 0;
  /// Time of the car's next lap under green, in seconds.
  [[nodiscard]] virtual std::optional<double> next_lap_s(const LapContext& ctx) const = 0;
  /// Green lap time of this car after changing to `compound` at `tyre_age`
  /// with `fuel_kg` on board: the degradation curve the simulation samples.
  [[nodiscard]] virtual std::optional<double> lap_s_at(const LapContext& ctx, Compound compound, std::int32_t tyre_age,
                                                       double fuel_kg) const = 0;
  /// Probability that the car pits within the next 3 laps.
  [[nodiscard]] virtual std::optional<double> pit_within_3(const LapContext& ctx) const = 0;
  /// The same for several cars at once (out[i] for ctxs[i]; the spans have one
  /// size): a model that scores a batch in one call (XGBoost) overrides these.
  virtual void next_lap_s_batch(std::span<const LapContext* const> ctxs, std::span<std::optional<double>> out) const {
    for (std::size_t i = 0; i < ctxs.size() && i < out.size(); ++i) out[i] = next_lap_s(*ctxs[i]);
  }
  virtual void pit_within_3_batch(std::span<const LapContext* const> ctxs, std::span<std::optional<double>> out) const {
    for (std::size_t i = 0; i < ctxs.size() && i < out.size(); ++i) out[i] = pit_within_3(*ctxs[i]);
  }
};

/// Historical facts per circuit, built by `boxcall train` from the Ergast
/// archive (pit stops, lap times, safety cars) and stored beside the models.
struct CircuitPrior {
  double pit_loss_s = 22.0;          ///< race time lost by a stop (in-lap + out-lap vs green laps)
  double safety_car_per_race = 0.5;  ///< mean safety-car deployments per race
  std::int32_t races = 0;            ///< how many races the numbers come from
  /// Usable tyre life in laps of a soft, medium and hard set (the order of
  /// `kDryCompounds`), learned by `boxcall train` from the training races'
  /// stints (docs/models.md "Tyre life"); past it a set wears into its cliff.
  /// 0: unknown, no cliff.
  std::array<double, 3> tyre_life_laps{};
};
struct StrategyPriors {
  std::map<std::string, CircuitPrior> circuits;  ///< key: lower-case circuit/location name, e.g. "bahrain"
  CircuitPrior overall;                          ///< used when the circuit is unknown
  [[nodiscard]] const CircuitPrior& for_circuit(std::string_view name) const;
};

}  // namespace boxcall::infer
