#pragma once
// A capture generator for tests: F1 game UDP packets (spec-exact, any of the
// three formats) built from the real 2023 Bahrain GP in ../shared/data (FastF1
// export: car data at ~4 Hz, the laps table, track status), as if the race had
// been driven in the game and its telemetry captured at `hz` frames per second.
// Generated at test time, never committed: the data stays in ../shared.
//
// What a frame holds: Motion (no X/Y/Z in this export: zeros), Lap Data (lap
// number, current lap time, sector times once passed, last lap time, position,
// pit status between pit-in and pit-out), Car Telemetry (each car's latest
// FastF1 sample), Car Status (compound: SOFT/MEDIUM/HARD as visual 16/17/18 and
// actual C3/C2/C1, the 2023 Bahrain allocation; tyre age = TyreLife - 1), and
// on slower cycles Session (2 Hz, safety car from the track status),
// Participants (every 5 s), Session History (one car per frame) and events.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/records.h"

namespace boxcall::testing::f1udp {

struct BahrainCaptureOptions {
  std::filesystem::path export_dir;  ///< ../shared/data/fastf1/2023_01_bahrain_race
  int format = 2024;
  double hz = 10;
  int from_lap = 1;  ///< the window: from this lap's start (leader) ...
  int to_lap = 3;    ///< ... to the end of this lap (leader), plus a few seconds
  std::uint64_t session_uid = 0x00b4a1'2023'0305ULL;
};

struct BahrainCaptureInfo {
  std::uint32_t packets = 0;
  double seconds = 0;           ///< capture duration
  TimeNs first_session_ns = 0;  ///< session time of the first frame
  /// Laps whose end falls in the window, by car number: the FastF1 facts the capture carries.
  std::map<int, std::vector<LapCompleted>> laps;
  std::map<int, std::vector<TimeNs>> lap_end_session_ns;
  std::map<int, std::string> drivers;
  std::size_t pit_ins = 0, pit_outs = 0;
};

/// Writes the capture to `out` (capture container of src/sources/f1udp/capture.h).
BahrainCaptureInfo make_bahrain_capture(const BahrainCaptureOptions& options, const std::filesystem::path& out);

}  // namespace boxcall::testing::f1udp
