#include "stream/runner.h"

// GCC 12 in C++20 mode: awaitable.hpp uses std::exchange without including <utility>,
// so it comes first, in a block of its own (clang-format sorts within blocks).
#include <utility>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstring>

#include "base/clock.h"
#include "stream/kafka.h"
#include "stream/processor.h"

namespace boxcall::stream {
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

/// A pipe that librdkafka writes to when a queue becomes non-empty.
class WakePipe {
 public:
  explicit WakePipe(asio::io_context& io) : reader_(io) {
    int fds[2];
    if (::pipe(fds) != 0) throw ConfigError(std::string("pipe(): ") + std::strerror(errno));
    reader_.assign(fds[0]);
    reader_.non_blocking(true);
    write_fd_ = fds[1];
  }
  ~WakePipe() { ::close(write_fd_); }
  WakePipe(const WakePipe&) = delete;
  WakePipe& operator=(const WakePipe&) = delete;
  [[nodiscard]] int write_fd() const { return write_fd_; }
  /// Calls `handler` each time the pipe becomes readable, until cancel().
  void watch(std::function<void()> handler) {
    handler_ = std::move(handler);
    arm();
  }
  void cancel() {
    handler_ = nullptr;
    reader_.cancel();
  }

 private:
  void arm() {
    reader_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec || !handler_) return;
      std::array<char, 256> sink{};
      boost::system::error_code read_ec;
      while (reader_.read_some(asio::buffer(sink), read_ec) > 0 && !read_ec) {
      }
      handler_();
      if (handler_) arm();
    });
  }
  asio::posix::stream_descriptor reader_;
  int write_fd_ = -1;
  std::function<void()> handler_;
};

/// What a produced record carries until its delivery report.
struct InFlight {
  std::shared_ptr<Pin> pin;
  OutputTopic topic;
  std::chrono::steady_clock::time_point produced_at;
  std::int64_t input_timestamp_ms;
};

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Runner::Impl final : Publisher {
  const StreamConfig& config;
  StreamMetrics& metrics;
  SteadyClock clock;
  asio::io_context io;
  KafkaHandle consumer;
  KafkaHandle producer;
  std::array<KafkaTopic, kOutputTopics> out_topics;
  std::array<rd_kafka_topic_t*, kInputTopics> in_topics{};  // cached per message lookups
  std::unique_ptr<Processor> processor;
  Codec print_codec;
  Codec output_codec;  // renders outputs in their topic's encoding
  const RunOptions* options = nullptr;
  bool stopping = false;
  bool delivery_failed = false;
  std::vector<std::shared_ptr<Pin>> failed_pins;  // never released: commits must not pass them
  std::map<OffsetTracker::Key, std::int64_t> committed;
  std::size_t assigned_partitions = 0;

  Impl(const StreamConfig& c, StreamMetrics& m) : config(c), metrics(m) {
    KafkaConf pconf;
    pconf.set("bootstrap.servers", c.brokers);
    pconf.set_all(default_producer_properties()).set_all(c.kafka_common).set_all(c.kafka_producer);
    rd_kafka_conf_set_dr_msg_cb(pconf.get(), &Impl::on_delivery);
    rd_kafka_conf_set_opaque(pconf.get(), this);
    producer = pconf.create(RD_KAFKA_PRODUCER);

    ensure_reachable(producer.get(), c.brokers, c.startup_timeout);
    std::optional<int> counts[kInputTopics];
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      const auto& name = c.topics.input(static_cast<InputTopic>(i));
      counts[i] = partition_count(producer.get(), name, c.startup_timeout);
      if (!counts[i]) throw ConfigError("input topic '" + name + "' does not exist on " + c.brokers);
    }
    if (*counts[0] != *counts[1]) {
      throw ConfigError("topics '" + c.topics.telemetry + "' (" + std::to_string(*counts[0]) + " partitions) and '" +
                        c.topics.timing + "' (" + std::to_string(*counts[1]) +
                        ") must have the same partition count: a session's telemetry and timing must meet");
    }
    for (std::size_t i = 0; i < kOutputTopics; ++i) {
      const auto& name = c.topics.output(static_cast<OutputTopic>(i));
      if (!partition_count(producer.get(), name, c.startup_timeout)) {
        spdlog::warn("output topic '{}' does not exist yet; it must be auto-created by the broker", name);
      }
      out_topics[i] = KafkaTopic(rd_kafka_topic_new(producer.get(), name.c_str(), nullptr));
    }

    KafkaConf cconf;
    cconf.set("bootstrap.servers", c.brokers).set("group.id", c.group_id);
    cconf.set_all(default_consumer_properties()).set_all(c.kafka_common).set_all(c.kafka_consumer);
    rd_kafka_conf_set_rebalance_cb(cconf.get(), &Impl::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(cconf.get(), &Impl::on_commit);
    rd_kafka_conf_set_opaque(cconf.get(), this);
    consumer = cconf.create(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(consumer.get());

    processor = std::make_unique<Processor>(c.processor, *this, metrics, clock);
  }

  // ---------------------------------------------------------------- Publisher

  void produce(OutputTopic topic, std::string_view key, std::span<const std::byte> value, rd_kafka_headers_t* headers,
               std::unique_ptr<InFlight> inflight) {
    while (true) {
      std::array<rd_kafka_vu_t, 6> vu{};
      std::size_t n = 0;
      vu[n].vtype = RD_KAFKA_VTYPE_RKT;
      vu[n++].u.rkt = out_topics[static_cast<std::size_t>(topic)].get();
      vu[n].vtype = RD_KAFKA_VTYPE_KEY;
      vu[n].u.mem.ptr = const_cast<char*>(key.data());
      vu[n++].u.mem.size = key.size();
      vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
      vu[n].u.mem.ptr = const_cast<std::byte*>(value.data());
      vu[n++].u.mem.size = value.size();
      vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
      vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
      vu[n++].u.ptr = inflight.get();
      if (headers) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vu[n++].u.headers = headers;
      }
      rd_kafka_error_t* error = rd_kafka_produceva(producer.get(), vu.data(), n);
      const rd_kafka_resp_err_t err = error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;
      if (error) rd_kafka_error_destroy(error);
      if (!err) {
        inflight.release();  // owned by the delivery report now
        return;
      }
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 10);  // backpressure: wait for deliveries
        continue;
      }
      if (headers) rd_kafka_headers_destroy(headers);
      spdlog::error("cannot produce to {}: {}", to_string(topic), rd_kafka_err2str(err));
      fail_delivery(std::move(inflight->pin));
      return;
    }
  }

  void publish(OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value, std::shared_ptr<Pin> pin,
               std::int64_t input_timestamp_ms) override {
    // The topic's encoding ([output]) and the headers that name it (output_encoding.h).
    auto rendered = output_codec.render(value, config.output.of(topic));
    if (!rendered) {
      spdlog::error("cannot encode an output for {}: {}", to_string(topic), rendered.error().detail);
      fail_delivery(std::move(pin));
      return;
    }
    rd_kafka_headers_t* h = rd_kafka_headers_new(2);
    rd_kafka_header_add(h, kContentTypeHeader.data(), static_cast<ssize_t>(kContentTypeHeader.size()),
                        rendered->content_type.data(), static_cast<ssize_t>(rendered->content_type.size()));
    rd_kafka_header_add(h, kSchemaVersionHeader.data(), static_cast<ssize_t>(kSchemaVersionHeader.size()),
                        rendered->schema_version.data(), static_cast<ssize_t>(rendered->schema_version.size()));
    produce(topic, key, std::as_bytes(rendered->value), h,
            std::make_unique<InFlight>(InFlight{std::move(pin), topic, clock.now(), input_timestamp_ms}));
  }

  void dead_letter(const RecordRef& rec, const Error& error, std::shared_ptr<Pin> pin) override {
    rd_kafka_headers_t* h = rd_kafka_headers_new(5);
    auto add = [h](const char* name, const std::string& v) {
      rd_kafka_header_add(h, name, -1, v.data(), static_cast<ssize_t>(v.size()));
    };
    add("boxcall.reason", std::string(to_string(error.reason)));
    add("boxcall.detail", error.detail);
    add("boxcall.source.topic", config.topics.input(rec.topic));
    add("boxcall.source.partition", std::to_string(rec.partition));
    add("boxcall.source.offset", std::to_string(rec.offset));
    std::string_view key(reinterpret_cast<const char*>(rec.key.data()), rec.key.size());
    if (options && options->on_output) {
      last_dead_letter_json = "{\"dead_letter\":{\"reason\":\"" + std::string(to_string(error.reason)) +
                              "\",\"source\":\"" + config.topics.input(rec.topic) + "/" +
                              std::to_string(rec.partition) + "@" + std::to_string(rec.offset) + "\"}}";
    }
    produce(
        OutputTopic::DeadLetter, key, rec.value, h,
        std::make_unique<InFlight>(InFlight{std::move(pin), OutputTopic::DeadLetter, clock.now(), rec.timestamp_ms}));
  }
  std::string last_dead_letter_json;

  void fail_delivery(std::shared_ptr<Pin> pin) {
    metrics.delivery_failed();
    failed_pins.push_back(std::move(pin));
    if (!delivery_failed) {
      delivery_failed = true;
      spdlog::critical("an output could not be delivered; stopping without committing past it");
      asio::post(io, [this] { begin_shutdown(); });
    }
  }

  // ---------------------------------------------------------------- callbacks

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    std::unique_ptr<InFlight> inflight(static_cast<InFlight*>(msg->_private));
    if (msg->err) {
      spdlog::error("delivery to {} failed: {}", to_string(inflight->topic), rd_kafka_err2str(msg->err));
      self->fail_delivery(std::move(inflight->pin));
      return;
    }
    auto now = self->clock.now();
    self->metrics.output(inflight->topic);
    self->metrics.observe(Stage::Deliver, std::chrono::duration<double>(now - inflight->produced_at).count());
    if (inflight->input_timestamp_ms > 0) {
      self->metrics.observe(Stage::EndToEnd, static_cast<double>(wall_ms() - inflight->input_timestamp_ms) / 1e3);
    }
    if (self->options && self->options->on_output) {
      if (inflight->topic == OutputTopic::DeadLetter) {
        self->options->on_output(inflight->topic, self->describe_dead_letter(msg));
      } else if (self->config.output.of(inflight->topic) == OutputEncoding::Json) {
        self->options->on_output(inflight->topic, {static_cast<const char*>(msg->payload), msg->len});
      } else {
        auto json = self->print_codec.to_json({static_cast<const std::byte*>(msg->payload), msg->len});
        if (json) self->options->on_output(inflight->topic, json.value());
      }
    }
  }

  std::string describe_dead_letter(const rd_kafka_message_t* msg) {
    rd_kafka_headers_t* h = nullptr;
    std::string reason, source_topic, partition, offset;
    auto get = [&](const char* name) {
      const void* v = nullptr;
      size_t n = 0;
      if (h && rd_kafka_header_get_last(h, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return std::string(static_cast<const char*>(v), n);
      }
      return std::string();
    };
    if (rd_kafka_message_headers(msg, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      reason = get("boxcall.reason");
      source_topic = get("boxcall.source.topic");
      partition = get("boxcall.source.partition");
      offset = get("boxcall.source.offset");
    }
    return "{\"dead_letter\":{\"reason\":\"" + reason + "\",\"source_topic\":\"" + source_topic +
           "\",\"source_partition\":" + (partition.empty() ? "null" : partition) +
           ",\"source_offset\":" + (offset.empty() ? "null" : offset) + "}}";
  }

  std::optional<InputTopic> input_of(rd_kafka_topic_t* rkt) {
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      if (in_topics[i] == rkt) return static_cast<InputTopic>(i);
    }
    const char* name = rd_kafka_topic_name(rkt);
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      if (config.topics.input(static_cast<InputTopic>(i)) == name) {
        in_topics[i] = rkt;
        return static_cast<InputTopic>(i);
      }
    }
    return std::nullopt;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        auto topic = self->input_of_name(parts->elems[i].topic);
        if (topic) self->processor->assign(*topic, parts->elems[i].partition);
      }
      self->assigned_partitions += static_cast<std::size_t>(parts->cnt);
      self->metrics.set_assigned_partitions(static_cast<double>(self->assigned_partitions));
      spdlog::info("assigned {} partition(s)", parts->cnt);
      rd_kafka_assign(rk, parts);
    } else {
      // Before giving partitions up: outputs acknowledged, safe offsets committed.
      rd_kafka_flush(self->producer.get(), static_cast<int>(self->config.shutdown_timeout.count()));
      self->commit(/*sync=*/true);
      for (int i = 0; i < parts->cnt; ++i) {
        auto topic = self->input_of_name(parts->elems[i].topic);
        if (topic) self->processor->revoke(*topic, parts->elems[i].partition);
      }
      self->assigned_partitions = 0;
      self->metrics.set_assigned_partitions(0);
      spdlog::info("revoked {} partition(s)", parts->cnt);
      rd_kafka_assign(rk, nullptr);
    }
  }

  std::optional<InputTopic> input_of_name(const char* name) {
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      if (config.topics.input(static_cast<InputTopic>(i)) == name) return static_cast<InputTopic>(i);
    }
    return std::nullopt;
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t*, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      self->metrics.commit_done();
    else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      spdlog::warn("offset commit failed: {}", rd_kafka_err2str(err));
  }

  // ---------------------------------------------------------------- loop work

  void consume_batch() {
    if (stopping) return;
    constexpr int kBudget = 2000;  // then let timers and deliveries run
    for (int n = 0; n < kBudget; ++n) {
      KafkaMessage msg(rd_kafka_consumer_poll(consumer.get(), 0));
      if (!msg) return;
      handle(*msg);
      if (stopping) return;
    }
    asio::post(io, [this] { consume_batch(); });
  }

  void handle(const rd_kafka_message_t& msg) {
    if (msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (auto t = input_of(msg.rkt)) processor->partition_eof(*t, msg.partition, msg.offset);
      return;
    }
    if (msg.err) {
      if (rd_kafka_fatal_error(consumer.get(), nullptr, 0)) {
        spdlog::critical("fatal consumer error: {}", rd_kafka_message_errstr(&msg));
        exit_code = 1;
        begin_shutdown();
      } else {
        spdlog::warn("consumer: {}", rd_kafka_message_errstr(&msg));
      }
      return;
    }
    auto topic = input_of(msg.rkt);
    if (!topic) return;
    const auto started = clock.now();
    rd_kafka_timestamp_type_t tstype;
    std::int64_t ts = rd_kafka_message_timestamp(&msg, &tstype);
    RecordRef rec{*topic,
                  msg.partition,
                  msg.offset,
                  {static_cast<const std::byte*>(msg.key), msg.key_len},
                  {static_cast<const std::byte*>(msg.payload), msg.len},
                  ts};
    processor->process(rec);
    metrics.observe(Stage::Process, std::chrono::duration<double>(clock.now() - started).count());
  }

  void serve_producer() {
    while (rd_kafka_poll(producer.get(), 0) > 0) {
    }
  }

  void commit(bool sync) {
    auto positions = processor->commit_positions();
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (const auto& [k, offset] : positions) {
      auto it = committed.find(k);
      if (it != committed.end() && it->second == offset) continue;
      rd_kafka_topic_partition_list_add(list.get(), config.topics.input(k.topic).c_str(), k.partition)->offset = offset;
      committed[k] = offset;
    }
    if (list->cnt == 0) return;
    auto err = rd_kafka_commit(consumer.get(), list.get(), sync ? 0 : 1);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("offset commit failed: {}", rd_kafka_err2str(err));
      committed.clear();  // retry everything next time
    } else if (sync) {
      metrics.commit_done();
    }
  }

  void update_lag() {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return;
    KafkaPartitionList parts(raw);
    rd_kafka_position(consumer.get(), parts.get());
    for (int i = 0; i < parts->cnt; ++i) {
      auto& p = parts->elems[i];
      auto topic = input_of_name(p.topic);
      std::int64_t low = 0, high = 0;
      if (!topic || rd_kafka_get_watermark_offsets(consumer.get(), p.topic, p.partition, &low, &high) != 0) continue;
      if (p.offset >= 0 && high >= 0) metrics.set_lag(*topic, p.partition, static_cast<double>(high - p.offset));
    }
  }

  /// The high watermarks of the last fetches (cached by librdkafka, no network):
  /// records fetched but not yet consumed mean the consumer is not live.
  void feed_high_watermarks() {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer.get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return;
    KafkaPartitionList parts(raw);
    for (int i = 0; i < parts->cnt; ++i) {
      const auto& p = parts->elems[i];
      auto topic = input_of_name(p.topic);
      std::int64_t low = 0, high = -1;
      if (topic && rd_kafka_get_watermark_offsets(consumer.get(), p.topic, p.partition, &low, &high) == 0 &&
          high >= 0) {
        processor->high_watermark(*topic, p.partition, high);
      }
    }
  }

  void log_status() {
    spdlog::info(
        "in: telemetry={} timing={} | out: features={} predictions={} alerts={} dead-letter={} | sessions={} "
        "buffered={}",
        metrics.records_in_count(InputTopic::Telemetry), metrics.records_in_count(InputTopic::Timing),
        metrics.output_count(OutputTopic::Features), metrics.output_count(OutputTopic::Predictions),
        metrics.output_count(OutputTopic::Alerts), metrics.output_count(OutputTopic::DeadLetter),
        processor->session_count(), processor->buffered_records());
  }

  void every(asio::steady_timer& timer, std::chrono::milliseconds period, std::function<void()> work) {
    timer.expires_after(period);
    timer.async_wait([this, &timer, period, work = std::move(work)](const boost::system::error_code& ec) mutable {
      if (ec || stopping) return;
      work();
      every(timer, period, std::move(work));
    });
  }

  void begin_shutdown() {
    if (stopping) return;
    stopping = true;
    io.stop();
  }

  int exit_code = 0;

  int run(const RunOptions& opts) {
    options = &opts;
    const std::string topics[] = {config.topics.telemetry, config.topics.timing};
    KafkaPartitionList sub(rd_kafka_topic_partition_list_new(2));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(sub.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    if (auto err = rd_kafka_subscribe(consumer.get(), sub.get())) {
      throw ConfigError(std::string("cannot subscribe: ") + rd_kafka_err2str(err));
    }

    WakePipe consumer_wake(io), producer_wake(io);
    KafkaQueue consumer_queue(rd_kafka_queue_get_consumer(consumer.get()));
    KafkaQueue producer_queue(rd_kafka_queue_get_main(producer.get()));
    static const char kByte = 'x';
    rd_kafka_queue_io_event_enable(consumer_queue.get(), consumer_wake.write_fd(), &kByte, 1);
    rd_kafka_queue_io_event_enable(producer_queue.get(), producer_wake.write_fd(), &kByte, 1);
    consumer_wake.watch([this] { consume_batch(); });
    producer_wake.watch([this] { serve_producer(); });
    asio::post(io, [this] { consume_batch(); });  // anything queued before the pipe was armed

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) {
        spdlog::info("signal {}: draining", sig);
        begin_shutdown();
      }
    });
    asio::steady_timer tick_timer(io), commit_timer(io), lag_timer(io), status_timer(io), stop_timer(io);
    // Idle inputs and sessions are re-checked often: input_idle is 100 ms by default.
    every(tick_timer, 20ms, [this, &opts] {
      processor->tick();
      feed_high_watermarks();
      if (opts.should_stop && opts.should_stop()) begin_shutdown();
    });
    every(commit_timer, config.commit_interval, [this] { commit(/*sync=*/false); });
    every(lag_timer, 1s, [this] { update_lag(); });
    if (opts.status_interval.count() > 0) every(status_timer, opts.status_interval, [this] { log_status(); });
    if (opts.duration) {
      stop_timer.expires_after(*opts.duration);
      stop_timer.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) begin_shutdown();
      });
    }

    io.run();

    // Drain: release what the reorder buffers hold, wait for every output to be
    // acknowledged, then commit what is safe.
    rd_kafka_queue_io_event_enable(consumer_queue.get(), -1, nullptr, 0);
    rd_kafka_queue_io_event_enable(producer_queue.get(), -1, nullptr, 0);
    processor->drain();
    auto flush_err = rd_kafka_flush(producer.get(), static_cast<int>(config.shutdown_timeout.count()));
    if (flush_err) {
      spdlog::error("shutdown: {} output(s) not acknowledged within {} ms; their offsets stay uncommitted",
                    rd_kafka_outq_len(producer.get()), config.shutdown_timeout.count());
      exit_code = 1;
    }
    commit(/*sync=*/true);
    consumer_queue.reset();
    producer_queue.reset();
    rd_kafka_consumer_close(consumer.get());
    log_status();
    if (delivery_failed) exit_code = 1;
    return exit_code;
  }
};

Runner::Runner(const StreamConfig& config, StreamMetrics& metrics) : impl_(std::make_unique<Impl>(config, metrics)) {}
Runner::~Runner() = default;
int Runner::run(const RunOptions& options) { return impl_->run(options); }

}  // namespace boxcall::stream
