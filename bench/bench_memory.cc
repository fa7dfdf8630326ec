// Resident memory of the processing core with N concurrent synthetic sessions
// (20 cars each): every record of the first `--seconds` of event time of N
// races goes through Processor::process (decode, order, per-car state,
// outputs encoded) with an in-memory Publisher (no Kafka client buffers), then
// VmRSS and VmHWM are read from /proc/self/status. One process per N, so the
// numbers do not carry over between sizes. Prints one JSON object.
//
//   bench_memory --sessions 1000 [--seconds 120]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "base/clock.h"
#include "memory_publisher.h"
#include "synth_feed.h"

namespace {
using namespace boxcall;

long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int sessions = 1;
  double seconds = 120;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--sessions")
      sessions = std::atoi(argv[i + 1]);
    else if (arg == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_memory --sessions N [--seconds S]\n");
      return 2;
    }
  }
  const long rss_start_kb = status_kb("VmRSS");
  SteadyClock clock;
  stream::StreamMetrics metrics;
  bench::CountingPublisher publisher;
  auto sessions_factory = bench::make_pipeline_factory();
  stream::Processor processor(stream::ProcessorConfig{}, publisher, metrics, clock, sessions_factory);
  bench::ProcessorDriver driver(processor);
  bench::SynthFeed feed(sessions, 57, 3, "mem");
  const long rss_generators_kb = status_kb("VmRSS");

  const TimeNs end = sources::kSynthDefaultStartUtcNs + s_to_ns(seconds);  // event time since lights out
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t records = 0;
  bench::EncodedRecord r;
  while (feed.next(r) && event_time(*r.input) < end) {
    driver.feed(*r.session, r.topic, r.value);
    ++records;
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long rss_kb = status_kb("VmRSS");
  const long hwm_kb = status_kb("VmHWM");
  std::printf(
      "{\"sessions\":%d,\"cars\":%d,\"event_seconds\":%.0f,\"records\":%llu,\"wall_s\":%.2f,"
      "\"live_sessions\":%zu,\"buffered\":%zu,\"dead_letters\":%llu,\"outputs\":%llu,"
      "\"rss_start_kb\":%ld,\"rss_after_generators_kb\":%ld,\"rss_kb\":%ld,\"hwm_kb\":%ld}\n",
      sessions, sessions * 20, seconds + 10, static_cast<unsigned long long>(records), wall, processor.session_count(),
      processor.buffered_records(), static_cast<unsigned long long>(publisher.dead_letters),
      static_cast<unsigned long long>(publisher.outputs[0] + publisher.outputs[1] + publisher.outputs[2]), rss_start_kb,
      rss_generators_kb, rss_kb, hwm_kb);
  return 0;
}
