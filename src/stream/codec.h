#pragma once
/// The wire codec: Kafka record values <-> decoded records (base/records.h).
///
/// Inputs arrive as FlatBuffers `Envelope`s (verified before any read) or as
/// their JSON form; outputs are written as FlatBuffers. One Codec per thread:
/// it owns reusable builders, so encode/decode allocate little on the hot path.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/records.h"
#include "base/result.h"

namespace boxcall::stream {

/// A decoded input. `session` views memory owned by the decoded buffer or by
/// the codec: valid until the next decode() on the same codec.
struct DecodedInput {
  std::string_view session;
  Input input;
};

class Codec {
 public:
  Codec();
  ~Codec();
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  /// Decodes one record value (FlatBuffer or JSON). Never throws: malformed
  /// input comes back as an Error with its Reason.
  [[nodiscard]] Result<DecodedInput> decode(std::span<const std::byte> value);

  /// Encodes into the codec's builder; the span is valid until the next encode.
  [[nodiscard]] std::span<const std::uint8_t> encode(std::string_view session, const Input& input);
  [[nodiscard]] std::span<const std::uint8_t> encode(std::string_view session, const Output& output);

  /// The JSON form of an Envelope buffer (one line). Verifies first.
  [[nodiscard]] Result<std::string> to_json(std::span<const std::byte> flatbuffer);
  /// An Envelope FlatBuffer from its JSON form.
  [[nodiscard]] Result<std::vector<std::uint8_t>> from_json(std::string_view json);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

inline std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}
inline std::span<const std::byte> as_bytes(std::span<const std::uint8_t> s) { return std::as_bytes(s); }

}  // namespace boxcall::stream
