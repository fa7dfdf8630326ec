#include "stream/processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "base/check.h"
#include "base/delivery.h"
#include "base/validate.h"

namespace boxcall::stream {
namespace {

constexpr TimeNs kNever = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kForever = std::numeric_limits<TimeNs>::max();

std::size_t index(InputTopic t) { return static_cast<std::size_t>(t); }
InputTopic input_topic(std::size_t i) { return static_cast<InputTopic>(i); }

OutputTopic topic_of(const Output& out) {
  switch (out.index()) {
    case 2:
      return OutputTopic::Predictions;
    case 3:
      return OutputTopic::Alerts;
    default:
      return OutputTopic::Features;
  }
}

TimeNs ns(std::chrono::milliseconds d) { return std::chrono::nanoseconds(d).count(); }

/// "1.2 s", "3 h 5 min": how far two event times are apart, for dead-letter details.
std::string span_text(TimeNs d) {
  const double s = ns_to_s(d);
  if (s < 120) return fmt::format("{:.3f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min", s / 60);
  if (s < 3 * 86400) return fmt::format("{:.1f} h", s / 3600);
  return fmt::format("{:.1f} days", s / 86400);
}

}  // namespace

// ------------------------------------------------------------------ offsets

void OffsetTracker::assign(Key k, std::int64_t generation) {
  parts_.set(k.topic, k.partition, Part{generation, -1, {}});
}
void OffsetTracker::revoke(Key k) { parts_.erase(k.topic, k.partition); }

void OffsetTracker::consumed(Key k, std::int64_t offset) {
  if (Part* p = parts_.find(k.topic, k.partition)) p->next_offset = std::max(p->next_offset, offset + 1);
}

void OffsetTracker::pin(Key k, std::int64_t generation, std::int64_t offset) {
  Part* p = parts_.find(k.topic, k.partition);
  if (p && p->generation == generation) ++p->pins[offset];
}

void OffsetTracker::unpin(Key k, std::int64_t generation, std::int64_t offset) {
  Part* part = parts_.find(k.topic, k.partition);
  if (!part || part->generation != generation) return;  // revoked meanwhile
  auto p = part->pins.find(offset);
  BOXCALL_CHECK(p != part->pins.end(), "unpin of an offset that is not pinned");
  if (--p->second == 0) part->pins.erase(p);
}

std::int64_t OffsetTracker::next_offset(Key k) const {
  const Part* p = parts_.find(k.topic, k.partition);
  return p ? p->next_offset : -1;
}

std::int64_t OffsetTracker::generation(Key k) const {
  const Part* p = parts_.find(k.topic, k.partition);
  return p ? p->generation : -1;
}

std::map<OffsetTracker::Key, std::int64_t> OffsetTracker::commit_positions() const {
  std::map<Key, std::int64_t> out;
  parts_.for_each([&](InputTopic t, std::int32_t partition, const Part& p) {
    if (p.next_offset < 0) return;
    out[{t, partition}] = p.pins.empty() ? p.next_offset : std::min(p.pins.begin()->first, p.next_offset);
  });
  return out;
}

Pin::~Pin() {
  for (const auto& e : entries_) tracker_->unpin(e.key, e.generation, e.offset);
}

void Pin::add(OffsetTracker::Key k, std::int64_t offset) {
  auto gen = tracker_->generation(k);
  tracker_->pin(k, gen, offset);
  entries_.push_back({k, gen, offset});
}

// ------------------------------------------------------------------ sessions

/// A record held in a reorder buffer (or aside, awaiting confirmation of its
/// event time), with its untouched value for the dead-letter topic: the
/// consumed record itself when the consumer handed it over (no copy), else a copy.
struct Processor::Pending {
  TimeNs t;
  std::uint64_t seq;
  InputTopic topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  Input input;
  std::span<const std::byte> raw;
  HeldRecord held;              // owns `raw` when handed over
  std::vector<std::byte> copy;  // owns `raw` otherwise
  Pending(TimeNs t_, std::uint64_t seq_, const RecordRef& rec, Input&& in)
      : t(t_),
        seq(seq_),
        topic(rec.topic),
        partition(rec.partition),
        offset(rec.offset),
        timestamp_ms(rec.timestamp_ms),
        input(std::move(in)) {
    if (rec.hold) {
      held = rec.hold(rec.hold_context);
      raw = rec.value;
    } else {
      copy.assign(rec.value.begin(), rec.value.end());
      raw = {copy.data(), copy.size()};
    }
  }
  Pending(Pending&& o) noexcept
      : t(o.t),
        seq(o.seq),
        topic(o.topic),
        partition(o.partition),
        offset(o.offset),
        timestamp_ms(o.timestamp_ms),
        input(std::move(o.input)),
        raw(o.raw),
        held(std::move(o.held)),
        copy(std::move(o.copy)) {}  // a moved vector keeps its buffer: `raw` stays valid
  Pending& operator=(Pending&& o) noexcept {
    t = o.t;
    seq = o.seq;
    topic = o.topic;
    partition = o.partition;
    offset = o.offset;
    timestamp_ms = o.timestamp_ms;
    input = std::move(o.input);
    raw = o.raw;
    held = std::move(o.held);
    copy = std::move(o.copy);
    return *this;
  }
  [[nodiscard]] RecordRef ref(const std::string& session) const {
    return RecordRef{topic, partition, offset, as_bytes(std::string_view(session)), raw, timestamp_ms};
  }
};

namespace {
/// A reorder buffer: records stay where they were built (a slot), the heap orders small
/// entries (event time, arrival, slot), so ordering moves 24 bytes, not whole records.
struct HeapEntry {
  TimeNs t;
  std::uint64_t seq;
  std::uint32_t slot;
  // Min-heap order: earliest event time first, arrival order among equals.
  bool operator<(const HeapEntry& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};
}  // namespace

class Processor::ReorderBuffer {
 public:
  [[nodiscard]] bool empty() const { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const { return heap_.size(); }
  [[nodiscard]] const Pending& front() const { return *slots_[heap_.front().slot]; }
  /// Builds the record in its slot (no move of the record afterwards).
  template <class... Args>
  void emplace(Args&&... args) {
    std::uint32_t slot;
    if (free_.empty()) {
      slot = static_cast<std::uint32_t>(slots_.size());
      slots_.emplace_back(std::in_place, std::forward<Args>(args)...);
    } else {
      slot = free_.back();
      free_.pop_back();
      slots_[slot].emplace(std::forward<Args>(args)...);
    }
    heap_.push_back({slots_[slot]->t, slots_[slot]->seq, slot});
    std::push_heap(heap_.begin(), heap_.end());
  }
  /// Applies `f` to the earliest record, then drops it.
  template <class F>
  void pop(F&& f) {
    std::pop_heap(heap_.begin(), heap_.end());
    const std::uint32_t slot = heap_.back().slot;
    heap_.pop_back();
    f(*slots_[slot]);
    slots_[slot].reset();
    free_.push_back(slot);
  }
  void clear() {
    heap_.clear();
    slots_.clear();
    free_.clear();
  }

 private:
  std::vector<HeapEntry> heap_;
  std::vector<std::optional<Pending>> slots_;
  std::vector<std::uint32_t> free_;
};

namespace {
/// A session's outputs counted for exactly-once replay (replay_ledger.h): the first `suppress`
/// were committed before and are not published again.
struct OutputCount {
  std::uint64_t emitted = 0;
  std::uint64_t suppress = 0;
  /// Counts one output; false when it is suppressed (counted in `suppressed`).
  bool admit(std::uint64_t& suppressed) {
    if (++emitted > suppress) return true;
    ++suppressed;
    return false;
  }
};
}  // namespace

struct Processor::Session {
  Session(std::string session_id, std::unique_ptr<SessionHandler> h, std::shared_ptr<OffsetTracker> tracker)
      : id(std::move(session_id)), handler(std::move(h)), pin(std::make_shared<Pin>(std::move(tracker))) {}
  std::string id;
  std::unique_ptr<SessionHandler> handler;
  std::shared_ptr<Pin> pin;
  std::array<std::optional<std::int32_t>, kInputTopics> partition;
  std::array<TimeNs, kInputTopics> newest{kNever, kNever};
  TimeNs released = kNever;  // everything at or before this event time was handed over
  ReorderBuffer buffer;
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point last_input;
  /// Per input: when this session's last record arrived on it (or the session began).
  std::array<std::chrono::steady_clock::time_point, kInputTopics> last_arrival{};
  DeliveryLedger cars;
  /// Per input: a record far ahead of the session, waiting for the next record to confirm it.
  std::array<std::optional<Pending>, kInputTopics> jump;
  /// The partition this session asked to pause (backpressure), if any.
  std::optional<OffsetTracker::Key> paused;
  bool overflow_logged = false;
  bool waiting = false;  // listed in Processor::waiting_
  OutputCount count;
  std::array<std::int64_t, kInputTopics> last_offset{-1, -1};  // its last record per input
};

namespace {
/// Encodes a handler's outputs and hands them to the publisher under the session's pin.
class SessionSink final : public OutputSink {
 public:
  /// `count` null: outputs not counted for replay (processing-time outputs of `tick`).
  SessionSink(Codec& codec, Publisher& publisher, const std::string& session, const std::shared_ptr<Pin>& pin,
              std::int64_t timestamp_ms, OutputCount* count, std::uint64_t& suppressed)
      : codec_(codec),
        publisher_(publisher),
        session_(session),
        pin_(pin),
        ts_(timestamp_ms),
        count_(count),
        suppressed_(suppressed) {}
  void emit(Output&& out) override {
    if (count_ && !count_->admit(suppressed_)) return;
    auto bytes = codec_.encode(session_, out);
    publisher_.publish(topic_of(out), session_, bytes, pin_, ts_);
  }

 private:
  Codec& codec_;
  Publisher& publisher_;
  const std::string& session_;
  const std::shared_ptr<Pin>& pin_;  // copied per output only (the publisher keeps it until acknowledged)
  std::int64_t ts_;
  OutputCount* count_;
  std::uint64_t& suppressed_;
};

/// Sets a pointer for a scope, then restores it.
template <class T>
class ScopedSet {
 public:
  ScopedSet(T*& slot, T* value) : slot_(slot), old_(std::exchange(slot, value)) {}
  ~ScopedSet() { slot_ = old_; }
  ScopedSet(const ScopedSet&) = delete;
  ScopedSet& operator=(const ScopedSet&) = delete;

 private:
  T*& slot_;
  T* old_;
};

}  // namespace

Processor::Processor(ProcessorConfig config, Publisher& publisher, StreamMetrics& metrics, const Clock& clock,
                     SessionHandlerFactory& sessions, FlowControl* flow)
    : config_(std::move(config)),
      publisher_(publisher),
      metrics_(metrics),
      clock_(clock),
      factory_(sessions),
      flow_(flow),
      tracker_(std::make_shared<OffsetTracker>()) {
  if (const char* crash = std::getenv("BOXCALL_FAULT_CRASH_SESSION"); crash && *crash) {
    crash_session_ = crash;
    spdlog::warn("fault injection: a record of session '{}' aborts the process (BOXCALL_FAULT_CRASH_SESSION)",
                 crash_session_);
  }
}

Processor::~Processor() = default;

void Processor::assign(InputTopic topic, std::int32_t partition) {
  const Key k{topic, partition};
  tracker_->assign(k, ++generation_);
  ends_.set(topic, partition, PartitionEnd{});
}

void Processor::revoke(InputTopic topic, std::int32_t partition) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (it->second->partition[index(topic)] == partition) evict(it);
    it = next;
  }
  const Key k{topic, partition};
  tracker_->revoke(k);
  ends_.erase(topic, partition);
  dead_letters_below_.erase(topic, partition);
  for (auto it = ledger_entries_.begin(); it != ledger_entries_.end();) {
    if (it->second.partition[index(topic)] == partition) it->second.partition[index(topic)].reset();
    it = it->second.partition[0] || it->second.partition[1] ? std::next(it) : ledger_entries_.erase(it);
  }
  pause_requests_.erase(k);  // an unassigned partition is neither paused nor resumed
}

Processor::Session& Processor::session_for(std::string_view id) {
  if (last_session_ && last_session_->id == id) return *last_session_;
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    auto handler = factory_.create(id);
    it = sessions_.emplace(std::string(id), std::make_unique<Session>(std::string(id), std::move(handler), tracker_))
             .first;
    it->second->last_arrival.fill(now_);
    if (auto e = ledger_entries_.find(id); e != ledger_entries_.end()) {
      it->second->count.suppress = e->second.outputs;  // re-read: its first outputs were committed
      ledger_entries_.erase(e);
    }
    metrics_.set_active_sessions(static_cast<double>(sessions_.size()));
  }
  last_session_ = it->second.get();
  return *it->second;
}

void Processor::reject(const RecordRef& rec, const Error& error, std::shared_ptr<Pin> pin) {
  if (!pin) {
    pin = std::make_shared<Pin>(tracker_);
    pin->add({rec.topic, rec.partition}, rec.offset);
  }
  metrics_.dead_letter(error.reason);
  // A record that crashed boxcall: a new outcome (it published nothing before), never suppressed.
  if (error.reason != Reason::ProcessingCrashed && !publish_dead_letter(rec)) return;
  publisher_.dead_letter(rec, error, std::move(pin));
}

bool Processor::publish_dead_letter(const RecordRef& rec) {
  if (emitting_) return emitting_->count.admit(suppressed_);
  // Before reaching a session: in offset order, committed below the ledger's offset.
  const std::int64_t* below = dead_letters_below_.find(rec.topic, rec.partition);
  if (below && rec.offset < *below) {
    ++suppressed_;
    return false;
  }
  return true;
}

void Processor::load_ledger(InputTopic topic, std::int32_t partition, const ReplayLedger& ledger) {
  const std::size_t ti = index(topic);
  dead_letters_below_.set(topic, partition, ledger.dead_letters_below);
  for (const auto& [id, entry] : ledger.sessions) {
    if (sessions_.contains(id)) continue;  // live here already: counting on
    LedgerEntry& e = ledger_entries_[id];
    e.outputs = std::max(e.outputs, entry.outputs);
    e.partition[ti] = partition;
    e.last_offset[ti] = entry.last_offset;
  }
}

ReplayLedger Processor::ledger(InputTopic topic, std::int32_t partition, std::int64_t commit_offset) {
  const std::size_t ti = index(topic);
  ReplayLedger out;
  const std::int64_t* below = dead_letters_below_.find(topic, partition);
  out.dead_letters_below = std::max(below ? *below : -1, tracker_->next_offset({topic, partition}));
  for (const auto& [id, s] : sessions_) {
    // A session still replaying has emitted fewer than the ledger already counts.
    const std::uint64_t counted = std::max(s->count.emitted, s->count.suppress);
    if (s->partition[ti] == partition && counted > 0) out.sessions[id] = {counted, -1};
  }
  for (auto it = ledger_entries_.begin(); it != ledger_entries_.end();) {
    LedgerEntry& e = it->second;
    if (e.partition[ti] == partition) {
      if (e.last_offset[ti] >= 0 && e.last_offset[ti] < commit_offset) {
        e.partition[ti].reset();  // never re-read from here on
      } else if (!out.sessions.contains(it->first)) {
        out.sessions[it->first] = {e.outputs, e.last_offset[ti]};
      }
    }
    it = e.partition[0] || e.partition[1] ? std::next(it) : ledger_entries_.erase(it);
  }
  return out;
}

void Processor::reject_pending(Session& s, const Pending& p, const Error& error) { reject(p.ref(s.id), error); }

void Processor::process(const RecordRef& rec) {
  metrics_.record_in(rec.topic);
  const Key key{rec.topic, rec.partition};
  tracker_->consumed(key, rec.offset);
  current_ = {rec.topic, rec.partition, rec.offset};
  if (PartitionEnd* end = ends_.find(rec.topic, rec.partition)) end->at_eof = false;
  current_timestamp_ms_ = rec.timestamp_ms;
  now_ = clock_.now();

  if (!poisoned_.empty()) {
    if (auto p = poisoned_.find(current_); p != poisoned_.end()) {
      poisoned_.erase(p);
      return reject(rec, Error{Reason::ProcessingCrashed,
                               "boxcall crashed while processing this record; skipped on restart "
                               "(docs/operations.md, \"A record that crashes boxcall\")"});
    }
  }

  auto decoded = codec_.decode(rec.value);
  if (!decoded) return reject(rec, decoded.error());
  if (auto err = validate(decoded->input)) return reject(rec, *err);
  const bool is_sample = std::holds_alternative<TelemetrySample>(decoded->input);
  if (is_sample != (rec.topic == InputTopic::Telemetry)) {
    return reject(rec, Error{Reason::WrongTopic,
                             is_sample ? "a CarSample on the timing topic" : "a TimingEvent on the telemetry topic"});
  }
  if (decoded->session.empty()) return reject(rec, Error{Reason::MissingField, "session id is empty"});
  std::string_view key_text(reinterpret_cast<const char*>(rec.key.data()), rec.key.size());
  if (key_text.empty()) {
    return reject(rec, Error{Reason::MissingKey, "record has no key (the key must be the session id)"});
  }
  if (key_text != decoded->session) {
    return reject(rec, Error{Reason::KeyMismatch, "key '" + std::string(key_text) + "' but session '" +
                                                      std::string(decoded->session) + "'"});
  }
  if (config_.max_ahead_of_wall_clock.count() > 0 &&
      (wall_floor_ == kNever || event_time(decoded->input) > wall_floor_ + ns(config_.max_ahead_of_wall_clock))) {
    // The wall clock is read only when the last reading (a lower bound: it only moves on)
    // does not already show the record within the bound.
    wall_floor_ = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall().time_since_epoch()).count();
    const TimeNs ahead = event_time(decoded->input) - wall_floor_;
    if (ahead > ns(config_.max_ahead_of_wall_clock)) {
      return reject(rec, Error{Reason::EventTimeOutOfRange,
                               "event time is " + span_text(ahead) + " ahead of this machine's clock (at most " +
                                   span_text(ns(config_.max_ahead_of_wall_clock)) + ": max_ahead_of_wall_clock)"});
    }
  }
  Session& s = session_for(decoded->session);
  route(s, rec, std::move(decoded->input));
}

void Processor::route(Session& s, const RecordRef& rec, Input&& input) {
  ScopedSet<Session> emitting(emitting_, &s);
  s.last_input = now_;
  const std::size_t ti = index(rec.topic);
  s.last_offset[ti] = std::max(s.last_offset[ti], rec.offset);
  s.last_arrival[ti] = s.last_input;
  if (!s.partition[ti]) {
    s.partition[ti] = rec.partition;
    s.pin->add({rec.topic, rec.partition}, rec.offset);
  }
  if (!bound_event_time(s, rec, input)) return;
  admit(s, rec, std::move(input));
}

bool Processor::bound_event_time(Session& s, const RecordRef& rec, Input& input) {
  const std::size_t ti = index(rec.topic);
  const TimeNs t = event_time(input);
  const TimeNs step = ns(config_.max_event_time_step);
  const TimeNs newest = std::max(s.newest[0], s.newest[1]);
  auto& candidate = s.jump[ti];
  if (newest == kNever || t - newest <= step) {
    if (candidate) {
      reject_pending(s, *candidate,
                     Error{Reason::EventTimeOutOfRange,
                           "event time " + span_text(candidate->t - newest) +
                               " ahead of the newest event time of its session (at most " + span_text(step) +
                               ": max_event_time_step), and the next record of its input did not follow it"});
      candidate.reset();
    }
    return true;
  }
  if (candidate && std::max(t, candidate->t) - std::min(t, candidate->t) <= step) {
    // Two records in a row agree: the session's time really moved on (a long gap).
    spdlog::info("session {}: event time moved {} ahead on {}, confirmed by two records in a row", s.id,
                 span_text(candidate->t - newest), to_string(rec.topic));
    metrics_.event_time_jump();
    Pending c = std::move(*candidate);
    candidate.reset();
    admit(s, c.ref(s.id), std::move(c.input));  // (copied if it must wait again: rare)
    return true;                                // this record follows, now within the step
  }
  if (candidate) {
    reject_pending(s, *candidate,
                   Error{Reason::EventTimeOutOfRange,
                         "event time " + span_text(candidate->t - newest) +
                             " ahead of the newest event time of its session (at most " + span_text(step) +
                             ": max_event_time_step), and the next record of its input did not follow it"});
  }
  candidate.emplace(t, s.seq++, rec, std::move(input));
  return false;
}

void Processor::admit(Session& s, const RecordRef& rec, Input&& input) {
  const std::size_t ti = index(rec.topic);
  const TimeNs t = event_time(input);
  const auto* sample = std::get_if<TelemetrySample>(&input);
  DeliveryLedger::Car* car = nullptr;
  if (sample) {
    car = &s.cars.car(sample->car);
    car->newest_sample_arrived = std::max(car->newest_sample_arrived, t);
  }
  if (t < s.released) {
    // Behind the session, but in order for its own car: per-car state sees it in order.
    if (car && t > car->last_sample_t) return apply(s, input, /*late=*/false, rec, car);
    const TimeNs behind = s.released - t;
    if (behind > ns(config_.allowed_lateness)) {
      return reject(rec, Error{Reason::Late, "event time " + span_text(behind) +
                                                 " behind the session watermark (allowed lateness " +
                                                 span_text(ns(config_.allowed_lateness)) + ")"});
    }
    metrics_.late_accepted();
    spdlog::debug("session {}: late {} record {} ms behind ({} {}@{}), buffered {}", s.id, to_string(rec.topic),
                  behind / 1'000'000, to_string(rec.topic), rec.partition, rec.offset, s.buffer.size());
    return apply(s, input, /*late=*/true, rec, car);
  }
  s.newest[ti] = std::max(s.newest[ti], t);
  if (s.buffer.empty()) {
    // In order and nothing ahead of it: handed over at once, without a copy.
    const TimeNs w = watermark(s, /*flush_all=*/false);
    if (t <= w && !held(s, rec.topic, input, t)) {
      apply(s, input, /*late=*/false, rec, car);
      s.released = std::max(s.released, w);
      return;
    }
  }
  enqueue(s, t, rec, std::move(input));
  release(s, /*flush_all=*/false);
  update_pause(s);
}

void Processor::enqueue(Session& s, TimeNs t, const RecordRef& rec, Input&& input) {
  s.buffer.emplace(t, s.seq++, rec, std::move(input));
  ++buffered_;
  note_waiting(s);
}

void Processor::note_waiting(Session& s) {
  if (!s.waiting && !s.buffer.empty()) {
    s.waiting = true;
    waiting_.push_back(&s);
  }
  // Sessions whose buffer emptied leave the list when it is next walked (partition_eof, evict).
}

bool Processor::input_idle(const Session& s, std::size_t ti) const {
  // An input the consumer has read to the end of (nothing fetched and still
  // unread) stops holding the session back once the session has been quiet on
  // it for `input_idle` since the end became known; while it has unread
  // records it always holds. Its partition is the session's partition on the
  // other topic when the session has not been seen on this one (same count,
  // same key hashing).
  const std::optional<std::int32_t> partition = s.partition[ti] ? s.partition[ti] : s.partition[1 - ti];
  auto since = s.last_arrival[ti];
  const auto now = now_;  // read once per record, EOF and tick
  if (partition) {
    const Key key{input_topic(ti), *partition};
    if (!read_to_end(key)) return false;
    if (const PartitionEnd* end = ends_.find(key.topic, key.partition)) {
      since = std::max(since, end->known_since);
      if (now < end->idle_not_before) return false;
    }
  }
  return now - since >= config_.input_idle;
}

TimeNs Processor::watermark(const Session& s, bool flush_all) const {
  const TimeNs newest = std::max(s.newest[0], s.newest[1]);
  if (flush_all) return newest;
  const TimeNs ooo = ns(config_.max_out_of_orderness);
  TimeNs w = kForever;
  for (std::size_t ti = 0; ti < kInputTopics; ++ti) {
    if (input_idle(s, ti)) continue;
    w = std::min(w, s.newest[ti] == kNever ? kNever : s.newest[ti] - ooo);
  }
  if (w == kForever) w = newest == kNever ? kNever : newest - ooo;
  return w;
}

bool Processor::held(const Session& s, InputTopic topic, const Input& input, TimeNs t) const {
  // A timing record of a car waits for that car's telemetry to pass it, or for
  // the session's telemetry to be a grace past it (the car's stopped).
  if (topic != InputTopic::Timing) return false;
  const auto& e = std::get<TimingEvent>(input);
  if (e.car == 0) return false;
  const TimeNs telemetry = s.newest[index(InputTopic::Telemetry)];
  if (telemetry == kNever || telemetry >= t + ns(config_.car_align_grace)) return false;
  const DeliveryLedger::Car* car = s.cars.find(e.car);
  return car == nullptr || car->newest_sample_arrived < t;
}

void Processor::release(Session& s, bool flush_all) {
  TimeNs w = watermark(s, flush_all);
  const std::size_t per_session_cap = 10 * std::max<std::size_t>(config_.pause_buffered_records, 1);
  if (!s.buffer.empty() && (s.buffer.size() > per_session_cap || buffered_ > config_.max_buffered_records)) {
    // Memory first: shed this session's oldest record. Counted, logged once per session.
    w = std::max(w, s.buffer.front().t);
    metrics_.reorder_overflow();
    if (!s.overflow_logged) {
      s.overflow_logged = true;
      spdlog::warn("session {}: reorder buffers full ({} records here, {} in all): releasing before an input caught up",
                   s.id, s.buffer.size(), buffered_);
    }
  }
  if (w == kNever) return;
  while (!s.buffer.empty() && s.buffer.front().t <= w) {
    const Pending& head = s.buffer.front();
    if (!flush_all && held(s, head.topic, head.input, head.t)) {
      w = head.t - 1;  // hold it (and what follows) for its car's telemetry
      break;
    }
    --buffered_;
    s.buffer.pop([&](const Pending& p) {
      current_timestamp_ms_ = p.timestamp_ms;
      apply(s, p.input, /*late=*/false, p.ref(s.id));
    });
  }
  s.released = std::max(s.released, w);
  if (s.paused) update_pause(s);
}

void Processor::apply(Session& s, const Input& input, bool late, const RecordRef& raw, DeliveryLedger::Car* car_entry) {
  current_ = {raw.topic, raw.partition, raw.offset};
  if (!crash_session_.empty() && s.id == crash_session_) {
    spdlog::critical("fault injection: aborting on a record of session {}", s.id);
    std::abort();
  }
  DeliveryLedger::Car& car =
      car_entry ? *car_entry : s.cars.car(std::visit([](const auto& r) { return r.car; }, input));
  if (s.cars.repeats(car, input)) {
    metrics_.duplicate();
    return;
  }
  ScopedSet<Session> emitting(emitting_, &s);
  SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_, &s.count, suppressed_);
  auto result = s.handler->on_record(input, late, sink);
  if (!result) return reject(raw, result.error());
  if (result.value() == Applied::Duplicate) {
    metrics_.duplicate();
    return;
  }
  if (!late) {
    if (const auto* sample = std::get_if<TelemetrySample>(&input)) DeliveryLedger::handed_over(car, *sample);
  }
  metrics_.applied();
}

bool Processor::read_to_end(Key key) const {
  const PartitionEnd* found = ends_.find(key.topic, key.partition);
  if (!found) return true;  // not assigned here: nothing to wait for
  const PartitionEnd& end = *found;
  if (!end.known) return false;
  const std::int64_t position = std::max(tracker_->next_offset(key), end.eof_offset);
  // The high watermark of the last fetch counts records fetched but not yet
  // consumed; before any fetch answered, the EOF event is all there is.
  if (end.high_watermark >= 0 && position >= 0) return position >= end.high_watermark;
  return end.at_eof;
}

void Processor::high_watermark(InputTopic topic, std::int32_t partition, std::int64_t offset, bool fresh) {
  PartitionEnd* found = ends_.find(topic, partition);
  if (!found) return;
  PartitionEnd& end = *found;
  const bool changed = end.high_watermark != offset;
  end.high_watermark = offset;
  if (!end.known && (fresh || changed)) end_known(end);
}

void Processor::end_known(PartitionEnd& end) {
  end.known = true;
  end.known_since = clock_.now();
  end.idle_not_before = end.known_since + config_.recovery_idle;
}

void Processor::partition_eof(InputTopic topic, std::int32_t partition, std::int64_t offset) {
  now_ = clock_.now();
  if (PartitionEnd* end = ends_.find(topic, partition)) {
    end->at_eof = true;
    end->eof_offset = std::max(end->eof_offset, offset);
    if (!end->known) end_known(*end);
  }
  // Only sessions that hold records can be released: the work follows what changed.
  for (std::size_t i = 0; i < waiting_.size();) {
    Session& s = *waiting_[i];
    if (!s.buffer.empty() && (s.partition[0] == partition || s.partition[1] == partition)) {
      ScopedSet<Session> emitting(emitting_, &s);
      release(s, /*flush_all=*/false);
    }
    if (s.buffer.empty()) {
      s.waiting = false;
      waiting_[i] = waiting_.back();
      waiting_.pop_back();
    } else {
      ++i;
    }
  }
}

void Processor::connection_lost() {
  bool any = false;
  ends_.for_each([&](InputTopic, std::int32_t, PartitionEnd& end) {
    any = any || end.known;
    end.known = false;
    end.at_eof = false;
  });
  if (any) spdlog::info("connection to a broker lost: inputs hold their sessions until fresh partition ends are known");
}

void Processor::update_pause(Session& s) {
  if (!flow_ || config_.pause_buffered_records == 0) return;
  const std::size_t high = config_.pause_buffered_records;
  if (s.paused) {
    if (s.buffer.size() > high / 2) return;
    const Key k = *s.paused;
    s.paused.reset();
    auto it = pause_requests_.find(k);
    if (it != pause_requests_.end() && --it->second == 0) {
      pause_requests_.erase(it);
      flow_->resume(k.topic, k.partition);
      spdlog::debug("resumed {} partition {}", to_string(k.topic), k.partition);
    }
    return;
  }
  if (s.buffer.size() < high) return;
  // The input that is ahead holds records the other input has not reached yet.
  const std::size_t ahead = s.newest[0] >= s.newest[1] ? 0 : 1;
  const std::size_t behind = 1 - ahead;
  if (!s.partition[ahead]) return;
  const Key ahead_key{input_topic(ahead), *s.partition[ahead]};
  const Key behind_key{input_topic(behind), s.partition[behind] ? *s.partition[behind] : *s.partition[ahead]};
  // Only while the input behind still holds the session back: assigned, not paused itself, and
  // unread records or read to its end for less than `input_idle` (a slow producer). Once it is idle
  // the session releases on the input ahead alone and `release` resumes the partition.
  if (!ends_.find(behind_key.topic, behind_key.partition) || input_idle(s, behind) ||
      pause_requests_.contains(behind_key)) {
    return;
  }
  s.paused = ahead_key;
  if (pause_requests_[ahead_key]++ == 0) {
    flow_->pause(ahead_key.topic, ahead_key.partition);
    metrics_.backpressure_pause();
    spdlog::info("pausing {} partition {}: session {} holds {} records until {} catches up", to_string(ahead_key.topic),
                 ahead_key.partition, s.id, s.buffer.size(), to_string(behind_key.topic));
  }
}

void Processor::tick() {
  const auto now = clock_.now();
  now_ = now;
  std::size_t buffered = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    Session& s = *it->second;
    const auto silent = now - s.last_input;
    std::optional<ScopedSet<Session>> emitting(std::in_place, emitting_, &s);
    if (silent >= config_.idle_timeout) {
      for (auto& candidate : s.jump) {
        if (!candidate) continue;
        reject_pending(s, *candidate,
                       Error{Reason::EventTimeOutOfRange,
                             "event time " + span_text(candidate->t - std::max(s.newest[0], s.newest[1])) +
                                 " ahead of the newest event time of its session, and no record followed it"});
        candidate.reset();
      }
      release(s, /*flush_all=*/true);
    } else if (!s.buffer.empty()) {
      release(s, /*flush_all=*/false);  // an input may have become idle
    }
    emitting.reset();
    {
      // Processing-time outputs: not a function of the records, not counted for replay.
      SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_, nullptr, suppressed_);
      s.handler->on_tick(now, sink);
    }
    if (silent >= config_.session_expiry || (s.handler->finished() && silent >= config_.idle_timeout)) {
      evict(it);
    } else {
      buffered += s.buffer.size();
      const TimeNs newest = std::max(s.newest[0], s.newest[1]);
      if (s.released != kNever) metrics_.set_watermark_delay(s.id, ns_to_s(newest - s.released));
    }
    it = next;
  }
  metrics_.set_buffered_records(static_cast<double>(buffered));
  metrics_.set_paused_partitions(static_cast<double>(pause_requests_.size()));
  metrics_.publish_batched();
  factory_.on_tick(now);
}

void Processor::evict(SessionMap::iterator it) {
  Session& s = *it->second;
  if (std::max(s.count.emitted, s.count.suppress) > 0) {
    // Its records may be read again (another session pins an earlier offset): keep its count
    // in the ledger until the committed offsets have passed its last records.
    LedgerEntry& e = ledger_entries_[s.id];
    e.outputs = std::max(s.count.emitted, s.count.suppress);
    e.partition = s.partition;
    e.last_offset = s.last_offset;
  }
  if (last_session_ == &s) last_session_ = nullptr;
  if (s.waiting) std::erase(waiting_, &s);
  buffered_ -= s.buffer.size();
  if (s.paused) {
    s.buffer.clear();
    update_pause(s);
  }
  metrics_.remove_session(it->first);
  sessions_.erase(it);
  metrics_.set_active_sessions(static_cast<double>(sessions_.size()));
}

}  // namespace boxcall::stream
