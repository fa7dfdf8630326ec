// The live-timing client against a local fake of F1's SignalR service serving
// the recorded 2018 Baku race and 2023 Baku sprint as if live: the records are
// the recorded-file adapter's, byte for byte, even when the connection drops in
// the middle and the server resends what the client already had; a server that
// forgot the connection makes the client start over and reconcile the state
// snapshot; --record writes files the file adapter replays identically.
#include "sources/livetiming_client.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "fake_signalr_server.h"
#include "sources/livetiming.h"
#include "stream/codec.h"

namespace boxcall::sources {
namespace {

const std::filesystem::path kData = std::filesystem::path(BOXCALL_SHARED_DATA) / "livetiming";
const char* kBaku2018 = "2018-04-29_Azerbaijan_Grand_Prix__2018-04-29_Race";
const char* kBaku2023 = "2023-04-30_Azerbaijan_Grand_Prix__2023-04-29_Sprint";

/// Every record of a source, as wire bytes (so records compare exactly).
std::vector<std::string> drain(RecordSource& src, const std::string& session) {
  stream::Codec codec;
  std::vector<std::string> out;
  while (auto in = src.next()) {
    auto b = codec.encode(session, *in);
    out.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return out;
}

std::vector<std::string> from_files(const std::filesystem::path& dir, TimeNs start) {
  LiveTimingOptions o;
  o.start_utc_ns = start;
  LiveTimingSource src(dir, o);
  return drain(src, "s");
}

LiveTimingClientOptions client_options(std::uint16_t port, TimeNs start) {
  LiveTimingClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(port) + "/signalr";
  o.session_id = "s";
  o.start_utc_ns = start;
  o.backoff_min = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  o.max_attempts = 3;  // the fake server goes away at the end: the client gives up, drains, ends
  o.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  return o;
}

class FakeService : public ::testing::TestWithParam<const char*> {};
INSTANTIATE_TEST_SUITE_P(Baku, FakeService, ::testing::Values(kBaku2018, kBaku2023));

TEST_P(FakeService, ADroppedConnectionIsResumedAndResentMessagesAreDroppedTheRecordsAreTheFiles) {
  const auto dir = kData / GetParam();
  const TimeNs start = LiveTimingSource(dir).start_utc_ns();
  const auto want = from_files(dir, start);
  ASSERT_GT(want.size(), 300u);

  testing::FakeSignalROptions so;
  so.session_dir = dir;
  so.start_utc_ns = start;
  testing::FakeSignalRServer server(so);
  so.drop_after = server.lines() / 2;  // in the middle
  testing::FakeSignalRServer dropping(so);
  auto record_dir = std::filesystem::temp_directory_path() / ("boxcall-lt-" + std::to_string(::getpid())) / GetParam();
  std::filesystem::remove_all(record_dir);
  auto o = client_options(dropping.port(), start);
  o.record_dir = record_dir;
  std::vector<std::string> got;
  LiveTimingClientStats cs;
  {
    LiveTimingClient client(o);
    got = drain(client, "s");
    cs = client.stats();
  }
  EXPECT_TRUE(dropping.stats().done);
  EXPECT_EQ(dropping.stats().reconnects, 1);  // resumed with the last message id
  EXPECT_EQ(cs.resumed, 1u);
  EXPECT_EQ(cs.duplicates, so.resend_overlap);
  EXPECT_EQ(cs.messages, server.lines());
  EXPECT_TRUE(dropping.stats().cookie_echoed);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
    if (got[i] != want[i]) {
      stream::Codec c;
      ADD_FAILURE() << "record " << i << " differs:\n live: " << *c.to_json(stream::as_bytes(std::string_view(got[i])))
                    << "\n file: " << *c.to_json(stream::as_bytes(std::string_view(want[i])));
      break;
    }
  }
  // What it recorded replays (StartUtc.txt included) into the same records.
  LiveTimingOptions ro;
  LiveTimingSource replay(record_dir, ro);
  EXPECT_EQ(replay.start_utc_ns(), start);
  const auto replayed = drain(replay, "s");
  EXPECT_TRUE(replayed == want) << "the recording does not replay into the same records";
  std::filesystem::remove_all(record_dir);
}

TEST(FakeServiceForgets, AClientThatMustStartOverReconcilesTheSnapshotAndLosesNoLap) {
  const auto dir = kData / kBaku2018;
  const TimeNs start = LiveTimingSource(dir).start_utc_ns();
  const auto want = from_files(dir, start);
  testing::FakeSignalROptions so;
  so.session_dir = dir;
  so.start_utc_ns = start;
  so.refuse_reconnect = true;
  {
    testing::FakeSignalRServer probe(so);
    so.drop_after = probe.lines() / 2;
  }
  so.pass_while_down = 400;  // ~400 feed lines go by while the client is away: only the snapshot has them
  testing::FakeSignalRServer server(so);
  std::vector<std::string> got;
  LiveTimingClientStats cs;
  {
    LiveTimingClient client(client_options(server.port(), start));
    got = drain(client, "s");
    cs = client.stats();
  }
  EXPECT_GE(server.stats().refused, 1);  // the resume after the drop (and the one after the end)
  EXPECT_EQ(server.stats().connects, 2);
  EXPECT_EQ(cs.connects, 2u);
  EXPECT_GE(cs.snapshot_diffs, 1u);
  // Laps (state: NumberOfLaps) and race control messages (an indexed list) come back through the
  // snapshot; what is lost is only what a snapshot cannot say (e.g. a pit stop begun and ended in the gap).
  stream::Codec codec;
  auto laps = [&](const std::vector<std::string>& records) {
    std::set<std::pair<int, int>> s;
    std::size_t rcm = 0;
    for (const auto& r : records) {
      auto d = codec.decode(stream::as_bytes(std::string_view(r)));
      if (!d.ok() || !std::holds_alternative<TimingEvent>(d->input)) continue;
      const auto& e = std::get<TimingEvent>(d->input);
      if (auto* l = std::get_if<LapCompleted>(&e.body)) {
        EXPECT_TRUE(s.insert({e.car, l->lap}).second) << "lap " << l->lap << " of car " << e.car << " twice";
      }
      if (std::holds_alternative<RaceControlMessage>(e.body)) ++rcm;
    }
    return std::pair(s, rcm);
  };
  const auto [want_laps, want_rcm] = laps(want);
  const auto [got_laps, got_rcm] = laps(got);
  EXPECT_EQ(got_laps, want_laps);
  EXPECT_EQ(got_rcm, want_rcm);
  EXPECT_GT(want_laps.size(), 800u);
}

TEST(LiveTimingClientConfig, ABadUrlFailsAtStart) {
  LiveTimingClientOptions o;
  o.url = "ftp://example";
  EXPECT_THROW(LiveTimingClient{o}, ConfigError);
}

}  // namespace
}  // namespace boxcall::sources
