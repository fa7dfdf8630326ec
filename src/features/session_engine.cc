#include "features/session_engine.h"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "features/definitions.h"

namespace boxcall::features {

// ------------------------------------------------------------------ definitions.h

bool green_only(std::string_view track_status) {
  if (track_status.empty()) return false;
  return std::all_of(track_status.begin(), track_status.end(), [](char c) { return c == '1'; });
}

std::optional<double> least_squares_slope(std::span<const double> x, std::span<const double> y) {
  const auto n = static_cast<Eigen::Index>(std::min(x.size(), y.size()));
  if (n < 2) return std::nullopt;
  Eigen::Map<const Eigen::VectorXd> xv(x.data(), n);
  Eigen::Map<const Eigen::VectorXd> yv(y.data(), n);
  // Centring both makes the intercept column orthogonal to the slope column
  // and keeps the solve well conditioned (lap times ~90 s, tyre ages ~1..40).
  Eigen::MatrixXd a(n, 2);
  a.col(0) = xv.array() - xv.mean();
  a.col(1).setOnes();
  if (a.col(0).squaredNorm() == 0.0) return std::nullopt;
  const Eigen::VectorXd yc = yv.array() - yv.mean();
  const Eigen::Vector2d beta = a.colPivHouseholderQr().solve(yc);
  return beta(0);
}

// ------------------------------------------------------------------ engine state

namespace {

constexpr TimeNs kPaneNs = kNsPerSecond;  // window resolution
constexpr int kPanes = 32;                // >= 30 s sliding window + the open pane
constexpr int kSlidingSeconds = 30;
constexpr int kTumblingSeconds = 5;

TimeNs floor_div(TimeNs a, TimeNs b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::uint16_t status_bit(TrackStatus s) { return static_cast<std::uint16_t>(1U << static_cast<unsigned>(s)); }

// Per-lap accumulators: O(1) memory whatever the sample count.
struct LapAccumulator {
  bool open = false;
  std::int32_t lap = 0;
  TimeNs start_ns = 0;
  std::uint16_t status_mask = 0;  // track statuses seen while the lap was open
  std::int32_t samples = 0, excluded = 0;
  std::int32_t throttle_n = 0, full_throttle_n = 0;
  double throttle_sum = 0, throttle_mean = 0, throttle_m2 = 0;  // Welford for the variance
  double speed_sum = 0, speed_max = -std::numeric_limits<double>::infinity();
  std::int32_t brake_n = 0, brake_events = 0, drs_open_n = 0, gear_shifts = 0;
  bool has_in_lap_last = false;
  TimeNs in_lap_last_ns = 0;
  TimeNs max_gap_ns = -1;

  void restart(std::int32_t lap_number, TimeNs start, std::uint16_t mask) {
    *this = LapAccumulator{};
    open = true;
    lap = lap_number;
    start_ns = start;
    status_mask = mask;
  }

  // The order-free part: counts, sums, maxima.
  void add_values(const TelemetrySample& s) {
    ++samples;
    if (throttle_valid(s.throttle)) {
      const double t = s.throttle;
      ++throttle_n;
      throttle_sum += t;
      const double delta = t - throttle_mean;
      throttle_mean += delta / throttle_n;
      throttle_m2 += delta * (t - throttle_mean);
      if (full_throttle(s.throttle)) ++full_throttle_n;
    } else {
      ++excluded;
    }
    speed_sum += s.speed_kph;
    speed_max = std::max(speed_max, static_cast<double>(s.speed_kph));
    if (s.brake) ++brake_n;
    if (drs_open(s.drs)) ++drs_open_n;
  }
};

// One second of samples; 32 of them make both windows without per-sample memory.
struct Pane {
  TimeNs second = std::numeric_limits<TimeNs>::min();
  std::int32_t n = 0, throttle_n = 0, brake_n = 0;
  double speed_sum = 0, speed_max = 0, throttle_sum = 0;
};

struct WindowStats {
  std::int32_t n = 0, throttle_n = 0, brake_n = 0;
  double speed_sum = 0, speed_max = 0, throttle_sum = 0;
  void add(const Pane& p) {
    if (p.n == 0) return;
    speed_max = n == 0 ? p.speed_max : std::max(speed_max, p.speed_max);
    n += p.n;
    throttle_n += p.throttle_n;
    brake_n += p.brake_n;
    speed_sum += p.speed_sum;
    throttle_sum += p.throttle_sum;
  }
};

// A green, timed lap of the stint, not an in- or out-lap, with a known tyre
// age: a candidate for the clean-lap history and the degradation slope
// (both keep the candidates within 107 % of the stint's fastest).
struct StintLap {
  std::int32_t lap = 0;
  double tyre_age = 0;
  double lap_time_s = 0;
  std::optional<double> corrected_s;  // fuel-corrected; unknown without a fuel estimate
};

struct CarState {
  std::uint16_t car = 0;
  DriverCode driver;

  // The last in-order sample: the "sample before" of brake/gear transitions.
  bool has_last = false;
  TimeNs last_session_ns = 0;
  TimeNs last_event_ns = 0;
  bool last_brake = false;
  std::int8_t last_gear = 0;
  TimeNs first_event_ns = 0;

  LapAccumulator lap;

  // Timing.
  std::optional<std::int32_t> last_completed_lap;
  bool pit_in_pending = false, pit_out_pending = false;
  bool prev_lap_in_lap = false;
  bool has_stint = false;
  std::int32_t stint = 0;
  std::optional<std::int32_t> tyre_age;
  std::vector<StintLap> stint_laps;  // pit- and status-clean laps of the current stint
  std::int32_t pit_stops = 0;
  std::int32_t compounds_mask = 0;
  std::optional<double> last_clean_s;            // latest clean lap of any stint
  std::optional<double> stint_best_corrected_s;  // best fuel-corrected clean lap of the stint
  bool in_pit = false;                           // PitIn seen, PitOut not yet
  bool finished = false;                         // took the chequered flag

  // Retirement.
  std::int32_t leader_lap_at_last_completion = 0;
  bool retired = false;
  bool retired_reported = false;

  std::array<Pane, kPanes> panes{};

  void add_to_window(const TelemetrySample& s) {
    const TimeNs second = floor_div(s.event_time_ns, kPaneNs);
    Pane& p = panes[static_cast<std::size_t>(((second % kPanes) + kPanes) % kPanes)];
    if (p.second != second) {
      if (p.second > second) return;  // older than the ring: beyond every window
      p = Pane{};
      p.second = second;
    }
    p.speed_max = p.n == 0 ? s.speed_kph : std::max(p.speed_max, static_cast<double>(s.speed_kph));
    ++p.n;
    p.speed_sum += s.speed_kph;
    if (throttle_valid(s.throttle)) {
      ++p.throttle_n;
      p.throttle_sum += s.throttle;
    }
    if (s.brake) ++p.brake_n;
  }

  // Seconds [from, to) of event time.
  [[nodiscard]] WindowStats window(TimeNs from_second, TimeNs to_second) const {
    WindowStats w;
    for (const Pane& p : panes) {
      if (p.second >= from_second && p.second < to_second) w.add(p);
    }
    return w;
  }
};

}  // namespace

struct SessionEngine::Impl {
  FeatureConfig config;
  RaceListener* listener = nullptr;
  std::unordered_map<std::uint16_t, CarState> cars;
  std::optional<std::int32_t> scheduled_laps;
  std::optional<TimeNs> race_start_ns;
  bool finished = false;
  TrackStatus current_status = TrackStatus::Unknown;
  bool status_known = false;  // from TrackStatusChange events
  // Without status events, the lap records tell the status now: their last code.
  TrackStatus record_status = TrackStatus::Green;
  std::int32_t leader_lap = 0;
  bool chequered = false;  // the leader completed the scheduled laps
  std::string session_name;
  // (T(., L), car) of every car that completed lap L, sorted: gaps and intervals
  // and the cars they refer to. Grows with laps x cars (a race's worth), not with samples.
  std::map<std::int32_t, std::vector<std::pair<TimeNs, std::uint16_t>>> lap_times;
  TimeNs next_tick_ns = std::numeric_limits<TimeNs>::min();
  bool tick_armed = false;

  Impl(FeatureConfig c, RaceListener* l) : config(std::move(c)), listener(l), scheduled_laps(config.scheduled_laps) {}

  CarState& car_state(std::uint16_t car, const DriverCode& driver) {
    auto [it, inserted] = cars.try_emplace(car);
    CarState& c = it->second;
    if (inserted) {
      c.car = car;
      // A car first heard of after the start runs lap 1 from the start: the
      // lap's bounds are known, its early samples are merely missing.
      if (race_start_ns) c.lap.restart(1, *race_start_ns, current_mask());
    }
    if (!driver.empty()) c.driver = driver;
    return c;
  }

  [[nodiscard]] std::uint16_t current_mask() const {
    return status_known ? status_bit(current_status) : status_bit(TrackStatus::Unknown);
  }

  [[nodiscard]] bool running() const { return race_start_ns.has_value() && !finished; }
  [[nodiscard]] TrackStatus status_now() const { return status_known ? current_status : record_status; }
  // Left behind: the leader completed `retire_after_laps` laps since the car's last completion.
  [[nodiscard]] bool left_behind(const CarState& c) const {
    return config.retire_after_laps > 0 && !chequered &&
           leader_lap - c.leader_lap_at_last_completion >= config.retire_after_laps;
  }
  void retire(CarState& c, TimeNs t, OutputSink& out) {
    c.retired = true;
    if (listener) listener->on_car(c.car, c.driver, CarChange::Retired, t, out);
  }
  void pit(const TimingEvent& e, bool in, OutputSink& out) {
    CarState& c = car_state(e.car, e.driver);
    (in ? c.pit_in_pending : c.pit_out_pending) = true;
    c.in_pit = in;
    if (listener) listener->on_car(c.car, c.driver, in ? CarChange::PitIn : CarChange::PitOut, e.event_time_ns, out);
  }

  Placement on_sample(const TelemetrySample& s, bool late);
  void on_lap(const TimingEvent& e, const LapCompleted& lc, OutputSink& out);
  void on_session(const TimingEvent& e, const SessionInfo& info, OutputSink& out);
  void on_status(const TimingEvent& e, const TrackStatusChange& change, OutputSink& out);
  void tick(TimeNs watermark, OutputSink& out);
  void fill_telemetry(const CarState& c, LapFeatures& f) const;
  void fill_timing(CarState& c, const TimingEvent& e, const LapCompleted& lc, ClosedLap& r);
  void fill_gaps(const TimingEvent& e, ClosedLap& r);
};

Placement SessionEngine::Impl::on_sample(const TelemetrySample& s, bool late) {
  CarState& c = car_state(s.car, s.driver);
  LapAccumulator& lap = c.lap;
  // Before the open lap: a closed lap, unless the car has completed none yet
  // (then it is pre-race: in no lap, but still the "sample before" lap 1).
  if (!late && c.has_last && s.session_time_ns < c.last_session_ns) return Placement::TimeWentBackwards;
  const bool before_lap = lap.open && s.session_time_ns < lap.start_ns;
  if (before_lap && c.last_completed_lap) return Placement::LapClosed;
  if (!c.has_last && !late) c.first_event_ns = s.event_time_ns;
  c.add_to_window(s);
  if (late) {
    // Order-dependent counts (gaps, transitions) need the neighbours, which
    // are gone: a late sample adds only to the order-free accumulators.
    if (lap.open && !before_lap) lap.add_values(s);
    return Placement::Accepted;
  }
  if (lap.open && !before_lap) {
    lap.add_values(s);
    if (lap.has_in_lap_last) lap.max_gap_ns = std::max(lap.max_gap_ns, s.session_time_ns - lap.in_lap_last_ns);
    lap.has_in_lap_last = true;
    lap.in_lap_last_ns = s.session_time_ns;
    // The first sample of the lap is compared with the car's last sample before it.
    if (c.has_last) {
      if (s.brake && !c.last_brake) ++lap.brake_events;
      if (s.gear != c.last_gear) ++lap.gear_shifts;
    }
  }
  c.has_last = true;
  c.last_session_ns = s.session_time_ns;
  c.last_event_ns = s.event_time_ns;
  c.last_brake = s.brake;
  c.last_gear = s.gear;
  return Placement::Accepted;
}

void SessionEngine::Impl::fill_telemetry(const CarState& c, LapFeatures& f) const {
  const LapAccumulator& a = c.lap;
  f.samples = a.samples;
  f.excluded_samples = a.excluded;
  if (a.samples == 0) return;
  const double n = a.samples;
  if (a.max_gap_ns >= 0) f.max_gap_s = ns_to_s(a.max_gap_ns);
  if (a.throttle_n > 0) {
    f.mean_throttle = a.throttle_sum / a.throttle_n;
    f.full_throttle_frac = static_cast<double>(a.full_throttle_n) / a.throttle_n;
    if (a.throttle_n > 1) f.std_throttle = std::sqrt(a.throttle_m2 / (a.throttle_n - 1));
  }
  f.mean_speed = a.speed_sum / n;
  f.max_speed = a.speed_max;
  f.brake_frac = a.brake_n / n;
  f.brake_events = a.brake_events;
  f.drs_open_frac = a.drs_open_n / n;
  f.gear_shifts = a.gear_shifts;
}

void SessionEngine::Impl::fill_timing(CarState& c, const TimingEvent& e, const LapCompleted& lc, ClosedLap& r) {
  LapFeatures& f = r.lap;
  const std::int32_t lap = lc.lap;
  f.lap_time_s = lc.lap_time_s;
  f.compound = lc.compound;
  f.position = lc.position;

  const bool in_lap = lc.pit_in_session_ns.has_value() || c.pit_in_pending;
  const bool out_lap = lc.pit_out_session_ns.has_value() || c.pit_out_pending;
  r.flags.in_lap = in_lap;
  r.flags.out_lap = out_lap;

  // Stint and tyre age, repaired against pit events: only a pit stop (an
  // out-lap now, or an in-lap just before) starts a stint; a lower tyre age
  // without one is a feed glitch and the age keeps counting.
  const std::int32_t laps_since = c.last_completed_lap ? lap - *c.last_completed_lap : 1;
  if (!c.has_stint) {
    c.has_stint = true;
    c.stint = lc.stint.value_or(1);
    c.tyre_age = lc.tyre_life;
  } else if (out_lap || c.prev_lap_in_lap) {
    ++c.stint;
    ++c.pit_stops;
    r.new_stint = true;
    c.tyre_age = lc.tyre_life;
    c.stint_laps.clear();
    c.stint_best_corrected_s.reset();
  } else if (lc.tyre_life && (!c.tyre_age || *lc.tyre_life >= *c.tyre_age)) {
    c.tyre_age = lc.tyre_life;
  } else if (c.tyre_age) {
    c.tyre_age = *c.tyre_age + laps_since;
  }
  f.stint = c.stint;
  f.tyre_age = c.tyre_age;
  if (f.compound != Compound::Unknown) c.compounds_mask |= 1 << static_cast<int>(f.compound);
  r.pit_stops = c.pit_stops;
  r.compounds_used_mask = c.compounds_mask;

  if (scheduled_laps && *scheduled_laps > 0) {
    f.laps_remaining = *scheduled_laps - lap;
    f.fuel_kg_est = fuel_kg_est(lap, *scheduled_laps, config.fuel_start_kg);
    r.scheduled_laps = *scheduled_laps;
  }

  // The stint's candidate laps: green (by the record's status codes, else by
  // the statuses seen while the lap was open), timed, not in/out, known age.
  const bool green = lc.track_status.empty() ? c.lap.open && c.lap.status_mask == status_bit(TrackStatus::Green)
                                             : green_only(lc.track_status);
  const bool candidate = !in_lap && !out_lap && green && lc.lap_time_s && c.tyre_age;
  std::optional<double> corrected;
  if (candidate) {
    if (f.fuel_kg_est) corrected = *lc.lap_time_s - config.fuel_effect_s_per_kg * *f.fuel_kg_est;
    c.stint_laps.push_back(StintLap{lap, static_cast<double>(*c.tyre_age), *lc.lap_time_s, corrected});
  }

  // Clean laps (lap 1 excluded: a standing start) within 107 % of the stint's fastest.
  double fastest_clean = std::numeric_limits<double>::infinity();
  for (const auto& l : c.stint_laps) {
    if (l.lap > 1) fastest_clean = std::min(fastest_clean, l.lap_time_s);
  }
  for (const auto& l : c.stint_laps) {
    if (l.lap > 1 && l.lap_time_s <= config.clean_lap_max_ratio * fastest_clean) {
      r.recent_clean_laps_s.push_back(l.lap_time_s);
    }
  }
  constexpr std::size_t kRecentClean = 5;
  if (r.recent_clean_laps_s.size() > kRecentClean) {
    r.recent_clean_laps_s.erase(r.recent_clean_laps_s.begin(), r.recent_clean_laps_s.end() - kRecentClean);
  }
  r.flags.clean = candidate && lap > 1 && *lc.lap_time_s <= config.clean_lap_max_ratio * fastest_clean;
  if (!r.recent_clean_laps_s.empty()) c.last_clean_s = r.recent_clean_laps_s.back();
  r.prev_clean_lap_s = c.last_clean_s;
  if (r.flags.clean) {
    r.corrected_lap_s = *lc.lap_time_s - config.fuel_effect_s_per_kg * f.fuel_kg_est.value_or(0.0);
    if (!c.stint_best_corrected_s || *r.corrected_lap_s < *c.stint_best_corrected_s) {
      c.stint_best_corrected_s = r.corrected_lap_s;
    }
  }
  r.stint_best_corrected_s = c.stint_best_corrected_s;

  // Degradation slope over the stint's candidates with a fuel estimate, within 107 % of their fastest.
  std::size_t with_fuel = 0;
  double fastest = std::numeric_limits<double>::infinity();
  for (const auto& l : c.stint_laps) {
    if (!l.corrected_s) continue;
    ++with_fuel;
    fastest = std::min(fastest, l.lap_time_s);
  }
  if (with_fuel >= 3) {
    std::vector<double> x, y;
    x.reserve(with_fuel);
    y.reserve(with_fuel);
    for (const auto& l : c.stint_laps) {
      if (l.corrected_s && l.lap_time_s <= config.clean_lap_max_ratio * fastest) {
        x.push_back(l.tyre_age);
        y.push_back(*l.corrected_s);
      }
    }
    if (x.size() >= 3) f.deg_slope_s_per_lap = least_squares_slope(x, y);
  }

  fill_gaps(e, r);
  c.prev_lap_in_lap = in_lap;
  c.pit_in_pending = false;
  c.pit_out_pending = false;
}

void SessionEngine::Impl::fill_gaps(const TimingEvent& e, ClosedLap& r) {
  LapFeatures& f = r.lap;
  // Gap and interval from the completion times of lap `lap`; the car ahead is
  // the last one over the line strictly before this one.
  auto& times = lap_times[f.lap];
  const std::pair<TimeNs, std::uint16_t> me{e.session_time_ns, e.car};
  const auto at = times.insert(std::upper_bound(times.begin(), times.end(), me), me);
  f.gap_to_leader_s = ns_to_s(e.session_time_ns - times.front().first);
  auto first_not_earlier =
      std::lower_bound(times.begin(), at, e.session_time_ns, [](const auto& x, TimeNs t) { return x.first < t; });
  if (first_not_earlier != times.begin()) {
    const auto& ahead = *(first_not_earlier - 1);
    f.interval_ahead_s = ns_to_s(e.session_time_ns - ahead.first);
    r.gap_ahead_s = f.interval_ahead_s;
    r.car_ahead = ahead.second;
  }
  // The car behind has not finished this lap yet: the one that followed this
  // car over the line on the previous lap.
  if (auto prev = lap_times.find(f.lap - 1); prev != lap_times.end()) {
    const auto& p = prev->second;
    auto it = std::find_if(p.begin(), p.end(), [&](const auto& x) { return x.second == e.car; });
    if (it != p.end() && std::next(it) != p.end()) {
      r.car_behind = std::next(it)->second;
      r.gap_behind_s = ns_to_s(std::next(it)->first - it->first);
    }
  }
}

void SessionEngine::Impl::on_lap(const TimingEvent& e, const LapCompleted& lc, OutputSink& out) {
  CarState& c = car_state(e.car, e.driver);
  // A repeated or older lap of this car (duplicate delivery) would count twice.
  if (c.last_completed_lap && lc.lap <= *c.last_completed_lap) return;
  if (!status_known && !lc.track_status.empty()) record_status = track_status_from_code(lc.track_status.back() - '0');

  ClosedLap r;
  LapFeatures& f = r.lap;
  f.car = e.car;
  f.driver = c.driver;
  f.lap = lc.lap;
  f.event_time_ns = e.event_time_ns;
  f.session_time_ns = e.session_time_ns;
  // Telemetry features only when both bounds are known and agree with the
  // timing: otherwise they would be computed over the wrong samples.
  const bool bounds_ok =
      c.lap.open && c.lap.lap == lc.lap && (!lc.lap_start_session_ns || *lc.lap_start_session_ns == c.lap.start_ns);
  if (bounds_ok) fill_telemetry(c, f);
  fill_timing(c, e, lc, r);
  r.track_status = status_now();
  r.session_name = session_name;

  // The chequered flag: the leader's final lap, then every car's next completion is its last.
  if (chequered || (scheduled_laps && *scheduled_laps > 0 && lc.lap >= *scheduled_laps)) {
    chequered = true;
    c.finished = true;
    r.last_lap = true;
  }

  c.last_completed_lap = lc.lap;
  leader_lap = std::max(leader_lap, lc.lap);
  c.leader_lap_at_last_completion = leader_lap;
  if (c.retired) {
    c.retired = false;  // it was only slow (a long stop): back in the race
    c.retired_reported = false;
    if (listener) listener->on_car(c.car, c.driver, CarChange::BackInRace, e.event_time_ns, out);
  }
  c.lap.restart(lc.lap + 1, e.session_time_ns, current_mask());
  if (listener) {
    out.emit(Output{LapFeatures(f)});
    listener->on_lap(r, out);
  } else {
    out.emit(Output{std::move(f)});
  }
  // Cars the leader has now left behind are out of the race.
  if (running()) {
    for (auto& [number, other] : cars) {
      if (!other.retired && !other.finished && left_behind(other)) retire(other, e.event_time_ns, out);
    }
  }
}

void SessionEngine::Impl::on_session(const TimingEvent& e, const SessionInfo& info, OutputSink& out) {
  if (info.scheduled_laps && *info.scheduled_laps > 0) scheduled_laps = info.scheduled_laps;
  if (!info.name.empty()) session_name = info.name;
  if (info.status == "Started") {
    race_start_ns = e.session_time_ns;
    // Lap 1 runs from the start; what came before is pre-race running.
    for (auto& [number, c] : cars) {
      if (!c.last_completed_lap) {
        c.lap.restart(1, e.session_time_ns, current_mask());
        c.leader_lap_at_last_completion = leader_lap;
      }
    }
  } else if ((info.status == "Finished" || info.status == "Finalised" || info.status == "Ends") && !finished) {
    finished = true;
    if (listener) listener->on_session_end(e.event_time_ns, out);
  }
}

void SessionEngine::Impl::on_status(const TimingEvent& e, const TrackStatusChange& change, OutputSink& out) {
  const TrackStatus before = status_known ? current_status : TrackStatus::Unknown;
  current_status = change.status;
  status_known = true;
  for (auto& [number, c] : cars) {
    if (c.lap.open) c.lap.status_mask |= status_bit(change.status);
  }
  if (listener) listener->on_track_status(before, change.status, e.event_time_ns, out);
}

void SessionEngine::Impl::tick(TimeNs watermark, OutputSink& out) {
  const TimeNs period = config.snapshot_period.count() > 0 ? config.snapshot_period.count() : kNsPerSecond;
  if (!tick_armed) {
    tick_armed = true;
    next_tick_ns = (floor_div(watermark, period) + 1) * period;
    return;
  }
  if (watermark < next_tick_ns) return;
  next_tick_ns = (floor_div(watermark, period) + 1) * period;

  // Retirements: silent while others report, or left behind by the leader.
  const TimeNs retire_ns = config.retire_after.count();
  if (running()) {
    bool someone_reports = false;
    for (const auto& [number, c] : cars) {
      if (c.has_last && watermark - c.last_event_ns <= retire_ns) someone_reports = true;
    }
    for (auto& [number, c] : cars) {
      if (c.retired || c.finished) continue;
      const bool silent = someone_reports && c.has_last && watermark - c.last_event_ns > retire_ns;
      if (silent || left_behind(c)) retire(c, watermark, out);
    }
  }
  if (config.snapshot_period.count() <= 0) return;

  const TimeNs now_second = floor_div(watermark, kPaneNs);
  const TimeNs tumbling_end = floor_div(now_second, kTumblingSeconds) * kTumblingSeconds;
  for (auto& [number, c] : cars) {
    if (c.retired_reported) continue;  // retired cars stop emitting after saying so once
    // A car that took the chequered flag stops emitting once it falls silent (parc fermé).
    if (c.finished && c.has_last && watermark - c.last_event_ns > retire_ns) continue;
    if (!c.has_last && !c.retired) continue;
    FeatureSnapshot s;
    s.car = c.car;
    s.driver = c.driver;
    s.event_time_ns = watermark;
    s.lap = c.lap.open ? c.lap.lap : 0;
    s.retired = c.retired;
    if (c.retired) c.retired_reported = true;
    if (c.has_last) {
      s.last_sample_age_s = std::max(0.0, ns_to_s(watermark - c.last_event_ns));
      const WindowStats w30 = c.window(now_second - kSlidingSeconds, now_second);
      const TimeNs seen_s =
          std::max<TimeNs>(1, std::min<TimeNs>(kSlidingSeconds, now_second - floor_div(c.first_event_ns, kPaneNs)));
      s.samples_per_s = static_cast<double>(w30.n) / static_cast<double>(seen_s);
      if (w30.n > 0) {
        s.w30_mean_speed = w30.speed_sum / w30.n;
        s.w30_max_speed = w30.speed_max;
        s.w30_brake_frac = static_cast<double>(w30.brake_n) / w30.n;
        if (w30.throttle_n > 0) s.w30_mean_throttle = w30.throttle_sum / w30.throttle_n;
      }
      const WindowStats w5 = c.window(tumbling_end - kTumblingSeconds, tumbling_end);
      if (w5.n > 0) {
        s.w5_mean_speed = w5.speed_sum / w5.n;
        s.w5_max_speed = w5.speed_max;
        s.w5_brake_frac = static_cast<double>(w5.brake_n) / w5.n;
        if (w5.throttle_n > 0) s.w5_mean_throttle = w5.throttle_sum / w5.throttle_n;
      }
    }
    out.emit(Output{std::move(s)});
  }
}

// ------------------------------------------------------------------ public API

SessionEngine::SessionEngine(FeatureConfig config, RaceListener* listener)
    : impl_(std::make_unique<Impl>(std::move(config), listener)) {}
SessionEngine::~SessionEngine() = default;
SessionEngine::SessionEngine(SessionEngine&&) noexcept = default;
SessionEngine& SessionEngine::operator=(SessionEngine&&) noexcept = default;

Placement SessionEngine::on_sample(const TelemetrySample& sample, bool late, OutputSink& /*out*/) {
  return impl_->on_sample(sample, late);
}

void SessionEngine::on_timing(const TimingEvent& event, OutputSink& out) {
  Impl& m = *impl_;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, LapCompleted>) {
          m.on_lap(event, body, out);
        } else if constexpr (std::is_same_v<T, PitIn>) {
          m.pit(event, true, out);
        } else if constexpr (std::is_same_v<T, PitOut>) {
          m.pit(event, false, out);
        } else if constexpr (std::is_same_v<T, TrackStatusChange>) {
          m.on_status(event, body, out);
        } else if constexpr (std::is_same_v<T, SessionInfo>) {
          m.on_session(event, body, out);
        }
        // Weather and race control messages carry no per-lap feature.
      },
      event.body);
}

void SessionEngine::on_watermark(TimeNs watermark, OutputSink& out) { impl_->tick(watermark, out); }

bool SessionEngine::repeats(const TimingEvent& event) const {
  const auto* lap = std::get_if<LapCompleted>(&event.body);
  if (!lap) return false;
  auto it = impl_->cars.find(event.car);
  return it != impl_->cars.end() && it->second.last_completed_lap && lap->lap <= *it->second.last_completed_lap;
}

Error sample_error(Placement placement, const TelemetrySample& sample) {
  if (placement == Placement::LapClosed) {
    return Error{Reason::Late, "late sample for a lap already closed (car " + std::to_string(sample.car) + ")"};
  }
  return Error{Reason::TimeWentBackwards,
               "session time went back for car " + std::to_string(sample.car) + " while event time advanced"};
}

Result<Applied> FeatureHandler::on_record(const Input& record, bool late, OutputSink& out) {
  TimeNs t = 0;
  if (const auto* sample = std::get_if<TelemetrySample>(&record)) {
    const Placement placement = engine_.on_sample(*sample, late, out);
    if (placement != Placement::Accepted) return sample_error(placement, *sample);
    t = sample->event_time_ns;
  } else {
    const auto& event = std::get<TimingEvent>(record);
    if (engine_.repeats(event)) return Applied::Duplicate;
    engine_.on_timing(event, out);
    t = event.event_time_ns;
  }
  if (!late && t > clock_) {
    clock_ = t;
    engine_.on_watermark(t, out);
  }
  return Applied::Ok;
}

std::size_t SessionEngine::car_count() const { return impl_->cars.size(); }

bool SessionEngine::finished() const { return impl_->finished; }

TrackStatus SessionEngine::track_status() const { return impl_->status_now(); }

}  // namespace boxcall::features
