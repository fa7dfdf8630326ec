#include "stream/kafka_log.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <string_view>

namespace boxcall::stream {
namespace {

std::mutex auth_mutex;
std::map<std::string, std::string, std::less<>> auth_failures;  // by client name (unique in a process)

bool is_auth_failure(std::string_view fac, std::string_view text) {
  if (fac != "FAIL" && fac != "ERROR") return false;
  for (std::string_view what : {"SASL authentication error", "Authentication failed", "SSL handshake failed",
                                "certificate verify failed", "SASL SCRAM", "SSL transport error"}) {
    if (text.find(what) != std::string_view::npos) return true;
  }
  return false;
}

spdlog::level::level_enum level_of(int syslog_level) {
  if (syslog_level <= 2) return spdlog::level::critical;
  if (syslog_level == 3) return spdlog::level::err;
  if (syslog_level == 4) return spdlog::level::warn;
  if (syslog_level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

// Called on librdkafka's threads; spdlog's loggers are thread-safe.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  if (rk && fac && buf && is_auth_failure(fac, buf)) {
    std::lock_guard lock(auth_mutex);
    auth_failures.insert_or_assign(std::string(rd_kafka_name(rk)), std::string(buf));
  }
  spdlog::log(level_of(level), "rdkafka {} {}: {}", rk ? rd_kafka_name(rk) : "-", fac ? fac : "", buf ? buf : "");
}

}  // namespace

void route_kafka_logs_to_spdlog(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, &log_to_spdlog); }

std::optional<std::string> last_auth_failure(const rd_kafka_t* rk) {
  std::lock_guard lock(auth_mutex);
  auto it = auth_failures.find(std::string_view(rd_kafka_name(rk)));
  if (it == auth_failures.end()) return std::nullopt;
  return it->second;
}

}  // namespace boxcall::stream
