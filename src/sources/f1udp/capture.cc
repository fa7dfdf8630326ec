#include "sources/f1udp/capture.h"

#include <cstring>
#include <string>

#include "base/result.h"

namespace boxcall::sources::f1udp {

CaptureReader::CaptureReader(const std::filesystem::path& path) {
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw ConfigError("cannot open capture " + path.string() + ": " + std::strerror(errno));
  unsigned char b[4];
  if (std::fread(b, 1, 4, f_) != 4) {
    std::fclose(f_);
    f_ = nullptr;
    throw ConfigError("capture " + path.string() + " is empty (no packet count)");
  }
  std::memcpy(&declared_, b, 4);
}

CaptureReader::~CaptureReader() {
  if (f_) std::fclose(f_);
}

bool CaptureReader::next(CapturedPacket& packet) {
  if (!f_ || truncated_) return false;
  if (declared_ != 0 && read_ >= declared_) return false;
  unsigned char head[8];
  const std::size_t n = std::fread(head, 1, 8, f_);
  if (n == 0) {
    truncated_ = declared_ != 0;  // fewer packets than declared
    return false;
  }
  if (n != 8) {
    truncated_ = true;
    return false;
  }
  float seconds = 0;
  std::uint32_t length = 0;
  std::memcpy(&seconds, head, 4);
  std::memcpy(&length, head + 4, 4);
  if (length > kMaxCapturedPacket) {
    truncated_ = true;
    return false;
  }
  packet.bytes.resize(length);
  if (std::fread(packet.bytes.data(), 1, length, f_) != length) {
    truncated_ = true;
    return false;
  }
  packet.seconds = seconds;
  ++read_;
  return true;
}

CaptureWriter::CaptureWriter(const std::filesystem::path& path) {
  f_ = std::fopen(path.c_str(), "wb");
  if (!f_) throw ConfigError("cannot create capture " + path.string() + ": " + std::strerror(errno));
  const std::uint32_t zero = 0;
  std::fwrite(&zero, 4, 1, f_);
}

CaptureWriter::~CaptureWriter() { close(); }

void CaptureWriter::write(double seconds, std::span<const std::byte> payload) {
  if (!f_) return;
  const auto s = static_cast<float>(seconds);
  const auto len = static_cast<std::uint32_t>(payload.size());
  std::fwrite(&s, 4, 1, f_);
  std::fwrite(&len, 4, 1, f_);
  std::fwrite(payload.data(), 1, payload.size(), f_);
  ++count_;
}

void CaptureWriter::close() {
  if (!f_) return;
  std::fflush(f_);
  std::fseek(f_, 0, SEEK_SET);
  std::fwrite(&count_, 4, 1, f_);
  std::fclose(f_);
  f_ = nullptr;
}

}  // namespace boxcall::sources::f1udp
