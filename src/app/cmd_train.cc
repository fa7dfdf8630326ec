// boxcall train: rebuilds the default models, their metadata and priors.json
// from the shared data (docs/models.md).
#include <cstdio>
#include <string>

#include "app/commands.h"
#include "infer/training.h"

namespace boxcall::app {

void register_train(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("train", "Train the lap-time and pit models from the real-data archive");
  struct Options {
    std::string data = "../shared/data";
    std::string out = "models";
    int validation_races = 4;
    int lap_rounds = 200, pit_rounds = 200, max_depth = 4, seed = 7, nthread = 2;
    bool no_ergast = false;
  };
  auto opts = std::make_shared<Options>();
  cmd->add_option("--data", opts->data, "Shared data directory (fastf1/, ergast/)")->capture_default_str();
  cmd->add_option("--out", opts->out, "Output directory for the models, metadata and priors.json")
      ->capture_default_str();
  cmd->add_option("--validation-races", opts->validation_races, "Latest FastF1 races held out for validation")
      ->capture_default_str();
  cmd->add_option("--lap-rounds", opts->lap_rounds, "Boosting rounds of the lap-time model")->capture_default_str();
  cmd->add_option("--pit-rounds", opts->pit_rounds, "Boosting rounds of the pit model")->capture_default_str();
  cmd->add_option("--max-depth", opts->max_depth, "Tree depth")->capture_default_str();
  cmd->add_option("--seed", opts->seed, "Random seed")->capture_default_str();
  cmd->add_option("--nthread", opts->nthread, "Training threads")->capture_default_str();
  cmd->add_flag("--no-ergast", opts->no_ergast, "Train on the FastF1 laps only");
  cmd->callback([opts, &run] {
    run = [opts] {
      infer::TrainConfig c;
      c.data_dir = opts->data;
      c.out_dir = opts->out;
      c.validation_races = opts->validation_races;
      c.lap_rounds = opts->lap_rounds;
      c.pit_rounds = opts->pit_rounds;
      c.max_depth = opts->max_depth;
      c.seed = opts->seed;
      c.nthread = opts->nthread;
      c.with_ergast = !opts->no_ergast;
      c.command = "boxcall train --data " + opts->data + " --out " + opts->out + " --validation-races " +
                  std::to_string(opts->validation_races) + " --lap-rounds " + std::to_string(opts->lap_rounds) +
                  " --pit-rounds " + std::to_string(opts->pit_rounds) + " --max-depth " +
                  std::to_string(opts->max_depth) + " --seed " + std::to_string(opts->seed) +
                  (opts->no_ergast ? " --no-ergast" : "");
      const infer::TrainReport r = infer::train_models(c);
      std::printf("%s", r.table().c_str());
      std::printf("wrote %s/{lap_time,pit_3}.json, their .meta.json and priors.json\n", opts->out.c_str());
      return 0;
    };
  });
}

}  // namespace boxcall::app
