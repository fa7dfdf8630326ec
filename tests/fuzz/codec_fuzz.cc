// libFuzzer target: any bytes as a Kafka record value, through the decoder the
// live path uses (FlatBuffers or JSON), validation and a re-encode round trip.
// Nothing may crash, leak or read out of bounds (built with ASan+UBSan); what
// decodes must encode and decode again to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "base/validate.h"
#include "stream/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static boxcall::stream::Codec codec;
  static boxcall::stream::Codec second;
  auto decoded = codec.decode(std::as_bytes(std::span(data, size)));
  if (!decoded) return 0;
  (void)boxcall::validate(decoded->input);
  const std::string session(decoded->session);
  auto once = codec.encode(session, decoded->input);
  const std::vector<std::uint8_t> first(once.begin(), once.end());
  auto again = second.decode(std::as_bytes(std::span(first)));
  if (!again) std::abort();  // what boxcall writes, boxcall must read
  auto twice = second.encode(session, again->input);
  if (std::vector<std::uint8_t>(twice.begin(), twice.end()) != first) std::abort();
  return 0;
}
