#include "app/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <set>

#include "base/result.h"

namespace boxcall::app {
namespace {

template <typename Buffer>
void escape_into(Buffer& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (u < 0x20 || u == 0x7f) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
          out.append(std::string_view(esc, sizeof esc));
        } else {
          out.push_back(c);
        }
    }
  }
}

/// %* : the message, escaped for a JSON string.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    escape_into(dest, std::string_view(msg.payload.data(), msg.payload.size()));
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

LogOptions& command_line_log_options() {
  static LogOptions options;
  return options;
}

void append_json_escaped(std::string& out, std::string_view text) { escape_into(out, text); }

void configure_logging(const std::string& format, const std::string& level) {
  if (format != "text" && format != "json") throw ConfigError("log format '" + format + "' is not one of: text, json");
  static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!kLevels.contains(level)) {
    throw ConfigError("log level '" + level + "' is not one of: trace, debug, info, warn, error, critical, off");
  }
  auto logger = spdlog::get("boxcall");
  if (!logger) {
    logger = spdlog::stderr_color_mt("boxcall");
    spdlog::set_default_logger(logger);
  }
  if (format == "json") {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<JsonMessageFlag>('*').set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v"));
  }
  logger->set_level(spdlog::level::from_str(level));
}

}  // namespace boxcall::app
