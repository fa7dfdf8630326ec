#pragma once
/// Error policy, written down once:
///  - start-up and configuration errors throw `ConfigError` (one clear line,
///    caught in main, exit code 2);
///  - on the hot path (poll, decode, update state, score, produce) errors are
///    values: functions return `Result<T>`, and a bad record becomes a counted
///    outcome with a `Reason` that sends it, untouched, to the dead-letter topic.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace boxcall {

/// Why an input record could not contribute to state. Bounded set: each value
/// is a metrics label and the `boxcall.reason` dead-letter header.
enum class Reason : unsigned char {
  MalformedFlatbuffer,
  WrongSchemaVersion,
  MalformedJson,
  UnknownMessageType,
  WrongTopic,  ///< e.g. a timing event on the telemetry topic
  MissingField,
  OutOfRange,         ///< a value outside its physical range
  TimeWentBackwards,  ///< session time decreasing for a car beyond tolerance
  Late,               ///< behind the session watermark by more than the allowed lateness
  MissingKey,
  KeyMismatch,          ///< record key differs from the session in the payload
  EventTimeOutOfRange,  ///< event time impossibly far ahead of the session or of this machine's clock
  ProcessingCrashed,    ///< boxcall crashed while processing it; skipped on restart (docs/operations.md)
  MalformedPacket,      ///< a binary input packet (F1 game UDP) of unknown format or type, or of the wrong length
  kCount
};

[[nodiscard]] std::string_view to_string(Reason r);

struct Error {
  Reason reason;
  std::string detail;  ///< human-readable, e.g. "speed_kph=512 outside [0, 400]"
};

/// A value or an `Error`; cheap to move, must be looked at.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Thrown only at start-up: bad configuration, unreachable broker, bad model file.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::MalformedFlatbuffer:
      return "malformed_flatbuffer";
    case Reason::WrongSchemaVersion:
      return "wrong_schema_version";
    case Reason::MalformedJson:
      return "malformed_json";
    case Reason::UnknownMessageType:
      return "unknown_message_type";
    case Reason::WrongTopic:
      return "wrong_topic";
    case Reason::MissingField:
      return "missing_field";
    case Reason::OutOfRange:
      return "out_of_range";
    case Reason::TimeWentBackwards:
      return "time_went_backwards";
    case Reason::Late:
      return "late";
    case Reason::MissingKey:
      return "missing_key";
    case Reason::KeyMismatch:
      return "key_mismatch";
    case Reason::EventTimeOutOfRange:
      return "event_time_out_of_range";
    case Reason::ProcessingCrashed:
      return "processing_crashed";
    case Reason::MalformedPacket:
      return "malformed_packet";
    case Reason::kCount:
      break;
  }
  return "unknown";
}

}  // namespace boxcall
