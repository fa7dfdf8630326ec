// libFuzzer target: F1 live-timing input (src/sources/livetiming.cc), the way
// `boxcall replay DIR` and `boxcall ingest livetiming` read it.
//
// Input: one mode byte, then the content. Mode bits 0-1 choose the kind:
//  - 0: a session directory. The content is split at NUL bytes into up to 4
//    files, each a <Topic>.jsonStream (lines `HH:MM:SS.mmm{json}`), topics
//    chosen by mode bits 3-7; the directory is named with a date, and mode bit 2
//    adds a StartUtc.txt (else session time 0 comes from the race control
//    messages or the date).
//  - 1: one FastF1 live-data file (lines ['Topic', data, 'time']); bit 2 gives
//    the start time as an option.
//  - 2, 3: the live client's parser (LiveTimingParser), one message a line: a
//    topic byte, then the message's JSON data; 250 ms apart.
// Nothing may crash or throw (other than ConfigError from the constructor,
// which `boxcall` reports in one line); records come out in non-decreasing
// session time, each with a session id.
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/result.h"
#include "sources/livetiming.h"

namespace fs = std::filesystem;
using namespace boxcall;

namespace {

constexpr std::array<std::string_view, 11> kTopics = {
    "TimingData",  "TimingAppData", "TrackStatus", "RaceControlMessages", "LapCount",  "SessionStatus",
    "SessionInfo", "WeatherData",   "DriverList",  "CarData.z",           "Position.z"};

const fs::path& work_dir() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("boxcall-fuzz-livetiming-" + std::to_string(::getpid()));
    fs::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(work_dir(), ec);
    });
    return d;
  }();
  return dir;
}

void write_file(const fs::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

TimeNs time_of(const Input& in) {
  return std::visit([](const auto& r) { return r.session_time_ns; }, in);
}

void drain(auto&& next, TimeNs& last) {
  for (int i = 0; i < 100000; ++i) {
    std::optional<Input> in = next();
    if (!in) return;
    const TimeNs t = time_of(*in);
    if (t < last) std::abort();  // the promise of non-decreasing time
    last = t;
  }
}

void run_source(const fs::path& path, bool with_start) {
  sources::LiveTimingOptions options;
  if (with_start) options.start_utc_ns = 1'678'024'800LL * kNsPerSecond;
  try {
    sources::LiveTimingSource source(path, options);
    source.on_reject([](const sources::RejectedLine& r) {
      if (r.source.empty()) std::abort();  // every rejected line says where it was
    });
    if (source.session_id().empty()) std::abort();
    TimeNs last = std::numeric_limits<TimeNs>::min();
    drain([&] { return source.next(); }, last);
  } catch (const ConfigError&) {
    // start-up errors (no start time, no usable file): one line, exit 2
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const std::string_view content(reinterpret_cast<const char*>(data + 1), size - 1);
  const fs::path& work = work_dir();
  switch (mode & 3) {
    case 0: {
      const fs::path dir = work / "2023-03-05_Bahrain_Grand_Prix__2023-03-05_Race";
      fs::remove_all(dir);
      fs::create_directories(dir);
      std::size_t at = 0;
      for (std::size_t i = 0; i < 4 && at <= content.size(); ++i) {
        std::size_t end = content.find('\0', at);
        if (end == std::string_view::npos) end = content.size();
        const auto topic = kTopics[((mode >> 3) + i * 5) % kTopics.size()];
        write_file(dir / (std::string(topic) + ".jsonStream"), content.substr(at, end - at));
        at = end + 1;
      }
      if (mode & 4) write_file(dir / "StartUtc.txt", "2023-03-05T13:02:00Z\n");
      run_source(dir, false);
      break;
    }
    case 1: {
      const fs::path file = work / "livedata.txt";
      write_file(file, content);
      run_source(file, (mode & 4) != 0);
      break;
    }
    default: {
      sources::LiveTimingParser parser(1'678'024'800LL * kNsPerSecond);
      TimeNs t = 0;
      TimeNs last = std::numeric_limits<TimeNs>::min();
      std::size_t at = 0;
      while (at < content.size()) {
        std::size_t end = content.find('\n', at);
        if (end == std::string_view::npos) end = content.size();
        const std::string_view line = content.substr(at, end - at);
        at = end + 1;
        if (line.empty()) continue;
        const auto topic = kTopics[static_cast<std::uint8_t>(line[0]) % kTopics.size()];
        parser.push(topic, t, line.substr(1), "fuzz");
        t += 250'000'000;
        drain([&] { return parser.pop(); }, last);
      }
      parser.finish();
      drain([&] { return parser.pop(); }, last);
      break;
    }
  }
  return 0;
}
