#include "serve/output_decode.h"

#include <flatbuffers/idl.h>

#include <algorithm>

#include "boxcall/schema/boxcall_generated.h"
#include "boxcall/schema/schema_text.h"

namespace boxcall::serve {
namespace w = boxcall::wire;
namespace fb = flatbuffers;

namespace {

template <typename T>
std::optional<T> opt(fb::Optional<T> v) {
  if (v.has_value()) return *v;
  return std::nullopt;
}
std::string str(const fb::String* s) { return s ? std::string(s->c_str(), s->size()) : std::string(); }
DriverCode driver(const fb::String* s) {
  return s ? DriverCode(std::string_view(s->c_str(), s->size())) : DriverCode();
}
Compound compound(w::Compound c) { return static_cast<Compound>(c); }

LapFeatures lap_features(const w::LapFeatures& m) {
  LapFeatures f;
  f.car = m.car_number();
  f.driver = driver(m.driver());
  f.lap = m.lap();
  f.event_time_ns = m.event_time_ns();
  f.session_time_ns = m.session_time_ns();
  f.samples = m.samples();
  f.excluded_samples = m.excluded_samples();
  f.max_gap_s = opt(m.max_gap_s());
  f.mean_throttle = opt(m.mean_throttle());
  f.std_throttle = opt(m.std_throttle());
  f.full_throttle_frac = opt(m.full_throttle_frac());
  f.mean_speed = opt(m.mean_speed());
  f.max_speed = opt(m.max_speed());
  f.brake_frac = opt(m.brake_frac());
  f.brake_events = opt(m.brake_events());
  f.drs_open_frac = opt(m.drs_open_frac());
  f.gear_shifts = opt(m.gear_shifts());
  f.lap_time_s = opt(m.lap_time_s());
  f.compound = compound(m.compound());
  f.stint = opt(m.stint());
  f.tyre_age = opt(m.tyre_age());
  f.laps_remaining = opt(m.laps_remaining());
  f.fuel_kg_est = opt(m.fuel_kg_est());
  f.gap_to_leader_s = opt(m.gap_to_leader_s());
  f.interval_ahead_s = opt(m.interval_ahead_s());
  f.deg_slope_s_per_lap = opt(m.deg_slope_s_per_lap());
  f.position = opt(m.position());
  return f;
}

FeatureSnapshot snapshot(const w::FeatureSnapshot& m) {
  FeatureSnapshot s;
  s.car = m.car_number();
  s.driver = driver(m.driver());
  s.event_time_ns = m.event_time_ns();
  s.lap = m.lap();
  s.last_sample_age_s = m.last_sample_age_s();
  s.samples_per_s = m.samples_per_s();
  s.w5_mean_speed = opt(m.w5_mean_speed());
  s.w5_max_speed = opt(m.w5_max_speed());
  s.w5_mean_throttle = opt(m.w5_mean_throttle());
  s.w5_brake_frac = opt(m.w5_brake_frac());
  s.w30_mean_speed = opt(m.w30_mean_speed());
  s.w30_max_speed = opt(m.w30_max_speed());
  s.w30_mean_throttle = opt(m.w30_mean_throttle());
  s.w30_brake_frac = opt(m.w30_brake_frac());
  s.retired = m.retired();
  return s;
}

StrategyPrediction prediction(const w::StrategyPrediction& m) {
  StrategyPrediction p;
  p.car = m.car_number();
  p.driver = driver(m.driver());
  p.lap = m.lap();
  p.event_time_ns = m.event_time_ns();
  p.model_version = str(m.model_version());
  p.p_pit_3 = opt(m.p_pit_3());
  p.pred_next_lap_s = opt(m.pred_next_lap_s());
  p.pit_window_start = opt(m.pit_window_start());
  p.pit_window_best = opt(m.pit_window_best());
  p.pit_window_end = opt(m.pit_window_end());
  p.next_compound = compound(m.next_compound());
  p.pit_now_delta_s = opt(m.pit_now_delta_s());
  p.undercut_threat = opt(m.undercut_threat());
  p.undercut_chance = opt(m.undercut_chance());
  p.mode = static_cast<DrivingMode>(m.mode());
  p.mode_reason = str(m.mode_reason());
  p.confidence = opt(m.confidence());
  return p;
}

Alert alert(const w::Alert& m) {
  Alert a;
  a.car = m.car_number();
  a.driver = driver(m.driver());
  a.kind = str(m.kind());
  a.severity = static_cast<Severity>(m.severity());
  a.active = m.active();
  a.event_time_ns = m.event_time_ns();
  a.message = str(m.message());
  return a;
}

}  // namespace

Result<SessionOutput> decode_output(std::span<const std::byte> value) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(value.data());
  if (value.size() < 8 || !fb::BufferHasIdentifier(data, w::EnvelopeIdentifier())) {
    return Error{Reason::MalformedFlatbuffer, "not a boxcall Envelope (identifier BXC1)"};
  }
  fb::Verifier verifier(data, value.size());
  if (!w::VerifyEnvelopeBuffer(verifier)) return Error{Reason::MalformedFlatbuffer, "Envelope does not verify"};
  const auto* env = w::GetEnvelope(data);
  switch (env->payload_type()) {
    case w::Payload::LapFeatures: {
      const auto* m = env->payload_as_LapFeatures();
      return SessionOutput{str(m->session()), Output(lap_features(*m))};
    }
    case w::Payload::FeatureSnapshot: {
      const auto* m = env->payload_as_FeatureSnapshot();
      return SessionOutput{str(m->session()), Output(snapshot(*m))};
    }
    case w::Payload::StrategyPrediction: {
      const auto* m = env->payload_as_StrategyPrediction();
      return SessionOutput{str(m->session()), Output(prediction(*m))};
    }
    case w::Payload::Alert: {
      const auto* m = env->payload_as_Alert();
      return SessionOutput{str(m->session()), Output(alert(*m))};
    }
    default:
      return Error{Reason::UnknownMessageType, "not an output payload"};
  }
}

struct OutputDecoder::Json {
  fb::Parser parser;
  std::string text;
  Json() {
    parser.opts.strict_json = true;
    if (!parser.Parse(schema::kSchemaText)) throw ConfigError("embedded wire schema does not parse: " + parser.error_);
  }
};

OutputDecoder::OutputDecoder() = default;
OutputDecoder::~OutputDecoder() = default;

Result<SessionOutput> OutputDecoder::decode(std::span<const std::byte> value) {
  const auto first = std::find_if(value.begin(), value.end(), [](std::byte b) {
    const auto c = static_cast<char>(b);
    return c != ' ' && c != '\n' && c != '\r' && c != '\t';
  });
  if (first == value.end() || static_cast<char>(*first) != '{') return decode_output(value);
  if (!json_) json_ = std::make_unique<Json>();
  json_->text.assign(reinterpret_cast<const char*>(value.data()), value.size());
  if (!json_->parser.ParseJson(json_->text.c_str())) {
    std::string err = json_->parser.error_;
    if (auto nl = err.find('\n'); nl != std::string::npos) err.resize(nl);
    return Error{Reason::MalformedJson, err};
  }
  const auto& b = json_->parser.builder_;
  return decode_output(std::as_bytes(std::span<const std::uint8_t>(b.GetBufferPointer(), b.GetSize())));
}

}  // namespace boxcall::serve
