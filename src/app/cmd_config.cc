// `boxcall config`: the configuration reference and an example file, both
// generated from the option table (app/config.h), and a check of a file.
#include <iostream>
#include <memory>

#include "app/commands.h"
#include "app/config.h"

namespace boxcall::app {

void register_config(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("config", "Configuration: the reference, an example file, or check a file.");
  cmd->require_subcommand(1);
  cmd->add_subcommand("reference", "Print the configuration reference (Markdown, docs/configuration.md)")
      ->callback([&run] {
        run = [] {
          std::cout << configuration_reference();
          return 0;
        };
      });
  cmd->add_subcommand("example", "Print a TOML file with every option at its default (deploy/boxcall.toml)")
      ->callback([&run] {
        run = [] {
          std::cout << example_toml();
          return 0;
        };
      });
  auto file = std::make_shared<std::string>();
  auto* check = cmd->add_subcommand("check", "Read a TOML file as `run --config` does and report the first problem");
  check->add_option("file", *file, "TOML configuration file")->required()->check(CLI::ExistingFile);
  check->callback([&run, file] {
    run = [file] {
      Config config;
      load_toml(*file, config);
      validate(config);
      std::cout << *file << ": ok\n";
      return 0;
    };
  });
}

}  // namespace boxcall::app
