#pragma once
/// boxcall's one HTTP port: the pit-wall page (static files), the query and
/// health API, live updates as Server-Sent Events, and Prometheus /metrics.
/// Boost.Beast on its own io_context thread; it reads the LiveView (never the
/// processing loop). Routes and JSON shapes: docs/openapi.yaml.
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "serve/live_view.h"

namespace boxcall::serve {

/// One readiness condition (/readyz).
struct ReadinessCheck {
  std::string name;
  bool ok = false;
  std::string detail;
};

struct ServerOptions {
  /// "host:port"; port 0 picks a free one. Default: loopback only.
  std::string address = "127.0.0.1:9464";
  /// The page's files (index.html, app.js, style.css); empty or missing: the
  /// API still works and / answers 404 with the reason.
  std::filesystem::path web_root;
  /// Model directory whose *.meta.json /models lists; empty: none loaded.
  std::filesystem::path models_dir;
  /// What predicts when there is no model directory: "rules" or "none" (/models).
  std::string models_fallback = "none";
  std::string version;
  /// Evaluated on the server thread for every /readyz; keep it cheap.
  std::function<std::vector<ReadinessCheck>()> readiness;
  /// Served as /metrics (prometheus text format); the server adds its own metrics to it.
  std::shared_ptr<prometheus::Registry> registry;
  std::size_t max_event_clients = 64;
  std::chrono::milliseconds heartbeat{15000};
};

class HttpServer {
 public:
  /// Binds and starts serving on its own thread. Throws ConfigError when the
  /// address is bad or taken.
  HttpServer(LiveView& view, ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  /// "http://host:port/" as a browser on this machine would open it.
  [[nodiscard]] std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "host:port" -> (host, port). Throws ConfigError.
std::pair<std::string, std::uint16_t> split_address(const std::string& address, const std::string& what);

}  // namespace boxcall::serve
