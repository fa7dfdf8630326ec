// The strategy engine on real races: the 2023 Bahrain GP through a real Kafka
// broker (predictions and alerts topics, the committed models through
// ModelStore), and the cheap-stop alert of a real VSC period (offline twin).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "boxcall/schema/boxcall_generated.h"
#include "features/session_engine.h"
#include "harness.h"
#include "infer/pipeline.h"
#include "infer/priors.h"
#include "infer/rules_predictor.h"
#include "infer/strategy.h"
#include "infer/xgb_predictor.h"
#include "replay/source_publisher.h"
#include "sources/drive.h"
#include "sources/fastf1_reader.h"
#include "stream/runner.h"

namespace boxcall {
namespace {

const std::string kData = std::string(BOXCALL_SHARED_DATA) + "/fastf1";
const std::string kRace = kData + "/2023_01_bahrain_race";
const std::string kModels = std::string(BOXCALL_SOURCE_DIR) + "/models";

/// The real stops of laps.csv (independent of the reader under test): driver -> in-laps, and the last lap.
struct RealStops {
  std::map<std::string, std::vector<int>> in_laps;
  std::map<std::string, int> last_lap;
};
RealStops real_stops(const std::string& laps_csv) {
  std::ifstream in(laps_csv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  std::stringstream hs(line);
  for (std::string f; std::getline(hs, f, ',');) header.push_back(f);
  auto col = [&](const char* name) { return std::find(header.begin(), header.end(), name) - header.begin(); };
  const auto c_driver = col("Driver"), c_lap = col("LapNumber"), c_pit_in = col("PitInTime");
  RealStops out;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
    f.resize(header.size());
    const int lap = static_cast<int>(std::stod(f[static_cast<std::size_t>(c_lap)]));
    const auto& d = f[static_cast<std::size_t>(c_driver)];
    out.last_lap[d] = std::max(out.last_lap[d], lap);
    if (!f[static_cast<std::size_t>(c_pit_in)].empty()) out.in_laps[d].push_back(lap);
  }
  return out;
}

struct Window {
  std::optional<int> start, best, end;
  friend bool operator==(const Window&, const Window&) = default;
};

struct Collect final : OutputSink {
  std::vector<StrategyPrediction> predictions;
  std::vector<Alert> alerts;
  void emit(Output&& o) override {
    if (auto* p = std::get_if<StrategyPrediction>(&o)) predictions.push_back(*p);
    if (auto* a = std::get_if<Alert>(&o)) alerts.push_back(*a);
  }
};

/// The offline twin (as `boxcall backtest`): the offline driver, the same pipeline.
Collect run_offline(const sources::FastF1Paths& paths, std::shared_ptr<const infer::Predictor> predictor,
                    std::shared_ptr<const infer::StrategyPriors> priors, features::FeatureConfig fc) {
  sources::FastF1Reader reader(paths);
  fc.scheduled_laps = reader.scheduled_laps();
  infer::SessionPipeline pipeline(
      reader.session_id(), fc, infer::StrategyConfig{}, [predictor] { return predictor; }, std::move(priors));
  Collect out;
  (void)sources::drive(reader, pipeline, out);
  return out;
}

TEST(StrategyThroughKafka, BahrainPredictionsOpenWindowsBeforeTheRealFirstStopsAndAlertsPairUp) {
  const auto topics = itest::fresh_topics("strategy", 2);
  std::vector<std::unique_ptr<sources::RecordSource>> srcs;
  srcs.push_back(std::make_unique<sources::FastF1Reader>(sources::FastF1Paths::from_export_dir(kRace)));
  auto published = replay::publish_sources(std::move(srcs), itest::broker(), topics, {});
  ASSERT_EQ(published.failed, 0U);
  const double total = static_cast<double>(published.telemetry + published.timing);

  auto config = itest::test_config(topics);
  config.models = {.dir = kModels};  // the committed models, through ModelStore
  stream::StreamMetrics metrics;
  itest::Job runner(config, metrics);
  stream::RunOptions options;
  options.status_interval = std::chrono::milliseconds(0);
  options.duration = std::chrono::minutes(8);  // a guard, not a synchronisation
  options.should_stop = [&] {
    return metrics.records_in_count(stream::InputTopic::Telemetry) +
                   metrics.records_in_count(stream::InputTopic::Timing) >=
               total &&
           metrics.active_sessions() == 0;
  };
  ASSERT_EQ(runner.run(options), 0);

  // Predictions: one per (car, lap) decided, for every car, from the models.
  std::map<std::pair<std::string, int>, Window> live;
  std::set<std::string> versions;
  for (const auto& r : itest::read_topic(topics.predictions)) {
    const auto* p = wire::GetEnvelope(r.value.data())->payload_as_StrategyPrediction();
    ASSERT_NE(p, nullptr);
    ASSERT_NE(p->driver(), nullptr);
    versions.insert(p->model_version() ? p->model_version()->str() : "");
    Window w{p->pit_window_start().has_value() ? std::optional<int>(p->pit_window_start().value()) : std::nullopt,
             p->pit_window_best().has_value() ? std::optional<int>(p->pit_window_best().value()) : std::nullopt,
             p->pit_window_end().has_value() ? std::optional<int>(p->pit_window_end().value()) : std::nullopt};
    if (w.start) {
      EXPECT_LE(*w.start, *w.best);
      EXPECT_LE(*w.best, *w.end);
      EXPECT_GT(*w.start, p->lap()) << "a window is always ahead of the lap just completed";
    }
    EXPECT_TRUE(live.emplace(std::make_pair(p->driver()->str(), p->lap()), w).second)
        << "duplicate prediction " << p->driver()->str() << " lap " << p->lap();
  }
  std::set<std::string> drivers;
  for (const auto& [key, w] : live) drivers.insert(key.first);
  EXPECT_EQ(drivers.size(), 20U);
  EXPECT_GT(live.size(), 950U) << "about one per lap per car (1,056 laps; none after the chequered flag)";
  ASSERT_EQ(versions.size(), 1U);
  EXPECT_NE(versions.begin()->find("lap_time@"), std::string::npos) << *versions.begin();

  // Fact: at the lap before each car's first real stop, the window was already open (start <= in-lap).
  const auto stops = real_stops(kRace + "/laps.csv");
  int first_stops = 0, open_before = 0;
  std::vector<std::string> late;
  for (const auto& [driver, in_laps] : stops.in_laps) {
    const int s = in_laps.front();
    if (s >= stops.last_lap.at(driver)) continue;  // retired into the pits
    auto it = live.find({driver, s - 1});
    ASSERT_NE(it, live.end()) << driver << " has no prediction at lap " << s - 1;
    ++first_stops;
    if (it->second.start && *it->second.start <= s) {
      ++open_before;
    } else {
      late.push_back(driver + "@" + std::to_string(s));
    }
  }
  EXPECT_GE(first_stops, 18);
  EXPECT_GT(open_before * 3, first_stops * 2)
      << "most first stops (> 2/3) fall after the window opened; late: " << ::testing::PrintToString(late);
  std::printf("first stops with the window open the lap before: %d / %d\n", open_before, first_stops);

  // Alerts: pit windows opened; every (car, kind) alternates raise / clear (deduplicated); no
  // sensor-dropout spam (FastF1 car data keeps coming for retired cars, LEC and PIA among them).
  std::map<std::pair<int, std::string>, std::vector<bool>> states;
  std::map<std::string, int> raised;
  for (const auto& r : itest::read_topic(topics.alerts)) {
    const auto* a = wire::GetEnvelope(r.value.data())->payload_as_Alert();
    ASSERT_NE(a, nullptr);
    states[{a->car_number(), a->kind()->str()}].push_back(a->active());
    if (a->active()) ++raised[a->kind()->str()];
  }
  EXPECT_GE(raised["pit_window_open"], 15) << "most cars get a window-open alert";
  EXPECT_EQ(raised["sensor_dropout"], 0);
  EXPECT_EQ(raised["feed_stall"], 0) << "the recorded feed never stalls";
  for (const auto& [key, seq] : states) {
    for (std::size_t i = 0; i < seq.size(); ++i) {
      EXPECT_EQ(seq[i], i % 2 == 0) << "car " << key.first << " " << key.second << " #" << i;
    }
    EXPECT_EQ(seq.size() % 2, 0U) << "car " << key.first << " " << key.second
                                  << ": every alert is resolved by the end of the session";
  }

  // The live path decides exactly what the offline twin decides (seeded per session, car and lap).
  auto store = infer::ModelStore::open(kModels);
  ASSERT_TRUE(store.ok()) << store.error().detail;
  auto priors = infer::load_priors(kModels + "/" + infer::kPriorsFile);  // as the processor loads them
  ASSERT_TRUE(priors.ok()) << priors.error().detail;
  auto offline = run_offline(sources::FastF1Paths::from_export_dir(kRace), store.value()->current(),
                             std::make_shared<infer::StrategyPriors>(priors.value()), config.features);
  ASSERT_EQ(offline.predictions.size(), live.size());
  int mismatches = 0;
  for (const auto& p : offline.predictions) {
    auto it = live.find(std::make_pair(p.driver.str(), static_cast<int>(p.lap)));
    ASSERT_NE(it, live.end());
    if (!(it->second == Window{p.pit_window_start, p.pit_window_best, p.pit_window_end})) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(StrategyOffline, BahrainVscRaisesTheCheapStopAlertForCarsThatReallyBoxedUnderIt) {
  // 2023 Bahrain: VSC 02:09:18 - 02:10:53 session time (track_status.csv), laps 40-41; GAS, MAG,
  // TSU, ALB, HUL, SAR and OCO pitted on lap 40. Rules predictor: deterministic and model-independent.
  auto out = run_offline(sources::FastF1Paths::from_export_dir(kRace), std::make_shared<infer::RulesPredictor>(),
                         std::make_shared<infer::StrategyPriors>(), features::FeatureConfig{});
  const auto stops = real_stops(kRace + "/laps.csv");
  std::set<std::string> boxed_lap_40;
  for (const auto& [d, laps] : stops.in_laps) {
    if (std::find(laps.begin(), laps.end(), 40) != laps.end()) boxed_lap_40.insert(d);
  }
  std::vector<Alert> cheap;
  for (const auto& a : out.alerts) {
    if (a.kind == "cheap_pit_stop") cheap.push_back(a);
  }
  ASSERT_FALSE(cheap.empty());
  std::set<std::string> raised_for;
  TimeNs first_raise = 0;
  for (const auto& a : cheap) {
    if (!a.active) continue;
    raised_for.insert(a.driver.str());
    if (first_raise == 0) first_raise = a.event_time_ns;
    EXPECT_EQ(a.event_time_ns, first_raise) << "raised at the deployment only";
    EXPECT_NE(a.message.find("VSC deployed"), std::string::npos) << a.message;
  }
  std::vector<std::string> hits;
  for (const auto& d : raised_for) {
    if (boxed_lap_40.contains(d)) hits.push_back(d);
  }
  EXPECT_GE(hits.size(), 2U) << "raised for " << ::testing::PrintToString(raised_for)
                             << ", boxed on lap 40: " << ::testing::PrintToString(boxed_lap_40);
  for (const auto& a : cheap) {
    EXPECT_TRUE(a.active || a.message.find("green") != std::string::npos ||
                a.message.find("pit stop") != std::string::npos || a.message.find("pitting") != std::string::npos)
        << a.message;
  }
  std::size_t cleared = 0;
  for (const auto& a : cheap) cleared += a.active ? 0 : 1;
  EXPECT_EQ(cleared * 2, cheap.size()) << "each cheap-stop alert is resolved (stop made or green flag)";
}

}  // namespace
}  // namespace boxcall
