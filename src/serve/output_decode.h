#pragma once
/// Decodes boxcall's own output records (features, predictions, alerts) from
/// their wire form (a verified FlatBuffer Envelope, schemas/boxcall.fbs) back
/// into base/records.h structs, for the live view. The codec in src/stream
/// decodes inputs; outputs are read only here.
#include <cstddef>
#include <span>
#include <string>

#include "base/records.h"
#include "base/result.h"

namespace boxcall::serve {

struct SessionOutput {
  std::string session;
  Output output;
};

/// Never throws: a buffer that does not verify, or holds an input record,
/// comes back as an Error.
[[nodiscard]] Result<SessionOutput> decode_output(std::span<const std::byte> value);

}  // namespace boxcall::serve
