#pragma once
/// Capture files of raw F1 game UDP packets.
///
/// Container (little-endian): uint32 packet count, then per packet: float32
/// seconds since the capture started, uint32 payload length, the payload (the
/// UDP datagram exactly as received). The same layout as the Python recorder /
/// replayer tools that sim-racing projects share, so their captures replay here.
/// A writer that is killed before close() leaves count 0: readers then read
/// packets until the end of the file.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

namespace boxcall::sources::f1udp {

inline constexpr std::uint32_t kMaxCapturedPacket = 65'535;

struct CapturedPacket {
  double seconds = 0;  ///< since the capture started
  std::vector<std::byte> bytes;
};

class CaptureReader {
 public:
  /// Throws ConfigError when the file cannot be opened or has no header.
  explicit CaptureReader(const std::filesystem::path& path);
  ~CaptureReader();
  CaptureReader(const CaptureReader&) = delete;
  CaptureReader& operator=(const CaptureReader&) = delete;

  /// The next packet (its buffer is reused), or false at the end.
  bool next(CapturedPacket& packet);
  [[nodiscard]] std::uint32_t declared_count() const { return declared_; }
  [[nodiscard]] std::uint64_t read_count() const { return read_; }
  /// The file ended inside a packet, or held a length above kMaxCapturedPacket.
  [[nodiscard]] bool truncated() const { return truncated_; }

 private:
  std::FILE* f_ = nullptr;
  std::uint32_t declared_ = 0;
  std::uint64_t read_ = 0;
  bool truncated_ = false;
};

class CaptureWriter {
 public:
  /// Throws ConfigError when the file cannot be created.
  explicit CaptureWriter(const std::filesystem::path& path);
  ~CaptureWriter();  ///< closes (writes the count)
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  void write(double seconds, std::span<const std::byte> payload);
  /// Writes the packet count into the header and closes the file.
  void close();
  [[nodiscard]] std::uint32_t count() const { return count_; }

 private:
  std::FILE* f_ = nullptr;
  std::uint32_t count_ = 0;
};

}  // namespace boxcall::sources::f1udp
