#include "sources/fastf1_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/result.h"

namespace boxcall::sources {
namespace {
namespace fs = std::filesystem;

constexpr const char* kTelemetryHeader = ",Date,RPM,Speed,nGear,Throttle,Brake,DRS,Source,Time,SessionTime\n";
constexpr const char* kLapsHeader =
    ",Time,Driver,DriverNumber,LapTime,LapNumber,Stint,PitOutTime,PitInTime,Compound,TyreLife,FreshTyre,"
    "LapStartTime,TrackStatus,Position,Deleted\n";

// A tiny export in a fresh temporary directory: two cars (one gzip, one plain).
class TinyExport : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("boxcall_fastf1_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) /
           "2023_99_test_race";
    fs::remove_all(dir_.parent_path());
    fs::create_directories(dir_ / "car_data");
    // Car 1 (gzip): Date - SessionTime = 2023-03-05 14:00:00 for every row.
    write_gz(dir_ / "car_data" / "1_telemetry.csv.gz",
             std::string(kTelemetryHeader) +
                 "0,2023-03-05 14:00:10.000,10000,0,0,104,True,1,car,0 days 00:00:10,0 days 00:00:10\n"
                 "1,2023-03-05 14:00:20.000,11000,100,2,50,False,8,car,0 days 00:00:20,0 days 00:00:20\n"
                 "2,2023-03-05 14:00:30.000,11000,200,3,100,False,12,car,0 days 00:00:30,0 days 00:00:30\n"
                 "this,is,not,a,row\n"
                 "3,2023-03-05 14:00:40.000,11000,300,4,100,False,12,car,0 days 00:00:40,0 days 00:00:40\n");
    write(dir_ / "car_data" / "44_telemetry.csv",
          std::string(kTelemetryHeader) +
              "0,2023-03-05 14:00:15.000,9000,10,1,20,False,0,car,0 days 00:00:15,0 days 00:00:15\n"
              "1,2023-03-05 14:00:25.000,9000,20,1,30,True,0,car,0 days 00:00:25,0 days 00:00:25.500000\n");
    write(dir_ / "laps.csv",
          std::string(kLapsHeader) +
              "0,0 days 00:00:30,VER,1,0 days 00:00:10,1.0,1.0,,0 days 00:00:29,SOFT,4.0,False,"
              "0 days 00:00:20,1,1.0,False\n"
              "1,0 days 00:00:35,HAM,44,0 days 00:00:15,1.0,1.0,,,HARD,1.0,True,0 days 00:00:20,12,2.0,False\n"
              "2,0 days 00:00:40,VER,1,0 days 00:00:10,2.0,2.0,0 days 00:00:31,,HARD,1.0,True,"
              "0 days 00:00:30,1,1.0,False\n"
              "3,garbage\n");
    write(dir_ / "track_status.csv",
          ",Time,Status,Message\n0,0 days 00:00:05,1,AllClear\n1,0 days 00:00:33,4,SCDeployed\n");
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }

  static void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
  static void write_gz(const fs::path& p, const std::string& text) {
    gzFile f = gzopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
    gzclose(f);
  }

  std::vector<Input> read_all(FastF1Reader& r) {
    std::vector<Input> all;
    while (auto in = r.next()) all.push_back(std::move(*in));
    return all;
  }

  fs::path dir_;
};

constexpr TimeNs kOffset = 1'678'024'800'000'000'000;  // 2023-03-05 14:00:00 UTC

TEST_F(TinyExport, MergesByEventTimeWithTimingFirstAtTies) {
  FastF1Reader r(FastF1Paths::from_export_dir(dir_));
  EXPECT_EQ(r.session_id(), "2023_99_test_race");
  EXPECT_EQ(r.car_count(), 2U);
  EXPECT_EQ(r.utc_offset_ns(), kOffset);
  EXPECT_EQ(r.scheduled_laps(), 2);
  auto all = read_all(r);
  EXPECT_EQ(r.samples_read(), 6U);
  EXPECT_EQ(r.skipped_lines(), 2U);  // one telemetry line, one laps line

  TimeNs previous = 0;
  for (const auto& in : all) {
    EXPECT_GE(event_time(in), previous);
    previous = event_time(in);
  }
  // The sample at 30 s (== T(VER, 1)) comes after the lap event at 30 s.
  std::size_t lap1 = 0, sample30 = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (auto* e = std::get_if<TimingEvent>(&all[i])) {
      if (auto* lc = std::get_if<LapCompleted>(&e->body); lc && e->car == 1 && lc->lap == 1) lap1 = i;
    } else if (std::get<TelemetrySample>(all[i]).session_time_ns == 30 * kNsPerSecond) {
      sample30 = i;
    }
  }
  EXPECT_LT(lap1, sample30);
}

TEST_F(TinyExport, DecodesSamples) {
  FastF1Reader r(FastF1Paths::from_export_dir(dir_), "custom");
  EXPECT_EQ(r.session_id(), "custom");
  auto all = read_all(r);
  std::vector<TelemetrySample> ver;
  for (const auto& in : all) {
    if (auto* s = std::get_if<TelemetrySample>(&in); s && s->car == 1) ver.push_back(*s);
  }
  ASSERT_EQ(ver.size(), 4U);
  EXPECT_EQ(ver[0].driver.view(), "VER");
  EXPECT_EQ(ver[0].throttle, 104.0F);  // passes through; the features exclude it
  EXPECT_TRUE(ver[0].brake);
  EXPECT_EQ(ver[0].event_time_ns, kOffset + 10 * kNsPerSecond);
  EXPECT_EQ(ver[2].speed_kph, 200.0F);
  EXPECT_EQ(ver[2].gear, 3);
  EXPECT_EQ(ver[2].drs, 12);
  EXPECT_EQ(ver[2].rpm, 11000.0F);
  EXPECT_EQ(ver[2].source, SampleSource::Car);
}

TEST_F(TinyExport, TimingEventsFromLaps) {
  FastF1Reader r(FastF1Paths::from_export_dir(dir_));
  std::vector<TimingEvent> timing;
  for (auto& in : read_all(r)) {
    if (auto* e = std::get_if<TimingEvent>(&in)) timing.push_back(*e);
  }
  int laps = 0, pit_in = 0, pit_out = 0, status = 0;
  std::vector<std::string> session;
  for (const auto& e : timing) {
    EXPECT_EQ(e.event_time_ns, kOffset + e.session_time_ns);
    if (auto* lc = std::get_if<LapCompleted>(&e.body)) {
      ++laps;
      if (e.car == 1 && lc->lap == 1) {
        EXPECT_EQ(e.driver.view(), "VER");
        EXPECT_EQ(e.session_time_ns, 30 * kNsPerSecond);
        EXPECT_EQ(*lc->lap_start_session_ns, 20 * kNsPerSecond);
        EXPECT_EQ(*lc->pit_in_session_ns, 29 * kNsPerSecond);
        EXPECT_DOUBLE_EQ(*lc->lap_time_s, 10.0);
        EXPECT_EQ(*lc->tyre_life, 4);
        EXPECT_EQ(*lc->stint, 1);
        EXPECT_EQ(lc->compound, Compound::Soft);
        EXPECT_EQ(lc->track_status, "1");
        EXPECT_EQ(*lc->position, 1);
      }
      if (e.car == 1 && lc->lap == 2) {
        EXPECT_EQ(*lc->pit_out_session_ns, 31 * kNsPerSecond);
      }
    } else if (std::holds_alternative<PitIn>(e.body)) {
      ++pit_in;
      EXPECT_EQ(e.session_time_ns, 29 * kNsPerSecond);
    } else if (std::holds_alternative<PitOut>(e.body)) {
      ++pit_out;
      EXPECT_EQ(e.session_time_ns, 31 * kNsPerSecond);
    } else if (auto* ts = std::get_if<TrackStatusChange>(&e.body)) {
      ++status;
      if (e.session_time_ns == 33 * kNsPerSecond) {
        EXPECT_EQ(ts->status, TrackStatus::SafetyCar);
      }
    } else if (auto* info = std::get_if<SessionInfo>(&e.body)) {
      session.push_back(info->status);
      EXPECT_EQ(*info->scheduled_laps, 2);
      if (info->status == "Started") {
        EXPECT_EQ(e.session_time_ns, 20 * kNsPerSecond);  // min lap-1 start
      }
      if (info->status == "Finished") {
        EXPECT_EQ(e.session_time_ns, 40 * kNsPerSecond);
      }
    }
  }
  EXPECT_EQ(laps, 3);
  EXPECT_EQ(pit_in, 1);
  EXPECT_EQ(pit_out, 1);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(session, (std::vector<std::string>{"Started", "Finished"}));
}

TEST_F(TinyExport, FinishedComesAfterTheLastLap) {
  FastF1Reader r(FastF1Paths::from_export_dir(dir_));
  std::optional<Input> last_timing;
  for (auto& in : read_all(r)) {
    if (std::holds_alternative<TimingEvent>(in)) last_timing = in;
  }
  ASSERT_TRUE(last_timing);
  const auto* info = std::get_if<SessionInfo>(&std::get<TimingEvent>(*last_timing).body);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->status, "Finished");
}

TEST_F(TinyExport, MissingFilesAreConfigErrors) {
  FastF1Paths p = FastF1Paths::from_export_dir(dir_);
  p.car_data_dir = dir_ / "nope";
  EXPECT_THROW(FastF1Reader{p}, ConfigError);
  p = FastF1Paths::from_export_dir(dir_);
  p.laps_file = dir_ / "nope.csv";
  EXPECT_THROW(FastF1Reader{p}, ConfigError);
  p = FastF1Paths::from_export_dir(dir_);
  p.car_data_dir = dir_;  // a directory without telemetry files
  EXPECT_THROW(FastF1Reader{p}, ConfigError);
}

TEST(SessionId, FromCarDataDir) {
  EXPECT_EQ(session_id_from_car_data_dir("/x/2023_01_bahrain_race/car_data"), "2023_01_bahrain_race");
  EXPECT_EQ(session_id_from_car_data_dir("/x/2023_01_bahrain_race/car_data/"), "2023_01_bahrain_race");
  EXPECT_EQ(session_id_from_car_data_dir("/x/some_export"), "some_export");
}

TEST(Bahrain, WholeRaceInEventTimeOrder) {
  const fs::path dir = fs::path(BOXCALL_SHARED_DATA) / "fastf1" / "2023_01_bahrain_race";
  if (!fs::exists(dir / "laps.csv")) GTEST_SKIP() << "no shared data at " << dir;
  FastF1Reader r(FastF1Paths::from_export_dir(dir));
  EXPECT_EQ(r.session_id(), "2023_01_bahrain_race");
  EXPECT_EQ(r.car_count(), 20U);
  EXPECT_EQ(r.scheduled_laps(), 57);
  EXPECT_EQ(r.utc_offset_ns(), 1'678'024'861'849'000'000);  // 2023-03-05 14:01:01.849
  std::size_t laps = 0, started = 0;
  TimeNs previous = 0, start_time = 0;
  bool order_ok = true;
  while (auto in = r.next()) {
    order_ok = order_ok && event_time(*in) >= previous;
    previous = event_time(*in);
    if (auto* e = std::get_if<TimingEvent>(&*in)) {
      if (std::holds_alternative<LapCompleted>(e->body)) ++laps;
      if (auto* info = std::get_if<SessionInfo>(&e->body); info && info->status == "Started") {
        ++started;
        start_time = e->session_time_ns;
      }
    }
  }
  EXPECT_TRUE(order_ok);
  EXPECT_EQ(r.samples_read(), 721'300U);
  EXPECT_EQ(r.skipped_lines(), 0U);
  EXPECT_EQ(laps, 1056U);
  EXPECT_EQ(started, 1U);
  EXPECT_EQ(start_time, ((1 * 60 + 2) * 60 + 36) * kNsPerSecond + 652'000'000);  // 01:02:36.652
}

}  // namespace
}  // namespace boxcall::sources
