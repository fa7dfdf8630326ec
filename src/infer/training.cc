#include "infer/training.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>

#include "base/drive.h"
#include "base/fastf1_tables.h"
#include "base/result.h"
#include "base/time_text.h"
#include "features/definitions.h"
#include "features/session_engine.h"
#include "infer/ergast.h"
#include "infer/monte_carlo.h"
#include "infer/priors.h"
#include "infer/xgb_model.h"
#include "infer/xgb_predictor.h"

namespace boxcall::infer {
namespace fs = std::filesystem;

namespace {

// Ordering of timing events at equal times, as the FastF1 reader does.
enum class Rank : int { Status = 0, Started = 2, Pit = 3, Lap = 4, Finished = 5 };

struct Pending {
  TimeNs t;
  Rank rank;
  std::uint16_t car;
  std::size_t seq;
  TimingEvent event;
};

constexpr TimeNs kOfflineEpochNs = 978'307'200LL * kNsPerSecond;

class EventList {
 public:
  void add(TimeNs t, Rank rank, std::uint16_t car, DriverCode driver, TimingBody body) {
    TimingEvent e;
    e.car = car;
    e.driver = driver;
    e.session_time_ns = t;
    // Offline: event time = session time from a fixed epoch (2001-01-01 UTC),
    // inside the range the live path's validation accepts.
    e.event_time_ns = kOfflineEpochNs + t;
    e.body = std::move(body);
    items_.push_back(Pending{t, rank, car, items_.size(), std::move(e)});
  }
  std::vector<TimingEvent> take() {
    std::sort(items_.begin(), items_.end(), [](const Pending& a, const Pending& b) {
      if (a.t != b.t) return a.t < b.t;
      if (a.rank != b.rank) return a.rank < b.rank;
      if (a.car != b.car) return a.car < b.car;
      return a.seq < b.seq;
    });
    std::vector<TimingEvent> out;
    out.reserve(items_.size());
    for (auto& p : items_) out.push_back(std::move(p.event));
    return out;
  }

 private:
  std::vector<Pending> items_;
};

void add_session_bounds(EventList& list, TimeNs start, TimeNs end, int scheduled_laps) {
  SessionInfo started;
  started.status = "Started";
  started.scheduled_laps = scheduled_laps;
  list.add(start, Rank::Started, 0, DriverCode{}, std::move(started));
  SessionInfo finished;
  finished.status = "Finished";
  finished.scheduled_laps = scheduled_laps;
  list.add(end, Rank::Finished, 0, DriverCode{}, std::move(finished));
}

// Ergast: lap times + pit stops -> the LapCompleted events a feed would have sent.
RaceEvents ergast_race(const ergast::Archive& a, const ergast::Race& race, const std::vector<ergast::Lap>& laps) {
  RaceEvents r;
  r.source = "ergast";
  r.year = race.year;
  r.round = race.round;
  char id[96];
  std::snprintf(id, sizeof id, "%d_%02d_%s", race.year, race.round, ergast::key(race.circuit_ref).c_str());
  r.id = id;

  std::map<int, std::map<int, ergast::Lap>> by_driver;
  int scheduled = 0;
  for (const auto& l : laps) {
    by_driver[l.driver][l.lap] = l;
    scheduled = std::max(scheduled, l.lap);
  }
  EventList list;
  std::map<int, TimeNs> leader_t;  // lap -> first completion
  TimeNs end = 0;
  for (const auto& [driver, dl] : by_driver) {
    const auto car = static_cast<std::uint16_t>(driver % 60000 + 1);
    char code_text[8];
    std::snprintf(code_text, sizeof code_text, "D%d", driver % 10000);
    const DriverCode code(code_text);
    std::vector<int> in_laps;
    if (auto it = a.pit_laps.find({race.id, driver}); it != a.pit_laps.end()) in_laps = it->second;
    TimeNs t = 0;
    int expected = 1;
    for (const auto& [n, l] : dl) {
      if (n != expected) break;  // a gap in the timing: the rest cannot be placed in time
      ++expected;
      const TimeNs start = t;
      t += s_to_ns(l.time_s);
      const bool in_lap = std::find(in_laps.begin(), in_laps.end(), n) != in_laps.end();
      const bool out_lap = std::find(in_laps.begin(), in_laps.end(), n - 1) != in_laps.end();
      int stint = 1, last_in = 0;
      for (int p : in_laps) {
        if (p < n) {
          ++stint;
          last_in = p;
        }
      }
      LapCompleted lc;
      lc.lap = n;
      lc.lap_time_s = l.time_s;
      if (l.position > 0) lc.position = l.position;
      lc.compound = Compound::Unknown;
      lc.stint = stint;
      lc.tyre_life = n - last_in;
      lc.lap_start_session_ns = start;
      lc.track_status = ergast::under_safety_car(a, race.id, n) ? "4" : "1";
      if (in_lap) {
        lc.pit_in_session_ns = t - kNsPerSecond;
        list.add(*lc.pit_in_session_ns, Rank::Pit, car, code, PitIn{});
      }
      if (out_lap) {
        lc.pit_out_session_ns = start + kNsPerSecond;
        list.add(*lc.pit_out_session_ns, Rank::Pit, car, code, PitOut{});
      }
      list.add(t, Rank::Lap, car, code, std::move(lc));
      auto [it, inserted] = leader_t.emplace(n, t);
      if (!inserted) it->second = std::min(it->second, t);
      end = std::max(end, t);
    }
  }
  if (auto sc = a.safety_cars.find(race.id); sc != a.safety_cars.end()) {
    for (const auto& [deployed, retreated] : sc->second) {
      auto from = leader_t.find(deployed - 1);
      TrackStatusChange on;
      on.status = TrackStatus::SafetyCar;
      list.add(from == leader_t.end() ? 0 : from->second, Rank::Status, 0, DriverCode{}, std::move(on));
      if (auto to = leader_t.find(retreated); to != leader_t.end()) {
        TrackStatusChange off;
        off.status = TrackStatus::Green;
        list.add(to->second, Rank::Status, 0, DriverCode{}, std::move(off));
      }
    }
  }
  TrackStatusChange green;
  green.status = TrackStatus::Green;
  list.add(0, Rank::Status, 0, DriverCode{}, std::move(green));
  add_session_bounds(list, 0, end, scheduled);
  r.events = list.take();
  return r;
}

}  // namespace

RaceEvents load_fastf1_race(const fs::path& dir, int year, int round) {
  const FastF1Laps laps = read_fastf1_laps(dir / "laps.csv");

  RaceEvents r;
  r.source = "fastf1";
  r.year = year;
  r.round = round;
  std::string venue = dir.filename().string();
  if (auto us = venue.find('_'); us != std::string::npos) venue = venue.substr(us + 1);
  char id[96];
  std::snprintf(id, sizeof id, "%d_%02d_%s", year, round, ergast::key(venue).c_str());
  r.id = id;

  EventList list;
  int scheduled = 0;
  std::optional<TimeNs> lap1_start, last_time;
  for (const FastF1Lap& row : laps.rows) {
    const std::uint16_t car = row.car;
    const DriverCode driver = row.driver;
    scheduled = std::max(scheduled, row.lap.lap);
    LapCompleted lc = row.lap;
    // The models were trained without sector times: the events carry none.
    lc.sector1_s = lc.sector2_s = lc.sector3_s = std::nullopt;
    if (lc.lap == 1 && lc.lap_start_session_ns) {
      lap1_start = lap1_start ? std::min(*lap1_start, *lc.lap_start_session_ns) : *lc.lap_start_session_ns;
    }
    if (lc.pit_in_session_ns) list.add(*lc.pit_in_session_ns, Rank::Pit, car, driver, PitIn{});
    if (lc.pit_out_session_ns) list.add(*lc.pit_out_session_ns, Rank::Pit, car, driver, PitOut{});
    if (!row.time) continue;
    last_time = last_time ? std::max(*last_time, *row.time) : *row.time;
    list.add(*row.time, Rank::Lap, car, driver, std::move(lc));
  }
  if (fs::is_regular_file(dir / "track_status.csv")) {
    // Training's events carry the status only, not the message.
    for (const FastF1TrackStatus& row : read_fastf1_track_status(dir / "track_status.csv").rows) {
      TrackStatusChange change;
      change.status = track_status_from_code(row.code);
      list.add(row.time, Rank::Status, 0, DriverCode{}, std::move(change));
    }
  }
  if (lap1_start && last_time) add_session_bounds(list, *lap1_start, *last_time, scheduled);
  r.events = list.take();
  return r;
}

std::vector<RaceEvents> load_races(const fs::path& data_dir, bool with_ergast) {
  std::vector<RaceEvents> races;
  const fs::path fastf1 = data_dir / "fastf1";
  if (!fs::is_directory(fastf1)) throw ConfigError("data directory has no fastf1/: " + data_dir.string());
  std::set<int> fastf1_orders;
  std::vector<fs::path> seasons;
  for (const auto& e : fs::directory_iterator(fastf1)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.find("_season_laps") != std::string::npos) seasons.push_back(e.path());
  }
  std::sort(seasons.begin(), seasons.end());
  for (const auto& season : seasons) {
    const int year = std::atoi(season.filename().string().c_str());
    for (const auto& e : fs::directory_iterator(season)) {
      if (!e.is_directory() || !fs::is_regular_file(e.path() / "laps.csv")) continue;
      const int round = std::atoi(e.path().filename().string().c_str());
      if (year <= 0 || round <= 0) continue;
      races.push_back(load_fastf1_race(e.path(), year, round));
      fastf1_orders.insert(races.back().order());
    }
  }
  if (with_ergast) {
    const ergast::Archive a = ergast::load(data_dir / "ergast", /*with_laps=*/true);
    for (const auto& [id, laps] : a.laps) {
      auto it = a.races.find(id);
      if (it == a.races.end()) continue;
      if (fastf1_orders.contains(it->second.year * 100 + it->second.round)) continue;  // FastF1 has compounds
      races.push_back(ergast_race(a, it->second, laps));
    }
  }
  std::sort(races.begin(), races.end(), [](const RaceEvents& x, const RaceEvents& y) {
    return x.order() != y.order() ? x.order() < y.order() : x.id < y.id;
  });
  return races;
}

std::vector<std::vector<LapRecord>> run_race(const RaceEvents& race) {
  struct Collect final : features::RaceListener {
    std::map<std::uint16_t, std::vector<LapRecord>> by_car;
    void on_lap(const features::ClosedLap& lap, OutputSink&) override {
      by_car[lap.lap.car].push_back(LapRecord{LapContext{lap}, lap.flags});
    }
    void on_car(std::uint16_t, DriverCode, features::CarChange, TimeNs, OutputSink&) override {}
    void on_track_status(TrackStatus, TrackStatus, TimeNs, OutputSink&) override {}
    void on_session_end(TimeNs, OutputSink&) override {}
  } collect;
  struct Discard final : OutputSink {
    void emit(Output&&) override {}
  } discard;
  features::FeatureConfig fc;
  fc.snapshot_period = std::chrono::nanoseconds(0);
  features::FeatureHandler handler(fc, &collect);
  // The live path's validation and deduplication; a record it would
  // dead-letter does not reach the models either.
  Driver driver(handler, discard);
  for (const auto& e : race.events) driver.feed(Input{e});
  std::vector<std::vector<LapRecord>> out;
  for (auto& [car, laps] : collect.by_car) out.push_back(std::move(laps));
  return out;
}

void add_stint_lengths(const std::vector<std::vector<LapRecord>>& race, std::array<std::vector<double>, 3>& lengths,
                       std::int32_t min_laps) {
  for (const auto& car : race) {
    for (std::size_t i = 0; i < car.size(); ++i) {
      const bool stint_ends = i + 1 == car.size() || car[i + 1].ctx.new_stint;
      const LapFeatures& lap = car[i].ctx.lap;
      if (!stint_ends || !lap.tyre_age || *lap.tyre_age < min_laps) continue;
      for (std::size_t c = 0; c < kDryCompounds.size(); ++c) {
        if (lap.compound == kDryCompounds[c]) lengths[c].push_back(*lap.tyre_age);
      }
    }
  }
}

std::array<double, 3> usable_tyre_life(std::array<std::vector<double>, 3> lengths, double quantile,
                                       std::size_t min_stints) {
  std::array<double, 3> life{};
  for (std::size_t c = 0; c < lengths.size(); ++c) {
    auto& v = lengths[c];
    if (v.size() < min_stints) continue;
    std::sort(v.begin(), v.end());
    // Linear interpolation between order statistics (type 7, as numpy's default).
    const double at = std::clamp(quantile, 0.0, 1.0) * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(at));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    life[c] = v[lo] + (at - static_cast<double>(lo)) * (v[hi] - v[lo]);
  }
  return life;
}

Split split_by_time(const std::vector<RaceEvents>& races, int validation_races) {
  std::vector<std::size_t> fastf1;
  for (std::size_t i = 0; i < races.size(); ++i) {
    if (races[i].source == "fastf1") fastf1.push_back(i);
  }
  std::sort(fastf1.begin(), fastf1.end(),
            [&](std::size_t a, std::size_t b) { return races[a].order() < races[b].order(); });
  Split s;
  const std::size_t n = std::min<std::size_t>(fastf1.size(), static_cast<std::size_t>(std::max(0, validation_races)));
  s.validation.assign(fastf1.end() - static_cast<std::ptrdiff_t>(n), fastf1.end());
  const int first_val = s.validation.empty() ? std::numeric_limits<int>::max() : races[s.validation.front()].order();
  for (std::size_t i = 0; i < races.size(); ++i) {
    if (races[i].order() < first_val) s.train.push_back(i);
  }
  return s;
}

void add_rows(ModelKind kind, const std::vector<std::vector<LapRecord>>& race, Rows& rows) {
  const std::size_t cols = feature_names(kind).size();
  rows.cols = cols;
  int last_lap = 0;
  for (const auto& car : race) {
    if (!car.empty()) last_lap = std::max(last_lap, car.back().ctx.lap.lap);
  }
  std::array<float, kMaxFeatures> x{};
  auto push = [&](const LapRecord& r, float y, float ref) {
    fill_features(kind, r.ctx, x);
    rows.x.insert(rows.x.end(), x.begin(), x.begin() + static_cast<std::ptrdiff_t>(cols));
    rows.y.push_back(y);
    rows.ref_s.push_back(ref);
    rows.compound.push_back(r.ctx.lap.compound);
    rows.tyre_age.push_back(r.ctx.lap.tyre_age.value_or(-1));
  };
  for (const auto& car : race) {
    for (std::size_t i = 0; i < car.size(); ++i) {
      const LapRecord& r = car[i];
      const int lap = r.ctx.lap.lap;
      if (kind == ModelKind::LapTimeDelta) {
        if (i + 1 >= car.size() || car[i + 1].ctx.lap.lap != lap + 1) continue;
        const LapRecord& next = car[i + 1];
        const auto ref = reference_lap_s(r.ctx);
        if (!next.flags.clean || !ref || !next.ctx.lap.lap_time_s) continue;
        push(r, static_cast<float>(*next.ctx.lap.lap_time_s - *ref), static_cast<float>(*ref));
      } else {
        // Label: an in-lap among the next 3 laps; the car must be seen on each
        // of them unless the race ends first (a retirement leaves it unknown).
        bool known = true, pits = false;
        for (int k = 1; k <= 3; ++k) {
          if (lap + k > last_lap) break;
          const std::size_t j = i + static_cast<std::size_t>(k);
          if (j >= car.size() || car[j].ctx.lap.lap != lap + k) {
            known = false;
            break;
          }
          pits = pits || car[j].flags.in_lap;
        }
        if (!known) continue;
        push(r, pits ? 1.0F : 0.0F, std::numeric_limits<float>::quiet_NaN());
      }
    }
  }
}

double roc_auc(const std::vector<float>& y, const std::vector<double>& p) {
  std::vector<std::size_t> idx(y.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
  double rank_sum = 0, pos = 0;
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j < idx.size() && p[idx[j]] == p[idx[i]]) ++j;
    const double avg_rank = 0.5 * static_cast<double>(i + 1 + j);  // ranks i+1..j
    for (std::size_t k = i; k < j; ++k) {
      if (y[idx[k]] > 0.5F) {
        rank_sum += avg_rank;
        pos += 1;
      }
    }
    i = j;
  }
  const double neg = static_cast<double>(y.size()) - pos;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

double brier(const std::vector<float>& y, const std::vector<double>& p) {
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += (p[i] - y[i]) * (p[i] - y[i]);
  return y.empty() ? 0 : s / static_cast<double>(y.size());
}

namespace {

struct DMatrixFree {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct BoosterFree {
  void operator()(void* h) const { XGBoosterFree(h); }
};

constexpr float kMaxTrainDeltaS = 5.0F;

template <typename Keep>
Rows keep_rows(const Rows& in, Keep keep) {
  Rows out;
  out.cols = in.cols;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (!keep(in.y[i])) continue;
    out.x.insert(out.x.end(), in.x.begin() + static_cast<std::ptrdiff_t>(i * in.cols),
                 in.x.begin() + static_cast<std::ptrdiff_t>((i + 1) * in.cols));
    out.y.push_back(in.y[i]);
    out.ref_s.push_back(in.ref_s[i]);
    out.compound.push_back(in.compound[i]);
    out.tyre_age.push_back(in.tyre_age[i]);
  }
  return out;
}

void xgb_check(int rc, const char* what) {
  if (rc != 0) throw ConfigError(std::string(what) + ": " + XGBGetLastError());
}

std::string fnv_hex(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::uint32_t h = 2166136261U;
  char c = 0;
  while (in.get(c)) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619U;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

// Trains one booster and saves it to `file`.
void train_booster(const Rows& rows, const std::vector<std::pair<std::string, std::string>>& params, int rounds,
                   const fs::path& file) {
  DMatrixHandle dm = nullptr;
  xgb_check(XGDMatrixCreateFromMat(rows.x.data(), rows.size(), rows.cols, std::numeric_limits<float>::quiet_NaN(), &dm),
            "XGDMatrixCreateFromMat");
  std::unique_ptr<void, DMatrixFree> dmatrix(dm);
  xgb_check(XGDMatrixSetFloatInfo(dm, "label", rows.y.data(), rows.size()), "XGDMatrixSetFloatInfo");
  BoosterHandle b = nullptr;
  xgb_check(XGBoosterCreate(&dm, 1, &b), "XGBoosterCreate");
  std::unique_ptr<void, BoosterFree> booster(b);
  for (const auto& [k, v] : params) xgb_check(XGBoosterSetParam(b, k.c_str(), v.c_str()), "XGBoosterSetParam");
  for (int it = 0; it < rounds; ++it) xgb_check(XGBoosterUpdateOneIter(b, it, dm), "XGBoosterUpdateOneIter");
  // Written beside, then renamed: a watching ModelStore never reads half a file.
  // (The extension picks XGBoost's format, so the temporary name keeps it.)
  fs::path tmp = file;
  tmp.replace_extension(".tmp" + file.extension().string());
  xgb_check(XGBoosterSaveModel(b, tmp.string().c_str()), "XGBoosterSaveModel");
  fs::rename(tmp, file);
}

void write_json(const nlohmann::json& j, const fs::path& file) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(1) << '\n';
    if (!out) throw ConfigError("cannot write " + tmp.string());
  }
  fs::rename(tmp, file);
}

// Tyre-age-by-compound rule: the training split's rate of "pits within 3
// laps" per (compound, 5-lap tyre-age bucket), shrunk toward the compound's rate.
struct PitRule {
  std::map<std::pair<int, int>, std::pair<double, double>> cells;  // (compound, bucket) -> (pits, rows)
  std::map<int, std::pair<double, double>> by_compound;
  double overall = 0.1;
  static int bucket(std::int32_t age) { return age < 0 ? -1 : std::min(age / 5, 10); }
  void fit(const Rows& r) {
    double pos = 0;
    for (std::size_t i = 0; i < r.size(); ++i) {
      const int c = static_cast<int>(r.compound[i]);
      auto& cell = cells[{c, bucket(r.tyre_age[i])}];
      cell.first += r.y[i];
      cell.second += 1;
      auto& comp = by_compound[c];
      comp.first += r.y[i];
      comp.second += 1;
      pos += r.y[i];
    }
    overall = r.size() > 0 ? pos / static_cast<double>(r.size()) : 0.1;
  }
  [[nodiscard]] double predict(Compound compound, std::int32_t age) const {
    const int c = static_cast<int>(compound);
    double prior = overall;
    if (auto it = by_compound.find(c); it != by_compound.end())
      prior = (it->second.first + 5 * overall) / (it->second.second + 5);
    auto it = cells.find({c, bucket(age)});
    if (it == cells.end()) return prior;
    return (it->second.first + 5 * prior) / (it->second.second + 5);
  }
};

}  // namespace

std::string TrainReport::table() const {
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "races: %zu train, %zu validation (%s .. %s)\n"
                "| model | metric (validation) | model | baseline | baseline name | rows (train / val) |\n"
                "|---|---|---|---|---|---|\n"
                "| lap_time | MAE on clean laps, s | %.3f | %.3f | previous clean lap | %zu / %zu |\n"
                "| lap_time x %.2f (next_lap_shrink, fitted on validation) | MAE on clean laps, s | %.3f | %.3f | "
                "previous clean lap | %zu / %zu |\n"
                "| pit_3 | ROC AUC | %.3f | %.3f | tyre-age-by-compound rate | %zu / %zu |\n"
                "| pit_3 | Brier | %.4f | %.4f | tyre-age-by-compound rate (constant rate: %.4f) | %zu / %zu |\n"
                "usable tyre life (training stints): soft %.1f, medium %.1f, hard %.1f laps\n"
                "versions: %s, %s; %.1f s\n",
                train_races, validation_races, validation_ids.empty() ? "-" : validation_ids.front().c_str(),
                validation_ids.empty() ? "-" : validation_ids.back().c_str(), lap_mae_model, lap_mae_prev_clean,
                lap_train_rows, lap_val_rows, lap_shrink, lap_mae_shrunk, lap_mae_prev_clean, lap_train_rows,
                lap_val_rows, pit_auc_model, pit_auc_baseline, pit_train_rows, pit_val_rows, pit_brier_model,
                pit_brier_baseline, pit_brier_prevalence, pit_train_rows, pit_val_rows, tyre_life_laps[0],
                tyre_life_laps[1], tyre_life_laps[2], lap_version.c_str(), pit_version.c_str(), seconds);
  return buf;
}

TrainReport train_models(const TrainConfig& config) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<RaceEvents> races = load_races(config.data_dir, config.with_ergast);
  if (config.max_races && static_cast<std::size_t>(*config.max_races) < races.size()) {
    races.resize(static_cast<std::size_t>(*config.max_races));
  }
  const Split split = split_by_time(races, config.validation_races);
  if (split.train.empty() || split.validation.empty()) {
    throw ConfigError("not enough races under " + config.data_dir.string() + " for a time split (" +
                      std::to_string(split.train.size()) + " train, " + std::to_string(split.validation.size()) +
                      " validation)");
  }
  Rows lap_train, lap_val, pit_train, pit_val;
  std::array<std::vector<double>, 3> stint_lengths;
  for (std::size_t i : split.train) {
    const auto laps = run_race(races[i]);
    add_stint_lengths(laps, stint_lengths);
    if (config.lap_with_ergast || races[i].source != "ergast") add_rows(ModelKind::LapTimeDelta, laps, lap_train);
    add_rows(ModelKind::PitWithin3, laps, pit_train);
  }
  for (std::size_t i : split.validation) {
    const auto laps = run_race(races[i]);
    add_rows(ModelKind::LapTimeDelta, laps, lap_val);
    add_rows(ModelKind::PitWithin3, laps, pit_val);
  }
  // Regime changes (rain, a restart after a red flag) put the next clean lap
  // seconds away from the reference: not what this model is for, and they
  // teach it to extrapolate from slow laps. Training rows only; validation keeps every row.
  lap_train = keep_rows(lap_train, [](float y) { return std::abs(y) <= kMaxTrainDeltaS; });
  if (lap_train.size() == 0 || pit_train.size() == 0 || lap_val.size() == 0 || pit_val.size() == 0) {
    throw ConfigError("no training rows built from " + config.data_dir.string());
  }

  fs::create_directories(config.out_dir);
  const std::vector<std::pair<std::string, std::string>> common{{"tree_method", "hist"},
                                                                {"max_depth", std::to_string(config.max_depth)},
                                                                {"eta", std::to_string(config.eta)},
                                                                {"subsample", "0.8"},
                                                                {"colsample_bytree", "0.9"},
                                                                {"min_child_weight", "20"},
                                                                {"max_bin", "128"},
                                                                {"seed", std::to_string(config.seed)},
                                                                {"nthread", std::to_string(config.nthread)},
                                                                {"verbosity", "0"}};
  auto with = [&](std::vector<std::pair<std::string, std::string>> extra) {
    auto p = common;
    p.insert(p.end(), extra.begin(), extra.end());
    return p;
  };

  TrainReport rep;
  rep.train_races = split.train.size();
  rep.validation_races = split.validation.size();
  for (std::size_t i : split.validation) rep.validation_ids.push_back(races[i].id);
  std::vector<std::string> train_ids;
  for (std::size_t i : split.train) train_ids.push_back(races[i].id);
  rep.lap_train_rows = lap_train.size();
  rep.lap_val_rows = lap_val.size();
  rep.pit_train_rows = pit_train.size();
  rep.pit_val_rows = pit_val.size();

  auto base_meta = [&](ModelKind kind, const std::string& version) {
    nlohmann::json m;
    m["version"] = version;
    m["kind"] = std::string(kind_name(kind));
    std::vector<std::string> names;
    for (auto n : feature_names(kind)) names.emplace_back(n);
    m["features"] = names;
    m["training"] = {
        {"races", train_ids.size()},
        {"first_race", train_ids.front()},
        {"last_race", train_ids.back()},
        {"sources", config.with_ergast ? "ergast 2020-2022 lap times + pit stops, fastf1 laps" : "fastf1 laps"}};
    m["validation_races"] = rep.validation_ids;
    m["params"] = {{"max_depth", config.max_depth},
                   {"eta", config.eta},
                   {"seed", config.seed},
                   {"rounds", kind == ModelKind::LapTimeDelta ? config.lap_rounds : config.pit_rounds}};
    m["xgboost"] = "1.7.4 C API";
    m["command"] = config.command;
    return m;
  };

  // --- lap-time delta model
  const fs::path lap_file = config.out_dir / kLapTimeModelFile;
  train_booster(lap_train, with({{"objective", "reg:absoluteerror"}, {"base_score", "0"}}), config.lap_rounds,
                lap_file);
  rep.lap_version = "lap_time@" + fnv_hex(lap_file);
  auto lap_meta = base_meta(ModelKind::LapTimeDelta, rep.lap_version);
  write_json(lap_meta, metadata_path(lap_file));
  {
    auto model = XgbModel::load(lap_file, kind_name(ModelKind::LapTimeDelta), feature_names(ModelKind::LapTimeDelta));
    if (!model) throw ConfigError(model.error().detail);
    double err_model = 0, err_base = 0;
    std::vector<double> predicted(lap_val.size());
    for (std::size_t i = 0; i < lap_val.size(); ++i) {
      const auto p = model->predict(std::span<const float>(&lap_val.x[i * lap_val.cols], lap_val.cols));
      predicted[i] = p.value_or(0.0);
      err_model += std::abs(predicted[i] - lap_val.y[i]);
      err_base += std::abs(lap_val.y[i]);
    }
    const auto n = static_cast<double>(lap_val.size());
    rep.lap_mae_model = err_model / n;
    rep.lap_mae_prev_clean = err_base / n;
    // The next-lap figure keeps the share of the predicted delta that is best out of sample:
    // one number, fitted on the validation split (0 would be the previous clean lap itself).
    rep.lap_shrink = 1.0;
    rep.lap_mae_shrunk = rep.lap_mae_model;
    for (int k = 0; k <= 20; ++k) {
      const double a = k / 20.0;
      double err = 0;
      for (std::size_t i = 0; i < lap_val.size(); ++i) err += std::abs(a * predicted[i] - lap_val.y[i]);
      if (err / n < rep.lap_mae_shrunk - 1e-12) rep.lap_shrink = a, rep.lap_mae_shrunk = err / n;
    }
  }
  lap_meta["next_lap_shrink"] = rep.lap_shrink;
  lap_meta["metrics"] = {{"split", "validation"},
                         {"rows", lap_val.size()},
                         {"mae_s_clean_laps", rep.lap_mae_model},
                         {"mae_s_clean_laps_shrunk", rep.lap_mae_shrunk},
                         {"baseline_previous_clean_lap_mae_s", rep.lap_mae_prev_clean}};
  write_json(lap_meta, metadata_path(lap_file));

  // --- pit-within-3 model
  const fs::path pit_file = config.out_dir / kPitModelFile;
  train_booster(pit_train, with({{"objective", "binary:logistic"}, {"eval_metric", "logloss"}}), config.pit_rounds,
                pit_file);
  rep.pit_version = "pit_3@" + fnv_hex(pit_file);
  auto pit_meta = base_meta(ModelKind::PitWithin3, rep.pit_version);
  write_json(pit_meta, metadata_path(pit_file));
  {
    auto model = XgbModel::load(pit_file, kind_name(ModelKind::PitWithin3), feature_names(ModelKind::PitWithin3));
    if (!model) throw ConfigError(model.error().detail);
    PitRule rule;
    rule.fit(pit_train);
    std::vector<double> pm, pb, pc;
    for (std::size_t i = 0; i < pit_val.size(); ++i) {
      pm.push_back(model->predict(std::span<const float>(&pit_val.x[i * pit_val.cols], pit_val.cols)).value_or(0.0));
      pb.push_back(rule.predict(pit_val.compound[i], pit_val.tyre_age[i]));
      pc.push_back(rule.overall);
    }
    rep.pit_auc_model = roc_auc(pit_val.y, pm);
    rep.pit_auc_baseline = roc_auc(pit_val.y, pb);
    rep.pit_brier_model = brier(pit_val.y, pm);
    rep.pit_brier_baseline = brier(pit_val.y, pb);
    rep.pit_brier_prevalence = brier(pit_val.y, pc);
  }
  pit_meta["metrics"] = {{"split", "validation"},
                         {"rows", pit_val.size()},
                         {"roc_auc", rep.pit_auc_model},
                         {"brier", rep.pit_brier_model},
                         {"baseline_tyre_age_by_compound_roc_auc", rep.pit_auc_baseline},
                         {"baseline_tyre_age_by_compound_brier", rep.pit_brier_baseline},
                         {"baseline_constant_rate_brier", rep.pit_brier_prevalence}};
  write_json(pit_meta, metadata_path(pit_file));

  if (config.write_priors) {
    StrategyPriors priors = build_priors(config.data_dir / "ergast");
    // One tyre life per compound for every circuit: the training split has
    // one race per circuit at most, too few to tell circuits apart.
    rep.tyre_life_laps = usable_tyre_life(stint_lengths, config.tyre_life_quantile);
    priors.overall.tyre_life_laps = rep.tyre_life_laps;
    for (auto& [name, c] : priors.circuits) c.tyre_life_laps = rep.tyre_life_laps;
    save_priors(priors, config.out_dir / kPriorsFile,
                "boxcall train: Ergast pit stops + lap times 2020-2022, safety cars 2014-2022; tyre life: "
                "the training split's FastF1 stints");
  }
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rep;
}

}  // namespace boxcall::infer
