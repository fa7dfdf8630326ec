#pragma once
/// `boxcall train`: builds the training rows by running the live feature
/// engine and the live LapContext builder over every race of the archive,
/// splits them by time, trains both models with the XGBoost C API, and
/// writes models + metadata + priors (docs/models.md).
///
/// Start-up style code: a missing or unusable data file throws ConfigError.
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/records.h"
#include "features/race.h"
#include "infer/model_features.h"
#include "infer/predictor.h"

namespace boxcall::infer {

/// One race as the stream would deliver it: its timing events in event-time order.
struct RaceEvents {
  std::string id;      ///< "2023_08_montreal", "2021_01_bahrain"
  std::string source;  ///< "fastf1" or "ergast"
  int year = 0, round = 0;
  std::vector<TimingEvent> events;
  /// Chronological order key.
  [[nodiscard]] int order() const { return year * 100 + round; }
};

/// FastF1 laps-only export: `<dir>/laps.csv` (+ `track_status.csv` when present).
[[nodiscard]] RaceEvents load_fastf1_race(const std::filesystem::path& dir, int year, int round);
/// Every race of `<data>/fastf1/*_season_laps/<round>_<venue>/` and, with
/// `with_ergast`, the Ergast races that have lap times (compounds unknown;
/// stints and tyre ages from the pit stops; SC laps from safety_cars.csv).
/// Sorted chronologically.
[[nodiscard]] std::vector<RaceEvents> load_races(const std::filesystem::path& data_dir, bool with_ergast);

/// One closed lap as the live path sees it.
struct LapRecord {
  LapContext ctx;
  features::LapFlags flags;
};
/// Runs the race's records through the feature engine (the offline driver);
/// one vector per car, by lap, of the engine's lap records.
[[nodiscard]] std::vector<std::vector<LapRecord>> run_race(const RaceEvents& race);

/// Stint lengths (tyre age at the stint's last lap, a used set's earlier
/// laps included) per dry compound (`kDryCompounds` order), for the tyre-life
/// prior: every stint of a race's cars on a dry compound, the final one
/// (run to the flag) included. Stints shorter than `min_laps` (a stop for
/// damage or under a safety car, a late set for the fastest lap) are not
/// limited by wear and are left out.
void add_stint_lengths(const std::vector<std::vector<LapRecord>>& race, std::array<std::vector<double>, 3>& lengths,
                       std::int32_t min_laps = 8);
/// Usable tyre life per dry compound: the `quantile` of the stint lengths
/// (0 where a compound has fewer than `min_stints`).
[[nodiscard]] std::array<double, 3> usable_tyre_life(std::array<std::vector<double>, 3> lengths, double quantile,
                                                     std::size_t min_stints = 10);

struct Split {
  std::vector<std::size_t> train, validation;  ///< indices into the races vector
};
/// The latest `validation_races` races of the FastF1 source (ones with
/// compounds) are the validation set, every race strictly before the first of
/// them is training. Never a random split.
[[nodiscard]] Split split_by_time(const std::vector<RaceEvents>& races, int validation_races);

struct Rows {
  std::size_t cols = 0;
  std::vector<float> x;      ///< row-major
  std::vector<float> y;      ///< lap model: delta target; pit model: 0/1
  std::vector<float> ref_s;  ///< lap model: the reference lap (previous clean lap)
  std::vector<Compound> compound;
  std::vector<std::int32_t> tyre_age;
  [[nodiscard]] std::size_t size() const { return y.size(); }
};
/// Lap model rows: lap L whose next lap L+1 is clean and that has a reference
/// lap; target = time(L+1) - reference. Pit rows: every lap L whose next 3
/// laps are known (or the race ends); target = an in-lap among L+1..L+3.
void add_rows(ModelKind kind, const std::vector<std::vector<LapRecord>>& race, Rows& rows);

struct TrainConfig {
  std::filesystem::path data_dir = "../shared/data";
  std::filesystem::path out_dir = "models";
  bool with_ergast = true;
  bool lap_with_ergast = true;  ///< Ergast rows (no compounds, SC laps only) also train the lap-time model
  int validation_races = 4;
  std::optional<int> max_races;  ///< keep only the earliest N races (tests: a tiny slice)
  int lap_rounds = 200, pit_rounds = 200;
  int max_depth = 4;
  double eta = 0.05;
  int nthread = 2;
  int seed = 7;
  bool write_priors = true;         ///< needs `<data>/ergast`
  double tyre_life_quantile = 0.4;  ///< usable tyre life = this quantile of the training stints' lengths
  std::string command;              ///< recorded in the metadata
};

struct TrainReport {
  std::size_t train_races = 0, validation_races = 0;
  std::size_t lap_train_rows = 0, lap_val_rows = 0, pit_train_rows = 0, pit_val_rows = 0;
  double lap_mae_model = 0, lap_mae_prev_clean = 0;
  double lap_shrink = 1, lap_mae_shrunk = 0;  ///< next_lap_shrink and the validation MAE with it
  double pit_auc_model = 0, pit_auc_baseline = 0, pit_brier_model = 0, pit_brier_baseline = 0, pit_brier_prevalence = 0;
  std::string lap_version, pit_version;
  std::vector<std::string> validation_ids;
  std::array<double, 3> tyre_life_laps{};  ///< soft, medium, hard (0: too few stints)
  double seconds = 0;
  /// The metrics table printed by `boxcall train` and copied to docs/models.md.
  [[nodiscard]] std::string table() const;
};

/// Trains both models and writes `<out>/lap_time.json`, `pit_3.json`, their
/// `.meta.json` and `priors.json`. Deterministic for a given config.
[[nodiscard]] TrainReport train_models(const TrainConfig& config);

/// Area under the ROC curve (ties averaged) and Brier score.
[[nodiscard]] double roc_auc(const std::vector<float>& y, const std::vector<double>& p);
[[nodiscard]] double brier(const std::vector<float>& y, const std::vector<double>& p);

}  // namespace boxcall::infer
