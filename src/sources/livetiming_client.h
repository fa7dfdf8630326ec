#pragma once
/// A live client of F1's live-timing service (classic ASP.NET SignalR, as at
/// livetiming.formula1.com/signalr) as a RecordSource.
///
/// Protocol: GET {url}/negotiate (connection token, cookies), WebSocket
/// {url}/connect?transport=webSockets..., GET {url}/start, then the hub call
/// Streaming.Subscribe([topics]); the reply's "R" is the current state of every
/// topic, then "feed" messages carry [topic, delta, UTC]. Each message goes
/// through the recorded-file adapter's own parsing (LiveTimingParser), so live
/// and recorded input give the same records.
///
/// Disconnects: the client reconnects with exponential backoff; first with
/// SignalR's /reconnect and the last message id (the server resends what was
/// missed), else from scratch (negotiate, connect, subscribe: the new state
/// snapshot is diffed against what the client holds and only the difference is
/// fed). Messages the server sends twice (same topic, time and data) are
/// dropped. `record_dir` receives every message used as <Topic>.jsonStream
/// lines plus StartUtc.txt: a directory `boxcall replay` reads back.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sources/livetiming.h"
#include "sources/source.h"

namespace boxcall::sources {

struct LiveTimingClientOptions {
  /// SignalR base URL: http(s)://host[:port]/path (ws/wss are derived).
  std::string url = "https://livetiming.formula1.com/signalr";
  std::string hub = "Streaming";
  /// Topics subscribed: what the file adapter parses, plus Heartbeat.
  std::vector<std::string> topics = {"Heartbeat",           "TimingData", "TimingAppData", "TrackStatus",
                                     "RaceControlMessages", "LapCount",   "SessionStatus", "SessionInfo",
                                     "WeatherData",         "DriverList", "CarData.z",     "Position.z"};
  std::string session_id;              ///< empty: from SessionInfo (date_meeting_session), else livetiming-<date>
  std::optional<TimeNs> start_utc_ns;  ///< UTC of session time 0; default: the first message's time
  LiveTimingOptions parser;
  std::filesystem::path record_dir;  ///< empty: no recording
  std::chrono::milliseconds backoff_min{500}, backoff_max{30'000};
  int max_attempts = 0;                            ///< consecutive failed connects before giving up; 0: never
  std::chrono::milliseconds idle_timeout{30'000};  ///< no message (not even a keep-alive) for this long: reconnect
  const std::atomic<bool>* stop = nullptr;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  /// Connection events, for the log ("connected", "disconnected: ...", "reconnecting in 2.0 s").
  std::function<void(const std::string&)> on_event;
  std::function<void(const RejectedLine&)> on_reject;
};

struct LiveTimingClientStats {
  std::uint64_t messages = 0;        ///< feed messages used
  std::uint64_t duplicates = 0;      ///< feed messages dropped as already seen
  std::uint64_t snapshots = 0;       ///< topic snapshots received (subscribe replies)
  std::uint64_t snapshot_diffs = 0;  ///< snapshots that differed from the client's state (fed as a delta)
  std::uint64_t connects = 0, reconnects = 0, resumed = 0;  ///< resumed: /reconnect accepted
  std::uint64_t rejected = 0;
};

class LiveTimingClient final : public RecordSource {
 public:
  /// Throws ConfigError on a malformed URL or an unwritable record_dir. Connects in the background.
  explicit LiveTimingClient(LiveTimingClientOptions options);
  ~LiveTimingClient() override;
  LiveTimingClient(const LiveTimingClient&) = delete;
  LiveTimingClient& operator=(const LiveTimingClient&) = delete;

  [[nodiscard]] const std::string& session_id() const override;
  /// Blocks until a record is ready; nullopt once stopped (or given up) and drained.
  [[nodiscard]] std::optional<Input> next() override;
  [[nodiscard]] LiveTimingClientStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace boxcall::sources
