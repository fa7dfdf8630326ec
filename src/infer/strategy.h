#pragma once
/// The strategy engine: at each lap completion of a car, a StrategyPrediction
/// (pit window, next compound, cost of stopping now, undercut threat and
/// chance, driving mode and why, confidence), backed by a seeded Monte Carlo
/// of the rest of the race (infer/monte_carlo.h); and the session's alerts
/// (infer/alerts.h). Definitions: docs/strategy.md.
///
/// `decide` is one decision, a pure function of its inputs and seed (what
/// benchmarks call); `SessionStrategy` keeps one session's state and is fed
/// the same records, in the same order, by the live path (stream::Processor)
/// and the offline twin (`boxcall backtest`).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/records.h"
#include "infer/alerts.h"
#include "infer/lap_context.h"
#include "infer/monte_carlo.h"
#include "infer/predictor.h"

namespace boxcall::infer {

/// Hands out the predictor to use now (ModelStore::current, or a fixed one).
/// May return null: no model, so no predictions (alerts still run).
using PredictorProvider = std::function<std::shared_ptr<const Predictor>()>;

struct StrategyConfig {
  std::int32_t scenarios = 1000;    ///< Monte Carlo scenarios per decision
  std::uint64_t seed = 0xB0C5CA11;  ///< with session, car and lap: the decision's seed
  double window_tolerance_s = 2.0;  ///< laps whose mean cost is within this of the best form the window
  double deg_sd = 0.25;             ///< relative spread of tyre degradation between scenarios
  double pit_loss_sd_s = 1.0;
  double sc_pit_factor = 0.5;  ///< a stop under SC/VSC costs this share of the green pit loss
  std::int32_t sc_length_laps = 4;
  std::int32_t curve_knots = 6;          ///< Predictor::lap_s_at calls per compound curve (linear in between)
  double out_lap_penalty_s = 1.5;        ///< undercut: the fresh set's first lap is this much off its pace
  double undercut_scale_s = 0.6;         ///< width of the undercut probability around "gain = gap"
  double undercut_mode_threshold = 0.5;  ///< threat/chance above this drives the mode
  double fuel_start_kg = 110.0;
  std::string circuit;  ///< priors key; empty: the SessionInfo name, else the session id
  AlertConfig alerts;
};

/// What the decision knows of a neighbour's tyres (from its latest lap).
struct RivalTyres {
  Compound compound = Compound::Unknown;
  std::int32_t tyre_age = 0;
};
struct Rivals {
  std::optional<RivalTyres> ahead, behind;
};

/// Scratch state of decisions (simulator arrays, curve buffers): one per
/// session or thread, reused; no allocation per decision once warm.
class DecisionWorkspace {
 public:
  DecisionWorkspace();
  PitSimulator sim;
  std::vector<double> current;
  std::array<std::vector<double>, 3> fresh;
  std::array<std::vector<double>, 3> curve;  ///< per dry compound, by tyre age - 1
};

/// One decision for the car of `ctx` at the end of lap `ctx.lap.lap`.
/// Fields the model cannot provide stay empty; never throws.
[[nodiscard]] StrategyPrediction decide(const Predictor& predictor, const LapContext& ctx, const CircuitPrior& prior,
                                        const StrategyConfig& config, std::uint64_t seed, DecisionWorkspace& ws,
                                        const Rivals& rivals = {});

/// The seed of a decision: same session, car and lap -> same scenarios.
[[nodiscard]] std::uint64_t decision_seed(std::uint64_t base, std::string_view session, std::uint16_t car,
                                          std::int32_t lap);

/// Wraps the sink the feature engine emits into: passes every output on and
/// hands each LapFeatures to the strategy, whose prediction (and alerts)
/// follow the lap's features. Used by the live path and the backtest alike.
class SessionStrategy;
class StrategyTee final : public OutputSink {
 public:
  StrategyTee(OutputSink& next, SessionStrategy& strategy) : next_(next), strategy_(strategy) {}
  void emit(Output&& out) override;

 private:
  OutputSink& next_;
  SessionStrategy& strategy_;
};

/// Per-session strategy state: feed records in event-time order.
class SessionStrategy {
 public:
  SessionStrategy(std::string session_id, StrategyConfig config, PredictorProvider predictor,
                  std::shared_ptr<const StrategyPriors> priors);
  SessionStrategy(const SessionStrategy&) = delete;  // the sensor watch refers to config_
  SessionStrategy& operator=(const SessionStrategy&) = delete;

  /// Every timing event, BEFORE the feature engine sees it (the lap record
  /// must be known when the engine emits the lap's features).
  void on_timing(const TimingEvent& event, OutputSink& out);
  /// Every LapFeatures the feature engine emits: one decision per call.
  void on_lap(const LapFeatures& lap, OutputSink& out);
  void on_sample(const TelemetrySample& sample, OutputSink& out);
  void on_watermark(TimeNs watermark, OutputSink& out);
  /// Processing time (the stream layer's tick): whole-feed stall.
  void on_tick(std::chrono::steady_clock::time_point now, OutputSink& out);

  [[nodiscard]] const AlertBook& alerts() const { return book_; }
  [[nodiscard]] std::uint64_t decisions() const { return decisions_; }
  /// Wall time spent in `decide`, summed (for the cost per decision).
  [[nodiscard]] std::chrono::nanoseconds decision_time() const { return decision_time_; }

 private:
  struct Car {
    DriverCode driver;
    std::int32_t last_lap = 0;
    std::int32_t leader_lap_at_last = 0;  ///< the leader's laps when this car last completed one
    TimeNs last_lap_t = 0;
    std::int32_t stint = 0;
    Compound compound = Compound::Unknown;
    std::int32_t tyre_age = 0;
    std::optional<double> best_corrected_s;  ///< best fuel-corrected clean lap of the stint
    std::optional<StrategyPrediction> last;
    std::optional<LapContext> last_ctx;  ///< re-planned when a SC/VSC is deployed
    std::int32_t window_closed_laps = 0;
    bool retired = false, finished = false;
  };
  Car& car(std::uint16_t number, DriverCode driver);
  void update_cliff(Car& c, const LapFeatures& lap, bool clean, OutputSink& out);
  void update_window(Car& c, const LapFeatures& lap, OutputSink& out);
  void on_track_status(const TimingEvent& event, TrackStatus status, OutputSink& out);
  void mark_retirements(TimeNs t, OutputSink& out);
  [[nodiscard]] const CircuitPrior& prior() const;

  std::string session_id_;
  StrategyConfig config_;
  PredictorProvider predictor_;
  std::shared_ptr<const StrategyPriors> priors_;
  std::string session_name_;
  SessionContexts contexts_;
  DecisionWorkspace ws_;
  AlertBook book_;
  SensorWatch sensors_;
  std::unordered_map<std::uint16_t, Car> cars_;
  TrackStatus status_ = TrackStatus::Green;
  std::int32_t scheduled_laps_ = 0;
  std::int32_t leader_lap_ = 0;
  bool finished_ = false;
  bool leader_finished_ = false;
  std::uint64_t decisions_ = 0;
  std::chrono::nanoseconds decision_time_{0};
};

}  // namespace boxcall::infer
