#pragma once
/// How boxcall writes its output records, per output topic, and the headers
/// that let any consumer tell (docs/wire-contract.md, "Reading boxcall's outputs").
///
/// Every feature, prediction and alert record carries two headers:
///   content-type            kContentTypeFlatBuffers or kContentTypeJson
///   boxcall.schema.version  the wire schema version ("1")
/// Dead letters are the rejected input bytes, untouched: they have no encoding
/// of boxcall's and carry only the `boxcall.*` reason and source headers.
#include <cstdint>
#include <string>
#include <string_view>

namespace boxcall::stream {

enum class OutputTopic : std::uint8_t;

enum class OutputEncoding : std::uint8_t {
  FlatBuffers,  ///< the `Envelope` FlatBuffer (file identifier BXC1); the default
  Json,         ///< its JSON form (Codec::to_json): one JSON object per record
};

/// The wire schema version written in every Envelope and in kSchemaVersionHeader.
inline constexpr std::uint16_t kWireSchemaVersion = 1;

inline constexpr std::string_view kContentTypeHeader = "content-type";
inline constexpr std::string_view kSchemaVersionHeader = "boxcall.schema.version";
inline constexpr std::string_view kContentTypeFlatBuffers =
    "application/x-flatbuffers; schema=boxcall.wire.Envelope; version=1";
inline constexpr std::string_view kContentTypeJson = "application/json; schema=boxcall.wire.Envelope; version=1";
inline constexpr std::string_view kSchemaVersionText = "1";

/// "flatbuffers" or "json" (the configuration's words).
std::string_view to_string(OutputEncoding e);
/// The exact content-type header value of records in this encoding.
std::string_view content_type(OutputEncoding e);

/// The encoding of each output topic ([output] in the TOML file).
struct OutputEncodings {
  OutputEncoding features = OutputEncoding::FlatBuffers;
  OutputEncoding predictions = OutputEncoding::FlatBuffers;
  OutputEncoding alerts = OutputEncoding::FlatBuffers;
  /// Dead letters are never re-encoded: FlatBuffers here means "as received".
  [[nodiscard]] OutputEncoding of(OutputTopic topic) const;
  /// Every output topic in `e` (the command line's --output-encoding).
  void set_all(OutputEncoding e) { features = predictions = alerts = e; }
};

/// Parses "flatbuffers" or "json"; throws ConfigError "<where>: '<text>' is not ..." otherwise.
OutputEncoding parse_output_encoding(std::string_view text, const std::string& where);

}  // namespace boxcall::stream
