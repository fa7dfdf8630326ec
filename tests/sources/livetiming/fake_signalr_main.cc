// fake_signalr_server: the tests' fake live-timing service as a program, for the command-line test.
//   fake_signalr_server SESSION_DIR START_UTC [DROP_AFTER]
// Prints "port=N" once listening; exits when every line was sent and the client went away.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "base/time_text.h"
#include "fake_signalr_server.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s SESSION_DIR START_UTC [DROP_AFTER]\n", argv[0]);
    return 2;
  }
  boxcall::testing::FakeSignalROptions o;
  o.session_dir = argv[1];
  auto start = boxcall::parse_utc_datetime(argv[2]);
  if (!start) return 2;
  o.start_utc_ns = *start;
  if (argc > 3) o.drop_after = std::strtoul(argv[3], nullptr, 10);
  boxcall::testing::FakeSignalRServer server(o);
  std::printf("port=%u lines=%zu\n", static_cast<unsigned>(server.port()), server.lines());
  std::fflush(stdout);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!server.stats().done && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // waiting on the condition, bounded
  std::this_thread::sleep_for(std::chrono::seconds(2));          // let the client read the last frames
  return server.stats().done ? 0 : 1;
}
