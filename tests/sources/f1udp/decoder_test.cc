// The F1 game UDP decoder on packets built from EA's specification
// (packet_builder.h), in all three formats: every packet type boxcall uses,
// what each turns into, and what UDP does to a stream (loss, duplicates,
// reordering, restarts, garbage).
#include "sources/f1udp/decoder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <set>

#include "packet_builder.h"
#include "sources/f1udp/packets.h"

namespace boxcall::sources::f1udp {
namespace {

namespace pb = boxcall::testing::f1udp;
constexpr TimeNs kArrival0 = 1'700'000'000LL * kNsPerSecond;

/// A small race: `cars` active cars, a frame at a time, every packet type the decoder uses.
class Race {
 public:
  explicit Race(int format, int cars = 20) : cars_(cars) {
    f_.format = format;
    for (int i = 0; i < pb::kCars; ++i) {
      auto& l = lap_[static_cast<std::size_t>(i)];
      l.lap_num = 1;
      l.position = static_cast<std::uint8_t>(i + 1);
      l.result_status = i < cars ? 2 : 0;
      tel_[static_cast<std::size_t>(i)] = {static_cast<std::uint16_t>(200 + i),   0.75F, 0, 0, 6,
                                           static_cast<std::uint16_t>(11000 + i), 0};
      mot_[static_cast<std::size_t>(i)] = {100.0F + i, 2.0F, -50.0F - i};
      status_[static_cast<std::size_t>(i)] = {18, 17, 3, 0};
    }
  }

  pb::Frame& frame() { return f_; }
  std::array<pb::CarLap, pb::kCars>& lap() { return lap_; }
  std::array<pb::CarTelemetry, pb::kCars>& tel() { return tel_; }
  std::array<pb::CarStatus, pb::kCars>& status() { return status_; }
  pb::SessionFacts& facts() { return facts_; }

  std::vector<pb::Participant> participants() const {
    std::vector<pb::Participant> p;
    static const char* kNames[] = {"VERSTAPPEN", "PÉREZ",  "HAMILTON", "RUSSELL",    "LECLERC",
                                   "SAINZ",      "NORRIS", "PIASTRI",  "ALONSO",     "STROLL",
                                   "GASLY",      "OCON",   "ALBON",    "SARGEANT",   "TSUNODA",
                                   "DE VRIES",   "BOTTAS", "ZHOU",     "HÜLKENBERG", "MAGNUSSEN"};
    static const int kNumbers[] = {1, 11, 44, 63, 16, 55, 4, 81, 14, 18, 10, 31, 23, 2, 22, 21, 77, 24, 27, 20};
    for (int i = 0; i < cars_; ++i) p.push_back({static_cast<std::uint8_t>(kNumbers[i % 20]), kNames[i % 20]});
    return p;
  }

  /// The packets of one frame, in the game's order.
  std::vector<pb::Bytes> packets(bool with_session, bool with_participants) const {
    std::vector<pb::Bytes> v;
    v.push_back(pb::motion(f_, mot_));
    if (with_session) v.push_back(pb::session(f_, facts_));
    v.push_back(pb::lap_data(f_, lap_));
    if (with_participants) v.push_back(pb::participants(f_, participants()));
    v.push_back(pb::car_telemetry(f_, tel_));
    v.push_back(pb::car_status(f_, status_));
    return v;
  }

  void advance(float dt) {
    f_.session_time += dt;
    ++f_.frame;
    ++f_.overall;
    for (auto& l : lap_) l.current_lap_ms += static_cast<std::uint32_t>(dt * 1000);
  }

  std::array<pb::CarMotion, pb::kCars> mot_{};

 private:
  int cars_;
  pb::Frame f_;
  std::array<pb::CarLap, pb::kCars> lap_{};
  std::array<pb::CarTelemetry, pb::kCars> tel_{};
  std::array<pb::CarStatus, pb::kCars> status_{};
  pb::SessionFacts facts_;
};

struct Collected {
  std::vector<KeyedInput> all;
  std::vector<TelemetrySample> samples() const {
    std::vector<TelemetrySample> v;
    for (const auto& k : all)
      if (auto* s = std::get_if<TelemetrySample>(&k.input)) v.push_back(*s);
    return v;
  }
  template <typename Body>
  std::vector<std::pair<TimingEvent, Body>> timing() const {
    std::vector<std::pair<TimingEvent, Body>> v;
    for (const auto& k : all) {
      if (auto* e = std::get_if<TimingEvent>(&k.input)) {
        if (auto* b = std::get_if<Body>(&e->body)) v.emplace_back(*e, *b);
      }
    }
    return v;
  }
};

DecodeResult feed(Decoder& d, const pb::Bytes& b, Collected& c, TimeNs arrival = kArrival0) {
  return d.decode(pb::view(b), arrival, c.all);
}

void feed_frame(Decoder& d, const Race& r, Collected& c, bool session = true, bool participants = true) {
  for (const auto& p : r.packets(session, participants)) {
    const auto res = feed(d, p, c);
    ASSERT_EQ(res.outcome, Outcome::Decoded) << res.detail;
  }
}

class AllFormats : public ::testing::TestWithParam<int> {};
INSTANTIATE_TEST_SUITE_P(F1, AllFormats, ::testing::Values(2023, 2024, 2025));

TEST(F1UdpLayout, SizesMatchTheSpecificationAndTheStridesAddUp) {
  for (int format : {2023, 2024, 2025}) {
    const Layout* L = layout_of(static_cast<std::uint16_t>(format));
    ASSERT_NE(L, nullptr);
    for (int id = 0; id < 16; ++id) EXPECT_EQ(L->sizes[static_cast<std::size_t>(id)], pb::packet_size(format, id));
    // Struct arithmetic: header + 22 cars + trailing fields.
    EXPECT_EQ(kHeaderSize + kMaxCars * L->lap_stride + 2, L->sizes[2]);
    EXPECT_EQ(kHeaderSize + 1 + kMaxCars * L->participant_stride, L->sizes[4]);
    EXPECT_EQ(kHeaderSize + kMaxCars * telemetry::kStride + 3, L->sizes[6]);
    EXPECT_EQ(kHeaderSize + kMaxCars * status::kStride, L->sizes[7]);
    EXPECT_EQ(kHeaderSize + kMaxCars * motion::kStride, L->sizes[0]);
    EXPECT_EQ(history::kLaps + history::kMaxLaps * history::kLapStride + 8 * 3, L->sizes[11]);
  }
  EXPECT_EQ(layout_of(2022), nullptr);
}

TEST_P(AllFormats, CarTelemetryBecomesOneSamplePerActiveCarWithMotionAndLapDistance) {
  Race race(GetParam(), 20);
  race.lap()[3].lap_distance = 1234.5F;
  race.tel()[3] = {287, 0.5F, 0.1F, 0.3F, -1, 10500, 1};
  race.status()[5].drs_allowed = 1;
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  ASSERT_EQ(c.samples().size(), 20u);  // 22 slots, 20 active
  race.advance(1.0F / 60);
  c.all.clear();
  feed_frame(d, race, c, false, false);
  const auto samples = c.samples();
  ASSERT_EQ(samples.size(), 20u);
  const TelemetrySample& s = samples[3];
  EXPECT_EQ(s.car, 63);
  EXPECT_EQ(s.driver.view(), "RUS");
  EXPECT_EQ(s.speed_kph, 287);
  EXPECT_FLOAT_EQ(s.throttle, 50);
  EXPECT_TRUE(s.brake);
  EXPECT_EQ(s.gear, 0);  // reverse is 0 on the wire
  EXPECT_EQ(s.rpm, 10500);
  EXPECT_EQ(s.drs, 12);
  EXPECT_EQ(samples[5].drs, 8);  // not open, but available (Car Status of the previous frame)
  EXPECT_EQ(samples[0].drs, 0);
  EXPECT_EQ(s.source, SampleSource::Simulator);
  ASSERT_TRUE(s.x && s.y && s.z);
  EXPECT_FLOAT_EQ(*s.x, 103);
  EXPECT_FLOAT_EQ(*s.z, -53);
  ASSERT_TRUE(s.distance_m);
  EXPECT_NEAR(*s.distance_m, 1234.5, 1e-3);
  EXPECT_EQ(samples[1].driver.view(), "PER");
  EXPECT_EQ(*c.all[0].session, "f1udp-123456789abcdef0");
  EXPECT_EQ(d.stats().packets_by_format[static_cast<std::size_t>(GetParam() - 2023)], 10u);
}

TEST_P(AllFormats, LapCompletedCarriesLapAndSectorTimesTyresAndPitStops) {
  Race race(GetParam(), 2);
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  // Lap 1 in progress: sector 1 then sector 2 done; the car enters the pit lane late in the lap.
  race.advance(30);
  race.lap()[0].s1_ms = 30'123;
  feed_frame(d, race, c, false, false);
  race.advance(30);
  race.lap()[0].s2_ms = 61'456;  // over a minute: the minutes part is used
  race.lap()[0].pit_status = 1;
  feed_frame(d, race, c, false, false);
  ASSERT_EQ(c.timing<PitIn>().size(), 1u);
  // Crossing the line: lap 2, last lap 1:35.000, 0.25 s into the new lap; tyres changed in the box.
  race.advance(35);
  auto& l = race.lap()[0];
  l.lap_num = 2;
  l.last_lap_ms = 95'000;
  l.current_lap_ms = 250;
  l.s1_ms = l.s2_ms = 0;
  l.position = 2;
  l.pit_status = 0;
  feed_frame(d, race, c, false, false);
  ASSERT_EQ(c.timing<PitOut>().size(), 1u);
  const auto laps = c.timing<LapCompleted>();
  ASSERT_EQ(laps.size(), 1u);
  const auto& [e, lap] = laps[0];
  EXPECT_EQ(e.car, 1);
  EXPECT_EQ(lap.lap, 1);
  EXPECT_DOUBLE_EQ(*lap.lap_time_s, 95.0);
  EXPECT_DOUBLE_EQ(*lap.sector1_s, 30.123);
  EXPECT_DOUBLE_EQ(*lap.sector2_s, 61.456);
  EXPECT_DOUBLE_EQ(*lap.sector3_s, 3.421);
  EXPECT_EQ(*lap.position, 2);
  EXPECT_EQ(lap.compound, Compound::Medium);
  EXPECT_EQ(lap.compound_actual, "C3");
  EXPECT_EQ(*lap.tyre_life, 4);
  EXPECT_EQ(*lap.stint, 1);
  EXPECT_FALSE(*lap.fresh_tyre);  // age 3 when first seen
  EXPECT_FALSE(*lap.deleted);
  ASSERT_TRUE(lap.pit_in_session_ns);
  EXPECT_EQ(*lap.pit_in_session_ns, s_to_ns(60));
  // The lap ended 0.25 s before the packet that showed it.
  EXPECT_EQ(e.session_time_ns, s_to_ns(95) - s_to_ns(0.25));
  EXPECT_EQ(e.event_time_ns, kArrival0 + e.session_time_ns);
  // New tyres: stint 2, fresh.
  race.status()[0] = {16, 16, 0, 0};
  race.advance(1);
  feed_frame(d, race, c, false, false);
  race.advance(60);
  l.s1_ms = 29'000;
  l.s2_ms = 60'000;
  feed_frame(d, race, c, false, false);
  race.advance(30);
  l.lap_num = 3;
  l.last_lap_ms = 91'000;
  l.s1_ms = l.s2_ms = 0;
  l.current_lap_ms = 0;
  feed_frame(d, race, c, false, false);
  const auto laps2 = c.timing<LapCompleted>();
  ASSERT_EQ(laps2.size(), 2u);
  EXPECT_EQ(laps2[1].second.compound, Compound::Soft);
  EXPECT_EQ(laps2[1].second.compound_actual, "C5");
  EXPECT_EQ(*laps2[1].second.stint, 2);
  EXPECT_TRUE(*laps2[1].second.fresh_tyre);
  EXPECT_EQ(*laps2[1].second.tyre_life, 1);
  ASSERT_TRUE(laps2[1].second.pit_out_session_ns);  // the out-lap
}

TEST_P(AllFormats, SessionHistoryFillsTheSectorsOfALapSeenOnlyAtItsEnd) {
  Race race(GetParam(), 1);
  Decoder d;
  Collected c;
  race.frame().session_time = 80;
  race.lap()[0].current_lap_ms = 80'000;  // joined late in lap 1: no sector times seen
  feed_frame(d, race, c);
  race.advance(10);
  race.lap()[0] = {90'500, 500, 0, 0, 10, 5000, 1, 2, 0, 0, 0, 0, 2};
  feed_frame(d, race, c, false, false);
  EXPECT_TRUE(c.timing<LapCompleted>().empty());  // held for the car's history
  auto f = race.frame();
  feed(d, pb::session_history(f, 0, {{90'500, 29'100, 31'200, 30'200, 0x0d}, {0, 0, 0, 0, 0}}), c);
  const auto laps = c.timing<LapCompleted>();
  ASSERT_EQ(laps.size(), 1u);
  EXPECT_DOUBLE_EQ(*laps[0].second.sector1_s, 29.1);
  EXPECT_DOUBLE_EQ(*laps[0].second.sector3_s, 30.2);
  EXPECT_DOUBLE_EQ(*laps[0].second.lap_time_s, 90.5);
  EXPECT_FALSE(*laps[0].second.deleted);
}

TEST(F1UdpDecoder, ALapWithoutHistoryIsReleasedAfterTheHold) {
  Race race(2024, 1);
  DecoderOptions o;
  o.lap_hold_ns = 2 * kNsPerSecond;
  Decoder d(o);
  Collected c;
  race.lap()[0].current_lap_ms = 80'000;
  feed_frame(d, race, c);
  race.advance(10);
  race.lap()[0].lap_num = 2;
  race.lap()[0].last_lap_ms = 90'000;
  feed_frame(d, race, c, false, false);
  race.advance(1);
  feed_frame(d, race, c, false, false);
  EXPECT_TRUE(c.timing<LapCompleted>().empty());
  race.advance(1.5F);
  feed_frame(d, race, c, false, false);
  ASSERT_EQ(c.timing<LapCompleted>().size(), 1u);
  EXPECT_FALSE(c.timing<LapCompleted>()[0].second.sector1_s);
}

TEST_P(AllFormats, SessionWeatherAndSafetyCarBecomeSessionInfoWeatherAndTrackStatus) {
  Race race(GetParam(), 2);
  race.facts().session_type = GetParam() == 2023 ? 10 : 15;
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  const auto info = c.timing<SessionInfo>();
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].second.name, "Sakhir (Bahrain) Race");
  EXPECT_EQ(*info[0].second.scheduled_laps, 57);
  EXPECT_EQ(info[0].first.car, 0);
  const auto weather = c.timing<Weather>();
  ASSERT_EQ(weather.size(), 1u);
  EXPECT_FLOAT_EQ(*weather[0].second.track_temp_c, 33);
  EXPECT_FALSE(*weather[0].second.rainfall);
  EXPECT_TRUE(c.timing<TrackStatusChange>().empty());  // green from the start: nothing to say

  auto step = [&](std::uint8_t sc, std::uint8_t weather_code) {
    race.advance(1);
    race.facts().safety_car = sc;
    race.facts().weather = weather_code;
    feed_frame(d, race, c, true, false);
  };
  step(1, 0);
  step(1, 0);  // unchanged: nothing new
  step(0, 3);
  step(2, 3);
  const auto ts = c.timing<TrackStatusChange>();
  ASSERT_EQ(ts.size(), 3u);
  EXPECT_EQ(ts[0].second.status, TrackStatus::SafetyCar);
  EXPECT_EQ(ts[1].second.status, TrackStatus::Green);
  EXPECT_EQ(ts[2].second.status, TrackStatus::Vsc);
  const auto w = c.timing<Weather>();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_TRUE(*w[1].second.rainfall);
  // The lap in progress saw 1, 4, 1 and 6.
  race.advance(1);
  race.lap()[0].lap_num = 2;
  race.lap()[0].last_lap_ms = 100'000;
  race.lap()[0].s1_ms = 1;
  feed_frame(d, race, c, false, false);
  // No sectors: held; history with the lap releases it.
  feed(d, pb::session_history(race.frame(), 0, {{100'000, 30'000, 40'000, 30'000, 0x0f}}), c);
  ASSERT_EQ(c.timing<LapCompleted>().size(), 1u);
  EXPECT_EQ(c.timing<LapCompleted>()[0].second.track_status, "146");
}

TEST_P(AllFormats, EventsStartAndEndTheSessionAndFlagRedAndSafetyCar) {
  Race race(GetParam(), 2);
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  auto f = race.frame();
  ASSERT_EQ(feed(d, pb::event(f, "SSTA"), c).outcome, Outcome::Decoded);
  f.overall += 1;
  feed(d, pb::event(f, "RDFL"), c);
  f.overall += 1;
  feed(d, pb::event(f, "LGOT"), c);
  f.overall += 1;
  feed(d, pb::event(f, "RTMT", {1, 7}), c);
  f.overall += 1;
  feed(d, pb::event(f, "BUTN", {0x40}), c);  // buttons: not used
  f.overall += 1;
  feed(d, pb::event(f, "CHQF"), c);
  f.overall += 1;
  feed(d, pb::event(f, "SEND"), c);
  const auto info = c.timing<SessionInfo>();
  ASSERT_EQ(info.size(), 4u);
  EXPECT_EQ(info[1].second.status, "Started");
  EXPECT_EQ(info[2].second.status, "Finished");
  EXPECT_EQ(info[3].second.status, "Finalised");
  const auto ts = c.timing<TrackStatusChange>();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].second.status, TrackStatus::Red);
  EXPECT_EQ(ts[1].second.status, TrackStatus::Green);
  const auto rcm = c.timing<RaceControlMessage>();
  ASSERT_EQ(rcm.size(), 3u);
  EXPECT_EQ(rcm[1].second.message, "CAR 11 RETIRED");
  EXPECT_EQ(rcm[1].first.car, 11);
}

TEST(F1UdpDecoder, SafetyCarEventsOfF1_24MarkTheVscEnding) {
  Race race(2024, 2);
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  auto f = race.frame();
  feed(d, pb::event(f, "SCAR", {2, 0}), c);
  f.overall++;
  feed(d, pb::event(f, "SCAR", {2, 1}), c);
  const auto ts = c.timing<TrackStatusChange>();
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].second.status, TrackStatus::Vsc);
  EXPECT_EQ(ts[1].second.status, TrackStatus::VscEnding);
}

TEST(F1UdpDecoder, RecordsWaitForParticipantsThenCarryRaceNumbers) {
  Race race(2024, 3);
  Decoder d;
  Collected c;
  for (int i = 0; i < 3; ++i) {
    feed_frame(d, race, c, true, false);
    race.advance(1.0F / 60);
  }
  EXPECT_TRUE(c.all.empty());
  feed(d, pb::participants(race.frame(), race.participants()), c);
  const auto samples = c.samples();
  ASSERT_EQ(samples.size(), 9u);
  EXPECT_EQ(samples[0].car, 1);
  EXPECT_EQ(samples[2].car, 44);
  EXPECT_EQ(samples[2].driver.view(), "HAM");
  EXPECT_LE(samples[0].event_time_ns, samples[8].event_time_ns);
}

TEST(F1UdpDecoder, WithoutParticipantsCarsAreNumbered100PlusIndexAfterTheHold) {
  Race race(2024, 2);
  DecoderOptions o;
  o.identity_hold_ns = kNsPerSecond;
  Decoder d(o);
  Collected c;
  for (int i = 0; i < 70; ++i) {
    feed_frame(d, race, c, true, false);
    race.advance(1.0F / 60);
  }
  const auto samples = c.samples();
  ASSERT_FALSE(samples.empty());
  std::map<int, int> per_car;
  for (const auto& s : samples) ++per_car[s.car];
  EXPECT_EQ(per_car.size(), 2u);  // the 20 inactive slots are dropped
  EXPECT_TRUE(per_car.count(100) && per_car.count(101));
}

TEST(F1UdpDecoder, DuplicatesAreDroppedStaleStateIsDroppedLateTelemetryIsKept) {
  Race race(2024, 2);
  Decoder d;
  Collected c;
  feed_frame(d, race, c);
  const auto old_frame = race.packets(false, false);
  race.advance(1.0F / 60);
  feed_frame(d, race, c, false, false);
  const std::size_t before = c.samples().size();
  // The same telemetry packet twice.
  const auto again = race.packets(false, false);
  EXPECT_EQ(feed(d, again[2], c).outcome, Outcome::Duplicate);
  // An older frame arriving late: Lap Data is stale, Car Telemetry still gives its samples.
  EXPECT_EQ(feed(d, old_frame[1], c).outcome, Outcome::Duplicate);  // it was seen already
  race.advance(1.0F / 60);
  const auto skipped = race.packets(false, false);
  race.advance(1.0F / 60);
  feed_frame(d, race, c, false, false);
  EXPECT_EQ(feed(d, skipped[1], c).outcome, Outcome::Stale);
  EXPECT_EQ(feed(d, skipped[2], c).outcome, Outcome::Decoded);
  EXPECT_EQ(c.samples().size(), before + 4);
  EXPECT_EQ(d.stats().late_samples, 2u);
  EXPECT_EQ(d.stats().of(Outcome::Duplicate), 2u);
  EXPECT_EQ(d.stats().of(Outcome::Stale), 1u);
}

TEST(F1UdpDecoder, BadPacketsAreRejectedWithAReasonAndNeverRead) {
  Race race(2024, 2);
  Decoder d;
  Collected c;
  auto tel = race.packets(false, false)[2];
  auto shorter = tel;
  shorter.resize(1300);
  auto r = feed(d, shorter, c);
  EXPECT_EQ(r.outcome, Outcome::BadLength);
  EXPECT_EQ(r.detail, "packet id 6 of format 2024 is 1352 bytes, got 1300");
  EXPECT_EQ(reason_of(r.outcome), Reason::MalformedPacket);
  EXPECT_EQ(feed(d, pb::Bytes(10), c).outcome, Outcome::BadLength);
  auto f22 = tel;
  f22[0] = std::byte{0xE6};  // 2022
  EXPECT_EQ(feed(d, f22, c).outcome, Outcome::UnknownFormat);
  auto tt = pb::packet(race.frame(), 14);  // Time Trial exists in 2024...
  tt[0] = std::byte{0xE7};                 // ...but not in 2023
  EXPECT_EQ(feed(d, tt, c).outcome, Outcome::UnknownPacketId);
  auto id99 = tel;
  id99[6] = std::byte{99};
  EXPECT_EQ(feed(d, id99, c).outcome, Outcome::UnknownPacketId);
  auto no_session = tel;
  std::memset(no_session.data() + 7, 0, 8);
  EXPECT_EQ(feed(d, no_session, c).outcome, Outcome::NoSession);
  EXPECT_EQ(feed(d, pb::packet(race.frame(), 10), c).outcome, Outcome::Ignored);  // car damage
  EXPECT_TRUE(c.all.empty());
  EXPECT_EQ(d.stats().of(Outcome::BadLength), 2u);
}

TEST(F1UdpDecoder, ANewSessionUidIsANewSession) {
  Race a(2024, 1), b(2024, 1);
  b.frame().uid = 42;
  Decoder d;
  Collected c;
  feed_frame(d, a, c);
  feed_frame(d, b, c);
  std::set<std::string> ids;
  for (const auto& k : c.all) ids.insert(*k.session);
  EXPECT_EQ(ids, (std::set<std::string>{"f1udp-123456789abcdef0", "f1udp-000000000000002a"}));
  EXPECT_EQ(d.stats().sessions, 2u);
}

TEST(F1UdpDecoder, GarbageWithManySessionUidsKeepsABoundedNumberOfSessions) {
  DecoderOptions o;
  o.max_sessions = 4;
  Decoder d(o);
  Collected c;
  for (std::uint64_t uid = 1; uid <= 10; ++uid) {
    Race r(2024, 1);
    r.frame().uid = uid;
    feed_frame(d, r, c);
  }
  EXPECT_EQ(d.stats().sessions, 10u);
  EXPECT_EQ(d.stats().evicted_sessions, 6u);
  std::set<std::string> ids;
  for (const auto& k : c.all) ids.insert(*k.session);  // every id still readable
  EXPECT_EQ(ids.size(), 10u);
}

TEST(F1UdpDecoder, AFlashbackKeepsTimeMovingForward) {
  Race race(2024, 1);
  Decoder d;
  Collected c;
  race.frame().session_time = 100;
  feed_frame(d, race, c);
  race.advance(10);
  feed_frame(d, race, c, false, false);
  // Flashback to session time 105: frames go on, the game's clock goes back.
  race.frame().session_time = 105;
  race.advance(0.1F);
  feed_frame(d, race, c, false, false);
  race.advance(1);
  feed_frame(d, race, c, false, false);
  const auto s = c.samples();
  ASSERT_EQ(s.size(), 4u);
  for (std::size_t i = 1; i < s.size(); ++i) EXPECT_GT(s[i].session_time_ns, s[i - 1].session_time_ns);
  EXPECT_EQ(s[2].session_time_ns, s[1].session_time_ns + 1'000'000);  // resumes 1 ms after the last frame
  EXPECT_EQ(s[3].session_time_ns - s[2].session_time_ns, s_to_ns(105.1F + 1) - s_to_ns(105.1F));
  EXPECT_EQ(d.stats().flashbacks, 1u);
}

TEST(F1UdpDecoder, EventTimeIsAnchoredAtTheFirstPacketOfTheSession) {
  Race race(2024, 1);
  Decoder d;
  Collected c;
  race.frame().session_time = 12.5F;
  for (const auto& p : race.packets(true, true)) feed(d, p, c, kArrival0);
  race.advance(2);
  for (const auto& p : race.packets(false, false)) feed(d, p, c, kArrival0 + 5 * kNsPerSecond);  // arrival jitter
  const auto s = c.samples();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].event_time_ns, kArrival0);
  EXPECT_EQ(s[1].event_time_ns - s[0].event_time_ns, s[1].session_time_ns - s[0].session_time_ns);
}

TEST(F1UdpDecoder, DriverCodesFromNames) {
  EXPECT_EQ(driver_code_from_name("VERSTAPPEN").view(), "VER");
  EXPECT_EQ(driver_code_from_name("PÉREZ").view(), "PER");
  EXPECT_EQ(driver_code_from_name("Hülkenberg").view(), "HUL");
  EXPECT_EQ(driver_code_from_name("DE VRIES").view(), "DEV");
  EXPECT_EQ(driver_code_from_name("Räikkönen").view(), "RAI");
  EXPECT_EQ(driver_code_from_name("x1").view(), "X");
  EXPECT_EQ(driver_code_from_name("").view(), "");
}

}  // namespace
}  // namespace boxcall::sources::f1udp
