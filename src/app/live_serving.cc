#include "app/live_serving.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "app/paths.h"

namespace boxcall::app {

LiveServingOptions live_serving_options(const stream::StreamConfig& config, const std::string& models_dir,
                                        const std::string& models_fallback, const LiveServingArgs& args) {
  LiveServingOptions o;
  o.address = config.metrics_address;
  o.models_dir = models_dir;
  o.models_fallback = models_fallback;
  o.version = BOXCALL_VERSION;
  if (!args.web_root.empty()) {
    if (!std::filesystem::is_directory(args.web_root)) {
      throw ConfigError("--web-root " + args.web_root + " is not a directory");
    }
    o.web_root = args.web_root;
  } else if (auto web = find_share_dir("web")) {
    o.web_root = *web;
  } else if (!o.address.empty()) {
    spdlog::warn("the page's files were not found (looked in {}): no page, the API and /metrics still work",
                 joined(share_candidates("web")));
  }
  // The compact live summary: on a terminal by default, unless outputs are printed.
  if (args.summary || (!args.no_summary && !args.printing && ::isatty(STDOUT_FILENO))) {
    o.summary = args.printing ? stderr : stdout;
    o.summary_color = ::isatty(fileno(o.summary)) != 0;
  }
  return o;
}

std::array<bool, stream::kOutputTopics> parse_print_topics(const std::string& list) {
  std::array<bool, stream::kOutputTopics> on{};
  if (list.empty()) {
    on.fill(true);
    return on;
  }
  std::size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(pos, comma - pos);
    if (name == "dead_letter") name = "dead-letter";
    bool known = false;
    for (std::size_t t = 0; t < stream::kOutputTopics; ++t) {
      if (stream::to_string(static_cast<stream::OutputTopic>(t)) == name) on[t] = known = true;
    }
    if (!known) {
      throw ConfigError("--print: '" + name + "' is not an output (features, predictions, alerts, dead-letter)");
    }
    pos = comma + 1;
  }
  return on;
}

LiveServing::LiveServing(const stream::StreamConfig& config, stream::StreamMetrics& metrics, LiveServingOptions options)
    : metrics_(metrics), options_(std::move(options)) {
  if (!options_.address.empty()) {
    probe_ = std::make_unique<stream::BrokerProbe>(config);
    serve::ServerOptions so;
    so.address = options_.address;
    so.web_root = options_.web_root;
    so.models_dir = options_.models_dir;
    so.models_fallback = options_.models_fallback;
    so.version = options_.version;
    so.registry = metrics.registry_ptr();
    so.readiness = [this] { return readiness(); };
    server_ = std::make_unique<serve::HttpServer>(view_, std::move(so));
  }
  if (options_.summary) {
    serve::SummaryOptions so;
    so.color = options_.summary_color;
    summary_ = std::make_unique<serve::TerminalSummary>(view_, options_.summary, so);
  }
  feed_ = std::make_unique<serve::LiveFeed>(view_, &metrics.registry());
  if (server_) {
    spdlog::info("pit wall: {}  (API: /sessions /healthz /readyz /models; metrics on {}metrics)", url(), url());
  }
}

LiveServing::~LiveServing() {
  feed_.reset();  // stop applying (and calling listeners) before they go
  summary_.reset();
  server_.reset();
  probe_.reset();
}

void LiveServing::attach(stream::RunOptions& run) {
  run.on_acked = [feed = feed_.get()](stream::OutputTopic, std::span<const std::byte> value) { feed->push(value); };
}

std::string LiveServing::url() const { return server_ ? server_->url() : std::string(); }

std::vector<serve::ReadinessCheck> LiveServing::readiness() const {
  std::vector<serve::ReadinessCheck> checks;
  const double assigned = metrics_.assigned_partitions();
  checks.push_back({"partitions_assigned", assigned > 0,
                    assigned > 0 ? fmt::format("{} input partition(s) assigned", assigned)
                                 : "no input partition assigned yet (joining the consumer group)"});
  // State is restored once the consumer has read up to the end of its partitions (the
  // sessions' state is rebuilt by re-reading them): lag from boxcall_consumer_lag_records.
  double max_lag = -1;
  for (const auto& family : metrics_.registry().Collect()) {
    if (family.name != "boxcall_consumer_lag_records") continue;
    for (const auto& m : family.metric) max_lag = std::max(max_lag, m.gauge.value);
  }
  const bool restored = assigned > 0 && max_lag >= 0 && max_lag <= options_.ready_max_lag;
  checks.push_back({"state_restored", restored,
                    max_lag < 0 ? std::string("consumer lag not measured yet")
                                : fmt::format("largest partition lag {} record(s) (ready at <= {})", max_lag,
                                              options_.ready_max_lag)});
  auto broker = probe_ ? probe_->status() : stream::BrokerProbe::Status{false, "no probe"};
  checks.push_back({"broker_reachable", broker.reachable, broker.detail});
  return checks;
}

void check_listen_address(const std::string& address) {
  if (address.empty()) return;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw ConfigError("HTTP address '" + address + "': expected host:port");
  const std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    throw ConfigError("cannot serve HTTP on " + address + ": " + ::gai_strerror(rc));
  }
  std::string problem;
  const int fd = ::socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0) problem = std::strerror(errno);
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(res);
  if (!problem.empty()) {
    throw ConfigError("cannot serve HTTP on " + address + ": " + problem +
                      " (set --http host:port, or --http '' to turn the page, API and /metrics off)");
  }
}

}  // namespace boxcall::app
