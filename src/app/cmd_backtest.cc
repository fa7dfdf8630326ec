// `boxcall backtest`: the strategy's offline twin. Runs the very same feature
// engine and strategy engine as the live path over a recorded race (a FastF1
// laps table, with or without car data) and writes one CSV row per (driver,
// lap) with the decision taken at the end of that lap. Definitions:
// docs/strategy.md.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/models.h"
#include "base/result.h"
#include "base/validate.h"
#include "features/session_engine.h"
#include "infer/pipeline.h"
#include "sources/drive.h"
#include "sources/fastf1_reader.h"

namespace boxcall::app {
namespace {

struct BacktestOptions {
  std::string laps;
  std::string car_data;
  std::string out;
  std::string models;
  bool no_models = false;
  std::string track_status;
  std::string alerts_out;
  std::string session;
  int scenarios = 1000;
};

class CollectingSink final : public OutputSink {
 public:
  void emit(Output&& output) override {
    if (auto* p = std::get_if<StrategyPrediction>(&output)) {
      predictions.push_back(std::move(*p));
    } else if (auto* a = std::get_if<Alert>(&output)) {
      alerts.push_back(std::move(*a));
    }
  }
  std::vector<StrategyPrediction> predictions;
  std::vector<Alert> alerts;
};

void put(std::string& row, double v) {
  char buf[32];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec == std::errc{}) row.append(buf, p);
}
void put(std::string& row, std::int32_t v) { row += std::to_string(v); }
template <typename T>
void put(std::string& row, const std::optional<T>& v) {
  if (v) put(row, *v);
}

std::string driver_text(std::uint16_t car, const DriverCode& d) { return d.empty() ? std::to_string(car) : d.str(); }

std::string csv_quoted(const std::string& s) {
  std::string r = "\"";
  for (char c : s) r += c == '"' ? std::string("\"\"") : std::string(1, c);
  return r + '"';
}

constexpr const char* kHeader =
    "driver,lap,p_pit_3,pred_next_lap_s,pit_window_start,pit_window_best,pit_window_end,next_compound,mode\n";

std::string csv_row(const StrategyPrediction& p) {
  std::string r = driver_text(p.car, p.driver);
  auto sep = [&r] { r += ','; };
  sep(), put(r, p.lap);
  sep(), put(r, p.p_pit_3);
  sep(), put(r, p.pred_next_lap_s);
  sep(), put(r, p.pit_window_start);
  sep(), put(r, p.pit_window_best);
  sep(), put(r, p.pit_window_end);
  sep();
  if (p.next_compound != Compound::Unknown) r += to_string(p.next_compound);
  sep(), r += to_string(p.mode);
  r += '\n';
  return r;
}

int run_backtest(const BacktestOptions& o) {
  namespace fs = std::filesystem;
  const auto started = std::chrono::steady_clock::now();
  try {
    if (!fs::is_regular_file(o.laps)) throw ConfigError("laps file not found: " + o.laps);
    if (!o.car_data.empty() && !fs::is_directory(o.car_data)) {
      throw ConfigError("car data directory not found: " + o.car_data);
    }
    if (o.scenarios < 1) throw ConfigError("--scenarios must be at least 1");
    sources::FastF1Paths paths;
    paths.car_data_dir = o.car_data;
    paths.laps_file = o.laps;
    // The shared layout keeps track_status.csv beside laps.csv: safety cars matter to the strategy.
    if (!o.track_status.empty()) {
      if (!fs::is_regular_file(o.track_status)) throw ConfigError("track status file not found: " + o.track_status);
      paths.track_status_file = o.track_status;
    } else if (auto beside = fs::path(o.laps).parent_path() / "track_status.csv"; fs::is_regular_file(beside)) {
      paths.track_status_file = beside;
    }
    sources::FastF1Reader reader(paths, o.session);

    // The models as `boxcall run` loads them (one default: the shipped models), or with --no-models
    // the documented fallback rules; said on stderr, and in every prediction's model_version.
    ModelsConfig models;
    models.dir = o.models;
    models.enabled = !o.no_models;
    models.reload_interval = std::chrono::milliseconds(0);
    models.fallback = "rules";
    const ModelSetup setup(models);
    auto predictor = setup.predictor()();
    std::fprintf(stderr, "backtest: %s\n", setup.describe().c_str());

    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    if (!out) throw ConfigError("cannot write " + o.out);

    features::FeatureConfig fc;
    fc.scheduled_laps = reader.scheduled_laps();
    fc.snapshot_period = std::chrono::nanoseconds(0);  // snapshots do not feed the strategy
    infer::StrategyConfig sc;
    sc.scenarios = o.scenarios;
    infer::SessionPipeline pipeline(
        reader.session_id(), fc, sc, [predictor] { return predictor; }, setup.priors());
    CollectingSink sink;
    // Same records as the live path: what it dead-letters is counted and skipped here.
    const sources::DriveStats drove = sources::drive(reader, pipeline, sink);
    const std::uint64_t invalid = drove.invalid + drove.rejected;

    std::stable_sort(sink.predictions.begin(), sink.predictions.end(),
                     [](const StrategyPrediction& a, const StrategyPrediction& b) {
                       const std::string da = driver_text(a.car, a.driver), db = driver_text(b.car, b.driver);
                       return da != db ? da < db : a.lap < b.lap;
                     });
    out << kHeader;
    for (const auto& p : sink.predictions) out << csv_row(p);
    out.close();
    if (!out) throw ConfigError("cannot write " + o.out);

    if (!o.alerts_out.empty()) {
      std::ofstream alerts(o.alerts_out, std::ios::binary | std::ios::trunc);
      alerts << "event_time_ns,driver,kind,severity,active,message\n";
      for (const auto& a : sink.alerts) {
        alerts << a.event_time_ns << ',' << (a.car == 0 ? std::string() : driver_text(a.car, a.driver)) << ',' << a.kind
               << ',' << to_string(a.severity) << ',' << (a.active ? "true" : "false") << ',' << csv_quoted(a.message)
               << '\n';
      }
      alerts.close();
      if (!alerts) throw ConfigError("cannot write " + o.alerts_out);
    }

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const double per_decision_us =
        pipeline.strategy().decisions() > 0
            ? std::chrono::duration<double, std::micro>(pipeline.strategy().decision_time()).count() /
                  pipeline.strategy().decisions()
            : 0.0;
    std::fprintf(stderr,
                 "backtest: session %s: %zu predictions written to %s, %zu alerts, model %s, %.0f us per decision "
                 "(%d scenarios), %llu samples, %llu skipped lines, %llu invalid records skipped, %.3f s\n",
                 reader.session_id().c_str(), sink.predictions.size(), o.out.c_str(), sink.alerts.size(),
                 predictor->version().c_str(), per_decision_us, o.scenarios,
                 static_cast<unsigned long long>(reader.samples_read()),
                 static_cast<unsigned long long>(reader.skipped_lines()), static_cast<unsigned long long>(invalid),
                 elapsed);
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "boxcall backtest: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "boxcall backtest: %s\n", e.what());
    return 2;
  }
}

}  // namespace

void register_backtest(CLI::App& app, std::function<int()>& run) {
  auto opts = std::make_shared<BacktestOptions>();
  CLI::App* cmd = app.add_subcommand(
      "backtest", "Offline twin of the strategy: one decision per (driver, lap) of a recorded race, as CSV");
  cmd->add_option("--laps", opts->laps, "FastF1 laps.csv")->required();
  cmd->add_option("--car-data", opts->car_data, "Directory of <number>_telemetry.csv[.gz] files (optional)");
  cmd->add_option("--out", opts->out, "Output CSV, one row per (driver, lap)")->required();
  cmd->add_option("--models", opts->models,
                  "Model directory from `boxcall train` (default: the models shipped with boxcall, as `run`)");
  cmd->add_flag("--no-models", opts->no_models, "Use the fallback rules predictor instead of models")
      ->excludes("--models");
  cmd->add_option("--track-status", opts->track_status,
                  "FastF1 track_status.csv (default: the one beside the laps file, if any)");
  cmd->add_option("--alerts-out", opts->alerts_out, "Also write the alerts raised and cleared, as CSV");
  cmd->add_option("--session", opts->session, "Session id (default: the export directory's name)");
  cmd->add_option("--scenarios", opts->scenarios, "Monte Carlo scenarios per decision (default 1000)");
  cmd->callback([opts, &run] { run = [opts] { return run_backtest(*opts); }; });
}

}  // namespace boxcall::app
