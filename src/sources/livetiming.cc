#include "sources/livetiming.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>

#include "base/time_text.h"

namespace boxcall::sources {

using json = nlohmann::json;
namespace fs = std::filesystem;

// ------------------------------------------------------------------ decoding helpers

std::optional<std::string> base64_decode(std::string_view text) {
  std::string in(text);
  std::erase_if(in, [](char c) { return c == '\n' || c == '\r' || c == ' '; });
  while (in.size() % 4 != 0) in.push_back('=');  // the feed sometimes drops the padding
  if (in.empty()) return std::string();
  std::string out(in.size() / 4 * 3, '\0');
  // OpenSSL's decoder (libcrypto): returns whole 3-byte groups, padding included.
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '=' && pad < 2; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<std::string> inflate_raw(std::string_view data) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) return std::nullopt;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // input ended without a final block
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

/// Merges a live-timing delta into its state. Arrays become objects keyed by
/// index ("0", "1"...), the form the feed's own deltas address them in.
void merge_delta(nlohmann::json& dst, const nlohmann::json& src) {
  if (src.is_array()) {
    nlohmann::json obj = nlohmann::json::object();
    for (std::size_t i = 0; i < src.size(); ++i) obj[std::to_string(i)] = src[i];
    merge_delta(dst, obj);
    return;
  }
  if (!src.is_object()) {
    dst = src;
    return;
  }
  if (dst.is_array()) {
    nlohmann::json obj = nlohmann::json::object();
    for (std::size_t i = 0; i < dst.size(); ++i) obj[std::to_string(i)] = std::move(dst[i]);
    dst = std::move(obj);
  }
  if (!dst.is_object()) dst = nlohmann::json::object();
  for (const auto& [k, v] : src.items()) merge_delta(dst[k], v);
}

namespace {

/// Objects or arrays iterated alike, as (index/key, value).
template <typename F>
void for_each_entry(const json& j, F&& f) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) f(k, v);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) f(std::to_string(i), j[i]);
  }
}

const json* find(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

std::optional<double> number(const json* j) {
  if (!j) return std::nullopt;
  if (j->is_number()) return j->get<double>();
  if (j->is_string()) {
    const auto& s = j->get_ref<const std::string&>();
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str()) return std::nullopt;
    return v;
  }
  return std::nullopt;
}

std::string text(const json* j) {
  if (!j) return {};
  if (j->is_string()) return j->get<std::string>();
  if (j->is_number_integer()) return std::to_string(j->get<long long>());
  return {};
}

std::optional<bool> boolean(const json* j) {
  if (!j) return std::nullopt;
  if (j->is_boolean()) return j->get<bool>();
  if (j->is_string()) return j->get<std::string>() == "true";
  return std::nullopt;
}

/// "1:47.989" / "47.989" / "" -> seconds.
std::optional<double> lap_seconds(const json* j) {
  const std::string s = text(j);
  if (s.empty()) return std::nullopt;
  auto t = parse_timedelta(s);
  if (!t) return std::nullopt;
  return ns_to_s(*t);
}

/// "HH:MM:SS.mmm" (exactly) -> ns.
std::optional<TimeNs> stream_time(std::string_view s) {
  if (s.size() != 12 || s[2] != ':' || s[5] != ':' || s[8] != '.') return std::nullopt;
  for (std::size_t i : {0, 1, 3, 4, 6, 7, 9, 10, 11}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  auto d = [&](std::size_t i, std::size_t n) {
    TimeNs v = 0;
    for (std::size_t k = i; k < i + n; ++k) v = v * 10 + (s[k] - '0');
    return v;
  };
  if (d(3, 2) > 59 || d(6, 2) > 59) return std::nullopt;
  return ((d(0, 2) * 60 + d(3, 2)) * 60 + d(6, 2)) * kNsPerSecond + d(9, 3) * 1'000'000;
}

/// The date at the start of a directory name ("2018-04-29_Azerbaijan...") as UTC midnight.
std::optional<TimeNs> date_of(const std::string& name) {
  if (name.size() < 10) return std::nullopt;
  return parse_utc_datetime(name.substr(0, 10) + "T00:00:00Z");
}

const std::set<std::string, std::less<>> kTopics = {"TimingData", "TimingAppData", "TrackStatus", "RaceControlMessages",
                                                    "LapCount",   "SessionStatus", "SessionInfo", "WeatherData",
                                                    "DriverList", "CarData.z",     "Position.z"};

/// One input file: a per-topic jsonStream or a FastF1 live-data file.
struct InputFile {
  fs::path path;
  std::string topic;  ///< empty: live-data file (topic per line)
  std::ifstream in;
  std::uint64_t line_no = 0;
};

/// One parsed line.
struct Line {
  TimeNs t = 0;  ///< session time
  std::string topic;
  json data;
  std::string where;  ///< file:line
};

struct Pending {
  std::int32_t lap = 0;
  TimeNs t = 0;
  std::optional<double> sectors[3];
  std::optional<std::int32_t> position;
  bool waiting_time = true;
  std::optional<double> lap_time;
  // The lap's facts, frozen when it completed.
  std::optional<TimeNs> lap_start, pit_in, pit_out;
  std::string track_codes;
};

struct Driver {
  std::int32_t laps = 0;
  TimeNs lap_start = -1;
  std::optional<TimeNs> pit_in, pit_out;  ///< during the current lap
  std::string track_codes;
  bool in_pit = false, pit_out_flag = false;
  std::optional<std::pair<TimeNs, double>> fresh_lap_time;  ///< arrived, not yet used
  std::deque<Pending> pending;
};

struct Out {
  TimeNs t;
  std::uint64_t seq;
  std::shared_ptr<Input> input;
  bool operator>(const Out& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

}  // namespace

struct LiveTimingSource::Impl {
  LiveTimingOptions options;
  std::string session;
  TimeNs start_utc = 0;
  bool absolute_times = false;  ///< live-data file: line times are UTC
  std::vector<std::unique_ptr<InputFile>> files;
  std::vector<std::optional<Line>> heads;
  std::function<void(const RejectedLine&)> on_reject;
  std::array<std::uint64_t, static_cast<std::size_t>(Reason::kCount)> rejected{};
  std::uint64_t lines = 0;

  std::map<std::string, json, std::less<>> state;  // per topic
  std::map<std::string, Driver, std::less<>> drivers;
  std::map<std::string, std::array<std::optional<float>, 3>, std::less<>> positions;
  int track_code = 1;
  std::optional<std::int32_t> total_laps;
  std::string session_status;
  std::priority_queue<Out, std::vector<Out>, std::greater<>> out;
  std::uint64_t seq = 0;
  TimeNs watermark = std::numeric_limits<TimeNs>::min();
  TimeNs released = std::numeric_limits<TimeNs>::min();
  bool ended = false;

  void reject(const InputFile& f, Reason r, std::string detail, std::string_view line_text) {
    ++rejected[static_cast<std::size_t>(r)];
    if (on_reject) {
      on_reject(RejectedLine{f.path.filename().string() + ":" + std::to_string(f.line_no), r, std::move(detail),
                             std::string(line_text)});
    }
  }

  /// Reads the next usable line of `f`.
  std::optional<Line> read(InputFile& f) {
    std::string raw;
    while (std::getline(f.in, raw)) {
      ++f.line_no;
      ++lines;
      if (f.line_no == 1 && raw.starts_with("\xEF\xBB\xBF")) raw.erase(0, 3);
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      if (raw.empty()) continue;
      if (auto l = f.topic.empty() ? parse_livedata(f, raw) : parse_stream(f, raw)) return l;
    }
    return std::nullopt;
  }

  std::optional<Line> parse_stream(InputFile& f, const std::string& raw) {
    auto t = stream_time(std::string_view(raw).substr(0, 12));
    if (!t) {
      reject(f, Reason::OutOfRange, "no HH:MM:SS.mmm time at the start of the line", raw);
      return std::nullopt;
    }
    json data = json::parse(raw.begin() + 12, raw.end(), nullptr, false);
    if (data.is_discarded()) {
      reject(f, Reason::MalformedJson, "the delta after the time is not JSON", raw);
      return std::nullopt;
    }
    return Line{*t, f.topic, std::move(data), f.path.filename().string() + ":" + std::to_string(f.line_no)};
  }

  /// FastF1 live-data line: ['Topic', {data}, '2021-03-28T14:52:30.444Z'] (Python repr, read as FastF1 does).
  std::optional<Line> parse_livedata(InputFile& f, const std::string& raw) {
    std::string s = raw;
    std::replace(s.begin(), s.end(), '\'', '"');
    for (auto [from, to] : {std::pair<std::string_view, std::string_view>{"True", "true"}, {"False", "false"}}) {
      for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    }
    json j = json::parse(s, nullptr, false);
    if (j.is_discarded()) {
      reject(f, Reason::MalformedJson, "not a ['Topic', data, 'time'] list", raw);
      return std::nullopt;
    }
    if (!j.is_array() || j.size() != 3 || !j[0].is_string() || !j[2].is_string()) {
      reject(f, Reason::MissingField, "expected ['Topic', data, 'time'] with 3 elements", raw);
      return std::nullopt;
    }
    auto t = parse_utc_datetime(j[2].get<std::string>());
    if (!t) {
      reject(f, Reason::OutOfRange, "bad UTC time '" + j[2].get<std::string>() + "'", raw);
      return std::nullopt;
    }
    if (!absolute_started) {
      absolute_started = true;
      if (!options.start_utc_ns) start_utc = *t;
    }
    return Line{*t - start_utc, j[0].get<std::string>(), std::move(j[1]),
                f.path.filename().string() + ":" + std::to_string(f.line_no)};
  }
  bool absolute_started = false;

  // ---------------------------------------------------------------- emitting

  void emit(TimeNs t, Input in) {
    // Keep the promise of non-decreasing time: a record older than what was
    // already released (clock skew between topics) is released at that time.
    t = std::max(t, released);
    std::visit(
        [&](auto& r) {
          r.session_time_ns = t;
          r.event_time_ns = start_utc + t;
        },
        in);
    out.push({t, seq++, std::make_shared<Input>(std::move(in))});
  }

  static std::uint16_t car_of(std::string_view num) {
    int v = 0;
    for (char c : num) {
      if (c < '0' || c > '9') return 0;
      v = v * 10 + (c - '0');
    }
    return static_cast<std::uint16_t>(v);
  }

  DriverCode code_of(const std::string& num) const {
    auto it = state.find("DriverList");
    if (it == state.end()) return {};
    const json* d = find(it->second, num);
    return d ? DriverCode(text(find(*d, "Tla"))) : DriverCode{};
  }

  TimingEvent timing(const std::string& num, TimingBody body) const {
    TimingEvent e;
    e.car = num.empty() ? 0 : car_of(num);
    if (!num.empty()) e.driver = code_of(num);
    e.body = std::move(body);
    return e;
  }

  void finish_lap(const std::string& num, const Pending& p) {
    LapCompleted l;
    l.lap = p.lap;
    l.lap_time_s = p.lap_time;
    l.sector1_s = p.sectors[0];
    l.sector2_s = p.sectors[1];
    l.sector3_s = p.sectors[2];
    l.position = p.position;
    // Tyres: the driver's latest stint in TimingAppData.
    if (auto it = state.find("TimingAppData"); it != state.end()) {
      const json* line = nullptr;
      if (const json* app_lines = find(it->second, "Lines")) line = find(*app_lines, num);
      if (const json* stints = line ? find(*line, "Stints") : nullptr;
          stints && stints->is_object() && !stints->empty()) {
        int last = -1;
        for (const auto& [k, v] : stints->items()) last = std::max(last, std::atoi(k.c_str()));
        if (const json* st = find(*stints, std::to_string(last))) {
          l.compound = compound_of(text(find(*st, "Compound")));
          if (auto tl = number(find(*st, "TotalLaps"))) l.tyre_life = static_cast<std::int32_t>(*tl);
          l.stint = last + 1;
          if (auto n = boolean(find(*st, "New"))) l.fresh_tyre = *n;
        }
      }
    }
    l.lap_start_session_ns = p.lap_start;
    l.pit_in_session_ns = p.pit_in;
    l.pit_out_session_ns = p.pit_out;
    l.track_status = p.track_codes;
    emit(p.t, timing(num, std::move(l)));
  }

  void close_lap(Driver& d, TimeNs t) {
    d.lap_start = t;
    d.pit_in.reset();
    d.pit_out.reset();
    d.track_codes = std::to_string(track_code);
  }

  /// Emits the laps whose time arrived or whose hold expired by `now`.
  void settle(TimeNs now, bool force) {
    for (auto& [num, d] : drivers) {
      while (!d.pending.empty()) {
        Pending& p = d.pending.front();
        if (p.waiting_time && !force && now - p.t < options.lap_hold_ns) break;
        finish_lap(num, p);
        d.pending.pop_front();
      }
    }
  }

  void timing_data(const Line& l) {
    const json* changed = find(l.data, "Lines");
    if (!changed) return;
    json& st = state["TimingData"];
    for (const auto& [num, delta] : changed->items()) {
      if (!delta.is_object()) continue;
      Driver& d = drivers[num];
      const json& cur = st["Lines"][num];
      if (const json* lt = find(delta, "LastLapTime")) {
        if (auto v = lap_seconds(find(*lt, "Value"))) {
          // The lap time of the earliest pending lap, else of the next one to complete.
          auto waiting =
              std::find_if(d.pending.begin(), d.pending.end(), [](const Pending& p) { return p.waiting_time; });
          if (waiting != d.pending.end()) {
            waiting->lap_time = *v;
            waiting->waiting_time = false;
          } else {
            d.fresh_lap_time = {l.t, *v};
          }
        }
      }
      if (auto n = number(find(delta, "NumberOfLaps"))) {
        const auto laps = static_cast<std::int32_t>(*n);
        for (std::int32_t lap = d.laps + 1; lap <= laps; ++lap) {
          Pending p;
          p.lap = lap;
          p.t = l.t;
          if (const json* sectors = find(cur, "Sectors")) {
            for (int s = 0; s < 3; ++s) {
              if (const json* sec = find(*sectors, std::to_string(s))) p.sectors[s] = lap_seconds(find(*sec, "Value"));
            }
          }
          if (auto pos = number(find(cur, "Position"))) p.position = static_cast<std::int32_t>(*pos);
          const bool last = lap == laps;
          if (last && d.fresh_lap_time && l.t - d.fresh_lap_time->first <= options.lap_hold_ns) {
            p.lap_time = d.fresh_lap_time->second;
            p.waiting_time = false;
            d.fresh_lap_time.reset();
          } else if (!last) {
            p.waiting_time = false;  // skipped laps (a gap in the feed) have no time of their own
          }
          // The lap's pit and track facts close now; the pending lap carries them.
          finish_or_queue(num, d, std::move(p));
          close_lap(d, l.t);
        }
        d.laps = std::max(d.laps, laps);
      }
      if (auto in = boolean(find(delta, "InPit"))) {
        if (*in && !d.in_pit) {
          d.pit_in = l.t;
          emit(l.t, timing(num, PitIn{}));
        }
        d.in_pit = *in;
      }
      if (auto po = boolean(find(delta, "PitOut"))) {
        if (*po && !d.pit_out_flag) {
          d.pit_out = l.t;
          emit(l.t, timing(num, PitOut{}));
        }
        d.pit_out_flag = *po;
      }
    }
  }

  /// Emits a completed lap, or queues it until its lap time arrives.
  void finish_or_queue(const std::string& num, Driver& d, Pending p) {
    if (d.lap_start >= 0) p.lap_start = d.lap_start;
    p.pit_in = d.pit_in;
    p.pit_out = d.pit_out;
    p.track_codes = d.track_codes.empty() ? std::to_string(track_code) : d.track_codes;
    if (!p.waiting_time && d.pending.empty()) {
      finish_lap(num, p);
      return;
    }
    d.pending.push_back(std::move(p));
  }

  void process(const Line& l) {
    if (l.topic == "CarData.z" || l.topic == "Position.z") {
      compressed(l);
      return;
    }
    if (!kTopics.contains(l.topic)) return;  // Heartbeat, SessionData, ExtrapolatedClock...
    if (learn_compounds && l.topic == "TimingAppData") learn_compounds_from(l.data);
    merge_delta(state[l.topic], l.data);
    const json& d = l.data;
    if (l.topic == "TimingData") {
      timing_data(l);
    } else if (l.topic == "TrackStatus") {
      if (auto code = number(find(d, "Status"))) {
        track_code = static_cast<int>(*code);
        const std::string c = std::to_string(track_code);
        for (auto& [num, drv] : drivers) {
          if (drv.track_codes.find(c) == std::string::npos) drv.track_codes += c;
        }
        emit(l.t, timing("", TrackStatusChange{track_status_from_code(track_code), text(find(d, "Message"))}));
      }
    } else if (l.topic == "RaceControlMessages") {
      if (const json* msgs = find(d, "Messages")) {
        for_each_entry(*msgs, [&](const std::string&, const json& m) {
          if (!m.is_object() || !find(m, "Message")) return;
          RaceControlMessage r;
          r.category = text(find(m, "Category"));
          r.message = text(find(m, "Message"));
          if (auto lap = number(find(m, "Lap"))) r.lap = static_cast<std::int32_t>(*lap);
          emit(l.t, timing(text(find(m, "RacingNumber")), std::move(r)));
        });
      }
    } else if (l.topic == "LapCount") {
      if (auto total = number(find(d, "TotalLaps"))) {
        total_laps = static_cast<std::int32_t>(*total);
        emit(l.t, timing("", SessionInfo{total_laps, session_status, session_name()}));
      }
    } else if (l.topic == "SessionStatus") {
      if (const json* s = find(d, "Status"); s && s->is_string()) {
        session_status = s->get<std::string>();
        emit(l.t, timing("", SessionInfo{total_laps, session_status, session_name()}));
      }
    } else if (l.topic == "WeatherData") {
      Weather w;
      auto f = [&](const char* k) -> std::optional<float> {
        if (auto v = number(find(d, k))) return static_cast<float>(*v);
        return std::nullopt;
      };
      w.air_temp_c = f("AirTemp");
      w.track_temp_c = f("TrackTemp");
      w.humidity_pct = f("Humidity");
      w.pressure_hpa = f("Pressure");
      if (auto r = number(find(d, "Rainfall"))) w.rainfall = *r != 0;
      w.wind_speed_ms = f("WindSpeed");
      w.wind_direction_deg = f("WindDirection");
      if (w.air_temp_c || w.track_temp_c || w.humidity_pct || w.pressure_hpa || w.rainfall || w.wind_speed_ms) {
        emit(l.t, timing("", std::move(w)));
      }
    }
  }

  /// Before 2019 Pirelli named its dry compounds (HYPERSOFT ... SUPERHARD) and
  /// nominated three per event; they map to soft, medium and hard by softness
  /// among the names the session uses (scanned up front from TimingAppData).
  std::map<std::string, Compound, std::less<>> legacy_compounds;
  Compound compound_of(const std::string& name) const {
    if (auto it = legacy_compounds.find(name); it != legacy_compounds.end()) return it->second;
    return compound_from_string(name);
  }
  static const std::vector<std::string>& soft_to_hard() {
    static const std::vector<std::string> kScale = {"HYPERSOFT", "ULTRASOFT", "SUPERSOFT", "SOFT",
                                                    "MEDIUM",    "HARD",      "SUPERHARD"};
    return kScale;
  }
  /// Names of the softness scale seen so far (index into soft_to_hard()).
  std::set<std::size_t> seen_compounds;
  void note_compound(std::string_view name) {
    const auto& k = soft_to_hard();
    auto it = std::find(k.begin(), k.end(), name);
    if (it != k.end()) seen_compounds.insert(static_cast<std::size_t>(it - k.begin()));
  }
  void assign_legacy_compounds() {
    legacy_compounds.clear();
    const bool legacy =
        std::any_of(seen_compounds.begin(), seen_compounds.end(), [](std::size_t i) { return i < 3 || i == 6; });
    if (!legacy) return;
    static const std::array<Compound, 3> kRel = {Compound::Soft, Compound::Medium, Compound::Hard};
    std::size_t rank = 0;
    for (std::size_t i : seen_compounds) legacy_compounds[soft_to_hard()[i]] = kRel[std::min<std::size_t>(rank++, 2)];
  }
  void scan_compounds(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::string key = "\"Compound\":\"";
    for (std::string raw; std::getline(in, raw);) {
      for (auto p = raw.find(key); p != std::string::npos; p = raw.find(key, p + 1)) {
        const auto e = raw.find('"', p + key.size());
        if (e == std::string::npos) break;
        note_compound(std::string_view(raw).substr(p + key.size(), e - p - key.size()));
      }
    }
    assign_legacy_compounds();
  }
  /// Live input cannot be scanned ahead: the names seen so far rank the compounds (a delta naming a
  /// new one re-ranks them), which matches the scan once the session's softest compound was seen.
  bool learn_compounds = false;
  void learn_compounds_from(const json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (k == "Compound" && v.is_string()) {
          const std::size_t before = seen_compounds.size();
          note_compound(v.get_ref<const std::string&>());
          if (seen_compounds.size() != before) assign_legacy_compounds();
        } else {
          learn_compounds_from(v);
        }
      }
    } else if (j.is_array()) {
      for (const auto& v : j) learn_compounds_from(v);
    }
  }

  std::string session_name() const {
    auto it = state.find("SessionInfo");
    if (it == state.end()) return {};
    std::string name = text(find(it->second, "Name"));
    if (const json* m = find(it->second, "Meeting")) name = text(find(*m, "Name")) + (name.empty() ? "" : " " + name);
    return name;
  }

  void compressed(const Line& l) {
    if (!l.data.is_string()) return;  // "whatever" payloads are rejected upstream
    auto raw = base64_decode(l.data.get<std::string>());
    std::optional<std::string> inflated;
    if (raw) inflated = inflate_raw(*raw);
    json j = inflated ? json::parse(*inflated, nullptr, false) : json();
    if (!inflated || j.is_discarded()) {
      ++rejected[static_cast<std::size_t>(Reason::MalformedJson)];
      if (on_reject) {
        on_reject(RejectedLine{l.where, Reason::MalformedJson,
                               l.topic + ": cannot decode " + (raw ? "the deflate stream" : "the base64 text"),
                               l.data.get<std::string>()});
      }
      return;
    }
    if (l.topic == "Position.z") {
      for_each_entry(j.value("Position", json::array()), [&](const std::string&, const json& p) {
        const json* entries = find(p, "Entries");
        if (!entries) return;
        for (const auto& [num, e] : entries->items()) {
          auto& pos = positions[num];
          for (int i = 0; i < 3; ++i) {
            if (auto v = number(find(e, i == 0 ? "X" : i == 1 ? "Y" : "Z")))
              pos[static_cast<std::size_t>(i)] = static_cast<float>(*v / 10.0);  // decimetres
          }
        }
      });
      return;
    }
    for_each_entry(j.value("Entries", json::array()), [&](const std::string&, const json& e) {
      auto utc = parse_utc_datetime(text(find(e, "Utc")));
      const json* cars = find(e, "Cars");
      if (!utc || !cars || !cars->is_object()) return;
      for (const auto& [num, c] : cars->items()) {
        const json* ch = find(c, "Channels");
        if (!ch) continue;
        TelemetrySample s;
        s.car = car_of(num);
        s.driver = code_of(num);
        s.source = SampleSource::LiveTiming;
        s.rpm = static_cast<float>(number(find(*ch, "0")).value_or(0));
        s.speed_kph = static_cast<float>(number(find(*ch, "2")).value_or(0));
        s.gear = static_cast<std::int8_t>(number(find(*ch, "3")).value_or(0));
        s.throttle = static_cast<float>(number(find(*ch, "4")).value_or(0));
        s.brake = number(find(*ch, "5")).value_or(0) > 0;
        s.drs = static_cast<std::uint8_t>(number(find(*ch, "45")).value_or(0));
        if (auto it = positions.find(num); it != positions.end()) {
          s.x = it->second[0];
          s.y = it->second[1];
          s.z = it->second[2];
        }
        emit(*utc - start_utc, std::move(s));
      }
    });
  }

  /// A record the reorder buffer can release now (everything once the input ended), or nullopt.
  std::optional<Input> pop_ready() {
    const TimeNs window = options.lap_hold_ns + kNsPerSecond;
    if (!out.empty() && (ended || out.top().t <= watermark - window)) {
      Out o = out.top();
      out.pop();
      released = std::max(released, o.t);
      return std::move(*o.input);
    }
    return std::nullopt;
  }

  void push_line(const Line& l) {
    watermark = std::max(watermark, l.t);
    process(l);
    settle(l.t, false);
  }

  void finish() {
    if (ended) return;
    settle(0, true);
    ended = true;
  }

  /// Pulls lines until a record can be released (or the input ends).
  std::optional<Input> next() {
    while (true) {
      if (auto r = pop_ready()) return r;
      if (ended) return std::nullopt;
      // The earliest head across files.
      std::size_t best = heads.size();
      for (std::size_t i = 0; i < heads.size(); ++i) {
        if (heads[i] && (best == heads.size() || heads[i]->t < heads[best]->t)) best = i;
      }
      if (best == heads.size()) {
        finish();
        continue;
      }
      Line l = std::move(*heads[best]);
      heads[best] = read(*files[best]);
      push_line(l);
    }
  }
};

LiveTimingSource::LiveTimingSource(const fs::path& path, LiveTimingOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.options = std::move(options);
  if (!fs::exists(path)) throw ConfigError("live-timing input " + path.string() + " does not exist");
  fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  auto open = [&](const fs::path& p, std::string topic) {
    auto f = std::make_unique<InputFile>();
    f->path = p;
    f->topic = std::move(topic);
    f->in.open(p, std::ios::binary);
    if (!f->in) throw ConfigError("cannot open " + p.string());
    m.files.push_back(std::move(f));
  };
  if (fs::is_directory(path)) {
    for (const auto& e : fs::directory_iterator(path)) {
      if (e.path().extension() == ".jsonStream" && kTopics.contains(e.path().stem().string())) {
        open(e.path(), e.path().stem().string());
      }
    }
    if (m.files.empty()) throw ConfigError(path.string() + " holds no live-timing .jsonStream file");
    std::sort(m.files.begin(), m.files.end(), [](const auto& a, const auto& b) { return a->path < b->path; });
  } else if (path.extension() == ".jsonStream") {
    open(path, path.stem().string());
  } else {
    open(path, "");
    m.absolute_times = true;
  }
  m.session = !m.options.session_id.empty() ? m.options.session_id
              : m.absolute_times            ? path.stem().string()
                                            : dir.filename().string();

  // Session time 0 in UTC. A recording of `boxcall ingest livetiming --record` says it in StartUtc.txt.
  if (!m.options.start_utc_ns && fs::is_directory(path)) {
    std::ifstream side(dir / "StartUtc.txt");
    std::string text;
    if (side >> text) {
      auto t = parse_utc_datetime(text);
      if (!t) throw ConfigError((dir / "StartUtc.txt").string() + ": not a UTC time: '" + text + "'");
      m.options.start_utc_ns = *t;
    }
  }
  if (m.options.start_utc_ns) {
    m.start_utc = *m.options.start_utc_ns;
  } else if (!m.absolute_times) {
    auto date = date_of(dir.filename().string());
    if (m.options.start_time_of_day_ns) {
      if (!date) throw ConfigError("--start-time needs a directory named YYYY-MM-DD_...; give --start-utc instead");
      m.start_utc = *date + *m.options.start_time_of_day_ns;
    } else {
      // The race control messages carry their UTC (to the second): the largest
      // Utc - stream time bounds session time 0 from below, within ~1 s.
      std::optional<TimeNs> best;
      std::ifstream rcm(dir / "RaceControlMessages.jsonStream", std::ios::binary);
      for (std::string raw; std::getline(rcm, raw);) {
        if (raw.starts_with("\xEF\xBB\xBF")) raw.erase(0, 3);
        auto t = stream_time(std::string_view(raw).substr(0, std::min<std::size_t>(12, raw.size())));
        if (!t) continue;
        json j = json::parse(raw.begin() + 12, raw.end(), nullptr, false);
        if (const json* msgs = j.is_discarded() ? nullptr : find(j, "Messages")) {
          for_each_entry(*msgs, [&](const std::string&, const json& msg) {
            if (auto u = parse_utc_datetime(text(find(msg, "Utc"))); u && (!best || *u - *t > *best)) best = *u - *t;
          });
        }
      }
      if (best)
        m.start_utc = *best;
      else if (date)
        m.start_utc = *date;
      else
        throw ConfigError("cannot tell when " + path.string() + " started: give --start-utc");
    }
  }
  for (auto& f : m.files) {
    if (f->topic == "TimingAppData") m.scan_compounds(f->path);
  }
  for (auto& f : m.files) m.heads.push_back(m.read(*f));
}

LiveTimingSource::~LiveTimingSource() = default;
const std::string& LiveTimingSource::session_id() const { return impl_->session; }
std::optional<Input> LiveTimingSource::next() { return impl_->next(); }
void LiveTimingSource::on_reject(std::function<void(const RejectedLine&)> handler) {
  impl_->on_reject = std::move(handler);
}
const std::array<std::uint64_t, static_cast<std::size_t>(Reason::kCount)>& LiveTimingSource::rejected() const {
  return impl_->rejected;
}
std::uint64_t LiveTimingSource::rejected_total() const {
  std::uint64_t n = 0;
  for (auto v : impl_->rejected) n += v;
  return n;
}
std::uint64_t LiveTimingSource::lines_read() const { return impl_->lines; }
TimeNs LiveTimingSource::start_utc_ns() const { return impl_->start_utc; }

// ------------------------------------------------------------------ LiveTimingParser

struct LiveTimingParser::State {
  LiveTimingSource::Impl impl;
};

LiveTimingParser::LiveTimingParser(TimeNs start_utc_ns, LiveTimingOptions options) : state_(std::make_unique<State>()) {
  auto& m = state_->impl;
  m.options = std::move(options);
  m.start_utc = start_utc_ns;
  m.learn_compounds = true;
}
LiveTimingParser::~LiveTimingParser() = default;

void LiveTimingParser::on_reject(std::function<void(const RejectedLine&)> handler) {
  state_->impl.on_reject = std::move(handler);
}

void LiveTimingParser::push(std::string_view topic, TimeNs session_time_ns, std::string_view json_text,
                            std::string where) {
  auto& m = state_->impl;
  ++m.lines;
  json data = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (data.is_discarded()) {
    ++m.rejected[static_cast<std::size_t>(Reason::MalformedJson)];
    if (m.on_reject)
      m.on_reject(RejectedLine{std::move(where), Reason::MalformedJson, "the message data is not JSON",
                               std::string(json_text)});
    return;
  }
  m.push_line(Line{session_time_ns, std::string(topic), std::move(data), std::move(where)});
}

std::optional<Input> LiveTimingParser::pop() { return state_->impl.pop_ready(); }
void LiveTimingParser::finish() { state_->impl.finish(); }
TimeNs LiveTimingParser::start_utc_ns() const { return state_->impl.start_utc; }
std::uint64_t LiveTimingParser::rejected_total() const {
  std::uint64_t n = 0;
  for (auto v : state_->impl.rejected) n += v;
  return n;
}

bool is_live_timing(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.path().extension() == ".jsonStream") return true;
    }
    return false;
  }
  if (path.extension() == ".jsonStream") return true;
  std::ifstream in(path, std::ios::binary);
  std::string first;
  std::getline(in, first);
  return first.starts_with("['") || first.starts_with("[\"");
}

}  // namespace boxcall::sources
