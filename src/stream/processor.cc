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

void OffsetTracker::assign(Key k, std::int64_t generation) { parts_[k] = Part{generation, -1, {}}; }
void OffsetTracker::revoke(Key k) { parts_.erase(k); }

void OffsetTracker::consumed(Key k, std::int64_t offset) {
  auto it = parts_.find(k);
  if (it != parts_.end()) it->second.next_offset = std::max(it->second.next_offset, offset + 1);
}

void OffsetTracker::pin(Key k, std::int64_t generation, std::int64_t offset) {
  auto it = parts_.find(k);
  if (it != parts_.end() && it->second.generation == generation) ++it->second.pins[offset];
}

void OffsetTracker::unpin(Key k, std::int64_t generation, std::int64_t offset) {
  auto it = parts_.find(k);
  if (it == parts_.end() || it->second.generation != generation) return;  // revoked meanwhile
  auto p = it->second.pins.find(offset);
  BOXCALL_CHECK(p != it->second.pins.end(), "unpin of an offset that is not pinned");
  if (--p->second == 0) it->second.pins.erase(p);
}

std::int64_t OffsetTracker::next_offset(Key k) const {
  auto it = parts_.find(k);
  return it == parts_.end() ? -1 : it->second.next_offset;
}

std::int64_t OffsetTracker::generation(Key k) const {
  auto it = parts_.find(k);
  return it == parts_.end() ? -1 : it->second.generation;
}

std::map<OffsetTracker::Key, std::int64_t> OffsetTracker::commit_positions() const {
  std::map<Key, std::int64_t> out;
  for (const auto& [k, p] : parts_) {
    if (p.next_offset < 0) continue;
    out[k] = p.pins.empty() ? p.next_offset : std::min(p.pins.begin()->first, p.next_offset);
  }
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
/// event time), with its untouched value for the dead-letter topic.
struct Processor::Pending {
  TimeNs t;
  std::uint64_t seq;
  InputTopic topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  Input input;
  std::vector<std::byte> raw;
  // Min-heap order: earliest event time first, arrival order among equals.
  bool operator<(const Pending& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct Processor::Session {
  Session(std::string session_id, std::unique_ptr<SessionHandler> h, std::shared_ptr<OffsetTracker> tracker)
      : id(std::move(session_id)), handler(std::move(h)), pin(std::make_shared<Pin>(std::move(tracker))) {}
  std::string id;
  std::unique_ptr<SessionHandler> handler;
  std::shared_ptr<Pin> pin;
  std::array<std::optional<std::int32_t>, kInputTopics> partition;
  std::array<TimeNs, kInputTopics> newest{kNever, kNever};
  TimeNs released = kNever;     // everything at or before this event time was handed over
  std::vector<Pending> buffer;  // heap
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
};

namespace {
/// Encodes a handler's outputs and hands them to the publisher under the session's pin.
class SessionSink final : public OutputSink {
 public:
  SessionSink(Codec& codec, Publisher& publisher, const std::string& session, std::shared_ptr<Pin> pin,
              std::int64_t timestamp_ms)
      : codec_(codec), publisher_(publisher), session_(session), pin_(std::move(pin)), ts_(timestamp_ms) {}
  void emit(Output&& out) override {
    auto bytes = codec_.encode(session_, out);
    publisher_.publish(topic_of(out), session_, bytes, pin_, ts_);
  }

 private:
  Codec& codec_;
  Publisher& publisher_;
  const std::string& session_;
  std::shared_ptr<Pin> pin_;
  std::int64_t ts_;
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
  ends_[k] = PartitionEnd{};
}

void Processor::revoke(InputTopic topic, std::int32_t partition) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (it->second->partition[index(topic)] == partition) evict(it);
    it = next;
  }
  const Key k{topic, partition};
  tracker_->revoke(k);
  ends_.erase(k);
  pause_requests_.erase(k);  // an unassigned partition is neither paused nor resumed
}

Processor::Session& Processor::session_for(std::string_view id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    auto handler = factory_.create(id);
    it = sessions_.emplace(std::string(id), std::make_unique<Session>(std::string(id), std::move(handler), tracker_))
             .first;
    it->second->last_arrival.fill(clock_.now());
    metrics_.set_active_sessions(static_cast<double>(sessions_.size()));
  }
  return *it->second;
}

void Processor::reject(const RecordRef& rec, Error error, std::shared_ptr<Pin> pin) {
  if (!pin) {
    pin = std::make_shared<Pin>(tracker_);
    pin->add({rec.topic, rec.partition}, rec.offset);
  }
  metrics_.dead_letter(error.reason);
  publisher_.dead_letter(rec, error, std::move(pin));
}

void Processor::reject_pending(Session& s, const Pending& p, Error error) {
  RecordRef r{p.topic,       p.partition, p.offset, as_bytes(std::string_view(s.id)), {p.raw.data(), p.raw.size()},
              p.timestamp_ms};
  reject(r, std::move(error));
}

void Processor::process(const RecordRef& rec) {
  metrics_.record_in(rec.topic);
  const Key key{rec.topic, rec.partition};
  tracker_->consumed(key, rec.offset);
  current_ = {rec.topic, rec.partition, rec.offset};
  if (auto it = ends_.find(key); it != ends_.end()) it->second.at_eof = false;
  current_timestamp_ms_ = rec.timestamp_ms;

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
  if (auto err = validate(decoded->input)) return reject(rec, std::move(*err));
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
  if (config_.max_ahead_of_wall_clock.count() > 0) {
    const TimeNs wall = std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.wall().time_since_epoch()).count();
    const TimeNs ahead = event_time(decoded->input) - wall;
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
  s.last_input = clock_.now();
  const std::size_t ti = index(rec.topic);
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
    const RecordRef held_rec{
        c.topic, c.partition, c.offset, as_bytes(std::string_view(s.id)), {c.raw.data(), c.raw.size()}, c.timestamp_ms};
    admit(s, held_rec, std::move(c.input));
    return true;  // this record follows, now within the step
  }
  if (candidate) {
    reject_pending(s, *candidate,
                   Error{Reason::EventTimeOutOfRange,
                         "event time " + span_text(candidate->t - newest) +
                             " ahead of the newest event time of its session (at most " + span_text(step) +
                             ": max_event_time_step), and the next record of its input did not follow it"});
  }
  candidate = Pending{
      t,          s.seq++,          rec.topic,        rec.partition,
      rec.offset, rec.timestamp_ms, std::move(input), std::vector<std::byte>(rec.value.begin(), rec.value.end())};
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
    if (car && t > car->last_sample_t) return apply(s, input, /*late=*/false, rec);
    const TimeNs behind = s.released - t;
    if (behind > ns(config_.allowed_lateness)) {
      return reject(rec, Error{Reason::Late, "event time " + span_text(behind) +
                                                 " behind the session watermark (allowed lateness " +
                                                 span_text(ns(config_.allowed_lateness)) + ")"});
    }
    metrics_.late_accepted();
    spdlog::debug("session {}: late {} record {} ms behind ({} {}@{}), buffered {}", s.id, to_string(rec.topic),
                  behind / 1'000'000, to_string(rec.topic), rec.partition, rec.offset, s.buffer.size());
    return apply(s, input, /*late=*/true, rec);
  }
  s.newest[ti] = std::max(s.newest[ti], t);
  if (s.buffer.empty()) {
    // In order and nothing ahead of it: handed over at once, without a copy.
    const TimeNs w = watermark(s, /*flush_all=*/false);
    if (t <= w && !held(s, rec.topic, input, t)) {
      apply(s, input, /*late=*/false, rec);
      s.released = std::max(s.released, w);
      return;
    }
  }
  enqueue(s, Pending{t, s.seq++, rec.topic, rec.partition, rec.offset, rec.timestamp_ms, std::move(input),
                     std::vector<std::byte>(rec.value.begin(), rec.value.end())});
  release(s, /*flush_all=*/false);
  update_pause(s);
}

void Processor::enqueue(Session& s, Pending&& p) {
  s.buffer.push_back(std::move(p));
  std::push_heap(s.buffer.begin(), s.buffer.end());
  ++buffered_;
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
  if (partition) {
    const Key key{input_topic(ti), *partition};
    if (!read_to_end(key)) return false;
    if (auto it = ends_.find(key); it != ends_.end()) {
      since = std::max(since, it->second.known_since);
      if (clock_.now() < it->second.idle_not_before) return false;
    }
  }
  return clock_.now() - since >= config_.input_idle;
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
    std::pop_heap(s.buffer.begin(), s.buffer.end());
    Pending p = std::move(s.buffer.back());
    s.buffer.pop_back();
    --buffered_;
    current_timestamp_ms_ = p.timestamp_ms;
    const RecordRef raw{
        p.topic, p.partition, p.offset, as_bytes(std::string_view(s.id)), {p.raw.data(), p.raw.size()}, p.timestamp_ms};
    apply(s, p.input, /*late=*/false, raw);
  }
  s.released = std::max(s.released, w);
  if (s.paused) update_pause(s);
}

void Processor::apply(Session& s, const Input& input, bool late, const RecordRef& raw) {
  current_ = {raw.topic, raw.partition, raw.offset};
  if (!crash_session_.empty() && s.id == crash_session_) {
    spdlog::critical("fault injection: aborting on a record of session {}", s.id);
    std::abort();
  }
  DeliveryLedger::Car& car = s.cars.car(std::visit([](const auto& r) { return r.car; }, input));
  if (s.cars.repeats(car, input)) {
    metrics_.duplicate();
    return;
  }
  SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_);
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
  auto it = ends_.find(key);
  if (it == ends_.end()) return true;  // not assigned here: nothing to wait for
  const PartitionEnd& end = it->second;
  if (!end.known) return false;
  const std::int64_t position = std::max(tracker_->next_offset(key), end.eof_offset);
  // The high watermark of the last fetch counts records fetched but not yet
  // consumed; before any fetch answered, the EOF event is all there is.
  if (end.high_watermark >= 0 && position >= 0) return position >= end.high_watermark;
  return end.at_eof;
}

void Processor::high_watermark(InputTopic topic, std::int32_t partition, std::int64_t offset, bool fresh) {
  auto it = ends_.find({topic, partition});
  if (it == ends_.end()) return;
  PartitionEnd& end = it->second;
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
  if (auto it = ends_.find({topic, partition}); it != ends_.end()) {
    PartitionEnd& end = it->second;
    end.at_eof = true;
    end.eof_offset = std::max(end.eof_offset, offset);
    if (!end.known) end_known(end);
  }
  for (auto& [id, s] : sessions_) {
    if (!s->buffer.empty() && (s->partition[0] == partition || s->partition[1] == partition)) {
      release(*s, /*flush_all=*/false);
    }
  }
}

void Processor::connection_lost() {
  bool any = false;
  for (auto& [key, end] : ends_) {
    any = any || end.known;
    end.known = false;
    end.at_eof = false;
  }
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
  // Safe only while the input behind can still move: assigned, unread records, not paused itself.
  if (!ends_.contains(behind_key) || read_to_end(behind_key) || pause_requests_.contains(behind_key)) return;
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
  std::size_t buffered = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    Session& s = *it->second;
    const auto silent = now - s.last_input;
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
    {
      SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_);
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
  factory_.on_tick(now);
}

void Processor::evict(SessionMap::iterator it) {
  Session& s = *it->second;
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
