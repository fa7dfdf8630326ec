#pragma once
// Record builders for tests: decoded inputs with sensible defaults, so a test
// states only what it is about.
#include <cstdint>
#include <optional>
#include <string>

#include "base/records.h"

namespace boxcall::test {

inline constexpr TimeNs kT0 = 1'700'000'000LL * kNsPerSecond;  // 2023-11-14 UTC: event time at session time 0
inline constexpr TimeNs kSecond = kNsPerSecond;

inline DriverCode driver_of(std::uint16_t car) {
  switch (car) {
    case 0:
      return DriverCode();
    case 1:
      return DriverCode("VER");
    case 44:
      return DriverCode("HAM");
    default:
      return DriverCode("C" + std::to_string(car));
  }
}

/// A sample of `car` at session time `t` (event time kT0 + t), moving at `speed`.
inline TelemetrySample sample(std::uint16_t car, TimeNs t, float speed = 200) {
  TelemetrySample s;
  s.car = car;
  s.driver = driver_of(car);
  s.event_time_ns = kT0 + t;
  s.session_time_ns = t;
  s.speed_kph = speed;
  s.rpm = 10000;
  s.gear = 6;
  s.throttle = 80;
  return s;
}

/// A timing event of `car` (0: session-wide) at session time `t`.
inline TimingEvent timing(std::uint16_t car, TimeNs t, TimingBody body) {
  TimingEvent e;
  e.car = car;
  e.driver = driver_of(car);
  e.event_time_ns = kT0 + t;
  e.session_time_ns = t;
  e.body = std::move(body);
  return e;
}

inline TimingEvent session_status(TimeNs t, std::string status, std::optional<std::int32_t> laps = 57) {
  return timing(0, t, SessionInfo{laps, std::move(status), "test"});
}

/// Lap `lap` of `car` completed at session time `end`, started at `start`.
inline TimingEvent lap_completed(std::uint16_t car, std::int32_t lap, TimeNs start, TimeNs end,
                                 Compound compound = Compound::Medium, std::int32_t tyre_life = 1) {
  LapCompleted l;
  l.lap = lap;
  l.lap_time_s = ns_to_s(end - start);
  l.lap_start_session_ns = start;
  l.compound = compound;
  l.tyre_life = tyre_life;
  l.stint = 1;
  l.track_status = "1";
  return timing(car, end, l);
}

}  // namespace boxcall::test
