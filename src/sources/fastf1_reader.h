#pragma once
/// A RecordSource over a FastF1 export: per-car `<number>_telemetry.csv[.gz]`
/// files (FastF1 `session.car_data`) merged by event time with the timing
/// events derived from `laps.csv` (and, when given, `track_status.csv` and
/// `weather_data.csv`).
///
/// Memory is bounded: the telemetry files are read one line at a time (zlib
/// reads plain and gzip files alike), one buffered row per car; only the small
/// timing tables are loaded whole. Event time is UTC: the session's offset
/// (`Date - SessionTime`, constant in FastF1 car data) is taken from the first
/// telemetry row and every session time is mapped through it, so event-time
/// order and session-time order agree. At equal times, timing events come
/// before samples: a sample at exactly T(c, L) belongs to lap L + 1.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sources/source.h"

namespace boxcall::sources {

/// Where the files of one FastF1 export are.
struct FastF1Paths {
  std::filesystem::path car_data_dir;  ///< holds `<number>_telemetry.csv[.gz]`; empty: timing events only
                                       ///< (event time = session time, no UTC offset)
  std::filesystem::path laps_file;
  std::optional<std::filesystem::path> track_status_file;
  std::optional<std::filesystem::path> weather_file;

  /// The layout of the shared data: `<dir>/car_data/`, `<dir>/laps.csv` and,
  /// when present, `<dir>/track_status.csv` and `<dir>/weather_data.csv`.
  [[nodiscard]] static FastF1Paths from_export_dir(const std::filesystem::path& dir);
};

/// The session id a FastF1 export is known by: the export directory's name
/// ("2023_01_bahrain_race"), found from its `car_data` directory or itself.
[[nodiscard]] std::string session_id_from_car_data_dir(const std::filesystem::path& car_data_dir);

class FastF1Reader final : public RecordSource {
 public:
  /// Opens every file and loads the timing tables. Throws ConfigError (one
  /// clear line) when a directory or file is missing or has no usable header.
  /// An empty `session_id` is derived from the car data directory.
  explicit FastF1Reader(FastF1Paths paths, std::string session_id = {});
  ~FastF1Reader() override;
  FastF1Reader(const FastF1Reader&) = delete;
  FastF1Reader& operator=(const FastF1Reader&) = delete;

  [[nodiscard]] const std::string& session_id() const override;
  [[nodiscard]] std::optional<Input> next() override;

  /// CSV lines that could not be decoded (wrong field count, unparseable
  /// required value), skipped and counted, over all files read so far.
  [[nodiscard]] std::uint64_t skipped_lines() const;
  /// Telemetry samples returned so far.
  [[nodiscard]] std::uint64_t samples_read() const;
  /// Number of cars with a telemetry file.
  [[nodiscard]] std::size_t car_count() const;
  /// `Date - SessionTime` of the telemetry: event time = this + session time.
  [[nodiscard]] TimeNs utc_offset_ns() const;
  /// Highest LapNumber in the laps table (the scheduled laps offline).
  [[nodiscard]] std::int32_t scheduled_laps() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace boxcall::sources
