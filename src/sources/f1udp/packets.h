#pragma once
/// EA SPORTS F1 23 / F1 24 / F1 25 UDP telemetry: packet layouts.
///
/// Every packet is a packed little-endian struct that starts with a 29-byte
/// header; the header's `m_packetFormat` (2023, 2024, 2025) selects the layout.
/// Only the fields boxcall reads are named here, as byte offsets; every packet
/// id's exact size per format is listed so that a wrong length is caught
/// before any field is read.
///
/// Where the layouts come from:
///  - EA's "Data Output from F1 25" specification, C++ structures
///    ("(c) 2025 Electronic Arts Inc."), as published by EA on the EA Answers
///    HQ forum and mirrored in public repositories; it also documents the
///    F1 24 differences ("allows easy comparison with previous years");
///  - EA's "Data Output from F1 24" and "F1 23 UDP Specification" forum posts
///    (answers.ea.com ... F1-23-UDP-Specification/td-p/12632888), as
///    reproduced in github.com/MacManley/f1-24-udp (README, "Data Output from
///    F1 24 Game");
///  - github.com/ashwin-nat/pits-n-giggles (MIT), lib/f1_types/*.py: the
///    per-format struct strings for 2023 and 2024 (e.g. LapData: 50 bytes in
///    2023, 57 bytes in 2024 with the minute parts of the deltas and the speed
///    trap; ParticipantData: 58 bytes in 2023 with a 48-byte name).
/// The sizes below were recomputed field by field from those structs (see
/// tests/sources/f1udp/packets_test.cc, which rebuilds each size).
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace boxcall::sources::f1udp {

static_assert(std::endian::native == std::endian::little, "the F1 UDP decoder reads little-endian fields in place");

inline constexpr std::size_t kHeaderSize = 29;
inline constexpr std::size_t kMaxCars = 22;

enum class PacketId : std::uint8_t {
  Motion = 0,
  Session = 1,
  LapData = 2,
  Event = 3,
  Participants = 4,
  CarSetups = 5,
  CarTelemetry = 6,
  CarStatus = 7,
  FinalClassification = 8,
  LobbyInfo = 9,
  CarDamage = 10,
  SessionHistory = 11,
  TyreSets = 12,
  MotionEx = 13,
  TimeTrial = 14,     ///< F1 24 and later
  LapPositions = 15,  ///< F1 25
};
inline constexpr std::size_t kPacketIds = 16;

/// PacketHeader (all three formats).
struct Header {
  std::uint16_t format = 0;  ///< 2023, 2024, 2025
  std::uint8_t game_year = 0;
  std::uint8_t major = 0, minor = 0;
  std::uint8_t packet_version = 0;
  std::uint8_t packet_id = 0;
  std::uint64_t session_uid = 0;
  float session_time = 0;           ///< seconds since the session started (the game's clock)
  std::uint32_t frame = 0;          ///< goes back after a flashback
  std::uint32_t overall_frame = 0;  ///< never goes back
  std::uint8_t player_car = 0;
  std::uint8_t secondary_player_car = 255;
};

/// One format's layout: exact packet sizes and the strides that differ between years.
struct Layout {
  std::uint16_t format;
  std::array<std::uint16_t, kPacketIds> sizes;  ///< 0: the packet id does not exist in this format
  std::uint8_t lap_stride;                      ///< LapData per car
  std::uint8_t lap_shift;                       ///< LapData: fields after the sector times move by this much
  std::uint8_t participant_stride;              ///< ParticipantData per car
  std::uint8_t participant_name_len;            ///< m_name[]
};

// Sizes per packet id:  Motion Session LapData Event Participants CarSetups CarTelemetry CarStatus
//                       FinalClassification LobbyInfo CarDamage SessionHistory TyreSets MotionEx TimeTrial LapPositions
inline constexpr Layout kF1_23{
    2023, {1349, 644, 1131, 45, 1306, 1107, 1352, 1239, 1020, 1218, 953, 1460, 231, 217, 0, 0}, 50, 0, 58, 48};
inline constexpr Layout kF1_24{
    2024, {1349, 753, 1285, 45, 1350, 1133, 1352, 1239, 1020, 1306, 953, 1460, 231, 237, 101, 0}, 57, 2, 60, 48};
inline constexpr Layout kF1_25{
    2025, {1349, 753, 1285, 45, 1284, 1133, 1352, 1239, 1042, 954, 1041, 1460, 231, 273, 101, 1131}, 57, 2, 57, 32};

/// The layout of a packet format, or nullptr when boxcall does not know it.
[[nodiscard]] constexpr const Layout* layout_of(std::uint16_t format) {
  switch (format) {
    case 2023:
      return &kF1_23;
    case 2024:
      return &kF1_24;
    case 2025:
      return &kF1_25;
    default:
      return nullptr;
  }
}

// ------------------------------------------------------------------ field offsets (from the packet start)

namespace motion {  // CarMotionData, 60 bytes per car, all formats
inline constexpr std::size_t kStride = 60, kX = 0, kY = 4, kZ = 8;
}
namespace session {  // PacketSessionData; identical up to m_safetyCarStatus in all formats
inline constexpr std::size_t kWeather = 29, kTrackTemp = 30, kAirTemp = 31, kTotalLaps = 32, kTrackLength = 33,
                             kSessionType = 35, kTrackId = 36, kFormula = 37, kGamePaused = 43,
                             kSafetyCarStatus = 153;  // after 21 marshal zones of 5 bytes from offset 48
}
namespace lap {  // LapData, per car at 29 + i * lap_stride; + lap_shift for the fields after m_sector2TimeMinutesPart
inline constexpr std::size_t kLastLapMs = 0, kCurrentLapMs = 4, kS1Ms = 8, kS1Min = 10, kS2Ms = 11, kS2Min = 13;
// Offsets in the F1 23 layout (add Layout::lap_shift for F1 24/25):
inline constexpr std::size_t kLapDistance = 18, kTotalDistance = 22, kCarPosition = 30, kCurrentLapNum = 31,
                             kPitStatus = 32, kNumPitStops = 33, kSector = 34, kCurrentLapInvalid = 35,
                             kDriverStatus = 42, kResultStatus = 43;
}  // namespace lap
namespace event {
inline constexpr std::size_t kCode = 29, kDetails = 33;
}
namespace participants {  // numActiveCars at 29, ParticipantData per car at 30 + i * participant_stride
inline constexpr std::size_t kNumActive = 29, kFirst = 30, kAiControlled = 0, kDriverId = 1, kTeamId = 3,
                             kRaceNumber = 5, kName = 7;
}
namespace telemetry {  // CarTelemetryData, 60 bytes per car, all formats
inline constexpr std::size_t kStride = 60, kSpeed = 0, kThrottle = 2, kSteer = 6, kBrake = 10, kGear = 15, kRpm = 16,
                             kDrs = 18;
}
namespace status {  // CarStatusData, 55 bytes per car, all formats
inline constexpr std::size_t kStride = 55, kDrsAllowed = 22, kActualCompound = 25, kVisualCompound = 26, kTyresAge = 27;
}
namespace history {  // PacketSessionHistoryData, all formats
inline constexpr std::size_t kCarIdx = 29, kNumLaps = 30, kNumStints = 31, kLaps = 36, kLapStride = 14, kMaxLaps = 100,
                             kLapTimeMs = 0, kS1Ms = 4, kS1Min = 6, kS2Ms = 7, kS2Min = 9, kS3Ms = 10, kS3Min = 12,
                             kValidFlags = 13;
}

// ------------------------------------------------------------------ reading

/// Reads a little-endian T at `offset`. The caller has checked the packet's length.
template <typename T>
[[nodiscard]] inline T read(std::span<const std::byte> p, std::size_t offset) {
  T v;
  std::memcpy(&v, p.data() + offset, sizeof(T));
  return v;
}

/// The header, or nullopt when the datagram is shorter than a header.
[[nodiscard]] inline std::optional<Header> read_header(std::span<const std::byte> p) {
  if (p.size() < kHeaderSize) return std::nullopt;
  Header h;
  h.format = read<std::uint16_t>(p, 0);
  h.game_year = read<std::uint8_t>(p, 2);
  h.major = read<std::uint8_t>(p, 3);
  h.minor = read<std::uint8_t>(p, 4);
  h.packet_version = read<std::uint8_t>(p, 5);
  h.packet_id = read<std::uint8_t>(p, 6);
  h.session_uid = read<std::uint64_t>(p, 7);
  h.session_time = read<float>(p, 15);
  h.frame = read<std::uint32_t>(p, 19);
  h.overall_frame = read<std::uint32_t>(p, 23);
  h.player_car = read<std::uint8_t>(p, 27);
  h.secondary_player_car = read<std::uint8_t>(p, 28);
  return h;
}

}  // namespace boxcall::sources::f1udp
