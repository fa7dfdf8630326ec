// The engine's complete lap records (features/race.h): clean laps, the
// reference lap, stops, track status, gaps with the cars they refer to, and
// the changes between laps (pit lane, retirement, chequered flag).
#include <gtest/gtest.h>

#include "features/session_engine.h"

namespace boxcall::features {
namespace {

struct Discard final : OutputSink {
  std::vector<Output> outputs;
  void emit(Output&& o) override { outputs.push_back(std::move(o)); }
};

struct Listener final : RaceListener {
  std::vector<ClosedLap> laps;
  std::vector<std::pair<std::uint16_t, CarChange>> changes;
  std::vector<std::pair<TrackStatus, TrackStatus>> statuses;
  int ends = 0;
  void on_lap(const ClosedLap& lap, OutputSink&) override { laps.push_back(lap); }
  void on_car(std::uint16_t car, DriverCode, CarChange change, TimeNs, OutputSink&) override {
    changes.emplace_back(car, change);
  }
  void on_track_status(TrackStatus before, TrackStatus now, TimeNs, OutputSink&) override {
    statuses.emplace_back(before, now);
  }
  void on_session_end(TimeNs, OutputSink&) override { ++ends; }
};

TimingEvent lap_event(std::uint16_t car, int lap, double t_s, double lap_s, const char* status, bool pit_in = false,
                      bool pit_out = false, int stint = 1, int tyre = 1) {
  LapCompleted lc;
  lc.lap = lap;
  lc.lap_time_s = lap_s;
  lc.compound = Compound::Medium;
  lc.stint = stint;
  lc.tyre_life = tyre;
  lc.track_status = status;
  lc.position = car;
  if (pit_in) lc.pit_in_session_ns = s_to_ns(t_s - 5);
  if (pit_out) lc.pit_out_session_ns = s_to_ns(t_s - lap_s + 5);
  TimingEvent e;
  e.car = car;
  e.driver = DriverCode(car == 1 ? "AAA" : "BBB");
  e.session_time_ns = e.event_time_ns = s_to_ns(t_s);
  e.body = lc;
  return e;
}

TEST(ClosedLaps, CleanLapsReferenceAndStops) {
  FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  fc.scheduled_laps = 10;
  Listener listener;
  SessionEngine engine(fc, &listener);
  Discard sink;
  auto feed = [&](const TimingEvent& e) { engine.on_timing(e, sink); };
  double t = 0;
  const double laps[] = {95.0, 90.0, 90.2, 99.0, 110.0, 89.5};
  const char* status[] = {"1", "1", "1", "14", "1", "1"};
  for (int i = 0; i < 6; ++i) {
    t += laps[i];
    const int lap = i + 1;
    const bool in = lap == 4, out = lap == 5;
    feed(lap_event(1, lap, t, laps[i], status[i], in, out, lap >= 5 ? 2 : 1, lap >= 5 ? lap - 4 : lap));
  }
  const auto& ctx = listener.laps;
  ASSERT_EQ(ctx.size(), 6U);
  auto flags = [&](std::size_t i) { return ctx[i].flags; };
  EXPECT_FALSE(flags(0).clean);  // lap 1 (standing start) is never clean
  EXPECT_TRUE(flags(1).clean);
  EXPECT_TRUE(flags(2).clean);
  EXPECT_FALSE(flags(3).clean);  // SC and in-lap
  EXPECT_TRUE(flags(3).in_lap);
  EXPECT_TRUE(flags(4).out_lap);
  EXPECT_FALSE(flags(4).clean);
  EXPECT_TRUE(flags(5).clean);
  EXPECT_DOUBLE_EQ(*ctx[2].prev_clean_lap_s, 90.2);
  EXPECT_EQ(ctx[2].recent_clean_laps_s.size(), 2U);
  EXPECT_DOUBLE_EQ(*ctx[4].prev_clean_lap_s, 90.2);  // from the previous stint
  EXPECT_TRUE(ctx[4].recent_clean_laps_s.empty());
  EXPECT_EQ(ctx[4].pit_stops, 1);
  EXPECT_EQ(ctx[5].scheduled_laps, 10);
  EXPECT_EQ(ctx[3].track_status, TrackStatus::SafetyCar);  // no status events: the record's last code
  EXPECT_TRUE(ctx[4].new_stint);
  EXPECT_FALSE(ctx[5].new_stint);
  // The tyre-cliff reference: fuel-corrected clean laps, the stint's best, reset by the stop.
  ASSERT_TRUE(ctx[2].corrected_lap_s && ctx[2].stint_best_corrected_s);
  EXPECT_NEAR(*ctx[2].corrected_lap_s, 90.2 - kFuelEffectSPerKg * 110.0 * (1.0 - 3.0 / 10.0), 1e-9);
  EXPECT_NEAR(*ctx[2].stint_best_corrected_s, 90.0 - kFuelEffectSPerKg * 110.0 * (1.0 - 2.0 / 10.0), 1e-9);
  EXPECT_FALSE(ctx[4].stint_best_corrected_s);
  EXPECT_NEAR(*ctx[5].stint_best_corrected_s, *ctx[5].corrected_lap_s, 1e-12);
  // Every lap record carries the published features of the same lap.
  std::size_t published = 0;
  for (const auto& o : sink.outputs) published += std::holds_alternative<LapFeatures>(o) ? 1 : 0;
  EXPECT_EQ(published, ctx.size());
}

TEST(ClosedLaps, GapsAheadAndBehindNameTheCars) {
  FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  Listener listener;
  SessionEngine engine(fc, &listener);
  Discard sink;
  engine.on_timing(lap_event(1, 1, 100.0, 100.0, "1"), sink);
  engine.on_timing(lap_event(2, 1, 101.5, 101.5, "1"), sink);
  engine.on_timing(lap_event(1, 2, 190.0, 90.0, "1"), sink);
  engine.on_timing(lap_event(2, 2, 191.2, 89.7, "1"), sink);
  const auto& laps = listener.laps;
  ASSERT_EQ(laps.size(), 4U);
  const auto& a = laps[2];
  EXPECT_FALSE(a.gap_ahead_s.has_value());
  ASSERT_TRUE(a.gap_behind_s.has_value());
  EXPECT_NEAR(*a.gap_behind_s, 1.5, 1e-9);
  EXPECT_EQ(a.car_behind, 2);
  const auto& b = laps[3];
  EXPECT_NEAR(*b.gap_ahead_s, 1.2, 1e-9);
  EXPECT_EQ(b.car_ahead, 1);
  EXPECT_EQ(b.gap_ahead_s, b.lap.interval_ahead_s) << "one gap, one definition";
}

TimingEvent session(double t_s, const char* status, int laps = 0) {
  TimingEvent e;
  e.session_time_ns = e.event_time_ns = s_to_ns(t_s);
  SessionInfo info;
  info.status = status;
  if (laps > 0) info.scheduled_laps = laps;
  info.name = "Bahrain Grand Prix";
  e.body = info;
  return e;
}

TimingEvent pit(std::uint16_t car, double t_s, bool in) {
  TimingEvent e;
  e.car = car;
  e.session_time_ns = e.event_time_ns = s_to_ns(t_s);
  if (in)
    e.body = PitIn{};
  else
    e.body = PitOut{};
  return e;
}

// Pit lane, retirement (left behind by the leader), the chequered flag and the
// end of the session are decided once, by the engine, and handed out.
TEST(ClosedLaps, ChangesBetweenLapsAreDecidedOnceAndHandedOut) {
  FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  Listener listener;
  SessionEngine engine(fc, &listener);
  Discard sink;
  engine.on_timing(session(0.0, "Started", 4), sink);
  TrackStatusChange sc{TrackStatus::SafetyCar, ""};
  TimingEvent status;
  status.session_time_ns = status.event_time_ns = s_to_ns(50.0);
  status.body = sc;
  engine.on_timing(status, sink);
  engine.on_timing(lap_event(1, 1, 100.0, 100.0, "14"), sink);
  engine.on_timing(lap_event(2, 1, 101.0, 101.0, "14"), sink);
  engine.on_timing(pit(2, 150.0, true), sink);
  engine.on_timing(pit(2, 170.0, false), sink);
  engine.on_timing(lap_event(1, 2, 190.0, 90.0, "1"), sink);
  engine.on_timing(lap_event(1, 3, 280.0, 90.0, "1"), sink);  // car 2 left two laps behind: retired
  engine.on_timing(lap_event(1, 4, 370.0, 90.0, "1"), sink);  // the leader's last lap: chequered flag
  engine.on_timing(session(400.0, "Finished"), sink);

  ASSERT_EQ(listener.statuses.size(), 1U);
  EXPECT_EQ(listener.statuses[0].first, TrackStatus::Unknown);
  EXPECT_EQ(listener.statuses[0].second, TrackStatus::SafetyCar);
  EXPECT_EQ(engine.track_status(), TrackStatus::SafetyCar) << "status events win over the records' codes";
  const std::vector<std::pair<std::uint16_t, CarChange>> changes{
      {2, CarChange::PitIn}, {2, CarChange::PitOut}, {2, CarChange::Retired}};
  EXPECT_EQ(listener.changes, changes);
  ASSERT_EQ(listener.laps.size(), 5U);
  EXPECT_TRUE(listener.laps.back().last_lap);
  EXPECT_FALSE(listener.laps[3].last_lap);
  EXPECT_EQ(listener.laps.back().session_name, "Bahrain Grand Prix");
  EXPECT_EQ(listener.ends, 1);
  EXPECT_TRUE(engine.finished());
}

}  // namespace
}  // namespace boxcall::features
