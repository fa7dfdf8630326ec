// boxcall: a thin main that wires the subcommands together.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>

#include "app/commands.h"
#include "app/logging.h"
#include "base/result.h"

namespace {

int boxcall_main(int argc, char** argv) {
  CLI::App app{
      "boxcall: a low-latency streaming telemetry processor for motorsport race strategy.\n"
      "Consumes car telemetry and timing from Kafka, keeps per-car state for every session,\n"
      "and publishes live features, strategy predictions and alerts.\n",
      "boxcall"};
  app.set_version_flag("--version", std::string("boxcall ") + BOXCALL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options (logging) may follow the subcommand
  auto& log = boxcall::app::command_line_log_options();
  app.add_option("--log-format", log.format, "Logs on stderr as text (default) or json (one object per line)");
  app.add_option("--log-level", log.level, "trace, debug, info (default), warn, error, critical, off");
  std::function<int()> run;
  boxcall::app::register_run(app, run);
  boxcall::app::register_features(app, run);
  boxcall::app::register_replay(app, run);
  boxcall::app::register_record(app, run);
  boxcall::app::register_inspect(app, run);
  boxcall::app::register_synth(app, run);
  boxcall::app::register_ingest(app, run);
  boxcall::app::register_train(app, run);
  boxcall::app::register_backtest(app, run);
  boxcall::app::register_config(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --version
  } catch (const CLI::ParseError& e) {
    // Usage errors: one line, the same prefix and exit code as any configuration error.
    std::fprintf(stderr, "boxcall: error: %s (see boxcall --help)\n", e.what());
    return 2;
  }
  try {
    // Every subcommand logs the same way, to stderr (run applies its configuration file on top).
    boxcall::app::configure_logging(log.format.value_or("text"), log.level.value_or("info"));
    return run ? run() : 2;
  } catch (const boxcall::ConfigError& e) {
    std::fprintf(stderr, "boxcall: error: %s\n", e.what());
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return boxcall_main(argc, argv);
  } catch (const std::exception& e) {
    // A defect, not a configuration error: say what it was, then abort as an escaped exception would
    // (the crash marker's signal handler records the record being processed: docs/operations.md).
    std::fprintf(stderr, "boxcall: fatal: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fputs("boxcall: fatal: unknown exception\n", stderr);
    std::abort();
  }
}
