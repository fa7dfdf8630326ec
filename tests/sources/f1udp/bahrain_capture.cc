#include "bahrain_capture.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>

#include "packet_builder.h"
#include "sources/f1udp/capture.h"
#include "sources/fastf1_reader.h"

namespace boxcall::testing::f1udp {

namespace {

struct CarFacts {
  std::vector<std::pair<TimeNs, LapCompleted>> laps;  ///< by lap end (session time)
  std::vector<std::pair<TimeNs, TimeNs>> pits;        ///< pit lane in -> out
  std::optional<TimeNs> open_pit;
  std::string driver;
};

std::uint8_t visual_of(Compound c) {
  switch (c) {
    case Compound::Soft:
      return 16;
    case Compound::Medium:
      return 17;
    case Compound::Hard:
      return 18;
    case Compound::Intermediate:
      return 7;
    case Compound::Wet:
      return 8;
    default:
      return 0;
  }
}
std::uint8_t actual_of(Compound c) {  // 2023 Bahrain: C1 hard, C2 medium, C3 soft
  switch (c) {
    case Compound::Soft:
      return 18;
    case Compound::Medium:
      return 19;
    case Compound::Hard:
      return 20;
    default:
      return visual_of(c);
  }
}

std::uint32_t ms(double s) { return static_cast<std::uint32_t>(std::llround(s * 1000.0)); }

}  // namespace

BahrainCaptureInfo make_bahrain_capture(const BahrainCaptureOptions& o, const std::filesystem::path& out) {
  // Pass 1: the timing facts of every car.
  std::map<int, CarFacts> cars;
  std::vector<std::pair<TimeNs, int>> track;  // session time, F1 status code
  {
    auto paths = sources::FastF1Paths::from_export_dir(o.export_dir);
    paths.car_data_dir.clear();
    sources::FastF1Reader timing(paths);
    while (auto in = timing.next()) {
      const auto* e = std::get_if<TimingEvent>(&*in);
      if (!e) continue;
      if (const auto* l = std::get_if<LapCompleted>(&e->body)) {
        auto& c = cars[e->car];
        c.laps.emplace_back(e->session_time_ns, *l);
        if (!e->driver.empty()) c.driver = e->driver.str();
      } else if (std::holds_alternative<PitIn>(e->body)) {
        cars[e->car].open_pit = e->session_time_ns;
      } else if (std::holds_alternative<PitOut>(e->body)) {
        auto& c = cars[e->car];
        if (c.open_pit) c.pits.emplace_back(*c.open_pit, e->session_time_ns);
        c.open_pit.reset();
      } else if (const auto* ts = std::get_if<TrackStatusChange>(&e->body)) {
        track.emplace_back(e->session_time_ns, static_cast<int>(ts->status));
      }
    }
  }
  for (auto& [n, c] : cars) {  // a car that never left the pits again (retired there)
    if (c.open_pit) c.pits.emplace_back(*c.open_pit, std::numeric_limits<TimeNs>::max());
  }
  if (cars.size() > 22) throw std::runtime_error("more than 22 cars");
  std::vector<int> numbers;
  for (const auto& [n, c] : cars) numbers.push_back(n);

  // The window: the leader's start of `from_lap` (minus a pre-roll) to its end of `to_lap` (plus a little).
  TimeNs t0 = std::numeric_limits<TimeNs>::max(), t1 = std::numeric_limits<TimeNs>::max();
  for (const auto& [n, c] : cars) {
    for (const auto& [t, l] : c.laps) {
      if (l.lap == o.from_lap && l.lap_time_s) t0 = std::min(t0, t - s_to_ns(*l.lap_time_s));
      if (l.lap == o.to_lap) t1 = std::min(t1, t);
    }
  }
  if (t0 == std::numeric_limits<TimeNs>::max() || t1 == std::numeric_limits<TimeNs>::max())
    throw std::runtime_error("laps not found in the export");
  t0 -= 10 * kNsPerSecond;
  t1 += 30 * kNsPerSecond;

  BahrainCaptureInfo info;
  info.first_session_ns = t0;
  for (const auto& [n, c] : cars) {
    info.drivers[n] = c.driver;
    for (const auto& [t, l] : c.laps) {
      if (t > t0 + 2 * kNsPerSecond && t <= t1) {
        info.laps[n].push_back(l);
        info.lap_end_session_ns[n].push_back(t);
      }
    }
    for (const auto& [in, outt] : c.pits) {
      if (in > t0 && in <= t1) ++info.pit_ins;
      if (outt > t0 && outt <= t1) ++info.pit_outs;
    }
  }

  // Pass 2: car data in time order, a frame every 1/hz.
  sources::f1udp::CaptureWriter writer(out);
  sources::FastF1Reader data(sources::FastF1Paths::from_export_dir(o.export_dir));
  std::array<CarTelemetry, kCars> tel{};
  Frame f;
  f.format = o.format;
  f.uid = o.session_uid;
  const TimeNs step = s_to_ns(1.0 / o.hz);
  TimeNs next_frame = t0;
  std::uint32_t k = 0;
  auto emit_frame = [&](TimeNs T) {
    f.session_time = static_cast<float>(ns_to_s(T));
    f.frame = f.overall = ++k;
    const double rel = ns_to_s(T - t0);
    auto put = [&](const Bytes& b) {
      writer.write(rel, b);
      ++info.packets;
    };
    std::array<CarMotion, kCars> mot{};
    std::array<CarLap, kCars> lap{};
    std::array<CarStatus, kCars> status{};
    for (std::size_t i = 0; i < kCars; ++i) lap[i].result_status = 0;
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      const CarFacts& c = cars[numbers[i]];
      CarLap& l = lap[i];
      l.result_status = 2;
      l.position = static_cast<std::uint8_t>(i + 1);
      // The lap in progress: the first whose end is after T.
      const LapCompleted* cur = nullptr;
      const LapCompleted* prev = nullptr;
      TimeNs start = 0;
      for (const auto& [t, lc] : c.laps) {
        if (t > T) {
          cur = &lc;
          break;
        }
        prev = &lc;
        start = t;
      }
      for (const auto& [in, outt] : c.pits)
        if (T >= in && T < outt) l.pit_status = 1;
      if (!cur) {  // no more laps (finished, or retired later): the last lap stays the last lap time
        l.result_status = prev ? 3 : 7;
        l.lap_num = static_cast<std::uint8_t>(prev ? prev->lap + 1 : 1);
        if (prev && prev->lap_time_s) l.last_lap_ms = ms(*prev->lap_time_s);
        if (prev && prev->position) l.position = static_cast<std::uint8_t>(*prev->position);
        l.current_lap_ms = T > start ? ms(ns_to_s(T - start)) : 0;
        continue;
      }
      if (!prev) start = cur->lap_start_session_ns.value_or(T);
      l.lap_num = static_cast<std::uint8_t>(cur->lap);
      l.current_lap_ms = T > start ? ms(ns_to_s(T - start)) : 0;
      if (prev) {
        if (prev->lap_time_s) l.last_lap_ms = ms(*prev->lap_time_s);
        if (prev->position) l.position = static_cast<std::uint8_t>(*prev->position);
      }
      if (cur->sector1_s && T >= start + s_to_ns(*cur->sector1_s)) {
        l.s1_ms = ms(*cur->sector1_s);
        if (cur->sector2_s && T >= start + s_to_ns(*cur->sector1_s + *cur->sector2_s)) l.s2_ms = ms(*cur->sector2_s);
      }
      CarStatus& s = status[i];
      s.visual = visual_of(cur->compound);
      s.actual = actual_of(cur->compound);
      s.age = static_cast<std::uint8_t>(std::max(0, cur->tyre_life.value_or(1) - 1));
    }
    put(motion(f, mot));
    if (k % std::max(1, static_cast<int>(o.hz / 2)) == 1) {
      SessionFacts sf;
      sf.session_type = o.format == 2023 ? 10 : 15;
      int code = 1;
      for (const auto& [t, c] : track)
        if (t <= T) code = c;
      sf.safety_car = code == 4 ? 1 : (code == 6 || code == 7) ? 2 : 0;
      put(session(f, sf));
    }
    put(lap_data(f, lap));
    if (k == 1) put(event(f, "SSTA"));
    if (k % static_cast<std::uint32_t>(std::max(1.0, o.hz * 5)) == 1) {
      std::vector<Participant> p;
      for (int n : numbers) p.push_back({static_cast<std::uint8_t>(n), cars[n].driver});
      put(participants(f, p));
    }
    put(car_telemetry(f, tel));
    put(car_status(f, status));
    // Session History: one car per frame, its laps completed so far.
    const std::size_t hc = k % numbers.size();
    std::vector<HistoryLap> hist;
    for (const auto& [t, lc] : cars[numbers[hc]].laps) {
      if (t > T) break;
      HistoryLap h;
      if (lc.lap_time_s) h.lap_ms = ms(*lc.lap_time_s);
      if (lc.sector1_s) h.s1_ms = ms(*lc.sector1_s);
      if (lc.sector2_s) h.s2_ms = ms(*lc.sector2_s);
      if (lc.sector3_s) h.s3_ms = ms(*lc.sector3_s);
      hist.push_back(h);
      if (hist.size() == 100) break;
    }
    put(session_history(f, static_cast<std::uint8_t>(hc), hist));
  };
  std::map<int, std::size_t> index;
  for (std::size_t i = 0; i < numbers.size(); ++i) index[numbers[i]] = i;
  while (auto in = data.next()) {
    const auto* s = std::get_if<TelemetrySample>(&*in);
    if (!s) continue;
    if (s->session_time_ns > t1) break;
    while (next_frame <= t1 && next_frame < s->session_time_ns) {
      emit_frame(next_frame);
      next_frame += step;
    }
    auto it = index.find(s->car);
    if (it == index.end()) continue;
    CarTelemetry& c = tel[it->second];
    c.speed = static_cast<std::uint16_t>(std::clamp(s->speed_kph, 0.0F, 400.0F));
    c.throttle = std::clamp(s->throttle, 0.0F, 100.0F) / 100.0F;
    c.brake = s->brake ? 1.0F : 0.0F;
    c.gear = s->gear;
    c.rpm = static_cast<std::uint16_t>(std::clamp(s->rpm, 0.0F, 20000.0F));
    c.drs = s->drs >= 10 ? 1 : 0;
  }
  writer.close();
  info.seconds = ns_to_s(next_frame - step - t0);
  return info;
}

}  // namespace boxcall::testing::f1udp
