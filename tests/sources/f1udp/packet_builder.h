#pragma once
// Builds EA F1 23/24/25 UDP packets byte for byte from the specification
// (the layouts of src/sources/f1udp/packets.h, written independently here as
// field lists), for the unit tests, the capture generator, the benchmarks and
// the fuzz seed corpus. Header-only, no dependency beyond the standard library.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace boxcall::testing::f1udp {

using Bytes = std::vector<std::byte>;
inline constexpr int kCars = 22;

/// Per-format packet sizes (EA "Data Output from F1 23/24/25").
inline std::size_t packet_size(int format, int id) {
  static constexpr std::array<std::uint16_t, 16> k23 = {1349, 644,  1131, 45,   1306, 1107, 1352, 1239,
                                                        1020, 1218, 953,  1460, 231,  217,  0,    0};
  static constexpr std::array<std::uint16_t, 16> k24 = {1349, 753,  1285, 45,   1350, 1133, 1352, 1239,
                                                        1020, 1306, 953,  1460, 231,  237,  101,  0};
  static constexpr std::array<std::uint16_t, 16> k25 = {1349, 753, 1285, 45,   1284, 1133, 1352, 1239,
                                                        1042, 954, 1041, 1460, 231,  273,  101,  1131};
  const auto& t = format == 2023 ? k23 : format == 2024 ? k24 : k25;
  return t[static_cast<std::size_t>(id)];
}

/// Writes fields in order, like the packed C struct.
class Writer {
 public:
  explicit Writer(Bytes& b, std::size_t at = 0) : b_(b), at_(at) {}
  template <typename T>
  Writer& put(T v) {
    std::memcpy(b_.data() + at_, &v, sizeof v);
    at_ += sizeof v;
    return *this;
  }
  Writer& u8(std::uint8_t v) { return put(v); }
  Writer& i8(std::int8_t v) { return put(v); }
  Writer& u16(std::uint16_t v) { return put(v); }
  Writer& u32(std::uint32_t v) { return put(v); }
  Writer& f32(float v) { return put(v); }
  Writer& skip(std::size_t n) {
    at_ += n;
    return *this;
  }
  Writer& text(std::string_view s, std::size_t len) {
    std::memcpy(b_.data() + at_, s.data(), std::min(s.size(), len - 1));
    at_ += len;
    return *this;
  }
  [[nodiscard]] std::size_t at() const { return at_; }

 private:
  Bytes& b_;
  std::size_t at_;
};

struct Frame {
  int format = 2024;
  std::uint64_t uid = 0x1234'5678'9abc'def0ULL;
  float session_time = 0;
  std::uint32_t frame = 0, overall = 0;
};

/// A packet of `id` with its header filled in and a zeroed body of the exact size.
inline Bytes packet(const Frame& f, int id) {
  Bytes b(packet_size(f.format, id));
  Writer(b)
      .u16(static_cast<std::uint16_t>(f.format))
      .u8(static_cast<std::uint8_t>(f.format % 100))
      .u8(1)
      .u8(5)
      .u8(1)
      .u8(static_cast<std::uint8_t>(id))
      .put(f.uid)
      .f32(f.session_time)
      .u32(f.frame)
      .u32(f.overall)
      .u8(0)
      .u8(255);
  return b;
}

struct CarTelemetry {
  std::uint16_t speed = 0;
  float throttle = 0, steer = 0, brake = 0;
  std::int8_t gear = 0;
  std::uint16_t rpm = 0;
  std::uint8_t drs = 0;
};
inline Bytes car_telemetry(const Frame& f, const std::array<CarTelemetry, kCars>& cars) {
  Bytes b = packet(f, 6);
  for (int i = 0; i < kCars; ++i) {
    const auto& c = cars[static_cast<std::size_t>(i)];
    // m_speed m_throttle m_steer m_brake m_clutch m_gear m_engineRPM m_drs m_revLightsPercent m_revLightsBitValue
    // m_brakesTemperature[4] m_tyresSurfaceTemperature[4] m_tyresInnerTemperature[4] m_engineTemperature
    // m_tyresPressure[4] m_surfaceType[4]
    Writer(b, 29 + static_cast<std::size_t>(i) * 60)
        .u16(c.speed)
        .f32(c.throttle)
        .f32(c.steer)
        .f32(c.brake)
        .u8(0)
        .i8(c.gear)
        .u16(c.rpm)
        .u8(c.drs)
        .u8(50)
        .u16(0x3ff)
        .skip(8 + 4 + 4)
        .u16(100)
        .skip(16 + 4);
  }
  return b;
}

struct CarMotion {
  float x = 0, y = 0, z = 0;
};
inline Bytes motion(const Frame& f, const std::array<CarMotion, kCars>& cars) {
  Bytes b = packet(f, 0);
  for (int i = 0; i < kCars; ++i) {
    const auto& c = cars[static_cast<std::size_t>(i)];
    Writer(b, 29 + static_cast<std::size_t>(i) * 60).f32(c.x).f32(c.y).f32(c.z).f32(1).f32(0).f32(0);
  }
  return b;
}

struct CarLap {
  std::uint32_t last_lap_ms = 0, current_lap_ms = 0;
  std::uint32_t s1_ms = 0, s2_ms = 0;
  float lap_distance = 0, total_distance = 0;
  std::uint8_t position = 1, lap_num = 1, pit_status = 0, num_pit_stops = 0, sector = 0, invalid = 0;
  std::uint8_t result_status = 2;  // active
};
inline Bytes lap_data(const Frame& f, const std::array<CarLap, kCars>& cars) {
  Bytes b = packet(f, 2);
  const bool f23 = f.format == 2023;
  const std::size_t stride = f23 ? 50 : 57;
  for (int i = 0; i < kCars; ++i) {
    const auto& c = cars[static_cast<std::size_t>(i)];
    Writer w(b, 29 + static_cast<std::size_t>(i) * stride);
    w.u32(c.last_lap_ms).u32(c.current_lap_ms);
    w.u16(static_cast<std::uint16_t>(c.s1_ms % 60000)).u8(static_cast<std::uint8_t>(c.s1_ms / 60000));
    w.u16(static_cast<std::uint16_t>(c.s2_ms % 60000)).u8(static_cast<std::uint8_t>(c.s2_ms / 60000));
    if (f23) {
      w.u16(500).u16(1500);  // m_deltaToCarInFrontInMS, m_deltaToRaceLeaderInMS
    } else {
      w.u16(500).u8(0).u16(1500).u8(0);  // ...MSPart, ...MinutesPart
    }
    w.f32(c.lap_distance).f32(c.total_distance).f32(0);  // m_safetyCarDelta
    w.u8(c.position).u8(c.lap_num).u8(c.pit_status).u8(c.num_pit_stops).u8(c.sector).u8(c.invalid);
    w.u8(0).u8(0).u8(0).u8(0).u8(0);  // penalties, warnings, corner cutting, drive through, stop go
    w.u8(static_cast<std::uint8_t>(i + 1)).u8(4).u8(c.result_status);  // grid, driver status (on track), result
    w.u8(c.pit_status != 0).u16(0).u16(0).u8(0);
    if (!f23) w.f32(310.5F).u8(3);  // speed trap
  }
  return b;
}

struct CarStatus {
  std::uint8_t actual = 18, visual = 17, age = 0, drs_allowed = 0;
};
inline Bytes car_status(const Frame& f, const std::array<CarStatus, kCars>& cars) {
  Bytes b = packet(f, 7);
  for (int i = 0; i < kCars; ++i) {
    const auto& c = cars[static_cast<std::size_t>(i)];
    Writer(b, 29 + static_cast<std::size_t>(i) * 55)
        .u8(1)
        .u8(0)
        .u8(1)
        .u8(55)
        .u8(0)  // tc, abs, fuel mix, brake bias, pit limiter
        .f32(50)
        .f32(110)
        .f32(20)  // fuel in tank, capacity, remaining laps
        .u16(13000)
        .u16(4000)
        .u8(8)  // max rpm, idle rpm, max gears
        .u8(c.drs_allowed)
        .u16(0)  // drs allowed, activation distance
        .u8(c.actual)
        .u8(c.visual)
        .u8(c.age)
        .i8(1)
        .f32(0)
        .f32(0)
        .f32(4e6F)
        .u8(1)
        .f32(0)
        .f32(0)
        .f32(0)
        .u8(0);
  }
  return b;
}

struct Participant {
  std::uint8_t race_number = 0;
  std::string name;
};
inline Bytes participants(const Frame& f, const std::vector<Participant>& cars) {
  Bytes b = packet(f, 4);
  const std::size_t stride = f.format == 2023 ? 58 : f.format == 2024 ? 60 : 57;
  const std::size_t name_len = f.format == 2025 ? 32 : 48;
  Writer(b, 29).u8(static_cast<std::uint8_t>(cars.size()));
  for (std::size_t i = 0; i < cars.size() && i < kCars; ++i) {
    Writer(b, 30 + i * stride)
        .u8(1)
        .u8(static_cast<std::uint8_t>(i))
        .u8(0)
        .u8(static_cast<std::uint8_t>(i / 2))
        .u8(0)
        .u8(cars[i].race_number)
        .u8(10)
        .text(cars[i].name, name_len);
  }
  return b;
}

struct SessionFacts {
  std::uint8_t weather = 0;
  std::int8_t track_temp = 33, air_temp = 25;
  std::uint8_t total_laps = 57;
  std::uint16_t track_length = 5412;
  std::uint8_t session_type = 15;  // race (F1 24/25; 10 in F1 23)
  std::int8_t track_id = 3;        // Sakhir (Bahrain)
  std::uint8_t safety_car = 0;
};
inline Bytes session(const Frame& f, const SessionFacts& s) {
  Bytes b = packet(f, 1);
  Writer w(b, 29);
  w.u8(s.weather).i8(s.track_temp).i8(s.air_temp).u8(s.total_laps).u16(s.track_length).u8(s.session_type);
  w.i8(s.track_id).u8(0).u16(3600).u16(7200).u8(80).u8(0).u8(0).u8(255).u8(0);
  w.u8(3);  // m_numMarshalZones
  for (int z = 0; z < 21; ++z) w.f32(z < 3 ? z / 3.0F : 0).i8(0);
  w.u8(s.safety_car).u8(0);
  return b;
}

/// An event packet: 4-character code and up to 12 bytes of details.
inline Bytes event(const Frame& f, std::string_view code, std::array<std::uint8_t, 12> details = {}) {
  Bytes b = packet(f, 3);
  std::memcpy(b.data() + 29, code.data(), 4);
  std::memcpy(b.data() + 33, details.data(), details.size());
  return b;
}

struct HistoryLap {
  std::uint32_t lap_ms = 0, s1_ms = 0, s2_ms = 0, s3_ms = 0;
  std::uint8_t valid = 0x0f;
};
inline Bytes session_history(const Frame& f, std::uint8_t car, const std::vector<HistoryLap>& laps) {
  Bytes b = packet(f, 11);
  Writer w(b, 29);
  w.u8(car).u8(static_cast<std::uint8_t>(laps.size())).u8(1).u8(1).u8(1).u8(1).u8(1);
  for (const auto& l : laps) {
    w.u32(l.lap_ms);
    w.u16(static_cast<std::uint16_t>(l.s1_ms % 60000)).u8(static_cast<std::uint8_t>(l.s1_ms / 60000));
    w.u16(static_cast<std::uint16_t>(l.s2_ms % 60000)).u8(static_cast<std::uint8_t>(l.s2_ms / 60000));
    w.u16(static_cast<std::uint16_t>(l.s3_ms % 60000)).u8(static_cast<std::uint8_t>(l.s3_ms / 60000));
    w.u8(l.valid);
  }
  return b;
}

inline std::span<const std::byte> view(const Bytes& b) { return {b.data(), b.size()}; }

}  // namespace boxcall::testing::f1udp
