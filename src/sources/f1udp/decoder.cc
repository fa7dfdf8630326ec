#include "sources/f1udp/decoder.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <limits>
#include <map>

#include "sources/f1udp/packets.h"

namespace boxcall::sources::f1udp {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::Decoded:
      return "decoded";
    case Outcome::Ignored:
      return "ignored";
    case Outcome::Duplicate:
      return "duplicate";
    case Outcome::Stale:
      return "stale";
    case Outcome::NoSession:
      return "no_session";
    case Outcome::UnknownFormat:
      return "unknown_format";
    case Outcome::UnknownPacketId:
      return "unknown_packet_id";
    case Outcome::BadLength:
      return "bad_length";
    case Outcome::kCount:
      break;
  }
  return "unknown";
}

Reason reason_of(Outcome) { return Reason::MalformedPacket; }

DriverCode driver_code_from_name(std::string_view s) {
  char code[4] = {0, 0, 0, 0};
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size() && n < 3; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    char letter = 0;
    if (c < 0x80) {
      if (c >= 'a' && c <= 'z') letter = static_cast<char>(c - 'a' + 'A');
      if (c >= 'A' && c <= 'Z') letter = static_cast<char>(c);
    } else if ((c == 0xC3) && i + 1 < s.size()) {
      // Latin-1 supplement letters (U+00C0..U+00FF) folded to their base letter.
      static constexpr std::string_view kFold =  // U+00C0..U+00FF; '-': not a letter
          "AAAAAAACEEEEIIII"
          "DNOOOOO-OUUUUYTS"
          "AAAAAAACEEEEIIII"
          "DNOOOOO-OUUUUYTY";
      const auto d = static_cast<unsigned char>(s[i + 1]);
      if (d >= 0x80 && d <= 0xBF && kFold[d - 0x80] != '-') letter = kFold[d - 0x80];
      ++i;
    }
    if (letter) code[n++] = letter;
  }
  return DriverCode(std::string_view(code, n));
}

namespace {

constexpr std::size_t kNoCar = 255;
constexpr TimeNs kFlashbackStep = 1'000'000;  ///< time between the last frame before a flashback and the next

Compound visual_compound(std::uint8_t v) {
  switch (v) {
    case 16:
    case 19:
    case 20:
      return Compound::Soft;
    case 17:
    case 21:
      return Compound::Medium;
    case 18:
    case 22:
      return Compound::Hard;
    case 7:
      return Compound::Intermediate;
    case 8:
    case 15:
      return Compound::Wet;
    default:
      return Compound::Unknown;
  }
}

std::string actual_compound(std::uint8_t a) {
  switch (a) {
    case 16:
      return "C5";
    case 17:
      return "C4";
    case 18:
      return "C3";
    case 19:
      return "C2";
    case 20:
      return "C1";
    case 21:
      return "C0";
    case 22:
      return "C6";
    case 7:
      return "INTER";
    case 8:
    case 10:
    case 15:
      return "WET";
    case 9:
      return "DRY";
    case 11:
      return "SUPERSOFT";
    case 12:
      return "SOFT";
    case 13:
      return "MEDIUM";
    case 14:
      return "HARD";
    default:
      return {};
  }
}

std::string_view track_name(int id) {
  static constexpr std::array<std::string_view, 42> kTracks = {"Melbourne",
                                                               "Paul Ricard",
                                                               "Shanghai",
                                                               "Sakhir (Bahrain)",
                                                               "Catalunya",
                                                               "Monaco",
                                                               "Montreal",
                                                               "Silverstone",
                                                               "Hockenheim",
                                                               "Hungaroring",
                                                               "Spa",
                                                               "Monza",
                                                               "Singapore",
                                                               "Suzuka",
                                                               "Abu Dhabi",
                                                               "Texas",
                                                               "Brazil",
                                                               "Austria",
                                                               "Sochi",
                                                               "Mexico",
                                                               "Baku (Azerbaijan)",
                                                               "Sakhir Short",
                                                               "Silverstone Short",
                                                               "Texas Short",
                                                               "Suzuka Short",
                                                               "Hanoi",
                                                               "Zandvoort",
                                                               "Imola",
                                                               "Portimao",
                                                               "Jeddah",
                                                               "Miami",
                                                               "Las Vegas",
                                                               "Losail",
                                                               "",
                                                               "",
                                                               "",
                                                               "",
                                                               "",
                                                               "",
                                                               "Silverstone (reverse)",
                                                               "Austria (reverse)",
                                                               "Zandvoort (reverse)"};
  if (id < 0 || static_cast<std::size_t>(id) >= kTracks.size() || kTracks[static_cast<std::size_t>(id)].empty())
    return "Unknown track";
  return kTracks[static_cast<std::size_t>(id)];
}

std::string_view session_type_name(std::uint16_t format, int t) {
  static constexpr std::array<std::string_view, 14> k23 = {
      "Unknown",      "Practice 1",   "Practice 2",   "Practice 3",       "Short Practice",
      "Qualifying 1", "Qualifying 2", "Qualifying 3", "Short Qualifying", "One-Shot Qualifying",
      "Race",         "Race 2",       "Race 3",       "Time Trial"};
  static constexpr std::array<std::string_view, 19> k24 = {"Unknown",
                                                           "Practice 1",
                                                           "Practice 2",
                                                           "Practice 3",
                                                           "Short Practice",
                                                           "Qualifying 1",
                                                           "Qualifying 2",
                                                           "Qualifying 3",
                                                           "Short Qualifying",
                                                           "One-Shot Qualifying",
                                                           "Sprint Shootout 1",
                                                           "Sprint Shootout 2",
                                                           "Sprint Shootout 3",
                                                           "Short Sprint Shootout",
                                                           "One-Shot Sprint Shootout",
                                                           "Race",
                                                           "Race 2",
                                                           "Race 3",
                                                           "Time Trial"};
  if (t < 0) return "Unknown";
  const auto i = static_cast<std::size_t>(t);
  if (format == 2023) return i < k23.size() ? k23[i] : "Unknown";
  return i < k24.size() ? k24[i] : "Unknown";
}

/// Minutes + milliseconds parts to milliseconds (0 = not set).
std::uint32_t ms_of(std::span<const std::byte> p, std::size_t ms_off, std::size_t min_off) {
  return read<std::uint16_t>(p, ms_off) + 60'000u * read<std::uint8_t>(p, min_off);
}

struct CarState {
  // Motion
  bool has_motion = false;
  float x = 0, y = 0, z = 0;
  TimeNs motion_t = 0;
  // Lap Data
  bool has_lap = false;
  std::uint8_t lap_num = 0, pit_status = 0, result_status = 0, position = 0;
  float lap_distance = 0;
  TimeNs lap_t = 0;
  std::uint32_t lap_frame = 0;
  std::uint32_t s1_ms = 0, s2_ms = 0;  ///< of the lap in progress (0: not seen)
  bool lap_invalid = false;
  std::optional<TimeNs> lap_start, pit_in, pit_out;  ///< of the lap in progress
  std::string track_codes;
  // Car Status
  bool has_status = false;
  std::uint8_t actual = 0, visual = 0, age = 0;
  bool drs_allowed = false;
  std::int32_t stint = 0;
  bool fresh = true;
};

struct PendingLap {
  std::uint8_t vehicle;
  TimeNs due;
  TimingEvent event;
};

struct Held {
  std::uint8_t vehicle;  ///< kNoCar: session-wide
  Input input;
};

struct Session {
  std::unique_ptr<const std::string> id;  ///< KeyedInput::session points here; outlives the session (retired ids)
  std::uint64_t last_packet = 0;          ///< decoder packet counter at the last packet (eviction order)
  std::uint64_t uid = 0;
  const Layout* layout = nullptr;
  TimeNs anchor = 0;                                ///< event time of session time 0
  TimeNs offset = 0;                                ///< added to the game's session time (flashbacks)
  TimeNs now = std::numeric_limits<TimeNs>::min();  ///< latest session time seen
  TimeNs first_t = 0;
  std::uint32_t max_overall = 0;
  bool any = false;
  std::array<CarState, kMaxCars> cars{};
  // Identity (Participants).
  bool identity_known = false;
  bool participants_seen = false;
  std::uint8_t num_active = kMaxCars;
  std::array<std::uint16_t, kMaxCars> number{};
  std::array<DriverCode, kMaxCars> driver{};
  std::deque<Held> held;
  // Duplicates and stale frames.
  std::array<std::array<std::uint64_t, 32>, kPacketIds> recent{};
  std::array<std::uint8_t, kPacketIds> recent_pos{};
  std::array<std::uint32_t, kPacketIds> last_overall{};
  std::array<bool, kPacketIds> seen{};
  // Session-wide facts.
  int track_code = 1;
  int sc_status = -1;
  bool has_weather = false;
  std::uint8_t weather = 0;
  std::int8_t track_temp = 0, air_temp = 0;
  std::optional<std::int32_t> total_laps;
  std::string name, status;
  std::deque<PendingLap> pending;  ///< laps waiting for Session History, oldest first
};

bool is_state_packet(PacketId id) {
  return id == PacketId::Motion || id == PacketId::Session || id == PacketId::LapData || id == PacketId::Participants ||
         id == PacketId::CarStatus;
}

std::uint32_t fnv32(std::span<const std::byte> p) {
  std::uint32_t h = 2166136261u;
  for (auto b : p) h = (h ^ static_cast<std::uint8_t>(b)) * 16777619u;
  return h;
}

}  // namespace

struct Decoder::Impl {
  DecoderOptions o;
  DecoderStats stats;
  std::map<std::uint64_t, std::unique_ptr<Session>> sessions;
  std::deque<std::unique_ptr<const std::string>> retired_ids;  ///< ids of evicted sessions, kept for KeyedInput
  std::uint64_t packet_counter = 0;
  std::vector<KeyedInput>* out = nullptr;

  Session& session_for(const Header& h, const Layout* layout, TimeNs arrival, TimeNs t_game) {
    auto it = sessions.find(h.session_uid);
    if (it != sessions.end()) return *it->second;
    if (sessions.size() >= o.max_sessions) evict_oldest();
    auto s = std::make_unique<Session>();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h.session_uid));
    s->id = std::make_unique<const std::string>(o.session_prefix + hex);
    s->uid = h.session_uid;
    s->layout = layout;
    s->anchor = arrival - t_game;
    s->first_t = t_game;
    ++stats.sessions;
    return *sessions.emplace(h.session_uid, std::move(s)).first->second;
  }

  /// Garbage with random session UIDs must not grow memory: the least recently heard session goes,
  /// after releasing what it holds; its id stays valid for records already handed out.
  void evict_oldest() {
    auto oldest = sessions.begin();
    for (auto it = sessions.begin(); it != sessions.end(); ++it)
      if (it->second->last_packet < oldest->second->last_packet) oldest = it;
    settle(*oldest->second, true);
    retired_ids.push_back(std::move(oldest->second->id));
    if (retired_ids.size() > 4096) retired_ids.pop_front();
    sessions.erase(oldest);
    ++stats.evicted_sessions;
  }

  // ---------------------------------------------------------------- releasing records

  void assign(Session& s, std::uint8_t vehicle, Input& in) {
    std::visit(
        [&](auto& r) {
          if (vehicle == kNoCar) return;
          r.car = s.number[vehicle] != 0 ? s.number[vehicle] : static_cast<std::uint16_t>(100 + vehicle);
          r.driver = s.driver[vehicle];
        },
        in);
  }

  void release(Session& s, std::uint8_t vehicle, Input&& in) {
    if (!s.identity_known) {
      s.held.push_back({vehicle, std::move(in)});
      return;
    }
    if (vehicle != kNoCar && vehicle >= s.num_active) return;  // not a car of this session
    assign(s, vehicle, in);
    if (std::holds_alternative<TelemetrySample>(in)) {
      ++stats.samples;
    } else {
      ++stats.timing;
      if (std::holds_alternative<LapCompleted>(std::get<TimingEvent>(in).body)) ++stats.laps;
    }
    out->push_back({s.id.get(), std::move(in)});
  }

  void release_held(Session& s) {
    s.identity_known = true;
    while (!s.held.empty()) {
      Held h = std::move(s.held.front());
      s.held.pop_front();
      // Without Participants, a car is one Lap Data reported as active (or finished).
      if (!s.participants_seen && h.vehicle != kNoCar) {
        const CarState& c = s.cars[h.vehicle];
        if (!c.has_lap || (c.result_status != 2 && c.result_status != 3)) continue;
      }
      release(s, h.vehicle, std::move(h.input));
    }
  }

  void settle(Session& s, bool force) {
    if (!s.identity_known && (force || s.now - s.first_t >= o.identity_hold_ns || s.held.size() >= o.max_held_records))
      release_held(s);
    while (!s.pending.empty() && (force || s.pending.front().due <= s.now)) {
      PendingLap p = std::move(s.pending.front());
      s.pending.pop_front();
      release(s, p.vehicle, std::move(p.event));
    }
  }

  void stamp(Session& s, TimeNs t, auto& record) {
    record.session_time_ns = t;
    record.event_time_ns = s.anchor + t;
  }

  void timing(Session& s, std::uint8_t vehicle, TimeNs t, TimingBody body) {
    TimingEvent e;
    stamp(s, t, e);
    e.body = std::move(body);
    release(s, vehicle, std::move(e));
  }

  void set_track(Session& s, TimeNs t, int code, std::string message) {
    if (code == s.track_code) return;
    s.track_code = code;
    const std::string c = std::to_string(code);
    for (auto& car : s.cars) {
      if (car.track_codes.find(c) == std::string::npos) car.track_codes += c;
    }
    timing(s, kNoCar, t, TrackStatusChange{static_cast<TrackStatus>(code), std::move(message)});
  }

  void session_info(Session& s, TimeNs t) { timing(s, kNoCar, t, SessionInfo{s.total_laps, s.status, s.name}); }

  void rcm(Session& s, TimeNs t, std::string category, std::string message, std::uint8_t vehicle = kNoCar) {
    RaceControlMessage m;
    m.category = std::move(category);
    m.message = std::move(message);
    if (vehicle != kNoCar && vehicle < kMaxCars && s.cars[vehicle].has_lap) m.lap = s.cars[vehicle].lap_num;
    timing(s, vehicle, t, std::move(m));
  }

  // ---------------------------------------------------------------- packets

  void motion(Session& s, std::span<const std::byte> p, TimeNs t) {
    for (std::size_t i = 0; i < kMaxCars; ++i) {
      const std::size_t b = kHeaderSize + i * motion::kStride;
      CarState& c = s.cars[i];
      const float x = read<float>(p, b + motion::kX), y = read<float>(p, b + motion::kY),
                  z = read<float>(p, b + motion::kZ);
      if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(z)) {
        ++stats.non_finite;
        continue;
      }
      c.x = x;
      c.y = y;
      c.z = z;
      c.motion_t = t;
      c.has_motion = true;
    }
  }

  void telemetry(Session& s, std::span<const std::byte> p, TimeNs t, bool late) {
    for (std::size_t i = 0; i < kMaxCars; ++i) {
      const CarState& c = s.cars[i];
      if (c.has_lap && c.result_status != 2 && c.result_status != 3) continue;  // inactive, retired...
      if (s.participants_seen && i >= s.num_active) continue;
      const std::size_t b = kHeaderSize + i * telemetry::kStride;
      const float throttle = read<float>(p, b + telemetry::kThrottle);
      const float brake = read<float>(p, b + telemetry::kBrake);
      if (!std::isfinite(throttle * 100.0F) || !std::isfinite(brake)) {  // garbage: skipped, counted
        ++stats.non_finite;
        continue;
      }
      TelemetrySample smp;
      stamp(s, t, smp);
      smp.source = SampleSource::Simulator;
      smp.speed_kph = read<std::uint16_t>(p, b + telemetry::kSpeed);
      smp.rpm = read<std::uint16_t>(p, b + telemetry::kRpm);
      smp.gear = std::max<std::int8_t>(0, read<std::int8_t>(p, b + telemetry::kGear));  // reverse (-1) as 0
      smp.throttle = throttle * 100.0F;  // as the game says: out-of-range values meet the processor's validation
      smp.brake = brake > 0.01F;
      smp.drs = read<std::uint8_t>(p, b + telemetry::kDrs) != 0 ? 12 : (c.has_status && c.drs_allowed ? 8 : 0);
      constexpr TimeNs kFresh = kNsPerSecond;
      if (c.has_motion && std::abs(t - c.motion_t) <= kFresh) {
        smp.x = c.x;
        smp.y = c.y;
        smp.z = c.z;
      }
      if (c.has_lap && std::abs(t - c.lap_t) <= kFresh && std::isfinite(c.lap_distance))
        smp.distance_m = c.lap_distance;
      if (late) ++stats.late_samples;
      release(s, static_cast<std::uint8_t>(i), std::move(smp));
    }
  }

  void lap_data(Session& s, std::span<const std::byte> p, TimeNs t, std::uint32_t overall) {
    const Layout& lay = *s.layout;
    for (std::size_t i = 0; i < kMaxCars; ++i) {
      const std::size_t b = kHeaderSize + i * lay.lap_stride;
      const std::size_t sh = b + lay.lap_shift;
      CarState& c = s.cars[i];
      const auto lap_num = read<std::uint8_t>(p, sh + lap::kCurrentLapNum);
      const auto pit = read<std::uint8_t>(p, sh + lap::kPitStatus);
      const auto result = read<std::uint8_t>(p, sh + lap::kResultStatus);
      const auto position = read<std::uint8_t>(p, sh + lap::kCarPosition);
      const auto current_ms = read<std::uint32_t>(p, b + lap::kCurrentLapMs);
      const auto last_ms = read<std::uint32_t>(p, b + lap::kLastLapMs);
      const auto s1 = ms_of(p, b + lap::kS1Ms, b + lap::kS1Min);
      const auto s2 = ms_of(p, b + lap::kS2Ms, b + lap::kS2Min);
      const bool invalid = read<std::uint8_t>(p, sh + lap::kCurrentLapInvalid) != 0;
      const TimeNs crossed = t - static_cast<TimeNs>(current_ms) * 1'000'000;  // when this lap started
      const auto vehicle = static_cast<std::uint8_t>(i);

      if (!c.has_lap || lap_num < c.lap_num) {
        // First sight of the car, or its lap count went back (flashback, restart): start tracking here.
        c.lap_num = lap_num;
        c.pit_status = pit;
        c.s1_ms = s1;
        c.s2_ms = s2;
        c.lap_invalid = invalid;
        c.lap_start = current_ms > 0 ? std::optional<TimeNs>(crossed) : std::nullopt;
        c.pit_in.reset();
        c.pit_out.reset();
        c.track_codes = std::to_string(s.track_code);
      } else {
        if (lap_num > c.lap_num) {
          const TimeNs start = std::max(crossed, c.lap_t);
          if (c.lap_num > 0) complete_laps(s, c, vehicle, lap_num, last_ms, position, start, t);
          c.lap_num = lap_num;
          c.s1_ms = s1;
          c.s2_ms = s2;
          c.lap_invalid = invalid;
          c.lap_start = start;
          c.pit_in.reset();
          c.pit_out.reset();
          c.track_codes = std::to_string(s.track_code);
        } else {
          if (s1 != 0) c.s1_ms = s1;
          if (s2 != 0) c.s2_ms = s2;
          c.lap_invalid = c.lap_invalid || invalid;
        }
        // Pit lane entry (status leaves 0) and exit (back to 0), on the lap in progress.
        if (c.pit_status == 0 && pit != 0) {
          c.pit_in = t;
          timing(s, vehicle, t, PitIn{});
        } else if (c.pit_status != 0 && pit == 0) {
          c.pit_out = t;
          timing(s, vehicle, t, PitOut{});
        }
        c.pit_status = pit;
      }
      c.has_lap = true;
      c.result_status = result;
      c.position = position;
      c.lap_distance = read<float>(p, sh + lap::kLapDistance);
      c.lap_t = t;
      c.lap_frame = overall;
    }
  }

  /// Laps c.lap_num .. new_lap - 1 are complete; only the last has a time (skipped ones: lost packets).
  void complete_laps(Session& s, CarState& c, std::uint8_t vehicle, std::uint8_t new_lap, std::uint32_t last_ms,
                     std::uint8_t position, TimeNs crossed, TimeNs now) {
    for (int lap = c.lap_num; lap < new_lap; ++lap) {
      const bool last = lap == new_lap - 1;
      LapCompleted l;
      l.lap = lap;
      if (last && last_ms > 0) l.lap_time_s = last_ms / 1000.0;
      if (last && lap == c.lap_num) {
        if (c.s1_ms > 0) l.sector1_s = c.s1_ms / 1000.0;
        if (c.s2_ms > 0) l.sector2_s = c.s2_ms / 1000.0;
        if (l.lap_time_s && l.sector1_s && l.sector2_s && *l.lap_time_s > *l.sector1_s + *l.sector2_s)
          l.sector3_s = std::round((*l.lap_time_s - *l.sector1_s - *l.sector2_s) * 1000.0) / 1000.0;
        l.deleted = c.lap_invalid;
      }
      if (last && position > 0) l.position = position;
      if (c.has_status) {
        l.compound = visual_compound(c.visual);
        l.compound_actual = actual_compound(c.actual);
        l.tyre_life = c.age + 1;  // laps on the set including this one (FastF1 TyreLife)
        l.stint = c.stint;
        l.fresh_tyre = c.fresh;
      }
      if (lap == c.lap_num) {
        l.lap_start_session_ns = c.lap_start;
        l.pit_in_session_ns = c.pit_in;
        l.pit_out_session_ns = c.pit_out;
        l.track_status = c.track_codes.empty() ? std::to_string(s.track_code) : c.track_codes;
      } else {
        l.track_status = std::to_string(s.track_code);
      }
      TimingEvent e;
      stamp(s, last ? crossed : now, e);
      const bool needs_history = last && l.lap_time_s && (!l.sector1_s || !l.sector2_s);
      e.body = std::move(l);
      if (needs_history) {
        s.pending.push_back({vehicle, now + o.lap_hold_ns, std::move(e)});
      } else {
        release(s, vehicle, std::move(e));
      }
    }
  }

  void session_history(Session& s, std::span<const std::byte> p) {
    const auto car = read<std::uint8_t>(p, history::kCarIdx);
    const auto num_laps = read<std::uint8_t>(p, history::kNumLaps);
    if (car >= kMaxCars) return;
    for (auto it = s.pending.begin(); it != s.pending.end();) {
      auto& l = std::get<LapCompleted>(it->event.body);
      if (it->vehicle != car || l.lap < 1 || l.lap > num_laps || l.lap > static_cast<int>(history::kMaxLaps)) {
        ++it;
        continue;
      }
      const std::size_t b = history::kLaps + static_cast<std::size_t>(l.lap - 1) * history::kLapStride;
      const auto lap_ms = read<std::uint32_t>(p, b + history::kLapTimeMs);
      if (lap_ms == 0) {
        ++it;
        continue;
      }
      const auto s1 = ms_of(p, b + history::kS1Ms, b + history::kS1Min);
      const auto s2 = ms_of(p, b + history::kS2Ms, b + history::kS2Min);
      const auto s3 = ms_of(p, b + history::kS3Ms, b + history::kS3Min);
      if (s1 > 0) l.sector1_s = s1 / 1000.0;
      if (s2 > 0) l.sector2_s = s2 / 1000.0;
      if (s3 > 0) l.sector3_s = s3 / 1000.0;
      l.deleted = (read<std::uint8_t>(p, b + history::kValidFlags) & 0x01) == 0;
      PendingLap done = std::move(*it);
      it = s.pending.erase(it);
      release(s, done.vehicle, std::move(done.event));
    }
  }

  void car_status(Session& s, std::span<const std::byte> p) {
    for (std::size_t i = 0; i < kMaxCars; ++i) {
      const std::size_t b = kHeaderSize + i * status::kStride;
      CarState& c = s.cars[i];
      const auto visual = read<std::uint8_t>(p, b + status::kVisualCompound);
      const auto actual = read<std::uint8_t>(p, b + status::kActualCompound);
      const auto age = read<std::uint8_t>(p, b + status::kTyresAge);
      if (!c.has_status) {
        c.stint = 1;
        c.fresh = age == 0;
      } else if (visual != c.visual || actual != c.actual || age < c.age) {
        ++c.stint;  // a new set of tyres
        c.fresh = age == 0;
      }
      c.visual = visual;
      c.actual = actual;
      c.age = age;
      c.drs_allowed = read<std::uint8_t>(p, b + status::kDrsAllowed) != 0;
      c.has_status = true;
    }
  }

  void session_packet(Session& s, std::span<const std::byte> p, TimeNs t) {
    const auto weather = read<std::uint8_t>(p, session::kWeather);
    const auto track_temp = read<std::int8_t>(p, session::kTrackTemp);
    const auto air_temp = read<std::int8_t>(p, session::kAirTemp);
    const auto laps = read<std::uint8_t>(p, session::kTotalLaps);
    std::string name = std::string(track_name(read<std::int8_t>(p, session::kTrackId))) + " " +
                       std::string(session_type_name(s.layout->format, read<std::uint8_t>(p, session::kSessionType)));
    const std::optional<std::int32_t> total = laps > 0 ? std::optional<std::int32_t>(laps) : std::nullopt;
    if (name != s.name || total != s.total_laps) {
      s.name = std::move(name);
      s.total_laps = total;
      session_info(s, t);
    }
    if (!s.has_weather || weather != s.weather || track_temp != s.track_temp || air_temp != s.air_temp) {
      s.has_weather = true;
      s.weather = weather;
      s.track_temp = track_temp;
      s.air_temp = air_temp;
      Weather w;
      w.air_temp_c = air_temp;
      w.track_temp_c = track_temp;
      w.rainfall = weather >= 3;  // 3 light rain, 4 heavy rain, 5 storm
      timing(s, kNoCar, t, std::move(w));
    }
    const int sc = read<std::uint8_t>(p, session::kSafetyCarStatus);
    if (sc != s.sc_status) {
      const bool first = s.sc_status < 0;
      s.sc_status = sc;
      if (s.track_code == 5 && sc == 0) return;  // red flag: held until lights out
      switch (sc) {
        case 0:
          if (!first || s.track_code != 1) set_track(s, t, 1, "Track clear");
          break;
        case 1:
          set_track(s, t, 4, "Safety car deployed");
          break;
        case 2:
          set_track(s, t, 6, "Virtual safety car deployed");
          break;
        case 3:
          set_track(s, t, 1, "Formation lap");
          break;
        default:
          break;
      }
    }
  }

  void event_packet(Session& s, std::span<const std::byte> p, TimeNs t) {
    const std::string code(reinterpret_cast<const char*>(p.data() + event::kCode), 4);
    const auto d0 = read<std::uint8_t>(p, event::kDetails);
    const auto d1 = read<std::uint8_t>(p, event::kDetails + 1);
    auto car_label = [&](std::uint8_t v) {
      if (v >= kMaxCars) return std::string("?");
      return std::to_string(s.number[v] != 0 ? s.number[v] : 100 + v);
    };
    if (code == "SSTA") {
      s.status = "Started";
      session_info(s, t);
    } else if (code == "CHQF") {
      s.status = "Finished";
      rcm(s, t, "Flag", "CHEQUERED FLAG");
      session_info(s, t);
    } else if (code == "SEND") {
      s.status = "Finalised";
      session_info(s, t);
    } else if (code == "RDFL") {
      set_track(s, t, 5, "Red flag");
      rcm(s, t, "Flag", "RED FLAG");
    } else if (code == "LGOT") {
      if (s.track_code == 5) set_track(s, t, 1, "Lights out");
    } else if (code == "SCAR") {  // F1 24+: safetyCarType, eventType
      const bool vsc = d0 == 2;
      if (d0 == 1 || d0 == 2) {
        if (d1 == 0) {
          set_track(s, t, vsc ? 6 : 4, vsc ? "Virtual safety car deployed" : "Safety car deployed");
          rcm(s, t, "SafetyCar", vsc ? "VIRTUAL SAFETY CAR DEPLOYED" : "SAFETY CAR DEPLOYED");
        } else if (d1 == 1) {
          if (vsc) set_track(s, t, 7, "Virtual safety car ending");
          rcm(s, t, "SafetyCar", vsc ? "VIRTUAL SAFETY CAR ENDING" : "SAFETY CAR IN THIS LAP");
        } else if (d1 == 3) {
          set_track(s, t, 1, "Track clear");
        }
      }
    } else if (code == "DRSE") {
      rcm(s, t, "Drs", "DRS ENABLED");
    } else if (code == "DRSD") {
      rcm(s, t, "Drs", "DRS DISABLED");
    } else if (code == "RTMT") {
      rcm(s, t, "CarEvent", "CAR " + car_label(d0) + " RETIRED", d0 < kMaxCars ? d0 : kNoCar);
    } else if (code == "PENA") {  // penaltyType, infringementType, vehicleIdx, otherVehicleIdx, time, lapNum, places
      const auto v = read<std::uint8_t>(p, event::kDetails + 2);
      const auto secs = read<std::uint8_t>(p, event::kDetails + 4);
      rcm(s, t, "Other",
          "PENALTY FOR CAR " + car_label(v) + " (type " + std::to_string(d0) + ", infringement " + std::to_string(d1) +
              (secs ? ", " + std::to_string(secs) + " s" : std::string()) + ")",
          v < kMaxCars ? v : kNoCar);
    } else if (code == "FLBK") {
      ++stats.flashbacks;
    }
  }

  void participants(Session& s, std::span<const std::byte> p) {
    const Layout& lay = *s.layout;
    s.num_active = std::min<std::uint8_t>(read<std::uint8_t>(p, participants::kNumActive), kMaxCars);
    std::array<int, 256> uses{};
    for (std::size_t i = 0; i < s.num_active; ++i)
      ++uses[read<std::uint8_t>(p, participants::kFirst + i * lay.participant_stride + participants::kRaceNumber)];
    for (std::size_t i = 0; i < kMaxCars; ++i) {
      const std::size_t b = participants::kFirst + i * lay.participant_stride;
      const auto number = read<std::uint8_t>(p, b + participants::kRaceNumber);
      // A race number shared by two cars (online lobbies) or 0 cannot key a car: 100 + index instead.
      s.number[i] = (number != 0 && uses[number] == 1) ? number : static_cast<std::uint16_t>(100 + i);
      const char* name = reinterpret_cast<const char*>(p.data() + b + participants::kName);
      s.driver[i] = driver_code_from_name(std::string_view(name, strnlen(name, lay.participant_name_len)));
    }
    s.participants_seen = true;
    if (!s.identity_known) release_held(s);
  }

  // ---------------------------------------------------------------- one datagram

  DecodeResult reject(Outcome outcome, std::string detail) {
    ++stats.outcomes[static_cast<std::size_t>(outcome)];
    return {outcome, std::move(detail)};
  }

  DecodeResult decode(std::span<const std::byte> p, TimeNs arrival) {
    auto h = read_header(p);
    if (!h) return reject(Outcome::BadLength, std::to_string(p.size()) + " bytes: shorter than a packet header (29)");
    const Layout* lay = layout_of(h->format);
    if (!lay) {
      return reject(Outcome::UnknownFormat,
                    "packet format " + std::to_string(h->format) + " is not one boxcall reads (2023, 2024, 2025)");
    }
    if (h->packet_id >= kPacketIds || lay->sizes[h->packet_id] == 0) {
      return reject(Outcome::UnknownPacketId, "packet id " + std::to_string(h->packet_id) +
                                                  " does not exist in format " + std::to_string(h->format));
    }
    if (p.size() != lay->sizes[h->packet_id]) {
      return reject(Outcome::BadLength,
                    "packet id " + std::to_string(h->packet_id) + " of format " + std::to_string(h->format) + " is " +
                        std::to_string(lay->sizes[h->packet_id]) + " bytes, got " + std::to_string(p.size()));
    }
    if (h->session_uid == 0) {
      ++stats.outcomes[static_cast<std::size_t>(Outcome::NoSession)];
      return {Outcome::NoSession, {}};
    }
    const TimeNs t_game = std::isfinite(h->session_time) && std::abs(h->session_time) < 1e7F
                              ? s_to_ns(static_cast<double>(h->session_time))
                              : 0;
    Session& s = session_for(*h, lay, arrival, t_game);
    s.last_packet = ++packet_counter;
    if (s.layout != lay) s.layout = lay;  // the same UID in another format: use what the packet says
    const auto id = static_cast<PacketId>(h->packet_id);
    const std::size_t idn = h->packet_id;

    // Exact duplicates: the same frame (and event / car) seen lately for this packet id.
    std::uint32_t extra = h->frame;
    if (id == PacketId::Event) extra = fnv32(p.subspan(event::kCode, 16));
    if (id == PacketId::SessionHistory || id == PacketId::TyreSets) extra = read<std::uint8_t>(p, history::kCarIdx);
    const std::uint64_t key = (static_cast<std::uint64_t>(h->overall_frame) << 32) | extra;
    auto& ring = s.recent[idn];
    if (s.seen[idn] && std::find(ring.begin(), ring.end(), key) != ring.end()) {
      ++stats.outcomes[static_cast<std::size_t>(Outcome::Duplicate)];
      return {Outcome::Duplicate, {}};
    }

    // Time: the game's clock, kept monotonic across flashbacks and restarts of the same session.
    TimeNs t = t_game + s.offset;
    bool older = false;
    if (!s.any) {
      s.any = true;
      s.max_overall = h->overall_frame;
      s.now = t;
    } else if (h->overall_frame > s.max_overall) {
      if (t < s.now - kNsPerSecond / 2) {  // a new frame earlier in time: flashback; resume 1 ms later
        s.offset += s.now + kFlashbackStep - t;
        t = s.now + kFlashbackStep;
        ++stats.flashbacks;
      }
      s.max_overall = h->overall_frame;
    } else if (h->overall_frame + 600 < s.max_overall && t < s.now - kNsPerSecond) {
      // Frames and time both far back: the session restarted under the same UID.
      s.offset += s.now + kFlashbackStep - t;
      t = s.now + kFlashbackStep;
      s.max_overall = h->overall_frame;
      s.seen.fill(false);
      s.last_overall.fill(0);
    } else if (h->overall_frame < s.max_overall) {
      older = true;
    }
    if (is_state_packet(id) && s.seen[idn] && h->overall_frame < s.last_overall[idn]) {
      ++stats.outcomes[static_cast<std::size_t>(Outcome::Stale)];
      return {Outcome::Stale, {}};
    }
    ring[s.recent_pos[idn]++ % ring.size()] = key;
    if (!s.seen[idn] || h->overall_frame > s.last_overall[idn]) s.last_overall[idn] = h->overall_frame;
    s.seen[idn] = true;
    if (!older) s.now = std::max(s.now, t);

    Outcome outcome = Outcome::Decoded;
    switch (id) {
      case PacketId::Motion:
        motion(s, p, t);
        break;
      case PacketId::Session:
        session_packet(s, p, t);
        break;
      case PacketId::LapData:
        lap_data(s, p, t, h->overall_frame);
        break;
      case PacketId::Event:
        event_packet(s, p, t);
        break;
      case PacketId::Participants:
        participants(s, p);
        break;
      case PacketId::CarTelemetry:
        telemetry(s, p, t, older);
        break;
      case PacketId::CarStatus:
        car_status(s, p);
        break;
      case PacketId::SessionHistory:
        session_history(s, p);
        break;
      default:
        outcome = Outcome::Ignored;
        break;
    }
    settle(s, false);
    ++stats.outcomes[static_cast<std::size_t>(outcome)];
    if (outcome == Outcome::Decoded) ++stats.packets_by_id[idn];
    ++stats.packets_by_format[static_cast<std::size_t>(h->format - 2023)];
    return {outcome, {}};
  }
};

Decoder::Decoder(DecoderOptions options) : impl_(std::make_unique<Impl>()) { impl_->o = std::move(options); }
Decoder::~Decoder() = default;

DecodeResult Decoder::decode(std::span<const std::byte> datagram, TimeNs arrival_utc_ns, std::vector<KeyedInput>& out) {
  impl_->out = &out;
  return impl_->decode(datagram, arrival_utc_ns);
}

void Decoder::flush(std::vector<KeyedInput>& out) {
  impl_->out = &out;
  for (auto& [uid, s] : impl_->sessions) impl_->settle(*s, true);
}

const DecoderStats& Decoder::stats() const { return impl_->stats; }

}  // namespace boxcall::sources::f1udp
