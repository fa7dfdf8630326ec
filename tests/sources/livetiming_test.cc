#include "sources/livetiming.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/time_text.h"

namespace boxcall::sources {
namespace {

namespace fs = std::filesystem;
const fs::path kLive = fs::path(BOXCALL_SHARED_DATA) / "livetiming";
const fs::path kBaku = kLive / "2018-04-29_Azerbaijan_Grand_Prix__2018-04-29_Race";

std::vector<Input> drain(RecordSource& s) {
  std::vector<Input> out;
  while (auto r = s.next()) out.push_back(std::move(*r));
  return out;
}

template <typename T>
std::vector<std::pair<const TimingEvent*, const T*>> bodies(const std::vector<Input>& in) {
  std::vector<std::pair<const TimingEvent*, const T*>> out;
  for (const auto& r : in) {
    if (const auto* e = std::get_if<TimingEvent>(&r)) {
      if (const auto* b = std::get_if<T>(&e->body)) out.emplace_back(e, b);
    }
  }
  return out;
}

TEST(Base64AndInflate, DecodeAFeedPayload) {
  // {"Entries": [{"Utc": "2021-03-28T14:52:30.1Z", "Cars": {"44": {"Channels": {...}}}}]}, deflated raw, base64.
  const std::string b64 =
      "JcsxCoAwDAXQq0hmlSStqF3FG+iiOIgICtJB3Yp391cz5D/CT6DW3+e+XuSSMVB/LwApq2RsMq06sa5QZziXgdKEmvmM1UDWftFss/"
      "fr8d8YW4SZUVTYsEAGKpHxoa6BAogVGyH6YKbnBQ==";
  auto raw = base64_decode(b64);
  ASSERT_TRUE(raw);
  auto text = inflate_raw(*raw);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("\"Channels\""), std::string::npos) << *text;
  EXPECT_FALSE(inflate_raw("not deflate at all"));
  EXPECT_FALSE(base64_decode("!!!!"));
  EXPECT_EQ(*base64_decode("aGk"), "hi");  // padding dropped, as the feed sometimes does
}

/// A hand-made session: lap time before and after the lap count, pits, tyres,
/// track status, a compressed car data line, a BOM and a malformed line.
TEST(LiveTimingSource, DeltasBecomeLapsPitsAndSamples) {
  const fs::path dir = fs::temp_directory_path() / "2021-03-28_Test_Grand_Prix__Race";
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto write = [&](const char* name, const std::string& body) { std::ofstream(dir / name) << body; };
  write("TimingData.jsonStream",
        "\xEF\xBB\xBF"
        "00:00:01.000{\"Lines\":{\"44\":{\"Position\":\"2\",\"InPit\":false,\"PitOut\":false,"
        "\"Sectors\":[{\"Value\":\"\"},{\"Value\":\"\"},{\"Value\":\"\"}],\"LastLapTime\":{\"Value\":\"\"}}}}\n"
        "00:01:40.000{\"Lines\":{\"44\":{\"NumberOfLaps\":1,\"Sectors\":{\"0\":{\"Value\":\"30.100\"},"
        "\"1\":{\"Value\":\"40.200\"},\"2\":{\"Value\":\"29.700\"}},\"LastLapTime\":{\"Value\":\"1:40.000\"}}}}\n"
        "00:03:19.000{\"Lines\":{\"44\":{\"LastLapTime\":{\"Value\":\"1:39.000\"}}}}\n"
        "00:03:19.500{\"Lines\":{\"44\":{\"NumberOfLaps\":2,\"Position\":\"1\"}}}\n"
        "00:04:30.000{\"Lines\":{\"44\":{\"InPit\":true}}}\n"
        "this is not a line\n"
        "00:04:59.000{\"Lines\":{\"44\":{\"NumberOfLaps\":3}}}\n"
        "00:05:02.000{\"Lines\":{\"44\":{\"LastLapTime\":{\"Value\":\"1:45.500\"}}}}\n"
        "00:05:20.000{\"Lines\":{\"44\":{\"InPit\":false,\"PitOut\":true}}}\n"
        "00:05:21.000{\"Lines\":{\"44\":{bad json}}}\n");
  write("TimingAppData.jsonStream",
        "00:00:01.000{\"Lines\":{\"44\":{\"Stints\":[{\"Compound\":\"MEDIUM\",\"New\":\"true\",\"TotalLaps\":0}]}}}\n"
        "00:01:39.000{\"Lines\":{\"44\":{\"Stints\":{\"0\":{\"TotalLaps\":1}}}}}\n"
        "00:03:19.000{\"Lines\":{\"44\":{\"Stints\":{\"0\":{\"TotalLaps\":2}}}}}\n"
        "00:05:10.000{\"Lines\":{\"44\":{\"Stints\":{\"1\":{\"Compound\":\"HARD\",\"New\":\"true\",\"TotalLaps\":0}}}}}"
        "\n");
  write("TrackStatus.jsonStream", "00:02:00.000{\"Status\":\"4\",\"Message\":\"SCDeployed\"}\n");
  write("LapCount.jsonStream", "00:00:00.500{\"CurrentLap\":1,\"TotalLaps\":3}\n");
  write("DriverList.jsonStream", "00:00:00.100{\"44\":{\"Tla\":\"HAM\",\"RacingNumber\":\"44\"}}\n");
  write("CarData.z.jsonStream",
        "00:00:31.000\"JcsxCoAwDAXQq0hmlSStqF3FG+iiOIgICtJB3Yp391cz5D/CT6DW3+e+XuSSMVB/"
        "LwApq2RsMq06sa5QZziXgdKEmvmM1UDWftFss/"
        "fr8d8YW4SZUVTYsEAGKpHxoa6BAogVGyH6YKbnBQ==\"\n");

  LiveTimingOptions o;
  o.start_utc_ns = *parse_utc_datetime("2021-03-28T14:52:00Z");
  LiveTimingSource src(dir, o);
  std::vector<RejectedLine> rejected;
  src.on_reject([&](const RejectedLine& r) { rejected.push_back(r); });
  auto all = drain(src);
  EXPECT_EQ(src.session_id(), "2021-03-28_Test_Grand_Prix__Race");

  for (std::size_t i = 1; i < all.size(); ++i) ASSERT_LE(event_time(all[i - 1]), event_time(all[i])) << i;
  auto laps = bodies<LapCompleted>(all);
  ASSERT_EQ(laps.size(), 3U);
  EXPECT_EQ(laps[0].second->lap, 1);
  EXPECT_EQ(laps[0].first->driver.view(), "HAM");
  EXPECT_EQ(laps[0].first->car, 44);
  EXPECT_DOUBLE_EQ(*laps[0].second->lap_time_s, 100.0);
  EXPECT_DOUBLE_EQ(*laps[0].second->sector2_s, 40.2);
  EXPECT_EQ(*laps[0].second->position, 2);
  EXPECT_EQ(laps[0].second->compound, Compound::Medium);
  EXPECT_EQ(*laps[0].second->tyre_life, 1);
  EXPECT_EQ(*laps[0].second->stint, 1);
  EXPECT_EQ(laps[0].first->session_time_ns, 100 * kNsPerSecond);
  EXPECT_EQ(laps[0].first->event_time_ns, *o.start_utc_ns + 100 * kNsPerSecond);
  // Lap time 0.5 s before the lap count.
  EXPECT_DOUBLE_EQ(*laps[1].second->lap_time_s, 99.0);
  EXPECT_EQ(*laps[1].second->position, 1);
  EXPECT_EQ(laps[1].second->track_status, "14");
  EXPECT_EQ(*laps[1].second->lap_start_session_ns, 100 * kNsPerSecond);
  // Lap time 3 s after the lap count; pit in during the lap.
  EXPECT_EQ(laps[2].second->lap, 3);
  EXPECT_DOUBLE_EQ(*laps[2].second->lap_time_s, 105.5);
  EXPECT_EQ(*laps[2].second->pit_in_session_ns, 270 * kNsPerSecond);
  EXPECT_EQ(bodies<PitIn>(all).size(), 1U);
  EXPECT_EQ(bodies<PitOut>(all).size(), 1U);
  auto status = bodies<TrackStatusChange>(all);
  ASSERT_EQ(status.size(), 1U);
  EXPECT_EQ(status[0].second->status, TrackStatus::SafetyCar);
  auto info = bodies<SessionInfo>(all);
  ASSERT_EQ(info.size(), 1U);
  EXPECT_EQ(*info[0].second->scheduled_laps, 3);

  std::vector<const TelemetrySample*> samples;
  for (const auto& r : all) {
    if (const auto* s = std::get_if<TelemetrySample>(&r)) samples.push_back(s);
  }
  ASSERT_EQ(samples.size(), 1U);
  EXPECT_EQ(samples[0]->car, 44);
  EXPECT_FLOAT_EQ(samples[0]->speed_kph, 301);
  EXPECT_EQ(samples[0]->gear, 7);
  EXPECT_EQ(samples[0]->drs, 12);
  EXPECT_EQ(samples[0]->source, SampleSource::LiveTiming);
  EXPECT_EQ(samples[0]->event_time_ns, *parse_utc_datetime("2021-03-28T14:52:30.1Z"));

  ASSERT_EQ(rejected.size(), 2U);
  EXPECT_EQ(rejected[0].source, "TimingData.jsonStream:6");
  EXPECT_EQ(rejected[0].reason, Reason::OutOfRange);
  EXPECT_EQ(rejected[0].text, "this is not a line");
  EXPECT_EQ(rejected[1].reason, Reason::MalformedJson);
  EXPECT_EQ(src.rejected_total(), 2U);
  fs::remove_all(dir);
}

/// The whole 2018 Azerbaijan GP: every classified car's laps, as the 2018 results have them.
TEST(LiveTimingSource, Baku2018EveryCarsLaps) {
  LiveTimingSource src(kBaku);
  std::uint64_t rejected = 0;
  src.on_reject([&](const RejectedLine&) { ++rejected; });
  auto all = drain(src);
  EXPECT_EQ(rejected, 0U);
  for (std::size_t i = 1; i < all.size(); ++i) ASSERT_LE(event_time(all[i - 1]), event_time(all[i])) << i;

  // Session time 0 from the race control messages' UTC stamps: 12:06 UTC (16:06 local).
  const TimeNs start = src.start_utc_ns();
  EXPECT_NEAR(ns_to_s(start - *parse_utc_datetime("2018-04-29T12:06:00Z")), 0.0, 2.0);

  // Laps per car (results of the 2018 Azerbaijan GP: Hamilton won in 51 laps; Bottas 48 (puncture),
  // Grosjean 42, Ricciardo and Verstappen 39 (collision), Hülkenberg 10; Ocon and Sirotkin out on lap 1).
  const std::map<int, int> expected = {{44, 51}, {7, 51},  {11, 51}, {55, 51}, {16, 51}, {10, 51},
                                       {5, 51},  {14, 51}, {2, 51},  {28, 51}, {20, 51}, {9, 51},
                                       {18, 51}, {77, 48}, {8, 42},  {3, 39},  {33, 39}, {27, 10}};
  std::map<int, std::vector<int>> laps;
  std::map<int, int> timed;
  std::map<int, int> with_compound;
  for (const auto& [e, l] : bodies<LapCompleted>(all)) {
    laps[e->car].push_back(l->lap);
    if (l->lap_time_s) ++timed[e->car];
    if (l->compound != Compound::Unknown) ++with_compound[e->car];
    EXPECT_FALSE(e->driver.empty()) << e->car;
  }
  std::map<int, int> counts;
  for (const auto& [car, v] : laps) counts[car] = static_cast<int>(v.size());
  EXPECT_EQ(counts, expected);
  for (const auto& [car, v] : laps) {
    for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(v[i], static_cast<int>(i) + 1) << car;
    // Lap 1 has no time in the feed; (almost) every later lap has one.
    EXPECT_GE(timed[car], static_cast<int>(v.size()) - 2) << car;
    EXPECT_GE(with_compound[car], static_cast<int>(v.size()) - 2) << car;
  }
  // Hamilton's lap 1 ends 00:10:12.448 into the feed.
  for (const auto& [e, l] : bodies<LapCompleted>(all)) {
    if (e->car == 44 && l->lap == 1) {
      EXPECT_EQ(e->session_time_ns, s_to_ns(612.448));
    }
    if (e->car == 44 && l->lap == 12) {
      EXPECT_DOUBLE_EQ(*l->lap_time_s, 107.989);  // time sent 1 s before the count
    }
  }
  auto info = bodies<SessionInfo>(all);
  ASSERT_FALSE(info.empty());
  bool total = false;
  for (const auto& [e, i] : info) total = total || i->scheduled_laps == 51;
  EXPECT_TRUE(total);
  EXPECT_EQ(bodies<TrackStatusChange>(all).size(), 22U);  // the lines of TrackStatus.jsonStream
  EXPECT_GT(bodies<RaceControlMessage>(all).size(), 50U);
  EXPECT_GT(bodies<PitIn>(all).size(), 15U);
}

/// FastF1's recorded live stream with injected errors: the malformed lines are
/// rejected with a reason and a file:line, the rest still parses.
TEST(LiveTimingSource, MalformedLinesGoToTheDeadLetterPathTheRestParses) {
  const fs::path file = kLive / "fastf1_reference_data" / "livedata" / "with_errors.txt";
  ASSERT_TRUE(is_live_timing(file));
  LiveTimingSource src(file);
  std::vector<RejectedLine> rejected;
  src.on_reject([&](const RejectedLine& r) { rejected.push_back(r); });
  auto all = drain(src);
  EXPECT_EQ(src.session_id(), "with_errors");
  EXPECT_EQ(src.lines_read(), 51U);
  ASSERT_FALSE(rejected.empty());
  EXPECT_EQ(src.rejected_total(), rejected.size());
  std::set<Reason> reasons;
  for (const auto& r : rejected) {
    reasons.insert(r.reason);
    EXPECT_TRUE(r.source.starts_with("with_errors.txt:")) << r.source;
    EXPECT_FALSE(r.detail.empty());
  }
  EXPECT_TRUE(reasons.contains(Reason::MalformedJson));
  EXPECT_TRUE(reasons.contains(Reason::MissingField));
  EXPECT_TRUE(reasons.contains(Reason::OutOfRange));
  // What survived: weather, race control, track status. (Its one CarData.z payload is truncated: rejected.)
  EXPECT_FALSE(bodies<Weather>(all).empty());
  EXPECT_FALSE(bodies<RaceControlMessage>(all).empty());
  EXPECT_FALSE(bodies<TrackStatusChange>(all).empty());
  for (std::size_t i = 1; i < all.size(); ++i) ASSERT_LE(event_time(all[i - 1]), event_time(all[i])) << i;
  for (const auto& r : rejected)
    std::printf("  rejected %s %s: %s\n", r.source.c_str(), std::string(to_string(r.reason)).c_str(), r.detail.c_str());
}

}  // namespace
}  // namespace boxcall::sources
