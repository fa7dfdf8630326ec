#include "replay/recording.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "base/result.h"

namespace boxcall::replay {

namespace {

constexpr std::array<char, 8> kMagic = {'B', 'X', 'C', 'R', 'E', 'C', '\r', '\n'};
constexpr std::size_t kHeaderSize = 16;
constexpr std::uint32_t kMaxFrame = 256U << 20;  // far above Kafka's message.max.bytes
enum FrameType : std::uint8_t { kTopic = 1, kRecord = 2, kEnd = 3 };

template <typename T>
void put(std::string& out, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}
void put_bytes32(std::string& out, const std::optional<std::string>& b) {
  if (!b) {
    put<std::int32_t>(out, -1);
    return;
  }
  put<std::int32_t>(out, static_cast<std::int32_t>(b->size()));
  out += *b;
}

/// Bounds-checked little-endian reader over one frame body.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  bool ok = true;
  template <typename T>
  T get() {
    if (s.size() - i < sizeof(T)) {
      ok = false;
      i = s.size();
      return T{};
    }
    std::make_unsigned_t<T> u = 0;
    for (std::size_t k = 0; k < sizeof(T); ++k) {
      u = static_cast<std::make_unsigned_t<T>>(
          u | (static_cast<std::make_unsigned_t<T>>(static_cast<unsigned char>(s[i + k])) << (8 * k)));
    }
    i += sizeof(T);
    return static_cast<T>(u);
  }
  bool take(std::size_t n, std::string& out) {
    if (s.size() - i < n) return ok = false;
    out.assign(s.data() + i, n);
    i += n;
    return true;
  }
  void bytes32(std::optional<std::string>& out) {
    const auto n = get<std::int32_t>();
    if (!ok) return;
    if (n < 0) {
      out.reset();
      return;
    }
    if (!out) out.emplace();
    take(static_cast<std::size_t>(n), *out);
  }
};

std::uint32_t crc_of(std::string_view s) {
  return static_cast<std::uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(s.data()), static_cast<uInt>(s.size())));
}

}  // namespace

/// The gzip handle's one owner: closed however the owner goes (a constructor
/// that throws included).
struct GzFile {
  gzFile gz = nullptr;
  GzFile() = default;
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
  ~GzFile() {
    if (gz) gzclose(gz);
  }
};
struct RecordingWriter::File : GzFile {};
struct RecordingReader::File : GzFile {};

RecordingWriter::RecordingWriter(const std::filesystem::path& path, RecordingWriterOptions options)
    : file_(std::make_unique<File>()), path_(path) {
  const std::string mode = options.compress ? "wb" + std::to_string(std::clamp(options.level, 1, 9)) : "wbT";
  file_->gz = gzopen(path.c_str(), mode.c_str());
  if (!file_->gz) throw ConfigError("cannot create recording " + path.string() + ": " + std::strerror(errno));
  gzbuffer(file_->gz, 1 << 17);
  std::string header(kMagic.begin(), kMagic.end());
  put<std::uint16_t>(header, kRecordingVersion);
  put<std::uint16_t>(header, 0);
  put<std::uint32_t>(header, 0);
  if (gzwrite(file_->gz, header.data(), static_cast<unsigned>(header.size())) != static_cast<int>(header.size())) {
    throw ConfigError("cannot write recording " + path.string());
  }
}

RecordingWriter::~RecordingWriter() {
  try {
    close();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw; close() reports when called
  }
}

std::uint16_t RecordingWriter::topic_id(std::string_view topic) {
  if (auto it = ids_.find(topic); it != ids_.end()) return it->second;
  if (ids_.size() >= 0xffff) throw ConfigError("recording " + path_.string() + ": too many topics");
  const auto id = static_cast<std::uint16_t>(ids_.size());
  ids_.emplace(std::string(topic), id);
  body_.clear();
  put<std::uint8_t>(body_, kTopic);
  put<std::uint16_t>(body_, id);
  body_ += topic;
  write_frame(body_);
  return id;
}

void RecordingWriter::write(const RecordedRecord& r) {
  body_.clear();
  put<std::uint8_t>(body_, kRecord);
  put<std::uint16_t>(body_, r.topic_id);
  put<std::int32_t>(body_, r.partition);
  put<std::int64_t>(body_, r.offset);
  put<std::int64_t>(body_, r.timestamp_ms);
  put_bytes32(body_, r.key);
  put_bytes32(body_, r.value);
  put<std::uint16_t>(body_, static_cast<std::uint16_t>(r.headers.size()));
  for (const auto& [name, value] : r.headers) {
    put<std::uint16_t>(body_, static_cast<std::uint16_t>(name.size()));
    body_ += name;
    put_bytes32(body_, value);
  }
  write_frame(body_);
  ++records_;
}

void RecordingWriter::write_frame(const std::string& body) {
  if (!file_->gz) throw ConfigError("recording " + path_.string() + " is closed");
  std::string head;
  put<std::uint32_t>(head, static_cast<std::uint32_t>(body.size()));
  put<std::uint32_t>(head, crc_of(body));
  if (gzwrite(file_->gz, head.data(), static_cast<unsigned>(head.size())) != static_cast<int>(head.size()) ||
      gzwrite(file_->gz, body.data(), static_cast<unsigned>(body.size())) != static_cast<int>(body.size())) {
    int err = 0;
    throw ConfigError("cannot write recording " + path_.string() + ": " + gzerror(file_->gz, &err));
  }
}

void RecordingWriter::close() {
  if (!file_->gz) return;
  body_.clear();
  put<std::uint8_t>(body_, kEnd);
  put<std::uint64_t>(body_, records_);
  write_frame(body_);
  gzFile gz = std::exchange(file_->gz, nullptr);
  if (gzclose(gz) != Z_OK) throw ConfigError("cannot close recording " + path_.string());
}

// ------------------------------------------------------------------ reader

RecordingReader::RecordingReader(const std::filesystem::path& path) : file_(std::make_unique<File>()), path_(path) {
  if (!std::filesystem::is_regular_file(path)) throw ConfigError("recording " + path.string() + " does not exist");
  file_->gz = gzopen(path.c_str(), "rb");
  if (!file_->gz) throw ConfigError("cannot open recording " + path.string() + ": " + std::strerror(errno));
  gzbuffer(file_->gz, 1 << 17);
  std::array<char, kHeaderSize> h{};
  if (gzread(file_->gz, h.data(), kHeaderSize) != static_cast<int>(kHeaderSize) ||
      std::memcmp(h.data(), kMagic.data(), kMagic.size()) != 0) {
    fail("not a boxcall recording (bad magic)");
  }
  Cursor c{std::string_view(h.data() + kMagic.size(), kHeaderSize - kMagic.size())};
  const auto version = c.get<std::uint16_t>();
  if (version != kRecordingVersion) {
    fail("unsupported recording version " + std::to_string(version) + " (this boxcall reads version " +
         std::to_string(kRecordingVersion) + ")");
  }
  pos_ = kHeaderSize;
}

RecordingReader::~RecordingReader() = default;

void RecordingReader::fail(const std::string& what) const {
  throw ConfigError("recording " + path_.string() + " at byte " + std::to_string(pos_) + ": " + what);
}

const std::string& RecordingReader::topic_name(std::uint16_t id) const {
  if (id >= topics_.size()) fail("record of undefined topic id " + std::to_string(id));
  return topics_[id];
}

bool RecordingReader::read_frame() {
  if (eof_) return false;
  std::array<char, 8> head{};
  const int n = gzread(file_->gz, head.data(), head.size());
  if (n == 0) {
    eof_ = true;
    return false;
  }
  if (n != static_cast<int>(head.size())) {  // a recorder killed mid-write: the records before are good
    eof_ = truncated_ = true;
    return false;
  }
  Cursor hc{std::string_view(head.data(), head.size())};
  const auto len = hc.get<std::uint32_t>();
  const auto crc = hc.get<std::uint32_t>();
  if (len == 0 || len > kMaxFrame) fail("bad frame length " + std::to_string(len));
  // Read in steps, growing the body as bytes arrive: a corrupt length in a small
  // file costs what the file holds, not kMaxFrame of memory.
  body_.clear();
  for (std::uint32_t got = 0; got < len;) {
    const std::uint32_t step = std::min<std::uint32_t>(len - got, 1U << 20);
    body_.resize(got + step);
    if (gzread(file_->gz, body_.data() + got, step) != static_cast<int>(step)) {
      eof_ = truncated_ = true;
      return false;
    }
    got += step;
  }
  if (crc_of(body_) != crc) fail("frame checksum mismatch (corrupt file)");
  return true;
}

bool RecordingReader::next(RecordedRecord& out) {
  while (!complete_ && read_frame()) {
    Cursor c{body_};
    const auto type = c.get<std::uint8_t>();
    switch (type) {
      case kTopic: {
        const auto id = c.get<std::uint16_t>();
        if (!c.ok || id != topics_.size()) fail("bad topic frame");
        topics_.emplace_back(body_.substr(c.i));
        break;
      }
      case kRecord: {
        out.topic_id = c.get<std::uint16_t>();
        out.partition = c.get<std::int32_t>();
        out.offset = c.get<std::int64_t>();
        out.timestamp_ms = c.get<std::int64_t>();
        c.bytes32(out.key);
        c.bytes32(out.value);
        const auto count = c.get<std::uint16_t>();
        out.headers.resize(count);
        for (auto& [name, value] : out.headers) {
          const auto nl = c.get<std::uint16_t>();
          c.take(nl, name);
          c.bytes32(value);
        }
        if (!c.ok || c.i != body_.size()) fail("malformed record frame");
        if (out.topic_id >= topics_.size()) fail("record of undefined topic id " + std::to_string(out.topic_id));
        pos_ += 8 + body_.size();
        ++records_;
        return true;
      }
      case kEnd: {
        const auto count = c.get<std::uint64_t>();
        if (!c.ok || count != records_)
          fail("END frame counts " + std::to_string(count) + " records, read " + std::to_string(records_));
        complete_ = true;
        break;
      }
      default:
        fail("unknown frame type " + std::to_string(type));
    }
    pos_ += 8 + body_.size();
  }
  return false;
}

bool is_recording(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) return false;
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) return false;
  std::array<char, kMagic.size()> h{};
  const bool ok = gzread(gz, h.data(), h.size()) == static_cast<int>(h.size()) &&
                  std::memcmp(h.data(), kMagic.data(), kMagic.size()) == 0;
  gzclose(gz);
  return ok;
}

}  // namespace boxcall::replay

// ------------------------------------------------------------------ from Kafka

#include <spdlog/spdlog.h>

#include "stream/config.h"
#include "stream/kafka.h"

namespace boxcall::replay {

RecordTopicsStats record_topics(const std::string& brokers, const std::vector<std::string>& topics,
                                RecordingWriter& out, const RecordTopicsOptions& options) {
  for (const auto& t : topics) out.topic_id(t);  // topics in the order given, even when empty
  return consume_topics(
      brokers, topics,
      [&out](const std::string& topic, RecordedRecord& r) {
        r.topic_id = out.topic_id(topic);
        out.write(r);
        return true;
      },
      options);
}

RecordTopicsStats consume_topics(const std::string& brokers, const std::vector<std::string>& topics,
                                 const std::function<bool(const std::string& topic, RecordedRecord& record)>& on_record,
                                 const RecordTopicsOptions& options) {
  using Clock = std::chrono::steady_clock;
  if (topics.empty()) throw ConfigError("no topic to record");
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", brokers);
  conf.set("group.id", "boxcall-record");  // assign() only: nothing is committed
  conf.set("enable.auto.commit", "false");
  conf.set("enable.auto.offset.store", "false");
  conf.set("enable.partition.eof", "true");
  conf.set("fetch.wait.max.ms", "50");
  conf.set_all(options.kafka);
  stream::Consumer consumer(std::move(conf));
  rd_kafka_t* rk = consumer.get();
  stream::ensure_reachable(rk, brokers, std::chrono::seconds(10));

  stream::KafkaPartitionList assignment(rd_kafka_topic_partition_list_new(8));
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> end;  // until_end: high watermark per partition
  for (const auto& t : topics) {
    auto n = stream::partition_count(rk, t, std::chrono::seconds(10));
    if (!n) throw ConfigError("topic " + t + " does not exist at " + brokers);
    for (std::int32_t p = 0; p < *n; ++p) {
      auto* e = rd_kafka_topic_partition_list_add(assignment.get(), t.c_str(), p);
      e->offset = options.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
      if (options.until_end) {
        std::int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, t.c_str(), p, &lo, &hi, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
          throw ConfigError("cannot read the end offsets of " + t);
        }
        if (hi > lo && options.from_beginning) end[{t, p}] = hi;
      }
    }
  }
  if (auto err = rd_kafka_assign(rk, assignment.get())) {
    throw ConfigError(std::string("cannot assign partitions: ") + rd_kafka_err2str(err));
  }

  RecordTopicsStats stats;
  const auto start = Clock::now();
  auto next_progress = start + options.progress_interval;
  RecordedRecord r;
  std::uint64_t written = 0;
  while (!(options.stop && options.stop->load())) {
    if (options.until_end && end.empty()) break;
    if (options.duration.count() > 0 && Clock::now() - start >= options.duration) break;
    stream::KafkaMessage msg = consumer.poll(100);
    if (options.on_progress && Clock::now() >= next_progress) {
      next_progress = Clock::now() + options.progress_interval;
      options.on_progress(written);
    }
    if (!msg) continue;
    const std::string topic = msg->rkt ? rd_kafka_topic_name(msg->rkt) : "";
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      end.erase({topic, msg->partition});
      continue;
    }
    if (msg->err) {
      if (msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || msg->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
        throw ConfigError("record: " + std::string(rd_kafka_message_errstr(msg.get())));
      }
      spdlog::warn("record: {}", rd_kafka_message_errstr(msg.get()));
      continue;
    }
    r.partition = msg->partition;
    r.offset = msg->offset;
    r.timestamp_ms = rd_kafka_message_timestamp(msg.get(), nullptr);
    if (msg->key)
      r.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
    else
      r.key.reset();
    if (msg->payload)
      r.value.emplace(static_cast<const char*>(msg->payload), msg->len);
    else
      r.value.reset();
    r.headers.clear();
    rd_kafka_headers_t* h = nullptr;
    if (rd_kafka_message_headers(msg.get(), &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* val = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0; rd_kafka_header_get_all(h, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        r.headers.emplace_back(
            name, val ? std::optional<std::string>(std::string(static_cast<const char*>(val), size)) : std::nullopt);
      }
    }
    ++written;
    ++stats.records[topic];
    stats.bytes += msg->key_len + msg->len;
    if (!on_record(topic, r)) break;
    if (auto it = end.find({topic, msg->partition}); it != end.end() && msg->offset + 1 >= it->second) end.erase(it);
  }
  rd_kafka_assign(rk, nullptr);
  stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

}  // namespace boxcall::replay
