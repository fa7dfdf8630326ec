#pragma once
/// A source of decoded input records for one session, in event-time order.
/// Implementations: FastF1 exports (fastf1_reader.h), the synthetic race
/// (synth.h); later the live-timing adapter and recordings. Kafka-free: the
/// stream layer encodes and publishes, the offline twins feed engines directly.
#include <optional>
#include <string>

#include "base/records.h"

namespace boxcall::sources {

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  /// The session id every record of this source belongs to (the Kafka key).
  [[nodiscard]] virtual const std::string& session_id() const = 0;
  /// The next record in non-decreasing event time, or nullopt at the end.
  [[nodiscard]] virtual std::optional<Input> next() = 0;
};

}  // namespace boxcall::sources
