#include "stream/processor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "base/check.h"
#include "base/validate.h"
#include "infer/pipeline.h"
#include "infer/priors.h"
#include "infer/rules_predictor.h"
#include "infer/xgb_predictor.h"

namespace boxcall::stream {
namespace {

constexpr TimeNs kNever = std::numeric_limits<TimeNs>::min();
constexpr TimeNs kForever = std::numeric_limits<TimeNs>::max();
// Beyond this many buffered records a session releases its oldest records even
// if a watermark input is still behind: memory stays bounded.
constexpr std::size_t kMaxBufferedPerSession = 200'000;

std::size_t index(InputTopic t) { return static_cast<std::size_t>(t); }

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

std::string ms_text(TimeNs ns) { return std::to_string(ns / 1'000'000) + " ms"; }

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

struct Processor::Pending {
  TimeNs t;
  std::uint64_t seq;
  InputTopic topic;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t timestamp_ms;
  Input input;
  std::vector<std::byte> raw;  // the untouched value, for the dead-letter topic
  // Min-heap order: earliest event time first, arrival order among equals.
  bool operator<(const Pending& o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

namespace {
struct CarSeen {
  TimeNs newest_sample_arrived = kNever;  // including samples still buffered
  TimeNs last_sample_t = kNever;          // applied
  TimeNs last_sample_session = kNever;
  std::int32_t last_lap = 0;
  std::array<TimeNs, std::variant_size_v<TimingBody>> last_timing_t;
  CarSeen() { last_timing_t.fill(kNever); }
};
}  // namespace

struct Processor::Session {
  Session(std::string session_id, const ProcessorConfig& config, std::shared_ptr<OffsetTracker> tracker,
          const infer::PredictorProvider& predictor, std::shared_ptr<const infer::StrategyPriors> priors)
      : id(std::move(session_id)),
        pipeline(id, config.features, config.strategy, predictor, std::move(priors)),
        pin(std::make_shared<Pin>(std::move(tracker))) {}
  std::string id;
  infer::SessionPipeline pipeline;  // features and strategy: the same code as the offline twins
  std::shared_ptr<Pin> pin;
  std::array<std::optional<std::int32_t>, kInputTopics> partition;
  std::array<TimeNs, kInputTopics> newest{kNever, kNever};
  TimeNs released = kNever;     // everything at or before this event time was applied
  TimeNs engine_time = kNever;  // event time of the newest record the pipeline was given in order
  std::vector<Pending> buffer;  // heap
  std::uint64_t seq = 0;
  std::chrono::steady_clock::time_point last_input;
  /// Per input: when this session's last record arrived on it (or the session began).
  std::array<std::chrono::steady_clock::time_point, kInputTopics> last_arrival{};
  std::unordered_map<std::uint16_t, CarSeen> cars;
};

namespace {
/// Encodes engine outputs and hands them to the publisher under the session's pin.
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
                     infer::PredictorProvider predictor)
    : config_(std::move(config)),
      publisher_(publisher),
      metrics_(metrics),
      clock_(clock),
      tracker_(std::make_shared<OffsetTracker>()),
      predictor_(std::move(predictor)) {
  // Start-up: models that do not load are a configuration error, never a silent fallback.
  const ModelsConfig& m = config_.models;
  auto priors = std::make_shared<infer::StrategyPriors>();
  if (!m.dir.empty()) {
    const std::filesystem::path priors_file = std::filesystem::path(m.dir) / infer::kPriorsFile;
    if (std::filesystem::exists(priors_file)) {
      auto loaded = infer::load_priors(priors_file);
      if (!loaded) throw ConfigError("models: " + loaded.error().detail);
      *priors = std::move(loaded.value());
    }
  }
  priors_ = std::move(priors);
  if (predictor_) return;
  if (!m.dir.empty()) {
    auto store = infer::ModelStore::open(m.dir);
    if (!store) throw ConfigError("models: " + store.error().detail);
    models_ = std::shared_ptr<infer::ModelStore>(std::move(store.value()));
    predictor_ = [models = models_]() -> std::shared_ptr<const infer::Predictor> { return models->current(); };
    next_reload_ = clock_.now() + m.reload_interval;
  } else if (m.fallback == "rules") {
    auto rules = std::make_shared<const infer::RulesPredictor>();
    predictor_ = [rules]() -> std::shared_ptr<const infer::Predictor> { return rules; };
    spdlog::info("no model directory: strategy predictions from the fallback rules ({})", rules->version());
  } else {
    spdlog::info("no model directory and models.fallback = none: no strategy predictions (alerts still run)");
  }
}

Processor::~Processor() = default;

void Processor::assign(InputTopic topic, std::int32_t partition) {
  static std::int64_t generation = 0;
  OffsetTracker::Key k{topic, partition};
  tracker_->assign(k, ++generation);
  ends_[k] = PartitionEnd{};
}

void Processor::revoke(InputTopic topic, std::int32_t partition) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto next = std::next(it);
    if (it->second->partition[index(topic)] == partition) evict(it);
    it = next;
  }
  OffsetTracker::Key k{topic, partition};
  tracker_->revoke(k);
  ends_.erase(k);
}

Processor::Session& Processor::session_for(std::string_view id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    it = sessions_
             .emplace(std::string(id),
                      std::make_unique<Session>(std::string(id), config_, tracker_, predictor_, priors_))
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

void Processor::process(const RecordRef& rec) {
  metrics_.record_in(rec.topic);
  const OffsetTracker::Key key{rec.topic, rec.partition};
  tracker_->consumed(key, rec.offset);
  if (auto it = ends_.find(key); it != ends_.end()) it->second.at_eof = false;
  current_timestamp_ms_ = rec.timestamp_ms;

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
  const TimeNs t = event_time(input);
  const auto* sample = std::get_if<TelemetrySample>(&input);
  if (sample) {
    TimeNs& newest = s.cars[sample->car].newest_sample_arrived;
    newest = std::max(newest, t);
  }
  if (t < s.released) {
    // Behind the session, but in order for its own car: per-car state sees it in order.
    if (sample && t > s.cars[sample->car].last_sample_t) {
      return apply(s, rec.topic, input, /*late=*/false, &rec, nullptr, rec.offset, rec.partition);
    }
    const TimeNs behind = s.released - t;
    if (behind > std::chrono::nanoseconds(config_.allowed_lateness).count()) {
      return reject(rec, Error{Reason::Late,
                               "event time " + ms_text(behind) + " behind the session watermark (allowed lateness " +
                                   ms_text(std::chrono::nanoseconds(config_.allowed_lateness).count()) + ")"});
    }
    metrics_.late_accepted();
    return apply(s, rec.topic, input, /*late=*/true, &rec, nullptr, rec.offset, rec.partition);
  }
  s.newest[ti] = std::max(s.newest[ti], t);
  s.buffer.push_back(Pending{t, s.seq++, rec.topic, rec.partition, rec.offset, rec.timestamp_ms, std::move(input),
                             std::vector<std::byte>(rec.value.begin(), rec.value.end())});
  std::push_heap(s.buffer.begin(), s.buffer.end());
  ++buffered_;
  refresh_watermark(s, /*flush_all=*/false);
}

void Processor::refresh_watermark(Session& s, bool flush_all) {
  TimeNs w = kForever;
  const auto now = clock_.now();
  for (std::size_t ti = 0; ti < kInputTopics && !flush_all; ++ti) {
    // An input the consumer has read to the end of (nothing fetched and still
    // unread) stops holding the session back once the session has been quiet
    // on it for `input_idle`; while it has unread records it always holds.
    // Its partition is the session's partition on the other topic when the
    // session has not been seen on this one (same count, same key hashing).
    const std::optional<std::int32_t> partition = s.partition[ti] ? s.partition[ti] : s.partition[1 - ti];
    if ((!partition || read_to_end({static_cast<InputTopic>(ti), *partition})) &&
        now - s.last_arrival[ti] >= config_.input_idle) {
      continue;
    }
    const TimeNs bound =
        s.newest[ti] == kNever ? kNever : s.newest[ti] - std::chrono::nanoseconds(config_.max_out_of_orderness).count();
    w = std::min(w, bound);
  }
  if (w == kForever) {
    const TimeNs newest = std::max(s.newest[0], s.newest[1]);
    w = flush_all || newest == kNever ? newest
                                      : newest - std::chrono::nanoseconds(config_.max_out_of_orderness).count();
  }
  if (!s.buffer.empty() && (s.buffer.size() > kMaxBufferedPerSession || buffered_ > config_.max_buffered_records)) {
    w = std::max(w, s.buffer.front().t);  // memory first: shed this session's oldest record
  }
  release(s, w, flush_all);
}

void Processor::release(Session& s, TimeNs watermark, bool flush_all) {
  if (watermark == kNever) return;
  const TimeNs grace = std::chrono::nanoseconds(config_.lap_close_grace).count();
  // The telemetry partition is in event-time order per session: once it is a
  // grace past a lap end, that lap's samples of every car have arrived.
  const TimeNs telemetry = s.newest[index(InputTopic::Telemetry)];
  while (!s.buffer.empty() && s.buffer.front().t <= watermark) {
    const Pending& head = s.buffer.front();
    if (!flush_all && head.topic == InputTopic::Timing) {
      const auto& e = std::get<TimingEvent>(head.input);
      if (std::holds_alternative<LapCompleted>(e.body) && telemetry != kNever && telemetry < head.t + grace) {
        auto car = s.cars.find(e.car);
        if (car == s.cars.end() || car->second.newest_sample_arrived < head.t) {
          watermark = head.t - 1;  // hold the lap end (and what follows) for the car's telemetry
          break;
        }
      }
    }
    std::pop_heap(s.buffer.begin(), s.buffer.end());
    Pending p = std::move(s.buffer.back());
    s.buffer.pop_back();
    --buffered_;
    current_timestamp_ms_ = p.timestamp_ms;
    apply(s, p.topic, p.input, /*late=*/false, nullptr, &p.raw, p.offset, p.partition);
  }
  s.released = std::max(s.released, watermark);
}

void Processor::advance(Session& s, TimeNs t, OutputSink& sink) {
  // The pipeline's clock is the event time of the records it was given, in
  // order, exactly as in the offline twins: rolling snapshots fall on the same
  // records however the consumer batched them.
  if (t <= s.engine_time) return;
  s.engine_time = t;
  s.pipeline.on_watermark(t, sink);
}

void Processor::apply(Session& s, InputTopic topic, const Input& input, bool late, const RecordRef* raw,
                      const std::vector<std::byte>* raw_copy, std::int64_t offset, std::int32_t partition) {
  auto dead_letter = [&](Error err) {
    if (raw) return reject(*raw, std::move(err));
    RecordRef r{topic,
                partition,
                offset,
                as_bytes(std::string_view(s.id)),
                std::span<const std::byte>(raw_copy->data(), raw_copy->size()),
                current_timestamp_ms_};
    reject(r, std::move(err));
  };
  SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_);
  if (const auto* sample = std::get_if<TelemetrySample>(&input)) {
    CarSeen& car = s.cars[sample->car];
    if (sample->event_time_ns == car.last_sample_t) {
      metrics_.duplicate();
      return;
    }
    if (!late) {
      if (sample->session_time_ns < car.last_sample_session) {
        return dead_letter(Error{Reason::TimeWentBackwards,
                                 "session time went back " +
                                     ms_text(car.last_sample_session - sample->session_time_ns) + " for car " +
                                     std::to_string(sample->car) + " while event time advanced"});
      }
      car.last_sample_t = sample->event_time_ns;
      car.last_sample_session = sample->session_time_ns;
    }
    if (s.pipeline.on_sample(*sample, late, sink) == features::Placement::LapClosed) {
      return dead_letter(
          Error{Reason::Late, "late sample for a lap already closed (car " + std::to_string(sample->car) + ")"});
    }
    metrics_.applied();
    if (!late) advance(s, sample->event_time_ns, sink);
    return;
  }
  const auto& event = std::get<TimingEvent>(input);
  CarSeen& car = s.cars[event.car];
  if (const auto* lap = std::get_if<LapCompleted>(&event.body)) {
    if (lap->lap <= car.last_lap) {
      metrics_.duplicate();
      return;
    }
    car.last_lap = lap->lap;
  } else {
    TimeNs& last = car.last_timing_t[event.body.index()];
    if (last == event.event_time_ns) {
      metrics_.duplicate();
      return;
    }
    last = event.event_time_ns;
  }
  s.pipeline.on_timing(event, sink);
  metrics_.applied();
  if (!late) advance(s, event.event_time_ns, sink);
}

bool Processor::read_to_end(OffsetTracker::Key key) const {
  auto it = ends_.find(key);
  if (it == ends_.end()) return true;  // not assigned here: nothing to wait for
  const PartitionEnd& end = it->second;
  const std::int64_t position = std::max(tracker_->next_offset(key), end.eof_offset);
  // The high watermark of the last fetch counts records fetched but not yet
  // consumed; before any fetch answered, the EOF event is all there is.
  if (end.high_watermark >= 0 && position >= 0) return position >= end.high_watermark;
  return end.at_eof;
}

void Processor::high_watermark(InputTopic topic, std::int32_t partition, std::int64_t offset) {
  auto it = ends_.find({topic, partition});
  if (it == ends_.end() || it->second.high_watermark == offset) return;
  it->second.high_watermark = offset;
}

void Processor::partition_eof(InputTopic topic, std::int32_t partition, std::int64_t offset) {
  if (auto it = ends_.find({topic, partition}); it != ends_.end()) {
    it->second.at_eof = true;
    it->second.eof_offset = std::max(it->second.eof_offset, offset);
  }
  for (auto& [id, s] : sessions_) {
    if (!s->buffer.empty()) refresh_watermark(*s, /*flush_all=*/false);
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
      refresh_watermark(s, /*flush_all=*/true);
    } else if (!s.buffer.empty()) {
      refresh_watermark(s, /*flush_all=*/false);  // an input may have become idle
    }
    {
      SessionSink sink(codec_, publisher_, s.id, s.pin, current_timestamp_ms_);
      s.pipeline.on_tick(now, sink);
    }
    if (silent >= config_.session_expiry || (s.pipeline.finished() && silent >= config_.idle_timeout)) {
      evict(it);
    } else {
      buffered += s.buffer.size();
      const TimeNs newest = std::max(s.newest[0], s.newest[1]);
      if (s.released != kNever) metrics_.set_watermark_delay(s.id, ns_to_s(newest - s.released));
    }
    it = next;
  }
  metrics_.set_buffered_records(static_cast<double>(buffered));
  if (models_ && config_.models.reload_interval.count() > 0 && now >= next_reload_) {
    next_reload_ = now + config_.models.reload_interval;
    auto reloaded = models_->maybe_reload();
    if (!reloaded) {
      spdlog::warn("model reload failed, keeping {}: {}", models_->version(), reloaded.error().detail);
    } else if (reloaded.value()) {
      spdlog::info("models reloaded: {}", models_->version());
    }
  }
}

void Processor::drain() {
  for (auto& [id, s] : sessions_) refresh_watermark(*s, /*flush_all=*/true);
}

void Processor::evict(SessionMap::iterator it) {
  buffered_ -= it->second->buffer.size();
  metrics_.remove_session(it->first);
  sessions_.erase(it);
  metrics_.set_active_sessions(static_cast<double>(sessions_.size()));
}

std::size_t Processor::buffered_records() const { return buffered_; }

}  // namespace boxcall::stream
