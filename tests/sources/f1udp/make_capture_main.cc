// f1udp_make_capture: writes an F1 game UDP capture built from the real 2023
// Bahrain GP (see bahrain_capture.h), for the command-line tests.
//   f1udp_make_capture EXPORT_DIR OUT [FORMAT=2024] [FROM_LAP=1] [TO_LAP=2] [HZ=10]
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "bahrain_capture.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s EXPORT_DIR OUT [FORMAT] [FROM_LAP] [TO_LAP] [HZ]\n", argv[0]);
    return 2;
  }
  boxcall::testing::f1udp::BahrainCaptureOptions o;
  o.export_dir = argv[1];
  if (argc > 3) o.format = std::atoi(argv[3]);
  if (argc > 4) o.from_lap = std::atoi(argv[4]);
  if (argc > 5) o.to_lap = std::atoi(argv[5]);
  if (argc > 6) o.hz = std::atof(argv[6]);
  try {
    const auto info = boxcall::testing::f1udp::make_bahrain_capture(o, argv[2]);
    std::size_t laps = 0;
    for (const auto& [car, l] : info.laps) laps += l.size();
    std::printf("packets=%u seconds=%.1f laps=%zu pit_ins=%zu pit_outs=%zu\n", info.packets, info.seconds, laps,
                info.pit_ins, info.pit_outs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "f1udp_make_capture: %s\n", e.what());
    return 1;
  }
  return 0;
}
