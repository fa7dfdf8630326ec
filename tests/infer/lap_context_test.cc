// LapContext building: clean laps, reference lap, stops, gaps.
#include <gtest/gtest.h>

#include "features/session_engine.h"
#include "infer/lap_context.h"

namespace boxcall::infer {
namespace {

struct Collect final : OutputSink {
  std::vector<LapFeatures> laps;
  void emit(Output&& o) override {
    if (auto* f = std::get_if<LapFeatures>(&o)) laps.push_back(*f);
  }
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

TEST(SessionContexts, CleanLapsReferenceAndStops) {
  features::FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  fc.scheduled_laps = 10;
  features::SessionEngine engine(fc);
  SessionContexts contexts;
  Collect sink;
  std::vector<LapContext> ctx;
  std::vector<LapFlags> flags;
  auto feed = [&](const TimingEvent& e) {
    contexts.on_timing(e);
    engine.on_timing(e, sink);
    for (auto& f : sink.laps) {
      ctx.push_back(contexts.on_lap(f));
      flags.push_back(contexts.last_flags(f.car));
    }
    sink.laps.clear();
  };
  double t = 0;
  const double laps[] = {95.0, 90.0, 90.2, 99.0, 110.0, 89.5};
  const char* status[] = {"1", "1", "1", "14", "1", "1"};
  for (int i = 0; i < 6; ++i) {
    t += laps[i];
    const int lap = i + 1;
    const bool in = lap == 4, out = lap == 5;
    feed(lap_event(1, lap, t, laps[i], status[i], in, out, lap >= 5 ? 2 : 1, lap >= 5 ? lap - 4 : lap));
  }
  ASSERT_EQ(ctx.size(), 6U);
  EXPECT_FALSE(flags[0].clean);  // lap 1 (standing start) is never clean
  EXPECT_TRUE(flags[1].clean);
  EXPECT_TRUE(flags[2].clean);
  EXPECT_FALSE(flags[3].clean);  // SC and in-lap
  EXPECT_TRUE(flags[3].in_lap);
  EXPECT_TRUE(flags[4].out_lap);
  EXPECT_FALSE(flags[4].clean);
  EXPECT_TRUE(flags[5].clean);
  EXPECT_DOUBLE_EQ(*ctx[2].prev_clean_lap_s, 90.2);
  EXPECT_EQ(ctx[2].recent_clean_laps_s.size(), 2U);
  EXPECT_DOUBLE_EQ(*ctx[4].prev_clean_lap_s, 90.2);  // from the previous stint
  EXPECT_TRUE(ctx[4].recent_clean_laps_s.empty());
  EXPECT_EQ(ctx[4].pit_stops, 1);
  EXPECT_EQ(ctx[5].scheduled_laps, 10);
  EXPECT_EQ(ctx[3].track_status, TrackStatus::SafetyCar);
}

TEST(SessionContexts, GapsAheadAndBehind) {
  SessionContexts contexts;
  auto f = [](std::uint16_t car, int lap, double t) {
    LapFeatures x;
    x.car = car;
    x.lap = lap;
    x.session_time_ns = s_to_ns(t);
    return x;
  };
  (void)contexts.on_lap(f(1, 1, 100.0));
  (void)contexts.on_lap(f(2, 1, 101.5));
  auto a = contexts.on_lap(f(1, 2, 190.0));
  EXPECT_FALSE(a.gap_ahead_s.has_value());
  ASSERT_TRUE(a.gap_behind_s.has_value());
  EXPECT_NEAR(*a.gap_behind_s, 1.5, 1e-9);
  EXPECT_EQ(a.car_behind, 2);
  auto b = contexts.on_lap(f(2, 2, 191.2));
  EXPECT_NEAR(*b.gap_ahead_s, 1.2, 1e-9);
  EXPECT_EQ(b.car_ahead, 1);
}

}  // namespace
}  // namespace boxcall::infer
