// The F1 game UDP input (src/sources/f1udp):
//  - BM_DecodeCarTelemetry22: one 22-car Car Telemetry packet into 22 samples
//    (X/Y/Z and lap distance joined from Motion and Lap Data), target <= 2 us;
//  - BM_LoopbackNoLoss: a sender at 60 Hz sends every packet type of F1 25
//    (16 per frame, ~960 packets/s) over loopback UDP to the whole ingest path
//    (UdpFeed -> F1UdpSource -> publish_sources -> embedded broker) for N
//    seconds; counters say what was sent, received, dropped (kernel, queue),
//    decoded and published. N: the benchmark argument (default 20 s), or the
//    environment variable BOXCALL_F1UDP_LOOPBACK_SECONDS (600 for the
//    issue's 10 minutes).
//
//   build-bench/bench/bench_f1udp --benchmark_filter=Decode
//   BOXCALL_F1UDP_LOOPBACK_SECONDS=600 build-bench/bench/bench_f1udp --benchmark_filter=Loopback
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "packet_builder.h"  // tests/sources/f1udp: packets built from the specification
#include "replay/source_publisher.h"
#include "sources/f1udp/decoder.h"
#include "sources/f1udp/udp_source.h"
#include "stream/kafka.h"

namespace {

namespace pb = boxcall::testing::f1udp;
using namespace boxcall;
using namespace boxcall::sources::f1udp;

struct RaceState {
  std::array<pb::CarMotion, pb::kCars> mot{};
  std::array<pb::CarLap, pb::kCars> lap{};
  std::array<pb::CarTelemetry, pb::kCars> tel{};
  std::array<pb::CarStatus, pb::kCars> status{};
  std::vector<pb::Participant> people;
  RaceState() {
    for (int i = 0; i < pb::kCars; ++i) {
      const auto u = static_cast<std::size_t>(i);
      mot[u] = {static_cast<float>(i) * 10, 1, static_cast<float>(i)};
      lap[u].lap_num = 3;
      lap[u].position = static_cast<std::uint8_t>(i + 1);
      lap[u].lap_distance = 1000.0F + static_cast<float>(i);
      tel[u] = {static_cast<std::uint16_t>(250 + i), 0.9F, 0, 0, 7, 11500, 1};
      people.push_back({static_cast<std::uint8_t>(i + 1), "DRIVER" + std::to_string(i)});
    }
  }
};

void set_frame(pb::Bytes& b, std::uint32_t frame, float t) {
  std::memcpy(b.data() + 15, &t, 4);
  std::memcpy(b.data() + 19, &frame, 4);
  std::memcpy(b.data() + 23, &frame, 4);
}

void BM_DecodeCarTelemetry22(benchmark::State& state) {
  RaceState race;
  pb::Frame f;
  f.format = 2024;
  Decoder decoder;
  std::vector<KeyedInput> out;
  out.reserve(64);
  const TimeNs arrival = 1'700'000'000LL * kNsPerSecond;
  for (const auto& b : {pb::participants(f, race.people), pb::motion(f, race.mot), pb::lap_data(f, race.lap),
                        pb::car_status(f, race.status)}) {
    (void)decoder.decode(pb::view(b), arrival, out);
  }
  out.clear();
  pb::Bytes tel = pb::car_telemetry(f, race.tel);
  std::uint32_t frame = 1;
  for (auto _ : state) {
    set_frame(tel, frame, static_cast<float>(frame) / 60.0F);
    ++frame;
    out.clear();
    auto r = decoder.decode(pb::view(tel), arrival, out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.size() != 22) state.SkipWithError("expected 22 samples per packet");
  state.SetItemsProcessed(state.iterations() * 22);
  state.counters["samples_per_packet"] = static_cast<double>(out.size());
}
BENCHMARK(BM_DecodeCarTelemetry22);

void BM_LoopbackNoLoss(benchmark::State& state) {
  double seconds = static_cast<double>(state.range(0));
  if (const char* env = std::getenv("BOXCALL_F1UDP_LOOPBACK_SECONDS")) seconds = std::atof(env);
  const int frames = static_cast<int>(seconds * 60);
  for (auto _ : state) {
    stream::MockCluster cluster(1);
    stream::TopicNames topics;
    for (const auto* t : {&topics.telemetry, &topics.timing, &topics.dead_letter}) cluster.create_topic(*t, 4);
    UdpFeed feed("127.0.0.1", 0);
    std::atomic<bool> stop{false};
    F1UdpSourceOptions so;
    so.stop = &stop;
    auto source = std::make_unique<F1UdpSource>(feed, so);
    F1UdpSource* src = source.get();
    replay::PublishStats stats;
    std::thread publisher([&] {
      std::vector<std::unique_ptr<sources::RecordSource>> srcs;
      srcs.push_back(std::move(source));
      replay::PublishOptions po;
      po.kafka["linger.ms"] = "5";
      stats = replay::publish_sources(std::move(srcs), cluster.bootstrap(), topics, po);
    });

    RaceState race;
    pb::Frame f;
    f.format = 2025;
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(feed.port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::uint64_t sent = 0, send_errors = 0;
    auto send = [&](const pb::Bytes& b) {
      if (::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
          static_cast<ssize_t>(b.size()))
        ++sent;
      else
        ++send_errors;
    };
    const auto t0 = std::chrono::steady_clock::now();
    auto next = t0;
    for (int k = 0; k < frames; ++k) {
      f.frame = f.overall = static_cast<std::uint32_t>(k + 1);
      f.session_time = static_cast<float>(k) / 60.0F;
      for (auto& l : race.lap) l.current_lap_ms = static_cast<std::uint32_t>(k * 1000 / 60);
      // Every packet type of the F1 25 format, as the game sends them when all are enabled.
      send(pb::motion(f, race.mot));
      send(pb::session(f, {}));
      send(pb::lap_data(f, race.lap));
      send(pb::event(f, "BUTN", {1}));
      send(pb::participants(f, race.people));
      for (int id : {5}) send(pb::packet(f, id));  // car setups
      send(pb::car_telemetry(f, race.tel));
      send(pb::car_status(f, race.status));
      for (int id : {8, 9, 10}) send(pb::packet(f, id));  // final classification, lobby, damage
      send(pb::session_history(f, static_cast<std::uint8_t>(k % 22), {}));
      for (int id : {12, 13, 14, 15}) send(pb::packet(f, id));  // tyre sets, motion ex, time trial, lap positions
      next += std::chrono::microseconds(16'667);
      std::this_thread::sleep_until(next);
    }
    ::close(fd);
    const double send_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (src->datagrams() < sent && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
    publisher.join();
    const auto us = feed.stats();
    const auto& ds = src->stats();
    state.counters["seconds"] = send_s;
    state.counters["sent"] = static_cast<double>(sent);
    state.counters["send_errors"] = static_cast<double>(send_errors);
    state.counters["received"] = static_cast<double>(us.received);
    state.counters["lost"] = static_cast<double>(sent - std::min<std::uint64_t>(sent, us.received));
    state.counters["kernel_drops"] = static_cast<double>(us.kernel_drops);
    state.counters["queue_drops"] = static_cast<double>(us.queue_drops);
    state.counters["queue_high_water"] = static_cast<double>(us.queue_high_water);
    state.counters["decoded"] = static_cast<double>(ds.of(Outcome::Decoded) + ds.of(Outcome::Ignored));
    state.counters["rejected"] = static_cast<double>(ds.of(Outcome::BadLength) + ds.of(Outcome::UnknownPacketId) +
                                                     ds.of(Outcome::UnknownFormat));
    state.counters["samples_published"] = static_cast<double>(stats.telemetry);
    state.counters["samples_expected"] = static_cast<double>(frames) * 22;
    state.counters["publish_failed"] = static_cast<double>(stats.failed);
    state.counters["packets_per_s"] = static_cast<double>(sent) / send_s;
    if (us.received != sent || stats.telemetry != static_cast<std::uint64_t>(frames) * 22)
      state.SkipWithError("packets or samples lost");
  }
}
BENCHMARK(BM_LoopbackNoLoss)->Arg(20)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
