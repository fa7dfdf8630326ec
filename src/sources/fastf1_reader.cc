#include "sources/fastf1_reader.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "base/csv.h"
#include "base/fastf1_tables.h"
#include "base/result.h"
#include "base/time_text.h"

namespace boxcall::sources {
namespace fs = std::filesystem;

namespace {

// ------------------------------------------------------------------ text

using csv::field;
using csv::to_bool;
using csv::to_double;

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
      TimeNs ns =
          (static_cast<TimeNs>(two(p)) * 3600 + static_cast<TimeNs>(two(p + 3)) * 60 + two(p + 6)) * kNsPerSecond;
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

// ------------------------------------------------------------------ telemetry

struct CarStream {
  std::uint16_t car = 0;
  DriverCode driver;
  fs::path path;
  std::unique_ptr<csv::LineReader> reader;
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
    csv::split(s.line, s.fields);
    auto t = parse_session_time(field(s.fields, s.c_session_time));
    auto speed = to_double(field(s.fields, s.c_speed));
    auto rpm = to_double(field(s.fields, s.c_rpm));
    auto gear = to_double(field(s.fields, s.c_gear));
    auto throttle = to_double(field(s.fields, s.c_throttle));
    auto brake = to_bool(field(s.fields, s.c_brake));
    auto drs = to_double(field(s.fields, s.c_drs));
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
    s.reader = std::make_unique<csv::LineReader>(s.path);
    const csv::Header h = csv::Header::read(*s.reader, s.path);
    s.c_session_time = h.require("SessionTime");
    s.c_date = h.col("Date");
    s.c_rpm = h.require("RPM");
    s.c_speed = h.require("Speed");
    s.c_gear = h.require("nGear");
    s.c_throttle = h.require("Throttle");
    s.c_brake = h.require("Brake");
    s.c_drs = h.require("DRS");
  }
}

void FastF1Reader::Impl::load_laps(const fs::path& path) {
  FastF1Laps laps = read_fastf1_laps(path);
  skipped += laps.skipped;
  std::optional<TimeNs> lap1_start;
  std::optional<TimeNs> last_time;
  for (FastF1Lap& row : laps.rows) {
    const std::uint16_t car = row.car;
    const DriverCode driver = row.driver;
    for (auto& s : cars) {
      if (s.car == car) s.driver = driver;
    }
    LapCompleted& lc = row.lap;
    scheduled_laps = std::max(scheduled_laps, lc.lap);
    if (!laps_offset_ns && lc.lap_start_session_ns && row.start_date) {
      laps_offset_ns = *row.start_date - *lc.lap_start_session_ns;
    }
    if (lc.lap == 1 && lc.lap_start_session_ns) {
      lap1_start = lap1_start ? std::min(*lap1_start, *lc.lap_start_session_ns) : *lc.lap_start_session_ns;
    }
    if (lc.pit_in_session_ns) add(*lc.pit_in_session_ns, Rank::Pit, car, driver, PitIn{});
    if (lc.pit_out_session_ns) add(*lc.pit_out_session_ns, Rank::Pit, car, driver, PitOut{});
    // A lap without its completion time cannot be placed in time: its pit
    // events still count, the lap itself is not emitted.
    if (!row.time) continue;
    last_time = last_time ? std::max(*last_time, *row.time) : *row.time;
    add(*row.time, Rank::Lap, car, driver, std::move(lc));
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
  FastF1TrackStatuses table = read_fastf1_track_status(path);
  skipped += table.skipped;
  for (FastF1TrackStatus& row : table.rows) {
    TrackStatusChange change;
    change.status = track_status_from_code(row.code);
    change.message = std::move(row.message);
    add(row.time, Rank::Status, 0, DriverCode{}, std::move(change));
  }
}

void FastF1Reader::Impl::load_weather(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("weather file not found: " + path.string());
  const csv::Table t = csv::Table::read(path);
  const int c_time = t.require("Time");
  const int c_air = t.col("AirTemp"), c_track = t.col("TrackTemp"), c_hum = t.col("Humidity"),
            c_press = t.col("Pressure"), c_rain = t.col("Rainfall"), c_ws = t.col("WindSpeed"),
            c_wd = t.col("WindDirection");
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto as_float = [&](int c) -> std::optional<float> {
      auto v = to_double(t.at(i, c));
      return v ? std::optional<float>(static_cast<float>(*v)) : std::nullopt;
    };
    auto time = parse_timedelta(t.at(i, c_time));
    if (!time) {
      ++skipped;
      continue;
    }
    Weather w;
    w.air_temp_c = as_float(c_air);
    w.track_temp_c = as_float(c_track);
    w.humidity_pct = as_float(c_hum);
    w.pressure_hpa = as_float(c_press);
    w.rainfall = to_bool(t.at(i, c_rain));
    w.wind_speed_ms = as_float(c_ws);
    w.wind_direction_deg = as_float(c_wd);
    add(*time, Rank::Weather, 0, DriverCode{}, std::move(w));
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
