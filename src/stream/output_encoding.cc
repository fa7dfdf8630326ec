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

void apply_output_section(const std::map<std::string, std::string>& keys, const std::string& where,
                          OutputEncodings& out) {
  for (const auto& [key, value] : keys) {
    if (key == "encoding" || key == "features_encoding" || key == "predictions_encoding" || key == "alerts_encoding") {
      continue;
    }
    if (key == "dead_letter_encoding") {
      throw ConfigError(where +
                        ".dead_letter_encoding: dead letters keep the rejected input bytes as received; they "
                        "have no output encoding");
    }
    throw ConfigError(where + "." + key +
                      ": unknown key (known: encoding, features_encoding, predictions_encoding, alerts_encoding)");
  }
  // `encoding` first, whatever the order of the file: the per-topic keys override it.
  if (auto it = keys.find("encoding"); it != keys.end()) {
    out.set_all(parse_output_encoding(it->second, where + ".encoding"));
  }
  for (auto [key, field] :
       {std::pair{"features_encoding", &out.features}, std::pair{"predictions_encoding", &out.predictions},
        std::pair{"alerts_encoding", &out.alerts}}) {
    if (auto it = keys.find(key); it != keys.end()) *field = parse_output_encoding(it->second, where + "." + key);
  }
}

}  // namespace boxcall::stream
