#include "stream/output_encoding.h"

#include "base/result.h"
#include "stream/metrics.h"

namespace boxcall::stream {

std::string_view to_string(OutputEncoding e) { return e == OutputEncoding::Json ? "json" : "flatbuffers"; }

std::string_view content_type(OutputEncoding e) {
  return e == OutputEncoding::Json ? kContentTypeJson : kContentTypeFlatBuffers;
}

OutputEncoding OutputEncodings::of(OutputTopic topic) const {
  switch (topic) {
    case OutputTopic::Features:
      return features;
    case OutputTopic::Predictions:
      return predictions;
    case OutputTopic::Alerts:
      return alerts;
    case OutputTopic::DeadLetter:
      break;
  }
  return OutputEncoding::FlatBuffers;
}

OutputEncoding parse_output_encoding(std::string_view text, const std::string& where) {
  if (text == "flatbuffers") return OutputEncoding::FlatBuffers;
  if (text == "json") return OutputEncoding::Json;
  throw ConfigError(where + ": '" + std::string(text) + "' is not an output encoding (use flatbuffers or json)");
}

}  // namespace boxcall::stream
