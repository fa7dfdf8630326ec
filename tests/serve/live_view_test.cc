// The live view from decoded outputs: tower order, lap history with the predicted
// curve, open alerts, the event ring, and the hand-over from wire bytes (LiveFeed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "serve/feed.h"
#include "serve/live_view.h"
#include "stream/codec.h"

namespace boxcall::serve {
namespace {

using nlohmann::json;

LapFeatures lap(std::uint16_t car, const char* driver, int lap_no, int position, double time_s, double gap) {
  LapFeatures f;
  f.car = car;
  f.driver = DriverCode(driver);
  f.lap = lap_no;
  f.event_time_ns = (1000 + lap_no * 90) * kNsPerSecond + car;
  f.position = position;
  f.lap_time_s = time_s;
  f.gap_to_leader_s = gap;
  f.compound = Compound::Medium;
  f.stint = 1;
  f.tyre_age = lap_no + 2;
  f.laps_remaining = 57 - lap_no;
  return f;
}

StrategyPrediction prediction(std::uint16_t car, int lap_no, double next_s, int start, int end) {
  StrategyPrediction p;
  p.car = car;
  p.lap = lap_no;
  p.model_version = "lap_time@x+pit_3@y";
  p.pred_next_lap_s = next_s;
  p.p_pit_3 = 0.25;
  p.pit_window_start = start;
  p.pit_window_best = start + 1;
  p.pit_window_end = end;
  p.next_compound = Compound::Hard;
  p.mode = DrivingMode::Conserve;
  p.mode_reason = "stretch the stint";
  return p;
}

Alert alert(std::uint16_t car, const char* kind, bool active) {
  Alert a;
  a.car = car;
  a.kind = kind;
  a.severity = Severity::Warning;
  a.active = active;
  a.message = std::string(kind) + (active ? " raised" : " cleared");
  return a;
}

TEST(LiveView, TowerIsOrderedByPositionWithLapsPredictionsAndAlerts) {
  LiveView view;
  std::vector<SessionOutput> batch{
      {"race", lap(44, "HAM", 1, 2, 95.5, 1.2)}, {"race", lap(1, "VER", 1, 1, 94.3, 0.0)},
      {"race", prediction(1, 1, 94.0, 10, 14)},  {"race", lap(1, "VER", 2, 1, 94.1, 0.0)},
      {"race", alert(1, "tyre_cliff", true)},    {"race", alert(0, "feed_stall", true)},
  };
  view.apply(batch);
  auto s = json::parse(*view.session_json("race"));
  EXPECT_EQ(s["leader_lap"], 2);
  EXPECT_EQ(s["scheduled_laps"], 57);
  EXPECT_EQ(s["leader"], "VER");
  ASSERT_EQ(s["tower"].size(), 2U);
  const auto& ver = s["tower"][0];
  EXPECT_EQ(ver["driver"], "VER");
  EXPECT_EQ(ver["lap"], 2);
  EXPECT_EQ(ver["last_lap_s"], 94.1);
  EXPECT_EQ(ver["pit_window"]["start"], 10);
  EXPECT_EQ(ver["pit_window"]["end"], 14);
  EXPECT_EQ(ver["next_compound"], "HARD");
  EXPECT_EQ(ver["mode"], "CONSERVE");
  ASSERT_EQ(ver["laps"].size(), 2U);
  EXPECT_TRUE(ver["laps"][0]["predicted_s"].is_null());
  EXPECT_EQ(ver["laps"][1]["predicted_s"], 94.0) << "the prediction made at lap 1 is drawn at lap 2";
  ASSERT_EQ(ver["alerts"].size(), 1U);
  EXPECT_EQ(ver["alerts"][0]["kind"], "tyre_cliff");
  EXPECT_EQ(s["tower"][1]["driver"], "HAM");
  EXPECT_EQ(s["session_alerts"].size(), 1U);
  EXPECT_EQ(s["alert_feed"].size(), 2U);
  EXPECT_EQ(s["model_version"], "lap_time@x+pit_3@y");

  std::vector<SessionOutput> clear{{"race", alert(1, "tyre_cliff", false)}, {"race", alert(0, "feed_stall", false)}};
  view.apply(clear);
  s = json::parse(*view.session_json("race"));
  EXPECT_TRUE(s["tower"][0]["alerts"].empty());
  EXPECT_TRUE(s["session_alerts"].empty());
  EXPECT_EQ(s["alert_feed"][0]["active"], false) << "newest first";
  EXPECT_FALSE(view.session_json("other").has_value());
}

TEST(LiveView, EventsFollowTheStateAndReportGaps) {
  LiveViewLimits limits;
  limits.event_ring = 8;
  LiveView view(limits);
  std::vector<SessionOutput> a{{"a", lap(1, "VER", 1, 1, 94.0, 0)}};
  view.apply(a);
  const auto seq = json::parse(*view.session_json("a"))["seq"].get<std::uint64_t>();
  EXPECT_EQ(seq, view.last_seq());
  std::vector<SessionOutput> b{{"a", lap(1, "VER", 2, 1, 93.0, 0)}, {"b", lap(16, "LEC", 1, 1, 95.0, 0)}};
  view.apply(b);
  auto only_a = view.events_after("a", seq, 100);
  EXPECT_FALSE(only_a.gap);
  ASSERT_FALSE(only_a.events.empty());
  for (const auto& e : only_a.events) EXPECT_EQ(e.session, "a");
  EXPECT_EQ(only_a.events.front().type, "lap");
  EXPECT_EQ(only_a.next_since, view.last_seq());
  EXPECT_TRUE(view.events_after("a", view.last_seq(), 100).events.empty());
  // More changes than the ring holds: a cursor from before them must reload.
  for (int l = 3; l < 10; ++l) {
    std::vector<SessionOutput> more{{"a", lap(1, "VER", l, 1, 93.0, 0)}};
    view.apply(more);
  }
  EXPECT_TRUE(view.events_after("a", seq, 100).gap);
  EXPECT_TRUE(view.events_after("a", view.last_seq() + 100, 100).gap) << "a cursor of an earlier process";
  auto list = json::parse(view.sessions_json());
  EXPECT_EQ(list["sessions"].size(), 2U);
}

TEST(LiveView, TheEventRingIsBoundedByBytesToo) {
  LiveViewLimits limits;
  limits.event_ring_bytes = 4096;
  LiveView view(limits);
  std::vector<SessionOutput> first{{"a", lap(1, "VER", 1, 1, 94.0, 0)}};
  view.apply(first);
  const auto seq = view.last_seq();
  for (int l = 2; l < 200; ++l) {
    std::vector<SessionOutput> more{{"a", lap(1, "VER", l, 1, 93.0, 0)}};
    view.apply(more);
  }
  auto recent = view.events_after("a", view.last_seq() - 3, 100);
  EXPECT_FALSE(recent.gap) << "the newest changes are kept";
  EXPECT_EQ(recent.events.size(), 3U);
  EXPECT_TRUE(view.events_after("a", seq, 100).gap) << "198 lap changes do not fit in 4 KiB";
  std::size_t kept = 0;
  for (std::uint64_t since = view.last_seq(); since > 0 && !view.events_after("a", since - 1, 1000).gap; --since)
    ++kept;
  EXPECT_GT(kept, 2U);
  EXPECT_LT(kept, 4096U / sizeof(LiveEvent));
}

TEST(LiveView, OldestSessionIsDroppedBeyondTheLimit) {
  LiveViewLimits limits;
  limits.max_sessions = 2;
  LiveView view(limits);
  for (const char* id : {"s1", "s2", "s3"}) {
    std::vector<SessionOutput> b{{id, lap(1, "VER", 1, 1, 94.0, 0)}};
    view.apply(b);
  }
  EXPECT_FALSE(view.has_session("s1"));
  EXPECT_TRUE(view.has_session("s2"));
  EXPECT_TRUE(view.has_session("s3"));
}

TEST(LiveFeed, DecodesWireOutputsOnItsWorker) {
  LiveView view;
  prometheus::Registry registry;
  LiveFeed feed(view, &registry);
  stream::Codec codec;
  auto bytes = codec.encode("wire", Output(lap(63, "RUS", 7, 4, 96.25, 12.5)));
  feed.push(std::as_bytes(bytes));
  bytes = codec.encode("wire", Output(prediction(63, 7, 96.0, 9, 12)));
  feed.push(std::as_bytes(bytes));
  // The JSON form too (an output topic with [output] encoding json).
  auto text = codec.to_json(std::as_bytes(codec.encode("wire", Output(lap(16, "LEC", 7, 5, 97.5, 14.0)))));
  ASSERT_TRUE(text.ok());
  feed.push(stream::as_bytes(std::string_view(text.value())));
  const std::byte junk[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  feed.push(junk);
  feed.flush();
  auto s = json::parse(*view.session_json("wire"));
  ASSERT_EQ(s["tower"].size(), 2U);
  EXPECT_EQ(s["tower"][0]["driver"], "RUS");
  EXPECT_EQ(s["tower"][1]["driver"], "LEC");
  EXPECT_EQ(s["tower"][1]["last_lap_s"], 97.5);
  EXPECT_EQ(s["tower"][0]["gap_to_leader_s"], 12.5);
  EXPECT_EQ(s["tower"][0]["pit_window"]["best"], 10);
  EXPECT_EQ(feed.undecodable(), 1U);
  EXPECT_EQ(feed.dropped(), 0U);
}

}  // namespace
}  // namespace boxcall::serve
