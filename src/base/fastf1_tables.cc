#include "base/fastf1_tables.h"

#include "base/csv.h"
#include "base/result.h"
#include "base/time_text.h"

namespace boxcall {
namespace fs = std::filesystem;

FastF1Laps read_fastf1_laps(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("laps file not found: " + path.string());
  const csv::Table t = csv::Table::read(path);
  const int c_time = t.require("Time"), c_driver = t.require("Driver"), c_number = t.require("DriverNumber"),
            c_lap = t.require("LapNumber");
  const int c_lap_time = t.col("LapTime"), c_stint = t.col("Stint"), c_pit_out = t.col("PitOutTime"),
            c_pit_in = t.col("PitInTime"), c_s1 = t.col("Sector1Time"), c_s2 = t.col("Sector2Time"),
            c_s3 = t.col("Sector3Time"), c_compound = t.col("Compound"), c_tyre = t.col("TyreLife"),
            c_fresh = t.col("FreshTyre"), c_start = t.col("LapStartTime"), c_start_date = t.col("LapStartDate"),
            c_status = t.col("TrackStatus"), c_position = t.col("Position"), c_deleted = t.col("Deleted");
  FastF1Laps out;
  out.rows.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto number = csv::to_int(t.at(i, c_number));
    auto lap = csv::to_int(t.at(i, c_lap));
    const std::string_view code = t.at(i, c_driver);
    if (!number || *number < 0 || *number > 65535 || !lap || *lap < 1 || code.empty()) {
      ++out.skipped;
      continue;
    }
    auto seconds = [&](int c) -> std::optional<double> {
      auto ns = parse_timedelta(t.at(i, c));
      return ns ? std::optional<double>(ns_to_s(*ns)) : std::nullopt;
    };
    FastF1Lap& row = out.rows.emplace_back();
    row.car = static_cast<std::uint16_t>(*number);
    row.driver = DriverCode(code);
    row.time = parse_timedelta(t.at(i, c_time));
    row.start_date = parse_utc_datetime(t.at(i, c_start_date));
    LapCompleted& lc = row.lap;
    lc.lap = *lap;
    lc.lap_time_s = seconds(c_lap_time);
    lc.sector1_s = seconds(c_s1);
    lc.sector2_s = seconds(c_s2);
    lc.sector3_s = seconds(c_s3);
    lc.position = csv::to_int(t.at(i, c_position));
    lc.compound = compound_from_string(t.at(i, c_compound));
    lc.tyre_life = csv::to_int(t.at(i, c_tyre));
    lc.stint = csv::to_int(t.at(i, c_stint));
    lc.fresh_tyre = csv::to_bool(t.at(i, c_fresh));
    lc.lap_start_session_ns = parse_timedelta(t.at(i, c_start));
    lc.pit_in_session_ns = parse_timedelta(t.at(i, c_pit_in));
    lc.pit_out_session_ns = parse_timedelta(t.at(i, c_pit_out));
    std::string_view status = t.at(i, c_status);
    if (auto dot = status.find('.'); dot != std::string_view::npos) status = status.substr(0, dot);  // "1.0"
    lc.track_status = std::string(status);
    lc.deleted = csv::to_bool(t.at(i, c_deleted));
  }
  return out;
}

FastF1TrackStatuses read_fastf1_track_status(const fs::path& path) {
  if (!fs::is_regular_file(path)) throw ConfigError("track status file not found: " + path.string());
  const csv::Table t = csv::Table::read(path);
  const int c_time = t.require("Time"), c_status = t.require("Status"), c_message = t.col("Message");
  FastF1TrackStatuses out;
  out.rows.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto time = parse_timedelta(t.at(i, c_time));
    auto code = csv::to_int(t.at(i, c_status));
    if (!time || !code) {
      ++out.skipped;
      continue;
    }
    out.rows.push_back(FastF1TrackStatus{*time, *code, std::string(t.at(i, c_message))});
  }
  return out;
}

}  // namespace boxcall
