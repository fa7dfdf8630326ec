// Golden cases: each file under tests/golden/cases/ is one test. Records go
// in, in their arrival order, through the real stream::Processor (decode,
// validate, deduplicate, order, session pipeline) under a manual clock; the
// outputs and dead letters they must produce are written, by hand, right
// after the record that produces them. Adding a case means adding a file.
// The format is documented in tests/golden/README.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "infer/pipeline.h"
#include "infer/rules_predictor.h"
#include "support/stream_harness.h"

namespace boxcall::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Event time 0 of every case: 2023-03-05 15:00:00 UTC (the Bahrain race's start hour).
constexpr TimeNs kT0 = 1'678'028'400LL * kNsPerSecond;

struct Line {
  int number = 0;
  std::string verb;
  std::vector<std::string> words;  // positional words after the verb
  std::map<std::string, std::string> args;
  std::string rest;  // the text after the verb (raw records)
};

std::vector<Line> parse(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Line> lines;
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos || text[first] == '#') continue;
    Line l;
    l.number = n;
    std::istringstream words(text.substr(first));
    words >> l.verb;
    const auto after = text.find(l.verb, first) + l.verb.size();
    l.rest = after < text.size() ? text.substr(text.find_first_not_of(" \t", after)) : "";
    std::string w;
    while (words >> w) {
      if (auto eq = w.find('='); eq != std::string::npos)
        l.args[w.substr(0, eq)] = w.substr(eq + 1);
      else
        l.words.push_back(w);
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

TimeNs at(const Line& l, const char* key = "t") {
  auto it = l.args.find(key);
  if (it == l.args.end()) throw std::runtime_error("line " + std::to_string(l.number) + ": missing " + key + "=");
  return kT0 + static_cast<TimeNs>(std::llround(std::stod(it->second) * 1e9));
}
TimeNs session_at(const Line& l, const char* key = "t") { return at(l, key) - kT0; }

std::optional<double> num(const Line& l, const char* key) {
  auto it = l.args.find(key);
  if (it == l.args.end()) return std::nullopt;
  return std::stod(it->second);
}

Compound compound(const std::string& s) {
  if (s == "SOFT") return Compound::Soft;
  if (s == "MEDIUM") return Compound::Medium;
  if (s == "HARD") return Compound::Hard;
  if (s == "INTERMEDIATE") return Compound::Intermediate;
  if (s == "WET") return Compound::Wet;
  return Compound::Unknown;
}

TrackStatus status(const std::string& s) {
  if (s == "GREEN") return TrackStatus::Green;
  if (s == "YELLOW") return TrackStatus::Yellow;
  if (s == "SC") return TrackStatus::SafetyCar;
  if (s == "RED") return TrackStatus::Red;
  if (s == "VSC") return TrackStatus::Vsc;
  if (s == "VSC_ENDING") return TrackStatus::VscEnding;
  throw std::runtime_error("unknown track status " + s);
}

Input record(const Line& l) {
  auto car = static_cast<std::uint16_t>(num(l, "car").value_or(0));
  const std::string driver = l.args.contains("driver") ? l.args.at("driver") : "";
  if (l.verb == "sample") {
    TelemetrySample s;
    s.car = car;
    s.driver = DriverCode(driver);
    s.event_time_ns = at(l);
    s.session_time_ns = l.args.contains("session_t") ? session_at(l, "session_t") : session_at(l);
    s.speed_kph = static_cast<float>(num(l, "speed").value_or(250));
    s.rpm = static_cast<float>(num(l, "rpm").value_or(11000));
    s.gear = static_cast<std::int8_t>(num(l, "gear").value_or(7));
    s.throttle = static_cast<float>(num(l, "throttle").value_or(100));
    s.brake = num(l, "brake").value_or(0) != 0;
    s.drs = static_cast<std::uint8_t>(num(l, "drs").value_or(0));
    return s;
  }
  TimingEvent e;
  e.car = car;
  e.driver = DriverCode(driver);
  e.event_time_ns = at(l);
  e.session_time_ns = session_at(l);
  if (l.verb == "lap") {
    LapCompleted c;
    c.lap = static_cast<std::int32_t>(num(l, "lap").value());
    if (auto v = num(l, "time")) c.lap_time_s = *v;
    if (l.args.contains("compound")) c.compound = compound(l.args.at("compound"));
    if (auto v = num(l, "tyre")) c.tyre_life = static_cast<std::int32_t>(*v);
    if (auto v = num(l, "stint")) c.stint = static_cast<std::int32_t>(*v);
    if (auto v = num(l, "position")) c.position = static_cast<std::int32_t>(*v);
    if (l.args.contains("status")) c.track_status = l.args.at("status");
    if (l.args.contains("start")) c.lap_start_session_ns = session_at(l, "start");
    if (l.args.contains("pit_in")) c.pit_in_session_ns = session_at(l, "pit_in");
    if (l.args.contains("pit_out")) c.pit_out_session_ns = session_at(l, "pit_out");
    e.body = c;
  } else if (l.verb == "pitin") {
    e.body = PitIn{};
  } else if (l.verb == "pitout") {
    e.body = PitOut{};
  } else if (l.verb == "status") {
    e.body = TrackStatusChange{status(l.words.at(0)), ""};
  } else if (l.verb == "session") {
    SessionInfo info;
    info.status = l.words.at(0);
    if (auto v = num(l, "laps")) info.scheduled_laps = static_cast<std::int32_t>(*v);
    e.body = info;
  } else {
    throw std::runtime_error("line " + std::to_string(l.number) + ": unknown verb " + l.verb);
  }
  return e;
}

// One actual output as the expectations see it: a kind and its JSON payload fields.
struct Actual {
  std::string kind;  // features.lap, features.snapshot, prediction, alert, dead-letter
  json fields;
};

std::vector<Actual> actuals(ProcessorHarness& h) {
  std::vector<Actual> out;
  for (const auto& o : h.publisher.outs) {
    if (o.topic == stream::OutputTopic::DeadLetter) {
      out.push_back({"dead-letter", json{{"reason", o.reason}, {"detail", o.detail}}});
      continue;
    }
    auto text = h.codec.to_json(std::as_bytes(std::span<const std::uint8_t>(o.value)));
    const json env = json::parse(text.value());
    const std::string type = env.value("payload_type", "");
    std::string kind = type == "LapFeatures"          ? "features.lap"
                       : type == "FeatureSnapshot"    ? "features.snapshot"
                       : type == "StrategyPrediction" ? "prediction"
                       : type == "Alert"              ? "alert"
                                                      : type;
    out.push_back({kind, env.value("payload", json::object())});
  }
  return out;
}

std::string describe(const Actual& a) { return a.kind + " " + a.fields.dump(); }

// "field=value": numbers within 1e-6 (relative), `none` for an absent field, text and booleans exactly.
std::string mismatch(const Actual& a, const Line& l) {
  if (a.kind != l.words.at(0)) return "kind " + a.kind + ", expected " + l.words.at(0);
  for (const auto& [key, want] : l.args) {
    const bool has = a.fields.contains(key) && !a.fields.at(key).is_null();
    if (want == "none") {
      if (has) return key + " = " + a.fields.at(key).dump() + ", expected none";
      continue;
    }
    if (!has) {
      // FlatBuffers' JSON leaves out fields at their default (0, false).
      if (want == "0" || want == "false") continue;
      return key + " missing, expected " + want;
    }
    const json& got = a.fields.at(key);
    if (got.is_number()) {
      const double g = got.get<double>(), w = std::stod(want);
      if (std::abs(g - w) > 1e-6 * std::max(1.0, std::abs(w))) return key + " = " + got.dump() + ", expected " + want;
    } else if (got.is_boolean()) {
      if ((got.get<bool>() ? "true" : "false") != want) return key + " = " + got.dump() + ", expected " + want;
    } else if (got.is_string()) {
      if (got.get<std::string>() != want) return key + " = " + got.dump() + ", expected " + want;
    } else {
      return key + " = " + got.dump() + " (not comparable), expected " + want;
    }
  }
  return "";
}

std::unique_ptr<SessionHandlerFactory> make_factory(const std::string& pipeline, std::chrono::nanoseconds snapshots) {
  if (pipeline == "features") return feature_factory(snapshots);
  if (pipeline != "strategy") throw std::runtime_error("pipeline=features|strategy");
  return std::make_unique<FunctionFactory>([snapshots](std::string_view id) {
    features::FeatureConfig fc;
    fc.snapshot_period = snapshots;
    auto rules = std::make_shared<const infer::RulesPredictor>();
    return std::make_unique<infer::SessionPipeline>(
        std::string(id), fc, infer::StrategyConfig{}, [rules] { return rules; }, nullptr);
  });
}

void run_case(const fs::path& file) {
  const auto lines = parse(file);
  stream::ProcessorConfig config = ProcessorHarness::default_config();
  std::string pipeline = "features";
  std::chrono::nanoseconds snapshots{0};
  std::size_t first = 0;
  if (!lines.empty() && lines[0].verb == "config") {
    const auto& c = lines[0];
    if (auto v = num(c, "max_out_of_orderness_ms"))
      config.max_out_of_orderness = std::chrono::milliseconds(std::llround(*v));
    if (auto v = num(c, "allowed_lateness_ms")) config.allowed_lateness = std::chrono::milliseconds(std::llround(*v));
    if (auto v = num(c, "snapshot_period_ms")) snapshots = std::chrono::milliseconds(std::llround(*v));
    if (c.args.contains("pipeline")) pipeline = c.args.at("pipeline");
    first = 1;
  }
  ProcessorHarness h(config, make_factory(pipeline, snapshots));
  std::size_t matched = 0;
  auto unmatched_before = [&](const Line& l) {
    const auto got = actuals(h);
    for (std::size_t i = matched; i < got.size(); ++i) {
      ADD_FAILURE() << file.filename().string() << ":" << l.number
                    << ": unexpected output before this line: " << describe(got[i]);
    }
    matched = got.size();
  };
  for (std::size_t i = first; i < lines.size(); ++i) {
    const Line& l = lines[i];
    if (l.verb == "expect") {
      const auto got = actuals(h);
      if (matched >= got.size()) {
        ADD_FAILURE() << file.filename().string() << ":" << l.number << ": expected " << l.rest
                      << ", but nothing more was produced";
        continue;
      }
      if (auto why = mismatch(got[matched], l); !why.empty()) {
        ADD_FAILURE() << file.filename().string() << ":" << l.number << ": " << why
                      << "\n  actual: " << describe(got[matched]);
      }
      ++matched;
      continue;
    }
    unmatched_before(l);
    if (l.verb == "live") {
      h.eof_all();
    } else if (l.verb == "advance") {
      h.advance(std::chrono::milliseconds(std::stoll(l.words.at(0))));
    } else if (l.verb == "raw") {
      const auto topic = l.words.at(0) == "telemetry" ? stream::InputTopic::Telemetry : stream::InputTopic::Timing;
      h.feed_text(topic, l.rest.substr(l.rest.find(' ') + 1));
    } else {
      h.feed(record(l));
    }
  }
  const auto got = actuals(h);
  for (std::size_t i = matched; i < got.size(); ++i) {
    ADD_FAILURE() << file.filename().string() << ": unexpected output at the end: " << describe(got[i]);
  }
}

std::vector<std::string> case_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(BOXCALL_GOLDEN_DIR)) {
    if (e.path().extension() == ".case") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, Case) { run_case(fs::path(BOXCALL_GOLDEN_DIR) / GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(case_files()), [](const auto& param_info) {
  std::string name = param_info.param.substr(0, param_info.param.size() - 5);
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return name;
});

TEST(GoldenCases, AtLeastTenFilesAreThere) { EXPECT_GE(case_files().size(), 10U); }

}  // namespace
}  // namespace boxcall::test
