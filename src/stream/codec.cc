#include "stream/codec.h"

#include <flatbuffers/idl.h>

#include <optional>
#include <type_traits>

#include "boxcall/schema/boxcall_generated.h"
#include "boxcall/schema/schema_text.h"

namespace boxcall::stream {
namespace w = boxcall::wire;
namespace fb = flatbuffers;

namespace {

constexpr std::uint16_t kSchemaVersion = 1;
static_assert(kSchemaVersion == kWireSchemaVersion, "output_encoding.h names the schema version in headers");

template <typename T>
std::optional<T> opt(fb::Optional<T> v) {
  if (v.has_value()) return *v;
  return std::nullopt;
}
template <typename T>
fb::Optional<T> fbopt(const std::optional<T>& v) {
  if (v) return *v;
  return fb::nullopt;
}
std::string_view sv(const fb::String* s) { return s ? std::string_view(s->c_str(), s->size()) : std::string_view{}; }

Compound from_wire(w::Compound c) { return static_cast<Compound>(c); }
w::Compound to_wire(Compound c) { return static_cast<w::Compound>(c); }

// ------------------------------------------------------------------ decode

TelemetrySample decode_sample(const w::CarSample& m) {
  TelemetrySample s;
  s.car = m.car_number();
  s.driver = DriverCode(sv(m.driver()));
  s.event_time_ns = m.event_time_ns();
  s.session_time_ns = m.session_time_ns();
  s.speed_kph = m.speed_kph();
  s.rpm = m.rpm();
  s.gear = m.gear();
  s.throttle = m.throttle();
  s.brake = m.brake();
  s.drs = m.drs();
  s.x = opt(m.x());
  s.y = opt(m.y());
  s.z = opt(m.z());
  s.distance_m = opt(m.distance_m());
  s.source = static_cast<SampleSource>(m.source());
  return s;
}

Error missing_union_value(std::string_view what, const char* type) {
  return Error{Reason::MissingField, std::string(what) + " says " + type + " but carries no value"};
}

Result<TimingBody> decode_body(const w::TimingEvent& e) {
  // A union whose type is set but whose value is absent passes the verifier
  // (tables are optional): every body_as_*() below is checked before use.
  switch (e.body_type()) {
    case w::TimingBody::LapCompleted: {
      const auto* p = e.body_as_LapCompleted();
      if (!p) return missing_union_value("body_type", "LapCompleted");
      const auto& m = *p;
      LapCompleted l;
      l.lap = m.lap();
      l.lap_time_s = opt(m.lap_time_s());
      l.sector1_s = opt(m.sector1_s());
      l.sector2_s = opt(m.sector2_s());
      l.sector3_s = opt(m.sector3_s());
      l.position = opt(m.position());
      l.compound = from_wire(m.compound());
      l.tyre_life = opt(m.tyre_life());
      l.stint = opt(m.stint());
      l.fresh_tyre = opt(m.fresh_tyre());
      l.lap_start_session_ns = opt(m.lap_start_session_ns());
      l.pit_in_session_ns = opt(m.pit_in_session_ns());
      l.pit_out_session_ns = opt(m.pit_out_session_ns());
      l.track_status = std::string(sv(m.track_status()));
      l.deleted = opt(m.deleted());
      l.compound_actual = std::string(sv(m.compound_actual()));
      return TimingBody(std::move(l));
    }
    case w::TimingBody::PitIn:
      return TimingBody(PitIn{});
    case w::TimingBody::PitOut:
      return TimingBody(PitOut{});
    case w::TimingBody::TrackStatusChange: {
      const auto* p = e.body_as_TrackStatusChange();
      if (!p) return missing_union_value("body_type", "TrackStatusChange");
      const auto& m = *p;
      return TimingBody(TrackStatusChange{static_cast<TrackStatus>(m.status()), std::string(sv(m.message()))});
    }
    case w::TimingBody::Weather: {
      const auto* p = e.body_as_Weather();
      if (!p) return missing_union_value("body_type", "Weather");
      const auto& m = *p;
      Weather x;
      x.air_temp_c = opt(m.air_temp_c());
      x.track_temp_c = opt(m.track_temp_c());
      x.humidity_pct = opt(m.humidity_pct());
      x.pressure_hpa = opt(m.pressure_hpa());
      x.rainfall = opt(m.rainfall());
      x.wind_speed_ms = opt(m.wind_speed_ms());
      x.wind_direction_deg = opt(m.wind_direction_deg());
      return TimingBody(x);
    }
    case w::TimingBody::RaceControlMessage: {
      const auto* p = e.body_as_RaceControlMessage();
      if (!p) return missing_union_value("body_type", "RaceControlMessage");
      const auto& m = *p;
      return TimingBody(RaceControlMessage{std::string(sv(m.category())), std::string(sv(m.message())), opt(m.lap())});
    }
    case w::TimingBody::SessionInfo: {
      const auto* p = e.body_as_SessionInfo();
      if (!p) return missing_union_value("body_type", "SessionInfo");
      const auto& m = *p;
      return TimingBody(SessionInfo{opt(m.scheduled_laps()), std::string(sv(m.status())), std::string(sv(m.name()))});
    }
    case w::TimingBody::NONE:
      break;
  }
  return Error{Reason::UnknownMessageType,
               "timing event without a known body type (" + std::to_string(static_cast<int>(e.body_type())) + ")"};
}

Result<DecodedInput> decode_envelope(const std::uint8_t* data, std::size_t size) {
  fb::Verifier verifier(data, size);
  if (!w::VerifyEnvelopeBuffer(verifier)) {
    return Error{Reason::MalformedFlatbuffer, "FlatBuffers verifier rejected the Envelope"};
  }
  const w::Envelope* env = w::GetEnvelope(data);
  if (env->schema_version() != kSchemaVersion) {
    return Error{Reason::WrongSchemaVersion, "schema_version " + std::to_string(env->schema_version()) + ", expected " +
                                                 std::to_string(kSchemaVersion)};
  }
  switch (env->payload_type()) {
    case w::Payload::CarSample: {
      const auto* m = env->payload_as_CarSample();
      if (!m) return missing_union_value("payload_type", "CarSample");
      return DecodedInput{sv(m->session()), Input(decode_sample(*m))};
    }
    case w::Payload::TimingEvent: {
      const auto* m = env->payload_as_TimingEvent();
      if (!m) return missing_union_value("payload_type", "TimingEvent");
      auto body = decode_body(*m);
      if (!body) return body.error();
      TimingEvent e;
      e.car = m->car_number();
      e.driver = DriverCode(sv(m->driver()));
      e.event_time_ns = m->event_time_ns();
      e.session_time_ns = m->session_time_ns();
      e.body = std::move(body).value();
      return DecodedInput{sv(m->session()), Input(std::move(e))};
    }
    case w::Payload::NONE:
      return Error{Reason::UnknownMessageType, "envelope without payload"};
    default:
      return Error{Reason::UnknownMessageType,
                   std::string("payload type ") + w::EnumNamePayload(env->payload_type()) + " is not an input"};
  }
}

bool looks_like_json(std::span<const std::byte> v) {
  for (std::byte b : v) {
    char c = static_cast<char>(b);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    return c == '{';
  }
  return false;
}

// ------------------------------------------------------------------ encode

fb::Offset<fb::String> str(fb::FlatBufferBuilder& b, std::string_view s) { return b.CreateString(s.data(), s.size()); }

fb::Offset<void> encode_body(fb::FlatBufferBuilder& b, const TimingBody& body, w::TimingBody& type) {
  return std::visit(
      [&](const auto& m) -> fb::Offset<void> {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, LapCompleted>) {
          auto ts = str(b, m.track_status);
          // Absent unless set, so records without it encode exactly as before the field existed.
          auto actual = m.compound_actual.empty() ? fb::Offset<fb::String>() : str(b, m.compound_actual);
          type = w::TimingBody::LapCompleted;
          return w::CreateLapCompleted(b, m.lap, fbopt(m.lap_time_s), fbopt(m.sector1_s), fbopt(m.sector2_s),
                                       fbopt(m.sector3_s), fbopt(m.position), to_wire(m.compound), fbopt(m.tyre_life),
                                       fbopt(m.stint), fbopt(m.fresh_tyre), fbopt(m.lap_start_session_ns),
                                       fbopt(m.pit_in_session_ns), fbopt(m.pit_out_session_ns), ts, fbopt(m.deleted),
                                       actual)
              .Union();
        } else if constexpr (std::is_same_v<T, PitIn>) {
          type = w::TimingBody::PitIn;
          return w::CreatePitIn(b).Union();
        } else if constexpr (std::is_same_v<T, PitOut>) {
          type = w::TimingBody::PitOut;
          return w::CreatePitOut(b).Union();
        } else if constexpr (std::is_same_v<T, TrackStatusChange>) {
          auto msg = str(b, m.message);
          type = w::TimingBody::TrackStatusChange;
          return w::CreateTrackStatusChange(b, static_cast<w::TrackStatusCode>(m.status), msg).Union();
        } else if constexpr (std::is_same_v<T, Weather>) {
          type = w::TimingBody::Weather;
          return w::CreateWeather(b, fbopt(m.air_temp_c), fbopt(m.track_temp_c), fbopt(m.humidity_pct),
                                  fbopt(m.pressure_hpa), fbopt(m.rainfall), fbopt(m.wind_speed_ms),
                                  fbopt(m.wind_direction_deg))
              .Union();
        } else if constexpr (std::is_same_v<T, RaceControlMessage>) {
          auto cat = str(b, m.category);
          auto msg = str(b, m.message);
          type = w::TimingBody::RaceControlMessage;
          return w::CreateRaceControlMessage(b, cat, msg, fbopt(m.lap)).Union();
        } else {
          static_assert(std::is_same_v<T, SessionInfo>);
          auto status = str(b, m.status);
          auto name = str(b, m.name);
          type = w::TimingBody::SessionInfo;
          return w::CreateSessionInfo(b, fbopt(m.scheduled_laps), status, name).Union();
        }
      },
      body);
}

fb::Offset<void> encode_output(fb::FlatBufferBuilder& b, std::string_view session, const Output& out,
                               w::Payload& type) {
  auto s = str(b, session);
  return std::visit(
      [&](const auto& m) -> fb::Offset<void> {
        using T = std::decay_t<decltype(m)>;
        auto driver = str(b, m.driver.view());
        if constexpr (std::is_same_v<T, LapFeatures>) {
          type = w::Payload::LapFeatures;
          return w::CreateLapFeatures(b, s, m.car, driver, m.lap, m.event_time_ns, m.session_time_ns, m.samples,
                                      m.excluded_samples, fbopt(m.max_gap_s), fbopt(m.mean_throttle),
                                      fbopt(m.std_throttle), fbopt(m.full_throttle_frac), fbopt(m.mean_speed),
                                      fbopt(m.max_speed), fbopt(m.brake_frac), fbopt(m.brake_events),
                                      fbopt(m.drs_open_frac), fbopt(m.gear_shifts), fbopt(m.lap_time_s),
                                      to_wire(m.compound), fbopt(m.stint), fbopt(m.tyre_age), fbopt(m.laps_remaining),
                                      fbopt(m.fuel_kg_est), fbopt(m.gap_to_leader_s), fbopt(m.interval_ahead_s),
                                      fbopt(m.deg_slope_s_per_lap), fbopt(m.position))
              .Union();
        } else if constexpr (std::is_same_v<T, FeatureSnapshot>) {
          type = w::Payload::FeatureSnapshot;
          return w::CreateFeatureSnapshot(b, s, m.car, driver, m.event_time_ns, m.lap, m.last_sample_age_s,
                                          m.samples_per_s, fbopt(m.w5_mean_speed), fbopt(m.w5_max_speed),
                                          fbopt(m.w5_mean_throttle), fbopt(m.w5_brake_frac), fbopt(m.w30_mean_speed),
                                          fbopt(m.w30_max_speed), fbopt(m.w30_mean_throttle), fbopt(m.w30_brake_frac),
                                          m.retired)
              .Union();
        } else if constexpr (std::is_same_v<T, StrategyPrediction>) {
          auto version = str(b, m.model_version);
          auto reason = str(b, m.mode_reason);
          type = w::Payload::StrategyPrediction;
          return w::CreateStrategyPrediction(
                     b, s, m.car, driver, m.lap, m.event_time_ns, version, fbopt(m.p_pit_3), fbopt(m.pred_next_lap_s),
                     fbopt(m.pit_window_start), fbopt(m.pit_window_best), fbopt(m.pit_window_end),
                     to_wire(m.next_compound), fbopt(m.pit_now_delta_s), fbopt(m.undercut_threat),
                     fbopt(m.undercut_chance), static_cast<w::DrivingMode>(m.mode), reason, fbopt(m.confidence))
              .Union();
        } else {
          static_assert(std::is_same_v<T, Alert>);
          auto kind = str(b, m.kind);
          auto msg = str(b, m.message);
          type = w::Payload::Alert;
          return w::CreateAlert(b, s, m.car, driver, kind, static_cast<w::Severity>(m.severity), m.active,
                                m.event_time_ns, msg)
              .Union();
        }
      },
      out);
}

}  // namespace

struct Codec::Impl {
  static constexpr std::size_t kMaxScalarAlign = alignof(std::int64_t);
  std::vector<std::uint8_t> aligned_scratch;  // heap storage: aligned for any scalar
  fb::FlatBufferBuilder builder{1024};
  fb::Parser parser;
  std::string json_scratch;
  std::string rendered;  // render()'s JSON buffer, reused

  Impl() {
    parser.opts.strict_json = true;
    parser.opts.output_default_scalars_in_json = true;
    parser.opts.indent_step = -1;  // one line
    parser.opts.natural_utf8 = true;
    if (!parser.Parse(schema::kSchemaText)) {
      throw ConfigError("embedded wire schema does not parse: " + parser.error_);
    }
  }

  std::span<const std::uint8_t> finish(fb::Offset<void> payload, w::Payload type) {
    auto env = w::CreateEnvelope(builder, kSchemaVersion, type, payload);
    w::FinishEnvelopeBuffer(builder, env);
    return {builder.GetBufferPointer(), builder.GetSize()};
  }

  /// FlatBuffers reads scalars in place: a buffer must start at an address
  /// aligned for its largest scalar. Kafka payloads start anywhere, so an
  /// unaligned one is copied into a reused, aligned scratch buffer first.
  const std::uint8_t* aligned(const std::uint8_t* data, std::size_t size) {
    if (reinterpret_cast<std::uintptr_t>(data) % kMaxScalarAlign == 0) return data;
    aligned_scratch.assign(data, data + size);
    return aligned_scratch.data();
  }

  /// The JSON form of a verified Envelope into `json` (replaced; one line, no trailing newline).
  std::optional<Error> render_json(std::span<const std::byte> flatbuffer, std::string& json) {
    const auto* data = aligned(reinterpret_cast<const std::uint8_t*>(flatbuffer.data()), flatbuffer.size());
    fb::Verifier verifier(data, flatbuffer.size());
    if (!w::VerifyEnvelopeBuffer(verifier)) {
      return Error{Reason::MalformedFlatbuffer, "FlatBuffers verifier rejected the Envelope"};
    }
    json.clear();
    if (!fb::GenerateText(parser, data, &json)) {
      return Error{Reason::MalformedFlatbuffer, "cannot render the Envelope as JSON"};
    }
    while (!json.empty() && (json.back() == '\n' || json.back() == ' ')) json.pop_back();
    return std::nullopt;
  }

  Result<const std::uint8_t*> parse_json(std::string_view json, std::size_t& size) {
    // The parser reads a C string: a NUL byte would silently end the text early.
    if (auto nul = json.find('\0'); nul != std::string_view::npos) {
      return Error{Reason::MalformedJson, "NUL byte at offset " + std::to_string(nul) + " inside the JSON text"};
    }
    json_scratch.assign(json.data(), json.size());
    if (!parser.ParseJson(json_scratch.c_str())) {
      std::string err = parser.error_;
      if (auto nl = err.find('\n'); nl != std::string::npos) err.resize(nl);
      return Error{Reason::MalformedJson, err};
    }
    size = parser.builder_.GetSize();
    return parser.builder_.GetBufferPointer();
  }
};

Codec::Codec() : impl_(std::make_unique<Impl>()) {}
Codec::~Codec() = default;

Result<DecodedInput> Codec::decode(std::span<const std::byte> value) {
  if (value.empty()) return Error{Reason::MalformedFlatbuffer, "empty record value"};
  const auto* data = reinterpret_cast<const std::uint8_t*>(value.data());
  if (value.size() >= 8 && fb::BufferHasIdentifier(data, w::EnvelopeIdentifier())) {
    return decode_envelope(impl_->aligned(data, value.size()), value.size());
  }
  if (looks_like_json(value)) {
    std::size_t size = 0;
    auto buf = impl_->parse_json({reinterpret_cast<const char*>(value.data()), value.size()}, size);
    if (!buf) return buf.error();
    return decode_envelope(buf.value(), size);
  }
  if (value.size() >= 8 && std::string_view(reinterpret_cast<const char*>(data) + 4, 3) == "BXC") {
    return Error{Reason::WrongSchemaVersion,
                 "file identifier " + std::string(reinterpret_cast<const char*>(data) + 4, 4) + ", expected BXC1"};
  }
  return Error{Reason::MalformedFlatbuffer, "neither a boxcall Envelope (identifier BXC1) nor JSON"};
}

std::span<const std::uint8_t> Codec::encode(std::string_view session, const Input& input) {
  auto& b = impl_->builder;
  b.Clear();
  if (const auto* s = std::get_if<TelemetrySample>(&input)) {
    auto sess = str(b, session);
    auto driver = str(b, s->driver.view());
    auto m = w::CreateCarSample(b, sess, s->car, driver, s->event_time_ns, s->session_time_ns, s->speed_kph, s->rpm,
                                s->gear, s->throttle, s->brake, s->drs, fbopt(s->x), fbopt(s->y), fbopt(s->z),
                                fbopt(s->distance_m), static_cast<w::SampleSource>(s->source));
    return impl_->finish(m.Union(), w::Payload::CarSample);
  }
  const auto& e = std::get<TimingEvent>(input);
  auto sess = str(b, session);
  auto driver = str(b, e.driver.view());
  w::TimingBody type = w::TimingBody::NONE;
  auto body = encode_body(b, e.body, type);
  auto m = w::CreateTimingEvent(b, sess, e.car, driver, e.event_time_ns, e.session_time_ns, type, body);
  return impl_->finish(m.Union(), w::Payload::TimingEvent);
}

std::span<const std::uint8_t> Codec::encode(std::string_view session, const Output& output) {
  auto& b = impl_->builder;
  b.Clear();
  w::Payload type = w::Payload::NONE;
  auto payload = encode_output(b, session, output, type);
  return impl_->finish(payload, type);
}

Result<std::string> Codec::to_json(std::span<const std::byte> flatbuffer) {
  std::string json;
  if (auto err = impl_->render_json(flatbuffer, json)) return std::move(*err);
  return json;
}

Result<RenderedOutput> Codec::render(std::span<const std::uint8_t> envelope, OutputEncoding encoding) {
  if (encoding == OutputEncoding::Json) {
    if (auto err = impl_->render_json(std::as_bytes(envelope), impl_->rendered)) return std::move(*err);
    envelope = {reinterpret_cast<const std::uint8_t*>(impl_->rendered.data()), impl_->rendered.size()};
  } else {
    fb::Verifier verifier(envelope.data(), envelope.size());
    if (!w::VerifyEnvelopeBuffer(verifier)) {
      return Error{Reason::MalformedFlatbuffer, "FlatBuffers verifier rejected the Envelope"};
    }
  }
  return RenderedOutput{envelope, content_type(encoding), kSchemaVersionText};
}

Result<std::vector<std::uint8_t>> Codec::from_json(std::string_view json) {
  std::size_t size = 0;
  auto buf = impl_->parse_json(json, size);
  if (!buf) return buf.error();
  return std::vector<std::uint8_t>(buf.value(), buf.value() + size);
}

}  // namespace boxcall::stream
