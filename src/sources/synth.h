#pragma once
/// A deterministic synthetic race: car telemetry and timing events of one
/// session, physically plausible and generated lazily in event-time order.
///
/// The model, in one paragraph: a 5.412 km circuit of straights and corners
/// with target speeds is solved once per process into speed/throttle/brake
/// profiles (racing lap, in-lap, out-lap; shared by every session, read-only).
/// Each lap of each car is planned when it starts (pace, tyre compound and
/// degradation, fuel, DRS, noise, safety car) as a few segments that map lap
/// time to a point of a profile; samples are evaluated from that plan on
/// demand. Memory is O(cars) per session whatever the race length, so 1,000
/// sessions x 20 cars fit in a few tens of MB. Same config (seed included) ->
/// the very same record sequence, on the same platform and standard library.
///
/// Times: session time 0 is `prelude_s` before lights out (`start_utc_ns`);
/// event time = start_utc_ns - prelude + session time. Lap L of a car spans
/// session time [lap_start_session_ns, LapCompleted.session_time_ns), and its
/// samples are exactly the car's samples inside that interval. Lap 1 starts at
/// lights out for every car (standing start from the grid slot); samples before
/// it (cars rolling onto the grid) belong to no lap.
///
/// Records: TelemetrySample (source Synthetic; distance_m is metres from the
/// timing line along the lap, negative on the grid before the first crossing;
/// x/y/z in metres), and TimingEvent: LapCompleted, PitIn, PitOut per car;
/// SessionInfo "Started"/"Finished", TrackStatusChange (SAFETY_CAR, GREEN),
/// RaceControlMessage (SC, DRS) and Weather with car 0. Order: non-decreasing
/// event time; at equal times session-wide events first, then cars by index,
/// and a car's timing event before its sample.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/records.h"
#include "sources/source.h"

namespace boxcall::sources {

/// 2024-01-01T12:00:00Z.
inline constexpr TimeNs kSynthDefaultStartUtcNs = 1'704'110'400LL * kNsPerSecond;

struct SynthConfig {
  std::string session_id = "synth";
  std::string name = "Synthetic Grand Prix";  ///< SessionInfo name
  std::uint64_t seed = 1;
  int cars = 20;                                  ///< 1..99; the first 20 use a fixed table of codes and numbers
  double hz = 10.0;                               ///< telemetry samples per second per car, (0, 1000]
  int laps = 57;                                  ///< scheduled race laps, >= 5
  double base_lap_s = 95.0;                       ///< green lap of the reference car on new mediums, full fuel;
                                                  ///< the car model laps no faster than ~87 s
  TimeNs start_utc_ns = kSynthDefaultStartUtcNs;  ///< lights out: lap 1 starts
  double prelude_s = 10.0;                        ///< cars rolling onto the grid and waiting, before lights out
  bool safety_car = true;
  int sc_lap = 0;                  ///< leader's lap in which the SC is deployed; 0: ~35 % into the race
  int sc_laps = 4;                 ///< green when the leader starts lap sc_lap + sc_laps
  double weather_period_s = 60.0;  ///< a Weather event every period, from session time 0
  double jitter_ms = 3.0;          ///< sample time jitter (capped at a fifth of the period)
  bool positions = true;           ///< fill x/y/z (metres) from a parametric track shape
};

/// `RecordSource` of a synthetic race. Throws `ConfigError` on a bad config.
class SynthRace final : public RecordSource {
 public:
  explicit SynthRace(SynthConfig config);
  ~SynthRace() override;
  SynthRace(SynthRace&&) noexcept;
  SynthRace& operator=(SynthRace&&) noexcept;
  SynthRace(const SynthRace&) = delete;
  SynthRace& operator=(const SynthRace&) = delete;

  [[nodiscard]] const std::string& session_id() const override;
  [[nodiscard]] std::optional<Input> next() override;

  /// Fast path: writes the next record into `out`, reusing its storage (a
  /// TelemetrySample already held is overwritten in place: no allocation per
  /// sample). False at the end of the session.
  [[nodiscard]] bool next(Input& out);

  /// Approximate number of records of the whole session (within ~5 %), e.g.
  /// to size load tests and progress bars.
  [[nodiscard]] std::uint64_t estimated_records() const;
  [[nodiscard]] const SynthConfig& config() const;

  /// Circuit facts, for consumers and tests.
  [[nodiscard]] static double lap_length_m();
  [[nodiscard]] static double pit_speed_limit_kph();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `n` configs copied from `base`, with session ids "<base.session_id>-0001"...
/// and distinct seeds derived from `base.seed` (reproducible).
[[nodiscard]] std::vector<SynthConfig> make_synth_sessions(int n, const SynthConfig& base);

}  // namespace boxcall::sources
