// Captures, the UDP feed and F1UdpSource; the loopback test: 22 cars at 60 Hz
// over a real UDP socket into the embedded broker (librdkafka's mock
// cluster), read back, nothing lost; a stream holding two game sessions is
// keyed per session by the publisher.
#include "sources/f1udp/udp_source.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "packet_builder.h"
#include "replay/recording.h"
#include "replay/source_publisher.h"
#include "stream/codec.h"
#include "stream/kafka.h"

namespace boxcall::sources::f1udp {
namespace {

namespace pb = boxcall::testing::f1udp;

std::filesystem::path temp_file(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("boxcall-f1udp-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

/// One frame of a 22-car race: every packet type the decoder reads (participants optional).
std::vector<pb::Bytes> frame_packets(pb::Frame f, bool participants) {
  std::array<pb::CarMotion, pb::kCars> mot{};
  std::array<pb::CarLap, pb::kCars> lap{};
  std::array<pb::CarTelemetry, pb::kCars> tel{};
  std::array<pb::CarStatus, pb::kCars> status{};
  for (int i = 0; i < pb::kCars; ++i) {
    const auto u = static_cast<std::size_t>(i);
    mot[u] = {static_cast<float>(i), f.session_time, 0};
    lap[u].lap_num = 1;
    lap[u].position = static_cast<std::uint8_t>(i + 1);
    lap[u].current_lap_ms = static_cast<std::uint32_t>(f.session_time * 1000);
    lap[u].lap_distance = f.session_time * 80;
    tel[u] = {static_cast<std::uint16_t>(100 + i), 0.5F, 0, 0, 4, 9000, 0};
  }
  std::vector<pb::Bytes> v{pb::motion(f, mot), pb::session(f, {}), pb::lap_data(f, lap)};
  if (participants) {
    std::vector<pb::Participant> p;
    for (int i = 0; i < pb::kCars; ++i) p.push_back({static_cast<std::uint8_t>(i + 2), "DRIVER" + std::to_string(i)});
    v.push_back(pb::participants(f, p));
  }
  v.push_back(pb::car_telemetry(f, tel));
  v.push_back(pb::car_status(f, status));
  return v;
}

TEST(F1UdpCapture, WritesAndReadsTheContainer) {
  const auto path = temp_file("roundtrip.cap");
  {
    CaptureWriter w(path);
    w.write(0.0, pb::view(pb::Bytes(29, std::byte{1})));
    w.write(0.5, pb::view(pb::Bytes(1352, std::byte{2})));
  }
  CaptureReader r(path);
  EXPECT_EQ(r.declared_count(), 2u);
  CapturedPacket p;
  ASSERT_TRUE(r.next(p));
  EXPECT_EQ(p.bytes.size(), 29u);
  ASSERT_TRUE(r.next(p));
  EXPECT_FLOAT_EQ(static_cast<float>(p.seconds), 0.5F);
  EXPECT_EQ(p.bytes.size(), 1352u);
  EXPECT_EQ(p.bytes[0], std::byte{2});
  EXPECT_FALSE(r.next(p));
  EXPECT_FALSE(r.truncated());
  // Cut inside the second packet: the first still reads, the reader says it ended early.
  std::filesystem::resize_file(path, 4 + 8 + 29 + 8 + 100);
  CaptureReader cut(path);
  ASSERT_TRUE(cut.next(p));
  EXPECT_FALSE(cut.next(p));
  EXPECT_TRUE(cut.truncated());
  EXPECT_THROW(CaptureReader(temp_file("missing.cap")), ConfigError);
}

TEST(F1UdpCapture, AReplayAnchorsEventTimeAtTheGivenStart) {
  const auto path = temp_file("anchor.cap");
  {
    CaptureWriter w(path);
    pb::Frame f;
    f.session_time = 30;
    for (int k = 0; k < 3; ++k) {
      f.frame = f.overall = static_cast<std::uint32_t>(k);
      for (const auto& b : frame_packets(f, k == 0)) w.write(k * 0.5, pb::view(b));
      f.session_time += 0.5F;
    }
  }
  const TimeNs start = 1'700'000'000LL * kNsPerSecond;
  CaptureFeed feed(path, 0, start);
  F1UdpSource src(feed, {});
  std::vector<TelemetrySample> samples;
  while (auto in = src.next())
    if (auto* s = std::get_if<TelemetrySample>(&*in)) samples.push_back(*s);
  ASSERT_EQ(samples.size(), 3u * 22u);
  EXPECT_EQ(samples.front().event_time_ns, start);
  EXPECT_EQ(samples.back().event_time_ns, start + kNsPerSecond);
  EXPECT_EQ(samples.front().car, 2);
  EXPECT_EQ(samples.front().driver.view(), "DRI");
}

TEST(F1UdpSourceKeys, TwoGameSessionsInOneStreamAreKeyedApartByThePublisher) {
  const auto cap = temp_file("two-sessions.cap");
  {
    CaptureWriter w(cap);
    pb::Frame a, b;
    b.uid = 7;  // the game restarted: a new session UID
    for (const auto& p : frame_packets(a, true)) w.write(0, pb::view(p));
    for (const auto& p : frame_packets(b, true)) w.write(1, pb::view(p));
  }
  CaptureFeed feed(cap, 0, 0);
  std::vector<std::unique_ptr<RecordSource>> srcs;
  srcs.push_back(std::make_unique<F1UdpSource>(feed, F1UdpSourceOptions{}));
  const auto rec = temp_file("two-sessions.bxcrec");
  {
    replay::RecordingWriter out(rec);
    replay::record_sources(std::move(srcs), stream::TopicNames{}, out, replay::PublishOptions{});
  }
  replay::RecordingReader reader(rec);
  replay::RecordedRecord r;
  stream::Codec codec;
  std::map<std::string, std::size_t> per_key;
  while (reader.next(r)) {
    ASSERT_TRUE(r.key && r.value);
    auto d = codec.decode(stream::as_bytes(std::string_view(*r.value)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->session, *r.key);  // the payload's session is the key
    ++per_key[*r.key];
  }
  ASSERT_EQ(per_key.size(), 2u);
  EXPECT_GE(per_key["f1udp-0000000000000007"], 22u);
  EXPECT_GE(per_key["f1udp-123456789abcdef0"], 22u);
}

int udp_sender() {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  return fd;
}

void send_to(int fd, std::uint16_t port, const pb::Bytes& b) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(b.size()));
}

TEST(F1UdpLoopback, TwentyTwoCarsAt60HzThroughTheEmbeddedBrokerLoseNothing) {
  constexpr int kFrames = 300;  // 5 s at 60 Hz
  stream::MockCluster cluster(1);
  stream::TopicNames topics;
  for (const auto* t : {&topics.telemetry, &topics.timing, &topics.dead_letter}) cluster.create_topic(*t, 4);

  UdpFeed feed("127.0.0.1", 0);
  std::atomic<bool> stop{false};
  F1UdpSourceOptions so;
  so.stop = &stop;
  std::vector<replay::DeadLetter> dead;
  so.on_reject = [&](const Datagram& d, const DecodeResult& r) {
    dead.push_back({"f1udp-unknown",
                    std::string(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size()),
                    {{"boxcall.reason", std::string(to_string(reason_of(r.outcome)))}}});
  };
  auto source = std::make_unique<F1UdpSource>(feed, so);
  F1UdpSource* src = source.get();
  replay::PublishStats stats;
  std::thread publisher([&] {
    std::vector<std::unique_ptr<RecordSource>> srcs;
    srcs.push_back(std::move(source));
    replay::PublishOptions po;
    po.kafka["linger.ms"] = "5";
    po.dead_letters = &dead;
    stats = replay::publish_sources(std::move(srcs), cluster.bootstrap(), topics, po);
  });

  const int fd = udp_sender();
  pb::Frame f;
  auto next = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  for (int k = 0; k < kFrames; ++k) {
    f.frame = f.overall = static_cast<std::uint32_t>(k);
    f.session_time = static_cast<float>(k) / 60.0F;
    for (const auto& b : frame_packets(f, k % 300 == 0)) {
      send_to(fd, feed.port(), b);
      ++sent;
    }
    next += std::chrono::microseconds(16'667);
    std::this_thread::sleep_until(next);  // the game's pace: this paces the sender, it synchronises nothing
  }
  send_to(fd, feed.port(), pb::Bytes(12, std::byte{0}));  // garbage: dead-lettered
  ::close(fd);
  // Wait until every datagram sent has been received and decoded, then stop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (src->datagrams() < sent + 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  publisher.join();

  const auto us = feed.stats();
  EXPECT_EQ(us.received, sent + 1);
  EXPECT_EQ(us.kernel_drops, 0u);
  EXPECT_EQ(us.queue_drops, 0u);
  EXPECT_EQ(stats.failed, 0u);
  EXPECT_EQ(stats.telemetry, static_cast<std::uint64_t>(kFrames) * 22u);
  EXPECT_EQ(stats.dead_letter, 1u);

  // Read the telemetry topic back from the broker.
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", cluster.bootstrap()).set("group.id", "loopback-reader");
  conf.set("enable.partition.eof", "true").set("auto.offset.reset", "earliest");
  auto consumer = conf.create(RD_KAFKA_CONSUMER);
  stream::KafkaPartitionList list(rd_kafka_topic_partition_list_new(4));
  for (int p = 0; p < 4; ++p)
    rd_kafka_topic_partition_list_add(list.get(), topics.telemetry.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer.get(), list.get());
  stream::Codec codec;
  std::map<int, std::set<TimeNs>> per_car;
  int eof = 0;
  const auto read_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (eof < 4 && std::chrono::steady_clock::now() < read_deadline) {
    stream::KafkaMessage m(rd_kafka_consumer_poll(consumer.get(), 200));
    if (!m) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++eof;
      continue;
    }
    ASSERT_EQ(m->err, RD_KAFKA_RESP_ERR_NO_ERROR);
    auto d = codec.decode(std::as_bytes(std::span(static_cast<const char*>(m->payload), m->len)));
    ASSERT_TRUE(d.ok());
    per_car[std::get<TelemetrySample>(d->input).car].insert(std::get<TelemetrySample>(d->input).session_time_ns);
  }
  rd_kafka_consumer_close(consumer.get());
  ASSERT_EQ(per_car.size(), 22u);
  for (const auto& [car, times] : per_car) EXPECT_EQ(times.size(), static_cast<std::size_t>(kFrames)) << car;
}

}  // namespace
}  // namespace boxcall::sources::f1udp
