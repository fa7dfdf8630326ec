#include "sources/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/result.h"

namespace boxcall::sources {
namespace {

/// A short race that still has everything: standing start, DRS, a safety car,
/// pit stops (some under the SC), chequered flag.
SynthConfig small_config(std::uint64_t seed = 7) {
  SynthConfig c;
  c.session_id = "synth-test";
  c.seed = seed;
  c.cars = 10;
  c.laps = 12;
  c.hz = 10.0;
  c.sc_lap = 5;
  c.sc_laps = 3;
  return c;
}

struct Row {
  std::uint64_t index;  // position in the record stream
  TimeNs t;             // session time
  float speed, throttle, rpm;
  std::int8_t gear;
  bool brake;
  std::uint8_t drs;
  double distance;
};

struct Lap {
  std::uint64_t index;
  TimeNs end;
  LapCompleted lc;
};

struct CarTrace {
  std::vector<Row> samples;
  std::vector<Lap> laps;
  std::vector<TimeNs> pit_in, pit_out;
};

struct Trace {
  std::map<std::uint16_t, CarTrace> cars;
  std::vector<TimingEvent> session;  // car 0
  std::uint64_t records = 0;
  bool event_time_non_decreasing = true;
  bool session_offset_constant = true;
};

Trace run(const SynthConfig& cfg) {
  Trace tr;
  SynthRace race(cfg);
  Input in;
  TimeNs last = std::numeric_limits<TimeNs>::min();
  const TimeNs offset = cfg.start_utc_ns - s_to_ns(cfg.prelude_s);
  while (race.next(in)) {
    const std::uint64_t i = tr.records++;
    const TimeNs et = event_time(in);
    if (et < last) tr.event_time_non_decreasing = false;
    last = et;
    if (const auto* s = std::get_if<TelemetrySample>(&in)) {
      if (s->event_time_ns - s->session_time_ns != offset) tr.session_offset_constant = false;
      tr.cars[s->car].samples.push_back(Row{i, s->session_time_ns, s->speed_kph, s->throttle, s->rpm, s->gear, s->brake,
                                            s->drs, s->distance_m.value_or(-1e9)});
      continue;
    }
    const auto& ev = std::get<TimingEvent>(in);
    if (ev.event_time_ns - ev.session_time_ns != offset) tr.session_offset_constant = false;
    if (ev.car == 0) {
      tr.session.push_back(ev);
    } else if (const auto* lc = std::get_if<LapCompleted>(&ev.body)) {
      tr.cars[ev.car].laps.push_back(Lap{i, ev.session_time_ns, *lc});
    } else if (std::holds_alternative<PitIn>(ev.body)) {
      tr.cars[ev.car].pit_in.push_back(ev.session_time_ns);
    } else if (std::holds_alternative<PitOut>(ev.body)) {
      tr.cars[ev.car].pit_out.push_back(ev.session_time_ns);
    }
  }
  return tr;
}

const Trace& small_trace() {
  static const Trace trace = run(small_config());
  return trace;
}

std::uint64_t digest(const SynthConfig& cfg) {
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
  };
  SynthRace race(cfg);
  Input in;
  while (race.next(in)) {
    if (const auto* s = std::get_if<TelemetrySample>(&in)) {
      mix(&s->car, sizeof s->car);
      mix(&s->event_time_ns, sizeof s->event_time_ns);
      mix(&s->speed_kph, sizeof s->speed_kph);
      mix(&s->rpm, sizeof s->rpm);
      mix(&s->gear, sizeof s->gear);
      mix(&s->throttle, sizeof s->throttle);
      mix(&s->brake, sizeof s->brake);
      mix(&s->drs, sizeof s->drs);
      const double d = s->distance_m.value_or(0);
      mix(&d, sizeof d);
      const float x = s->x.value_or(0);
      mix(&x, sizeof x);
      mix(s->driver.view().data(), s->driver.view().size());
    } else {
      const auto& ev = std::get<TimingEvent>(in);
      mix(&ev.car, sizeof ev.car);
      mix(&ev.event_time_ns, sizeof ev.event_time_ns);
      const std::size_t kind = ev.body.index();
      mix(&kind, sizeof kind);
      if (const auto* lc = std::get_if<LapCompleted>(&ev.body)) {
        const double lt = lc->lap_time_s.value_or(0);
        mix(&lt, sizeof lt);
        const int pos = lc->position.value_or(0);
        mix(&pos, sizeof pos);
        mix(&lc->compound, sizeof lc->compound);
        mix(lc->track_status.data(), lc->track_status.size());
      }
    }
  }
  return h;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// Invariants every configuration must satisfy.
void check_invariants(const SynthConfig& cfg, const Trace& tr) {
  SCOPED_TRACE(cfg.session_id);
  EXPECT_TRUE(tr.event_time_non_decreasing);
  EXPECT_TRUE(tr.session_offset_constant);
  ASSERT_EQ(tr.cars.size(), static_cast<std::size_t>(cfg.cars));
  const TimeNs race_start = s_to_ns(cfg.prelude_s);
  const double period_ms = 1000.0 / cfg.hz;
  const double jitter_ms = std::min(cfg.jitter_ms, 0.2 * period_ms);
  int max_laps = 0;
  for (const auto& [number, car] : tr.cars) {
    SCOPED_TRACE(number);
    ASSERT_FALSE(car.laps.empty());
    ASSERT_FALSE(car.samples.empty());
    max_laps = std::max(max_laps, car.laps.back().lc.lap);
    // Samples strictly increasing, at hz with bounded jitter.
    for (std::size_t i = 1; i < car.samples.size(); ++i) {
      const double dt_ms = ns_to_s(car.samples[i].t - car.samples[i - 1].t) * 1e3;
      ASSERT_GT(dt_ms, 0.0);
      ASSERT_NEAR(dt_ms, period_ms, 2 * jitter_ms + 1e-3);
    }
    const double mean_ms =
        ns_to_s(car.samples.back().t - car.samples.front().t) * 1e3 / static_cast<double>(car.samples.size() - 1);
    EXPECT_NEAR(mean_ms, period_ms, 0.001 * period_ms);
    EXPECT_GE(car.samples.front().t, 0);
    EXPECT_LT(car.samples.front().t, race_start + s_to_ns(period_ms / 1e3));
    // Laps 1..n, contiguous in time, lap 1 from lights out.
    for (std::size_t l = 0; l < car.laps.size(); ++l) {
      const auto& lap = car.laps[l];
      ASSERT_EQ(lap.lc.lap, static_cast<int>(l) + 1);
      const TimeNs start = l == 0 ? race_start : car.laps[l - 1].end;
      ASSERT_EQ(lap.lc.lap_start_session_ns.value_or(-1), start);
      EXPECT_NEAR(lap.lc.lap_time_s.value_or(0), ns_to_s(lap.end - start), 1e-9);
      ASSERT_TRUE(lap.lc.sector1_s && lap.lc.sector2_s && lap.lc.sector3_s);
      EXPECT_GT(*lap.lc.sector1_s, 10.0);
      EXPECT_GT(*lap.lc.sector2_s, 10.0);
      EXPECT_GT(*lap.lc.sector3_s, 10.0);
      EXPECT_NEAR(*lap.lc.sector1_s + *lap.lc.sector2_s + *lap.lc.sector3_s, *lap.lc.lap_time_s, 1e-6);
    }
    // Samples of lap L lie in [start, end) and come between LapCompleted(L-1) and LapCompleted(L);
    // distance along the lap only grows within a lap.
    std::size_t l = 0;
    double last_distance = -1e9;
    for (const auto& s : car.samples) {
      if (s.t < race_start) {
        ASSERT_LT(s.index, car.laps[0].index);
        continue;
      }
      while (l < car.laps.size() && s.t >= car.laps[l].end) {
        ++l;
        last_distance = -1e9;
      }
      ASSERT_LT(l, car.laps.size()) << "sample after the car's last lap";
      ASSERT_LT(s.index, car.laps[l].index);
      if (l > 0) {
        ASSERT_GT(s.index, car.laps[l - 1].index);
        ASSERT_GE(s.distance, -0.01);
      }
      ASSERT_LE(s.distance, SynthRace::lap_length_m() + 0.01);
      ASSERT_GE(s.distance, last_distance - 1e-3);
      last_distance = s.distance;
    }
  }
  EXPECT_EQ(max_laps, cfg.laps);
  for (const auto& [number, car] : tr.cars) EXPECT_GE(car.laps.back().lc.lap, cfg.laps - 1) << number;

  // Positions of each lap: distinct, 1..n, in order of the lap end times.
  std::map<int, std::vector<std::pair<TimeNs, int>>> by_lap;
  for (const auto& [number, car] : tr.cars) {
    for (const auto& lap : car.laps) by_lap[lap.lc.lap].emplace_back(lap.end, lap.lc.position.value_or(-1));
  }
  for (auto& [lap, v] : by_lap) {
    std::sort(v.begin(), v.end());
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i].second, static_cast<int>(i) + 1) << "lap " << lap;
  }

  // Session events: started at lights out, finished last, after every car.
  ASSERT_GE(tr.session.size(), 2U);
  bool started = false;
  for (const auto& ev : tr.session) {
    if (const auto* si = std::get_if<SessionInfo>(&ev.body); si && si->status == "Started") {
      started = true;
      EXPECT_EQ(ev.session_time_ns, race_start);
      EXPECT_EQ(si->scheduled_laps.value_or(0), cfg.laps);
      EXPECT_EQ(si->name, cfg.name);
    }
  }
  EXPECT_TRUE(started);
  const auto* finished = std::get_if<SessionInfo>(&tr.session.back().body);
  ASSERT_NE(finished, nullptr);
  EXPECT_EQ(finished->status, "Finished");
  for (const auto& [number, car] : tr.cars) EXPECT_GT(tr.session.back().session_time_ns, car.laps.back().end);
}

TEST(SynthRace, SameSeedSameRecordsOtherSeedOthers) {
  const auto a = digest(small_config(7));
  EXPECT_EQ(a, digest(small_config(7)));
  EXPECT_NE(a, digest(small_config(8)));
}

TEST(SynthRace, SmallRaceInvariants) { check_invariants(small_config(), small_trace()); }

TEST(SynthRace, OtherShapesInvariants) {
  SynthConfig one = small_config(3);
  one.session_id = "one-car";
  one.cars = 1;
  one.laps = 5;
  one.safety_car = false;
  one.prelude_s = 0;
  check_invariants(one, run(one));

  SynthConfig fast = small_config(4);
  fast.session_id = "fast-hz";
  fast.cars = 3;
  fast.laps = 6;
  fast.hz = 50;
  fast.sc_lap = 2;
  fast.sc_laps = 2;
  fast.positions = false;
  check_invariants(fast, run(fast));

  SynthConfig many = small_config(5);
  many.session_id = "many-cars";
  many.cars = 24;
  many.laps = 6;
  many.hz = 2;
  many.sc_lap = 0;  // automatic
  check_invariants(many, run(many));
}

TEST(SynthRace, PhysicalRanges) {
  const Trace& tr = small_trace();
  float top = 0;
  int brake_samples = 0;
  for (const auto& [number, car] : tr.cars) {
    for (std::size_t i = 0; i < car.samples.size(); ++i) {
      const Row& s = car.samples[i];
      ASSERT_GE(s.speed, 0.0f);
      ASSERT_LE(s.speed, 360.0f);
      ASSERT_GE(s.throttle, 0.0f);
      ASSERT_LE(s.throttle, 100.0f);
      ASSERT_GE(s.gear, 0);
      ASSERT_LE(s.gear, 8);
      ASSERT_GE(s.rpm, 3500.0f);
      ASSERT_LE(s.rpm, 12500.0f);
      ASSERT_TRUE(s.drs == 0 || s.drs == 1 || s.drs == 8 || s.drs == 12) << int{s.drs};
      if (s.speed < 0.5f) {
        EXPECT_EQ(s.gear, 0);
      }
      if (s.gear > 1) {
        EXPECT_GT(s.speed, 90.0f);
      }
      top = std::max(top, s.speed);
      if (s.brake) {
        ++brake_samples;
        ASSERT_EQ(s.throttle, 0.0f);
        // Braking means slowing down: no faster than the sample before (noise aside),
        // unless the brake zone just began.
        if (i > 0 && car.samples[i - 1].brake) {
          ASSERT_LE(s.speed, car.samples[i - 1].speed + 1.0f);
        }
        if (i + 1 < car.samples.size()) {
          ASSERT_LE(car.samples[i + 1].speed, s.speed + 4.0f);
        }
      }
      if (s.throttle >= 99.0f) {
        ASSERT_FALSE(s.brake);
      }
    }
  }
  EXPECT_GT(top, 290.0f);
  EXPECT_LT(top, 345.0f);
  EXPECT_GT(brake_samples, 1000);
}

TEST(SynthRace, LapTimesArePlausible) {
  const auto cfg = small_config();
  const Trace& tr = small_trace();
  for (const auto& [number, car] : tr.cars) {
    for (const auto& lap : car.laps) {
      const double t = *lap.lc.lap_time_s;
      if (lap.lc.track_status == "1" && !lap.lc.pit_in_session_ns && !lap.lc.pit_out_session_ns && lap.lc.lap > 1) {
        EXPECT_GT(t, cfg.base_lap_s - 6) << number << " lap " << lap.lc.lap;
        EXPECT_LT(t, cfg.base_lap_s + 6) << number << " lap " << lap.lc.lap;
      }
    }
  }
}

TEST(SynthRace, EveryCarPitsAndChangesCompound) {
  const Trace& tr = small_trace();
  for (const auto& [number, car] : tr.cars) {
    SCOPED_TRACE(number);
    ASSERT_GE(car.pit_in.size(), 1U);
    ASSERT_EQ(car.pit_in.size(), car.pit_out.size());
    std::set<Compound> compounds;
    for (const auto& lap : car.laps) compounds.insert(lap.lc.compound);
    EXPECT_GE(compounds.size(), 2U);
    std::size_t stops = 0;
    for (std::size_t l = 0; l < car.laps.size(); ++l) {
      const auto& lc = car.laps[l].lc;
      if (!lc.pit_in_session_ns) continue;
      ASSERT_LT(l + 1, car.laps.size());
      const auto& out = car.laps[l + 1].lc;
      EXPECT_EQ(*lc.pit_in_session_ns, car.pit_in[stops]);
      ASSERT_TRUE(out.pit_out_session_ns.has_value());
      EXPECT_EQ(*out.pit_out_session_ns, car.pit_out[stops]);
      EXPECT_EQ(out.stint.value_or(0), lc.stint.value_or(0) + 1);
      EXPECT_EQ(out.tyre_life.value_or(0), 1);
      EXPECT_TRUE(out.fresh_tyre.value_or(false));
      // In the pit lane: at most the limit, and stationary for the stop.
      double stationary_s = 0;
      for (std::size_t i = 1; i < car.samples.size(); ++i) {
        const Row& s = car.samples[i];
        if (s.t < car.pit_in[stops] || s.t >= car.pit_out[stops]) continue;
        EXPECT_LE(s.speed, SynthRace::pit_speed_limit_kph() + 1.0f);
        if (s.speed < 0.5f) stationary_s += ns_to_s(s.t - car.samples[i - 1].t);
      }
      EXPECT_GT(stationary_s, 1.5);
      EXPECT_LT(stationary_s, 10.0);
      const double pit_lane_s = ns_to_s(car.pit_out[stops] - car.pit_in[stops]);
      EXPECT_GT(pit_lane_s, 20.0);
      EXPECT_LT(pit_lane_s, 40.0);
      ++stops;
    }
    EXPECT_EQ(stops, car.pit_in.size());
  }
}

TEST(SynthRace, SafetyCarPeriod) {
  const Trace& tr = small_trace();
  TimeNs sc = -1;
  TimeNs green = -1;
  for (const auto& ev : tr.session) {
    if (const auto* ts = std::get_if<TrackStatusChange>(&ev.body)) {
      if (ts->status == TrackStatus::SafetyCar) {
        sc = ev.session_time_ns;
        EXPECT_FALSE(ts->message.empty());
      }
      if (ts->status == TrackStatus::Green && sc >= 0) {
        green = ev.session_time_ns;
        EXPECT_FALSE(ts->message.empty());
      }
    }
  }
  ASSERT_GT(sc, 0);
  ASSERT_GT(green, sc);
  std::vector<double> green_laps;
  std::vector<double> sc_laps;
  int pitted_under_sc = 0;
  for (const auto& [number, car] : tr.cars) {
    for (const auto& lap : car.laps) {
      const auto& lc = lap.lc;
      const bool pit = lc.pit_in_session_ns || lc.pit_out_session_ns;
      const TimeNs start = *lc.lap_start_session_ns;
      EXPECT_EQ(lc.track_status.find('4') != std::string::npos, start < green && lap.end > sc) << lc.track_status;
      if (lc.track_status == "1" && !pit && lc.lap > 1) green_laps.push_back(*lc.lap_time_s);
      if (lc.track_status == "4" && !pit) sc_laps.push_back(*lc.lap_time_s);
      if (lc.pit_in_session_ns && *lc.pit_in_session_ns >= sc && *lc.pit_in_session_ns < green) ++pitted_under_sc;
    }
    for (const auto& s : car.samples) {
      if (s.t >= sc && s.t < green) {
        ASSERT_EQ(s.drs, 0);
      }
    }
  }
  ASSERT_FALSE(sc_laps.empty());
  EXPECT_GT(median(sc_laps), 1.2 * median(green_laps));
  EXPECT_GE(pitted_under_sc, 1);
  std::printf("[ synth    ] SC %.1f-%.1f s: green lap median %.2f s, SC lap median %.2f s, %d stops under SC\n",
              ns_to_s(sc), ns_to_s(green), median(green_laps), median(sc_laps), pitted_under_sc);
}

TEST(SynthRace, NoSafetyCarWhenDisabled) {
  SynthConfig cfg = small_config();
  cfg.safety_car = false;
  const Trace tr = run(cfg);
  for (const auto& ev : tr.session) {
    if (const auto* ts = std::get_if<TrackStatusChange>(&ev.body)) {
      EXPECT_EQ(ts->status, TrackStatus::Green);
    }
  }
  for (const auto& [number, car] : tr.cars) {
    for (const auto& lap : car.laps) EXPECT_EQ(lap.lc.track_status, "1");
  }
}

/// DRS opens only on laps that start while race control has it enabled (from
/// lap 3, off behind the safety car, back two laps after the restart), and
/// only on track at speed.
void check_drs(const Trace& tr) {
  std::vector<std::pair<TimeNs, bool>> switches;  // race control: enabled/disabled at
  for (const auto& ev : tr.session) {
    if (const auto* rc = std::get_if<RaceControlMessage>(&ev.body); rc && rc->category == "Drs") {
      switches.emplace_back(ev.session_time_ns, rc->message == "DRS ENABLED");
    }
  }
  auto enabled_at = [&switches](TimeNs t) {
    bool on = false;
    for (const auto& [at, enable] : switches) {
      if (at <= t) on = enable;
    }
    return on;
  };
  int open = 0;
  for (const auto& [number, car] : tr.cars) {
    std::size_t l = 0;
    for (const auto& s : car.samples) {
      while (l < car.laps.size() && s.t >= car.laps[l].end) ++l;
      if (s.drs != 12 && s.drs != 8) continue;
      ASSERT_LT(l, car.laps.size());
      const auto& lc = car.laps[l].lc;
      EXPECT_GE(lc.lap, 3);
      EXPECT_TRUE(enabled_at(*lc.lap_start_session_ns) && enabled_at(s.t)) << number << " lap " << lc.lap;
      EXPECT_FALSE(lc.pit_out_session_ns.has_value());
      if (s.drs == 12) {
        EXPECT_GT(s.speed, 150.0f);
        ++open;
      }
    }
  }
  EXPECT_GT(open, 0);
}

TEST(SynthRace, DrsOpensOnlyWhenEnabledAndClose) {
  check_drs(small_trace());
  SynthConfig early = small_config(11);
  early.sc_lap = 2;
  early.sc_laps = 2;
  check_drs(run(early));
}

TEST(SynthRace, WeatherEveryPeriod) {
  const Trace& tr = small_trace();
  std::vector<TimeNs> times;
  for (const auto& ev : tr.session) {
    if (const auto* w = std::get_if<Weather>(&ev.body)) {
      times.push_back(ev.session_time_ns);
      EXPECT_TRUE(w->air_temp_c && w->track_temp_c && w->humidity_pct && w->pressure_hpa);
    }
  }
  ASSERT_GT(times.size(), 10U);
  EXPECT_EQ(times.front(), 0);
  for (std::size_t i = 1; i < times.size(); ++i) EXPECT_EQ(times[i] - times[i - 1], 60 * kNsPerSecond);
}

TEST(SynthRace, MakeSynthSessions) {
  SynthConfig base;
  base.session_id = "load";
  base.seed = 42;
  base.cars = 5;
  const auto v = make_synth_sessions(3, base);
  ASSERT_EQ(v.size(), 3U);
  EXPECT_EQ(v[0].session_id, "load-0001");
  EXPECT_EQ(v[2].session_id, "load-0003");
  EXPECT_NE(v[0].seed, v[1].seed);
  EXPECT_NE(v[1].seed, v[2].seed);
  EXPECT_EQ(v[1].cars, 5);
  EXPECT_EQ(make_synth_sessions(3, base)[1].seed, v[1].seed);
  SynthRace race(v[1]);
  EXPECT_EQ(race.session_id(), "load-0002");
  const auto first = race.next();
  ASSERT_TRUE(first.has_value());
}

TEST(SynthRace, RejectsBadConfig) {
  auto bad = [](auto edit) {
    SynthConfig c;
    edit(c);
    EXPECT_THROW(SynthRace{c}, ConfigError);
  };
  bad([](SynthConfig& c) { c.cars = 0; });
  bad([](SynthConfig& c) { c.cars = 100; });
  bad([](SynthConfig& c) { c.hz = 0; });
  bad([](SynthConfig& c) { c.laps = 3; });
  bad([](SynthConfig& c) { c.session_id.clear(); });
  bad([](SynthConfig& c) { c.sc_lap = 55; });
  bad([](SynthConfig& c) { c.sc_lap = 1; });
}

/// The full default race (57 laps, 20 cars, 10 Hz): throughput of the fast
/// path, and the record estimate.
TEST(SynthRace, FullRaceThroughputAndEstimate) {
  SynthConfig cfg;
  cfg.session_id = "full";
  SynthRace race(cfg);
  Input in;
  std::uint64_t n = 0;
  std::uint64_t laps = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (race.next(in)) {
    ++n;
    if (const auto* ev = std::get_if<TimingEvent>(&in)) laps += std::holds_alternative<LapCompleted>(ev->body);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ synth    ] full race: %llu records (estimate %llu), %llu laps, %.3f s, %.2f M records/s\n",
              static_cast<unsigned long long>(n), static_cast<unsigned long long>(race.estimated_records()),
              static_cast<unsigned long long>(laps), s, static_cast<double>(n) / s / 1e6);
  EXPECT_GE(laps, 20U * 56U);
  EXPECT_NEAR(static_cast<double>(race.estimated_records()), static_cast<double>(n), 0.05 * static_cast<double>(n));
}

}  // namespace
}  // namespace boxcall::sources
