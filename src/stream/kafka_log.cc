#include "stream/kafka_log.h"

#include <spdlog/spdlog.h>

namespace boxcall::stream {
namespace {

spdlog::level::level_enum level_of(int syslog_level) {
  if (syslog_level <= 2) return spdlog::level::critical;
  if (syslog_level == 3) return spdlog::level::err;
  if (syslog_level == 4) return spdlog::level::warn;
  if (syslog_level <= 6) return spdlog::level::info;
  return spdlog::level::debug;
}

// Called on librdkafka's threads; spdlog's loggers are thread-safe.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  spdlog::log(level_of(level), "rdkafka {} {}: {}", rk ? rd_kafka_name(rk) : "-", fac ? fac : "", buf ? buf : "");
}

}  // namespace

void route_kafka_logs_to_spdlog(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, &log_to_spdlog); }

}  // namespace boxcall::stream
