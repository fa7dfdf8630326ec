#pragma once
/// The pure pieces of the per-lap feature definitions (docs/features.md),
/// shared by the live engine and the offline twin and pinned by unit tests.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/records.h"
#include "features/race.h"

namespace boxcall::features {

/// DRS codes that mean "flap open" in F1 car data (8 is "eligible", closed).
[[nodiscard]] constexpr bool drs_open(std::uint8_t code) { return code == 10 || code == 12 || code == 14; }

/// Throttle readings outside [0, 100] (104 is a known sensor error value)
/// are excluded from the throttle features and counted.
[[nodiscard]] constexpr bool throttle_valid(float throttle) { return throttle >= 0.0F && throttle <= 100.0F; }

/// "Full throttle" is throttle >= 99 (sensor noise keeps it below 100).
[[nodiscard]] constexpr bool full_throttle(float throttle) { return throttle >= 99.0F; }

/// True when a FastF1 TrackStatus string ("1", "12", "267" ...) holds only
/// green ("1"). An empty string (unknown) is not green.
[[nodiscard]] bool green_only(std::string_view track_status);

/// Estimated fuel on board after `lap` laps: start * (1 - lap / scheduled).
[[nodiscard]] inline double fuel_kg_est(std::int32_t lap, std::int32_t scheduled_laps,
                                        double fuel_start_kg = kFuelStartKg) {
  return fuel_start_kg * (1.0 - static_cast<double>(lap) / static_cast<double>(scheduled_laps));
}

/// Least-squares slope of y against x (Eigen, on centred data). Empty when
/// fewer than two points or all x are equal.
[[nodiscard]] std::optional<double> least_squares_slope(std::span<const double> x, std::span<const double> y);

}  // namespace boxcall::features
