#pragma once
/// Alerts of one session: deduplicated (at most one active alert per
/// (car, kind)), with hysteresis (the clear condition is stricter than the
/// negation of the raise condition), and an `Alert{active = false}` when the
/// cause ends. Definitions and thresholds: docs/strategy.md.
///
/// Sensor rules run on event time (samples and watermarks); the whole-feed
/// stall runs on processing time (`on_tick`), since a stalled feed advances
/// no event time at all. The strategy rules (pit window, tyre cliff, cheap
/// stop under SC/VSC) are fed by `SessionStrategy`.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/records.h"

namespace boxcall::infer {

enum class AlertKind : std::uint8_t {
  PitWindowOpen,
  TyreCliff,
  SensorDropout,
  StuckSensor,
  ThrottleError,
  FeedStall,
  CheapPitStop,
};
/// The wire `Alert.kind`: "pit_window_open", "tyre_cliff", ...
[[nodiscard]] std::string_view to_string(AlertKind k);

struct AlertConfig {
  /// Sensor dropout: a running car silent this long (event time) while another car reported within `others_within`.
  std::chrono::nanoseconds dropout_after{std::chrono::seconds(2)};
  std::chrono::nanoseconds others_within{std::chrono::seconds(1)};
  /// ... cleared once the car has reported again for this long.
  std::chrono::nanoseconds dropout_clear_after{std::chrono::seconds(1)};
  /// Stuck sensor: speed, rpm, throttle and gear all identical this long while moving.
  std::chrono::nanoseconds stuck_after{std::chrono::seconds(5)};
  std::chrono::nanoseconds stuck_clear_after{std::chrono::seconds(1)};
  double moving_kph = 30.0;
  /// A car whose last sample was slower than this is parked (pit box, retired): its silence is no dropout.
  double parked_kph = 5.0;
  /// Throttle error value (104, anything outside [0, 100]) sustained this long while the car moves ...
  std::chrono::nanoseconds throttle_error_after{std::chrono::seconds(1)};
  /// ... cleared after valid throttle values for this long.
  std::chrono::nanoseconds throttle_clear_after{std::chrono::seconds(3)};
  /// Whole feed: no sample from any car for this long (processing time), cleared when samples flow again.
  std::chrono::milliseconds stall_after{std::chrono::seconds(5)};
  /// Tyre cliff, on clean laps: fuel-corrected pace loss vs the stint's best, or degradation slope.
  double cliff_pace_loss_s = 1.5, cliff_pace_loss_clear_s = 0.8;
  double cliff_slope_s_per_lap = 0.30, cliff_slope_clear_s_per_lap = 0.15;
  // Cheap stop under SC/VSC: raised for a car when its plan re-run at the deployment (stops priced
  // at the SC share of the pit loss) puts its next in-lap in the window; cleared at green or at its stop.
  /// A pit-window alert clears when the window has been closed (passed or gone) for this many laps, or at a stop.
  std::int32_t window_clear_after_laps = 2;
};

/// Deduplicated alert state of one session.
class AlertBook {
 public:
  /// Emits an active alert unless one of this (car, kind) is active already. True when emitted.
  bool raise(std::uint16_t car, DriverCode driver, AlertKind kind, Severity severity, TimeNs t, std::string message,
             OutputSink& out);
  /// Emits the resolution of an active alert. True when emitted.
  bool clear(std::uint16_t car, AlertKind kind, TimeNs t, std::string message, OutputSink& out);
  [[nodiscard]] bool active(std::uint16_t car, AlertKind kind) const;
  [[nodiscard]] std::size_t active_count() const { return active_.size(); }
  /// Clears every active alert of `car` (every car for car 0 with `all`).
  void clear_car(std::uint16_t car, TimeNs t, const std::string& message, OutputSink& out);
  void clear_all(TimeNs t, const std::string& message, OutputSink& out);

 private:
  struct Active {
    DriverCode driver;
    Severity severity;
  };
  std::map<std::pair<std::uint16_t, AlertKind>, Active> active_;
};

/// Telemetry health of one session: dropout, stuck sensor, throttle error
/// value, whole-feed stall. Memory: O(cars).
class SensorWatch {
 public:
  explicit SensorWatch(const AlertConfig& config) : config_(config) {}

  void on_sample(const TelemetrySample& s, AlertBook& book, OutputSink& out);
  /// Event time advanced: dropouts raise and clear here.
  void on_watermark(TimeNs watermark, AlertBook& book, OutputSink& out);
  /// Processing time: the whole-feed stall.
  void on_tick(std::chrono::steady_clock::time_point now, AlertBook& book, OutputSink& out);
  /// The car stopped racing (retired, or finished): its silence is expected from now on.
  void set_retired(std::uint16_t car, bool retired, TimeNs t, AlertBook& book, OutputSink& out);
  /// In the pit lane / garage (PitIn without PitOut yet).
  void set_in_pit(std::uint16_t car, bool in_pit);
  /// The session ended: no more dropout or stall alerts; active ones are cleared.
  void finish(TimeNs t, AlertBook& book, OutputSink& out);

 private:
  struct Car {
    DriverCode driver;
    TimeNs last_t = 0;
    float speed = 0, rpm = 0, throttle = 0;
    std::int8_t gear = 0;
    TimeNs frozen_since = -1;    // first sample of the current run of identical values (while moving)
    TimeNs changing_since = -1;  // values changing again after a stuck alert
    TimeNs throttle_bad_since = -1, throttle_good_since = -1;
    TimeNs back_since = -1;  // reporting again after a dropout alert
    bool retired = false, in_pit = false;
  };
  const AlertConfig& config_;
  std::unordered_map<std::uint16_t, Car> cars_;
  TimeNs newest_sample_t_ = 0;
  TimeNs next_check_ = 0;
  bool finished_ = false;
  // Feed stall (processing time).
  std::uint64_t samples_ = 0, samples_at_tick_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_flow_;
};

}  // namespace boxcall::infer
