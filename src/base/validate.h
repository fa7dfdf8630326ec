#pragma once
/// Physical-range checks on decoded inputs, shared by the live path (bad
/// records go to the dead-letter topic) and the offline twins (bad records are
/// counted and skipped), so that both see the same records.
#include <optional>

#include "base/records.h"
#include "base/result.h"

namespace boxcall {

/// Speed 0-400 km/h, throttle 0-100 or the sensor error code 104, gear 0-8,
/// RPM 0-20000, DRS code 0-14, event times in 2000-2100 UTC, laps, positions,
/// tyre life and stints in range, car numbers where needed. Returns the first
/// violation found, or nullopt.
[[nodiscard]] std::optional<Error> validate(const Input& input);

}  // namespace boxcall
