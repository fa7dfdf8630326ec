#pragma once
/// Parsing of the time texts found in FastF1 exports and live-timing feeds.
#include <optional>
#include <string>
#include <string_view>

#include "base/records.h"

namespace boxcall {

/// pandas Timedelta text ("0 days 01:04:15.961000", "-1 days +23:59:59.5"),
/// or plain "HH:MM:SS[.fff]" / "MM:SS.fff" / "SS.fff". Empty -> nullopt.
[[nodiscard]] std::optional<TimeNs> parse_timedelta(std::string_view text);

/// "2023-03-05 15:03:38.501" or ISO 8601 "2023-03-05T15:03:38.501Z" as UTC.
[[nodiscard]] std::optional<TimeNs> parse_utc_datetime(std::string_view text);

/// "2023-03-05T15:03:38.501000000Z"
[[nodiscard]] std::string format_utc_datetime(TimeNs t);

}  // namespace boxcall
