#pragma once
/// The Ergast archive tables that training and the priors builder read
/// (Kaggle layout, `\N` = missing). Internal to src/infer; off the hot path.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace boxcall::infer::ergast {

struct Race {
  int id = 0, year = 0, round = 0, circuit_id = 0;
  std::string name;         ///< "Bahrain Grand Prix"
  std::string circuit_ref;  ///< "bahrain"
  std::string location;     ///< "Sakhir"
  std::string country;      ///< "Bahrain"
};

struct Lap {
  int driver = 0, lap = 0, position = 0;
  double time_s = 0;
};

struct Archive {
  std::map<int, Race> races;                                    ///< by raceId
  std::map<int, std::vector<std::pair<int, int>>> safety_cars;  ///< raceId -> [deployed, retreated] laps
  std::map<int, std::vector<Lap>> laps;                         ///< raceId -> lap times (only races with laps)
  std::map<std::pair<int, int>, std::vector<int>> pit_laps;     ///< (raceId, driverId) -> in-lap numbers
};

/// Loads races, circuits and safety cars; with `with_laps`, lap times and pit
/// stops too. Throws ConfigError when a file is missing.
[[nodiscard]] Archive load(const std::filesystem::path& dir, bool with_laps);

/// True when `lap` of race `race_id` ran (partly) behind the safety car.
[[nodiscard]] bool under_safety_car(const Archive& a, int race_id, int lap);

/// Lower-case ASCII key ("Montmeló" -> "montmel"), non-ASCII bytes dropped.
[[nodiscard]] std::string key(std::string_view text);

}  // namespace boxcall::infer::ergast
