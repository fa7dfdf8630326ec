#include "stream/runner.h"

// GCC 12 in C++20 mode: awaitable.hpp uses std::exchange without including <utility>,
// so it comes first, in a block of its own (clang-format sorts within blocks).
#include <utility>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "stream/crash_marker.h"
#include "stream/kafka.h"
#include "stream/processor.h"
#include "stream/replay_ledger.h"

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

/// Asks the brokers for the true end of every assigned partition, off the loop
/// thread (a blocking round trip), after the consumer lost a connection: until
/// then what the consumer knows of partition ends may be old. Retries until
/// every query succeeded.
class EndQuery {
 public:
  using Result = std::vector<std::tuple<std::string, std::int32_t, std::int64_t>>;
  EndQuery(rd_kafka_t* consumer, std::function<void(Result)> deliver)
      : consumer_(consumer), deliver_(std::move(deliver)), thread_([this] { loop(); }) {}
  ~EndQuery() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  EndQuery(const EndQuery&) = delete;
  EndQuery& operator=(const EndQuery&) = delete;
  void request() {
    {
      std::lock_guard lock(mutex_);
      wanted_ = true;
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      cv_.wait(lock, [this] { return wanted_ || stop_; });
      if (stop_) return;
      wanted_ = false;
      lock.unlock();
      Result result;
      bool complete = query(result);
      if (complete) deliver_(std::move(result));
      lock.lock();
      if (!complete && !stop_) {
        wanted_ = true;  // the broker is still away: ask again shortly
        cv_.wait_for(lock, 500ms, [this] { return stop_; });
      }
    }
  }
  bool query(Result& result) {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return false;
    KafkaPartitionList parts(raw);
    for (int i = 0; i < parts->cnt; ++i) {
      const auto& p = parts->elems[i];
      std::int64_t low = 0, high = -1;
      if (rd_kafka_query_watermark_offsets(consumer_, p.topic, p.partition, &low, &high, 2000) !=
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        return false;
      }
      result.emplace_back(p.topic, p.partition, high);
    }
    return true;
  }
  rd_kafka_t* consumer_;
  std::function<void(Result)> deliver_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool wanted_ = false, stop_ = false;
  std::thread thread_;  // last: starts after the rest is built
};

}  // namespace

struct Runner::Impl final : Publisher, FlowControl {
  const StreamConfig& config;
  StreamMetrics& metrics;
  SteadyClock clock;
  asio::io_context io;
  std::optional<Producer> producer;
  std::unique_ptr<Consumer> consumer;
  std::array<rd_kafka_topic_t*, kOutputTopics> out_topics{};
  std::array<rd_kafka_topic_t*, kInputTopics> in_topics{};  // cached per message lookups
  std::unique_ptr<Processor> processor;
  std::unique_ptr<CrashMarker> crash_marker;
  Codec print_codec;
  Codec output_codec;  // renders outputs in their topic's encoding
  const RunOptions* options = nullptr;
  bool stopping = false;
  bool delivery_failed = false;
  int exit_code = 0;
  std::vector<std::shared_ptr<Pin>> failed_pins;  // never released: commits must not pass them
  std::map<OffsetTracker::Key, std::int64_t> committed;
  std::size_t assigned_partitions = 0;
  std::unique_ptr<EndQuery> end_query;
  // The input partitions assigned here, kept by the rebalance callback: rd_kafka_assignment()
  // is a round trip to librdkafka's group thread (milliseconds on a busy machine, per batch).
  struct Assigned {
    std::string topic;
    std::int32_t partition;
    InputTopic input;
  };
  std::vector<Assigned> assignment;
  // The loop timeline (RunOptions::timeline): null unless a benchmark asked for it.
  LoopTimeline* timeline = nullptr;
  // Exactly-once (StreamConfig::processing_guarantee): the transactional producer's state.
  bool eos = false;
  std::string txn_id;
  bool txn_open = false;
  bool txn_failed = false;  // aborted or fatal: nothing more is committed
  std::uint32_t produced_at_commit = 0;
  std::map<OffsetTracker::Key, std::pair<std::int64_t, std::string>> sent;  // last offsets + ledgers committed
  std::uint32_t produced = 0;           // outputs handed to the producer (spans count their outputs)
  std::int64_t oldest_delivery_ns = 0;  // longest produce->ack among the reports being served

  Impl(const StreamConfig& c, StreamMetrics& m, SessionHandlerFactory& sessions)
      : config(c), metrics(m), eos(c.exactly_once()) {
    KafkaConf pconf;
    pconf.set("bootstrap.servers", c.brokers);
    pconf.set_all(default_producer_properties());
    if (eos) {
      txn_id = transactional_id(c, CrashMarker::default_file(c).string());
      pconf.set("transactional.id", txn_id).set_all(default_transactional_properties());
    }
    pconf.set_all(c.kafka_common).set_all(c.kafka_producer);
    producer.emplace(std::move(pconf), &Impl::on_delivery, this);

    ensure_reachable(producer->get(), c.brokers, c.startup_timeout);
    std::optional<int> counts[kInputTopics];
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      const auto& name = c.topics.input(static_cast<InputTopic>(i));
      counts[i] = partition_count(producer->get(), name, c.startup_timeout);
      if (!counts[i]) throw ConfigError("input topic '" + name + "' does not exist on " + c.brokers);
    }
    if (*counts[0] != *counts[1]) {
      throw ConfigError("topics '" + c.topics.telemetry + "' (" + std::to_string(*counts[0]) + " partitions) and '" +
                        c.topics.timing + "' (" + std::to_string(*counts[1]) +
                        ") must have the same partition count: a session's telemetry and timing must meet");
    }
    for (std::size_t i = 0; i < kOutputTopics; ++i) {
      const auto& name = c.topics.output(static_cast<OutputTopic>(i));
      if (!partition_count(producer->get(), name, c.startup_timeout)) {
        spdlog::warn("output topic '{}' does not exist yet; it must be auto-created by the broker", name);
      }
      out_topics[i] = producer->topic(name);
    }

    KafkaConf cconf;
    cconf.set("bootstrap.servers", c.brokers).set("group.id", c.group_id);
    cconf.set_all(default_consumer_properties()).set_all(c.kafka_common).set_all(c.kafka_consumer);
    rd_kafka_conf_set_rebalance_cb(cconf.get(), &Impl::on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(cconf.get(), &Impl::on_commit);
    rd_kafka_conf_set_error_cb(cconf.get(), &Impl::on_error);
    rd_kafka_conf_set_opaque(cconf.get(), this);
    consumer = std::make_unique<Consumer>(std::move(cconf));

    processor = std::make_unique<Processor>(c.processor, *this, metrics, clock, sessions, this);

    if (eos) {
      // Fences a dead predecessor with the same transactional.id and aborts what it left open
      // (a transaction the broker is still completing delays this: at most transaction.timeout.ms).
      const auto init_timeout = std::max(c.startup_timeout, std::chrono::milliseconds(30000));
      if (rd_kafka_error_t* e = rd_kafka_init_transactions(producer->get(), static_cast<int>(init_timeout.count()))) {
        const std::string why = rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
        throw ConfigError("cannot start the transactional producer '" + txn_id + "' (exactly-once processing): " + why +
                          " (the broker must support transactions; kafka.processing_guarantee = \"at_least_once\" "
                          "runs without)");
      }
      spdlog::info("exactly-once processing: transactional.id {}", txn_id);
      begin_transaction();
    }
  }

  // ---------------------------------------------------------------- transactions

  /// Consumes `e`: true when null. A fatal error (fenced by another instance with the same
  /// transactional.id, or refused) or one that requires an abort stops boxcall with one line;
  /// nothing of the open transaction is committed.
  bool txn_ok(rd_kafka_error_t* e, const char* what) {
    if (!e) return true;
    const std::string why = rd_kafka_error_string(e);
    const bool fatal_error = rd_kafka_error_is_fatal(e) != 0;
    const bool abortable = rd_kafka_error_txn_requires_abort(e) != 0;
    rd_kafka_error_destroy(e);
    txn_failed = true;
    if (fatal_error) {
      spdlog::critical(
          "the transactional producer '{}' failed fatally ({}: {}): fenced by another instance with the same "
          "transactional.id (kafka.instance_id), or refused; stopping, nothing of the open transaction is committed",
          txn_id, what, why);
    } else {
      if (abortable && txn_open) {
        if (rd_kafka_error_t* a =
                rd_kafka_abort_transaction(producer->get(), static_cast<int>(config.shutdown_timeout.count()))) {
          rd_kafka_error_destroy(a);
        }
      }
      spdlog::critical(
          "transaction aborted ({}: {}): stopping, nothing of it is committed; a restart resumes from the last "
          "committed transaction",
          what, why);
    }
    txn_open = false;
    if (exit_code == 0) exit_code = 1;
    asio::post(io, [this] { begin_shutdown(); });
    return false;
  }

  void begin_transaction() {
    if (txn_ok(rd_kafka_begin_transaction(producer->get()), "begin_transaction")) txn_open = true;
  }

  /// Aborts the open transaction (a stop after a failure): none of its outputs becomes visible.
  void abort_transaction(const char* why) {
    if (!txn_open) return;
    txn_open = false;
    if (rd_kafka_error_t* e =
            rd_kafka_abort_transaction(producer->get(), static_cast<int>(config.shutdown_timeout.count()))) {
      spdlog::error("abort_transaction: {}", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    }
    spdlog::error("the open transaction was aborted ({}): a restart resumes from the last committed one", why);
  }

  /// Commits the outputs produced since the last commit together with the input offsets and
  /// their replay ledgers (replay_ledger.h); begins the next transaction unless `last`.
  void commit_transaction(bool last) {
    if (!txn_open || txn_failed) return;
    // Every output of the transaction acknowledged first: the delivery reports release the
    // pins that the offsets to commit depend on.
    if (producer->flush(config.shutdown_timeout) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      txn_failed = true;
      abort_transaction("outputs not acknowledged within kafka.shutdown_timeout");
      if (exit_code == 0) exit_code = 1;
      asio::post(io, [this] { begin_shutdown(); });
      return;
    }
    if (delivery_failed) {
      txn_failed = true;
      abort_transaction("an output could not be delivered");
      return;
    }
    const auto positions = processor->commit_positions();
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    std::map<OffsetTracker::Key, std::pair<std::int64_t, std::string>> sending;
    for (const auto& [k, offset] : positions) {
      std::string ledger = format_ledger(processor->ledger(k.topic, k.partition, offset));
      if (ledger.size() > ReplayLedger::kMaxBytes) {
        txn_failed = true;
        abort_transaction("replay ledger too large");
        fatal(1, "the replay ledger of " + config.topics.input(k.topic) + " partition " + std::to_string(k.partition) +
                     " is " + std::to_string(ledger.size()) + " bytes, more than the broker's offset metadata limit (" +
                     std::to_string(ReplayLedger::kMaxBytes) + "): too many live sessions on one partition");
        return;
      }
      auto it = sent.find(k);
      if (it != sent.end() && it->second.first == offset && it->second.second == ledger) continue;
      auto* p = rd_kafka_topic_partition_list_add(list.get(), config.topics.input(k.topic).c_str(), k.partition);
      p->offset = offset;
      p->metadata = std::malloc(ledger.size());  // freed with the list
      std::memcpy(p->metadata, ledger.data(), ledger.size());
      p->metadata_size = ledger.size();
      sending[k] = {offset, std::move(ledger)};
    }
    if (list->cnt == 0 && produced == produced_at_commit && !last) return;  // nothing new
    if (list->cnt > 0) {
      rd_kafka_consumer_group_metadata_t* group = rd_kafka_consumer_group_metadata(consumer->get());
      rd_kafka_error_t* e = rd_kafka_send_offsets_to_transaction(producer->get(), list.get(), group,
                                                                 static_cast<int>(config.shutdown_timeout.count()));
      rd_kafka_consumer_group_metadata_destroy(group);
      if (!txn_ok(e, "send_offsets_to_transaction")) return;
    }
    rd_kafka_error_t* e = nullptr;
    for (int attempt = 0; attempt < 3; ++attempt) {
      e = rd_kafka_commit_transaction(producer->get(), static_cast<int>(config.shutdown_timeout.count()));
      if (!e || !rd_kafka_error_is_retriable(e)) break;
      spdlog::warn("commit_transaction: {} (retrying)", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
      e = nullptr;
    }
    if (!txn_ok(e, "commit_transaction")) return;
    txn_open = false;
    for (auto& [k, v] : sending) sent[k] = std::move(v);
    produced_at_commit = produced;
    metrics.commit_done();
    if (crash_marker) crash_marker->committed(positions);
    if (!last) begin_transaction();
  }

  /// On assignment: the committed offsets' replay ledgers, so that a re-read session does not
  /// publish again what was committed. False (and stopping) when they cannot be read.
  bool load_ledgers(rd_kafka_t* rk, const rd_kafka_topic_partition_list_t* parts) {
    KafkaPartitionList committed_now(rd_kafka_topic_partition_list_copy(parts));
    const auto deadline =
        std::chrono::steady_clock::now() + std::max(config.startup_timeout, std::chrono::milliseconds(30000));
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    do {
      err = rd_kafka_committed(rk, committed_now.get(), static_cast<int>(config.startup_timeout.count()));
    } while (err && std::chrono::steady_clock::now() < deadline);
    if (err) {
      fatal(1, std::string("cannot read the committed offsets and replay ledgers of the assigned partitions: ") +
                   rd_kafka_err2str(err));
      return false;
    }
    std::size_t ledgers = 0;
    for (int i = 0; i < committed_now->cnt; ++i) {
      const auto& p = committed_now->elems[i];
      auto topic = input_of_name(p.topic);
      if (!topic) continue;
      if (p.err) {
        fatal(1, std::string("cannot read the committed offset of ") + p.topic + " partition " +
                     std::to_string(p.partition) + ": " + rd_kafka_err2str(p.err));
        return false;
      }
      try {
        auto ledger =
            parse_ledger(std::string_view(static_cast<const char*>(p.metadata), p.metadata ? p.metadata_size : 0));
        if (!ledger) continue;
        processor->load_ledger(*topic, p.partition, *ledger);
        sent[{*topic, p.partition}] = {p.offset, format_ledger(*ledger)};
        ++ledgers;
      } catch (const ConfigError& e) {
        fatal(1, std::string(p.topic) + " partition " + std::to_string(p.partition) + ": " + e.what());
        return false;
      }
    }
    if (ledgers > 0)
      spdlog::info("replay ledgers of {} partition(s) loaded: committed outputs are not published again", ledgers);
    return true;
  }

  ~Impl() override {
    end_query.reset();  // its thread posts into io and reads the consumer
  }

  // ---------------------------------------------------------------- timeline

  [[nodiscard]] std::int64_t span_start() const { return timeline ? LoopTimeline::now_ns() : 0; }
  void span_end(LoopWork work, std::int64_t start, std::uint32_t count = 0, std::int64_t waited_ns = 0,
                std::uint32_t outputs = 0) {
    if (timeline) timeline->add({start, LoopTimeline::now_ns() - start, waited_ns, count, outputs, work});
  }

  // ---------------------------------------------------------------- Publisher

  void produce(OutputTopic topic, std::string_view key, std::span<const std::byte> value,
               std::span<const Header> headers, std::unique_ptr<InFlight> inflight) {
    const auto err = producer->produce({.topic = out_topics[static_cast<std::size_t>(topic)],
                                        .key = key,
                                        .value = value,
                                        .headers = headers,
                                        .opaque = inflight.get()});
    if (!err) {
      (void)inflight.release();  // owned by the delivery report now
      ++produced;
      return;
    }
    spdlog::error("cannot produce to {}: {}", to_string(topic), rd_kafka_err2str(err));
    fail_delivery(std::move(inflight->pin));
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
    const std::array<Header, 2> headers{
        {{kContentTypeHeader, rendered->content_type}, {kSchemaVersionHeader, rendered->schema_version}}};
    produce(topic, key, std::as_bytes(rendered->value), headers,
            std::make_unique<InFlight>(InFlight{std::move(pin), topic, clock.now(), input_timestamp_ms}));
  }

  void dead_letter(const RecordRef& rec, const Error& error, std::shared_ptr<Pin> pin) override {
    const std::string partition = std::to_string(rec.partition), offset = std::to_string(rec.offset);
    const std::array<Header, 5> headers{{{"boxcall.reason", to_string(error.reason)},
                                         {"boxcall.detail", error.detail},
                                         {"boxcall.source.topic", config.topics.input(rec.topic)},
                                         {"boxcall.source.partition", partition},
                                         {"boxcall.source.offset", offset}}};
    std::string_view key(reinterpret_cast<const char*>(rec.key.data()), rec.key.size());
    produce(
        OutputTopic::DeadLetter, key, rec.value, headers,
        std::make_unique<InFlight>(InFlight{std::move(pin), OutputTopic::DeadLetter, clock.now(), rec.timestamp_ms}));
  }

  void fail_delivery(std::shared_ptr<Pin> pin) {
    metrics.delivery_failed();
    failed_pins.push_back(std::move(pin));
    if (!delivery_failed) {
      delivery_failed = true;
      spdlog::critical("an output could not be delivered; stopping without committing past it");
      asio::post(io, [this] { begin_shutdown(); });
    }
  }

  // ---------------------------------------------------------------- FlowControl

  void pause(InputTopic topic, std::int32_t partition) override {
    consumer->pause(config.topics.input(topic), partition);
  }
  void resume(InputTopic topic, std::int32_t partition) override {
    consumer->resume(config.topics.input(topic), partition);
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
    if (self->timeline) {
      self->oldest_delivery_ns = std::max<std::int64_t>(
          self->oldest_delivery_ns,
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - inflight->produced_at).count());
    }
    if (inflight->input_timestamp_ms > 0) {
      self->metrics.observe(Stage::EndToEnd, static_cast<double>(wall_ms() - inflight->input_timestamp_ms) / 1e3);
    }
    if (self->options && self->options->on_acked && inflight->topic != OutputTopic::DeadLetter) {
      self->options->on_acked(inflight->topic, {static_cast<const std::byte*>(msg->payload), msg->len});
    }
    if (self->options && self->options->on_output) {
      if (inflight->topic == OutputTopic::DeadLetter) {
        self->options->on_output(inflight->topic, describe_dead_letter(msg));
      } else if (self->config.output.of(inflight->topic) == OutputEncoding::Json) {
        self->options->on_output(inflight->topic, {static_cast<const char*>(msg->payload), msg->len});
      } else {
        auto json = self->print_codec.to_json({static_cast<const std::byte*>(msg->payload), msg->len});
        if (json) self->options->on_output(inflight->topic, json.value());
      }
    }
  }

  static std::string describe_dead_letter(const rd_kafka_message_t* msg) {
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
    auto t = input_of_name(rd_kafka_topic_name(rkt));
    if (t) in_topics[static_cast<std::size_t>(*t)] = rkt;
    return t;
  }

  std::optional<InputTopic> input_of_name(const char* name) {
    for (std::size_t i = 0; i < kInputTopics; ++i) {
      if (config.topics.input(static_cast<InputTopic>(i)) == name) return static_cast<InputTopic>(i);
    }
    return std::nullopt;
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                           void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const auto span = self->span_start();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      for (int i = 0; i < parts->cnt; ++i) {
        auto topic = self->input_of_name(parts->elems[i].topic);
        if (topic && self->processor) {
          self->processor->assign(*topic, parts->elems[i].partition);
          self->assignment.push_back({parts->elems[i].topic, parts->elems[i].partition, *topic});
        }
      }
      if (self->eos && self->processor && !self->load_ledgers(rk, parts)) {
        rd_kafka_assign(rk, parts);  // stopping; the group must still see the assignment taken
        return;
      }
      self->assigned_partitions += static_cast<std::size_t>(parts->cnt);
      self->metrics.set_assigned_partitions(static_cast<double>(self->assigned_partitions));
      spdlog::info("assigned {} partition(s)", parts->cnt);
      rd_kafka_assign(rk, parts);
    } else {
      // Before giving partitions up: outputs acknowledged, safe offsets committed.
      const auto flush_span = self->span_start();
      if (!self->eos) (void)self->producer->flush(self->config.shutdown_timeout);
      self->span_end(LoopWork::Flush, flush_span);
      self->commit(/*sync=*/true);
      for (int i = 0; i < parts->cnt; ++i) {
        self->sent.erase(
            {self->input_of_name(parts->elems[i].topic).value_or(InputTopic::Telemetry), parts->elems[i].partition});
        auto topic = self->input_of_name(parts->elems[i].topic);
        if (topic && self->processor) self->processor->revoke(*topic, parts->elems[i].partition);
      }
      self->assigned_partitions = 0;
      self->assignment.clear();
      self->metrics.set_assigned_partitions(0);
      spdlog::info("revoked {} partition(s)", parts->cnt);
      rd_kafka_assign(rk, nullptr);
    }
    self->span_end(LoopWork::Rebalance, span, static_cast<std::uint32_t>(parts->cnt));
  }

  static void on_commit(rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->metrics.commit_done();
      if (self->crash_marker && parts) {
        std::map<OffsetTracker::Key, std::int64_t> done;
        for (int i = 0; i < parts->cnt; ++i) {
          auto topic = self->input_of_name(parts->elems[i].topic);
          if (topic && !parts->elems[i].err) done[{*topic, parts->elems[i].partition}] = parts->elems[i].offset;
        }
        self->crash_marker->committed(done);
      }
    } else if (err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("offset commit failed: {}", rd_kafka_err2str(err));
    }
  }

  static void on_error(rd_kafka_t*, int code, const char* reason, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    const auto err = static_cast<rd_kafka_resp_err_t>(code);
    switch (err) {
      case RD_KAFKA_RESP_ERR__TRANSPORT:
      case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        // What the consumer knows of partition ends may be old from now on.
        spdlog::warn("kafka: {}", reason);
        if (self->processor) self->processor->connection_lost();
        if (self->end_query) self->end_query->request();
        return;
      case RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT:
        self->fatal(2,
                    "the broker rejects the consumer's session.timeout.ms (it must lie within the broker's "
                    "group.min.session.timeout.ms and group.max.session.timeout.ms): " +
                        std::string(reason));
        return;
      case RD_KAFKA_RESP_ERR__FATAL:
        self->fatal(1, std::string("fatal Kafka client error: ") + reason);
        return;
      default:
        spdlog::warn("kafka: {}", reason);
    }
  }

  /// Stops the loop; `code` 2 is a configuration error (one line, like start-up errors).
  void fatal(int code, const std::string& message) {
    if (code == 2) {
      std::fprintf(stderr, "boxcall: error: %s\n", message.c_str());
    } else {
      spdlog::critical("{}", message);
    }
    exit_code = code;
    begin_shutdown();
  }

  // ---------------------------------------------------------------- loop work

  /// The records of one consume batch between two other kinds of work: the process-stage
  /// latency is observed once per run of records (their mean), not per record.
  struct RecordRun {
    std::chrono::steady_clock::time_point started;
    std::int64_t span = 0;
    std::uint32_t records = 0;
    std::uint32_t produced_before = 0;
    std::int64_t oldest_timestamp_ms = std::numeric_limits<std::int64_t>::max();
  };

  void end_run(RecordRun& run) {
    if (run.records == 0) return;
    const double seconds = std::chrono::duration<double>(clock.now() - run.started).count();
    metrics.observe(Stage::Process, seconds / run.records);
    if (timeline) {
      const std::int64_t waited = run.oldest_timestamp_ms == std::numeric_limits<std::int64_t>::max()
                                      ? 0
                                      : run.span - run.oldest_timestamp_ms * 1'000'000;
      span_end(LoopWork::Records, run.span, run.records, waited, produced - run.produced_before);
    }
    run.records = 0;
  }

  void consume_batch() {
    if (stopping) return;
    const auto hw_span = span_start();
    feed_high_watermarks();
    span_end(LoopWork::HighWatermarks, hw_span);
    constexpr int kBudget = 2000;  // then let timers and deliveries run
    RecordRun run;
    for (int n = 0; n < kBudget; ++n) {
      KafkaMessage msg = consumer->poll(0);
      if (!msg) return end_run(run);
      handle(msg, run);
      if (stopping) return end_run(run);
    }
    end_run(run);
    asio::post(io, [this] { consume_batch(); });
  }

  /// Hands a consumed message over to the processor (RecordRef::hold): a record it keeps in a
  /// reorder buffer is neither copied nor allocated. Held messages are destroyed with their
  /// sessions, before the consumer (member order).
  static HeldRecord hold_message(void* context) {
    auto* owner = static_cast<KafkaMessage*>(context);
    return HeldRecord(owner->release(), [](void* m) { rd_kafka_message_destroy(static_cast<rd_kafka_message_t*>(m)); });
  }

  void handle(KafkaMessage& owner, RecordRun& run) {
    const rd_kafka_message_t& msg = *owner;
    if (msg.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      end_run(run);
      const auto span = span_start();
      const auto before = produced;
      if (auto t = input_of(msg.rkt)) processor->partition_eof(*t, msg.partition, msg.offset);
      span_end(LoopWork::PartitionEof, span, 1, 0, produced - before);
      return;
    }
    if (msg.err) {
      if (msg.err == RD_KAFKA_RESP_ERR_INVALID_SESSION_TIMEOUT) {
        return fatal(2,
                     "the broker rejects the consumer's session.timeout.ms (it must lie within the broker's "
                     "group.min.session.timeout.ms and group.max.session.timeout.ms)");
      }
      if (rd_kafka_fatal_error(consumer->get(), nullptr, 0)) {
        fatal(1, std::string("fatal consumer error: ") + rd_kafka_message_errstr(&msg));
      } else {
        spdlog::warn("consumer: {}", rd_kafka_message_errstr(&msg));
      }
      return;
    }
    auto topic = input_of(msg.rkt);
    if (!topic) return;
    if (run.records++ == 0) {
      run.started = clock.now();
      run.span = span_start();
      run.produced_before = produced;
    }
    rd_kafka_timestamp_type_t tstype;
    std::int64_t ts = rd_kafka_message_timestamp(&msg, &tstype);
    if (ts >= 0) run.oldest_timestamp_ms = std::min(run.oldest_timestamp_ms, ts);
    RecordRef rec{*topic,
                  msg.partition,
                  msg.offset,
                  {static_cast<const std::byte*>(msg.key), msg.key_len},
                  {static_cast<const std::byte*>(msg.payload), msg.len},
                  ts,
                  &Impl::hold_message,
                  &owner};
    processor->process(rec);
  }

  void serve_producer() {
    const auto span = span_start();
    oldest_delivery_ns = 0;
    std::uint32_t reports = 0;
    while (const int n = producer->poll(0)) reports += static_cast<std::uint32_t>(std::max(n, 0));
    span_end(LoopWork::DeliveryReports, span, reports, oldest_delivery_ns);
  }

  void commit(bool sync) {
    const auto span = span_start();
    if (eos) {
      commit_transaction(/*last=*/false);
    } else {
      commit_positions(sync);
    }
    span_end(LoopWork::Commit, span, sync ? 1 : 0);
  }

  void commit_positions(bool sync) {
    auto positions = processor->commit_positions();
    KafkaPartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (const auto& [k, offset] : positions) {
      auto it = committed.find(k);
      if (it != committed.end() && it->second == offset) continue;
      rd_kafka_topic_partition_list_add(list.get(), config.topics.input(k.topic).c_str(), k.partition)->offset = offset;
      committed[k] = offset;
    }
    if (list->cnt == 0) return;
    auto err = rd_kafka_commit(consumer->get(), list.get(), sync ? 0 : 1);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      spdlog::warn("offset commit failed: {}", rd_kafka_err2str(err));
      committed.clear();  // retry everything next time
    } else if (sync) {
      metrics.commit_done();
      if (crash_marker) crash_marker->committed(positions);
    }
  }

  void update_lag() {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    if (rd_kafka_assignment(consumer->get(), &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return;
    KafkaPartitionList parts(raw);
    rd_kafka_position(consumer->get(), parts.get());
    for (int i = 0; i < parts->cnt; ++i) {
      auto& p = parts->elems[i];
      auto topic = input_of_name(p.topic);
      std::int64_t low = 0, high = 0;
      if (!topic || rd_kafka_get_watermark_offsets(consumer->get(), p.topic, p.partition, &low, &high) != 0) continue;
      if (p.offset >= 0 && high >= 0) metrics.set_lag(*topic, p.partition, static_cast<double>(high - p.offset));
    }
  }

  /// The high watermarks of the last fetches (cached by librdkafka, no network):
  /// records fetched but not yet consumed mean the consumer is not live.
  void feed_high_watermarks() {
    for (const auto& a : assignment) {
      std::int64_t low = 0, high = -1;
      if (rd_kafka_get_watermark_offsets(consumer->get(), a.topic.c_str(), a.partition, &low, &high) == 0 &&
          high >= 0) {
        processor->high_watermark(a.input, a.partition, high);
      }
    }
  }

  void log_status() {
    spdlog::info(
        "in: telemetry={} timing={} | out: features={} predictions={} alerts={} dead-letter={} | sessions={} "
        "buffered={} paused={}",
        metrics.records_in_count(InputTopic::Telemetry), metrics.records_in_count(InputTopic::Timing),
        metrics.output_count(OutputTopic::Features), metrics.output_count(OutputTopic::Predictions),
        metrics.output_count(OutputTopic::Alerts), metrics.output_count(OutputTopic::DeadLetter),
        processor->session_count(), processor->buffered_records(), processor->paused_partitions());
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

  int run(const RunOptions& opts) {
    options = &opts;
    timeline = opts.timeline;
    if (opts.crash_marker) {
      crash_marker = std::make_unique<CrashMarker>(CrashMarker::default_file(config), config.topics,
                                                   &processor->current_position());
      processor->set_poisoned(crash_marker->poisoned());
    }
    end_query = std::make_unique<EndQuery>(consumer->get(), [this](EndQuery::Result ends) {
      asio::post(io, [this, ends = std::move(ends)] {
        for (const auto& [topic, partition, high] : ends) {
          if (auto t = input_of_name(topic.c_str())) processor->high_watermark(*t, partition, high, /*fresh=*/true);
        }
      });
    });
    consumer->subscribe({config.topics.telemetry, config.topics.timing});

    WakePipe consumer_wake(io), producer_wake(io);
    KafkaQueue consumer_queue(rd_kafka_queue_get_consumer(consumer->get()));
    KafkaQueue producer_queue(rd_kafka_queue_get_main(producer->get()));
    static const char kByte = 'x';
    rd_kafka_queue_io_event_enable(consumer_queue.get(), consumer_wake.write_fd(), &kByte, 1);
    rd_kafka_queue_io_event_enable(producer_queue.get(), producer_wake.write_fd(), &kByte, 1);
    consumer_wake.watch([this] { consume_batch(); });
    producer_wake.watch([this] { serve_producer(); });
    asio::post(io, [this] { consume_batch(); });  // anything queued before the pipe was armed

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (!ec) {
        spdlog::info("signal {}: stopping", sig);
        begin_shutdown();
      }
    });
    asio::steady_timer tick_timer(io), commit_timer(io), lag_timer(io), status_timer(io), stop_timer(io);
    // Idle inputs and sessions are re-checked often: input_idle is 100 ms by default.
    every(tick_timer, 20ms, [this, &opts] {
      const auto hw_span = span_start();
      feed_high_watermarks();
      span_end(LoopWork::HighWatermarks, hw_span);
      const auto span = span_start();
      const auto before = produced;
      processor->tick();
      span_end(LoopWork::Tick, span, static_cast<std::uint32_t>(processor->session_count()), 0, produced - before);
      if (opts.should_stop && opts.should_stop()) begin_shutdown();
    });
    every(commit_timer, config.commit_interval, [this] { commit(/*sync=*/false); });
    every(lag_timer, 1s, [this] {
      const auto span = span_start();
      update_lag();
      span_end(LoopWork::Lag, span);
    });
    if (opts.status_interval.count() > 0) {
      every(status_timer, opts.status_interval, [this] {
        const auto span = span_start();
        log_status();
        span_end(LoopWork::Status, span);
      });
    }
    if (opts.duration) {
      stop_timer.expires_after(*opts.duration);
      stop_timer.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) begin_shutdown();
      });
    }

    io.run();
    metrics.publish_batched();

    // Stop: wait for every output to be acknowledged, then commit what is safe.
    // Records still held in reorder buffers are not forced out (their outputs
    // would depend on when the stop came); their offsets stay uncommitted and a
    // restart reads them again.
    rd_kafka_queue_io_event_enable(consumer_queue.get(), -1, nullptr, 0);
    rd_kafka_queue_io_event_enable(producer_queue.get(), -1, nullptr, 0);
    end_query.reset();
    const auto flush_span = span_start();
    const bool unflushed = producer->flush(config.shutdown_timeout) != RD_KAFKA_RESP_ERR_NO_ERROR;
    span_end(LoopWork::Flush, flush_span);
    if (unflushed) {
      spdlog::error("shutdown: {} output(s) not acknowledged within {} ms; their offsets stay uncommitted",
                    producer->in_flight(), config.shutdown_timeout.count());
      if (exit_code == 0) exit_code = 1;
    }
    if (!eos) {
      commit(/*sync=*/true);
    } else if (unflushed || delivery_failed || exit_code != 0) {
      abort_transaction(delivery_failed ? "an output could not be delivered" : "stopping after an error");
    } else {
      commit_transaction(/*last=*/true);
    }
    consumer_queue.reset();
    producer_queue.reset();
    // Held records are librdkafka messages: every one must be destroyed before the consumer is,
    // or rd_kafka_destroy waits for them forever. The sessions go first (their state is not kept).
    if (exit_code != 2) log_status();  // a configuration error stays one line
    processor.reset();
    consumer->close(config.shutdown_timeout);
    if (delivery_failed && exit_code == 0) exit_code = 1;
    return exit_code;
  }
};

Runner::Runner(const StreamConfig& config, StreamMetrics& metrics, SessionHandlerFactory& sessions)
    : impl_(std::make_unique<Impl>(config, metrics, sessions)) {}
Runner::~Runner() = default;
int Runner::run(const RunOptions& options) { return impl_->run(options); }

}  // namespace boxcall::stream
