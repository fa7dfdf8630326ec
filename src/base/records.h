#pragma once
/// Decoded records: the one in-memory form of every input and output.
///
/// The stream layer decodes Kafka records (FlatBuffers or JSON) into these
/// structs and encodes outputs from them; `src/features`, `src/infer` and the
/// offline twins work on them only, so the live path and the offline tools run
/// the very same code. No Kafka, no FlatBuffers here.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace boxcall {

/// UTC nanoseconds since the Unix epoch (event time) or since the session
/// start (session time). Plain integers keep the records trivially copyable.
using TimeNs = std::int64_t;
inline constexpr TimeNs kNsPerSecond = 1'000'000'000;
inline constexpr double ns_to_s(TimeNs ns) { return static_cast<double>(ns) / 1e9; }
inline constexpr TimeNs s_to_ns(double s) { return static_cast<TimeNs>(s * 1e9 + (s >= 0 ? 0.5 : -0.5)); }

/// A three-letter driver code ("VER") stored inline: no allocation per sample.
class DriverCode {
 public:
  DriverCode() = default;
  explicit DriverCode(std::string_view code) {
    for (std::size_t i = 0; i < code.size() && i < chars_.size() - 1; ++i) chars_[i] = code[i];
  }
  [[nodiscard]] std::string_view view() const { return {chars_.data()}; }
  [[nodiscard]] std::string str() const { return std::string(view()); }
  [[nodiscard]] bool empty() const { return chars_[0] == '\0'; }
  friend bool operator==(const DriverCode&, const DriverCode&) = default;

 private:
  std::array<char, 8> chars_{};
};

enum class Compound : std::uint8_t { Unknown = 0, Soft, Medium, Hard, Intermediate, Wet, Test };
enum class TrackStatus : std::uint8_t {
  Unknown = 0,
  Green = 1,
  Yellow = 2,
  SafetyCar = 4,
  Red = 5,
  Vsc = 6,
  VscEnding = 7
};
enum class SampleSource : std::uint8_t { Unknown = 0, Car = 1, Synthetic = 2, LiveTiming = 3, Simulator = 4 };
enum class DrivingMode : std::uint8_t { Balanced = 0, Push, Conserve };
enum class Severity : std::uint8_t { Info = 0, Warning, Critical };

[[nodiscard]] std::string_view to_string(Compound c);
[[nodiscard]] Compound compound_from_string(std::string_view s);  ///< "SOFT", "soft", "S" ...
[[nodiscard]] std::string_view to_string(TrackStatus s);
/// F1's TrackStatus code (1 green, 2 yellow, 4 safety car, 5 red, 6 VSC, 7 VSC ending), as in the live-timing
/// feed and FastF1's track_status table; any other code (3, 8 and up, negative) is Unknown.
[[nodiscard]] TrackStatus track_status_from_code(int code);
[[nodiscard]] std::string_view to_string(DrivingMode m);
[[nodiscard]] std::string_view to_string(Severity s);

// ------------------------------------------------------------------ inputs

struct TelemetrySample {
  std::uint16_t car = 0;
  DriverCode driver;
  TimeNs event_time_ns = 0;
  TimeNs session_time_ns = 0;
  float speed_kph = 0;
  float rpm = 0;
  std::int8_t gear = 0;
  float throttle = 0;
  bool brake = false;
  std::uint8_t drs = 0;
  std::optional<float> x, y, z;
  std::optional<double> distance_m;
  SampleSource source = SampleSource::Car;
};

struct LapCompleted {
  std::int32_t lap = 0;
  std::optional<double> lap_time_s;
  std::optional<double> sector1_s, sector2_s, sector3_s;
  std::optional<std::int32_t> position;
  Compound compound = Compound::Unknown;
  std::optional<std::int32_t> tyre_life;
  std::optional<std::int32_t> stint;
  std::optional<bool> fresh_tyre;
  std::optional<TimeNs> lap_start_session_ns;
  std::optional<TimeNs> pit_in_session_ns;
  std::optional<TimeNs> pit_out_session_ns;
  std::string track_status;  ///< status codes seen in the lap, e.g. "12"
  std::optional<bool> deleted;
  std::string compound_actual;  ///< Pirelli C0..C6 ("C3") when the source knows it (F1 game); empty otherwise
};
struct PitIn {};
struct PitOut {};
struct TrackStatusChange {
  TrackStatus status = TrackStatus::Unknown;
  std::string message;
};
struct Weather {
  std::optional<float> air_temp_c, track_temp_c, humidity_pct, pressure_hpa;
  std::optional<bool> rainfall;
  std::optional<float> wind_speed_ms, wind_direction_deg;
};
struct RaceControlMessage {
  std::string category;
  std::string message;
  std::optional<std::int32_t> lap;
};
struct SessionInfo {
  std::optional<std::int32_t> scheduled_laps;
  std::string status;
  std::string name;
};

using TimingBody =
    std::variant<LapCompleted, PitIn, PitOut, TrackStatusChange, Weather, RaceControlMessage, SessionInfo>;

struct TimingEvent {
  std::uint16_t car = 0;  ///< 0 for session-wide events
  DriverCode driver;
  TimeNs event_time_ns = 0;
  TimeNs session_time_ns = 0;
  TimingBody body;
};

// ------------------------------------------------------------------ outputs

struct LapFeatures {
  std::uint16_t car = 0;
  DriverCode driver;
  std::int32_t lap = 0;
  TimeNs event_time_ns = 0;
  TimeNs session_time_ns = 0;  ///< T(car, lap)
  std::int32_t samples = 0;
  std::int32_t excluded_samples = 0;
  std::optional<double> max_gap_s;
  std::optional<double> mean_throttle, std_throttle, full_throttle_frac;
  std::optional<double> mean_speed, max_speed;
  std::optional<double> brake_frac;
  std::optional<std::int32_t> brake_events;
  std::optional<double> drs_open_frac;
  std::optional<std::int32_t> gear_shifts;
  std::optional<double> lap_time_s;
  Compound compound = Compound::Unknown;
  std::optional<std::int32_t> stint, tyre_age, laps_remaining;
  std::optional<double> fuel_kg_est;
  std::optional<double> gap_to_leader_s, interval_ahead_s;
  std::optional<double> deg_slope_s_per_lap;
  std::optional<std::int32_t> position;
};

struct FeatureSnapshot {
  std::uint16_t car = 0;
  DriverCode driver;
  TimeNs event_time_ns = 0;
  std::int32_t lap = 0;
  double last_sample_age_s = 0;
  double samples_per_s = 0;
  std::optional<double> w5_mean_speed, w5_max_speed, w5_mean_throttle, w5_brake_frac;
  std::optional<double> w30_mean_speed, w30_max_speed, w30_mean_throttle, w30_brake_frac;
  bool retired = false;
};

struct StrategyPrediction {
  std::uint16_t car = 0;
  DriverCode driver;
  std::int32_t lap = 0;
  TimeNs event_time_ns = 0;
  std::string model_version;
  std::optional<double> p_pit_3, pred_next_lap_s;
  std::optional<std::int32_t> pit_window_start, pit_window_best, pit_window_end;
  Compound next_compound = Compound::Unknown;
  std::optional<double> pit_now_delta_s, undercut_threat, undercut_chance;
  DrivingMode mode = DrivingMode::Balanced;
  std::string mode_reason;
  std::optional<double> confidence;
};

struct Alert {
  std::uint16_t car = 0;  ///< 0 for session-wide alerts
  DriverCode driver;
  std::string kind;
  Severity severity = Severity::Info;
  bool active = true;  ///< false: the cause ended
  TimeNs event_time_ns = 0;
  std::string message;
};

/// Everything a session's processing can emit. The stream layer routes each
/// alternative to its topic (features, predictions, alerts).
using Output = std::variant<LapFeatures, FeatureSnapshot, StrategyPrediction, Alert>;

/// Receives the outputs of a session's processing. The stream layer's sink
/// encodes and produces them; the offline twins' sinks write CSV rows.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void emit(Output&& output) = 0;
};

/// A decoded input record of either input topic.
using Input = std::variant<TelemetrySample, TimingEvent>;

[[nodiscard]] inline TimeNs event_time(const Input& in) {
  return std::visit([](const auto& r) { return r.event_time_ns; }, in);
}

}  // namespace boxcall
