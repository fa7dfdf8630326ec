#include "stream/codec.h"

#include <gtest/gtest.h>

#include "base/validate.h"
#include "boxcall/schema/boxcall_generated.h"

namespace boxcall::stream {
namespace {

TelemetrySample sample() {
  TelemetrySample s;
  s.car = 44;
  s.driver = DriverCode("HAM");
  s.event_time_ns = 1'678'028'618'501'000'000;
  s.session_time_ns = 3'600'000'000'000;
  s.speed_kph = 287.5F;
  s.rpm = 11234;
  s.gear = 7;
  s.throttle = 100;
  s.brake = false;
  s.drs = 12;
  s.x = 12.5F;
  s.distance_m = 1234.5;
  return s;
}

TEST(Codec, TelemetryRoundTripsThroughFlatBuffers) {
  Codec codec;
  auto bytes = codec.encode("bahrain-2023", Input(sample()));
  std::vector<std::uint8_t> copy(bytes.begin(), bytes.end());
  auto decoded = codec.decode(as_bytes(std::span<const std::uint8_t>(copy)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  EXPECT_EQ(decoded->session, "bahrain-2023");
  const auto& s = std::get<TelemetrySample>(decoded->input);
  EXPECT_EQ(s.car, 44);
  EXPECT_EQ(s.driver.view(), "HAM");
  EXPECT_EQ(s.event_time_ns, sample().event_time_ns);
  EXPECT_FLOAT_EQ(s.speed_kph, 287.5F);
  EXPECT_EQ(s.drs, 12);
  EXPECT_EQ(s.x, 12.5F);
  EXPECT_FALSE(s.y.has_value());  // optional fields stay absent
  EXPECT_EQ(s.distance_m, 1234.5);
}

TEST(Codec, LapCompletedRoundTripsThroughJson) {
  Codec codec;
  TimingEvent e;
  e.car = 1;
  e.driver = DriverCode("VER");
  e.event_time_ns = 1'678'028'618'501'000'000;
  e.session_time_ns = 3'855'961'000'000;
  LapCompleted lap;
  lap.lap = 14;
  lap.lap_time_s = 99.019;
  lap.compound = Compound::Soft;
  lap.tyre_life = 17;
  lap.stint = 1;
  lap.pit_in_session_ns = 5'133'830'000'000;
  lap.track_status = "1";
  e.body = lap;
  auto bytes = codec.encode("s1", Input(e));
  auto json = codec.to_json(as_bytes(bytes));
  ASSERT_TRUE(json.ok()) << json.error().detail;
  EXPECT_NE(json->find("\"payload_type\": \"TimingEvent\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"SOFT\""), std::string::npos) << *json;
  // The JSON form is accepted as input and decodes to the same event.
  auto decoded = codec.decode(as_bytes(std::string_view(*json)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().detail;
  const auto& back = std::get<TimingEvent>(decoded->input);
  const auto& l = std::get<LapCompleted>(back.body);
  EXPECT_EQ(l.lap, 14);
  EXPECT_EQ(l.lap_time_s, 99.019);
  EXPECT_EQ(l.compound, Compound::Soft);
  EXPECT_EQ(l.pit_in_session_ns, 5'133'830'000'000);
  EXPECT_FALSE(l.pit_out_session_ns.has_value());
  EXPECT_EQ(l.track_status, "1");
}

TEST(Codec, RejectsGarbageWithReasons) {
  Codec codec;
  auto reason = [&](std::string_view v) {
    auto r = codec.decode(as_bytes(v));
    EXPECT_FALSE(r.ok());
    return r.ok() ? Reason::kCount : r.error().reason;
  };
  EXPECT_EQ(reason("{\"payload_type\": \"CarSample\", \"payload\": {"), Reason::MalformedJson);
  EXPECT_EQ(reason("{\"payload_type\": \"NoSuchThing\", \"payload\": {}}"), Reason::MalformedJson);
  EXPECT_EQ(reason("hello world, not a record"), Reason::MalformedFlatbuffer);
  EXPECT_EQ(reason(""), Reason::MalformedFlatbuffer);

  // A valid envelope, then corrupted: the verifier must catch it.
  auto bytes = codec.encode("s1", Input(sample()));
  std::vector<std::uint8_t> bad(bytes.begin(), bytes.end());
  bad[0] = 0xff;  // root offset now points outside the buffer
  bad[1] = 0xff;
  auto r = codec.decode(as_bytes(std::span<const std::uint8_t>(bad)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::MalformedFlatbuffer);
}

TEST(Codec, WrongSchemaVersionIsReported) {
  Codec codec;
  flatbuffers::FlatBufferBuilder b;
  auto s = b.CreateString("s1");
  auto m = wire::CreateCarSample(b, s, 1);
  auto env = wire::CreateEnvelope(b, 2, wire::Payload::CarSample, m.Union());
  wire::FinishEnvelopeBuffer(b, env);
  auto r = codec.decode(as_bytes(std::span<const std::uint8_t>(b.GetBufferPointer(), b.GetSize())));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::WrongSchemaVersion);
  EXPECT_NE(r.error().detail.find("schema_version 2"), std::string::npos);
}

TEST(Codec, OutputsAreNotInputs) {
  Codec codec;
  LapFeatures f;
  f.car = 1;
  f.lap = 3;
  auto bytes = codec.encode("s1", Output(f));
  auto r = codec.decode(as_bytes(bytes));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, Reason::UnknownMessageType);
}

TEST(Validate, PhysicalRanges) {
  auto reason_for = [](TelemetrySample s) {
    auto e = validate(Input(s));
    return e ? e->reason : Reason::kCount;
  };
  EXPECT_EQ(reason_for(sample()), Reason::kCount);
  auto s = sample();
  s.speed_kph = 401;
  EXPECT_EQ(reason_for(s), Reason::OutOfRange);
  s = sample();
  s.speed_kph = -1;
  EXPECT_EQ(reason_for(s), Reason::OutOfRange);
  s = sample();
  s.throttle = 104;  // the known sensor error value is data, not garbage
  EXPECT_EQ(reason_for(s), Reason::kCount);
  s.throttle = 103;
  EXPECT_EQ(reason_for(s), Reason::OutOfRange);
  s = sample();
  s.gear = 9;
  EXPECT_EQ(reason_for(s), Reason::OutOfRange);
  s = sample();
  s.event_time_ns = 1'678'028'618;  // seconds, not nanoseconds
  EXPECT_EQ(reason_for(s), Reason::OutOfRange);
  s = sample();
  s.car = 0;
  EXPECT_EQ(reason_for(s), Reason::MissingField);
}

}  // namespace
}  // namespace boxcall::stream
