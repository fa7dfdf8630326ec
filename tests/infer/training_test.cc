// Training on real data: time split, a tiny-slice model that loads, priors.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <set>

#include "infer/priors.h"
#include "infer/training.h"
#include "infer/xgb_predictor.h"

namespace boxcall::infer {
namespace {
namespace fs = std::filesystem;

const fs::path kData = BOXCALL_SHARED_DATA;

#define REQUIRE_DATA()                                                            \
  if (!fs::is_directory(kData / "fastf1") || !fs::is_directory(kData / "ergast")) \
  GTEST_SKIP() << "no shared data at " << kData

TEST(Training, TimeSplitHasNoRaceInBothSets) {
  std::vector<RaceEvents> races;
  auto race = [&](const char* id, const char* source, int year, int round) {
    RaceEvents r;
    r.id = id;
    r.source = source;
    r.year = year;
    r.round = round;
    races.push_back(r);
  };
  race("2021_01_x", "ergast", 2021, 1);
  race("2022_05_y", "ergast", 2022, 5);
  race("2023_01_a", "fastf1", 2023, 1);
  race("2023_02_b", "fastf1", 2023, 2);
  race("2023_03_c", "fastf1", 2023, 3);
  const Split s = split_by_time(races, 2);
  std::set<std::string> train, val;
  for (auto i : s.train) train.insert(races[i].id);
  for (auto i : s.validation) val.insert(races[i].id);
  EXPECT_EQ(val, (std::set<std::string>{"2023_02_b", "2023_03_c"}));
  EXPECT_EQ(train, (std::set<std::string>{"2021_01_x", "2022_05_y", "2023_01_a"}));
  for (auto i : s.train) {
    for (auto j : s.validation) EXPECT_LT(races[i].order(), races[j].order());
  }
}

TEST(Training, RealRacesSplitByTime) {
  REQUIRE_DATA();
  const auto races = load_races(kData, /*with_ergast=*/false);
  ASSERT_GE(races.size(), 5U);
  const Split s = split_by_time(races, 4);
  ASSERT_EQ(s.validation.size(), 4U);
  std::set<std::string> train;
  for (auto i : s.train) train.insert(races[i].id);
  for (auto j : s.validation) {
    EXPECT_FALSE(train.contains(races[j].id));
    for (auto i : s.train) EXPECT_LT(races[i].order(), races[j].order());
  }
}

TEST(Training, TinySliceProducesALoadableModel) {
  REQUIRE_DATA();
  TrainConfig c;
  c.data_dir = kData;
  c.out_dir = fs::temp_directory_path() / ("boxcall_tiny_train_" + std::to_string(::getpid()));
  fs::remove_all(c.out_dir);
  c.with_ergast = false;
  c.max_races = 3;
  c.validation_races = 1;
  c.lap_rounds = c.pit_rounds = 10;
  c.write_priors = false;
  c.command = "training_test";
  const TrainReport r = train_models(c);
  EXPECT_EQ(r.train_races, 2U);
  EXPECT_EQ(r.validation_races, 1U);
  EXPECT_GT(r.lap_val_rows, 100U);
  EXPECT_GT(r.pit_val_rows, 100U);
  auto p = load_predictor(c.out_dir);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  EXPECT_EQ((*p)->version(), r.lap_version + "+" + r.pit_version);
  fs::remove_all(c.out_dir);
}

TEST(Priors, BahrainPitLossIsPlausible) {
  REQUIRE_DATA();
  const StrategyPriors p = build_priors(kData / "ergast");
  const CircuitPrior& bahrain = p.for_circuit("2023_01_bahrain_race");
  EXPECT_GE(bahrain.pit_loss_s, 20.0);
  EXPECT_LE(bahrain.pit_loss_s, 26.0);
  EXPECT_GT(bahrain.races, 0);
  EXPECT_GT(p.overall.safety_car_per_race, 0.1);
  EXPECT_LT(p.overall.safety_car_per_race, 3.0);

  const fs::path file = fs::temp_directory_path() / ("boxcall_priors_" + std::to_string(::getpid()) + ".json");
  save_priors(p, file);
  auto back = load_priors(file);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_NEAR(back->for_circuit("bahrain").pit_loss_s, bahrain.pit_loss_s, 1e-9);
  fs::remove(file);
  EXPECT_FALSE(load_priors(file).ok());
}

}  // namespace
}  // namespace boxcall::infer
