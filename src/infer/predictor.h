#pragma once
/// The seam between the models and the strategy engine: what the strategy
/// asks of a model, and the priors it needs about circuits. XGBoost stays
/// behind `Predictor` (infer/xgb_predictor.h); tests and the documented
/// fallback plug in other implementations. No Kafka here.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/records.h"

namespace boxcall::infer {

/// Everything known about one car when its lap completes: the lap's features
/// plus the short history the models use. Built identically by the live path,
/// the backtest and the training command (infer/lap_context.h).
struct LapContext {
  LapFeatures lap;                          ///< the lap just completed
  std::optional<double> prev_clean_lap_s;   ///< the car's latest clean lap (see docs/features.md) before or at this lap
  std::vector<double> recent_clean_laps_s;  ///< up to the last 5 clean laps of the stint, oldest first
  std::int32_t pit_stops = 0;               ///< stops made so far
  std::int32_t compounds_used_mask = 0;     ///< bit per Compound used so far (dry-compound rule)
  TrackStatus track_status = TrackStatus::Green;  ///< status now (safety car, VSC ...)
  std::int32_t scheduled_laps = 0;
  std::optional<double> gap_ahead_s;   ///< interval to the car ahead on the road
  std::optional<double> gap_behind_s;  ///< interval to the car behind
  std::uint16_t car_ahead = 0, car_behind = 0;
};

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
};

/// Historical facts per circuit, built by `boxcall train` from the Ergast
/// archive (pit stops, lap times, safety cars) and stored beside the models.
struct CircuitPrior {
  double pit_loss_s = 22.0;          ///< race time lost by a stop (in-lap + out-lap vs green laps)
  double safety_car_per_race = 0.5;  ///< mean safety-car deployments per race
  std::int32_t races = 0;            ///< how many races the numbers come from
};
struct StrategyPriors {
  std::map<std::string, CircuitPrior> circuits;  ///< key: lower-case circuit/location name, e.g. "bahrain"
  CircuitPrior overall;                          ///< used when the circuit is unknown
  [[nodiscard]] const CircuitPrior& for_circuit(std::string_view name) const;
};

}  // namespace boxcall::infer
