#include "infer/model_features.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace boxcall::infer {
namespace {

// Shared by both models. Times are deltas to the reference lap (the latest
// clean lap) so that one model serves circuits of any length.
constexpr std::array<std::string_view, 19> kLapTimeFeatures{
    "tyre_age",
    "compound",
    "fuel_kg_est",
    "stint",
    "sc_active",
    "vsc_active",
    "yellow_active",
    "position",
    "gap_to_leader_s",
    "gap_ahead_s",
    "gap_behind_s",
    "ref_lap_s",
    "last_lap_delta_s",
    "recent_mean_delta_s",
    "recent_trend_s_per_lap",
    "deg_slope_s_per_lap",
    "recent_clean_count",
    "laps_remaining",
    "race_progress",
};

constexpr std::array<std::string_view, 22> kPitFeatures{
    "tyre_age",
    "compound",
    "fuel_kg_est",
    "stint",
    "sc_active",
    "vsc_active",
    "yellow_active",
    "position",
    "gap_to_leader_s",
    "gap_ahead_s",
    "gap_behind_s",
    "ref_lap_s",
    "last_lap_delta_s",
    "recent_mean_delta_s",
    "recent_trend_s_per_lap",
    "deg_slope_s_per_lap",
    "recent_clean_count",
    "laps_remaining",
    "race_progress",
    "pit_stops",
    "dry_compounds_used",
    "tyre_age_over_laps_left",
};

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();

float opt(const std::optional<double>& v) { return v ? static_cast<float>(*v) : kMissing; }
float opt(const std::optional<std::int32_t>& v) { return v ? static_cast<float>(*v) : kMissing; }

// Slope of y against 0..n-1 (least squares); NaN with fewer than 3 points.
float trend(const std::vector<double>& y) {
  const std::size_t n = y.size();
  if (n < 3) return kMissing;
  const double mx = static_cast<double>(n - 1) / 2.0;
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = static_cast<double>(i) - mx;
    sxy += dx * (y[i] - my);
    sxx += dx * dx;
  }
  return static_cast<float>(sxy / sxx);
}

int popcount_dry(std::int32_t mask) {
  int n = 0;
  for (Compound c : {Compound::Soft, Compound::Medium, Compound::Hard}) {
    if (mask & (1 << static_cast<int>(c))) ++n;
  }
  return n;
}

}  // namespace

std::string_view kind_name(ModelKind kind) {
  return kind == ModelKind::LapTimeDelta ? "lap_time_delta_v1" : "pit_within_3_v1";
}

std::span<const std::string_view> feature_names(ModelKind kind) {
  if (kind == ModelKind::LapTimeDelta) return kLapTimeFeatures;
  return kPitFeatures;
}

double fuel_per_lap_kg(const LapContext& ctx) {
  constexpr double kTypicalRaceLaps = 60.0;  // when the race length is unknown
  return features::kFuelStartKg / (ctx.scheduled_laps > 0 ? ctx.scheduled_laps : kTypicalRaceLaps);
}

void fill_features(ModelKind kind, const LapContext& ctx, std::span<float> out) {
  const LapFeatures& f = ctx.lap;
  const auto ref = reference_lap_s(ctx);
  float* x = out.data();
  x[0] = opt(f.tyre_age);
  x[1] = static_cast<float>(static_cast<int>(f.compound));  // 0 unknown, 1 soft, 2 medium, 3 hard, 4 inter, 5 wet
  x[2] = opt(f.fuel_kg_est);
  x[3] = opt(f.stint);
  x[4] = ctx.track_status == TrackStatus::SafetyCar || ctx.track_status == TrackStatus::Red ? 1.0F : 0.0F;
  x[5] = ctx.track_status == TrackStatus::Vsc || ctx.track_status == TrackStatus::VscEnding ? 1.0F : 0.0F;
  x[6] = ctx.track_status == TrackStatus::Yellow ? 1.0F : 0.0F;
  x[7] = opt(f.position);
  x[8] = opt(f.gap_to_leader_s);
  x[9] = opt(ctx.gap_ahead_s);
  x[10] = opt(ctx.gap_behind_s);
  x[11] = opt(ref);
  x[12] = ref && f.lap_time_s ? static_cast<float>(*f.lap_time_s - *ref) : kMissing;
  if (ref && !ctx.recent_clean_laps_s.empty()) {
    const double mean = std::accumulate(ctx.recent_clean_laps_s.begin(), ctx.recent_clean_laps_s.end(), 0.0) /
                        static_cast<double>(ctx.recent_clean_laps_s.size());
    x[13] = static_cast<float>(mean - *ref);
  } else {
    x[13] = kMissing;
  }
  x[14] = trend(ctx.recent_clean_laps_s);
  x[15] = opt(f.deg_slope_s_per_lap);
  x[16] = static_cast<float>(ctx.recent_clean_laps_s.size());
  x[17] = opt(f.laps_remaining);
  x[18] = ctx.scheduled_laps > 0 ? static_cast<float>(f.lap) / static_cast<float>(ctx.scheduled_laps) : kMissing;
  if (kind == ModelKind::LapTimeDelta) return;
  x[19] = static_cast<float>(ctx.pit_stops);
  x[20] = static_cast<float>(popcount_dry(ctx.compounds_used_mask));
  x[21] = f.tyre_age && f.laps_remaining && ctx.scheduled_laps > 0
              ? static_cast<float>(*f.tyre_age) / static_cast<float>(*f.laps_remaining + 1)
              : kMissing;
}

}  // namespace boxcall::infer
