// Model files: load, refuse bad files with errors (never crashes), reload.
#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "infer/model_features.h"
#include "infer/rules_predictor.h"
#include "infer/xgb_model.h"
#include "infer/xgb_predictor.h"

namespace boxcall::infer {
namespace {
namespace fs = std::filesystem;

const fs::path kDefaultModels = fs::path(BOXCALL_SOURCE_DIR) / "models";

// A fresh copy of the committed default models in a private directory.
fs::path copy_models(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("boxcall_infer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(kDefaultModels)) fs::copy_file(e.path(), dir / e.path().filename());
  return dir;
}

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
}

std::string read(const fs::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Mid-race context of a car on 12-lap-old mediums at a 90 s circuit.
LapContext sample_context() {
  LapContext c;
  c.lap.car = 44;
  c.lap.lap = 20;
  c.lap.lap_time_s = 90.4;
  c.lap.compound = Compound::Medium;
  c.lap.stint = 1;
  c.lap.tyre_age = 12;
  c.lap.laps_remaining = 37;
  c.lap.fuel_kg_est = 71.4;
  c.lap.gap_to_leader_s = 8.2;
  c.lap.interval_ahead_s = 1.9;
  c.lap.deg_slope_s_per_lap = 0.06;
  c.lap.position = 4;
  c.prev_clean_lap_s = 90.4;
  c.recent_clean_laps_s = {90.1, 90.3, 90.2, 90.5, 90.4};
  c.scheduled_laps = 57;
  c.gap_ahead_s = 1.9;
  c.gap_behind_s = 2.5;
  c.compounds_used_mask = 1 << static_cast<int>(Compound::Medium);
  return c;
}

TEST(ModelStore, LoadsCommittedDefaultModels) {
  auto store = ModelStore::open(kDefaultModels);
  ASSERT_TRUE(store.ok()) << store.error().detail;
  const std::string v = (*store)->version();
  EXPECT_NE(v.find("lap_time@"), std::string::npos) << v;
  EXPECT_NE(v.find("pit_3@"), std::string::npos) << v;
}

TEST(ModelStore, DefaultModelScoresPlausibly) {
  auto p = load_predictor(kDefaultModels);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  const LapContext ctx = sample_context();
  auto next = (*p)->next_lap_s(ctx);
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(std::isfinite(*next));
  EXPECT_NEAR(*next, 90.4, 2.0);
  auto pit = (*p)->pit_within_3(ctx);
  ASSERT_TRUE(pit.has_value());
  EXPECT_GE(*pit, 0.0);
  EXPECT_LE(*pit, 1.0);
  auto hard = (*p)->lap_s_at(ctx, Compound::Hard, 1, 60.0);
  ASSERT_TRUE(hard.has_value());
  EXPECT_NEAR(*hard, 90.4, 4.0);
  // No reference lap yet: no lap-time prediction, rather than a made-up one.
  LapContext fresh = ctx;
  fresh.prev_clean_lap_s.reset();
  EXPECT_FALSE((*p)->next_lap_s(fresh).has_value());
}

TEST(ModelStore, MissingDirectoryIsAnError) {
  auto store = ModelStore::open("/nonexistent/boxcall/models");
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().detail.find("not found"), std::string::npos) << store.error().detail;
}

TEST(ModelStore, CorruptBoosterIsAnError) {
  const fs::path dir = copy_models("corrupt");
  write(dir / kPitModelFile, "{\"learner\": this is not json");
  auto store = ModelStore::open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().detail.find("pit_3.json"), std::string::npos) << store.error().detail;
  fs::remove_all(dir);
}

TEST(ModelStore, CorruptMetadataIsAnError) {
  const fs::path dir = copy_models("corrupt_meta");
  write(metadata_path(dir / kLapTimeModelFile), "not json");
  auto store = ModelStore::open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().detail.find("metadata"), std::string::npos) << store.error().detail;
  fs::remove_all(dir);
}

TEST(ModelStore, KindMismatchIsAnError) {
  const fs::path dir = copy_models("kind");
  // The lap-time model placed where the pit model belongs.
  fs::copy_file(dir / kLapTimeModelFile, dir / kPitModelFile, fs::copy_options::overwrite_existing);
  fs::copy_file(metadata_path(dir / kLapTimeModelFile), metadata_path(dir / kPitModelFile),
                fs::copy_options::overwrite_existing);
  auto store = ModelStore::open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().detail.find("kind"), std::string::npos) << store.error().detail;
  fs::remove_all(dir);
}

TEST(ModelStore, FeatureNameMismatchIsAnError) {
  const fs::path dir = copy_models("features");
  const fs::path meta = metadata_path(dir / kLapTimeModelFile);
  std::string text = read(meta);
  const auto at = text.find("\"tyre_age\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 10, "\"tyre_lap\"");
  write(meta, text);
  auto store = ModelStore::open(dir);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.error().detail.find("features"), std::string::npos) << store.error().detail;
  fs::remove_all(dir);
}

// The next-lap figure keeps `next_lap_shrink` of the model's delta over the reference lap; the
// tyre curves (lap_s_at) keep all of it. Rewriting the metadata's value changes exactly that.
TEST(ModelStore, NextLapShrinkScalesTheDeltaOnlyForTheNextLap) {
  const fs::path dir = copy_models("shrink");
  const fs::path meta = metadata_path(dir / kLapTimeModelFile);
  auto with_shrink = [&](const std::string& value) {
    nlohmann::json j = nlohmann::json::parse(read(meta));
    j["next_lap_shrink"] = nlohmann::json::parse(value);
    write(meta, j.dump());
    return load_predictor(dir);
  };
  const LapContext ctx = sample_context();
  const double ref = *ctx.prev_clean_lap_s;
  auto whole = with_shrink("1.0");
  auto half = with_shrink("0.5");
  auto none = with_shrink("0.0");
  ASSERT_TRUE(whole.ok() && half.ok() && none.ok());
  const double delta = *(*whole)->next_lap_s(ctx) - ref;
  ASSERT_GT(std::abs(delta), 1e-4) << "the model predicts some change for this lap";
  EXPECT_NEAR(*(*half)->next_lap_s(ctx), ref + 0.5 * delta, 1e-9);
  EXPECT_NEAR(*(*none)->next_lap_s(ctx), ref, 1e-9) << "0: the previous clean lap itself";
  EXPECT_DOUBLE_EQ(*(*half)->lap_s_at(ctx, Compound::Hard, 10, 60.0),
                   *(*whole)->lap_s_at(ctx, Compound::Hard, 10, 60.0));
  // The batch path agrees with the single one.
  const LapContext* one = &ctx;
  std::optional<double> batched;
  (*half)->next_lap_s_batch(std::span<const LapContext* const>(&one, 1), std::span<std::optional<double>>(&batched, 1));
  ASSERT_TRUE(batched.has_value());
  EXPECT_NEAR(*batched, ref + 0.5 * delta, 1e-9);
  // Out of 0..1: refused at load, with the reason.
  auto bad = with_shrink("1.5");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail.find("next_lap_shrink"), std::string::npos) << bad.error().detail;
  fs::remove_all(dir);
}

TEST(ModelStore, ReloadKeepsOldModelOnCorruptFileAndPicksUpAGoodOne) {
  const fs::path dir = copy_models("reload");
  auto opened = ModelStore::open(dir);
  ASSERT_TRUE(opened.ok()) << opened.error().detail;
  ModelStore& store = **opened;
  const std::string v0 = store.version();
  auto unchanged = store.maybe_reload();
  ASSERT_TRUE(unchanged.ok());
  EXPECT_FALSE(unchanged.value());

  // A corrupt new booster: an error, the old predictor stays.
  const std::string good = read(dir / kPitModelFile);
  write(dir / kPitModelFile, "garbage");
  auto bad = store.maybe_reload();
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(store.version(), v0);
  ASSERT_TRUE(store.current()->pit_within_3(sample_context()).has_value());

  // A good model with a new version: installed.
  write(dir / kPitModelFile, good);
  const fs::path meta = metadata_path(dir / kPitModelFile);
  std::string text = read(meta);
  const auto at = text.find("pit_3@");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 6, "pit_3@new-");
  write(meta, text);
  auto reloaded = store.maybe_reload();
  ASSERT_TRUE(reloaded.ok()) << reloaded.error().detail;
  EXPECT_TRUE(reloaded.value());
  EXPECT_NE(store.version(), v0);
  EXPECT_NE(store.version().find("pit_3@new-"), std::string::npos);
  fs::remove_all(dir);
}

TEST(RulesPredictor, IsDocumentedFallback) {
  RulesPredictor rules;
  EXPECT_EQ(rules.version(), "fallback-rules");
  const LapContext ctx = sample_context();
  auto next = rules.next_lap_s(ctx);
  ASSERT_TRUE(next.has_value());
  EXPECT_NEAR(*next, 90.4, 0.5);
  LapContext old = ctx;
  old.lap.tyre_age = 40;
  EXPECT_GT(*rules.pit_within_3(old), *rules.pit_within_3(ctx));
}

TEST(ModelFeatures, NamesAndFillAgree) {
  for (ModelKind k : {ModelKind::LapTimeDelta, ModelKind::PitWithin3}) {
    std::array<float, kMaxFeatures> x{};
    ASSERT_LE(feature_names(k).size(), kMaxFeatures);
    fill_features(k, sample_context(), x);
    EXPECT_FLOAT_EQ(x[0], 12.0F);  // tyre_age
    EXPECT_EQ(feature_names(k)[0], "tyre_age");
  }
}

}  // namespace
}  // namespace boxcall::infer
