#pragma once
/// Publishes RecordSources (a FastF1 export, the synthetic race, live-timing
/// files) and boxcall recordings to Kafka: records merged across sources in
/// event-time order, keyed by session id, paced at a multiple of real time or
/// as fast as possible. Used by the embedded default, `boxcall replay` and
/// `boxcall synth`, and the integration tests.
///
/// Pacing: the first published record anchors event time to the wall clock;
/// record r is sent no earlier than anchor + (t(r) - t(first)) / speed. Order
/// is never changed to keep the pace: a late record is sent at once.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "sources/source.h"
#include "stream/config.h"

namespace boxcall::replay {

class RecordingReader;
class RecordingWriter;

/// A record for the dead-letter topic (e.g. a malformed live-timing line):
/// key, the untouched bytes, and headers such as boxcall.reason and boxcall.source.
struct DeadLetter {
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Where a publish run is, for progress bars. Called on the publishing thread.
struct PublishProgress {
  std::uint64_t records = 0;    ///< published so far, every topic
  std::uint64_t bytes = 0;      ///< key + value bytes so far
  TimeNs event_elapsed_ns = 0;  ///< event time since the first published record
  double wall_seconds = 0;
};

struct PublishOptions {
  /// Event-time speed-up: 1 = real time, 10 = ten times faster; 0 = as fast as possible.
  double speed = 0;
  /// librdkafka producer properties on top of boxcall's defaults.
  std::map<std::string, std::string> kafka;
  std::chrono::milliseconds flush_timeout{std::chrono::seconds(60)};
  /// Stops early when set.
  const std::atomic<bool>* stop = nullptr;
  /// Window: sources by session time, recordings by time since their first record.
  /// Records before `from_ns` are skipped (no wait), the run ends after `to_ns`.
  std::optional<TimeNs> from_ns, to_ns;
  /// Stop after this many records (0: no limit).
  std::uint64_t limit = 0;
  /// Called about every `progress_interval` while publishing (also while waiting).
  std::function<void(const PublishProgress&)> on_progress;
  std::chrono::milliseconds progress_interval{250};
  /// Sources: filled by the sources' reject handlers (e.g. LiveTimingSource),
  /// drained after every read and published to `topics.dead_letter`.
  std::vector<DeadLetter>* dead_letters = nullptr;
  /// Recordings: recorded topic name -> topic to publish to (unlisted: same name).
  std::map<std::string, std::string> topic_map;
  /// Recordings: publish to the recorded partition instead of the key's partition.
  bool keep_partitions = false;
  /// The clock that paces the records and times the run (null: the steady clock).
  Clock* clock = nullptr;
};

struct PublishStats {
  std::uint64_t telemetry = 0;
  std::uint64_t timing = 0;
  std::uint64_t dead_letter = 0;
  std::uint64_t other = 0;   ///< recordings: records of other topics
  std::uint64_t failed = 0;  ///< not acknowledged by the broker
  std::uint64_t bytes = 0;
  double seconds = 0;        ///< wall time from the first published record, flush included
  TimeNs event_span_ns = 0;  ///< event time from the first to the last published record
  [[nodiscard]] std::uint64_t records() const { return telemetry + timing + dead_letter + other; }
  [[nodiscard]] double rate() const { return seconds > 0 ? static_cast<double>(records()) / seconds : 0; }
};

/// Blocks until every source is exhausted (or `stop`, the window's end, the
/// limit), then flushes. Throws ConfigError when the brokers cannot be reached.
PublishStats publish_sources(std::vector<std::unique_ptr<sources::RecordSource>> sources, const std::string& brokers,
                             const stream::TopicNames& topics, const PublishOptions& options);

/// Publishes a recording's records in file order with their recorded key,
/// value and header bytes, paced by the recorded timestamps. Throws
/// ConfigError on unreachable brokers or a corrupt recording.
PublishStats publish_recording(RecordingReader& recording, const std::string& brokers, const stream::TopicNames& topics,
                               const PublishOptions& options);

/// Writes sources to a recording instead of Kafka (no broker): what
/// publish_sources would publish, with timestamp = event time (ms) and
/// partition -1, so a replay of the file keeps the event-time pacing.
/// Honours the window, limit, stop and progress options (speed is ignored).
PublishStats record_sources(std::vector<std::unique_ptr<sources::RecordSource>> sources,
                            const stream::TopicNames& topics, RecordingWriter& out, const PublishOptions& options);

}  // namespace boxcall::replay
