// `boxcall features`: the offline twin. Runs the very same SessionEngine as the
// live path over a FastF1 export (no broker) and writes one CSV row per
// (driver, lap). Definitions: docs/features.md.
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
#include "base/result.h"
#include "base/validate.h"
#include "features/session_engine.h"
#include "sources/drive.h"
#include "sources/fastf1_reader.h"

namespace boxcall::app {
namespace {

struct FeaturesOptions {
  std::string car_data;
  std::string laps;
  std::string out;
  std::string track_status;
  std::string session;
};

// Keeps the lap records (a race's worth: laps x cars), counts the snapshots.
class CollectingSink final : public OutputSink {
 public:
  void emit(Output&& output) override {
    if (auto* lap = std::get_if<LapFeatures>(&output)) {
      laps.push_back(std::move(*lap));
    } else {
      ++other;
    }
  }
  std::vector<LapFeatures> laps;
  std::size_t other = 0;
};

// Shortest text that reads back as the same double.
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

std::string driver_text(const LapFeatures& f) { return f.driver.empty() ? std::to_string(f.car) : f.driver.str(); }

constexpr const char* kHeader =
    "driver,lap,samples,max_gap_s,mean_throttle,std_throttle,full_throttle_frac,mean_speed,max_speed,"
    "brake_frac,brake_events,drs_open_frac,gear_shifts,lap_time_s,compound,stint,tyre_age,laps_remaining,"
    "fuel_kg_est,gap_to_leader_s,interval_ahead_s,deg_slope_s_per_lap\n";

std::string csv_row(const LapFeatures& f) {
  std::string r = driver_text(f);
  auto sep = [&r] { r += ','; };
  sep(), put(r, f.lap);
  sep(), put(r, f.samples);
  sep(), put(r, f.max_gap_s);
  sep(), put(r, f.mean_throttle);
  sep(), put(r, f.std_throttle);
  sep(), put(r, f.full_throttle_frac);
  sep(), put(r, f.mean_speed);
  sep(), put(r, f.max_speed);
  sep(), put(r, f.brake_frac);
  sep(), put(r, f.brake_events);
  sep(), put(r, f.drs_open_frac);
  sep(), put(r, f.gear_shifts);
  sep(), put(r, f.lap_time_s);
  sep();
  if (f.compound != Compound::Unknown) r += to_string(f.compound);
  sep(), put(r, f.stint);
  sep(), put(r, f.tyre_age);
  sep(), put(r, f.laps_remaining);
  sep(), put(r, f.fuel_kg_est);
  sep(), put(r, f.gap_to_leader_s);
  sep(), put(r, f.interval_ahead_s);
  sep(), put(r, f.deg_slope_s_per_lap);
  r += '\n';
  return r;
}

int run_features(const FeaturesOptions& o) {
  namespace fs = std::filesystem;
  const auto started = std::chrono::steady_clock::now();
  try {
    if (!fs::is_directory(o.car_data)) throw ConfigError("car data directory not found: " + o.car_data);
    if (!fs::is_regular_file(o.laps)) throw ConfigError("laps file not found: " + o.laps);
    if (!o.track_status.empty() && !fs::is_regular_file(o.track_status)) {
      throw ConfigError("track status file not found: " + o.track_status);
    }
    sources::FastF1Paths paths;
    paths.car_data_dir = o.car_data;
    paths.laps_file = o.laps;
    if (!o.track_status.empty()) paths.track_status_file = o.track_status;
    sources::FastF1Reader reader(paths, o.session);

    std::ofstream out(o.out, std::ios::binary | std::ios::trunc);
    if (!out) throw ConfigError("cannot write " + o.out);

    features::FeatureConfig config;
    config.scheduled_laps = reader.scheduled_laps();
    features::FeatureHandler engine(config);
    CollectingSink sink;
    // Same records as the live path: what it dead-letters is counted and skipped here.
    const sources::DriveStats drove = sources::drive(reader, engine, sink);
    const std::uint64_t invalid = drove.invalid + drove.rejected;

    std::sort(sink.laps.begin(), sink.laps.end(), [](const LapFeatures& a, const LapFeatures& b) {
      const std::string da = driver_text(a), db = driver_text(b);
      return da != db ? da < db : a.lap < b.lap;
    });
    out << kHeader;
    for (const auto& f : sink.laps) out << csv_row(f);
    out.close();
    if (!out) throw ConfigError("cannot write " + o.out);

    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto samples = reader.samples_read();
    std::fprintf(stderr,
                 "features: session %s: %llu samples read, %zu laps written to %s, %zu snapshots, "
                 "%llu skipped lines, %llu invalid records skipped, %.3f s, %.0f samples/s\n",
                 reader.session_id().c_str(), static_cast<unsigned long long>(samples), sink.laps.size(), o.out.c_str(),
                 sink.other, static_cast<unsigned long long>(reader.skipped_lines()),
                 static_cast<unsigned long long>(invalid), elapsed,
                 elapsed > 0 ? static_cast<double>(samples) / elapsed : 0.0);
    return 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "boxcall features: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    std::fprintf(stderr, "boxcall features: %s\n", e.what());
    return 2;
  }
}

}  // namespace

void register_features(CLI::App& app, std::function<int()>& run) {
  auto opts = std::make_shared<FeaturesOptions>();
  CLI::App* cmd =
      app.add_subcommand("features", "Offline twin: per-lap features of a FastF1 export, written as CSV (no broker)");
  cmd->add_option("--car-data", opts->car_data, "Directory of <number>_telemetry.csv[.gz] files")->required();
  cmd->add_option("--laps", opts->laps, "FastF1 laps.csv")->required();
  cmd->add_option("--out", opts->out, "Output CSV, one row per (driver, lap)")->required();
  cmd->add_option("--track-status", opts->track_status, "FastF1 track_status.csv (optional)");
  cmd->add_option("--session", opts->session, "Session id (default: the export directory's name)");
  cmd->callback([opts, &run] { run = [opts] { return run_features(*opts); }; });
}

}  // namespace boxcall::app
