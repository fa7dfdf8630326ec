#pragma once
/// `boxcall run`'s view of itself: the live view fed by acknowledged outputs,
/// the HTTP port (page, API, SSE, /metrics), the broker probe behind /readyz
/// and the terminal summary. Hooks into the runner through
/// RunOptions::on_acked only.
#include <array>
#include <filesystem>
#include <memory>
#include <string>

#include "serve/feed.h"
#include "serve/http_server.h"
#include "serve/live_view.h"
#include "serve/terminal_summary.h"
#include "stream/broker_probe.h"
#include "stream/config.h"
#include "stream/metrics.h"
#include "stream/runner.h"

namespace boxcall::app {

struct LiveServingOptions {
  std::string address;  ///< empty: no HTTP port
  std::filesystem::path web_root;
  std::filesystem::path models_dir;
  std::string models_fallback;
  std::string version;
  std::FILE* summary = nullptr;  ///< where the compact live summary goes (nullptr: none)
  bool summary_color = false;
  /// /readyz: every assigned partition's lag at most this many records.
  double ready_max_lag = 1000;
};

/// What `run`'s command line says about the live view.
struct LiveServingArgs {
  std::string web_root;  ///< --web-root; empty: <prefix>/share/boxcall/web
  bool summary = false;  ///< --summary
  bool no_summary = false;
  bool printing = false;  ///< --print (stdout carries outputs)
};

/// Resolves the page's files (warns when there are none), where the summary goes
/// (a terminal by default) and the rest. Throws ConfigError for a bad --web-root.
LiveServingOptions live_serving_options(const stream::StreamConfig& config, const std::string& models_dir,
                                        const std::string& models_fallback, const LiveServingArgs& args);

/// --print's topic list ("" = every output topic). Throws ConfigError.
std::array<bool, stream::kOutputTopics> parse_print_topics(const std::string& list);

/// Fails fast (ConfigError, one line with the system's reason) when `address`
/// ("host:port") cannot be listened on: checked before any other work starts.
void check_listen_address(const std::string& address);

class LiveServing {
 public:
  /// Throws ConfigError when the HTTP address cannot be served. Logs the page's URL.
  LiveServing(const stream::StreamConfig& config, stream::StreamMetrics& metrics, LiveServingOptions options);
  ~LiveServing();

  /// Sets RunOptions::on_acked to feed the live view.
  void attach(stream::RunOptions& run);
  /// The page's URL, or empty without an HTTP port.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] bool shows_summary() const { return summary_ != nullptr; }

 private:
  std::vector<serve::ReadinessCheck> readiness() const;

  stream::StreamMetrics& metrics_;
  LiveServingOptions options_;
  serve::LiveView view_;
  std::unique_ptr<stream::BrokerProbe> probe_;
  std::unique_ptr<serve::HttpServer> server_;
  std::unique_ptr<serve::TerminalSummary> summary_;
  std::unique_ptr<serve::LiveFeed> feed_;  // last: destroyed first, so nothing calls the listeners after
};

}  // namespace boxcall::app
