#pragma once
/// The FastF1 timing tables, parsed in one place: `laps.csv` (FastF1
/// `session.laps`) and `track_status.csv`. The replay source
/// (`sources::FastF1Reader`) makes its timing events from these rows and
/// training (`infer::load_fastf1_race`) its training races; each decides what
/// to do with a row, neither reads the files itself.
///
/// Here and not in src/sources because src/infer may use only base and
/// features (docs/architecture.md), and both need the rows.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/records.h"

namespace boxcall {

/// One row of `laps.csv` with a usable car number (0..65535), driver code and
/// lap number (>= 1).
struct FastF1Lap {
  std::uint16_t car = 0;             ///< DriverNumber
  DriverCode driver;                 ///< Driver ("VER")
  std::optional<TimeNs> time;        ///< Time: session time the lap was completed; missing for an unfinished lap
  std::optional<TimeNs> start_date;  ///< LapStartDate (UTC)
  /// Everything else as the record carries it: LapNumber, LapTime, Sector1..3Time, Position, Compound,
  /// TyreLife, Stint, FreshTyre, LapStartTime, PitInTime, PitOutTime, TrackStatus (a float-written "1.0"
  /// is cut at the dot), Deleted. Missing or unparsable optional cells are nullopt.
  LapCompleted lap;
};

struct FastF1Laps {
  std::vector<FastF1Lap> rows;  ///< in file order
  std::uint64_t skipped = 0;    ///< rows without a usable car number, driver code or lap number
};

/// Reads `laps.csv` (plain or gzip). Throws ConfigError (one line) when the
/// file is missing, empty, or lacks Time, Driver, DriverNumber or LapNumber.
[[nodiscard]] FastF1Laps read_fastf1_laps(const std::filesystem::path& path);

/// One row of `track_status.csv`.
struct FastF1TrackStatus {
  TimeNs time = 0;        ///< session time
  std::int32_t code = 0;  ///< Status: 1 green, 2 yellow, 4 SC, 5 red, 6 VSC, 7 VSC ending
  std::string message;    ///< Message ("AllClear"); empty without the column
};

struct FastF1TrackStatuses {
  std::vector<FastF1TrackStatus> rows;  ///< in file order
  std::uint64_t skipped = 0;            ///< rows without a usable time or status
};

/// Reads `track_status.csv` (plain or gzip). Throws ConfigError when the file
/// is missing, empty, or lacks Time or Status.
[[nodiscard]] FastF1TrackStatuses read_fastf1_track_status(const std::filesystem::path& path);

}  // namespace boxcall
