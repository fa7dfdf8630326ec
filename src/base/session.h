#pragma once
/// The one seam between the transport and the race logic.
///
/// The stream layer (live, from Kafka) and the offline driver (`features`,
/// `backtest`, `train`, tests, benchmarks) decode records, validate them, put
/// them in event-time order and hand them to one `SessionHandler` per session.
/// What a handler computes goes out through an `OutputSink`. The stream layer
/// knows nothing of laps, tyres or models; the handler knows nothing of Kafka.
///
///     records ──> [stream::Processor | sources::drive] ──> SessionHandler ──> OutputSink
///
/// A handler is fed from one thread; it never throws on bad input: a record it
/// cannot use comes back as an `Error` (the caller dead-letters it).
#include <chrono>
#include <memory>
#include <string_view>

#include "base/records.h"
#include "base/result.h"

namespace boxcall {

/// What became of a record a handler accepted.
enum class Applied : std::uint8_t {
  Ok,         ///< it contributed to the session's state
  Duplicate,  ///< it repeated what the session already had (dropped, counted)
};

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;

  /// One record. In event-time order unless `late`: a late record arrived
  /// behind records already handed over, within the allowed lateness; the
  /// handler places it where it still can or returns `Reason::Late`.
  /// Errors are values: the caller sends the record to the dead-letter topic.
  [[nodiscard]] virtual Result<Applied> on_record(const Input& record, bool late, OutputSink& out) = 0;

  /// Processing time passed (the live loop's tick): checks that need a wall
  /// clock, such as a feed that stopped altogether. Offline drivers never call it.
  virtual void on_tick(std::chrono::steady_clock::time_point now, OutputSink& out) = 0;

  /// True once the session reported its end: the caller may evict it when quiet.
  [[nodiscard]] virtual bool finished() const = 0;
};

/// Makes the handler of each new session (one per session id).
class SessionHandlerFactory {
 public:
  virtual ~SessionHandlerFactory() = default;
  [[nodiscard]] virtual std::unique_ptr<SessionHandler> create(std::string_view session_id) = 0;
  /// Processing-time housekeeping shared by every session (e.g. model reloads).
  virtual void on_tick(std::chrono::steady_clock::time_point /*now*/) {}
};

}  // namespace boxcall
