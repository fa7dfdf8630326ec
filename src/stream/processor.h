#pragma once
/// The processing core of the stream layer, free of Kafka so that tests and
/// benchmarks drive it directly: records in (with their source position),
/// decoded, validated, routed to their session, put in event-time order and
/// handed to the session's `SessionHandler` (base/session.h); outputs and dead
/// letters out through a Publisher; offsets tracked so that only positions
/// whose derived outputs were all acknowledged get committed. It knows no race
/// logic: what a session computes is the handler's business.
///
/// Event time (docs/operations.md, "Event time and watermarks"):
///  - A record's event time is bounded before it moves anything: more than
///    `max_ahead_of_wall_clock` past this machine's clock, it is dead-lettered
///    (`event_time_out_of_range`); more than `max_event_time_step` past the
///    newest event time of its session, it is held aside until the next record
///    of the same input confirms the jump (then both go on) or contradicts it
///    (then it is dead-lettered). One bad timestamp changes nothing.
///  - Each session has a watermark W = min over its two inputs of (newest event
///    time seen there - max out-of-orderness). An input whose partition is read
///    to its end (nothing fetched and unread, known from a fresh fetch) and on
///    which the session has had no record for `input_idle` does not hold W back.
///    A session silent past `idle_timeout` releases all. Records are handed to
///    the handler in event-time order once W passes them; a timing record of a
///    car also waits for that car's telemetry to pass it (or for the session's
///    telemetry to be `car_align_grace` past it), so a lap's last samples are
///    not lost to the race between two partitions.
///  - Backpressure, not early release: when one input of a session runs ahead
///    (a backlog, a restart, a slow producer) and its reorder buffer reaches
///    `pause_buffered_records`, the partition of the input that is ahead is paused
///    until the other catches up, or stops holding the session (idle, see
///    `input_idle`). Only a memory bound beyond that (`max_buffered_records`)
///    releases early.
///  - A record behind what was already released is late: within the allowed
///    lateness the handler places it if it still can; beyond, it is
///    dead-lettered (`late`). A sample behind the session but after its own
///    car's last sample is in order for everything per car and is applied.
///
/// Delivery: every session pins the first offset it consumed on each input
/// partition until it ends and its outputs are acknowledged; a dead letter
/// pins its own offset until acknowledged. The commit position of a partition
/// is the lowest pin (or the next offset when nothing is pinned), so a crash
/// re-reads what is needed to rebuild state and never loses an output.
///
/// Exactly-once replay (replay_ledger.h): every session counts the outputs it
/// emits while applying records (dead letters raised in its name included;
/// the handlers' processing-time outputs of `tick` are not counted: they are
/// not a function of the records). A ledger loaded for a partition makes a
/// re-read session suppress as many outputs as were already committed, and
/// records dead-lettered before reaching a session suppress theirs below the
/// ledger's offset, so the replay rebuilds state without publishing again.
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/delivery.h"
#include "base/records.h"
#include "base/result.h"
#include "base/session.h"
#include "stream/codec.h"
#include "stream/metrics.h"
#include "stream/replay_ledger.h"

namespace boxcall::stream {

struct ProcessorConfig {
  std::chrono::milliseconds max_out_of_orderness{0};
  std::chrono::milliseconds allowed_lateness{5000};
  /// An input read to its end stops holding a session's watermark back after
  /// this long without a record of that session on it (processing time). Bounds the
  /// wait for a sparse input (timing) while protecting order against producers
  /// that batch the two topics apart.
  std::chrono::milliseconds input_idle{100};
  /// After a lost broker connection an input read to its end is not idle for
  /// this long: producers catch up in bursts, one topic before the other.
  std::chrono::milliseconds recovery_idle{5000};
  /// A timing record of a car is released once the car's telemetry has passed
  /// it, or once the session's telemetry is this far past it (a car whose
  /// telemetry stopped; sessions without telemetry are not held).
  std::chrono::milliseconds car_align_grace{1000};
  /// A session silent this long (processing time) releases everything it holds.
  std::chrono::milliseconds idle_timeout{2000};
  /// A session silent this long, or finished and silent for `idle_timeout`, is evicted.
  std::chrono::milliseconds session_expiry{std::chrono::minutes(10)};
  /// A record whose event time is further ahead of the newest event time of
  /// its session waits for the next record of its input to confirm the jump.
  std::chrono::milliseconds max_event_time_step{std::chrono::hours(1)};
  /// A record whose event time is further ahead of this machine's clock is
  /// dead-lettered at once (0: no bound).
  std::chrono::milliseconds max_ahead_of_wall_clock{std::chrono::hours(24)};
  /// A session's reorder buffer at this size pauses the partition of the input
  /// that runs ahead (resumed at half of it).
  std::size_t pause_buffered_records = 20'000;
  /// Memory bound of all reorder buffers together (and 10x the pause size per
  /// session): beyond it, the session that grows releases its oldest records
  /// even if an input still holds it back (counted: boxcall_reorder_overflow_total).
  std::size_t max_buffered_records = 1'000'000;
};

/// The storage behind a consumed record's bytes, handed over so that the
/// processor can hold a record in a reorder buffer without copying it (the
/// runner hands over librdkafka's message). Move-only; released once.
class HeldRecord {
 public:
  using Release = void (*)(void* handle);
  HeldRecord() = default;
  HeldRecord(void* handle, Release release) : handle_(handle), release_(release) {}
  HeldRecord(HeldRecord&& o) noexcept : handle_(std::exchange(o.handle_, nullptr)), release_(o.release_) {}
  HeldRecord& operator=(HeldRecord&& o) noexcept {
    if (this != &o) {
      reset();
      handle_ = std::exchange(o.handle_, nullptr);
      release_ = o.release_;
    }
    return *this;
  }
  HeldRecord(const HeldRecord&) = delete;
  HeldRecord& operator=(const HeldRecord&) = delete;
  ~HeldRecord() { reset(); }
  void reset() {
    if (handle_ && release_) release_(std::exchange(handle_, nullptr));
  }

 private:
  void* handle_ = nullptr;
  Release release_ = nullptr;
};

/// One input record as consumed. Views are valid during `Processor::process`
/// only, unless the processor takes the record over through `hold`.
struct RecordRef {
  InputTopic topic = InputTopic::Telemetry;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::span<const std::byte> key;
  std::span<const std::byte> value;
  std::int64_t timestamp_ms = -1;  ///< Kafka record timestamp, -1 if none
  /// Optional: hands over the storage behind `key` and `value` (called at most
  /// once, with `hold_context`); the views then stay valid while it is held.
  /// Without it the processor copies a record it must keep.
  HeldRecord (*hold)(void* context) = nullptr;
  void* hold_context = nullptr;
};

/// A small map from (input topic, partition) to T, dense by partition number:
/// per-record lookups are an index, not a tree walk. Iterates in key order.
template <class T>
class PartitionTable {
 public:
  T* find(InputTopic topic, std::int32_t partition) {
    auto& v = slots_[static_cast<std::size_t>(topic)];
    if (partition < 0 || static_cast<std::size_t>(partition) >= v.size()) return nullptr;
    auto& slot = v[static_cast<std::size_t>(partition)];
    return slot ? &*slot : nullptr;
  }
  const T* find(InputTopic topic, std::int32_t partition) const {
    return const_cast<PartitionTable*>(this)->find(topic, partition);
  }
  T& set(InputTopic topic, std::int32_t partition, T value) {
    auto& v = slots_[static_cast<std::size_t>(topic)];
    if (static_cast<std::size_t>(partition) >= v.size()) v.resize(static_cast<std::size_t>(partition) + 1);
    return v[static_cast<std::size_t>(partition)].emplace(std::move(value));
  }
  void erase(InputTopic topic, std::int32_t partition) {
    if (T* t = find(topic, partition)) {
      (void)t;
      slots_[static_cast<std::size_t>(topic)][static_cast<std::size_t>(partition)].reset();
    }
  }
  /// f(topic, partition, T&) for every entry, in (topic, partition) order.
  template <class F>
  void for_each(F&& f) {
    for (std::size_t t = 0; t < kInputTopics; ++t) {
      for (std::size_t p = 0; p < slots_[t].size(); ++p) {
        if (slots_[t][p]) f(static_cast<InputTopic>(t), static_cast<std::int32_t>(p), *slots_[t][p]);
      }
    }
  }
  template <class F>
  void for_each(F&& f) const {
    const_cast<PartitionTable*>(this)->for_each([&](InputTopic t, std::int32_t p, T& v) { f(t, p, std::as_const(v)); });
  }

 private:
  std::array<std::vector<std::optional<T>>, kInputTopics> slots_;
};

/// A consumed position: what a crash marker names (see Processor::set_poisoned).
struct Position {
  InputTopic topic = InputTopic::Telemetry;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  auto operator<=>(const Position&) const = default;
};

/// Tracks per input partition the next offset and the offsets still pinned.
class OffsetTracker {
 public:
  struct Key {
    InputTopic topic;
    std::int32_t partition;
    auto operator<=>(const Key&) const = default;
  };
  void assign(Key k, std::int64_t generation);
  void revoke(Key k);
  void consumed(Key k, std::int64_t offset);
  void pin(Key k, std::int64_t generation, std::int64_t offset);
  void unpin(Key k, std::int64_t generation, std::int64_t offset);
  [[nodiscard]] std::int64_t generation(Key k) const;
  /// The offset after the last consumed record, -1 before any.
  [[nodiscard]] std::int64_t next_offset(Key k) const;
  /// The offset to commit for each assigned partition that consumed anything.
  [[nodiscard]] std::map<Key, std::int64_t> commit_positions() const;

 private:
  struct Part {
    std::int64_t generation = 0;
    std::int64_t next_offset = -1;
    std::map<std::int64_t, int> pins;
  };
  PartitionTable<Part> parts_;
};

/// Keeps offsets pinned while alive. Outputs in flight share their session's pin.
class Pin {
 public:
  explicit Pin(std::shared_ptr<OffsetTracker> tracker) : tracker_(std::move(tracker)) {}
  ~Pin();
  Pin(const Pin&) = delete;
  Pin& operator=(const Pin&) = delete;
  void add(OffsetTracker::Key k, std::int64_t offset);

 private:
  struct Entry {
    OffsetTracker::Key key;
    std::int64_t generation;
    std::int64_t offset;
  };
  std::shared_ptr<OffsetTracker> tracker_;
  std::vector<Entry> entries_;
};

/// What the processor produces. The runner implements it with a Kafka
/// producer; tests collect in memory. `pin` must be held until the broker
/// acknowledged the record.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual void publish(OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value,
                       std::shared_ptr<Pin> pin, std::int64_t input_timestamp_ms) = 0;
  /// Forwards an input record untouched, with the reason and source position in headers.
  virtual void dead_letter(const RecordRef& record, const Error& error, std::shared_ptr<Pin> pin) = 0;
};

/// Consumption control (librdkafka pause/resume in the runner).
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  virtual void pause(InputTopic topic, std::int32_t partition) = 0;
  virtual void resume(InputTopic topic, std::int32_t partition) = 0;
};

class Processor {
 public:
  /// `sessions` makes one handler per session; `flow` (optional) pauses and
  /// resumes input partitions for backpressure.
  Processor(ProcessorConfig config, Publisher& publisher, StreamMetrics& metrics, const Clock& clock,
            SessionHandlerFactory& sessions, FlowControl* flow = nullptr);
  ~Processor();
  Processor(const Processor&) = delete;
  Processor& operator=(const Processor&) = delete;

  /// Partition assignment changes (consumer group rebalances).
  void assign(InputTopic topic, std::int32_t partition);
  /// Drops the state of every session on a revoked partition.
  void revoke(InputTopic topic, std::int32_t partition);

  /// One consumed record: decoded, validated, deduplicated, ordered, applied.
  void process(const RecordRef& record);
  /// The consumer reached the end of a partition; `offset` is where that end
  /// is (the EOF event's offset), -1 when unknown.
  void partition_eof(InputTopic topic, std::int32_t partition, std::int64_t offset = -1);
  /// The broker's high watermark of a partition: as of the consumer's last
  /// fetch (`fresh` false: it may be old), or just asked of the broker (`fresh`).
  void high_watermark(InputTopic topic, std::int32_t partition, std::int64_t offset, bool fresh = false);
  /// The consumer lost its connection to a broker: what it knew of partition
  /// ends may be old, so no input counts as read to its end until a fresh fetch,
  /// EOF or watermark query says so.
  void connection_lost();
  /// Periodic work (processing time): idle flushes, session eviction, gauges,
  /// the handlers' processing-time checks.
  void tick();

  /// Positions at which boxcall crashed before (a crash marker): each is
  /// dead-lettered with `processing_crashed` when consumed again, not processed.
  void set_poisoned(std::set<Position> positions) { poisoned_ = std::move(positions); }
  /// The record being processed now (for a crash marker); stable storage.
  [[nodiscard]] const Position& current_position() const { return current_; }

  [[nodiscard]] std::map<OffsetTracker::Key, std::int64_t> commit_positions() const {
    return tracker_->commit_positions();
  }
  /// Exactly-once: the ledger committed with a partition's offset (replay_ledger.h), loaded
  /// after `assign`: outputs it counts are suppressed when the partition is re-read.
  void load_ledger(InputTopic topic, std::int32_t partition, const ReplayLedger& ledger);
  /// The ledger to commit with `commit_offset` for a partition, counting every output emitted so
  /// far (all of them go into the same transaction). Drops what `commit_offset` has passed.
  [[nodiscard]] ReplayLedger ledger(InputTopic topic, std::int32_t partition, std::int64_t commit_offset);
  /// Outputs not published again because a ledger counted them as committed.
  [[nodiscard]] std::uint64_t replay_suppressed() const { return suppressed_; }

  [[nodiscard]] std::size_t session_count() const { return sessions_.size(); }
  [[nodiscard]] std::size_t buffered_records() const { return buffered_; }
  [[nodiscard]] std::size_t paused_partitions() const { return pause_requests_.size(); }

 private:
  struct Session;
  struct Pending;
  class ReorderBuffer;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using SessionMap = std::unordered_map<std::string, std::unique_ptr<Session>, StringHash, std::equal_to<>>;
  using Key = OffsetTracker::Key;

  Session& session_for(std::string_view id);
  void route(Session& s, const RecordRef& rec, Input&& input);
  /// False when the record was held aside (its event time jumps far ahead) or dead-lettered.
  [[nodiscard]] bool bound_event_time(Session& s, const RecordRef& rec, Input& input);
  void admit(Session& s, const RecordRef& rec, Input&& input);
  void enqueue(Session& s, TimeNs t, const RecordRef& rec, Input&& input);
  void release(Session& s, bool flush_all);
  [[nodiscard]] TimeNs watermark(const Session& s, bool flush_all) const;
  [[nodiscard]] bool held(const Session& s, InputTopic topic, const Input& input, TimeNs t) const;
  void apply(Session& s, const Input& input, bool late, const RecordRef& raw, DeliveryLedger::Car* car = nullptr);
  void reject(const RecordRef& rec, const Error& error, std::shared_ptr<Pin> pin = nullptr);
  void reject_pending(Session& s, const Pending& p, const Error& error);
  void update_pause(Session& s);
  void evict(SessionMap::iterator it);
  /// Keeps `waiting_` (sessions holding records) in step with a session's buffer.
  void note_waiting(Session& s);
  [[nodiscard]] bool input_idle(const Session& s, std::size_t input) const;
  [[nodiscard]] bool read_to_end(Key key) const;
  /// False when an output of a record about to be published was committed before (a replay).
  [[nodiscard]] bool publish_dead_letter(const RecordRef& rec);

  ProcessorConfig config_;
  Publisher& publisher_;
  StreamMetrics& metrics_;
  const Clock& clock_;
  SessionHandlerFactory& factory_;
  FlowControl* flow_;
  Codec codec_;
  std::shared_ptr<OffsetTracker> tracker_;
  SessionMap sessions_;

  /// Per assigned input partition: what is known of its end.
  struct PartitionEnd {
    bool at_eof = false;
    std::int64_t eof_offset = -1;
    std::int64_t high_watermark = -1;
    /// False after a lost connection until fresh evidence (EOF, a changed or queried high watermark).
    bool known = true;
    std::chrono::steady_clock::time_point known_since{};
    /// After a lost connection: the input is not idle before this (recovery_idle).
    std::chrono::steady_clock::time_point idle_not_before{};
  };
  PartitionTable<PartitionEnd> ends_;
  void end_known(PartitionEnd& end);
  /// Partitions paused for backpressure -> sessions that asked.
  std::map<Key, int> pause_requests_;

  std::size_t buffered_ = 0;  ///< records held in all reorder buffers
  /// Sessions whose reorder buffer holds records: what a partition EOF may release.
  std::vector<Session*> waiting_;
  /// The last session a record went to, and its id (consecutive records mostly share it).
  Session* last_session_ = nullptr;
  /// This machine's clock read once per record (steady) and a lower bound of its wall clock.
  std::chrono::steady_clock::time_point now_{};
  TimeNs wall_floor_ = std::numeric_limits<TimeNs>::min();
  std::int64_t current_timestamp_ms_ = -1;
  std::int64_t generation_ = 0;
  std::set<Position> poisoned_;
  Position current_;
  /// Exactly-once replay: the session whose record is being handled (its dead letters count
  /// for it), the ledgers' entries of sessions not live here (not re-read yet, or evicted), the
  /// offsets below which immediate dead letters were committed, and the outputs suppressed.
  Session* emitting_ = nullptr;
  struct LedgerEntry {
    std::uint64_t outputs = 0;
    std::array<std::optional<std::int32_t>, kInputTopics> partition;
    std::array<std::int64_t, kInputTopics> last_offset{-1, -1};
  };
  std::map<std::string, LedgerEntry, std::less<>> ledger_entries_;
  PartitionTable<std::int64_t> dead_letters_below_;
  std::uint64_t suppressed_ = 0;
  /// Fault injection for the crash-loop test (docs/operations.md): a record of
  /// this session aborts the process when applied. From BOXCALL_FAULT_CRASH_SESSION.
  std::string crash_session_;
};

}  // namespace boxcall::stream
