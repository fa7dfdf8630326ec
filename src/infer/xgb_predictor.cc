#include "infer/xgb_predictor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <system_error>
#include <vector>

#include "infer/model_features.h"

namespace boxcall::infer {
namespace fs = std::filesystem;

XgbPredictor::XgbPredictor(XgbModel lap_time, XgbModel pit)
    : lap_time_(std::move(lap_time)),
      pit_(std::move(pit)),
      version_(lap_time_.metadata().version + "+" + pit_.metadata().version) {}

std::optional<double> XgbPredictor::next_lap_s(const LapContext& ctx) const {
  return lap_s(ctx, lap_time_.metadata().next_lap_shrink);
}

std::optional<double> XgbPredictor::lap_s(const LapContext& ctx, double shrink) const {
  const auto ref = reference_lap_s(ctx);
  if (!ref) return std::nullopt;
  std::array<float, kMaxFeatures> x{};
  fill_features(ModelKind::LapTimeDelta, ctx, x);
  const auto delta = lap_time_.predict(std::span<const float>(x.data(), lap_time_.feature_count()));
  if (!delta || !std::isfinite(*delta)) return std::nullopt;
  return *ref + shrink * *delta;
}

std::optional<double> XgbPredictor::lap_s_at(const LapContext& ctx, Compound compound, std::int32_t tyre_age,
                                             double fuel_kg) const {
  // The same model on a hypothetical lap: the car on `compound` aged
  // `tyre_age` carrying `fuel_kg`, green track. A compound change drops the
  // stint's own slope (it belongs to the old tyres).
  LapContext h = ctx;
  if (compound != ctx.lap.compound) {
    h.lap.deg_slope_s_per_lap.reset();
    h.lap.stint = ctx.lap.stint.value_or(1) + 1;
  }
  h.lap.compound = compound;
  h.lap.tyre_age = tyre_age;
  h.lap.fuel_kg_est = fuel_kg;
  h.track_status = TrackStatus::Green;
  // The whole delta: the tyre curves' shape is the model's (the shrink is for the next lap's figure).
  return lap_s(h, 1.0);
}

std::optional<double> XgbPredictor::pit_within_3(const LapContext& ctx) const {
  std::array<float, kMaxFeatures> x{};
  fill_features(ModelKind::PitWithin3, ctx, x);
  const auto p = pit_.predict(std::span<const float>(x.data(), pit_.feature_count()));
  if (!p || !std::isfinite(*p)) return std::nullopt;
  return std::clamp(*p, 0.0, 1.0);
}

void XgbPredictor::next_lap_s_batch(std::span<const LapContext* const> ctxs,
                                    std::span<std::optional<double>> out) const {
  const std::size_t n = std::min(ctxs.size(), out.size()), f = lap_time_.feature_count();
  // Per-thread scratch, grown once: a batch allocates nothing after the first.
  thread_local std::vector<float> rows;
  thread_local std::vector<double> deltas;
  thread_local std::vector<std::optional<double>> refs;
  rows.assign(n * f, 0.0F);
  deltas.resize(n);
  refs.resize(n);
  std::array<float, kMaxFeatures> x{};
  for (std::size_t i = 0; i < n; ++i) {
    refs[i] = reference_lap_s(*ctxs[i]);
    x.fill(0.0F);
    fill_features(ModelKind::LapTimeDelta, *ctxs[i], x);
    std::copy_n(x.begin(), f, rows.begin() + static_cast<std::ptrdiff_t>(i * f));
  }
  const bool ok = lap_time_.predict_batch(rows, std::span<double>(deltas.data(), n));
  const double shrink = lap_time_.metadata().next_lap_shrink;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] =
        ok && refs[i] && std::isfinite(deltas[i]) ? std::optional<double>(*refs[i] + shrink * deltas[i]) : std::nullopt;
  }
}

void XgbPredictor::pit_within_3_batch(std::span<const LapContext* const> ctxs,
                                      std::span<std::optional<double>> out) const {
  const std::size_t n = std::min(ctxs.size(), out.size()), f = pit_.feature_count();
  thread_local std::vector<float> rows;
  thread_local std::vector<double> ps;
  rows.assign(n * f, 0.0F);
  ps.resize(n);
  std::array<float, kMaxFeatures> x{};
  for (std::size_t i = 0; i < n; ++i) {
    x.fill(0.0F);
    fill_features(ModelKind::PitWithin3, *ctxs[i], x);
    std::copy_n(x.begin(), f, rows.begin() + static_cast<std::ptrdiff_t>(i * f));
  }
  const bool ok = pit_.predict_batch(rows, std::span<double>(ps.data(), n));
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = ok && std::isfinite(ps[i]) ? std::optional<double>(std::clamp(ps[i], 0.0, 1.0)) : std::nullopt;
  }
}

Result<std::shared_ptr<const XgbPredictor>> load_predictor(const fs::path& dir) {
  auto lap = XgbModel::load(dir / kLapTimeModelFile, kind_name(ModelKind::LapTimeDelta),
                            feature_names(ModelKind::LapTimeDelta));
  if (!lap) return lap.error();
  auto pit =
      XgbModel::load(dir / kPitModelFile, kind_name(ModelKind::PitWithin3), feature_names(ModelKind::PitWithin3));
  if (!pit) return pit.error();
  return std::shared_ptr<const XgbPredictor>(
      std::make_shared<XgbPredictor>(std::move(lap).value(), std::move(pit).value()));
}

ModelStore::Stamps ModelStore::stamps() const {
  Stamps s{};
  const std::array<fs::path, 4> files{dir_ / kLapTimeModelFile, metadata_path(dir_ / kLapTimeModelFile),
                                      dir_ / kPitModelFile, metadata_path(dir_ / kPitModelFile)};
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    s[i].time = fs::last_write_time(files[i], ec);
    if (ec) s[i].time = {};
    s[i].size = fs::file_size(files[i], ec);
    if (ec) s[i].size = 0;
  }
  return s;
}

Result<std::unique_ptr<ModelStore>> ModelStore::open(fs::path dir) {
  std::unique_ptr<ModelStore> store(new ModelStore(std::move(dir)));
  store->seen_ = store->stamps();
  auto p = load_predictor(store->dir_);
  if (!p) return p.error();
  store->current_.store(std::move(p).value());
  return store;
}

Result<bool> ModelStore::maybe_reload() {
  std::lock_guard lock(reload_mutex_);
  const Stamps now = stamps();
  if (now == seen_) return false;
  seen_ = now;  // a failed load is not retried until the files change again
  auto p = load_predictor(dir_);
  if (!p) return p.error();  // the caller reports it; current() is unchanged
  current_.store(std::move(p).value());
  return true;
}

}  // namespace boxcall::infer
