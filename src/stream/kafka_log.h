#pragma once
/// librdkafka's own log lines, routed into spdlog (so `--log-format json`
/// stays JSON): syslog levels 0-2 -> critical, 3 -> error, 4 -> warn,
/// 5-6 -> info, 7 -> debug. Set on every KafkaConf (kafka.cc).
#include <librdkafka/rdkafka.h>

#include <optional>
#include <string>

namespace boxcall::stream {

void route_kafka_logs_to_spdlog(rd_kafka_conf_t* conf);

/// The last authentication failure (SASL credentials rejected, TLS handshake
/// or certificate failure) that librdkafka logged for client `rk`, as it said
/// it (librdkafka never puts a password in these lines); nullopt if none.
/// Lets start-up say "rejected the credentials" instead of "cannot reach".
[[nodiscard]] std::optional<std::string> last_auth_failure(const rd_kafka_t* rk);

}  // namespace boxcall::stream
