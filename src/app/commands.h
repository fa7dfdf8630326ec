#pragma once
/// The boxcall subcommands. main.cc wires them into one CLI11 app; each lives in
/// its own cmd_<name>.cc and returns the process exit code.
#include <CLI/CLI.hpp>
#include <functional>

namespace boxcall::app {

// Each registers a subcommand on `app`; when it is the one parsed, `run` is set to
// the function that executes it.
void register_run(CLI::App& app, std::function<int()>& run);
void register_features(CLI::App& app, std::function<int()>& run);
void register_train(CLI::App& app, std::function<int()>& run);
void register_backtest(CLI::App& app, std::function<int()>& run);
void register_replay(CLI::App& app, std::function<int()>& run);
void register_record(CLI::App& app, std::function<int()>& run);
void register_inspect(CLI::App& app, std::function<int()>& run);
void register_synth(CLI::App& app, std::function<int()>& run);
void register_config(CLI::App& app, std::function<int()>& run);
void register_ingest(CLI::App& app, std::function<int()>& run);

}  // namespace boxcall::app
