// Model scoring and one strategy decision (src/infer). No trained model ships
// with the repository, so the benchmark trains two boosters of the shape
// `boxcall train` writes (hist, max_depth 4, eta 0.05, 200 rounds, the
// production feature lists) on deterministic synthetic rows, saves them with
// their metadata and loads them through infer::load_predictor, exactly as the
// live path does. Scoring cost depends on the trees' shape, not on what they learnt.
// BOXCALL_BENCH_MODELS=DIR loads a model directory instead (e.g. models/).
//
//   cmake --build build-bench --target bench_infer && build-bench/bench/bench_infer
#include <benchmark/benchmark.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "infer/model_features.h"
#include "infer/strategy.h"
#include "infer/xgb_predictor.h"

namespace {
using namespace boxcall;
namespace fs = std::filesystem;

void check(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "bench_infer: %s: %s\n", what, XGBGetLastError());
    std::abort();
  }
}

void train(infer::ModelKind kind, const fs::path& file) {
  const auto names = infer::feature_names(kind);
  const std::size_t cols = names.size(), rows = 4000;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  std::vector<float> x(rows * cols), y(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    double s = 0;
    for (std::size_t c = 0; c < cols; ++c) {
      x[r * cols + c] = u(rng) * 50.0F;
      s += std::sin(static_cast<double>(x[r * cols + c]) * (1.0 + static_cast<double>(c) * 0.1));
    }
    y[r] = kind == infer::ModelKind::PitWithin3 ? (s > 0 ? 1.0F : 0.0F) : static_cast<float>(s);
  }
  DMatrixHandle dm = nullptr;
  check(XGDMatrixCreateFromMat(x.data(), rows, cols, std::numeric_limits<float>::quiet_NaN(), &dm), "DMatrix");
  check(XGDMatrixSetFloatInfo(dm, "label", y.data(), rows), "labels");
  BoosterHandle b = nullptr;
  check(XGBoosterCreate(&dm, 1, &b), "XGBoosterCreate");
  const char* objective = kind == infer::ModelKind::PitWithin3 ? "binary:logistic" : "reg:absoluteerror";
  for (auto [k, v] : {std::pair{"tree_method", "hist"},
                      {"max_depth", "4"},
                      {"eta", "0.05"},
                      {"subsample", "0.8"},
                      {"seed", "1"},
                      {"nthread", "1"},
                      {"objective", objective}}) {
    check(XGBoosterSetParam(b, k, v), "XGBoosterSetParam");
  }
  for (int it = 0; it < 200; ++it) check(XGBoosterUpdateOneIter(b, it, dm), "XGBoosterUpdateOneIter");
  check(XGBoosterSaveModel(b, file.string().c_str()), "XGBoosterSaveModel");
  XGBoosterFree(b);
  XGDMatrixFree(dm);
  std::ofstream meta(infer::metadata_path(file));
  meta << "{\"version\":\"bench@" << infer::kind_name(kind) << "\",\"kind\":\"" << infer::kind_name(kind)
       << "\",\"features\":[";
  for (std::size_t c = 0; c < cols; ++c) meta << (c ? "," : "") << '"' << names[c] << '"';
  meta << "]}\n";
}

std::shared_ptr<const infer::XgbPredictor> predictor() {
  // Deliberately never destroyed: freeing a booster from a static destructor
  // runs after XGBoost's own statics are gone and crashes at exit.
  static const auto* p = new std::shared_ptr<const infer::XgbPredictor>([] {
    if (const char* models = std::getenv("BOXCALL_BENCH_MODELS");
        models && *models) {  // e.g. models/ of `boxcall train`
      auto loaded = infer::load_predictor(models);
      if (!loaded) {
        std::fprintf(stderr, "bench_infer: %s\n", loaded.error().detail.c_str());
        std::abort();
      }
      return loaded.value();
    }
    std::string name = "boxcall-bench-models-";
    name += std::to_string(::getpid());  // (not "..." + ...: GCC 12's -Wrestrict false positive)
    const fs::path dir = fs::temp_directory_path() / name;
    fs::create_directories(dir);
    train(infer::ModelKind::LapTimeDelta, dir / infer::kLapTimeModelFile);
    train(infer::ModelKind::PitWithin3, dir / infer::kPitModelFile);
    auto loaded = infer::load_predictor(dir);
    fs::remove_all(dir);
    if (!loaded) {
      std::fprintf(stderr, "bench_infer: %s\n", loaded.error().detail.c_str());
      std::abort();
    }
    return loaded.value();
  }());
  return *p;
}

/// A mid-race context: lap 24 of 57 on 18-lap-old mediums, a car 1.1 s behind and 0.9 s ahead.
infer::LapContext context() {
  infer::LapContext ctx;
  LapFeatures& lap = ctx.lap;
  lap.car = 16;
  lap.driver = DriverCode("LEC");
  lap.lap = 24;
  lap.samples = 960;
  lap.mean_throttle = 68.0;
  lap.std_throttle = 38.0;
  lap.full_throttle_frac = 0.55;
  lap.mean_speed = 205.0;
  lap.max_speed = 318.0;
  lap.brake_frac = 0.18;
  lap.brake_events = 9;
  lap.drs_open_frac = 0.12;
  lap.gear_shifts = 48;
  lap.lap_time_s = 96.4;
  lap.compound = Compound::Medium;
  lap.stint = 1;
  lap.tyre_age = 18;
  lap.laps_remaining = 33;
  lap.fuel_kg_est = 64.0;
  lap.gap_to_leader_s = 7.9;
  lap.interval_ahead_s = 0.9;
  lap.deg_slope_s_per_lap = 0.06;
  lap.position = 4;
  ctx.prev_clean_lap_s = 96.3;
  ctx.recent_clean_laps_s = {96.0, 96.1, 96.1, 96.2, 96.3};
  ctx.compounds_used_mask = 1 << static_cast<int>(Compound::Medium);
  ctx.scheduled_laps = 57;
  ctx.gap_ahead_s = 0.9;
  ctx.gap_behind_s = 1.1;
  ctx.car_ahead = 55;
  ctx.car_behind = 44;
  return ctx;
}

void BM_ScoreLapTime(benchmark::State& state) {
  const auto p = predictor();
  const auto ctx = context();
  for (auto _ : state) {
    auto v = p->next_lap_s(ctx);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScoreLapTime);

void BM_ScorePitWithin3(benchmark::State& state) {
  const auto p = predictor();
  const auto ctx = context();
  for (auto _ : state) {
    auto v = p->pit_within_3(ctx);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScorePitWithin3);

// The cars that close laps at the same watermark, scored together (Predictor::*_batch: one
// XGBoost call per model for the batch). Per item = per car; BM_ScoreCarsBatch runs both models.
std::vector<infer::LapContext> contexts(std::size_t n) {
  std::vector<infer::LapContext> v;
  for (std::size_t i = 0; i < n; ++i) {
    auto ctx = context();
    ctx.lap.car = static_cast<std::uint16_t>(i + 1);
    ctx.lap.tyre_age = static_cast<std::int32_t>(5 + i);
    ctx.lap.position = static_cast<std::int32_t>(i + 1);
    ctx.prev_clean_lap_s = 95.0 + 0.1 * static_cast<double>(i);
    v.push_back(std::move(ctx));
  }
  return v;
}

template <int kModels>
void score_batch(benchmark::State& state) {
  const auto p = predictor();
  const auto cars = contexts(static_cast<std::size_t>(state.range(0)));
  std::vector<const infer::LapContext*> ptrs;
  for (const auto& c : cars) ptrs.push_back(&c);
  std::vector<std::optional<double>> lap(cars.size()), pit(cars.size());
  for (auto _ : state) {
    if (kModels & 1) p->next_lap_s_batch(ptrs, lap);
    if (kModels & 2) p->pit_within_3_batch(ptrs, pit);
    benchmark::DoNotOptimize(lap.data());
    benchmark::DoNotOptimize(pit.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
void BM_ScoreLapTimeBatch(benchmark::State& state) { score_batch<1>(state); }
void BM_ScorePitWithin3Batch(benchmark::State& state) { score_batch<2>(state); }
void BM_ScoreCarsBatch(benchmark::State& state) { score_batch<3>(state); }
BENCHMARK(BM_ScoreLapTimeBatch)->Arg(1)->Arg(20)->ArgName("cars");
BENCHMARK(BM_ScorePitWithin3Batch)->Arg(1)->Arg(20)->ArgName("cars");
BENCHMARK(BM_ScoreCarsBatch)->Arg(20)->ArgName("cars");

// One decision as the live path makes it at a lap completion: StrategyConfig
// defaults (1,000 Monte Carlo scenarios), a reused workspace, both rivals known.
void BM_StrategyDecision(benchmark::State& state) {
  const auto p = predictor();
  const auto ctx = context();
  infer::CircuitPrior prior;
  infer::StrategyConfig config;
  infer::DecisionWorkspace ws;
  infer::Rivals rivals{infer::RivalTyres{Compound::Hard, 5}, infer::RivalTyres{Compound::Medium, 20}};
  std::uint64_t seed = 1;
  for (auto _ : state) {
    auto decision = infer::decide(*p, ctx, prior, config, seed++, ws, rivals);
    benchmark::DoNotOptimize(decision);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["scenarios"] = config.scenarios;
}
BENCHMARK(BM_StrategyDecision)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
