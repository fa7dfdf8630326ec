#include "replay/source_publisher.h"

#include <spdlog/spdlog.h>

#include <array>
#include <queue>
#include <thread>

#include "replay/recording.h"
#include "sources/window.h"
#include "stream/codec.h"
#include "stream/kafka.h"

namespace boxcall::replay {

namespace {

using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct Head {
  TimeNs t;
  std::size_t source;
  bool operator>(const Head& o) const { return t != o.t ? t > o.t : source > o.source; }
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  if (msg->err) {
    auto* failed = static_cast<std::atomic<std::uint64_t>*>(opaque);
    if (failed->fetch_add(1) == 0) spdlog::error("publish failed: {}", rd_kafka_err2str(msg->err));
  }
}

/// The producer of a publish run (stream::Producer, boxcall's one producer wrapper).
class RunProducer {
 public:
  RunProducer(const std::string& brokers, const PublishOptions& options)
      : producer_(conf(brokers, options), &on_delivery, &failed_) {
    stream::ensure_reachable(producer_.get(), brokers, std::chrono::seconds(10));
  }

  rd_kafka_topic_t* topic(const std::string& name) { return producer_.topic(name); }

  /// Produces one record (payloads copied). Waits on a full queue; throws ConfigError on other errors.
  void send(rd_kafka_topic_t* rkt, std::int32_t partition, const std::optional<std::string_view>& key,
            const std::optional<std::string_view>& value, const Headers* headers) {
    std::vector<stream::Header> h;
    if (headers) {
      h.reserve(headers->size());
      for (const auto& [name, v] : *headers)
        h.push_back({name, v ? std::optional<std::string_view>(*v) : std::nullopt});
    }
    const auto err = producer_.produce(
        {.topic = rkt,
         .partition = partition,
         .key = key,
         .value = value ? std::as_bytes(std::span(value->data(), value->size())) : std::span<const std::byte>{},
         .headers = h});
    if (err) throw ConfigError(std::string("cannot publish: ") + rd_kafka_err2str(err));
    if ((++sent_ & 0xfff) == 0) producer_.poll(0);
  }

  void poll() { producer_.poll(0); }

  /// Flushes; returns the number of records that failed.
  std::uint64_t finish(std::chrono::milliseconds timeout) {
    if (producer_.flush(timeout) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::error("publish: {} record(s) not acknowledged", producer_.in_flight());
      failed_ += static_cast<std::uint64_t>(producer_.in_flight());
    }
    return failed_.load();
  }

 private:
  static stream::KafkaConf conf(const std::string& brokers, const PublishOptions& options) {
    stream::KafkaConf c;
    c.set("bootstrap.servers", brokers);
    c.set_all(stream::default_producer_properties());
    c.set("linger.ms", options.speed == 0 ? "20" : "1");
    c.set("queue.buffering.max.messages", "1000000");
    c.set_all(options.kafka);
    return c;
  }
  std::atomic<std::uint64_t> failed_{0};
  stream::Producer producer_;
  std::uint64_t sent_ = 0;
};

/// Paces records by their event time and reports progress.
class Pacer {
 public:
  explicit Pacer(const PublishOptions& o)
      : o_(o), clock_(o.clock ? *o.clock : steady_), wall_start_(clock_.now()), next_progress_(wall_start_) {}

  bool stopped() const { return o_.stop && o_.stop->load(); }

  /// Waits until the record at event time `t` is due (calling `idle` while
  /// waiting). False when stopped meanwhile.
  bool wait(TimeNs t, const std::function<void()>& idle) {
    if (!first_) {
      first_ = t;
      anchor_ = clock_.now();
    }
    if (o_.speed <= 0) {
      last_ = std::max(last_, t);
      return !stopped();
    }
    const auto due =
        anchor_ + std::chrono::nanoseconds(static_cast<TimeNs>(static_cast<double>(t - *first_) / o_.speed));
    while (clock_.now() < due) {
      if (stopped()) return false;
      idle();
      progress(false);
      clock_.sleep_until(std::min(due, clock_.now() + std::chrono::milliseconds(50)));
    }
    last_ = std::max(last_, t);  // progress reports what is due, never what is waited for
    return !stopped();
  }

  void count(std::size_t bytes) {
    ++records_;
    bytes_ += bytes;
    if ((records_ & 0xff) == 0) progress(false);
  }

  void progress(bool force) {
    if (!o_.on_progress) return;
    const auto now = clock_.now();
    if (!force && now < next_progress_) return;
    next_progress_ = now + o_.progress_interval;
    o_.on_progress(PublishProgress{records_, bytes_, first_ ? last_ - *first_ : 0,
                                   std::chrono::duration<double>(now - wall_start_).count()});
  }

  [[nodiscard]] bool at_limit() const { return o_.limit != 0 && records_ >= o_.limit; }
  [[nodiscard]] TimeNs span() const { return first_ ? last_ - *first_ : 0; }
  /// Wall time from the first published record (records skipped before a window do not count).
  [[nodiscard]] double seconds() const {
    return std::chrono::duration<double>(clock_.now() - (first_ ? anchor_ : wall_start_)).count();
  }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  const PublishOptions& o_;
  SteadyClock steady_;
  Clock& clock_;
  std::chrono::steady_clock::time_point wall_start_, anchor_, next_progress_;
  std::optional<TimeNs> first_;
  TimeNs last_ = 0;
  std::uint64_t records_ = 0, bytes_ = 0;
};

/// The event-time merge of the sources with the window, limit and stop
/// options applied. `emit(session, input)` publishes one record,
/// `emit_dead(dead_letter)` one rejected line; `idle()` runs while waiting.
template <typename Emit, typename EmitDead, typename Idle>
void merge_sources(std::vector<std::unique_ptr<sources::RecordSource>>& srcs, const PublishOptions& o, Pacer& pacer,
                   Emit&& emit, EmitDead&& emit_dead, Idle&& idle) {
  auto drain_dead = [&] {
    if (!o.dead_letters) return;
    for (const auto& d : *o.dead_letters) emit_dead(d);
    o.dead_letters->clear();
  };
  if (o.from_ns || o.to_ns) {
    for (auto& src : srcs) src = std::make_unique<sources::WindowSource>(std::move(src), o.from_ns, o.to_ns);
  }
  std::vector<std::optional<Input>> pending(srcs.size());
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  auto advance = [&](std::size_t i) {
    pending[i] = srcs[i]->next();
    drain_dead();
    if (pending[i]) heads.push({event_time(*pending[i]), i});
  };
  for (std::size_t i = 0; i < srcs.size(); ++i) advance(i);
  const std::function<void()> idle_fn = idle;
  while (!heads.empty() && !pacer.at_limit()) {
    const Head h = heads.top();
    heads.pop();
    if (!pacer.wait(h.t, idle_fn)) break;
    emit(srcs[h.source]->session_id(), *pending[h.source]);
    advance(h.source);
  }
}

}  // namespace

PublishStats publish_sources(std::vector<std::unique_ptr<sources::RecordSource>> srcs, const std::string& brokers,
                             const stream::TopicNames& topics, const PublishOptions& options) {
  RunProducer producer(brokers, options);
  rd_kafka_topic_t* telemetry = producer.topic(topics.telemetry);
  rd_kafka_topic_t* timing = producer.topic(topics.timing);
  stream::Codec codec;
  PublishStats stats;
  Pacer pacer(options);
  merge_sources(
      srcs, options, pacer,
      [&](const std::string& session, const Input& input) {
        auto bytes = codec.encode(session, input);
        const bool is_sample = std::holds_alternative<TelemetrySample>(input);
        producer.send(is_sample ? telemetry : timing, RD_KAFKA_PARTITION_UA, session,
                      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), nullptr);
        ++(is_sample ? stats.telemetry : stats.timing);
        pacer.count(session.size() + bytes.size());
      },
      [&](const DeadLetter& d) {
        Headers h;
        for (const auto& [k, v] : d.headers) h.emplace_back(k, v);
        producer.send(producer.topic(topics.dead_letter), RD_KAFKA_PARTITION_UA, d.key, d.value, &h);
        ++stats.dead_letter;
      },
      [&] { producer.poll(); });
  pacer.progress(true);
  stats.failed = producer.finish(options.flush_timeout);
  stats.bytes = pacer.bytes();
  stats.event_span_ns = pacer.span();
  stats.seconds = pacer.seconds();
  return stats;
}

PublishStats publish_recording(RecordingReader& recording, const std::string& brokers, const stream::TopicNames& topics,
                               const PublishOptions& options) {
  RunProducer producer(brokers, options);
  PublishStats stats;
  Pacer pacer(options);
  std::vector<rd_kafka_topic_t*> targets;  // by recorded topic id
  std::vector<std::uint64_t*> counters;
  RecordedRecord r;
  std::optional<std::int64_t> first_ms;
  while (!pacer.at_limit() && recording.next(r)) {
    while (targets.size() < recording.topics().size()) {
      const std::string& name = recording.topics()[targets.size()];
      auto it = options.topic_map.find(name);
      const std::string& target = it == options.topic_map.end() ? name : it->second;
      targets.push_back(producer.topic(target));
      counters.push_back(target == topics.telemetry     ? &stats.telemetry
                         : target == topics.timing      ? &stats.timing
                         : target == topics.dead_letter ? &stats.dead_letter
                                                        : &stats.other);
    }
    if (!first_ms) first_ms = r.timestamp_ms;
    const TimeNs rel = (r.timestamp_ms - *first_ms) * 1'000'000;
    if (options.from_ns && rel < *options.from_ns) continue;
    if (options.to_ns && rel > *options.to_ns) break;
    if (!pacer.wait(r.timestamp_ms * 1'000'000, [&] { producer.poll(); })) break;
    auto view = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
      if (!s) return std::nullopt;
      return std::string_view(*s);
    };
    producer.send(targets[r.topic_id],
                  options.keep_partitions && r.partition >= 0 ? r.partition : RD_KAFKA_PARTITION_UA, view(r.key),
                  view(r.value), &r.headers);
    ++*counters[r.topic_id];
    pacer.count((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0));
  }
  pacer.progress(true);
  stats.failed = producer.finish(options.flush_timeout);
  stats.bytes = pacer.bytes();
  stats.event_span_ns = pacer.span();
  stats.seconds = pacer.seconds();
  return stats;
}

PublishStats record_sources(std::vector<std::unique_ptr<sources::RecordSource>> srcs, const stream::TopicNames& topics,
                            RecordingWriter& out, const PublishOptions& options) {
  PublishOptions o = options;
  o.speed = 0;
  stream::Codec codec;
  PublishStats stats;
  Pacer pacer(o);
  const std::uint16_t telemetry = out.topic_id(topics.telemetry);
  const std::uint16_t timing = out.topic_id(topics.timing);
  RecordedRecord r;
  merge_sources(
      srcs, o, pacer,
      [&](const std::string& session, const Input& input) {
        auto bytes = codec.encode(session, input);
        const bool is_sample = std::holds_alternative<TelemetrySample>(input);
        r.topic_id = is_sample ? telemetry : timing;
        r.timestamp_ms = event_time(input) / 1'000'000;
        r.key = session;
        r.value.emplace(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        r.headers.clear();
        out.write(r);
        ++(is_sample ? stats.telemetry : stats.timing);
        pacer.count(session.size() + bytes.size());
      },
      [&](const DeadLetter& d) {
        r.topic_id = out.topic_id(topics.dead_letter);
        r.key = d.key;
        r.value = d.value;
        r.headers.clear();
        for (const auto& [k, v] : d.headers) r.headers.emplace_back(k, v);
        out.write(r);
        ++stats.dead_letter;
      },
      [] {});
  pacer.progress(true);
  stats.bytes = pacer.bytes();
  stats.event_span_ns = pacer.span();
  stats.seconds = pacer.seconds();
  return stats;
}

}  // namespace boxcall::replay
