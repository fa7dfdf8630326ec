#pragma once
/// The strategy engine: at each lap completion of a car, a StrategyPrediction
/// (pit window, next compound, cost of stopping now, undercut threat and
/// chance, driving mode and why, confidence), backed by a seeded Monte Carlo
/// of the rest of the race (infer/monte_carlo.h); and the session's alerts
/// (infer/alerts.h). Definitions: docs/strategy.md.
///
/// `decide` is one decision, a pure function of its inputs and seed (what
/// benchmarks call); `SessionStrategy` makes a session's decisions from the
/// race state the feature engine hands it (infer/pipeline.h wires them).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/records.h"
#include "features/race.h"
#include "infer/alerts.h"
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
  /// Past its usable life (CircuitPrior::tyre_life_laps) a set loses this
  /// times (laps over the life)^2 seconds per lap on top of the model's curve.
  double tyre_cliff_s_per_lap2 = 0.1;
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

/// Per-session strategy and alerts. It keeps no race state of its own: the
/// feature engine (features/session_engine.h) owns it and calls this
/// listener with each closed lap and each change; the decisions, the alert
/// book and the sensor watch are all this class keeps.
class SessionStrategy final : public features::RaceListener {
 public:
  SessionStrategy(std::string session_id, StrategyConfig config, PredictorProvider predictor,
                  std::shared_ptr<const StrategyPriors> priors);
  SessionStrategy(const SessionStrategy&) = delete;  // the sensor watch refers to config_
  SessionStrategy& operator=(const SessionStrategy&) = delete;

  /// One decision per closed lap (its features were emitted just before).
  void on_lap(const features::ClosedLap& lap, OutputSink& out) override;
  void on_car(std::uint16_t car, DriverCode driver, features::CarChange change, TimeNs t, OutputSink& out) override;
  void on_track_status(TrackStatus before, TrackStatus now, TimeNs t, OutputSink& out) override;
  void on_session_end(TimeNs t, OutputSink& out) override;
  /// Each accepted in-order sample (sensor rules).
  void on_sample(const TelemetrySample& sample, OutputSink& out);
  void on_watermark(TimeNs watermark, OutputSink& out);
  /// Processing time (the stream layer's tick): whole-feed stall.
  void on_tick(std::chrono::steady_clock::time_point now, OutputSink& out);

  [[nodiscard]] const AlertBook& alerts() const { return book_; }
  [[nodiscard]] std::uint64_t decisions() const { return decisions_; }
  /// Wall time spent in `decide`, summed (for the cost per decision).
  [[nodiscard]] std::chrono::nanoseconds decision_time() const { return decision_time_; }

 private:
  /// What the strategy remembers of a car: its last decision and the lap it was made on.
  struct Car {
    DriverCode driver;
    std::optional<StrategyPrediction> last;
    std::optional<LapContext> last_ctx;  ///< the latest closed lap; re-planned when a SC/VSC is deployed
    std::int32_t window_closed_laps = 0;
    bool retired = false, finished = false;  ///< as the engine said (CarChange, ClosedLap::last_lap)
  };
  Car& car(std::uint16_t number, DriverCode driver);
  void update_cliff(const LapContext& lap, OutputSink& out);
  void update_window(Car& c, const LapFeatures& lap, OutputSink& out);
  [[nodiscard]] const CircuitPrior& prior() const;

  std::string session_id_;
  StrategyConfig config_;
  PredictorProvider predictor_;
  std::shared_ptr<const StrategyPriors> priors_;
  std::string session_name_;
  DecisionWorkspace ws_;
  AlertBook book_;
  SensorWatch sensors_;
  std::unordered_map<std::uint16_t, Car> cars_;
  bool finished_ = false;
  std::uint64_t decisions_ = 0;
  std::chrono::nanoseconds decision_time_{0};
};

}  // namespace boxcall::infer
