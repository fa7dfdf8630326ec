#include "infer/strategy.h"

#include <gtest/gtest.h>

#include <chrono>

#include "fake_predictor.h"
#include "infer/pipeline.h"

namespace boxcall::infer {
namespace {

using testing::FakePredictor;

constexpr TimeNs kT0 = 1'700'000'000LL * kNsPerSecond;

LapContext context(std::int32_t lap, Compound compound, std::int32_t age, std::int32_t total = 57) {
  LapContext ctx;
  ctx.lap.car = 1;
  ctx.lap.driver = DriverCode("VER");
  ctx.lap.lap = lap;
  ctx.lap.compound = compound;
  ctx.lap.tyre_age = age;
  ctx.lap.fuel_kg_est = 110.0 * (1.0 - static_cast<double>(lap) / total);
  ctx.lap.lap_time_s = 95.0;
  ctx.scheduled_laps = total;
  ctx.compounds_used_mask = compound_bit(compound);
  ctx.recent_clean_laps_s = {95.0, 95.1, 95.2};
  return ctx;
}

StrategyConfig config() { return StrategyConfig{}; }

TEST(MonteCarlo, SameSeedSameDecisionOtherSeedStillClose) {
  FakePredictor model;
  DecisionWorkspace ws;
  const auto ctx = context(10, Compound::Soft, 10);
  const CircuitPrior prior;
  auto a = decide(model, ctx, prior, config(), 42, ws);
  auto b = decide(model, ctx, prior, config(), 42, ws);
  EXPECT_EQ(a.pit_window_start, b.pit_window_start);
  EXPECT_EQ(a.pit_window_best, b.pit_window_best);
  EXPECT_EQ(a.pit_window_end, b.pit_window_end);
  EXPECT_EQ(a.pit_now_delta_s, b.pit_now_delta_s);
  EXPECT_EQ(a.confidence, b.confidence);
  auto c = decide(model, ctx, prior, config(), 43, ws);
  ASSERT_TRUE(a.pit_window_best && c.pit_window_best);
  EXPECT_NEAR(*a.pit_window_best, *c.pit_window_best, 2) << "1,000 scenarios: the seed moves the best lap little";
  EXPECT_EQ(decision_seed(1, "s", 1, 10), decision_seed(1, "s", 1, 10));
  EXPECT_NE(decision_seed(1, "s", 1, 10), decision_seed(1, "s", 1, 11));
  EXPECT_NE(decision_seed(1, "s", 1, 10), decision_seed(1, "s", 44, 10));
}

TEST(MonteCarlo, WindowIsOrderedAndInTheRemainingRace) {
  FakePredictor model;
  DecisionWorkspace ws;
  auto p = decide(model, context(10, Compound::Soft, 10), CircuitPrior{}, config(), 1, ws);
  ASSERT_TRUE(p.pit_window_start && p.pit_window_best && p.pit_window_end);
  EXPECT_GT(*p.pit_window_start, 10);
  EXPECT_LE(*p.pit_window_start, *p.pit_window_best);
  EXPECT_LE(*p.pit_window_best, *p.pit_window_end);
  EXPECT_LT(*p.pit_window_end, 57);
  // Late in the race (one stop left at most), softs only so far: the rule needs another dry compound.
  auto late = decide(model, context(40, Compound::Soft, 15), CircuitPrior{}, config(), 1, ws);
  ASSERT_TRUE(late.pit_window_best);
  EXPECT_NE(late.next_compound, Compound::Soft);
  EXPECT_EQ(p.model_version, "fake-1");
  EXPECT_DOUBLE_EQ(*p.p_pit_3, 0.2);
  ASSERT_TRUE(p.confidence);
  EXPECT_GT(*p.confidence, 0.0);
  EXPECT_LE(*p.confidence, 1.0);
  EXPECT_GE(*p.pit_now_delta_s, 0.0) << "the best plan is never worse than stopping now";
}

TEST(MonteCarlo, HigherDegradationOpensTheWindowEarlier) {
  FakePredictor gentle, harsh;
  harsh.deg_s_per_lap = {0.30, 0.15, 0.08};
  DecisionWorkspace ws;
  const auto ctx = context(5, Compound::Soft, 5);
  auto g = decide(gentle, ctx, CircuitPrior{}, config(), 7, ws);
  auto h = decide(harsh, ctx, CircuitPrior{}, config(), 7, ws);
  ASSERT_TRUE(g.pit_window_best && h.pit_window_best);
  EXPECT_LT(*h.pit_window_best, *g.pit_window_best);
}

TEST(MonteCarlo, DryCompoundRuleForcesAStopOnANewCompound) {
  FakePredictor flat;
  flat.offset_s = {0, 0, 0};
  flat.deg_s_per_lap = {0, 0, 0};
  DecisionWorkspace ws;
  // Mediums only so far, tyres that never wear: a stop is still required, onto another compound.
  auto p = decide(flat, context(30, Compound::Medium, 30), CircuitPrior{}, config(), 3, ws);
  ASSERT_TRUE(p.pit_window_best);
  EXPECT_NE(p.next_compound, Compound::Medium);
  EXPECT_NE(p.next_compound, Compound::Unknown);
  // Two dry compounds used already: with no wear, no stop is the plan.
  auto ctx = context(30, Compound::Medium, 10);
  ctx.compounds_used_mask |= compound_bit(Compound::Hard);
  auto q = decide(flat, ctx, CircuitPrior{}, config(), 3, ws);
  EXPECT_FALSE(q.pit_window_start);
  EXPECT_FALSE(q.pit_window_best);
  // Wet tyres: the rule does not apply and no dry window is planned.
  auto wet = decide(flat, context(30, Compound::Intermediate, 10), CircuitPrior{}, config(), 3, ws);
  EXPECT_FALSE(wet.pit_window_best);
}

TEST(MonteCarlo, TyresPastTheirUsableLifePlanAnotherStop) {
  // Tyres the model says never wear: after the stop (two compounds used, 35 laps to go on fresh
  // hards) running to the flag is the plan. A usable life of 20 laps makes a second stop the plan,
  // where neither set passes its life (in-lap 37..41: 15..19 laps more on these hards, the rest on
  // a fresh set), and none at all when the cliff is switched off.
  FakePredictor model;
  model.offset_s = {0, 0, 0};
  model.deg_s_per_lap = {0, 0, 0};
  DecisionWorkspace ws;
  auto ctx = context(22, Compound::Hard, 1);
  ctx.compounds_used_mask |= compound_bit(Compound::Medium);
  auto no_life = decide(model, ctx, CircuitPrior{}, config(), 5, ws);
  EXPECT_FALSE(no_life.pit_window_best) << "without a tyre life the hards reach the flag";

  CircuitPrior worn;
  worn.tyre_life_laps = {20, 20, 20};
  auto p = decide(model, ctx, worn, config(), 5, ws);
  ASSERT_TRUE(p.pit_window_best) << "35 laps on 20-lap tyres: another stop";
  EXPECT_GE(*p.pit_window_best, 37);
  EXPECT_LE(*p.pit_window_best, 41);

  StrategyConfig off = config();
  off.tyre_cliff_s_per_lap2 = 0;
  EXPECT_FALSE(decide(model, ctx, worn, off, 5, ws).pit_window_best);
}

TEST(MonteCarlo, ASetAlreadyPastItsLifeIsChangedSoon) {
  FakePredictor model;
  DecisionWorkspace ws;
  CircuitPrior worn;
  worn.tyre_life_laps = {12, 16, 20};
  const auto ctx = context(18, Compound::Medium, 18);
  auto p = decide(model, ctx, worn, config(), 11, ws);
  auto fresh = decide(model, ctx, CircuitPrior{}, config(), 11, ws);
  ASSERT_TRUE(p.pit_window_best && fresh.pit_window_best);
  EXPECT_LE(*p.pit_window_best, 18 + 3) << "two laps past a 16-lap medium: stop now";
  EXPECT_LT(*p.pit_window_best, *fresh.pit_window_best);
}

TEST(MonteCarlo, ASafetyCarNowMakesStoppingNowCheaper) {
  FakePredictor model;
  DecisionWorkspace ws;
  auto ctx = context(8, Compound::Medium, 8);  // green: the best stop is laps away
  CircuitPrior prior;
  prior.pit_loss_s = 22.0;
  auto green = decide(model, ctx, prior, config(), 5, ws);
  ctx.track_status = TrackStatus::SafetyCar;
  auto sc = decide(model, ctx, prior, config(), 5, ws);
  ASSERT_TRUE(green.pit_now_delta_s && sc.pit_now_delta_s);
  ASSERT_GT(*green.pit_now_delta_s, 5.0);
  EXPECT_LT(*sc.pit_now_delta_s, *green.pit_now_delta_s - 5.0) << "about half the pit loss saved";
  EXPECT_EQ(sc.mode, DrivingMode::Balanced);
}

TEST(MonteCarlo, UndercutThreatFromACloseCarBehind) {
  FakePredictor model;
  model.deg_s_per_lap = {0.25, 0.15, 0.10};
  DecisionWorkspace ws;
  auto ctx = context(18, Compound::Soft, 18);
  ctx.gap_behind_s = 0.4;
  ctx.car_behind = 44;
  ctx.gap_ahead_s = 12.0;
  ctx.car_ahead = 11;
  auto p = decide(model, ctx, CircuitPrior{}, config(), 9, ws);
  ASSERT_TRUE(p.undercut_threat && p.undercut_chance);
  EXPECT_GT(*p.undercut_threat, 0.5);
  EXPECT_LT(*p.undercut_chance, 0.01);
  ctx.gap_behind_s = 10.0;
  auto far = decide(model, ctx, CircuitPrior{}, config(), 9, ws);
  EXPECT_LT(*far.undercut_threat, 0.01);
  EXPECT_FALSE(p.mode_reason.empty());
}

TEST(MonteCarlo, LastLapsHaveNoWindow) {
  FakePredictor model;
  DecisionWorkspace ws;
  auto p = decide(model, context(56, Compound::Soft, 30), CircuitPrior{}, config(), 1, ws);
  EXPECT_FALSE(p.pit_window_start);
  EXPECT_TRUE(p.pred_next_lap_s);
  EXPECT_FALSE(p.mode_reason.empty());
}

TEST(MonteCarlo, CostPerDecisionIsWellUnderAMillisecondFor20Cars) {
  FakePredictor model;
  DecisionWorkspace ws;
  const int decisions = 200;
  const auto start = std::chrono::steady_clock::now();
  double sink = 0;
  for (int i = 0; i < decisions; ++i) {
    auto ctx = context(1 + i % 50, Compound::Medium, 1 + i % 25);
    auto p = decide(model, ctx, CircuitPrior{}, config(), static_cast<std::uint64_t>(i), ws);
    sink += p.pit_now_delta_s.value_or(0);
  }
  const double us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / decisions;
  std::printf("decide(): %.1f us per decision (1,000 scenarios, fake predictor)\n", us);
  RecordProperty("us_per_decision", std::to_string(us));
  EXPECT_GT(sink, 0);
  EXPECT_LT(us, 5000.0) << "generous bound for sanitizer builds; the target is < 1 ms in release";
}

// ------------------------------------------------------------------ SessionStrategy

struct Collect final : OutputSink {
  std::vector<StrategyPrediction> predictions;
  std::vector<Alert> alerts;
  void emit(Output&& o) override {
    if (auto* p = std::get_if<StrategyPrediction>(&o)) predictions.push_back(*p);
    if (auto* a = std::get_if<Alert>(&o)) alerts.push_back(*a);
  }
  [[nodiscard]] std::vector<Alert> of(std::string_view kind) const {
    std::vector<Alert> r;
    for (const auto& a : alerts) {
      if (a.kind == kind) r.push_back(a);
    }
    return r;
  }
};

// The strategy reads the race state the feature engine owns: these tests feed
// timing records through the session pipeline (engine -> strategy), as the
// live path and the backtest do.
TimingEvent lap_event(std::uint16_t car, std::int32_t n, Compound compound, std::int32_t age, std::int32_t stint,
                      double lap_time, bool pit_in) {
  const TimeNs t = kT0 + (n * 95LL + car) * kNsPerSecond;
  LapCompleted rec;
  rec.lap = n;
  rec.lap_time_s = lap_time;
  rec.compound = compound;
  rec.tyre_life = age;
  rec.stint = stint;
  rec.track_status = "1";
  if (pit_in) rec.pit_in_session_ns = t - kT0 - kNsPerSecond;
  TimingEvent e;
  e.car = car;
  e.driver = DriverCode(car == 1 ? "VER" : "HAM");
  e.event_time_ns = t;
  e.session_time_ns = t - kT0;
  e.body = rec;
  return e;
}

TimingEvent started(std::int32_t laps) {
  TimingEvent e;
  e.event_time_ns = kT0;
  e.body = SessionInfo{laps, "Started", ""};
  return e;
}

features::FeatureConfig feature_config() {
  features::FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  return fc;
}

class SessionStrategyTest : public ::testing::Test {
 protected:
  SessionStrategyTest()
      : model_(std::make_shared<FakePredictor>()),
        pipeline_(
            "2023_01_bahrain_race", feature_config(), StrategyConfig{}, [m = model_] { return m; },
            std::make_shared<StrategyPriors>()) {
    feed(started(30));
  }

  void feed(const TimingEvent& e) { ASSERT_TRUE(pipeline_.on_record(Input{e}, false, out_)); }
  /// One lap of `car`, green; `pit_in` marks an in-lap.
  void lap(std::uint16_t car, std::int32_t n, Compound compound, std::int32_t age, std::int32_t stint,
           double lap_time = 95.0, bool pit_in = false) {
    feed(lap_event(car, n, compound, age, stint, lap_time, pit_in));
  }
  void status(TrackStatus s, std::int32_t at_lap) {
    TimingEvent e;
    e.event_time_ns = kT0 + (at_lap * 95LL + 50) * kNsPerSecond;
    e.body = TrackStatusChange{s, ""};
    feed(e);
  }
  [[nodiscard]] const SessionStrategy& strategy() const { return pipeline_.strategy(); }

  std::shared_ptr<FakePredictor> model_;
  SessionPipeline pipeline_;
  Collect out_;
};

TEST_F(SessionStrategyTest, OnePredictionPerLapAndTheWindowAlertOpensOnceAndClearsAtTheStop) {
  model_->deg_s_per_lap = {0.30, 0.15, 0.08};
  std::int32_t opened_at = 0;
  for (int n = 1; n <= 20 && opened_at == 0; ++n) {
    lap(1, n, Compound::Soft, n, 1);
    if (!out_.of("pit_window_open").empty()) opened_at = n;
  }
  ASSERT_GT(opened_at, 0) << "high degradation: the window opens within 20 laps";
  EXPECT_EQ(out_.predictions.size(), static_cast<std::size_t>(opened_at));
  const auto& p = out_.predictions.back();
  EXPECT_LE(*p.pit_window_start, opened_at + 1);
  EXPECT_EQ(out_.of("pit_window_open").size(), 1U);
  EXPECT_EQ(out_.of("pit_window_open")[0].severity, Severity::Info);
  // Still in the window: no second alert (deduplicated).
  lap(1, opened_at + 1, Compound::Soft, opened_at + 1, 1, 95.0, /*pit_in=*/true);
  EXPECT_EQ(out_.of("pit_window_open").size(), 1U);
  // The stop: a new stint resolves the alert.
  lap(1, opened_at + 2, Compound::Hard, 1, 2, 110.0);
  auto window = out_.of("pit_window_open");
  ASSERT_EQ(window.size(), 2U);
  EXPECT_FALSE(window[1].active);
  EXPECT_NE(window[1].message.find("pit stop"), std::string::npos);
  EXPECT_EQ(strategy().decisions(), out_.predictions.size());
}

TEST_F(SessionStrategyTest, SafetyCarRaisesTheCheapStopAlertForCarsWhoseReplannedWindowOpens) {
  model_->deg_s_per_lap = {0.30, 0.15, 0.08};
  for (int n = 1; n <= 8; ++n) {
    lap(1, n, Compound::Soft, n, 1);  // old softs, one dry compound used: a stop is due
    // HAM stopped on lap 3: softs then hards, the rule is met and the hards last.
    if (n <= 3)
      lap(44, n, Compound::Soft, n, 1, 95.0, /*pit_in=*/n == 3);
    else
      lap(44, n, Compound::Hard, n - 3, 2);
  }
  const auto& ham = out_.predictions.back();
  ASSERT_EQ(ham.car, 44);
  EXPECT_FALSE(ham.pit_window_start) << "HAM needs no further stop";
  status(TrackStatus::Vsc, 8);
  auto cheap = out_.of("cheap_pit_stop");
  ASSERT_EQ(cheap.size(), 1U);
  EXPECT_EQ(cheap[0].car, 1);
  EXPECT_TRUE(cheap[0].active);
  EXPECT_EQ(cheap[0].severity, Severity::Warning);
  EXPECT_NE(cheap[0].message.find("VSC"), std::string::npos) << cheap[0].message;
  status(TrackStatus::VscEnding, 8);
  EXPECT_EQ(out_.of("cheap_pit_stop").size(), 1U);
  status(TrackStatus::Green, 9);
  cheap = out_.of("cheap_pit_stop");
  ASSERT_EQ(cheap.size(), 2U);
  EXPECT_FALSE(cheap[1].active);
}

TEST_F(SessionStrategyTest, TyreCliffRaisesOnPaceLossAndClearsWithHysteresis) {
  // Constant lap times while the fuel burns off: the tyres lose what the fuel gives (~0.13 s/lap).
  for (int n = 1; n <= 10; ++n) lap(1, n, Compound::Medium, n, 1, 95.0);
  EXPECT_TRUE(out_.of("tyre_cliff").empty());
  lap(1, 11, Compound::Medium, 11, 1, 96.0);  // fuel-corrected, > 1.5 s off the stint's best (lap 2)
  ASSERT_EQ(out_.of("tyre_cliff").size(), 1U);
  EXPECT_TRUE(out_.of("tyre_cliff")[0].active);
  lap(1, 12, Compound::Medium, 12, 1, 96.5);  // still off: no duplicate
  EXPECT_EQ(out_.of("tyre_cliff").size(), 1U);
  lap(1, 13, Compound::Medium, 13, 1, 93.0);  // fuel-corrected within 0.8 s of the best again
  auto cliff = out_.of("tyre_cliff");
  ASSERT_EQ(cliff.size(), 2U);
  EXPECT_FALSE(cliff[1].active);
}

TEST_F(SessionStrategyTest, ASteepDegradationSlopeAloneRaisesTheCliff) {
  // A fresh stint (the best resets at the stop), then +0.5 s a lap: the slope
  // crosses 0.30 s/lap before the pace loss reaches 1.5 s.
  lap(1, 1, Compound::Soft, 1, 1, 100.0);
  lap(1, 2, Compound::Soft, 2, 1, 95.0, /*pit_in=*/true);
  lap(1, 3, Compound::Hard, 1, 2, 115.0);  // out-lap: not clean
  EXPECT_TRUE(out_.of("tyre_cliff").empty());
  lap(1, 4, Compound::Hard, 2, 2, 95.0);
  lap(1, 5, Compound::Hard, 3, 2, 95.5);
  EXPECT_TRUE(out_.of("tyre_cliff").empty()) << "two laps: no slope yet, 0.6 s off";
  lap(1, 6, Compound::Hard, 4, 2, 96.0);
  const auto cliff = out_.of("tyre_cliff");
  ASSERT_EQ(cliff.size(), 1U);
  EXPECT_NE(cliff[0].message.find("degradation 0.6"), std::string::npos) << cliff[0].message;
}

TEST_F(SessionStrategyTest, ARetiredCarStopsGettingPredictionsAndItsAlertsClear) {
  model_->deg_s_per_lap = {0.30, 0.15, 0.08};
  for (int n = 1; n <= 12; ++n) {
    lap(44, n, Compound::Soft, n, 1);
    if (n <= 6) lap(1, n, Compound::Soft, n, 1, n == 6 ? 98.0 : 95.0);
  }
  std::size_t ver_predictions = 0;
  for (const auto& p : out_.predictions) ver_predictions += p.car == 1 ? 1 : 0;
  EXPECT_EQ(ver_predictions, 6U);
  EXPECT_FALSE(strategy().alerts().active(1, AlertKind::TyreCliff)) << "retired: cleared";
  EXPECT_FALSE(strategy().alerts().active(1, AlertKind::PitWindowOpen));
}

TEST_F(SessionStrategyTest, SameRecordsSamePredictions) {
  auto run = [](Collect& out) {
    auto model = std::make_shared<FakePredictor>();
    SessionPipeline p(
        "s", feature_config(), StrategyConfig{}, [model] { return model; }, nullptr);
    (void)p.on_record(Input{started(30)}, false, out);
    for (int n = 1; n <= 10; ++n)
      (void)p.on_record(Input{lap_event(1, n, Compound::Soft, n, 1, 95.0, false)}, false, out);
  };
  Collect oa, ob;
  run(oa);
  run(ob);
  ASSERT_EQ(oa.predictions.size(), 10U);
  for (std::size_t i = 0; i < oa.predictions.size(); ++i) {
    EXPECT_EQ(oa.predictions[i].pit_window_best, ob.predictions[i].pit_window_best);
    EXPECT_EQ(oa.predictions[i].confidence, ob.predictions[i].confidence);
  }
}

TEST(SessionStrategyNoModel, AlertsRunWithoutAPredictor) {
  SessionPipeline p(
      "s", feature_config(), StrategyConfig{}, [] { return std::shared_ptr<const Predictor>(); }, nullptr);
  Collect out;
  ASSERT_TRUE(p.on_record(Input{started(10)}, false, out));
  ASSERT_TRUE(p.on_record(Input{lap_event(1, 1, Compound::Soft, 1, 1, 95.0, false)}, false, out));
  EXPECT_TRUE(out.predictions.empty());
  EXPECT_EQ(p.strategy().decisions(), 0U);
}

}  // namespace
}  // namespace boxcall::infer
