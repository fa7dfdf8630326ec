// Differential test on real data: laps 12-15 of the 2023 Bahrain GP (pit
// stops, tyre changes) turned into an F1 game capture (bahrain_capture.h), then
// decoded by boxcall; every lap, sector, compound and pit stop must come back
// as FastF1 recorded it. In all three packet formats.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "bahrain_capture.h"
#include "sources/f1udp/udp_source.h"

namespace boxcall::sources::f1udp {
namespace {

namespace tf = boxcall::testing::f1udp;
const std::filesystem::path kExport = std::filesystem::path(BOXCALL_SHARED_DATA) / "fastf1/2023_01_bahrain_race";
constexpr TimeNs kStart = 1'677'000'000LL * kNsPerSecond;

class BahrainCapture : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(F1, BahrainCapture, ::testing::Values(2023, 2024, 2025));

TEST_P(BahrainCapture, DecodesBackTheLapsPitStopsAndTyresFastF1Recorded) {
  const auto dir = std::filesystem::temp_directory_path() / ("boxcall-f1udp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / ("bahrain-" + std::to_string(GetParam()) + ".cap");
  tf::BahrainCaptureOptions o;
  o.export_dir = kExport;
  o.format = GetParam();
  o.from_lap = 12;
  o.to_lap = 15;
  const auto info = tf::make_bahrain_capture(o, path);
  ASSERT_GT(info.packets, 10'000u);
  ASSERT_GE(info.pit_ins, 3u) << "the window should hold pit stops";

  CaptureFeed feed(path, 0, kStart);
  F1UdpSource src(feed, {});
  std::map<int, std::vector<TimingEvent>> laps;
  std::map<int, std::size_t> samples, pit_in, pit_out;
  std::map<int, std::string> drivers;
  std::vector<SessionInfo> infos;
  std::size_t records = 0;
  while (auto in = src.next()) {
    ++records;
    EXPECT_EQ(src.session_id(), "f1udp-0000b4a120230305");
    if (auto* s = std::get_if<TelemetrySample>(&*in)) {
      ++samples[s->car];
      drivers[s->car] = s->driver.str();
      // Capture time 0 is at kStart; the game clock is a float32 (~0.25 ms steps at an hour).
      EXPECT_NEAR(static_cast<double>(s->event_time_ns - kStart),
                  static_cast<double>(s->session_time_ns - info.first_session_ns), 1e6);
      continue;
    }
    const auto& e = std::get<TimingEvent>(*in);
    if (std::holds_alternative<LapCompleted>(e.body)) laps[e.car].push_back(e);
    if (std::holds_alternative<PitIn>(e.body)) ++pit_in[e.car];
    if (std::holds_alternative<PitOut>(e.body)) ++pit_out[e.car];
    if (auto* si = std::get_if<SessionInfo>(&e.body)) infos.push_back(*si);
  }
  EXPECT_EQ(src.stats().of(Outcome::BadLength), 0u);
  EXPECT_EQ(src.stats().of(Outcome::Duplicate), 0u);
  ASSERT_FALSE(infos.empty());
  EXPECT_EQ(infos.front().name, "Sakhir (Bahrain) Race");
  EXPECT_EQ(*infos.front().scheduled_laps, 57);
  EXPECT_EQ(infos.back().status, "Started");

  std::size_t pits_in = 0, pits_out = 0;
  for (auto& [car, n] : pit_in) pits_in += n;
  for (auto& [car, n] : pit_out) pits_out += n;
  EXPECT_EQ(pits_in, info.pit_ins);
  EXPECT_EQ(pits_out, info.pit_outs);

  const std::size_t frames = static_cast<std::size_t>(info.seconds * o.hz) + 1;
  ASSERT_EQ(samples.size(), info.drivers.size());
  for (const auto& [car, code] : info.drivers) {
    SCOPED_TRACE("car " + std::to_string(car));
    EXPECT_EQ(drivers[car], code);
    EXPECT_NEAR(static_cast<double>(samples[car]), static_cast<double>(frames), 2.0);
    const auto& want = info.laps.at(car);
    const auto& got = laps[car];
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      const auto& g = std::get<LapCompleted>(got[i].body);
      const auto& w = want[i];
      SCOPED_TRACE("lap " + std::to_string(w.lap));
      EXPECT_EQ(g.lap, w.lap);
      ASSERT_EQ(g.lap_time_s.has_value(), w.lap_time_s.has_value());
      if (w.lap_time_s) {
        EXPECT_NEAR(*g.lap_time_s, *w.lap_time_s, 0.0005);
      }
      if (w.sector1_s) {
        EXPECT_NEAR(*g.sector1_s, *w.sector1_s, 0.0005);
      }
      if (w.sector2_s) {
        EXPECT_NEAR(*g.sector2_s, *w.sector2_s, 0.0005);
      }
      if (w.sector3_s && g.sector3_s) {
        EXPECT_NEAR(*g.sector3_s, *w.sector3_s, 0.0015);
      }
      EXPECT_EQ(g.compound, w.compound);
      EXPECT_EQ(g.tyre_life, w.tyre_life);
      if (w.position) {
        EXPECT_EQ(g.position, w.position);
      }
      EXPECT_NEAR(ns_to_s(got[i].session_time_ns), ns_to_s(info.lap_end_session_ns.at(car)[i]), 0.002);
      // Pit lane entries and exits inside the capture (an out-lap may have left the pits before it began).
      const TimeNs end = info.lap_end_session_ns.at(car)[i];
      auto seen = [&](const std::optional<TimeNs>& t) { return t && *t > info.first_session_ns && *t <= end; };
      EXPECT_EQ(g.pit_in_session_ns.has_value(), seen(w.pit_in_session_ns));
      EXPECT_EQ(g.pit_out_session_ns.has_value(), seen(w.pit_out_session_ns));
      if (seen(w.pit_in_session_ns) && g.pit_in_session_ns) {
        EXPECT_NEAR(ns_to_s(*g.pit_in_session_ns), ns_to_s(*w.pit_in_session_ns), 1.0 / o.hz + 0.001);
      }
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace boxcall::sources::f1udp
