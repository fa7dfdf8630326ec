// Output encodings: the [output] configuration, Codec::render and the header values
// (docs/wire-contract.md, "Reading boxcall's outputs").
#include "stream/output_encoding.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "stream/codec.h"
#include "stream/config.h"
#include "stream/metrics.h"

namespace boxcall::stream {
namespace {

StrategyPrediction prediction() {
  StrategyPrediction p;
  p.car = 1;
  p.driver = DriverCode("VER");
  p.lap = 14;
  p.event_time_ns = 1'678'029'900'123'456'789;
  p.model_version = "lap_time@ebb7085d+pit_3@9b6868af";
  p.p_pit_3 = 0.25;
  p.pit_window_start = 16;
  p.pit_window_best = 17;
  p.pit_window_end = 20;
  p.next_compound = Compound::Hard;
  p.mode = DrivingMode::Push;
  p.mode_reason = "undercut threat from behind";
  return p;  // pred_next_lap_s, pit_now_delta_s, undercut_*, confidence unknown
}

TEST(OutputEncoding, FlatBuffersEverywhereByDefault) {
  StreamConfig c;
  for (auto t : {OutputTopic::Features, OutputTopic::Predictions, OutputTopic::Alerts, OutputTopic::DeadLetter}) {
    EXPECT_EQ(c.output.of(t), OutputEncoding::FlatBuffers) << to_string(t);
  }
}

TEST(OutputEncoding, ParsesTheConfigurationWords) {
  EXPECT_THROW(parse_output_encoding("", "--output-encoding"), ConfigError);
  EXPECT_THROW(parse_output_encoding("JSON", "--output-encoding"), ConfigError);
  EXPECT_EQ(parse_output_encoding("json", "x"), OutputEncoding::Json);
  EXPECT_EQ(parse_output_encoding("flatbuffers", "x"), OutputEncoding::FlatBuffers);
}

TEST(OutputEncoding, HeaderValuesNameTheSchemaAndItsVersion) {
  const std::string version = std::to_string(kWireSchemaVersion);
  EXPECT_EQ(kSchemaVersionText, version);
  for (auto e : {OutputEncoding::FlatBuffers, OutputEncoding::Json}) {
    const std::string ct(content_type(e));
    EXPECT_NE(ct.find("; schema=boxcall.wire.Envelope; "), std::string::npos) << ct;
    EXPECT_TRUE(ct.ends_with("; version=" + version)) << ct;
  }
  EXPECT_TRUE(content_type(OutputEncoding::FlatBuffers).starts_with("application/x-flatbuffers;"));
  EXPECT_TRUE(content_type(OutputEncoding::Json).starts_with("application/json;"));
}

TEST(OutputEncoding, FlatBuffersRenderIsTheEnvelopeItself) {
  Codec codec;
  auto bytes = codec.encode("2023_01_bahrain_race", Output(prediction()));
  std::vector<std::uint8_t> envelope(bytes.begin(), bytes.end());
  auto r = codec.render(envelope, OutputEncoding::FlatBuffers);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->value.data(), envelope.data()) << "no copy";
  EXPECT_EQ(r->value.size(), envelope.size());
  EXPECT_EQ(r->content_type, kContentTypeFlatBuffers);
  EXPECT_EQ(r->schema_version, "1");
}

TEST(OutputEncoding, JsonRenderIsTheJsonFormWithNullsForUnknownValues) {
  Codec codec;
  auto bytes = codec.encode("2023_01_bahrain_race", Output(prediction()));
  std::vector<std::uint8_t> envelope(bytes.begin(), bytes.end());
  auto r = codec.render(envelope, OutputEncoding::Json);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->content_type, kContentTypeJson);
  const std::string json(reinterpret_cast<const char*>(r->value.data()), r->value.size());
  auto expected = codec.to_json(as_bytes(std::span<const std::uint8_t>(envelope)));
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(json, *expected);
  EXPECT_EQ(json.find('\n'), std::string::npos) << "one record, one line";
  for (const char* part :
       {"\"schema_version\": 1", "\"payload_type\": \"StrategyPrediction\"", "\"event_time_ns\": 1678029900123456789",
        "\"pit_window_best\": 17", "\"next_compound\": \"HARD\"", "\"mode\": \"PUSH\"", "\"pred_next_lap_s\": null",
        "\"confidence\": null"}) {
    EXPECT_NE(json.find(part), std::string::npos) << part << " not in " << json;
  }
  // The JSON form parses back to the same record (schema-checked by the codec's parser).
  auto back = codec.from_json(json);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  auto again = codec.to_json(as_bytes(std::span<const std::uint8_t>(back.value())));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, json);
}

TEST(OutputEncoding, RenderRejectsWhatIsNotAnEnvelope) {
  Codec codec;
  const std::vector<std::uint8_t> garbage{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (auto e : {OutputEncoding::FlatBuffers, OutputEncoding::Json}) {
    auto r = codec.render(garbage, e);
    ASSERT_FALSE(r.ok()) << to_string(e);
    EXPECT_EQ(r.error().reason, Reason::MalformedFlatbuffer);
  }
}

TEST(OutputEncoding, JsonInputAcceptsNullForUnknownOptionalValues) {
  // Producers may write the JSON form as boxcall does, nulls included (schemas/boxcall.schema.json).
  Codec codec;
  auto r = codec.decode(as_bytes(std::string_view(
      R"({"schema_version": 1, "payload_type": "CarSample", "payload": {"session": "s1", "car_number": 44,)"
      R"( "event_time_ns": 1678028618501000000, "speed_kph": 287.5, "x": null, "distance_m": 12.5}})")));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  const auto& s = std::get<TelemetrySample>(r->input);
  EXPECT_FALSE(s.x.has_value());
  EXPECT_EQ(s.distance_m, 12.5);
}

}  // namespace
}  // namespace boxcall::stream
