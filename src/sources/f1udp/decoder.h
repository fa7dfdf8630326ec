#pragma once
/// Turns EA F1 23/24/25 UDP packets into boxcall records (base/records.h).
///
/// Pure and Kafka-free: bytes in, keyed records out, per-session state inside.
/// One Decoder per stream of datagrams (one socket or one capture); not thread-safe.
///
/// What maps to what (docs/inputs.md has the full table):
///  - Car Telemetry -> one TelemetrySample per active car (source Simulator):
///    speed, RPM, gear (reverse as 0), throttle x100, brake (> 1 %), DRS as the
///    F1 code (12 open, 8 available from Car Status, 0 off); X/Y/Z from the
///    latest Motion packet and the lap distance from the latest Lap Data
///    packet of the last second;
///  - Lap Data -> LapCompleted when a car's lap number goes up (lap time,
///    sectors; sector 3 = lap - s1 - s2), PitIn / PitOut on the pit status
///    leaving / reaching 0; Session History fills the sectors of a lap that
///    Lap Data did not show (boxcall joined late): such a lap waits up to
///    `lap_hold_ns` for the car's history;
///  - Car Status -> the compound (visual, and actual C0..C6 as
///    LapCompleted::compound_actual), tyre age and stint of each lap;
///  - Session -> SessionInfo (track + session type, total laps), Weather (on
///    change), TrackStatusChange from the safety-car status;
///  - Event -> SessionInfo "Started"/"Finished"/"Finalised" (SSTA, CHQF,
///    SEND), red flag, safety car and race-control-like messages;
///  - Participants -> car number (race number) and driver code.
///
/// Identity: the session id is `session_prefix` + the session UID in hex, so a
/// restarted game (new UID) is a new session. Records of a session are held
/// until its first Participants packet names the cars (at most
/// `identity_hold_ns`; after that cars are numbered 100 + vehicle index).
///
/// Time: session_time_ns is the header's session time, kept monotonic across
/// flashbacks (time going back while the overall frame goes on adds the jump
/// to an offset). event_time_ns = anchor + session_time_ns, where the anchor
/// is fixed by the first packet of the session: arrival UTC - its session time.
///
/// UDP reality: exact duplicates are dropped; an older frame of a state packet
/// (Lap Data, Car Status, Motion, Session, Participants) is dropped as stale;
/// an older Car Telemetry frame still yields its (late) samples. Unknown
/// formats, unknown packet ids and wrong lengths are counted and reported as
/// rejected with a reason; nothing here throws or reads out of bounds.
#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/records.h"
#include "base/result.h"

namespace boxcall::sources::f1udp {

struct DecoderOptions {
  std::string session_prefix = "f1udp-";
  TimeNs identity_hold_ns = 6 * kNsPerSecond;  ///< Participants come every 5 s
  TimeNs lap_hold_ns = 3 * kNsPerSecond;       ///< a lap without sectors waits this long for Session History
  std::size_t max_held_records = 100'000;      ///< per session, before identity is known
  std::size_t max_sessions = 16;               ///< sessions kept; the least recently heard goes first
};

/// A decoded record and the session it belongs to. `session` points into the
/// decoder; it stays valid until 4096 more sessions were evicted (copy it soon).
struct KeyedInput {
  const std::string* session = nullptr;
  Input input;
};

/// What became of one datagram.
enum class Outcome : std::uint8_t {
  Decoded,          ///< used (it may have produced no record yet)
  Ignored,          ///< a known packet boxcall does not use (setups, damage, lobby...)
  Duplicate,        ///< the same packet again
  Stale,            ///< an older frame of a state packet
  NoSession,        ///< session UID 0 (menus)
  UnknownFormat,    ///< m_packetFormat not 2023/2024/2025
  UnknownPacketId,  ///< no such packet id in this format
  BadLength,        ///< shorter than a header, or not the exact size of its packet id
  kCount
};
[[nodiscard]] std::string_view to_string(Outcome o);
/// The dead-letter reason of a rejected outcome (UnknownFormat, UnknownPacketId, BadLength).
[[nodiscard]] Reason reason_of(Outcome o);
[[nodiscard]] inline bool is_rejected(Outcome o) {
  return o == Outcome::UnknownFormat || o == Outcome::UnknownPacketId || o == Outcome::BadLength;
}

struct DecodeResult {
  Outcome outcome = Outcome::Decoded;
  std::string detail;  ///< set for rejected packets, e.g. "packet id 6 of format 2024 is 1352 bytes, got 1300"
};

struct DecoderStats {
  std::array<std::uint64_t, static_cast<std::size_t>(Outcome::kCount)> outcomes{};
  std::array<std::uint64_t, 16> packets_by_id{};     ///< decoded packets per packet id
  std::array<std::uint64_t, 3> packets_by_format{};  ///< 2023, 2024, 2025
  std::uint64_t samples = 0, laps = 0, timing = 0;   ///< records released
  std::uint64_t late_samples = 0;                    ///< samples of a reordered (older) telemetry frame
  std::uint64_t flashbacks = 0, sessions = 0;
  std::uint64_t non_finite = 0;        ///< car values that were NaN or infinite (skipped)
  std::uint64_t evicted_sessions = 0;  ///< sessions dropped to keep at most max_sessions
  [[nodiscard]] std::uint64_t packets() const {
    std::uint64_t n = 0;
    for (auto v : outcomes) n += v;
    return n;
  }
  [[nodiscard]] std::uint64_t of(Outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
};

class Decoder {
 public:
  explicit Decoder(DecoderOptions options = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  /// Decodes one datagram that arrived at `arrival_utc_ns`; appends the
  /// records it releases to `out`. Never throws on any input.
  DecodeResult decode(std::span<const std::byte> datagram, TimeNs arrival_utc_ns, std::vector<KeyedInput>& out);

  /// Releases everything held (end of input): records waiting for identity, laps waiting for history.
  void flush(std::vector<KeyedInput>& out);

  [[nodiscard]] const DecoderStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Three-letter driver code from a participant name: letters only, accents
/// folded ("PÉREZ" -> "PER", "DE VRIES" -> "DEV"), upper case.
[[nodiscard]] DriverCode driver_code_from_name(std::string_view utf8_name);

}  // namespace boxcall::sources::f1udp
