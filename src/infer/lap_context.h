#pragma once
/// Builds `LapContext` (infer/predictor.h) from a session's timing events and
/// the `LapFeatures` the feature engine emits. One implementation for the live
/// path, the backtest and `boxcall train`, so the models see the same inputs
/// online as in training.
///
/// Usage, per session, in event-time order:
///
///     SessionContexts contexts;
///     contexts.on_timing(event);          // every TimingEvent, BEFORE the engine sees it
///     engine.on_timing(event, sink);      // may emit LapFeatures f
///     LapContext ctx = contexts.on_lap(f); // for every LapFeatures emitted
///
/// Memory is bounded per car (the clean laps of one stint) and per session by
/// laps x cars (completion order of each lap, for the car behind).
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "base/records.h"
#include "infer/predictor.h"

namespace boxcall::infer {

/// How a lap was classified (docs/models.md "Clean laps"): what training uses
/// for its labels, and what `LapContext::prev_clean_lap_s` is made of.
struct LapFlags {
  bool clean = false;    ///< green, not an in/out lap, not lap 1, timed, within 107 % of the stint's best
  bool in_lap = false;   ///< the car entered the pit lane on this lap
  bool out_lap = false;  ///< the car left the pit lane on this lap
};

/// The short history of one car. Fed by SessionContexts; usable alone when a
/// caller already routes records per car.
class CarHistory {
 public:
  explicit CarHistory(double clean_lap_max_ratio = 1.07) : max_ratio_(clean_lap_max_ratio) {}

  void on_pit_in() { pit_in_pending_ = true; }
  void on_pit_out() { pit_out_pending_ = true; }
  /// A track status seen while the car's current lap was open.
  void on_status(TrackStatus s) { status_mask_ |= 1U << static_cast<unsigned>(s); }
  /// The lap record of the lap about to be closed by `on_lap`.
  void on_record(const LapCompleted& record);
  /// Closes the lap: classifies it and returns its context (gaps and the
  /// session-wide fields are left to the caller).
  [[nodiscard]] LapContext on_lap(const LapFeatures& f, TrackStatus now);
  [[nodiscard]] const LapFlags& last_flags() const { return flags_; }

 private:
  struct CleanLap {
    std::int32_t lap;
    double time_s;
  };
  double max_ratio_;
  bool pit_in_pending_ = false, pit_out_pending_ = false;
  unsigned status_mask_ = 0;
  std::optional<LapCompleted> record_;
  bool has_stint_ = false;
  std::int32_t stint_ = 0;
  std::int32_t pit_stops_ = 0;
  std::int32_t compounds_mask_ = 0;
  std::vector<CleanLap> stint_candidates_;  ///< green, timed, not pit laps of the stint (before the 107 % test)
  std::optional<double> last_clean_s_;      ///< latest clean lap of any stint
  LapFlags flags_;
};

/// Every car of one session.
class SessionContexts {
 public:
  explicit SessionContexts(double clean_lap_max_ratio = 1.07) : max_ratio_(clean_lap_max_ratio) {}

  /// Every timing event of the session, before the feature engine sees it.
  void on_timing(const TimingEvent& event);
  /// For each LapFeatures the engine emitted. `gap_behind_s` is the gap to the
  /// car that followed this one over the line on the previous lap (the car
  /// behind has not finished this lap yet when it closes).
  [[nodiscard]] LapContext on_lap(const LapFeatures& f);
  /// Classification of the car's last closed lap.
  [[nodiscard]] LapFlags last_flags(std::uint16_t car) const;
  [[nodiscard]] TrackStatus track_status() const { return status_; }

 private:
  CarHistory& car(std::uint16_t number);
  double max_ratio_;
  std::unordered_map<std::uint16_t, CarHistory> cars_;
  /// Completion (session time, car) of each lap number, sorted by time.
  std::map<std::int32_t, std::vector<std::pair<TimeNs, std::uint16_t>>> completions_;
  TrackStatus status_ = TrackStatus::Green;
  bool status_from_events_ = false;
  std::int32_t scheduled_laps_ = 0;
};

/// Numeric code of a track status as FastF1 writes it (1 green, 4 SC, 6 VSC ...).
[[nodiscard]] TrackStatus track_status_from_code(char code);

}  // namespace boxcall::infer
