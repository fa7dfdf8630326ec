#include "app/ingest_common.h"

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>

#include "app/publish_progress.h"
#include "stream/codec.h"
#include "stream/kafka.h"

namespace boxcall::app {

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

/// Writes every record it hands on as one JSON line (the Envelope's JSON form), like `run --print`.
class PrintingSource final : public sources::RecordSource {
 public:
  PrintingSource(sources::RecordSource& inner, const stream::TopicNames& topics, bool print)
      : inner_(inner), topics_(topics), print_(print) {}
  [[nodiscard]] const std::string& session_id() const override { return inner_.session_id(); }
  [[nodiscard]] std::optional<Input> next() override {
    auto r = inner_.next();
    if (r && print_) {
      auto bytes = codec_.encode(inner_.session_id(), *r);
      auto json = codec_.to_json(stream::as_bytes(bytes));
      const bool sample = std::holds_alternative<TelemetrySample>(*r);
      if (json) {
        std::cout << "{\"topic\":\"" << (sample ? topics_.telemetry : topics_.timing)
                  << "\",\"key\":" << json_string(inner_.session_id()) << ",\"record\":" << *json << "}\n";
      }
    }
    return r;
  }

 private:
  sources::RecordSource& inner_;
  const stream::TopicNames& topics_;
  bool print_;
  stream::Codec codec_;
};

std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& kv : items) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError("-X expects key=value, got '" + kv + "'");
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

}  // namespace

void IngestOutputArgs::add_to(CLI::App* cmd) {
  cmd->add_option("-b,--brokers", brokers,
                  "Kafka bootstrap servers host:port[,...]; default: an embedded broker (librdkafka mock cluster)");
  cmd->add_flag("-p,--print", print, "Write every published record as one JSON line on stdout (like run --print)");
  cmd->add_flag("--no-publish", no_publish, "Do not publish at all (no broker): decode, --print and count only");
  cmd->add_option("--partitions", partitions, "Embedded broker: partitions per topic (default 4)");
  cmd->add_option("--telemetry-topic", telemetry_topic, "Telemetry topic (default telemetry)");
  cmd->add_option("--timing-topic", timing_topic, "Timing topic (default timing)");
  cmd->add_option("--dead-letter-topic", dead_letter_topic, "Topic for rejected input (default dead-letter)");
  cmd->add_option("--dead-letter-limit", dead_letter_limit,
                  "Publish at most this many dead letters (all are counted; default 1000)");
  cmd->add_option("-X", kafka_overrides, "librdkafka producer property key=value (repeatable)");
}

std::atomic<bool>& ingest_stop_flag() { return g_stop; }

void ingest_install_signals() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void DeadLetterBox::add(replay::DeadLetter d) {
  ++total_;
  if (print) {
    std::string reason, detail, source;
    for (const auto& [k, v] : d.headers) {
      if (k == "boxcall.reason") reason = v;
      if (k == "boxcall.detail") detail = v;
      if (k == "boxcall.source") source = v;
    }
    std::cout << "{\"topic\":\"dead-letter\",\"key\":" << json_string(d.key) << ",\"reason\":" << json_string(reason)
              << ",\"detail\":" << json_string(detail) << ",\"source\":" << json_string(source)
              << ",\"bytes\":" << d.value.size() << "}\n";
  }
  if (total_ <= limit_) queue_.push_back(std::move(d));
}

int run_ingest(sources::RecordSource& source, const IngestOutputArgs& a, DeadLetterBox& dead,
               const std::string& label) {
  stream::TopicNames topics;
  if (!a.telemetry_topic.empty()) topics.telemetry = a.telemetry_topic;
  if (!a.timing_topic.empty()) topics.timing = a.timing_topic;
  if (!a.dead_letter_topic.empty()) topics.dead_letter = a.dead_letter_topic;
  if (a.partitions < 1 || a.partitions > 1000) throw ConfigError("--partitions must be 1-1000");
  dead.print = a.print;
  PrintingSource printing(source, topics, a.print);

  if (a.no_publish) {
    std::uint64_t n = 0;
    while (printing.next()) ++n;
    dead.queue().clear();
    std::cout.flush();
    std::fprintf(stderr, "%s: %llu records decoded (not published: --no-publish)\n", label.c_str(),
                 static_cast<unsigned long long>(n));
    return 0;
  }

  std::unique_ptr<stream::MockCluster> embedded;
  std::string brokers = a.brokers;
  if (brokers.empty()) {
    embedded = std::make_unique<stream::MockCluster>(1);
    for (const auto* t : {&topics.telemetry, &topics.timing, &topics.dead_letter})
      embedded->create_topic(*t, a.partitions);
    brokers = embedded->bootstrap();
    std::fprintf(stderr, "%s: embedded Kafka (librdkafka mock cluster) at %s -- attach with: kcat -b %s -C -t %s\n",
                 label.c_str(), brokers.c_str(), brokers.c_str(), topics.telemetry.c_str());
  }
  replay::PublishOptions po;
  po.speed = 0;  // the bridge's input sets the pace
  po.kafka["linger.ms"] = "5";
  for (auto& [k, v] : parse_pairs(a.kafka_overrides)) po.kafka[k] = v;
  po.dead_letters = &dead.queue();
  // Stop is handled by the source (it drains and releases what it holds), not by the publisher.
  std::vector<std::unique_ptr<sources::RecordSource>> srcs;
  struct Borrowed final : sources::RecordSource {
    explicit Borrowed(sources::RecordSource& s) : s_(s) {}
    [[nodiscard]] const std::string& session_id() const override { return s_.session_id(); }
    [[nodiscard]] std::optional<Input> next() override { return s_.next(); }
    sources::RecordSource& s_;
  };
  srcs.push_back(std::make_unique<Borrowed>(printing));
  const auto stats = replay::publish_sources(std::move(srcs), brokers, topics, po);
  std::cout.flush();
  print_summary(label, stats, false);
  if (dead.beyond_limit() > 0) {
    std::fprintf(stderr, "%s: %llu dead letter(s) beyond --dead-letter-limit were counted, not published\n",
                 label.c_str(), static_cast<unsigned long long>(dead.beyond_limit()));
  }
  return stats.failed == 0 ? 0 : 1;
}

}  // namespace boxcall::app
