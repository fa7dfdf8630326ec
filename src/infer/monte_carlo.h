#pragma once
/// Monte Carlo of the rest of a race for one car, from one decision point:
/// where to put the next stop. Pure arithmetic over precomputed green-lap
/// curves (the Predictor is asked by the strategy engine, not here), seeded
/// so a backtest reproduces every decision, and allocation-free once built:
/// the simulator owns fixed-size scratch arrays sized for `kMaxRaceLaps`.
///
/// Model, in one paragraph: the car finishes the race on its current set, or
/// stops at the end of lap `lap + s` (s = 1 .. R-1, R laps remaining) onto a
/// fresh dry compound and then runs the rest with the best of "no more stop"
/// or "one more stop" (chosen on expected values; the dry-compound rule is
/// enforced on every plan). Each scenario draws a degradation multiplier
/// (how much worse or better than predicted the tyres wear), a pit-loss error,
/// and a safety-car period (a Bernoulli per lap from the circuit's safety cars
/// per race, lasting `sc_length_laps`; a current SC/VSC covers the next laps):
/// a stop under SC costs `sc_pit_factor` of the green pit loss. The best
/// in-lap is the one of least mean cost over the scenarios; the window is the
/// contiguous laps around it whose mean cost is within `window_tolerance_s`.
#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "base/records.h"

namespace boxcall::infer {

inline constexpr std::int32_t kMaxRaceLaps = 128;

/// Deterministic PRNG (xoshiro256**, seeded through splitmix64): same seed,
/// same sequence on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  std::uint64_t next();
  /// Uniform in (0, 1).
  double uniform();
  /// Standard normal (Box-Muller, both values used).
  double normal();

 private:
  std::array<std::uint64_t, 4> s_{};
  double spare_ = 0;
  bool has_spare_ = false;
};

/// Mixes values into a seed (splitmix64 steps): session, car, lap -> one decision's seed.
[[nodiscard]] std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b);

/// The dry compounds the simulation may fit, in `SimInput::fresh` order.
inline constexpr std::array<Compound, 3> kDryCompounds{Compound::Soft, Compound::Medium, Compound::Hard};
[[nodiscard]] inline bool is_dry(Compound c) {
  return c == Compound::Soft || c == Compound::Medium || c == Compound::Hard;
}
[[nodiscard]] inline std::int32_t compound_bit(Compound c) { return 1 << static_cast<int>(c); }
/// Two different dry compounds used, or any wet-weather compound (the rule does not apply).
[[nodiscard]] bool compound_rule_satisfied(std::int32_t used_mask);

struct SimInput {
  std::int32_t lap = 0;         ///< laps the car has completed
  std::int32_t total_laps = 0;  ///< scheduled laps
  /// current[k - 1]: green lap time of lap `lap + k` on the set now on the car, k = 1 .. R.
  std::span<const double> current;
  double current_base = 0;  ///< the current compound's lap time on a fresh set (degradation = the excess)
  /// fresh[i][a - 1]: green lap time on `kDryCompounds[i]` at tyre age a = 1 .. R; empty: not allowed.
  std::array<std::span<const double>, 3> fresh;
  std::int32_t compounds_used_mask = 0;  ///< bit per Compound (`compound_bit`), the current one included
  double pit_loss_s = 22.0;
  double pit_loss_sd_s = 1.0;
  double sc_pit_factor = 0.5;     ///< share of the pit loss a stop costs under SC/VSC
  double sc_prob_per_lap = 0.01;  ///< chance that a SC starts in a given lap
  std::int32_t sc_length_laps = 4;
  std::int32_t sc_active_laps = 0;  ///< next laps known to be under SC/VSC (status now)
  double deg_sd = 0.25;             ///< relative spread of the degradation multiplier
  double window_tolerance_s = 2.0;
  std::int32_t scenarios = 1000;
  std::uint64_t seed = 1;
};

struct SimResult {
  /// No stop is the best plan (or no stop is possible): no window.
  bool stop = false;
  std::int32_t window_start = 0, best = 0, window_end = 0;  ///< in-lap numbers
  Compound next_compound = Compound::Unknown;
  std::int32_t planned_stops = 0;  ///< stops in the best plan, this one included
  double pit_now_delta_s = 0;      ///< mean cost of stopping at the end of the next lap minus the best plan's
  double confidence = 0;           ///< share of scenarios whose own best in-lap lies in the window
  double mean_cost_best_s = 0;     ///< mean race time of the best plan over the remaining laps
  std::int32_t scenarios = 0;
};

/// Reusable simulator: construct once (per session or per thread), call
/// `run` per decision. Not thread-safe (scratch state).
class PitSimulator {
 public:
  /// Fails (nullopt) only on unusable input: fewer than 2 laps left, more
  /// than kMaxRaceLaps, or curves shorter than the laps remaining.
  [[nodiscard]] std::optional<SimResult> run(const SimInput& in);

 private:
  // Prefix sums and per-plan costs, indexed by laps; fixed size: no allocation per decision.
  using Row = std::array<double, kMaxRaceLaps + 1>;
  Row cur_base_{}, cur_deg_{};
  std::array<Row, 3> fresh_base_{}, fresh_deg_{};
  Row tail_base_{}, tail_deg_{};
  std::array<std::int8_t, kMaxRaceLaps + 1> tail_compound_{}, tail_stops_{};
  Row cost_sum_{};
  std::array<std::int32_t, kMaxRaceLaps + 1> wins_{};
};

}  // namespace boxcall::infer
