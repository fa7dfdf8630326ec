// libFuzzer target: boxcall recordings (src/replay/recording.cc), as
// `boxcall replay FILE` and `boxcall inspect --recording FILE` read them.
//
// Input: one mode byte, then the content.
//  - bit 0 set: the content is the file, byte for byte (header, frames, CRCs);
//  - bit 0 clear: the content is a sequence of frame bodies, each prefixed by
//    its length (u16 little-endian); the harness writes a valid header and
//    frames each body with its right length and CRC, so the fuzzer reaches the
//    body parser instead of stopping at the checksum.
//  - bit 1: the file is gzip-compressed (the reader accepts both).
// Nothing may crash or throw anything but ConfigError (one line: file, byte
// offset, what is wrong); every record returned names a defined topic.
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "base/result.h"
#include "replay/recording.h"

namespace fs = std::filesystem;
using namespace boxcall;

namespace {

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const fs::path path = [] {
    static fs::path p = fs::temp_directory_path() / ("boxcall-fuzz-" + std::to_string(::getpid()) + ".bxcrec");
    std::atexit([] {
      std::error_code ec;
      fs::remove(p, ec);
    });
    return p;
  }();
  const std::uint8_t mode = data[0];
  const std::string_view content(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string file;
  if (mode & 1) {
    file.assign(content);
  } else {
    file.assign("BXCREC\r\n\x01\x00\x00\x00\x00\x00\x00\x00", 16);
    std::size_t at = 0;
    while (at + 2 <= content.size()) {
      std::size_t len = static_cast<unsigned char>(content[at]) | (static_cast<unsigned char>(content[at + 1]) << 8);
      at += 2;
      len = std::min(len, content.size() - at);
      const std::string_view body = content.substr(at, len);
      at += len;
      put32(file, static_cast<std::uint32_t>(body.size()));
      put32(file, static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(body.data()),
                                                   static_cast<uInt>(len))));
      file.append(body);
    }
  }
  if (mode & 2) {
    gzFile gz = gzopen(path.c_str(), "wb1");
    if (!gz) std::abort();
    if (!file.empty()) gzwrite(gz, file.data(), static_cast<unsigned>(file.size()));
    gzclose(gz);
  } else {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(file.data(), static_cast<std::streamsize>(file.size()));
  }
  (void)replay::is_recording(path);
  try {
    replay::RecordingReader reader(path);
    replay::RecordedRecord record;
    std::uint64_t n = 0;
    while (reader.next(record)) {
      ++n;
      if (record.topic_id >= reader.topics().size()) std::abort();
      (void)reader.topic_name(record.topic_id);
    }
    if (n != reader.records_read()) std::abort();
    if (reader.complete() && reader.truncated()) std::abort();
  } catch (const ConfigError&) {
    // a corrupt recording: one line naming the file and the byte offset
  }
  return 0;
}
