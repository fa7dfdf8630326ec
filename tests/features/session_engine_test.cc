// Hand-built cases pinning each per-lap definition (docs/features.md). Times
// are session seconds; event time is session time + a fixed UTC offset, as
// the FastF1 reader maps it.
#include "features/session_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace boxcall::features {
namespace {

// A whole multiple of 5 s, so that event-time windows line up with session seconds.
constexpr TimeNs kOffset = 1'678'024'860'000'000'000;

struct Sink final : OutputSink {
  void emit(Output&& o) override {
    if (auto* l = std::get_if<LapFeatures>(&o)) laps.push_back(*l);
    if (auto* s = std::get_if<FeatureSnapshot>(&o)) snapshots.push_back(*s);
  }
  std::vector<LapFeatures> laps;
  std::vector<FeatureSnapshot> snapshots;
};

struct S {  // one telemetry sample, terse
  double t;
  float speed = 200;
  float throttle = 50;
  bool brake = false;
  int gear = 5;
  int drs = 0;
};

TelemetrySample sample(std::uint16_t car, const S& s) {
  TelemetrySample x;
  x.car = car;
  x.driver = DriverCode(car == 1 ? "VER" : car == 11 ? "PER" : car == 44 ? "HAM" : "XXX");
  x.session_time_ns = s_to_ns(s.t);
  x.event_time_ns = kOffset + x.session_time_ns;
  x.speed_kph = s.speed;
  x.throttle = s.throttle;
  x.brake = s.brake;
  x.gear = static_cast<std::int8_t>(s.gear);
  x.drs = static_cast<std::uint8_t>(s.drs);
  return x;
}

TimingEvent timing(std::uint16_t car, double t, TimingBody body) {
  TimingEvent e;
  e.car = car;
  e.session_time_ns = s_to_ns(t);
  e.event_time_ns = kOffset + e.session_time_ns;
  e.body = std::move(body);
  return e;
}

TimingEvent started(double t, std::optional<int> scheduled = 57) {
  SessionInfo info;
  info.status = "Started";
  info.scheduled_laps = scheduled;
  return timing(0, t, info);
}

struct Lap {
  int lap;
  double start;  // < 0: no LapStartTime
  double end;
  std::optional<double> lap_time = std::nullopt;
  std::optional<int> tyre = std::nullopt;
  std::optional<int> stint = std::nullopt;
  bool pit_in = false;
  bool pit_out = false;
  std::string status = "1";
};

TimingEvent lap_event(std::uint16_t car, const Lap& l) {
  LapCompleted lc;
  lc.lap = l.lap;
  lc.lap_time_s = l.lap_time ? l.lap_time : std::optional<double>(l.end - l.start);
  if (l.start >= 0) lc.lap_start_session_ns = s_to_ns(l.start);
  lc.tyre_life = l.tyre;
  lc.stint = l.stint;
  lc.compound = Compound::Soft;
  if (l.pit_in) lc.pit_in_session_ns = s_to_ns(l.end - 1);
  if (l.pit_out) lc.pit_out_session_ns = s_to_ns(l.start + 1);
  lc.track_status = l.status;
  return timing(car, l.end, lc);
}

class EngineTest : public ::testing::Test {
 protected:
  Placement feed(std::uint16_t car, const S& s, bool late = false) {
    auto x = sample(car, s);
    auto p = engine.on_sample(x, late, sink);
    engine.on_watermark(x.event_time_ns, sink);
    return p;
  }
  void feed(const TimingEvent& e) {
    engine.on_timing(e, sink);
    engine.on_watermark(e.event_time_ns, sink);
  }
  const LapFeatures& last_lap() {
    EXPECT_FALSE(sink.laps.empty());
    return sink.laps.back();
  }
  FeatureConfig config() {
    FeatureConfig c;
    c.snapshot_period = std::chrono::nanoseconds(0);
    return c;
  }
  SessionEngine engine{config()};
  Sink sink;
};

TEST_F(EngineTest, LapBoundsIncludeStartExcludeEnd) {
  feed(1, {9.0});  // pre-race: no lap
  feed(started(10.0));
  feed(1, {10.0});  // t == LapStartTime(1): in lap 1
  feed(1, {11.0});
  feed(1, {11.5});
  feed(lap_event(1, {1, 10.0, 12.0}));
  feed(1, {12.0});  // t == T(1): lap 2
  feed(1, {13.0});
  feed(lap_event(1, {2, 12.0, 14.0}));
  ASSERT_EQ(sink.laps.size(), 2U);
  EXPECT_EQ(sink.laps[0].lap, 1);
  EXPECT_EQ(sink.laps[0].samples, 3);
  EXPECT_DOUBLE_EQ(*sink.laps[0].max_gap_s, 1.0);
  EXPECT_EQ(sink.laps[1].samples, 2);
  EXPECT_EQ(sink.laps[0].session_time_ns, s_to_ns(12.0));
}

TEST_F(EngineTest, ThrottleOutOfRangeExcludedAndCounted) {
  feed(started(0.0));
  double t = 1.0;
  for (float th : {50.0F, 104.0F, 100.0F, 99.0F, 0.0F}) feed(1, {t += 0.1, 200, th});
  feed(lap_event(1, {1, 0.0, 2.0}));
  const auto& f = last_lap();
  EXPECT_EQ(f.samples, 5);  // all samples count ...
  EXPECT_EQ(f.excluded_samples, 1);
  EXPECT_DOUBLE_EQ(*f.mean_throttle, 62.25);  // ... only [0, 100] in the throttle features
  const double sd = std::sqrt(
      ((50 - 62.25) * (50 - 62.25) + (100 - 62.25) * (100 - 62.25) + (99 - 62.25) * (99 - 62.25) + 62.25 * 62.25) /
      3.0);
  EXPECT_NEAR(*f.std_throttle, sd, 1e-12);
  EXPECT_DOUBLE_EQ(*f.full_throttle_frac, 0.5);
}

TEST_F(EngineTest, OnlyThrottle104MeansNoThrottleFeatures) {
  feed(started(0.0));
  feed(1, {1.0, 0, 104});
  feed(lap_event(1, {1, 0.0, 2.0}));
  EXPECT_EQ(last_lap().samples, 1);
  EXPECT_FALSE(last_lap().mean_throttle.has_value());
  EXPECT_FALSE(last_lap().std_throttle.has_value());
  EXPECT_FALSE(last_lap().max_gap_s.has_value());  // one sample: no interval
  EXPECT_DOUBLE_EQ(*last_lap().mean_speed, 0.0);
}

TEST_F(EngineTest, SpeedBrakeDrs) {
  feed(started(0.0));
  feed(1, {1.0, 100, 50, true, 5, 8});
  feed(1, {1.2, 300, 50, false, 5, 10});
  feed(1, {1.4, 200, 50, false, 5, 12});
  feed(1, {1.6, 250, 50, true, 5, 14});
  feed(lap_event(1, {1, 0.0, 2.0}));
  const auto& f = last_lap();
  EXPECT_DOUBLE_EQ(*f.mean_speed, 212.5);
  EXPECT_DOUBLE_EQ(*f.max_speed, 300);
  EXPECT_DOUBLE_EQ(*f.brake_frac, 0.5);
  EXPECT_DOUBLE_EQ(*f.drs_open_frac, 0.75);
  EXPECT_NEAR(*f.max_gap_s, 0.2, 1e-12);
}

TEST_F(EngineTest, TransitionsCompareFirstSampleWithTheOneBeforeTheLap) {
  feed(1, {-1.0, 0, 0, false, 1});  // last pre-start sample: brake off, gear 1
  feed(started(0.0));
  feed(1, {0.5, 0, 0, true, 2});  // on vs the sample before: event, shift
  feed(1, {0.6, 0, 0, true, 2});
  feed(1, {0.7, 0, 0, false, 3});
  feed(1, {0.8, 0, 0, true, 3});
  feed(lap_event(1, {1, 0.0, 1.0}));
  EXPECT_EQ(*last_lap().brake_events, 2);
  EXPECT_EQ(*last_lap().gear_shifts, 2);

  feed(1, {1.1, 0, 0, true, 3});  // lap 2 starts braking, as lap 1 ended: no event
  feed(1, {1.2, 0, 0, true, 3});
  feed(lap_event(1, {2, 1.0, 2.0}));
  EXPECT_EQ(*last_lap().brake_events, 0);
  EXPECT_EQ(*last_lap().gear_shifts, 0);
}

TEST_F(EngineTest, GapsIntervalsTiesAndLappedCars) {
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 100.0}));
  feed(lap_event(11, {1, 0.0, 101.5}));
  feed(lap_event(44, {1, 0.0, 101.5}));  // tie with car 11
  feed(lap_event(2, {1, 0.0, 103.0}));
  ASSERT_EQ(sink.laps.size(), 4U);
  EXPECT_DOUBLE_EQ(*sink.laps[0].gap_to_leader_s, 0.0);
  EXPECT_FALSE(sink.laps[0].interval_ahead_s.has_value());  // the leader
  EXPECT_DOUBLE_EQ(*sink.laps[1].gap_to_leader_s, 1.5);
  EXPECT_DOUBLE_EQ(*sink.laps[1].interval_ahead_s, 1.5);
  EXPECT_DOUBLE_EQ(*sink.laps[2].interval_ahead_s, 1.5);  // strictly earlier: not the tied car
  EXPECT_DOUBLE_EQ(*sink.laps[3].interval_ahead_s, 1.5);

  // Lapped: the leader completes lap 2 before car 3 completes lap 1.
  feed(lap_event(1, {2, 100.0, 190.0}));
  feed(lap_event(3, {1, 0.0, 200.0}));
  EXPECT_DOUBLE_EQ(*last_lap().gap_to_leader_s, 100.0);  // vs T(leader, 1), not lap 2
  EXPECT_DOUBLE_EQ(*last_lap().interval_ahead_s, 97.0);
}

TEST_F(EngineTest, LapCountsAndFuel) {
  feed(started(0.0, 50));
  feed(lap_event(1, {1, 0.0, 90.0}));
  EXPECT_EQ(*last_lap().laps_remaining, 49);
  EXPECT_DOUBLE_EQ(*last_lap().fuel_kg_est, 110.0 * (1.0 - 1.0 / 50.0));
}

TEST(EngineConfig, ScheduledLapsFromConfigWhenFeedHasNone) {
  FeatureConfig c;
  c.scheduled_laps = 10;
  SessionEngine engine(c);
  Sink sink;
  engine.on_timing(started(0.0, std::nullopt), sink);
  engine.on_timing(lap_event(1, {4, -1, 90.0}), sink);
  ASSERT_EQ(sink.laps.size(), 1U);
  EXPECT_EQ(*sink.laps[0].laps_remaining, 6);
  EXPECT_DOUBLE_EQ(*sink.laps[0].fuel_kg_est, 66.0);
}

TEST_F(EngineTest, NoStartSeenMeansNoTelemetryFeatures) {
  feed(1, {1.0});
  feed(1, {2.0});
  feed(lap_event(1, {1, 0.0, 3.0}));
  EXPECT_EQ(last_lap().samples, 0);
  EXPECT_FALSE(last_lap().mean_speed.has_value());
  EXPECT_FALSE(last_lap().brake_events.has_value());
  EXPECT_TRUE(last_lap().lap_time_s.has_value());  // timing features still there
  EXPECT_TRUE(last_lap().gap_to_leader_s.has_value());
  // The next lap has both bounds.
  feed(1, {3.5});
  feed(lap_event(1, {2, 3.0, 4.0}));
  EXPECT_EQ(last_lap().samples, 1);
}

TEST_F(EngineTest, LapStartDisagreeingWithEngineBoundHasNoTelemetry) {
  feed(started(0.0));
  feed(1, {1.0});
  feed(lap_event(1, {1, 0.5, 3.0}));  // timing says lap 1 started at 0.5, the engine saw 0.0
  EXPECT_EQ(last_lap().samples, 0);
  EXPECT_FALSE(last_lap().max_speed.has_value());
}

TEST_F(EngineTest, LateSamplesPlacedInOpenLapElseLapClosed) {
  feed(started(0.0));
  feed(1, {1.0, 100, 50, false, 3});
  feed(1, {3.0, 100, 50, false, 3});
  EXPECT_EQ(feed(1, {2.0, 400, 50, true, 7}, /*late=*/true), Placement::Accepted);
  feed(lap_event(1, {1, 0.0, 4.0}));
  EXPECT_EQ(last_lap().samples, 3);
  EXPECT_DOUBLE_EQ(*last_lap().max_speed, 400);
  EXPECT_EQ(*last_lap().brake_events, 0);  // late: no part in order-dependent counts
  EXPECT_EQ(*last_lap().gear_shifts, 0);
  EXPECT_DOUBLE_EQ(*last_lap().max_gap_s, 2.0);
  EXPECT_EQ(feed(1, {3.5}, /*late=*/true), Placement::LapClosed);  // lap 1 is closed
}

TEST_F(EngineTest, PitLapsStartAStintAndAreNotClean) {
  feed(started(0.0));
  double t = 0;
  int lap = 1;
  auto run = [&](double lap_time, int tyre, int stint, bool in = false, bool out = false) {
    feed(lap_event(1, {lap, t, t + lap_time, lap_time, tyre, stint, in, out}));
    t += lap_time;
    ++lap;
  };
  run(95.0, 1, 1);
  run(95.1, 2, 1);
  run(95.2, 3, 1);
  EXPECT_TRUE(last_lap().deg_slope_s_per_lap.has_value());
  run(99.0, 4, 1, /*in=*/true);
  EXPECT_EQ(*last_lap().stint, 1);
  EXPECT_TRUE(last_lap().deg_slope_s_per_lap.has_value());  // over the earlier clean laps
  run(110.0, 1, 2, false, /*out=*/true);
  EXPECT_EQ(*last_lap().stint, 2);
  EXPECT_EQ(*last_lap().tyre_age, 1);
  EXPECT_FALSE(last_lap().deg_slope_s_per_lap.has_value());  // new stint, no clean lap yet
  run(94.0, 2, 2);
  run(94.1, 3, 2);
  EXPECT_FALSE(last_lap().deg_slope_s_per_lap.has_value());  // two clean laps
  run(94.2, 4, 2);
  ASSERT_TRUE(last_lap().deg_slope_s_per_lap.has_value());
  // Corrected times: lap_time - 0.035 * 110 * (1 - L / 57), L = 6, 7, 8.
  const double step = 0.1 + 0.035 * 110.0 / 57.0;
  EXPECT_NEAR(*last_lap().deg_slope_s_per_lap, step, 1e-9);
}

TEST_F(EngineTest, PitEventsAloneMarkPitLaps) {
  // A feed whose lap records carry no pit times: the PitIn/PitOut events count.
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 90.0, 90.0, 1, 1}));
  feed(timing(1, 170.0, PitIn{}));
  feed(lap_event(1, {2, 90.0, 180.0, 90.0, 2, 1}));
  feed(timing(1, 200.0, PitOut{}));
  feed(lap_event(1, {3, 180.0, 270.0, 90.0, 1, 2}));
  EXPECT_EQ(*last_lap().stint, 2);
  EXPECT_EQ(*last_lap().tyre_age, 1);
}

TEST_F(EngineTest, SafetyCarLapsAreNotClean) {
  feed(started(0.0));
  double t = 0;
  const char* status[] = {"1", "14", "1", "4", "1"};
  for (int i = 0; i < 5; ++i) {
    feed(lap_event(1, {i + 1, t, t + 95.0 + i * 0.1, 95.0 + i * 0.1, i + 1, 1, false, false, status[i]}));
    t += 95.0 + i * 0.1;
  }
  // Green laps 1, 3, 5 only.
  ASSERT_TRUE(last_lap().deg_slope_s_per_lap.has_value());
  const double step = 0.1 + 0.035 * 110.0 / 57.0;  // per tyre-age step of 1
  EXPECT_NEAR(*last_lap().deg_slope_s_per_lap, step, 1e-9);
}

TEST_F(EngineTest, EmptyTrackStatusFallsBackToStatusEvents) {
  TrackStatusChange green;
  green.status = TrackStatus::Green;
  TrackStatusChange sc;
  sc.status = TrackStatus::SafetyCar;
  feed(timing(0, 0.0, green));
  feed(started(0.0));
  double t = 0;
  for (int i = 0; i < 3; ++i) {
    feed(lap_event(1, {i + 1, t, t + 95.0 + i * 0.1, 95.0 + i * 0.1, i + 1, 1, false, false, ""}));
    t += 95.0 + i * 0.1;
  }
  EXPECT_TRUE(last_lap().deg_slope_s_per_lap.has_value());
  feed(timing(0, t + 10, sc));
  feed(lap_event(1, {4, t, t + 95.0, 95.0, 4, 1, false, false, ""}));  // fast, but not green
  feed(timing(0, t + 200, green));
  // Lap 4 saw the safety car: not clean, so the slope is that of laps 1-3.
  EXPECT_NEAR(*last_lap().deg_slope_s_per_lap, 0.1 + 0.035 * 110.0 / 57.0, 1e-9);
}

TEST_F(EngineTest, FewerThanThreeCleanLapsNoSlope) {
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 95.0, 95.0, 1, 1}));
  feed(lap_event(1, {2, 95.0, 190.0, 95.0, 2, 1}));
  EXPECT_FALSE(last_lap().deg_slope_s_per_lap.has_value());
}

TEST_F(EngineTest, SlowLapsBeyond107PercentAreNotClean) {
  feed(started(0.0));
  const double times[] = {90.0, 90.2, 97.0, 90.4};  // 97 > 1.07 * 90 = 96.3
  double t = 0;
  for (int i = 0; i < 4; ++i) {
    feed(lap_event(1, {i + 1, t, t + times[i], times[i], i + 1, 1}));
    t += times[i];
    if (i == 2) {
      EXPECT_FALSE(last_lap().deg_slope_s_per_lap.has_value());  // only 2 within 107%
    }
  }
  ASSERT_TRUE(last_lap().deg_slope_s_per_lap.has_value());
  // Clean: tyre ages 1, 2, 4 (lap 3 excluded).
  const double f = 0.035 * 110.0 / 57.0;
  const std::vector<double> x{1, 2, 4};
  const std::vector<double> y{90.0 + f * 1, 90.2 + f * 2, 90.4 + f * 4};  // + constant, irrelevant to the slope
  const double mx = 7.0 / 3.0, my = (y[0] + y[1] + y[2]) / 3.0;
  double sxy = 0, sxx = 0;
  for (int i = 0; i < 3; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  EXPECT_NEAR(*last_lap().deg_slope_s_per_lap, sxy / sxx, 1e-9);
}

TEST_F(EngineTest, TyreAgeGlitchDoesNotResetStint) {
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 90.0, 90.0, 5, 1}));
  feed(lap_event(1, {2, 90.0, 180.0, 90.0, 6, 1}));
  feed(lap_event(1, {3, 180.0, 270.0, 90.0, 2, 2}));  // lower age, stint 2: no pit, a glitch
  EXPECT_EQ(*last_lap().tyre_age, 7);
  EXPECT_EQ(*last_lap().stint, 1);
  feed(lap_event(1, {4, 270.0, 360.0, 90.0, 8, 1}));
  EXPECT_EQ(*last_lap().tyre_age, 8);
  EXPECT_EQ(*last_lap().stint, 1);
  EXPECT_TRUE(last_lap().deg_slope_s_per_lap.has_value());  // one stint: 4 clean laps
}

TEST_F(EngineTest, MissingTyreAgeCountsOn) {
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 90.0, 90.0, 3, 1}));
  feed(lap_event(1, {2, 90.0, 180.0, 90.0, std::nullopt, 1}));
  EXPECT_EQ(*last_lap().tyre_age, 4);
}

TEST_F(EngineTest, DuplicateLapIgnored) {
  feed(started(0.0));
  feed(lap_event(1, {1, 0.0, 90.0}));
  feed(lap_event(1, {1, 0.0, 90.0}));
  EXPECT_EQ(sink.laps.size(), 1U);
}

TEST(EngineSnapshots, WindowsAndRetirementOnce) {
  FeatureConfig c;  // 1 s snapshots
  c.retire_after = std::chrono::seconds(10);
  SessionEngine engine(c);
  Sink sink;
  auto feed = [&](std::uint16_t car, const S& s) {
    auto x = sample(car, s);
    (void)engine.on_sample(x, false, sink);
    engine.on_watermark(x.event_time_ns, sink);
  };
  engine.on_timing(started(0.0), sink);
  // Two cars at 10 Hz for 6 s; car 11 then goes silent, car 1 carries on.
  for (int i = 0; i < 60; ++i) {
    feed(1, {i * 0.1, 100.0F + static_cast<float>(i % 2) * 100.0F, 50, i % 4 == 0});
    feed(11, {i * 0.1 + 0.05, 150, 104});
  }
  for (int i = 60; i < 300; ++i) feed(1, {i * 0.1, 100, 50});
  ASSERT_FALSE(sink.snapshots.empty());
  int retired = 0;
  std::optional<FeatureSnapshot> car1_at_5s;
  for (const auto& s : sink.snapshots) {
    if (s.car == 11 && s.retired) ++retired;
    if (s.car == 1 && s.event_time_ns - kOffset >= s_to_ns(5.0) && !car1_at_5s) car1_at_5s = s;
  }
  EXPECT_EQ(retired, 1);  // marked once ...
  const auto last11 = std::find_if(sink.snapshots.rbegin(), sink.snapshots.rend(),
                                   [](const FeatureSnapshot& s) { return s.car == 11; });
  EXPECT_TRUE(last11->retired);  // ... and silent afterwards
  ASSERT_TRUE(car1_at_5s.has_value());
  // The 5 s tumbling window [0, 5): alternating 100/200 km/h, brake every 4th sample.
  EXPECT_DOUBLE_EQ(*car1_at_5s->w5_mean_speed, 150.0);
  EXPECT_DOUBLE_EQ(*car1_at_5s->w5_max_speed, 200.0);
  EXPECT_DOUBLE_EQ(*car1_at_5s->w5_mean_throttle, 50.0);
  EXPECT_NEAR(*car1_at_5s->w5_brake_frac, 13.0 / 50.0, 1e-12);
  EXPECT_NEAR(car1_at_5s->samples_per_s, 10.0, 1e-9);
  EXPECT_EQ(car1_at_5s->lap, 1);
  // Throttle 104 only: car 11 has speed windows but no throttle mean.
  for (const auto& s : sink.snapshots) {
    if (s.car == 11 && s.w30_mean_speed) {
      EXPECT_FALSE(s.w30_mean_throttle.has_value());
      EXPECT_DOUBLE_EQ(*s.w30_mean_speed, 150.0);
    }
  }
}

TEST(EngineSnapshots, CarLeftBehindByTheLeaderIsRetired) {
  FeatureConfig c;
  SessionEngine engine(c);
  Sink sink;
  engine.on_timing(started(0.0), sink);
  auto both = [&](double t) {
    for (std::uint16_t car : {1, 11}) {
      auto x = sample(car, {t});
      (void)engine.on_sample(x, false, sink);
      engine.on_watermark(x.event_time_ns, sink);
    }
  };
  for (int lap = 1; lap <= 4; ++lap) {
    for (double t = (lap - 1) * 90.0; t < lap * 90.0; t += 0.5) both(t);
    engine.on_timing(lap_event(1, {lap, (lap - 1) * 90.0, lap * 90.0}), sink);
    if (lap == 1) engine.on_timing(lap_event(11, {1, 0.0, 91.0}), sink);  // then car 11 parks, still sending
  }
  both(400.0);
  int retired = 0;
  for (const auto& s : sink.snapshots) {
    if (s.car == 11 && s.retired) ++retired;
    if (s.car == 1) {
      EXPECT_FALSE(s.retired);
    }
  }
  EXPECT_EQ(retired, 1);
}

TEST(EngineSession, FinishedAndCarCount) {
  SessionEngine engine(FeatureConfig{});
  Sink sink;
  EXPECT_FALSE(engine.finished());
  (void)engine.on_sample(sample(1, {1.0}), false, sink);
  (void)engine.on_sample(sample(44, {1.0}), false, sink);
  EXPECT_EQ(engine.car_count(), 2U);
  SessionInfo fin;
  fin.status = "Finished";
  engine.on_timing(timing(0, 5.0, fin), sink);
  EXPECT_TRUE(engine.finished());
}

}  // namespace
}  // namespace boxcall::features
