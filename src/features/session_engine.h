#pragma once
/// Per-session feature state: every car of one session, fed decoded records in
/// event-time order by the stream layer (live) or by a RecordSource (offline
/// twin), emitting LapFeatures at each lap completion and FeatureSnapshots
/// every snapshot period of event time. Memory per car is bounded: it does
/// not grow with the number of samples. Definitions: docs/features.md.
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

#include "base/records.h"
#include "base/session.h"
#include "features/race.h"

namespace boxcall::features {

struct FeatureConfig {
  /// Rolling snapshot period, in event time. 0 disables snapshots.
  std::chrono::nanoseconds snapshot_period{std::chrono::seconds(1)};
  /// Scheduled race laps when the feed does not send SessionInfo.scheduled_laps.
  std::optional<std::int32_t> scheduled_laps;
  /// A car silent this long (event time) while others report is marked retired.
  std::chrono::nanoseconds retire_after{std::chrono::seconds(60)};
  /// A running car is also marked retired when the leader completed this many
  /// laps since its last lap completion (FastF1 car data keeps sending zeros
  /// for a parked car, so silence alone does not catch every retirement).
  std::int32_t retire_after_laps = 2;
  double fuel_start_kg = kFuelStartKg;
  double fuel_effect_s_per_kg = kFuelEffectSPerKg;
  double clean_lap_max_ratio = kCleanLapMaxRatio;
};

/// Where a sample went.
enum class Placement : std::uint8_t {
  Accepted,           ///< contributed to state (possibly to the open lap, out of order)
  LapClosed,          ///< late, and its lap was already closed: the caller dead-letters it as late
  TimeWentBackwards,  ///< in order by event time, but its session time is before the car's previous sample
};

/// The single owner of a session's race state (laps, stints and tyre age, pit
/// lane, clean laps, track status, gaps with the cars they refer to,
/// retirement, chequered flag, end of session). `listener` (optional, not
/// owned) receives a ClosedLap at each lap close and the changes in between.
class SessionEngine {
 public:
  explicit SessionEngine(FeatureConfig config, RaceListener* listener = nullptr);
  ~SessionEngine();
  SessionEngine(SessionEngine&&) noexcept;
  SessionEngine& operator=(SessionEngine&&) noexcept;

  /// A telemetry sample. `late` is true when it arrived behind the session
  /// watermark (but within the allowed lateness): it is placed in its lap if
  /// that lap is still open, without taking part in order-dependent counts.
  [[nodiscard]] Placement on_sample(const TelemetrySample& sample, bool late, OutputSink& out);
  /// A timing event (lap completed, pit in/out, track status, session info ...).
  void on_timing(const TimingEvent& event, OutputSink& out);
  /// True when `event` repeats what the session has (a lap the car already completed).
  [[nodiscard]] bool repeats(const TimingEvent& event) const;
  /// Event time advanced to `watermark`: emits due snapshots, marks retirements.
  void on_watermark(TimeNs watermark, OutputSink& out);

  [[nodiscard]] std::size_t car_count() const;
  /// True once the session reported its end (SessionInfo status Finished/Finalised/Ends).
  [[nodiscard]] bool finished() const;
  /// The track status now (Unknown before the first status event or lap record).
  [[nodiscard]] TrackStatus track_status() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The features alone as a session handler (`boxcall features`, training,
/// tests): the engine, clocked by the event time of the records it is given
/// in order; `listener` (optional) receives the engine's race state.
class FeatureHandler final : public SessionHandler {
 public:
  explicit FeatureHandler(FeatureConfig config, RaceListener* listener = nullptr)
      : engine_(std::move(config), listener) {}
  [[nodiscard]] Result<Applied> on_record(const Input& record, bool late, OutputSink& out) override;
  void on_tick(std::chrono::steady_clock::time_point /*now*/, OutputSink& /*out*/) override {}
  [[nodiscard]] bool finished() const override { return engine_.finished(); }
  [[nodiscard]] const SessionEngine& engine() const { return engine_; }

 private:
  SessionEngine engine_;
  TimeNs clock_ = std::numeric_limits<TimeNs>::min();
};

/// The error a handler returns for a sample the engine did not place.
[[nodiscard]] Error sample_error(Placement placement, const TelemetrySample& sample);

}  // namespace boxcall::features
