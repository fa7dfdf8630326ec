#pragma once
/// boxcall's configuration: every option of every module in one table, read
/// from a TOML file (then command-line overrides) into one validated struct,
/// and rendered as the configuration reference (docs/configuration.md) and the
/// example file (deploy/boxcall.toml) from the same table, so they cannot drift.
/// Unknown sections and keys are errors (a misspelled key never passes silently).
#include <string>

#include "app/models.h"
#include "features/session_engine.h"
#include "infer/strategy.h"
#include "stream/config.h"

namespace boxcall::app {

struct Config {
  stream::StreamConfig stream;
  features::FeatureConfig features;
  infer::StrategyConfig strategy;
  ModelsConfig models;
};

/// Reads a TOML file into `config` (keys not present keep their values).
/// Throws ConfigError with the file, key and problem in one line.
void load_toml(const std::string& path, Config& config);

/// Cross-field checks of every module. Throws ConfigError.
void validate(const Config& config);

/// The configuration reference, Markdown (docs/configuration.md).
[[nodiscard]] std::string configuration_reference();
/// A TOML file with every option at its default, commented (deploy/boxcall.toml).
[[nodiscard]] std::string example_toml();

}  // namespace boxcall::app
