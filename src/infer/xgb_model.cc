#include "infer/xgb_model.h"

#include <xgboost/c_api.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace boxcall::infer {
namespace fs = std::filesystem;

namespace {

Error model_error(Reason reason, std::string detail) { return Error{reason, std::move(detail)}; }

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

void XgbModel::BoosterDeleter::operator()(void* handle) const {
  if (handle != nullptr) XGBoosterFree(handle);
}

fs::path metadata_path(const fs::path& model_file) {
  fs::path p = model_file;
  p.replace_extension(".meta.json");
  return p;
}

Result<XgbModel> XgbModel::load(const fs::path& model_file, std::string_view expected_kind,
                                std::span<const std::string_view> expected_features) {
  const std::string name = model_file.string();
  if (!fs::is_regular_file(model_file)) return model_error(Reason::MissingKey, "model file not found: " + name);
  const fs::path meta_file = metadata_path(model_file);
  auto text = read_text(meta_file);
  if (!text) return model_error(Reason::MissingKey, "model metadata not found: " + meta_file.string());

  ModelMetadata meta;
  try {
    auto j = nlohmann::json::parse(*text);
    meta.version = j.at("version").get<std::string>();
    meta.kind = j.at("kind").get<std::string>();
    meta.features = j.at("features").get<std::vector<std::string>>();
    meta.next_lap_shrink = j.value("next_lap_shrink", 1.0);
  } catch (const std::exception& e) {
    return model_error(Reason::MalformedJson, "unreadable model metadata " + meta_file.string() + ": " + e.what());
  }
  if (!(meta.next_lap_shrink >= 0.0 && meta.next_lap_shrink <= 1.0)) {
    return model_error(Reason::OutOfRange, "model metadata " + meta_file.string() + ": next_lap_shrink " +
                                               std::to_string(meta.next_lap_shrink) + " is outside 0..1");
  }
  meta.raw_json = std::move(*text);
  if (!expected_kind.empty() && meta.kind != expected_kind) {
    return model_error(Reason::KeyMismatch, "model " + name + " is of kind '" + meta.kind + "', expected '" +
                                                std::string(expected_kind) + "'");
  }
  if (!expected_features.empty()) {
    bool same = meta.features.size() == expected_features.size();
    for (std::size_t i = 0; same && i < meta.features.size(); ++i) same = meta.features[i] == expected_features[i];
    if (!same) {
      return model_error(Reason::KeyMismatch, "model " + name +
                                                  " was trained on other features than this build computes "
                                                  "(retrain with `boxcall train`)");
    }
  }

  BoosterHandle raw = nullptr;
  if (XGBoosterCreate(nullptr, 0, &raw) != 0) {
    return model_error(Reason::MalformedJson, std::string("cannot create booster: ") + XGBGetLastError());
  }
  Booster booster(raw);
  if (XGBoosterLoadModel(raw, name.c_str()) != 0) {
    return model_error(Reason::MalformedJson, "cannot load model " + name + ": " + XGBGetLastError());
  }
  // Online scoring: one thread (OpenMP threads stall now and then).
  if (XGBoosterSetParam(raw, "nthread", "1") != 0) {
    return model_error(Reason::MalformedJson, std::string("cannot set nthread: ") + XGBGetLastError());
  }
  bst_ulong n_features = 0;
  if (XGBoosterGetNumFeature(raw, &n_features) != 0 || n_features != meta.features.size()) {
    return model_error(Reason::KeyMismatch, "model " + name + " has " + std::to_string(n_features) +
                                                " inputs, its metadata lists " + std::to_string(meta.features.size()));
  }
  return XgbModel(std::move(booster), std::move(meta));
}

std::optional<double> XgbModel::predict(std::span<const float> row) const {
  if (row.size() < meta_.features.size()) return std::nullopt;
  // Array interface of one dense float32 row; the config asks for plain
  // predictions on the cached-free path ("cache_id": 0 is required by 1.7).
  char array[160];
  std::snprintf(array, sizeof array, R"({"data":[%llu,true],"shape":[1,%zu],"typestr":"<f4","version":3})",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(row.data())), meta_.features.size());
  static constexpr const char* kConfig =
      R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(booster_.get(), array, kConfig, nullptr, &shape, &dim, &result) != 0) {
    return std::nullopt;
  }
  if (result == nullptr) return std::nullopt;
  return static_cast<double>(result[0]);
}

bool XgbModel::predict_batch(std::span<const float> rows, std::span<double> out) const {
  const std::size_t n = out.size(), f = meta_.features.size();
  if (n == 0) return true;
  if (rows.size() < n * f) return false;
  char array[160];
  std::snprintf(array, sizeof array, R"({"data":[%llu,true],"shape":[%zu,%zu],"typestr":"<f4","version":3})",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(rows.data())), n, f);
  static constexpr const char* kConfig =
      R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,"missing":NaN})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  if (XGBoosterPredictFromDense(booster_.get(), array, kConfig, nullptr, &shape, &dim, &result) != 0 ||
      result == nullptr) {
    return false;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<double>(result[i]);
  return true;
}

}  // namespace boxcall::infer
