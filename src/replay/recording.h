#pragma once
/// boxcall's recording format: Kafka records of one or more topics, kept with
/// their timestamps so that `boxcall replay` publishes exactly the same key,
/// value and header bytes, in the same order, at the recorded pace.
///
/// Layout (all integers little-endian; spec and rationale in docs/replay.md):
///
///   file   := [gzip stream of] header frame*
///   header := "BXCREC\r\n" (8 bytes) u16 version=1 u16 flags=0 u32 reserved=0
///   frame  := u32 body_len  u32 crc32(body)  body
///   body   := u8 type ...
///     type 1 TOPIC  : u16 topic_id  name bytes (to the end of the body)
///     type 2 RECORD : u16 topic_id  i32 partition  i64 offset  i64 timestamp_ms
///                     i32 key_len (-1: null) key  i32 value_len (-1: null) value
///                     u16 header_count { u16 name_len name  i32 value_len (-1: null) value }*
///     type 3 END    : u64 record_count
///
/// A TOPIC frame precedes the first RECORD of its topic. Files are written
/// plain or gzip-compressed (`compress`); the reader accepts both. A missing
/// END frame means the writer stopped abruptly: the records before it are
/// still good, the reader says so through `complete()`.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace boxcall::replay {

inline constexpr std::uint16_t kRecordingVersion = 1;

/// One recorded Kafka record. Payload bytes are held as std::string (bytes, not text).
struct RecordedRecord {
  std::uint16_t topic_id = 0;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

struct RecordingWriterOptions {
  bool compress = false;  ///< gzip the whole file (zlib level below)
  int level = 1;          ///< 1 fast .. 9 small
};

/// Appends frames to a new file. Throws ConfigError when the file cannot be
/// created or written (the recording commands exit 2 with that one line).
class RecordingWriter {
 public:
  RecordingWriter(const std::filesystem::path& path, RecordingWriterOptions options = {});
  ~RecordingWriter();  ///< closes (writing END) if close() was not called; never throws
  RecordingWriter(const RecordingWriter&) = delete;
  RecordingWriter& operator=(const RecordingWriter&) = delete;

  /// The id of `topic`, writing its TOPIC frame the first time it is seen.
  std::uint16_t topic_id(std::string_view topic);
  /// Writes one RECORD frame; `record.topic_id` must come from topic_id().
  void write(const RecordedRecord& record);
  /// Writes the END frame and closes the file.
  void close();
  [[nodiscard]] std::uint64_t records() const { return records_; }

 private:
  void write_frame(const std::string& body);
  struct File;
  std::unique_ptr<File> file_;
  std::filesystem::path path_;
  std::map<std::string, std::uint16_t, std::less<>> ids_;
  std::uint64_t records_ = 0;
  std::string body_;
};

/// Reads a recording front to back. Throws ConfigError (file and byte offset
/// in one line) on a missing file, a bad magic or version, or a corrupt frame
/// (CRC mismatch, bad length). A file cut inside its last frame ends there
/// (`truncated()`): what was written before is good.
class RecordingReader {
 public:
  explicit RecordingReader(const std::filesystem::path& path);
  ~RecordingReader();
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  /// The next RECORD into `out` (storage reused); false at the end.
  [[nodiscard]] bool next(RecordedRecord& out);
  /// Topic names by id, as defined so far (every topic of a record already returned).
  [[nodiscard]] const std::vector<std::string>& topics() const { return topics_; }
  [[nodiscard]] const std::string& topic_name(std::uint16_t id) const;
  /// True once the END frame has been read.
  [[nodiscard]] bool complete() const { return complete_; }
  /// True when the file ends inside a frame (the writer was killed mid-write).
  [[nodiscard]] bool truncated() const { return truncated_; }
  [[nodiscard]] std::uint64_t records_read() const { return records_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  bool read_frame();
  [[noreturn]] void fail(const std::string& what) const;
  struct File;
  std::unique_ptr<File> file_;
  std::filesystem::path path_;
  std::vector<std::string> topics_;
  std::string body_;
  std::uint64_t pos_ = 0;  ///< uncompressed byte offset of the next frame
  std::uint64_t records_ = 0;
  bool complete_ = false;
  bool eof_ = false;
  bool truncated_ = false;
};

/// True when the file starts with a recording header (plain or gzipped).
[[nodiscard]] bool is_recording(const std::filesystem::path& path);

}  // namespace boxcall::replay

namespace boxcall::replay {

struct RecordTopicsOptions {
  /// Read every partition from its beginning (else from its end: new records only).
  bool from_beginning = false;
  /// Stop once every partition reached the end it had when recording started.
  bool until_end = false;
  /// Stop after this long (0: no limit).
  std::chrono::milliseconds duration{0};
  /// librdkafka consumer properties on top of boxcall's.
  std::map<std::string, std::string> kafka;
  const std::atomic<bool>* stop = nullptr;
  /// Called about every `progress_interval` with the records written so far.
  std::function<void(std::uint64_t records)> on_progress;
  std::chrono::milliseconds progress_interval{1000};
};

struct RecordTopicsStats {
  std::map<std::string, std::uint64_t> records;  ///< by topic
  std::uint64_t bytes = 0;
  double seconds = 0;
};

/// Consumes `topics` (every partition, no consumer group commits) into `out`,
/// records in the order they arrive (per-partition order kept). Throws
/// ConfigError when the brokers cannot be reached or a topic does not exist.
RecordTopicsStats record_topics(const std::string& brokers, const std::vector<std::string>& topics,
                                RecordingWriter& out, const RecordTopicsOptions& options);

/// The same consumption with a callback per record (`topic_id` unset); false stops.
RecordTopicsStats consume_topics(const std::string& brokers, const std::vector<std::string>& topics,
                                 const std::function<bool(const std::string& topic, RecordedRecord& record)>& on_record,
                                 const RecordTopicsOptions& options);

}  // namespace boxcall::replay
