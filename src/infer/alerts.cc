#include "infer/alerts.h"

#include <cstdio>

namespace boxcall::infer {
namespace {

std::string seconds_text(TimeNs ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", ns_to_s(ns));
  return buf;
}

std::string car_text(std::uint16_t car, DriverCode driver) {
  return driver.empty() ? "car " + std::to_string(car) : driver.str() + " (car " + std::to_string(car) + ")";
}

}  // namespace

std::string_view to_string(AlertKind k) {
  switch (k) {
    case AlertKind::PitWindowOpen:
      return "pit_window_open";
    case AlertKind::TyreCliff:
      return "tyre_cliff";
    case AlertKind::SensorDropout:
      return "sensor_dropout";
    case AlertKind::StuckSensor:
      return "stuck_sensor";
    case AlertKind::ThrottleError:
      return "throttle_error";
    case AlertKind::FeedStall:
      return "feed_stall";
    case AlertKind::CheapPitStop:
      return "cheap_pit_stop";
  }
  return "unknown";
}

// ------------------------------------------------------------------ AlertBook

bool AlertBook::raise(std::uint16_t car, DriverCode driver, AlertKind kind, Severity severity, TimeNs t,
                      std::string message, OutputSink& out) {
  if (!active_.emplace(std::make_pair(car, kind), Active{driver, severity}).second) return false;
  Alert a;
  a.car = car;
  a.driver = driver;
  a.kind = std::string(to_string(kind));
  a.severity = severity;
  a.active = true;
  a.event_time_ns = t;
  a.message = std::move(message);
  out.emit(Output(std::move(a)));
  return true;
}

bool AlertBook::clear(std::uint16_t car, AlertKind kind, TimeNs t, std::string message, OutputSink& out) {
  auto it = active_.find({car, kind});
  if (it == active_.end()) return false;
  Alert a;
  a.car = car;
  a.driver = it->second.driver;
  a.kind = std::string(to_string(kind));
  a.severity = it->second.severity;
  a.active = false;
  a.event_time_ns = t;
  a.message = std::move(message);
  active_.erase(it);
  out.emit(Output(std::move(a)));
  return true;
}

bool AlertBook::active(std::uint16_t car, AlertKind kind) const { return active_.contains({car, kind}); }

void AlertBook::clear_car(std::uint16_t car, TimeNs t, const std::string& message, OutputSink& out) {
  for (auto it = active_.lower_bound({car, AlertKind{}}); it != active_.end() && it->first.first == car;) {
    const AlertKind kind = it->first.second;
    ++it;  // clear() erases the current element
    clear(car, kind, t, message, out);
  }
}

void AlertBook::clear_all(TimeNs t, const std::string& message, OutputSink& out) {
  while (!active_.empty()) {
    auto [car, kind] = active_.begin()->first;
    clear(car, kind, t, message, out);
  }
}

// ------------------------------------------------------------------ SensorWatch

void SensorWatch::on_sample(const TelemetrySample& s, AlertBook& book, OutputSink& out) {
  ++samples_;
  const TimeNs t = s.event_time_ns;
  if (t > newest_sample_t_) newest_sample_t_ = t;
  auto [it, fresh] = cars_.try_emplace(s.car);
  Car& c = it->second;
  c.driver = s.driver;
  if (book.active(s.car, AlertKind::SensorDropout) && c.back_since < 0) c.back_since = t;

  // Stuck sensor: every channel identical while moving.
  const bool moving = s.speed_kph >= config_.moving_kph;
  const bool same = !fresh && s.speed_kph == c.speed && s.rpm == c.rpm && s.throttle == c.throttle && s.gear == c.gear;
  if (moving && same) {
    if (c.frozen_since < 0) c.frozen_since = c.last_t;
    c.changing_since = -1;
    if (t - c.frozen_since >= config_.stuck_after.count()) {
      book.raise(s.car, s.driver, AlertKind::StuckSensor, Severity::Warning, t,
                 car_text(s.car, s.driver) + ": speed, rpm, throttle and gear frozen for " +
                     seconds_text(t - c.frozen_since) + " at " + std::to_string(static_cast<int>(s.speed_kph)) +
                     " km/h",
                 out);
    }
  } else {
    c.frozen_since = -1;
    if (book.active(s.car, AlertKind::StuckSensor)) {
      if (c.changing_since < 0) c.changing_since = t;
      if (t - c.changing_since >= config_.stuck_clear_after.count() || !moving) {
        book.clear(s.car, AlertKind::StuckSensor, t, car_text(s.car, s.driver) + ": sensor values changing again", out);
      }
    }
  }

  // Throttle error value (104), sustained while the car moves.
  const bool bad = s.throttle < 0.0F || s.throttle > 100.0F;
  if (bad) {
    c.throttle_good_since = -1;
    if (c.throttle_bad_since < 0) c.throttle_bad_since = t;
    if (t - c.throttle_bad_since >= config_.throttle_error_after.count() && s.speed_kph >= config_.parked_kph) {
      book.raise(s.car, s.driver, AlertKind::ThrottleError, Severity::Warning, t,
                 car_text(s.car, s.driver) + ": throttle reads " + std::to_string(static_cast<int>(s.throttle)) +
                     " (error value) for " + seconds_text(t - c.throttle_bad_since),
                 out);
    }
  } else {
    c.throttle_bad_since = -1;
    if (book.active(s.car, AlertKind::ThrottleError)) {
      if (c.throttle_good_since < 0) c.throttle_good_since = t;
      if (t - c.throttle_good_since >= config_.throttle_clear_after.count()) {
        book.clear(s.car, AlertKind::ThrottleError, t, car_text(s.car, s.driver) + ": throttle readings valid again",
                   out);
      }
    }
  }
  c.last_t = t;
  c.speed = s.speed_kph;
  c.rpm = s.rpm;
  c.throttle = s.throttle;
  c.gear = s.gear;
}

void SensorWatch::on_watermark(TimeNs watermark, AlertBook& book, OutputSink& out) {
  if (finished_ || watermark < next_check_) return;
  next_check_ = watermark + 100'000'000;  // every 100 ms of event time is enough for a 2 s rule
  for (auto& [car, c] : cars_) {
    const TimeNs silent = watermark - c.last_t;
    const bool dropout = book.active(car, AlertKind::SensorDropout);
    if (c.retired || c.in_pit || c.speed < config_.parked_kph) {
      if (dropout) {
        book.clear(car, AlertKind::SensorDropout, watermark,
                   car_text(car, c.driver) + (c.retired  ? ": retired"
                                              : c.in_pit ? ": in the pit lane"
                                                         : ": parked"),
                   out);
      }
      continue;
    }
    if (silent > config_.dropout_after.count()) {
      c.back_since = -1;
      if (dropout) continue;
      bool others = false;
      for (const auto& [other, o] : cars_) {
        if (other != car && watermark - o.last_t <= config_.others_within.count()) {
          others = true;
          break;
        }
      }
      if (others) {
        book.raise(car, c.driver, AlertKind::SensorDropout, Severity::Warning, watermark,
                   car_text(car, c.driver) + ": no telemetry for " + seconds_text(silent) + " while other cars report",
                   out);
      }
    } else if (dropout && c.back_since >= 0 && watermark - c.back_since >= config_.dropout_clear_after.count() &&
               silent <= config_.others_within.count()) {
      book.clear(car, AlertKind::SensorDropout, watermark, car_text(car, c.driver) + ": telemetry back", out);
      c.back_since = -1;
    }
  }
}

void SensorWatch::on_tick(std::chrono::steady_clock::time_point now, AlertBook& book, OutputSink& out) {
  if (finished_) return;
  if (samples_ != samples_at_tick_) {
    samples_at_tick_ = samples_;
    last_flow_ = now;
    book.clear(0, AlertKind::FeedStall, newest_sample_t_, "telemetry flowing again", out);
    return;
  }
  if (!last_flow_ || now - *last_flow_ < config_.stall_after) return;
  const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - *last_flow_);
  book.raise(0, DriverCode{}, AlertKind::FeedStall, Severity::Critical, newest_sample_t_,
             "no telemetry from any car for " + std::to_string(silent.count() / 1000) + " s (processing time)", out);
}

void SensorWatch::set_retired(std::uint16_t car, bool retired, TimeNs t, AlertBook& book, OutputSink& out) {
  Car& c = cars_[car];
  c.retired = retired;
  if (!retired) return;
  for (AlertKind k : {AlertKind::SensorDropout, AlertKind::StuckSensor, AlertKind::ThrottleError}) {
    book.clear(car, k, t, car_text(car, c.driver) + ": no longer racing", out);
  }
}

void SensorWatch::set_in_pit(std::uint16_t car, bool in_pit) { cars_[car].in_pit = in_pit; }

void SensorWatch::finish(TimeNs t, AlertBook& book, OutputSink& out) {
  finished_ = true;
  for (auto& [car, c] : cars_) {
    for (AlertKind k : {AlertKind::SensorDropout, AlertKind::StuckSensor, AlertKind::ThrottleError}) {
      book.clear(car, k, t, "session finished", out);
    }
  }
  book.clear(0, AlertKind::FeedStall, t, "session finished", out);
}

}  // namespace boxcall::infer
