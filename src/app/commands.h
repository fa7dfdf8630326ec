#pragma once
/// The boxcall subcommands. main.cc wires them into one CLI11 app; each lives in
/// its own cmd_<name>.cc and returns the process exit code.
#include <CLI/CLI.hpp>
#include <functional>

namespace boxcall::app {

/// Registers a subcommand on `app`; `run` is set to the function that executes it.
using Register = void (*)(CLI::App& app, std::function<int()>& run);

void register_run(CLI::App& app, std::function<int()>& run);
void register_features(CLI::App& app, std::function<int()>& run);

}  // namespace boxcall::app
