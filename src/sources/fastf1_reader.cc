#include "sources/fastf1_reader.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/time_text.h"

namespace boxcall::sources {
namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ CSV text

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits one CSV line into `out` (views into `line`). Commas inside double
// quotes do not split; the quotes are trimmed, doubled quotes are left as is
// (FastF1 exports have none in the columns read here).
void split_csv(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.find('"') == std::string_view::npos) {
    // The common case, on the per-sample path: no quotes, split on commas.
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) break;
      out.push_back(trim(line.substr(start, comma - start)));
      start = comma + 1;
    }
    out.push_back(trim(line.substr(start)));
    return;
  }
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.push_back(trim(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(line.substr(start)));
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty() || s == "nan" || s == "NaN") return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  // Most car-data values are small unsigned integers: exact, and much faster
  // than the general path.
  if (s.size() <= 9) {
    std::int64_t n = 0;
    bool digits = true;
    for (char c : s) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      n = n * 10 + (c - '0');
    }
    if (digits) return static_cast<double>(n);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// FastF1 writes integer columns with missing values as floats ("4.0").
std::optional<std::int32_t> parse_int(std::string_view s) {
  auto v = parse_double(s);
  if (!v || *v != *v || *v < -2e9 || *v > 2e9) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "True" || s == "true" || s == "1" || s == "1.0") return true;
  if (s == "False" || s == "false" || s == "0" || s == "0.0") return false;
  return std::nullopt;
}

// FastF1's usual "0 days HH:MM:SS[.ffffff]" without the general parser's
// branching (the per-sample path parses one per row); anything else goes
// through parse_timedelta.
std::optional<TimeNs> parse_session_time(std::string_view s) {
  constexpr std::string_view kPrefix = "0 days ";
  auto two = [](const char* p) { return (p[0] - '0') * 10 + (p[1] - '0'); };
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() >= kPrefix.size() + 8 && s.substr(0, kPrefix.size()) == kPrefix) {
    const char* p = s.data() + kPrefix.size();
    if (is_digit(p[0]) && is_digit(p[1]) && p[2] == ':' && is_digit(p[3]) && is_digit(p[4]) && p[5] == ':' &&
        is_digit(p[6]) && is_digit(p[7])) {
      TimeNs ns = (static_cast<TimeNs>(two(p)) * 3600 + two(p + 3) * 60 + two(p + 6)) * kNsPerSecond;
      std::string_view frac = s.substr(kPrefix.size() + 8);
      if (frac.empty()) return ns;
      if (frac.front() == '.' && frac.size() >= 2 && frac.size() <= 10) {
        TimeNs f = 0;
        std::size_t digits = 0;
        for (char c : frac.substr(1)) {
          if (!is_digit(c)) return parse_timedelta(s);
          f = f * 10 + (c - '0');
          ++digits;
        }
        for (; digits < 9; ++digits) f *= 10;
        return ns + f;
      }
    }
  }
  return parse_timedelta(s);
}

// Column indices by header name; -1 when absent.
struct Header {
  std::vector<std::string> names;
  [[nodiscard]] int index(std::string_view name) const {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

std::string_view field(const std::vector<std::string_view>& f, int index) {
  return index >= 0 && static_cast<std::size_t>(index) < f.size() ? f[static_cast<std::size_t>(index)]
                                                                  : std::string_view{};
}

// ------------------------------------------------------------------ line reader

struct GzClose {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzClose>;

// One text file read a line at a time through zlib (plain or gzip): memory is
// one line, whatever the file size.
class LineReader {
 public:
  explicit LineReader(const fs::path& path) : file_(gzopen(path.c_str(), "rb")) {
    if (!file_) throw ConfigError("cannot open " + path.string());
    gzbuffer(file_.get(), 128 * 1024);
  }
  /// The next line without its end-of-line, or false at the end of the file.
  bool next(std::string& line) {
    line.clear();
    char buf[4096];
    while (gzgets(file_.get(), buf, sizeof buf) != nullptr) {
      std::size_t n = std::strlen(buf);
      line.append(buf, n);
      if (n > 0 && buf[n - 1] == '\n') return true;
    }
    return !line.empty();
  }

 private:
  GzFile file_;
};

Header read_header(LineReader& reader, const fs::path& path) {
  std::string line;
  if (!reader.next(line)) throw ConfigError("empty file: " + path.string());
  std::vector<std::string_view> f;
  split_csv(line, f);
  Header h;
  for (auto name : f) h.names.emplace_back(name);
  return h;
}

int require_column(const Header& h, std::string_view name, const fs::path& path) {
  int i = h.index(name);
  if (i < 0) throw ConfigError("missing column '" + std::string(name) + "' in " + path.string());
  return i;
}

// ------------------------------------------------------------------ telemetry

struct CarStream {
  std::uint16_t car = 0;
  DriverCode driver;
  fs::path path;
  std::unique_ptr<LineReader> reader;
  int c_date = -1, c_session_time = -1, c_rpm = -1, c_speed = -1, c_gear = -1, c_throttle = -1, c_brake = -1,
      c_drs = -1;
  std::string line;
  std::vector<std::string_view> fields;
  TelemetrySample current;        // the buffered row (session time set; event time set when returned)
  std::optional<TimeNs> date_ns;  // Date of the first row, for the UTC offset
  bool need_date = true;
  bool has_current = false;
};

// Reads the next decodable row of `s` into `s.current`; counts malformed lines.
void advance(CarStream& s, std::uint64_t& skipped) {
  s.has_current = false;
  while (s.reader->next(s.line)) {
    if (s.line.empty() || s.line == "\r") continue;
    split_csv(s.line, s.fields);
    auto t = parse_session_time(field(s.fields, s.c_session_time));
    auto speed = parse_double(field(s.fields, s.c_speed));
    auto rpm = parse_double(field(s.fields, s.c_rpm));
    auto gear = parse_double(field(s.fields, s.c_gear));
    auto throttle = parse_double(field(s.fields, s.c_throttle));
    auto brake = parse_bool(field(s.fields, s.c_brake));
    auto drs = parse_double(field(s.fields, s.c_drs));
    if (!t || !speed || !rpm || !gear || !throttle || !brake || !drs || *gear < -128 || *gear > 127 || *drs < 0 ||
        *drs > 255) {
      ++skipped;
      continue;
    }
    TelemetrySample& x = s.current;
    x.car = s.car;
    x.driver = s.driver;
    x.session_time_ns = *t;
    x.speed_kph = static_cast<float>(*speed);
    x.rpm = static_cast<float>(*rpm);
    x.gear = static_cast<std::int8_t>(*gear);    // pre-race junk (up to 49) passes through like throttle 104
    x.throttle = static_cast<float>(*throttle);  // 104 passes through: the features exclude it
    x.brake = *brake;
    x.drs = static_cast<std::uint8_t>(*drs);
    x.source = SampleSource::Car;
    // Date only matters for the UTC offset, taken from the first row.
    if (s.need_date) {
      s.date_ns = s.c_date >= 0 ? parse_utc_datetime(field(s.fields, s.c_date)) : std::nullopt;
      s.need_date = false;
    }
    s.has_current = true;
    return;
  }
}

// Ordering of timing events at equal times: the lap-1 start before pit and
// lap events, "Finished" last. Samples come after every timing event of the
// same time (see the header).
enum class Rank : int { Status = 0, Weather = 1, Started = 2, Pit = 3, Lap = 4, Finished = 5 };

struct PendingTiming {
  TimeNs session_time = 0;
  Rank rank = Rank::Lap;
  std::uint16_t car = 0;
  std::size_t seq = 0;
  TimingEvent event;
};

}  // namespace

// ------------------------------------------------------------------ paths

FastF1Paths FastF1Paths::from_export_dir(const fs::path& dir) {
  FastF1Paths p;
  p.car_data_dir = fs::is_directory(dir / "car_data") ? dir / "car_data" : dir;
  p.laps_file = dir / "laps.csv";
  if (fs::exists(dir / "track_status.csv")) p.track_status_file = dir / "track_status.csv";
  if (fs::exists(dir / "weather_data.csv")) p.weather_file = dir / "weather_data.csv";
  return p;
}

std::string session_id_from_car_data_dir(const fs::path& car_data_dir) {
  fs::path p = car_data_dir;
  if (!p.has_filename()) p = p.parent_path();  // "dir/" -> "dir"
  if (p.filename() == "car_data" && p.has_parent_path()) p = p.parent_path();
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(p, ec);
  if (!ec && !canon.empty()) p = canon;
  std::string name = p.filename().string();
  return name.empty() ? std::string("fastf1") : name;
}

// ------------------------------------------------------------------ reader

struct FastF1Reader::Impl {
  std::string session_id;
  std::vector<CarStream> cars;
  std::vector<std::size_t> heap;  // indices into cars with a buffered row, min-heap by (time, car)
  std::vector<PendingTiming> timing;
  std::size_t timing_next = 0;
  TimeNs offset_ns = 0;
  std::int32_t scheduled_laps = 0;
  std::optional<TimeNs> laps_offset_ns;  // LapStartDate - LapStartTime: the UTC offset without car data
  std::uint64_t skipped = 0;
  std::uint64_t samples = 0;

  // std heap functions build a max-heap: "greater" puts the earliest on top.
  [[nodiscard]] bool later(std::size_t a, std::size_t b) const {
    const auto& x = cars[a].current;
    const auto& y = cars[b].current;
    if (x.session_time_ns != y.session_time_ns) return x.session_time_ns > y.session_time_ns;
    return x.car > y.car;
  }

  void open_cars(const fs::path& dir);
  void load_laps(const fs::path& path);
  void load_track_status(const fs::path& path);
  void load_weather(const fs::path& path);
  void add(TimeNs session_time, Rank rank, std::uint16_t car, DriverCode driver, TimingBody body) {
    PendingTiming p;
    p.session_time = session_time;
    p.rank = rank;
    p.car = car;
    p.seq = timing.size();
    p.event.car = car;
    p.event.driver = driver;
    p.event.session_time_ns = session_time;
    p.event.body = std::move(body);
    timing.push_back(std::move(p));
  }
};

void FastF1Reader::Impl::open_cars(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw ConfigError("car data directory not found: " + dir.string());
  std::vector<std::pair<std::uint16_t, fs::path>> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    auto pos = name.find("_telemetry.csv");
    if (pos == std::string::npos || pos == 0) continue;
    std::string_view rest = std::string_view(name).substr(pos + std::strlen("_telemetry.csv"));
    if (!rest.empty() && rest != ".gz") continue;
    unsigned number = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + pos, number);
    if (ec != std::errc{} || p != name.data() + pos || number > 65535) continue;
    files.emplace_back(static_cast<std::uint16_t>(number), entry.path());
  }
  if (files.empty()) throw ConfigError("no <number>_telemetry.csv[.gz] files in " + dir.string());
  std::sort(files.begin(), files.end());
  cars.resize(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    CarStream& s = cars[i];
    s.car = files[i].first;
    s.path = files[i].second;
    s.reader = std::make_unique<LineReader>(s.path);
    Header h = read_header(*s.reader, s.path);
    s.c_session_time = require_column(h, "SessionTime", s.path);
    s.c_date = h.index("Date");
    s.c_rpm = require_column(h, "RPM", s.path);
    s.c_speed = require_column(h, "Speed", s.path);
    s.c_gear = require_column(h, "nGear", s.path);
    s.c_throttle = require_column(h, "Throttle", s.path);
    s.c_brake = require_column(h, "Brake", s.path);
    s.c_drs = require_column(h, "DRS", s.path);
  }
}

void FastF1Reader::Impl::load_laps(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("laps file not found: " + path.string());
  LineReader reader(path);
  Header h = read_header(reader, path);
  const int c_time = require_column(h, "Time", path);
  const int c_driver = require_column(h, "Driver", path);
  const int c_number = require_column(h, "DriverNumber", path);
  const int c_lap = require_column(h, "LapNumber", path);
  const int c_lap_time = h.index("LapTime"), c_stint = h.index("Stint"), c_pit_out = h.index("PitOutTime"),
            c_pit_in = h.index("PitInTime"), c_s1 = h.index("Sector1Time"), c_s2 = h.index("Sector2Time"),
            c_s3 = h.index("Sector3Time"), c_compound = h.index("Compound"), c_tyre = h.index("TyreLife"),
            c_fresh = h.index("FreshTyre"), c_start = h.index("LapStartTime"), c_start_date = h.index("LapStartDate"),
            c_status = h.index("TrackStatus"), c_position = h.index("Position"), c_deleted = h.index("Deleted");

  std::optional<TimeNs> lap1_start;
  std::optional<TimeNs> last_time;
  std::string line;
  std::vector<std::string_view> f;
  while (reader.next(line)) {
    if (line.empty() || line == "\r") continue;
    split_csv(line, f);
    auto number = parse_int(field(f, c_number));
    auto lap = parse_int(field(f, c_lap));
    std::string_view code = field(f, c_driver);
    if (!number || *number < 0 || *number > 65535 || !lap || *lap < 1 || code.empty()) {
      ++skipped;
      continue;
    }
    const auto car = static_cast<std::uint16_t>(*number);
    const DriverCode driver(code);
    for (auto& s : cars) {
      if (s.car == car) s.driver = driver;
    }
    scheduled_laps = std::max(scheduled_laps, *lap);

    LapCompleted lc;
    lc.lap = *lap;
    auto seconds = [&](int c) -> std::optional<double> {
      auto ns = parse_timedelta(field(f, c));
      return ns ? std::optional<double>(ns_to_s(*ns)) : std::nullopt;
    };
    lc.lap_time_s = seconds(c_lap_time);
    lc.sector1_s = seconds(c_s1);
    lc.sector2_s = seconds(c_s2);
    lc.sector3_s = seconds(c_s3);
    lc.position = parse_int(field(f, c_position));
    lc.compound = compound_from_string(field(f, c_compound));
    lc.tyre_life = parse_int(field(f, c_tyre));
    lc.stint = parse_int(field(f, c_stint));
    lc.fresh_tyre = parse_bool(field(f, c_fresh));
    lc.lap_start_session_ns = parse_timedelta(field(f, c_start));
    if (!laps_offset_ns && lc.lap_start_session_ns && c_start_date >= 0) {
      if (auto date = parse_utc_datetime(field(f, c_start_date))) laps_offset_ns = *date - *lc.lap_start_session_ns;
    }
    lc.pit_in_session_ns = parse_timedelta(field(f, c_pit_in));
    lc.pit_out_session_ns = parse_timedelta(field(f, c_pit_out));
    lc.track_status = std::string(field(f, c_status));
    lc.deleted = parse_bool(field(f, c_deleted));

    if (*lap == 1 && lc.lap_start_session_ns) {
      lap1_start = lap1_start ? std::min(*lap1_start, *lc.lap_start_session_ns) : *lc.lap_start_session_ns;
    }
    if (lc.pit_in_session_ns) add(*lc.pit_in_session_ns, Rank::Pit, car, driver, PitIn{});
    if (lc.pit_out_session_ns) add(*lc.pit_out_session_ns, Rank::Pit, car, driver, PitOut{});
    // A lap without its completion time cannot be placed in time: its pit
    // events still count, the lap itself is not emitted.
    auto t = parse_timedelta(field(f, c_time));
    if (!t) continue;
    last_time = last_time ? std::max(*last_time, *t) : *t;
    add(*t, Rank::Lap, car, driver, std::move(lc));
  }
  if (lap1_start) {
    SessionInfo info;
    info.status = "Started";
    info.scheduled_laps = scheduled_laps;
    add(*lap1_start, Rank::Started, 0, DriverCode{}, std::move(info));
  }
  if (last_time) {
    SessionInfo info;
    info.status = "Finished";
    info.scheduled_laps = scheduled_laps;
    add(*last_time, Rank::Finished, 0, DriverCode{}, std::move(info));
  }
}

void FastF1Reader::Impl::load_track_status(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("track status file not found: " + path.string());
  LineReader reader(path);
  Header h = read_header(reader, path);
  const int c_time = require_column(h, "Time", path);
  const int c_status = require_column(h, "Status", path);
  const int c_message = h.index("Message");
  std::string line;
  std::vector<std::string_view> f;
  while (reader.next(line)) {
    if (line.empty() || line == "\r") continue;
    split_csv(line, f);
    auto t = parse_timedelta(field(f, c_time));
    auto status = parse_int(field(f, c_status));
    if (!t || !status) {
      ++skipped;
      continue;
    }
    TrackStatusChange change;
    switch (*status) {
      case 1:
        change.status = TrackStatus::Green;
        break;
      case 2:
        change.status = TrackStatus::Yellow;
        break;
      case 4:
        change.status = TrackStatus::SafetyCar;
        break;
      case 5:
        change.status = TrackStatus::Red;
        break;
      case 6:
        change.status = TrackStatus::Vsc;
        break;
      case 7:
        change.status = TrackStatus::VscEnding;
        break;
      default:
        change.status = TrackStatus::Unknown;
        break;
    }
    change.message = std::string(field(f, c_message));
    add(*t, Rank::Status, 0, DriverCode{}, std::move(change));
  }
}

void FastF1Reader::Impl::load_weather(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("weather file not found: " + path.string());
  LineReader reader(path);
  Header h = read_header(reader, path);
  const int c_time = require_column(h, "Time", path);
  const int c_air = h.index("AirTemp"), c_track = h.index("TrackTemp"), c_hum = h.index("Humidity"),
            c_press = h.index("Pressure"), c_rain = h.index("Rainfall"), c_ws = h.index("WindSpeed"),
            c_wd = h.index("WindDirection");
  std::string line;
  std::vector<std::string_view> f;
  auto as_float = [&](int c) -> std::optional<float> {
    auto v = parse_double(field(f, c));
    return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
  };
  while (reader.next(line)) {
    if (line.empty() || line == "\r") continue;
    split_csv(line, f);
    auto t = parse_timedelta(field(f, c_time));
    if (!t) {
      ++skipped;
      continue;
    }
    Weather w;
    w.air_temp_c = as_float(c_air);
    w.track_temp_c = as_float(c_track);
    w.humidity_pct = as_float(c_hum);
    w.pressure_hpa = as_float(c_press);
    w.rainfall = parse_bool(field(f, c_rain));
    w.wind_speed_ms = as_float(c_ws);
    w.wind_direction_deg = as_float(c_wd);
    add(*t, Rank::Weather, 0, DriverCode{}, std::move(w));
  }
}

FastF1Reader::FastF1Reader(FastF1Paths paths, std::string session_id) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  // No car data directory: timing events only (a laps table alone, e.g. `boxcall backtest`).
  const bool timing_only = paths.car_data_dir.empty();
  m.session_id = !session_id.empty() ? std::move(session_id)
                 : timing_only       ? session_id_from_car_data_dir(paths.laps_file.parent_path())
                                     : session_id_from_car_data_dir(paths.car_data_dir);
  if (!timing_only) m.open_cars(paths.car_data_dir);
  m.load_laps(paths.laps_file);
  if (paths.track_status_file) m.load_track_status(*paths.track_status_file);
  if (paths.weather_file) m.load_weather(*paths.weather_file);
  std::sort(m.timing.begin(), m.timing.end(), [](const PendingTiming& a, const PendingTiming& b) {
    if (a.session_time != b.session_time) return a.session_time < b.session_time;
    if (a.rank != b.rank) return a.rank < b.rank;
    if (a.car != b.car) return a.car < b.car;
    return a.seq < b.seq;
  });

  // Prime one row per car; the UTC offset is the median of the cars' first
  // rows' Date - SessionTime (a single odd file cannot shift the session).
  std::vector<TimeNs> offsets;
  for (std::size_t i = 0; i < m.cars.size(); ++i) {
    advance(m.cars[i], m.skipped);
    if (m.cars[i].has_current) {
      if (m.cars[i].date_ns) offsets.push_back(*m.cars[i].date_ns - m.cars[i].current.session_time_ns);
      m.heap.push_back(i);
    }
  }
  if (timing_only) {
    // Without car data the laps table gives the offset; failing that, 2000-01-01 keeps event times valid.
    m.offset_ns = m.laps_offset_ns.value_or(946'684'800LL * kNsPerSecond);
  }
  if (!offsets.empty()) {
    std::nth_element(offsets.begin(), offsets.begin() + static_cast<std::ptrdiff_t>(offsets.size() / 2), offsets.end());
    m.offset_ns = offsets[offsets.size() / 2];
  }
  std::make_heap(m.heap.begin(), m.heap.end(), [&m](std::size_t a, std::size_t b) { return m.later(a, b); });
  for (auto& p : m.timing) p.event.event_time_ns = m.offset_ns + p.session_time;
}

FastF1Reader::~FastF1Reader() = default;

const std::string& FastF1Reader::session_id() const { return impl_->session_id; }

std::optional<Input> FastF1Reader::next() {
  Impl& m = *impl_;
  const bool have_timing = m.timing_next < m.timing.size();
  if (!have_timing && m.heap.empty()) return std::nullopt;
  const bool take_timing = have_timing && (m.heap.empty() || m.timing[m.timing_next].session_time <=
                                                                 m.cars[m.heap.front()].current.session_time_ns);
  if (take_timing) return Input{std::move(m.timing[m.timing_next++].event)};

  auto later = [&m](std::size_t a, std::size_t b) { return m.later(a, b); };
  std::pop_heap(m.heap.begin(), m.heap.end(), later);
  const std::size_t i = m.heap.back();
  CarStream& s = m.cars[i];
  TelemetrySample out = s.current;
  out.event_time_ns = m.offset_ns + out.session_time_ns;
  ++m.samples;
  advance(s, m.skipped);
  if (s.has_current) {
    std::push_heap(m.heap.begin(), m.heap.end(), later);
  } else {
    m.heap.pop_back();
  }
  return Input{out};
}

std::uint64_t FastF1Reader::skipped_lines() const { return impl_->skipped; }
std::uint64_t FastF1Reader::samples_read() const { return impl_->samples; }
std::size_t FastF1Reader::car_count() const { return impl_->cars.size(); }
TimeNs FastF1Reader::utc_offset_ns() const { return impl_->offset_ns; }
std::int32_t FastF1Reader::scheduled_laps() const { return impl_->scheduled_laps; }

}  // namespace boxcall::sources
