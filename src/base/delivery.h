#pragma once
/// Delivery facts of one session, per car: what arrived and what was handed
/// over, never race state. Used by the live path (ordering, lateness and
/// deduplication of what Kafka delivers) and by the offline driver (the same
/// deduplication), so that both hand a session the same records.
#include <array>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <variant>

#include "base/records.h"

namespace boxcall {

class DeliveryLedger {
 public:
  static constexpr TimeNs kNever = std::numeric_limits<TimeNs>::min();

  struct Car {
    TimeNs newest_sample_arrived = kNever;  ///< newest sample seen, handed over or not
    TimeNs last_sample_t = kNever;          ///< last sample handed over in order
    std::array<TimeNs, std::variant_size_v<TimingBody>> last_timing_t{};
    Car() { last_timing_t.fill(kNever); }
  };

  [[nodiscard]] Car& car(std::uint16_t number) { return cars_[number]; }
  [[nodiscard]] const Car* find(std::uint16_t number) const {
    auto it = cars_.find(number);
    return it == cars_.end() ? nullptr : &it->second;
  }

  /// True when `record` repeats what was already handed over: a sample of the
  /// car at the same event time as its last in-order one, or a timing event of
  /// the same kind for the same car at the same instant. A timing event that
  /// does not repeat is remembered here.
  [[nodiscard]] bool repeats(Car& car, const Input& record) {
    if (const auto* s = std::get_if<TelemetrySample>(&record)) return s->event_time_ns == car.last_sample_t;
    const auto& e = std::get<TimingEvent>(record);
    TimeNs& last = car.last_timing_t[e.body.index()];
    if (last == e.event_time_ns) return true;
    last = e.event_time_ns;
    return false;
  }
  [[nodiscard]] bool repeats(const Input& record) {
    return repeats(car(std::visit([](const auto& r) { return r.car; }, record)), record);
  }

  /// A sample was handed over in order (the session accepted it).
  static void handed_over(Car& car, const TelemetrySample& s) { car.last_sample_t = s.event_time_ns; }

 private:
  std::unordered_map<std::uint16_t, Car> cars_;
};

}  // namespace boxcall
