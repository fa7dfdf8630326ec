// The FastF1 timing tables on real lines of the 2023 Bahrain race export.
#include "base/fastf1_tables.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/result.h"
#include "base/time_text.h"

namespace boxcall {
namespace {
namespace fs = std::filesystem;

constexpr const char* kLapsHeader =
    ",Time,Driver,DriverNumber,LapTime,LapNumber,Stint,PitOutTime,PitInTime,Sector1Time,Sector2Time,Sector3Time,"
    "Sector1SessionTime,Sector2SessionTime,Sector3SessionTime,SpeedI1,SpeedI2,SpeedFL,SpeedST,IsPersonalBest,Compound,"
    "TyreLife,FreshTyre,Team,LapStartTime,LapStartDate,TrackStatus,Position,Deleted,DeletedReason,FastF1Generated,"
    "IsAccurate\n";
// VER's in-lap and out-lap, LEC's lap 40 (no lap time), GAS's deleted lap 43: as in
// fastf1/2023_01_bahrain_race/laps.csv (CRLF on one line), plus a line without a driver.
constexpr const char* kLapsLines =
    "13,0 days 01:25:35.611000,VER,1,0 days 00:01:41.295000,14.0,1.0,,0 days 01:25:33.830000,"
    "0 days 00:00:31.427000,0 days 00:00:42.876000,0 days 00:00:26.992000,0 days 01:24:25.743000,"
    "0 days 01:25:08.619000,0 days 01:25:35.611000,229.0,241.0,,,False,SOFT,17.0,False,Red Bull Racing,"
    "0 days 01:23:54.316000,2023-03-05 15:24:56.165,1,1.0,False,,False,False\n"
    "14,0 days 01:27:33.989000,VER,1,0 days 00:01:58.378000,15.0,2.0,0 days 01:25:58.127000,,"
    "0 days 00:00:51.854000,0 days 00:00:42.629000,0 days 00:00:23.895000,0 days 01:26:27.465000,"
    "0 days 01:27:10.094000,0 days 01:27:33.989000,230.0,237.0,279.0,218.0,False,SOFT,1.0,False,Red Bull Racing,"
    "0 days 01:25:35.611000,2023-03-05 15:26:37.460,1,2.0,False,,False,False\r\n"
    "267,0 days 02:08:58.974000,LEC,16,,40.0,3.0,,,,,,,,,,,,,,HARD,7.0,True,Ferrari,0 days 02:07:23.060000,,,,"
    "False,,True,False\n"
    "99,0 days 02:15:12.292000,GAS,10,0 days 00:01:35.942000,43.0,4.0,,,0 days 00:00:30.776000,"
    "0 days 00:00:41.677000,0 days 00:00:23.489000,0 days 02:14:07.076000,0 days 02:14:48.753000,"
    "0 days 02:15:12.242000,230.0,250.0,281.0,295.0,False,SOFT,3.0,True,Alpine,0 days 02:13:36.350000,"
    "2023-03-05 16:14:38.199,1,9.0,True,TRACK LIMITS AT TURN 4 LAP 43 ,False,True\n"
    "100,0 days 02:15:12.292000,,10,,44.0\n";

TimeNs hms(int h, int m, int s, int ms) {
  return ((static_cast<TimeNs>(h) * 3600 + m * 60 + s) * 1000 + ms) * 1'000'000;
}

class FastF1Tables : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("boxcall_fastf1_tables_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }
  fs::path dir_;
};

TEST_F(FastF1Tables, LapsOnRealLines) {
  const FastF1Laps laps = read_fastf1_laps(write("laps.csv", std::string(kLapsHeader) + kLapsLines));
  EXPECT_EQ(laps.skipped, 1U);
  ASSERT_EQ(laps.rows.size(), 4U);

  const FastF1Lap& in = laps.rows[0];
  EXPECT_EQ(in.car, 1);
  EXPECT_EQ(in.driver, DriverCode("VER"));
  EXPECT_EQ(in.time, hms(1, 25, 35, 611));
  EXPECT_EQ(in.start_date, parse_utc_datetime("2023-03-05 15:24:56.165"));
  EXPECT_EQ(in.lap.lap, 14);
  EXPECT_DOUBLE_EQ(*in.lap.lap_time_s, 101.295);
  EXPECT_DOUBLE_EQ(*in.lap.sector1_s, 31.427);
  EXPECT_DOUBLE_EQ(*in.lap.sector2_s, 42.876);
  EXPECT_DOUBLE_EQ(*in.lap.sector3_s, 26.992);
  EXPECT_EQ(in.lap.stint, 1);
  EXPECT_FALSE(in.lap.pit_out_session_ns);
  EXPECT_EQ(in.lap.pit_in_session_ns, hms(1, 25, 33, 830));
  EXPECT_EQ(in.lap.compound, Compound::Soft);
  EXPECT_EQ(in.lap.tyre_life, 17);
  EXPECT_EQ(in.lap.fresh_tyre, false);
  EXPECT_EQ(in.lap.lap_start_session_ns, hms(1, 23, 54, 316));
  EXPECT_EQ(in.lap.track_status, "1");
  EXPECT_EQ(in.lap.position, 1);
  EXPECT_EQ(in.lap.deleted, false);

  const FastF1Lap& out = laps.rows[1];  // the CRLF line
  EXPECT_EQ(out.lap.lap, 15);
  EXPECT_EQ(out.lap.stint, 2);
  EXPECT_EQ(out.lap.pit_out_session_ns, hms(1, 25, 58, 127));
  EXPECT_FALSE(out.lap.pit_in_session_ns);
  EXPECT_EQ(out.lap.position, 2);
  EXPECT_EQ(out.lap.deleted, false);

  const FastF1Lap& lec = laps.rows[2];
  EXPECT_EQ(lec.car, 16);
  EXPECT_EQ(lec.lap.lap, 40);
  EXPECT_FALSE(lec.lap.lap_time_s);
  EXPECT_FALSE(lec.lap.sector1_s);
  EXPECT_FALSE(lec.start_date);
  EXPECT_EQ(lec.lap.compound, Compound::Hard);
  EXPECT_EQ(lec.lap.fresh_tyre, true);
  EXPECT_EQ(lec.lap.track_status, "");
  EXPECT_FALSE(lec.lap.position);

  const FastF1Lap& gas = laps.rows[3];
  EXPECT_EQ(gas.driver, DriverCode("GAS"));
  EXPECT_EQ(gas.lap.position, 9);
  EXPECT_EQ(gas.lap.deleted, true);
}

TEST_F(FastF1Tables, FloatWrittenTrackStatusIsCutAtTheDot) {
  const FastF1Laps laps = read_fastf1_laps(
      write("laps.csv", ",Time,Driver,DriverNumber,LapNumber,TrackStatus\n0,0 days 00:01:40,VER,1,1.0,1.0\n"));
  ASSERT_EQ(laps.rows.size(), 1U);
  EXPECT_EQ(laps.rows[0].lap.track_status, "1");
  EXPECT_FALSE(laps.rows[0].lap.lap_time_s);  // optional columns may be absent
}

TEST_F(FastF1Tables, LapsErrorsAreClear) {
  try {
    (void)read_fastf1_laps(write("laps.csv", ",Time,Driver,LapNumber\n0,0 days 00:01:40,VER,1.0\n"));
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "missing column 'DriverNumber' in " + (dir_ / "laps.csv").string());
  }
  try {
    (void)read_fastf1_laps(dir_ / "nope.csv");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "laps file not found: " + (dir_ / "nope.csv").string());
  }
}

TEST_F(FastF1Tables, TrackStatusOnRealLines) {
  const FastF1TrackStatuses st = read_fastf1_track_status(
      write("track_status.csv",
            ",Time,Status,Message\n0,0 days 00:05:28.637000,1,AllClear\n1,0 days 00:21:59.040000,2,Yellow\n"
            "2,,1,AllClear\n3,0 days 00:22:03.165000,x,AllClear\n"));
  EXPECT_EQ(st.skipped, 2U);
  ASSERT_EQ(st.rows.size(), 2U);
  EXPECT_EQ(st.rows[0].time, hms(0, 5, 28, 637));
  EXPECT_EQ(st.rows[0].code, 1);
  EXPECT_EQ(st.rows[0].message, "AllClear");
  EXPECT_EQ(st.rows[1].code, 2);
  EXPECT_EQ(st.rows[1].message, "Yellow");
  EXPECT_THROW((void)read_fastf1_track_status(write("bad.csv", ",Time,Message\n")), ConfigError);
}

}  // namespace
}  // namespace boxcall
