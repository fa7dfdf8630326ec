#include "infer/strategy.h"

#include "features/definitions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <type_traits>
#include <variant>

namespace boxcall::infer {
namespace {

bool neutralised(TrackStatus s) {
  return s == TrackStatus::SafetyCar || s == TrackStatus::Vsc || s == TrackStatus::VscEnding;
}

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::string fixed(double v, int decimals = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string car_name(std::uint16_t car, DriverCode driver) {
  return driver.empty() ? "car " + std::to_string(car) : driver.str();
}

// `n` green lap times on `compound` from tyre age `first_age` on, from
// `knots` Predictor calls, linear in between. False when the model has no answer.
bool fill_curve(const Predictor& predictor, const LapContext& ctx, Compound compound, std::int32_t first_age,
                std::size_t n, double fuel_kg, std::int32_t knots, std::vector<double>& out) {
  out.resize(n);
  if (n == 0) return true;
  const std::size_t step = std::max<std::size_t>(1, (n - 1 + static_cast<std::size_t>(std::max(1, knots - 1)) - 1) /
                                                        static_cast<std::size_t>(std::max(1, knots - 1)));
  std::size_t prev = 0;
  auto at = [&](std::size_t i) {
    return predictor.lap_s_at(ctx, compound, first_age + static_cast<std::int32_t>(i), fuel_kg);
  };
  auto first = at(0);
  if (!first) return false;
  out[0] = *first;
  while (prev + 1 < n) {
    const std::size_t next = std::min(n - 1, prev + step);
    auto v = at(next);
    if (!v) return false;
    out[next] = *v;
    for (std::size_t i = prev + 1; i < next; ++i) {
      const double w = static_cast<double>(i - prev) / static_cast<double>(next - prev);
      out[i] = out[prev] + w * (out[next] - out[prev]);
    }
    prev = next;
  }
  return true;
}

// The wear cliff: seconds a set of `compound` at `tyre_age` loses past its usable life.
double cliff_s(const CircuitPrior& prior, const StrategyConfig& config, Compound compound, std::int32_t tyre_age) {
  for (std::size_t i = 0; i < kDryCompounds.size(); ++i) {
    const double life = prior.tyre_life_laps[i];
    if (kDryCompounds[i] != compound || life <= 0) continue;
    const double over = std::max(0.0, static_cast<double>(tyre_age) - life);
    return config.tyre_cliff_s_per_lap2 * over * over;
  }
  return 0.0;
}

}  // namespace

DecisionWorkspace::DecisionWorkspace() {
  current.reserve(kMaxRaceLaps);
  for (auto& f : fresh) f.reserve(kMaxRaceLaps);
  for (auto& c : curve) c.reserve(std::size_t{2} * kMaxRaceLaps);
}

std::uint64_t decision_seed(std::uint64_t base, std::string_view session, std::uint16_t car, std::int32_t lap) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a of the session id
  for (char ch : session) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
  return mix_seed(mix_seed(mix_seed(base, h), car), static_cast<std::uint64_t>(lap));
}

StrategyPrediction decide(const Predictor& predictor, const LapContext& ctx, const CircuitPrior& prior,
                          const StrategyConfig& config, std::uint64_t seed, DecisionWorkspace& ws,
                          const Rivals& rivals) {
  const LapFeatures& f = ctx.lap;
  StrategyPrediction p;
  p.car = f.car;
  p.driver = f.driver;
  p.lap = f.lap;
  p.event_time_ns = f.event_time_ns;
  p.model_version = predictor.version();
  p.pred_next_lap_s = predictor.next_lap_s(ctx);
  p.p_pit_3 = predictor.pit_within_3(ctx);
  p.next_compound = f.compound;

  const std::int32_t total = ctx.scheduled_laps;
  const std::int32_t remaining = total - f.lap;
  if (total <= 0 || remaining < 2 || remaining > kMaxRaceLaps) {
    p.mode_reason = remaining <= 1 && total > 0 ? "last lap: no stop left to plan" : "race length unknown";
    return p;
  }
  if (f.compound == Compound::Intermediate || f.compound == Compound::Wet) {
    p.mode_reason = "wet-weather tyres: no dry pit-window planning";
    return p;
  }
  // An unknown compound is planned as a medium (the middle of the range).
  const Compound current = is_dry(f.compound) ? f.compound : Compound::Medium;
  // The engine's estimate burns linearly to empty at the flag: the same burn on every remaining lap.
  const double fuel_now = f.fuel_kg_est.value_or(features::fuel_kg_est(f.lap, total));
  const double fuel_per_lap = fuel_now / remaining;
  const double fuel_mid = std::max(0.0, fuel_now - fuel_per_lap * remaining / 2.0);
  const std::int32_t age = std::max(1, f.tyre_age.value_or(1));
  const auto laps_left = static_cast<std::size_t>(remaining);

  // One curve per dry compound over tyre ages 1 .. (laps_left - 1), or 1 .. age + laps_left for the set on the car:
  // 3 x curve_knots model calls per decision (the model is the expensive part).
  SimInput in;
  bool ok = false;
  for (std::size_t i = 0; i < kDryCompounds.size(); ++i) {
    const bool on_car = kDryCompounds[i] == current;
    const std::size_t ages = on_car ? static_cast<std::size_t>(age) + laps_left : laps_left - 1;
    ws.fresh[i].clear();
    if (!fill_curve(predictor, ctx, kDryCompounds[i], 1, ages, fuel_mid, config.curve_knots, ws.curve[i])) continue;
    for (std::size_t a = 0; a < ws.curve[i].size(); ++a) {
      ws.curve[i][a] += cliff_s(prior, config, kDryCompounds[i], static_cast<std::int32_t>(a) + 1);
    }
    ws.fresh[i].assign(ws.curve[i].begin(), ws.curve[i].begin() + static_cast<std::ptrdiff_t>(laps_left - 1));
    in.fresh[i] = ws.fresh[i];
    if (on_car) {
      ws.current.assign(ws.curve[i].begin() + age, ws.curve[i].begin() + age + static_cast<std::ptrdiff_t>(laps_left));
      in.current_base = ws.curve[i][0];
      ok = true;
    }
  }
  if (!ok) {
    p.mode_reason = "model gave no tyre curve: no pit window";
    return p;
  }
  in.lap = f.lap;
  in.total_laps = total;
  in.current = ws.current;
  in.compounds_used_mask = ctx.compounds_used_mask | compound_bit(current);
  in.pit_loss_s = prior.pit_loss_s;
  in.pit_loss_sd_s = config.pit_loss_sd_s;
  in.sc_pit_factor = config.sc_pit_factor;
  in.sc_prob_per_lap = prior.safety_car_per_race / total;
  in.sc_length_laps = config.sc_length_laps;
  in.sc_active_laps = ctx.track_status == TrackStatus::SafetyCar ? 2 : neutralised(ctx.track_status) ? 1 : 0;
  in.deg_sd = config.deg_sd;
  in.window_tolerance_s = config.window_tolerance_s;
  in.scenarios = config.scenarios;
  in.seed = seed;
  auto sim = ws.sim.run(in);
  if (!sim) {
    p.mode_reason = "no feasible plan for the remaining laps";
    return p;
  }
  if (sim->stop) {
    p.pit_window_start = sim->window_start;
    p.pit_window_best = sim->best;
    p.pit_window_end = sim->window_end;
    p.next_compound = sim->next_compound;
  }
  p.pit_now_delta_s = sim->pit_now_delta_s;

  // Undercut: one lap on a fresh set (with its out-lap penalty) against one on the old set.
  std::size_t fresh_i = 0;
  for (std::size_t i = 0; i < kDryCompounds.size(); ++i) {
    if (kDryCompounds[i] == (sim->stop ? sim->next_compound : Compound::Medium)) fresh_i = i;
  }
  const bool can_undercut = laps_left >= 3 && !ws.fresh[fresh_i].empty();
  if (can_undercut && ctx.gap_behind_s) {
    const double gain = ws.current[1] - (ws.fresh[fresh_i][0] + config.out_lap_penalty_s);
    p.undercut_threat = sigmoid((gain - *ctx.gap_behind_s) / config.undercut_scale_s);
  }
  if (can_undercut && ctx.gap_ahead_s) {
    std::optional<double> their_old = ws.current[1];
    if (rivals.ahead && is_dry(rivals.ahead->compound)) {
      their_old = predictor.lap_s_at(ctx, rivals.ahead->compound, rivals.ahead->tyre_age + 2, fuel_mid);
      if (their_old) *their_old += cliff_s(prior, config, rivals.ahead->compound, rivals.ahead->tyre_age + 2);
    }
    if (their_old) {
      const double gain = *their_old - (ws.fresh[fresh_i][0] + config.out_lap_penalty_s);
      p.undercut_chance = sigmoid((gain - *ctx.gap_ahead_s) / config.undercut_scale_s);
    }
  }

  // Driving mode, first matching rule wins (docs/strategy.md).
  const std::int32_t next = f.lap + 1;
  const bool in_window = sim->stop && sim->window_start <= next + 1;
  const double slope = f.deg_slope_s_per_lap.value_or(0.0);
  if (neutralised(ctx.track_status)) {
    p.mode = DrivingMode::Balanced;
    p.mode_reason = "neutralised (" + std::string(to_string(ctx.track_status)) + "): hold position";
  } else if (in_window && p.undercut_threat && *p.undercut_threat >= config.undercut_mode_threshold) {
    p.mode = DrivingMode::Push;
    p.mode_reason = "undercut threat from car " + std::to_string(ctx.car_behind) + " (" + fixed(*ctx.gap_behind_s) +
                    " s behind): push, cover the stop";
  } else if (in_window && p.undercut_chance && *p.undercut_chance >= config.undercut_mode_threshold) {
    p.mode = DrivingMode::Push;
    p.mode_reason = "undercut chance on car " + std::to_string(ctx.car_ahead) + " (" + fixed(*ctx.gap_ahead_s) +
                    " s ahead): push the in-lap and out-lap";
  } else if (sim->stop && sim->best - f.lap > 3 && slope >= 0.1) {
    p.mode = DrivingMode::Conserve;
    p.mode_reason =
        "stretch the stint to lap " + std::to_string(sim->best) + ": degradation " + fixed(slope, 2) + " s/lap";
  } else if (!sim->stop && remaining > 5 && slope >= 0.1) {
    p.mode = DrivingMode::Conserve;
    p.mode_reason =
        "no stop planned: make the tyres last " + std::to_string(remaining) + " laps (" + fixed(slope, 2) + " s/lap)";
  } else {
    p.mode = DrivingMode::Balanced;
    p.mode_reason = sim->stop ? "on plan: stop lap " + std::to_string(sim->best) + " for " +
                                    std::string(to_string(sim->next_compound))
                              : "on plan: no stop needed";
  }
  const double history = std::min(1.0, 0.5 + static_cast<double>(ctx.recent_clean_laps_s.size()) / 6.0);
  p.confidence = sim->confidence * history;
  return p;
}

// ------------------------------------------------------------------ SessionStrategy

SessionStrategy::SessionStrategy(std::string session_id, StrategyConfig config, PredictorProvider predictor,
                                 std::shared_ptr<const StrategyPriors> priors)
    : session_id_(std::move(session_id)),
      config_(std::move(config)),
      predictor_(std::move(predictor)),
      priors_(std::move(priors)),
      sensors_(config_.alerts) {}

SessionStrategy::Car& SessionStrategy::car(std::uint16_t number, DriverCode driver) {
  Car& c = cars_[number];
  if (!driver.empty()) c.driver = driver;
  return c;
}

const CircuitPrior& SessionStrategy::prior() const {
  static const CircuitPrior kDefault;
  if (!priors_) return kDefault;
  return priors_->for_circuit(!config_.circuit.empty() ? config_.circuit
                              : !session_name_.empty() ? session_name_
                                                       : session_id_);
}

void SessionStrategy::on_session_end(TimeNs t, OutputSink& out) {
  finished_ = true;
  sensors_.finish(t, book_, out);
  book_.clear_all(t, "session finished", out);
}

void SessionStrategy::on_car(std::uint16_t number, DriverCode driver, features::CarChange change, TimeNs t,
                             OutputSink& out) {
  Car& c = car(number, driver);
  switch (change) {
    case features::CarChange::PitIn:
      sensors_.set_in_pit(number, true);
      book_.clear(number, AlertKind::CheapPitStop, t, car_name(number, c.driver) + " is pitting", out);
      break;
    case features::CarChange::PitOut:
      sensors_.set_in_pit(number, false);
      break;
    case features::CarChange::Retired:
      c.retired = true;
      sensors_.set_retired(number, true, t, book_, out);
      book_.clear_car(number, t, car_name(number, c.driver) + " retired", out);
      break;
    case features::CarChange::BackInRace:
      c.retired = false;
      sensors_.set_retired(number, false, t, book_, out);
      break;
  }
}

void SessionStrategy::on_track_status(TrackStatus before, TrackStatus status, TimeNs t, OutputSink& out) {
  const bool deployed = (status == TrackStatus::SafetyCar || status == TrackStatus::Vsc) && !neutralised(before);
  auto predictor = deployed && !finished_ && predictor_ ? predictor_() : nullptr;
  if (predictor) {
    // Re-plan every running car with stops priced under SC: the cars whose next in-lap enters the window.
    const CircuitPrior& pr = prior();
    for (auto& [number, c] : cars_) {
      if (c.retired || c.finished || !c.last_ctx) continue;
      LapContext ctx = *c.last_ctx;
      ctx.track_status = status;
      const std::int32_t last_lap = ctx.lap.lap;
      const std::int32_t next = last_lap + 1;
      const auto p =
          decide(*predictor, ctx, pr, config_, decision_seed(config_.seed ^ 0x5C, session_id_, number, last_lap), ws_);
      if (!p.pit_window_start || next < *p.pit_window_start || next > *p.pit_window_end) continue;
      std::string message = std::string(to_string(status)) + " deployed: a stop costs about " +
                            fixed(pr.pit_loss_s * config_.sc_pit_factor) + " s instead of " + fixed(pr.pit_loss_s) +
                            " s; " + car_name(number, c.driver) + " boxing at the end of lap " + std::to_string(next) +
                            " is in the re-planned window " + std::to_string(*p.pit_window_start) + "-" +
                            std::to_string(*p.pit_window_end) + " (" + std::string(to_string(p.next_compound)) + ")";
      if (c.last && c.last->pit_window_start) {
        message += ", green plan was laps " + std::to_string(*c.last->pit_window_start) + "-" +
                   std::to_string(*c.last->pit_window_end);
      }
      book_.raise(number, c.driver, AlertKind::CheapPitStop, Severity::Warning, t, std::move(message), out);
    }
  }
  if (status == TrackStatus::Green) {
    for (auto& [number, c] : cars_) {
      book_.clear(number, AlertKind::CheapPitStop, t, "green flag: a stop costs the full pit loss", out);
    }
  }
}

void SessionStrategy::on_lap(const features::ClosedLap& closed, OutputSink& out) {
  const LapContext ctx{closed};
  const LapFeatures& lap = ctx.lap;
  if (!ctx.session_name.empty()) session_name_ = ctx.session_name;
  Car& c = car(lap.car, lap.driver);
  if (ctx.new_stint) {
    for (AlertKind k : {AlertKind::PitWindowOpen, AlertKind::TyreCliff, AlertKind::CheapPitStop}) {
      book_.clear(lap.car, k, lap.event_time_ns, car_name(lap.car, c.driver) + " made a pit stop", out);
    }
    c.window_closed_laps = 0;
  }
  if (ctx.last_lap) {
    c.finished = true;
    sensors_.set_retired(lap.car, true, lap.event_time_ns, book_, out);
    book_.clear_car(lap.car, lap.event_time_ns, car_name(lap.car, c.driver) + " finished", out);
  }
  update_cliff(ctx, out);
  if (!c.finished && !finished_ && predictor_) {
    if (auto predictor = predictor_()) {
      Rivals rivals;
      auto tyres = [this](std::uint16_t number) -> std::optional<RivalTyres> {
        auto it = cars_.find(number);
        if (number == 0 || it == cars_.end() || !it->second.last_ctx) return std::nullopt;
        const LapFeatures& theirs = it->second.last_ctx->lap;
        if (theirs.compound == Compound::Unknown) return std::nullopt;
        return RivalTyres{theirs.compound, theirs.tyre_age.value_or(0)};
      };
      rivals.ahead = tyres(ctx.car_ahead);
      rivals.behind = tyres(ctx.car_behind);
      const auto started = std::chrono::steady_clock::now();
      StrategyPrediction p = decide(*predictor, ctx, prior(), config_,
                                    decision_seed(config_.seed, session_id_, lap.car, lap.lap), ws_, rivals);
      decision_time_ += std::chrono::steady_clock::now() - started;
      ++decisions_;
      c.last = p;
      out.emit(Output(std::move(p)));
      update_window(c, lap, out);
    }
  }
  c.last_ctx = ctx;
}

void SessionStrategy::update_window(Car& c, const LapFeatures& lap, OutputSink& out) {
  const StrategyPrediction& p = *c.last;
  const std::int32_t next = lap.lap + 1;
  const bool open = p.pit_window_start && *p.pit_window_start <= next && next <= *p.pit_window_end;
  if (open) {
    c.window_closed_laps = 0;
    std::string message = car_name(lap.car, c.driver) + ": pit window open, laps " +
                          std::to_string(*p.pit_window_start) + "-" + std::to_string(*p.pit_window_end) + ", best " +
                          std::to_string(*p.pit_window_best) + ", next " + std::string(to_string(p.next_compound));
    if (p.pit_now_delta_s) message += "; stopping next lap costs +" + fixed(*p.pit_now_delta_s) + " s";
    book_.raise(lap.car, c.driver, AlertKind::PitWindowOpen, Severity::Info, lap.event_time_ns, std::move(message),
                out);
  } else if (book_.active(lap.car, AlertKind::PitWindowOpen) &&
             ++c.window_closed_laps >= config_.alerts.window_clear_after_laps) {
    book_.clear(lap.car, AlertKind::PitWindowOpen, lap.event_time_ns,
                car_name(lap.car, c.driver) + ": pit window closed", out);
  }
}

void SessionStrategy::update_cliff(const LapContext& ctx, OutputSink& out) {
  const LapFeatures& lap = ctx.lap;
  if (!ctx.flags.clean || !ctx.corrected_lap_s || !ctx.stint_best_corrected_s) return;
  const double loss = *ctx.corrected_lap_s - *ctx.stint_best_corrected_s;
  const double slope = lap.deg_slope_s_per_lap.value_or(0.0);
  const AlertConfig& a = config_.alerts;
  const DriverCode driver = car(lap.car, lap.driver).driver;
  if (loss >= a.cliff_pace_loss_s || slope >= a.cliff_slope_s_per_lap) {
    book_.raise(lap.car, driver, AlertKind::TyreCliff, Severity::Warning, lap.event_time_ns,
                car_name(lap.car, driver) + ": tyre cliff on " + std::string(to_string(lap.compound)) + " (age " +
                    std::to_string(lap.tyre_age.value_or(0)) + "): " + fixed(loss, 2) +
                    " s off the stint's best (fuel-corrected), degradation " + fixed(slope, 2) + " s/lap",
                out);
  } else if (loss <= a.cliff_pace_loss_clear_s && slope <= a.cliff_slope_clear_s_per_lap) {
    book_.clear(
        lap.car, AlertKind::TyreCliff, lap.event_time_ns,
        car_name(lap.car, driver) + ": pace back within " + fixed(a.cliff_pace_loss_clear_s) + " s of the stint's best",
        out);
  }
}

void SessionStrategy::on_sample(const TelemetrySample& sample, OutputSink& out) {
  sensors_.on_sample(sample, book_, out);
}

void SessionStrategy::on_watermark(TimeNs watermark, OutputSink& out) { sensors_.on_watermark(watermark, book_, out); }

void SessionStrategy::on_tick(std::chrono::steady_clock::time_point now, OutputSink& out) {
  sensors_.on_tick(now, book_, out);
}

}  // namespace boxcall::infer
