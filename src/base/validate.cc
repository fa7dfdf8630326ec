#include "base/validate.h"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>

namespace boxcall {

namespace {

std::optional<Error> out_of_range(std::string_view field, double value, std::string_view range) {
  return Error{Reason::OutOfRange, std::string(field) + "=" + std::to_string(value) + " outside " + std::string(range)};
}

// 2000-01-01 .. 2100-01-01 UTC: anything else is a unit or clock error.
constexpr TimeNs kMinEventTime = 946'684'800LL * kNsPerSecond;
constexpr TimeNs kMaxEventTime = 4'102'444'800LL * kNsPerSecond;

bool session_time_ok(TimeNs t) { return t >= TimeNs{-86'400} * kNsPerSecond && t <= TimeNs{7} * 86'400 * kNsPerSecond; }

std::optional<Error> check_times(TimeNs event_time, TimeNs session_time) {
  if (event_time < kMinEventTime || event_time > kMaxEventTime) {
    return Error{Reason::OutOfRange,
                 "event_time_ns=" + std::to_string(event_time) + " outside 2000-2100 (UTC nanoseconds expected)"};
  }
  if (!session_time_ok(session_time)) {
    return Error{Reason::OutOfRange, "session_time_ns=" + std::to_string(session_time) + " outside [-1 day, 7 days]"};
  }
  return std::nullopt;
}

std::optional<Error> validate_sample(const TelemetrySample& s) {
  if (s.car == 0) return Error{Reason::MissingField, "car_number missing (0)"};
  if (auto e = check_times(s.event_time_ns, s.session_time_ns)) return e;
  if (!(s.speed_kph >= 0 && s.speed_kph <= 400)) return out_of_range("speed_kph", s.speed_kph, "[0, 400]");
  if (!((s.throttle >= 0 && s.throttle <= 100) || s.throttle == 104)) {
    return out_of_range("throttle", s.throttle, "[0, 100] (or the sensor error code 104)");
  }
  if (s.gear < 0 || s.gear > 8) return out_of_range("gear", s.gear, "[0, 8]");
  if (!(s.rpm >= 0 && s.rpm <= 20000)) return out_of_range("rpm", s.rpm, "[0, 20000]");
  if (s.drs > 14) return out_of_range("drs", s.drs, "[0, 14]");
  for (const auto* c : {&s.x, &s.y, &s.z}) {
    if (*c && !std::isfinite(**c)) return Error{Reason::OutOfRange, "position coordinate is not finite"};
  }
  if (s.distance_m && !std::isfinite(*s.distance_m)) return Error{Reason::OutOfRange, "distance_m is not finite"};
  return std::nullopt;
}

std::optional<Error> validate_timing(const TimingEvent& e) {
  if (auto err = check_times(e.event_time_ns, e.session_time_ns)) return err;
  if (const auto* l = std::get_if<LapCompleted>(&e.body)) {
    if (e.car == 0) return Error{Reason::MissingField, "car_number missing on LapCompleted"};
    if (l->lap < 1 || l->lap > 500) return out_of_range("lap", l->lap, "[1, 500]");
    if (l->lap_time_s && !(*l->lap_time_s > 0 && *l->lap_time_s <= 7200)) {
      return out_of_range("lap_time_s", *l->lap_time_s, "(0, 7200]");
    }
    if (l->position && (*l->position < 1 || *l->position > 99))
      return out_of_range("position", *l->position, "[1, 99]");
    if (l->tyre_life && (*l->tyre_life < 0 || *l->tyre_life > 200)) {
      return out_of_range("tyre_life", *l->tyre_life, "[0, 200]");
    }
    if (l->stint && (*l->stint < 1 || *l->stint > 50)) return out_of_range("stint", *l->stint, "[1, 50]");
    for (const auto& [name, v] : {std::pair{"sector1_s", l->sector1_s}, std::pair{"sector2_s", l->sector2_s},
                                  std::pair{"sector3_s", l->sector3_s}}) {
      if (v && !(*v > 0 && *v <= 3600)) return out_of_range(name, *v, "(0, 3600]");
    }
    for (const auto& [name, v] : {std::pair{"lap_start_session_ns", l->lap_start_session_ns},
                                  std::pair{"pit_in_session_ns", l->pit_in_session_ns},
                                  std::pair{"pit_out_session_ns", l->pit_out_session_ns}}) {
      if (v && !session_time_ok(*v)) return out_of_range(name, static_cast<double>(*v), "[-1 day, 7 days]");
    }
  } else if (const auto* w = std::get_if<Weather>(&e.body)) {
    // Physical ranges with margin (Mexico City's air pressure is ~780 hPa); NaN and Inf fail every range.
    const std::tuple<const char*, std::optional<float>, float, float> fields[] = {
        {"air_temp_c", w->air_temp_c, -50, 70},      {"track_temp_c", w->track_temp_c, -50, 100},
        {"humidity_pct", w->humidity_pct, 0, 100},   {"pressure_hpa", w->pressure_hpa, 400, 1200},
        {"wind_speed_ms", w->wind_speed_ms, 0, 100}, {"wind_direction_deg", w->wind_direction_deg, 0, 360}};
    for (const auto& [name, v, lo, hi] : fields) {
      if (v && !(*v >= lo && *v <= hi)) {
        return out_of_range(
            name, *v, "[" + std::to_string(static_cast<int>(lo)) + ", " + std::to_string(static_cast<int>(hi)) + "]");
      }
    }
  } else if (std::holds_alternative<PitIn>(e.body) || std::holds_alternative<PitOut>(e.body)) {
    if (e.car == 0) return Error{Reason::MissingField, "car_number missing on a pit event"};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> validate(const Input& input) {
  if (const auto* s = std::get_if<TelemetrySample>(&input)) return validate_sample(*s);
  return validate_timing(std::get<TimingEvent>(input));
}

}  // namespace boxcall
