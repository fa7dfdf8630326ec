#pragma once
/// A session's race state as the feature engine (its single owner) hands it
/// out: one complete record per closed lap, and the changes between laps
/// (pit lane, retirement, track status, end of session). The strategy, the
/// models' inputs, the alerts and training read these; none of them keeps
/// its own copy of laps, stints, pit state, track status or gaps.
/// Definitions: docs/features.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/records.h"
#include "base/regulations.h"

namespace boxcall::features {

using boxcall::kCleanLapMaxRatio;
using boxcall::kFuelEffectSPerKg;
using boxcall::kFuelStartKg;

/// How a lap was classified (docs/features.md "Clean laps"): what training
/// uses for its labels, and what the clean-lap history is made of.
struct LapFlags {
  bool clean = false;    ///< green, not an in/out lap, not lap 1, timed, within 107 % of the stint's best
  bool in_lap = false;   ///< the car entered the pit lane on this lap
  bool out_lap = false;  ///< the car left the pit lane on this lap
};

/// One closed lap, complete: the published LapFeatures and what the engine
/// knows of the car and the race at that moment.
struct ClosedLap {
  LapFeatures lap;  ///< the lap just completed (as published)
  LapFlags flags;
  TrackStatus track_status = TrackStatus::Green;  ///< status now (safety car, VSC ...)
  std::int32_t scheduled_laps = 0;                ///< 0: unknown
  std::optional<double> prev_clean_lap_s;         ///< the car's latest clean lap (any stint) before or at this lap
  std::vector<double> recent_clean_laps_s;        ///< up to the last 5 clean laps of the stint, oldest first
  std::int32_t pit_stops = 0;                     ///< stops made so far
  std::int32_t compounds_used_mask = 0;           ///< bit per Compound used so far (dry-compound rule)
  std::optional<double> gap_ahead_s;              ///< interval to the car ahead on the road (= lap.interval_ahead_s)
  std::optional<double> gap_behind_s;           ///< to the car that followed this one over the line on the previous lap
  std::uint16_t car_ahead = 0, car_behind = 0;  ///< 0: none
  /// Clean laps only: lap time minus the fuel effect of the estimated fuel load.
  std::optional<double> corrected_lap_s;
  /// The best `corrected_lap_s` of the stint so far, this lap included.
  std::optional<double> stint_best_corrected_s;
  bool new_stint = false;    ///< first lap closed after a pit stop
  bool last_lap = false;     ///< the car took the chequered flag at the end of this lap
  std::string session_name;  ///< SessionInfo.name when the feed sent one (circuit priors key)
};

/// What changed for a car between its laps.
enum class CarChange : std::uint8_t {
  PitIn,       ///< entered the pit lane
  PitOut,      ///< left it
  Retired,     ///< silent while others report, or left behind by the leader (FeatureConfig)
  BackInRace,  ///< a car marked retired completed a lap (it was only slow)
};

/// Receives the race state as the engine updates it, in event-time order.
/// Every call may emit outputs; they follow the engine's own outputs for the
/// same record (a lap's prediction follows the lap's features).
class RaceListener {
 public:
  virtual ~RaceListener() = default;
  virtual void on_lap(const ClosedLap& lap, OutputSink& out) = 0;
  virtual void on_car(std::uint16_t car, DriverCode driver, CarChange change, TimeNs t, OutputSink& out) = 0;
  /// The track status changed from `before` (Unknown at first) to `now`.
  virtual void on_track_status(TrackStatus before, TrackStatus now, TimeNs t, OutputSink& out) = 0;
  /// The session reported its end (SessionInfo status Finished/Finalised/Ends).
  virtual void on_session_end(TimeNs t, OutputSink& out) = 0;
};

}  // namespace boxcall::features
