#pragma once
/// A RecordSource over F1 live-timing recordings: the SignalR feed as served
/// by livetiming.formula1.com, turned into boxcall timing events and samples.
///
/// Inputs (`path`):
///  - a session directory of `<Topic>.jsonStream` files (lines
///    `HH:MM:SS.mmm{json}`, session-relative times, optional UTF-8 BOM),
///    merged by time;
///  - one `<Topic>.jsonStream` file;
///  - a FastF1 live-data recording (`fastf1.livetiming` client output: lines
///    `['Topic', {data}, '2021-03-28T14:52:30.444Z']`, absolute UTC times).
///
/// Each line is a delta: it is merged recursively into the topic's state
/// (objects key by key; an array in a delta replaces nothing, its elements
/// are addressed by index as `"0"`, `"1"`... like the feed's own dict deltas).
/// Records produced:
///  - TimingData: LapCompleted when a driver's `NumberOfLaps` increases (lap
///    time from `LastLapTime`, sectors, position; compound, stint and tyre
///    age from TimingAppData `Stints`), PitIn / PitOut on `InPit` / `PitOut`
///    turning true;
///  - TrackStatus: TrackStatusChange; RaceControlMessages: RaceControlMessage;
///  - LapCount: SessionInfo with `scheduled_laps` (TotalLaps); SessionStatus:
///    SessionInfo with the status; WeatherData: Weather;
///  - CarData.z / Position.z (base64 + raw deflate JSON): TelemetrySample
///    (source LiveTiming) with the car's latest position.
/// The lap time can arrive a little before or after the lap count: a lap is
/// held until its `LastLapTime` arrives or `lap_hold` passes, and records are
/// released in time order through a small reorder buffer.
///
/// Times: jsonStream times are session-relative. The UTC of session time 0 is
/// `start_utc_ns` when given, else the one in the directory's StartUtc.txt
/// (written by `boxcall ingest livetiming --record`), else the date in the directory name
/// (`2018-04-29_...`) plus `start_time_of_day` when given, else derived from
/// the RaceControlMessages' `Utc` stamps, else midnight of that date.
///
/// Malformed lines never stop the source: each is skipped, counted by
/// reason and passed to the reject handler (file:line, reason, detail, text).
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "sources/source.h"

namespace boxcall::sources {

struct LiveTimingOptions {
  std::string session_id;                      ///< empty: the directory (or file stem) name
  std::optional<TimeNs> start_utc_ns;          ///< UTC of session time 0
  std::optional<TimeNs> start_time_of_day_ns;  ///< with the directory's date, when start_utc_ns is unset
  TimeNs lap_hold_ns = 5 * kNsPerSecond;       ///< how long a lap waits for its LastLapTime
};

/// A line that could not be used.
struct RejectedLine {
  std::string source;  ///< "file:line"
  Reason reason;       ///< malformed_json, missing_field, out_of_range (bad timestamp)
  std::string detail;
  std::string text;  ///< the line as read (BOM and newline removed)
};

class LiveTimingSource final : public RecordSource {
 public:
  /// Throws ConfigError when `path` does not exist or holds no live-timing file.
  explicit LiveTimingSource(const std::filesystem::path& path, LiveTimingOptions options = {});
  ~LiveTimingSource() override;
  LiveTimingSource(const LiveTimingSource&) = delete;
  LiveTimingSource& operator=(const LiveTimingSource&) = delete;

  [[nodiscard]] const std::string& session_id() const override;
  [[nodiscard]] std::optional<Input> next() override;

  /// Called for every rejected line, as it is read.
  void on_reject(std::function<void(const RejectedLine&)> handler);
  /// Rejected lines so far, by reason (index: Reason).
  [[nodiscard]] const std::array<std::uint64_t, static_cast<std::size_t>(Reason::kCount)>& rejected() const;
  [[nodiscard]] std::uint64_t rejected_total() const;
  /// Lines read (accepted or not) over all files.
  [[nodiscard]] std::uint64_t lines_read() const;
  /// UTC of session time 0 as used.
  [[nodiscard]] TimeNs start_utc_ns() const;

 private:
  friend class LiveTimingParser;  // the same parsing, fed by a live client
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The same parsing fed message by message, for a live client: each message
/// is one delta of a topic at a session time (UTC - start_utc_ns). Records come
/// out of pop() in time order once the reorder window (lap_hold + 1 s of feed
/// time) has passed them; finish() releases the rest. Legacy (pre-2019)
/// compound names are ranked by the names seen so far, as no file can be
/// scanned ahead.
class LiveTimingParser {
 public:
  explicit LiveTimingParser(TimeNs start_utc_ns, LiveTimingOptions options = {});
  ~LiveTimingParser();
  LiveTimingParser(const LiveTimingParser&) = delete;
  LiveTimingParser& operator=(const LiveTimingParser&) = delete;

  void on_reject(std::function<void(const RejectedLine&)> handler);
  /// `json_text`: the message's data (an object, or a string for CarData.z / Position.z).
  void push(std::string_view topic, TimeNs session_time_ns, std::string_view json_text, std::string where);
  [[nodiscard]] std::optional<Input> pop();
  void finish();
  [[nodiscard]] TimeNs start_utc_ns() const;
  [[nodiscard]] std::uint64_t rejected_total() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// True when `path` looks like live-timing input (a directory with a
/// .jsonStream file, a .jsonStream file, or a FastF1 live-data file).
[[nodiscard]] bool is_live_timing(const std::filesystem::path& path);

/// Base64 (standard alphabet, padding optional) to bytes; nullopt on bad input.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);
/// Raw-deflate (no zlib header: window bits -15) to bytes; nullopt on bad input.
[[nodiscard]] std::optional<std::string> inflate_raw(std::string_view data);

/// Merges a live-timing delta into the topic's state, as the feed means it: arrays
/// become objects keyed by index ("0", "1"...), the form later deltas address them
/// in. Shared by the recording reader and the live client.
void merge_delta(nlohmann::json& dst, const nlohmann::json& src);

}  // namespace boxcall::sources
