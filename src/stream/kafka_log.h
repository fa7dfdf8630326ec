#pragma once
/// librdkafka's own log lines, routed into spdlog (so `--log-format json`
/// stays JSON): syslog levels 0-2 -> critical, 3 -> error, 4 -> warn,
/// 5-6 -> info, 7 -> debug. Set on every KafkaConf (kafka.cc).
#include <librdkafka/rdkafka.h>

namespace boxcall::stream {

void route_kafka_logs_to_spdlog(rd_kafka_conf_t* conf);

}  // namespace boxcall::stream
