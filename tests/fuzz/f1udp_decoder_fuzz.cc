// libFuzzer target: the F1 game UDP decoder (src/sources/f1udp/decoder.cc).
// An input is a stream of datagrams, each prefixed by its length (uint16
// little-endian), decoded in order by one Decoder, then flushed, so the fuzzer
// reaches the stateful paths (sessions, identity hold, laps, flashbacks) too.
// Every record released must carry a session and finite numbers. The seed corpus
// (corpus/f1udp_decoder/) holds spec-built packets of every type in the three formats.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sources/f1udp/decoder.h"

using namespace boxcall;
using namespace boxcall::sources::f1udp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Decoder decoder;
  std::vector<KeyedInput> out;
  std::size_t at = 0;
  TimeNs arrival = 1'700'000'000LL * kNsPerSecond;
  while (at + 2 <= size) {
    std::uint16_t len = 0;
    std::memcpy(&len, data + at, 2);
    at += 2;
    len = static_cast<std::uint16_t>(std::min<std::size_t>(len, size - at));
    // A copy of exactly `len` bytes: ASan sees any read past the datagram.
    std::vector<std::byte> datagram(len);
    if (len) std::memcpy(datagram.data(), data + at, len);
    at += len;
    (void)decoder.decode(datagram, arrival, out);
    arrival += 16'666'667;
  }
  decoder.flush(out);
  for (const auto& k : out) {
    if (!k.session || k.session->empty()) std::abort();
    if (const auto* s = std::get_if<TelemetrySample>(&k.input)) {
      // Values pass as the game sent them (the processor validates ranges), but never NaN or infinite.
      if (!std::isfinite(s->throttle) || !std::isfinite(s->speed_kph) || s->gear < 0) std::abort();
      if (s->x && !std::isfinite(*s->x)) std::abort();
      if (s->distance_m && !std::isfinite(*s->distance_m)) std::abort();
    }
  }
  return 0;
}
