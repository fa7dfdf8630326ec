#pragma once
/// The live view: what the pit-wall page, the query API and the terminal
/// summary show, built from boxcall's acknowledged outputs only (LapFeatures,
/// FeatureSnapshot, StrategyPrediction, Alert). Thread-safe: one writer (the
/// feed's worker thread) applies batches, any number of readers (HTTP
/// handlers, the terminal summary) take JSON or copies under a short lock.
/// The processing loop never touches it (see feed.h).
///
/// Every change is also an event in a bounded ring with a global sequence
/// number, so that a page can load a session's state (which carries the last
/// sequence it includes) and then follow the events after it (SSE).
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/records.h"
#include "serve/output_decode.h"

namespace boxcall::serve {

/// One completed lap of a car, as the lap-time chart draws it.
struct LapPoint {
  std::int32_t lap = 0;
  std::optional<double> lap_time_s;
  std::optional<std::int32_t> stint;
  Compound compound = Compound::Unknown;
  std::optional<std::int32_t> tyre_age;
  /// What boxcall predicted for this lap after the previous one.
  std::optional<double> predicted_s;
};

struct CarState {
  std::uint16_t car = 0;
  DriverCode driver;
  std::optional<LapFeatures> last_lap;  ///< the newest lap's features
  std::optional<StrategyPrediction> prediction;
  std::optional<FeatureSnapshot> snapshot;
  std::map<std::string, Alert> open_alerts;  ///< by kind
  std::deque<LapPoint> laps;                 ///< oldest first, bounded
  std::map<std::int32_t, double> predicted;  ///< lap -> predicted lap time (made at lap - 1)
};

struct SessionState {
  std::string id;
  std::map<std::uint16_t, CarState> cars;
  std::map<std::string, Alert> open_session_alerts;  ///< car 0, by kind
  std::deque<Alert> alert_feed;                      ///< newest last, bounded
  std::int32_t leader_lap = 0;
  std::optional<std::int32_t> scheduled_laps;
  std::string model_version;
  TimeNs last_event_ns = 0;
  std::chrono::system_clock::time_point updated{};
  std::uint64_t outputs = 0;
};

struct LiveViewLimits {
  std::size_t max_sessions = 200;  ///< beyond: the least recently updated session is dropped
  std::size_t laps_per_car = 300;
  std::size_t alert_feed = 200;
  /// Recent changes kept for clients that reconnect (`?since=`); an older cursor reloads the state.
  /// Bounded by count and by bytes, whichever binds first: a full ring is the view's largest part
  /// (5 races of 20 cars publish ~100 changes/s of ~300 bytes each).
  std::size_t event_ring = 20'000;
  std::size_t event_ring_bytes = 8u << 20;
};

/// One change, ready to send as a Server-Sent Event.
struct LiveEvent {
  std::uint64_t seq = 0;
  std::string session;
  std::string type;  ///< car | lap | alert | session
  std::string data;  ///< one JSON object
};

class LiveView {
 public:
  explicit LiveView(LiveViewLimits limits = {});

  /// Applies a batch of outputs in order (the feed's worker), then tells the listeners.
  void apply(std::span<const SessionOutput> batch);
  /// Called after every applied batch, outside the lock (e.g. to wake SSE clients).
  /// Returns a token for remove_listener (call it before the listener's owner dies).
  std::size_t on_change(std::function<void()> listener);
  void remove_listener(std::size_t token);

  /// `{"sessions":[...]}`: one summary per session, most recently updated first.
  [[nodiscard]] std::string sessions_json() const;
  /// The whole state of a session (cars with lap histories, alerts, feed) and the
  /// `seq` of the last event it includes; nullopt if unknown.
  [[nodiscard]] std::optional<std::string> session_json(std::string_view id) const;
  [[nodiscard]] bool has_session(std::string_view id) const;
  /// A copy of a session's state (terminal summary, tests).
  [[nodiscard]] std::optional<SessionState> session(std::string_view id) const;
  [[nodiscard]] std::vector<std::string> session_ids() const;
  /// Model versions named by the newest predictions of the live sessions.
  [[nodiscard]] std::set<std::string> model_versions() const;

  struct EventsAfter {
    std::vector<LiveEvent> events;  ///< of the session (every session if empty), seq > since
    std::uint64_t next_since = 0;   ///< pass back next time
    bool gap = false;               ///< events after `since` left the ring: reload the state
  };
  [[nodiscard]] EventsAfter events_after(std::string_view session, std::uint64_t since, std::size_t max) const;
  [[nodiscard]] std::uint64_t last_seq() const;

 private:
  void push_event(const std::string& session, std::string type, std::string data);
  SessionState& session_for(const std::string& id);

  LiveViewLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, SessionState, std::less<>> sessions_;
  std::deque<LiveEvent> ring_;
  std::size_t ring_bytes_ = 0;
  std::uint64_t seq_ = 0;
  std::map<std::size_t, std::function<void()>> listeners_;
  std::size_t next_listener_ = 0;
};

/// The JSON forms the API and the page share (docs/openapi.yaml).
std::string car_row_json(const SessionState& s, const CarState& c, bool with_laps);

}  // namespace boxcall::serve
