#pragma once
/// One way to log for every subcommand: spdlog on stderr (stdout stays for
/// data such as `run --print`), text or JSON lines. JSON messages are escaped
/// by a pattern flag of our own (spdlog's %v is not), and librdkafka's log
/// lines arrive through the same logger (stream/kafka_log.h).
#include <optional>
#include <string>

namespace boxcall::app {

/// The global --log-format / --log-level given on the command line (if any).
struct LogOptions {
  std::optional<std::string> format;  ///< text | json
  std::optional<std::string> level;   ///< trace, debug, info, warn, error, critical, off
};
LogOptions& command_line_log_options();

/// Creates the stderr logger (first call) and applies format and level.
/// Throws ConfigError for an unknown format or level.
void configure_logging(const std::string& format, const std::string& level);

/// Escapes `text` for a JSON string (quotes, backslashes, control characters).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace boxcall::app
