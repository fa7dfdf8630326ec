#pragma once
/// Decodes boxcall's own output records (features, predictions, alerts) from
/// their wire form (a verified FlatBuffer Envelope, schemas/boxcall.fbs) back
/// into base/records.h structs, for the live view. The codec in src/stream
/// decodes inputs; outputs are read only here.
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "base/records.h"
#include "base/result.h"

namespace boxcall::serve {

struct SessionOutput {
  std::string session;
  Output output;
};

/// A FlatBuffer Envelope. Never throws: a buffer that does not verify, or holds
/// an input record, comes back as an Error.
[[nodiscard]] Result<SessionOutput> decode_output(std::span<const std::byte> value);

/// Either wire form of an output: the FlatBuffer Envelope, or its JSON form
/// (an output topic with `[output]` encoding json). One per thread: it keeps
/// a FlatBuffers JSON parser (made on the first JSON record).
class OutputDecoder {
 public:
  OutputDecoder();
  ~OutputDecoder();
  OutputDecoder(const OutputDecoder&) = delete;
  OutputDecoder& operator=(const OutputDecoder&) = delete;
  [[nodiscard]] Result<SessionOutput> decode(std::span<const std::byte> value);

 private:
  struct Json;
  std::unique_ptr<Json> json_;
};

}  // namespace boxcall::serve
