#pragma once
/// The XGBoost Predictor and the store that loads it at start and reloads it
/// when the model files change.
///
///     auto store = ModelStore::open("models");             // start-up
///     if (!store) throw ConfigError(store.error().detail);  // one clear line
///     std::shared_ptr<const Predictor> p = store->current();  // hot path: atomic load
///     ...
///     if (auto r = store->maybe_reload(); !r) log(r.error().detail);  // timer, off the hot path
///
/// A model directory holds lap_time.json + lap_time.meta.json and
/// pit_3.json + pit_3.meta.json (docs/models.md). `.ubj` boosters work too.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "base/result.h"
#include "infer/predictor.h"
#include "infer/xgb_model.h"

namespace boxcall::infer {

/// Lap-time delta model + pit model behind the Predictor seam. Immutable once
/// built; safe to share between threads (XGBoost in-place prediction is
/// thread-safe; each call uses its own input buffer on the stack).
class XgbPredictor final : public Predictor {
 public:
  XgbPredictor(XgbModel lap_time, XgbModel pit);
  /// "<lap model version>+<pit model version>".
  [[nodiscard]] std::string version() const override { return version_; }
  [[nodiscard]] std::optional<double> next_lap_s(const LapContext& ctx) const override;
  [[nodiscard]] std::optional<double> lap_s_at(const LapContext& ctx, Compound compound, std::int32_t tyre_age,
                                               double fuel_kg) const override;
  [[nodiscard]] std::optional<double> pit_within_3(const LapContext& ctx) const override;
  /// The cars that close laps at the same watermark, scored together: one
  /// XGBoost call per model for the whole batch (out[i] for ctxs[i]).
  void next_lap_s_batch(std::span<const LapContext* const> ctxs, std::span<std::optional<double>> out) const override;
  void pit_within_3_batch(std::span<const LapContext* const> ctxs, std::span<std::optional<double>> out) const override;

  [[nodiscard]] const XgbModel& lap_time_model() const { return lap_time_; }
  [[nodiscard]] const XgbModel& pit_model() const { return pit_; }

 private:
  /// Reference lap + `shrink` x the lap-time model's delta.
  [[nodiscard]] std::optional<double> lap_s(const LapContext& ctx, double shrink) const;
  XgbModel lap_time_;
  XgbModel pit_;
  std::string version_;
};

/// Loads both models of a directory, checking kinds and feature names against
/// this build. Errors carry a one-line `detail` naming the file and the cause.
[[nodiscard]] Result<std::shared_ptr<const XgbPredictor>> load_predictor(const std::filesystem::path& dir);

/// The file names inside a model directory (a `.ubj` beside a `.json` is ignored).
inline constexpr const char* kLapTimeModelFile = "lap_time.json";
inline constexpr const char* kPitModelFile = "pit_3.json";
inline constexpr const char* kPriorsFile = "priors.json";

class ModelStore {
 public:
  /// Loads the models of `dir`. The caller turns an error into its start-up
  /// error (ConfigError) - there is no silent fallback.
  [[nodiscard]] static Result<std::unique_ptr<ModelStore>> open(std::filesystem::path dir);

  /// The predictor to use now. Lock-free for readers; keeps the previous
  /// predictor alive for callers still holding it across a reload.
  [[nodiscard]] std::shared_ptr<const Predictor> current() const { return current_.load(); }
  [[nodiscard]] std::string version() const { return current()->version(); }

  /// Reloads when a model or metadata file's modification time or size
  /// changed since the last (attempted) load. Returns true when a new
  /// predictor was installed, false when nothing changed; an error when the new
  /// files do not load - the old predictor stays in place and the same files
  /// are not retried until they change again. Call it from a timer, not from
  /// the scoring path (a load takes milliseconds).
  [[nodiscard]] Result<bool> maybe_reload();

  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Stamp {
    std::filesystem::file_time_type time{};
    std::uintmax_t size = 0;
    friend bool operator==(const Stamp&, const Stamp&) = default;
  };
  using Stamps = std::array<Stamp, 4>;
  explicit ModelStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  [[nodiscard]] Stamps stamps() const;

  std::filesystem::path dir_;
  std::atomic<std::shared_ptr<const Predictor>> current_;
  std::mutex reload_mutex_;  ///< one reload at a time (never taken by current())
  Stamps seen_{};
};

}  // namespace boxcall::infer
