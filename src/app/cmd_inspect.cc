// `boxcall inspect`: records of a recording or a Kafka topic as JSON lines
// (FlatBuffers or JSON values rendered by the codec), filtered by session and car.
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "replay/recording.h"
#include "stream/codec.h"

namespace boxcall::app {
namespace {

struct InspectArgs {
  std::string recording;
  std::string brokers;
  std::vector<std::string> topics;
  std::string session;
  int car = -1;
  std::uint64_t limit = 0;
  bool follow = false;
};

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
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
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through; invalid bytes are the producer's
        }
    }
  }
  out += '"';
}

/// The car number in a rendered Envelope, or -1.
int car_of(std::string_view json) {
  const auto at = json.find("\"car_number\":");
  if (at == std::string_view::npos) return -1;
  std::size_t i = at + 13;
  while (i < json.size() && json[i] == ' ') ++i;
  int v = 0;
  bool any = false;
  for (; i < json.size() && json[i] >= '0' && json[i] <= '9'; ++i, any = true) v = v * 10 + (json[i] - '0');
  return any ? v : -1;
}

/// The session of a rendered Envelope, or "".
std::string_view session_of(std::string_view json) {
  const auto at = json.find("\"session\":");
  if (at == std::string_view::npos) return {};
  const auto q = json.find('"', at + 10);
  if (q == std::string_view::npos) return {};
  const auto e = json.find('"', q + 1);
  return e == std::string_view::npos ? std::string_view{} : json.substr(q + 1, e - q - 1);
}

class Printer {
 public:
  explicit Printer(const InspectArgs& a) : a_(a) {}

  /// False once the limit is reached.
  bool print(const std::string& topic, const replay::RecordedRecord& r) {
    std::string rendered;
    bool is_envelope = false;
    if (r.value) {
      auto json = codec_.to_json(stream::as_bytes(std::string_view(*r.value)));
      if (!json.ok()) {
        // A topic in the JSON encoding: parsed against the schema, printed in the same canonical form.
        if (auto fb = codec_.from_json(*r.value); fb.ok()) {
          json = codec_.to_json(stream::as_bytes(std::span<const std::uint8_t>(fb.value())));
        }
      }
      if (json.ok()) {
        rendered = std::move(json.value());
        is_envelope = true;
      }
    }
    if (!a_.session.empty()) {
      const bool key_match = r.key && *r.key == a_.session;
      if (!key_match && !(is_envelope && session_of(rendered) == a_.session)) return true;
    }
    if (a_.car >= 0 && !(is_envelope && car_of(rendered) == a_.car)) return true;
    line_.clear();
    line_ += "{\"topic\":";
    append_json_string(line_, topic);
    line_ += ",\"partition\":" + std::to_string(r.partition) + ",\"offset\":" + std::to_string(r.offset) +
             ",\"timestamp_ms\":" + std::to_string(r.timestamp_ms) + ",\"key\":";
    if (r.key)
      append_json_string(line_, *r.key);
    else
      line_ += "null";
    if (!r.headers.empty()) {
      line_ += ",\"headers\":{";
      bool first = true;
      for (const auto& [k, v] : r.headers) {
        if (!first) line_ += ',';
        first = false;
        append_json_string(line_, k);
        line_ += ':';
        if (v)
          append_json_string(line_, *v);
        else
          line_ += "null";
      }
      line_ += '}';
    }
    if (is_envelope) {
      line_ += ",\"record\":" + rendered;
    } else if (r.value) {
      line_ += ",\"value\":";  // not a boxcall Envelope (e.g. a rejected line): the bytes as text
      append_json_string(line_, *r.value);
    } else {
      line_ += ",\"value\":null";
    }
    line_ += "}\n";
    std::fwrite(line_.data(), 1, line_.size(), stdout);
    ++printed_;
    return a_.limit == 0 || printed_ < a_.limit;
  }

 private:
  const InspectArgs& a_;
  stream::Codec codec_;
  std::string line_;
  std::uint64_t printed_ = 0;
};

int run_inspect(const InspectArgs& a) {
  if (a.recording.empty() == a.brokers.empty())
    throw ConfigError("give either --recording FILE or --brokers B --topic T");
  Printer printer(a);
  if (!a.recording.empty()) {
    replay::RecordingReader reader(a.recording);
    replay::RecordedRecord r;
    while (reader.next(r)) {
      const std::string& topic = reader.topic_name(r.topic_id);
      if (!a.topics.empty() && std::find(a.topics.begin(), a.topics.end(), topic) == a.topics.end()) continue;
      if (!printer.print(topic, r)) break;
    }
  } else {
    if (a.topics.empty()) throw ConfigError("--topic is required with --brokers");
    replay::RecordTopicsOptions o;
    o.from_beginning = true;
    o.until_end = !a.follow;
    replay::consume_topics(
        a.brokers, a.topics,
        [&printer](const std::string& topic, replay::RecordedRecord& r) { return printer.print(topic, r); }, o);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void register_inspect(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<InspectArgs>();
  auto* cmd = app.add_subcommand(
      "inspect",
      "Print records of a recording or of Kafka topics as JSON lines: topic, partition, offset, timestamp,\n"
      "key, headers and the record (boxcall's JSON form, whether the value is a FlatBuffer or JSON;\n"
      "other values as text).");
  cmd->add_option("-r,--recording", a->recording, "Recording file (boxcall record, boxcall synth --out)");
  cmd->add_option("-b,--brokers", a->brokers, "Kafka bootstrap servers (reads --topic from the beginning to its end)");
  cmd->add_option("-t,--topic", a->topics, "Topic (repeatable); with --recording: only these topics");
  cmd->add_option("--session", a->session, "Only records of this session (key or payload session)");
  cmd->add_option("--car", a->car, "Only records of this car number");
  cmd->add_option("-n,--limit", a->limit, "Stop after printing this many records");
  cmd->add_flag("-f,--follow", a->follow, "Kafka: keep reading new records (until SIGINT)");
  cmd->callback([a, &run] { run = [a] { return run_inspect(*a); }; });
}

}  // namespace boxcall::app
