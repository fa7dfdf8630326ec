#pragma once
/// StrategyPriors (infer/predictor.h): JSON load/save, and the builder from
/// the Ergast archive (docs/models.md "Priors").
///
/// priors.json:
///     {"overall": {"pit_loss_s": 22.1, "safety_car_per_race": 0.6, "races": 180},
///      "circuits": {"bahrain": {...}, "sakhir": {...}, ...},
///      "source": {...}}
#include <filesystem>
#include <string>

#include "base/result.h"
#include "infer/predictor.h"

namespace boxcall::infer {

/// Reads a priors file; an unreadable or malformed file is an error value.
[[nodiscard]] Result<StrategyPriors> load_priors(const std::filesystem::path& file);
/// Writes `priors` (throws ConfigError when the file cannot be written).
void save_priors(const StrategyPriors& priors, const std::filesystem::path& file, const std::string& source_note = {});

struct PriorsConfig {
  int pit_loss_first_year = 2020;  ///< lap times exist for 2020-2022
  int pit_loss_last_year = 2022;
  int safety_car_first_year = 2014;  ///< hybrid era
  int safety_car_last_year = 2022;   ///< later races may be held back for evaluation
};

/// Builds priors from `<ergast_dir>/{races,circuits,lap_times_2020_2022,pit_stops,safety_cars}.csv`.
/// Per circuit: pit loss = median over stops of (in-lap + out-lap) - 2 x the
/// median green lap of that driver in that race; safety cars = deployments per
/// race. Each circuit is stored under its Ergast ref, location and (when it is
/// the country's only circuit) country, lower case. Throws ConfigError when a
/// file is missing.
[[nodiscard]] StrategyPriors build_priors(const std::filesystem::path& ergast_dir, const PriorsConfig& config = {});

}  // namespace boxcall::infer
