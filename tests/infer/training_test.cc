// Training on real data: time split, a tiny-slice model that loads, priors.
#include <gtest/gtest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
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

std::string file_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Training, TheShippedModelsAreWhatTheDocumentedCommandBuilds) {
  // docs/models.md: `boxcall train --data ../shared/data --out models` rebuilds models/ byte for byte.
  // A change to the feature engine or the training rows that is not followed by a retrain fails here.
  REQUIRE_DATA();
  TrainConfig c;
  c.data_dir = kData;
  c.out_dir = fs::temp_directory_path() / ("boxcall_full_train_" + std::to_string(::getpid()));
  fs::remove_all(c.out_dir);
  c.command = "training_test";
  const TrainReport r = train_models(c);
  const fs::path shipped = fs::path(BOXCALL_SOURCE_DIR) / "models";
  for (const char* name : {"lap_time.json", "pit_3.json", "priors.json"}) {
    const std::string built = file_bytes(c.out_dir / name);
    ASSERT_FALSE(built.empty()) << name;
    EXPECT_TRUE(built == file_bytes(shipped / name))
        << name << " differs from the shipped one: retrain with `boxcall train --data ../shared/data --out models`"
        << " and update docs/models.md (" << r.lap_version << ", " << r.pit_version << ")";
  }
  // The metadata's behaviour-bearing number (the rest is provenance: command, paths).
  const auto meta = nlohmann::json::parse(file_bytes(metadata_path(shipped / "lap_time.json")));
  EXPECT_DOUBLE_EQ(meta.value("next_lap_shrink", -1.0), r.lap_shrink);
  fs::remove_all(c.out_dir);
}

LapRecord record(std::int32_t lap, Compound compound, std::int32_t age, bool new_stint) {
  LapRecord r;
  r.ctx.lap.lap = lap;
  r.ctx.lap.compound = compound;
  r.ctx.lap.tyre_age = age;
  r.ctx.new_stint = new_stint;
  return r;
}

TEST(TyreLife, StintLengthsAreTheTyreAgeAtEachStintsLastLap) {
  // Car 1: 12 laps on softs, 20 on mediums, then 2 laps on hards (too short: not wear-limited).
  // Car 2: a used soft set (age 4 at the start) for 10 laps, then hards to the flag (25 laps).
  std::vector<LapRecord> one, two;
  for (int l = 1; l <= 12; ++l) one.push_back(record(l, Compound::Soft, l, false));
  for (int l = 13; l <= 32; ++l) one.push_back(record(l, Compound::Medium, l - 12, l == 13));
  for (int l = 33; l <= 34; ++l) one.push_back(record(l, Compound::Hard, l - 32, l == 33));
  for (int l = 1; l <= 10; ++l) two.push_back(record(l, Compound::Soft, 3 + l, false));
  for (int l = 11; l <= 35; ++l) two.push_back(record(l, Compound::Hard, l - 10, l == 11));
  std::array<std::vector<double>, 3> lengths;
  add_stint_lengths({one, two}, lengths);
  EXPECT_EQ(lengths[0], (std::vector<double>{12, 13}));
  EXPECT_EQ(lengths[1], (std::vector<double>{20}));
  EXPECT_EQ(lengths[2], (std::vector<double>{25}));
}

TEST(TyreLife, QuantileInterpolatesAndNeedsEnoughStints) {
  std::array<std::vector<double>, 3> lengths{std::vector<double>{20, 10, 30, 40, 50},
                                             std::vector<double>{8, 8, 8, 8, 9}, std::vector<double>{30}};
  const auto life = usable_tyre_life(lengths, 0.4, /*min_stints=*/5);
  EXPECT_DOUBLE_EQ(life[0], 26.0) << "0.4 x 4 = 1.6: 20 + 0.6 x (30 - 20)";
  EXPECT_DOUBLE_EQ(life[1], 8.0);
  EXPECT_DOUBLE_EQ(life[2], 0.0) << "one stint: unknown";
}

TEST(Priors, TyreLifeRoundTripsAndCircuitsInheritIt) {
  StrategyPriors p;
  p.overall.tyre_life_laps = {15, 18, 28};
  CircuitPrior monza;
  monza.pit_loss_s = 24;
  monza.tyre_life_laps = p.overall.tyre_life_laps;
  p.circuits["monza"] = monza;
  CircuitPrior sakhir = monza;
  sakhir.tyre_life_laps = {10, 14, 20};
  p.circuits["sakhir"] = sakhir;
  const fs::path file = fs::temp_directory_path() / ("boxcall_life_" + std::to_string(::getpid()) + ".json");
  save_priors(p, file);
  auto back = load_priors(file);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(back->overall.tyre_life_laps, p.overall.tyre_life_laps);
  EXPECT_EQ(back->for_circuit("monza").tyre_life_laps, p.overall.tyre_life_laps);
  EXPECT_EQ(back->for_circuit("sakhir").tyre_life_laps, sakhir.tyre_life_laps);
  {
    std::ofstream out(file);
    out << R"({"overall": {"pit_loss_s": 22, "safety_car_per_race": 0.5}, "circuits": {}})";
  }
  auto old = load_priors(file);
  ASSERT_TRUE(old.ok()) << "a priors file from before tyre life still loads";
  EXPECT_EQ(old->overall.tyre_life_laps, (std::array<double, 3>{}));
  {
    std::ofstream out(file);
    out << R"({"overall": {"pit_loss_s": 22, "safety_car_per_race": 0.5, "tyre_life_laps": {"SOFT": -3}},)"
        << R"( "circuits": {}})";
  }
  auto bad = load_priors(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("tyre_life_laps.SOFT"), std::string::npos) << bad.error().detail;
  fs::remove(file);
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
