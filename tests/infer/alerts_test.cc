#include "infer/alerts.h"

#include <gtest/gtest.h>

#include <vector>

namespace boxcall::infer {
namespace {

constexpr TimeNs kT0 = 1'700'000'000LL * kNsPerSecond;
constexpr TimeNs kMs = 1'000'000;

struct Collect final : OutputSink {
  std::vector<Alert> alerts;
  void emit(Output&& o) override {
    if (auto* a = std::get_if<Alert>(&o)) alerts.push_back(*a);
  }
  [[nodiscard]] std::vector<Alert> of(std::string_view kind) const {
    std::vector<Alert> r;
    for (const auto& a : alerts) {
      if (a.kind == kind) r.push_back(a);
    }
    return r;
  }
};

TelemetrySample sample(std::uint16_t car, TimeNs t, float speed = 200, float throttle = 80, float rpm = -1) {
  TelemetrySample s;
  s.car = car;
  s.driver = DriverCode(car == 1 ? "VER" : "HAM");
  s.event_time_ns = kT0 + t;
  s.session_time_ns = t;
  s.speed_kph = speed;
  // Real engines never hold the exact same rpm: vary it unless told.
  s.rpm = rpm >= 0 ? rpm : 10000.0F + static_cast<float>((t / (250 * kMs)) % 7);
  s.gear = 7;
  s.throttle = throttle;
  return s;
}

class AlertsTest : public ::testing::Test {
 protected:
  /// Both cars at 4 Hz from `from` to `to` (ms), except where `skip` says.
  template <typename Skip>
  void run(TimeNs from_ms, TimeNs to_ms, Skip skip) {
    for (TimeNs ms = from_ms; ms < to_ms; ms += 250) {
      for (std::uint16_t car : {1, 44}) {
        if (skip(car, ms)) continue;
        watch_.on_sample(sample(car, ms * kMs), book_, out_);
      }
      watch_.on_watermark(kT0 + ms * kMs, book_, out_);
    }
  }
  AlertConfig config_;
  AlertBook book_;
  SensorWatch watch_{config_};
  Collect out_;
};

TEST(AlertBook, OneActiveAlertPerCarAndKindAndOneResolution) {
  AlertBook book;
  Collect out;
  EXPECT_TRUE(book.raise(1, DriverCode("VER"), AlertKind::TyreCliff, Severity::Warning, 1, "a", out));
  EXPECT_FALSE(book.raise(1, DriverCode("VER"), AlertKind::TyreCliff, Severity::Warning, 2, "again", out));
  EXPECT_TRUE(book.raise(44, DriverCode("HAM"), AlertKind::TyreCliff, Severity::Warning, 2, "b", out));
  EXPECT_TRUE(book.raise(1, DriverCode("VER"), AlertKind::PitWindowOpen, Severity::Info, 2, "c", out));
  EXPECT_TRUE(book.clear(1, AlertKind::TyreCliff, 3, "over", out));
  EXPECT_FALSE(book.clear(1, AlertKind::TyreCliff, 4, "over again", out));
  ASSERT_EQ(out.alerts.size(), 4U);
  EXPECT_FALSE(out.alerts[3].active);
  EXPECT_EQ(out.alerts[3].kind, "tyre_cliff");
  EXPECT_EQ(out.alerts[3].severity, Severity::Warning);
  EXPECT_EQ(out.alerts[3].driver, DriverCode("VER"));
  book.clear_car(1, 5, "retired", out);
  EXPECT_FALSE(book.active(1, AlertKind::PitWindowOpen));
  EXPECT_TRUE(book.active(44, AlertKind::TyreCliff));
  book.clear_all(6, "finished", out);
  EXPECT_EQ(book.active_count(), 0U);
  EXPECT_EQ(out.alerts.size(), 6U);
}

TEST_F(AlertsTest, DropoutRaisesOnceAfterTwoSecondsOfSilenceAndClearsWhenBack) {
  // Car 44 silent from 10 s to 13.5 s while car 1 reports.
  run(0, 20'000, [](std::uint16_t car, TimeNs ms) { return car == 44 && ms >= 10'000 && ms < 13'500; });
  auto d = out_.of("sensor_dropout");
  ASSERT_EQ(d.size(), 2U);
  EXPECT_TRUE(d[0].active);
  EXPECT_EQ(d[0].car, 44);
  EXPECT_GT(d[0].event_time_ns - kT0, 11'750 * kMs);  // last sample 9.75 s + 2 s
  EXPECT_LE(d[0].event_time_ns - kT0, 12'000 * kMs);
  EXPECT_FALSE(d[1].active);
  EXPECT_GE(d[1].event_time_ns - kT0, 14'500 * kMs) << "clears after 1 s of samples again (hysteresis)";
}

TEST_F(AlertsTest, ShortGapsAndParkedOrRetiredCarsRaiseNothing) {
  // 1.5 s gap: below the threshold.
  run(0, 5'000, [](std::uint16_t car, TimeNs ms) { return car == 44 && ms >= 2'000 && ms < 3'500; });
  // Car 44 parks (speed 0) then goes silent for good.
  for (TimeNs ms = 5'000; ms < 6'000; ms += 250) watch_.on_sample(sample(44, ms * kMs, 0, 0), book_, out_);
  run(6'000, 30'000, [](std::uint16_t car, TimeNs) { return car == 44; });
  EXPECT_TRUE(out_.of("sensor_dropout").empty());
  // A retired car moving when its feed stops: no dropout either.
  watch_.set_retired(1, true, kT0, book_, out_);
  for (TimeNs ms = 30'000; ms < 40'000; ms += 250) {
    watch_.on_sample(sample(44, ms * kMs), book_, out_);
    watch_.on_watermark(kT0 + ms * kMs, book_, out_);
  }
  EXPECT_TRUE(out_.of("sensor_dropout").empty());
}

TEST_F(AlertsTest, NoDropoutWhenNobodyReports) {
  run(0, 5'000, [](std::uint16_t, TimeNs) { return false; });
  watch_.on_watermark(kT0 + 20'000 * kMs, book_, out_);  // everyone silent: a feed problem, not a car's
  EXPECT_TRUE(out_.of("sensor_dropout").empty());
}

TEST_F(AlertsTest, StuckSensorWhileMovingRaisesAndClears) {
  for (TimeNs ms = 0; ms < 8'000; ms += 250) {
    watch_.on_sample(sample(1, ms * kMs, 250, 100, 11000), book_, out_);  // everything frozen at 250 km/h
  }
  auto s = out_.of("stuck_sensor");
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].event_time_ns - kT0, 5'000 * kMs);
  for (TimeNs ms = 8'000; ms < 10'000; ms += 250) watch_.on_sample(sample(1, ms * kMs), book_, out_);
  s = out_.of("stuck_sensor");
  ASSERT_EQ(s.size(), 2U);
  EXPECT_FALSE(s[1].active);
  EXPECT_EQ(s[1].event_time_ns - kT0, 9'000 * kMs);
  // Standing still with identical values is not stuck.
  for (TimeNs ms = 10'000; ms < 20'000; ms += 250) watch_.on_sample(sample(1, ms * kMs, 0, 0, 4000), book_, out_);
  EXPECT_EQ(out_.of("stuck_sensor").size(), 2U);
}

TEST_F(AlertsTest, SustainedThrottleErrorValueOnly) {
  // Isolated 104s: no alert.
  for (TimeNs ms = 0; ms < 5'000; ms += 250) {
    watch_.on_sample(sample(1, ms * kMs, 200, (ms / 250) % 3 == 0 ? 104 : 80), book_, out_);
  }
  EXPECT_TRUE(out_.of("throttle_error").empty());
  // 104 for 2 s while moving: one alert.
  for (TimeNs ms = 5'000; ms < 7'000; ms += 250) watch_.on_sample(sample(1, ms * kMs, 200, 104), book_, out_);
  auto t = out_.of("throttle_error");
  ASSERT_EQ(t.size(), 1U);
  EXPECT_EQ(t[0].event_time_ns - kT0, 6'000 * kMs);
  EXPECT_NE(t[0].message.find("104"), std::string::npos);
  // Valid for 2 s (less than the 3 s clear threshold), one more 104, then valid for good.
  for (TimeNs ms = 7'000; ms < 9'000; ms += 250) watch_.on_sample(sample(1, ms * kMs), book_, out_);
  watch_.on_sample(sample(1, 9'000 * kMs, 200, 104), book_, out_);
  EXPECT_EQ(out_.of("throttle_error").size(), 1U);
  for (TimeNs ms = 9'250; ms < 13'000; ms += 250) watch_.on_sample(sample(1, ms * kMs), book_, out_);
  t = out_.of("throttle_error");
  ASSERT_EQ(t.size(), 2U);
  EXPECT_FALSE(t[1].active);
  // A parked car reading 104 (FastF1 garage data) raises nothing.
  for (TimeNs ms = 13'000; ms < 30'000; ms += 250) watch_.on_sample(sample(44, ms * kMs, 0, 104), book_, out_);
  EXPECT_EQ(out_.of("throttle_error").size(), 2U);
}

TEST_F(AlertsTest, WholeFeedStallOnProcessingTime) {
  using namespace std::chrono_literals;
  std::chrono::steady_clock::time_point now{10s};
  watch_.on_tick(now, book_, out_);  // nothing yet: no stall before the feed started
  watch_.on_sample(sample(1, 0), book_, out_);
  watch_.on_tick(now += 100ms, book_, out_);
  for (int i = 0; i < 45; ++i) watch_.on_tick(now += 100ms, book_, out_);  // 4.5 s
  EXPECT_TRUE(out_.of("feed_stall").empty());
  for (int i = 0; i < 10; ++i) watch_.on_tick(now += 100ms, book_, out_);  // 5.5 s
  auto s = out_.of("feed_stall");
  ASSERT_EQ(s.size(), 1U);
  EXPECT_EQ(s[0].severity, Severity::Critical);
  EXPECT_EQ(s[0].car, 0);
  watch_.on_sample(sample(1, 250 * kMs), book_, out_);
  watch_.on_tick(now += 100ms, book_, out_);
  s = out_.of("feed_stall");
  ASSERT_EQ(s.size(), 2U);
  EXPECT_FALSE(s[1].active);
  // A finished session does not stall.
  watch_.finish(kT0, book_, out_);
  for (int i = 0; i < 100; ++i) watch_.on_tick(now += 100ms, book_, out_);
  EXPECT_EQ(out_.of("feed_stall").size(), 2U);
}

}  // namespace
}  // namespace boxcall::infer
