#pragma once
/// The wire codec: Kafka record values <-> decoded records (base/records.h).
///
/// Inputs arrive as FlatBuffers `Envelope`s (verified before any read) or as
/// their JSON form; outputs are encoded as FlatBuffers, then rendered in each
/// output topic's encoding (render(), output_encoding.h). One Codec per thread:
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
#include "stream/output_encoding.h"

namespace boxcall::stream {

/// A decoded input. `session` views memory owned by the decoded buffer or by
/// the codec: valid until the next decode() on the same codec.
struct DecodedInput {
  std::string_view session;
  Input input;
};

/// An output record value in its topic's encoding, with the header values it carries.
struct RenderedOutput {
  /// The envelope itself (FlatBuffers) or the codec's JSON buffer: valid until
  /// the envelope's memory or the next render() on the same codec goes.
  std::span<const std::uint8_t> value;
  std::string_view content_type;    ///< for kContentTypeHeader
  std::string_view schema_version;  ///< for kSchemaVersionHeader
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

  /// An encoded output Envelope (encode()) as the record value of a topic in
  /// `encoding`. Verifies first; an Error only for a buffer that is not an Envelope.
  [[nodiscard]] Result<RenderedOutput> render(std::span<const std::uint8_t> envelope, OutputEncoding encoding);

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
