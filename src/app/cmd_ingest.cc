// `boxcall ingest`: bridges from live sources of the real world into the input
// topics. `ingest f1-udp` listens to the EA F1 23/24/25 games' UDP telemetry
// (or replays a capture of it); `ingest livetiming` (cmd_ingest_livetiming.cc)
// follows F1's live-timing service. Both publish the records the rest of
// boxcall reads, keyed by session id; docs/inputs.md says what maps to what.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "app/commands.h"
#include "app/ingest_common.h"
#include "base/time_text.h"
#include "sources/f1udp/udp_source.h"
#include "stream/config.h"

namespace boxcall::app {
namespace {

struct F1UdpArgs {
  std::string listen = "0.0.0.0:20777";
  std::string capture;
  double speed = 1.0;
  std::string start_utc;
  std::string record;
  std::string session_prefix = "f1udp-";
  std::string duration;
  double status_every = 5;
  IngestOutputArgs out;
};

std::pair<std::string, std::uint16_t> split_host_port(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) throw ConfigError("--listen expects HOST:PORT, e.g. 0.0.0.0:20777, got '" + s + "'");
  const std::string host = s.substr(0, colon);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535) throw ConfigError("--listen: bad port in '" + s + "'");
  return {host.empty() ? "0.0.0.0" : host, static_cast<std::uint16_t>(port)};
}

std::string hexdump_prefix(const std::vector<std::byte>& b) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < b.size() && i < 8; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", static_cast<unsigned>(b[i]));
    out += buf;
  }
  return out;
}

int run_f1udp(const F1UdpArgs& a) {
  if (a.speed < 0) throw ConfigError("--speed must be >= 0 (0: as fast as possible)");
  if (a.status_every <= 0) throw ConfigError("--status-every must be > 0 seconds");
  std::optional<std::chrono::milliseconds> duration;
  if (!a.duration.empty()) duration = stream::parse_duration(a.duration, "--duration");
  TimeNs start_utc =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (!a.start_utc.empty()) {
    if (a.capture.empty()) throw ConfigError("--start-utc applies to --capture only (live packets carry arrival time)");
    auto t = parse_utc_datetime(a.start_utc);
    if (!t) throw ConfigError("--start-utc: expected e.g. 2024-03-02T15:00:00Z, got '" + a.start_utc + "'");
    start_utc = *t;
  }

  std::shared_ptr<sources::f1udp::CaptureWriter> record;
  if (!a.record.empty()) record = std::make_shared<sources::f1udp::CaptureWriter>(a.record);

  std::unique_ptr<sources::f1udp::PacketFeed> feed;
  sources::f1udp::UdpFeed* udp = nullptr;
  if (!a.capture.empty()) {
    feed = std::make_unique<sources::f1udp::CaptureFeed>(a.capture, a.speed, start_utc, record);
    std::fprintf(stderr, "f1-udp: replaying %s at %s\n", a.capture.c_str(),
                 a.speed == 0 ? "full speed" : (std::to_string(a.speed) + "x recorded pace").c_str());
  } else {
    const auto [host, port] = split_host_port(a.listen);
    auto u = std::make_unique<sources::f1udp::UdpFeed>(host, port, 1'000'000, record);
    udp = u.get();
    std::fprintf(stderr,
                 "f1-udp: listening on udp %s:%u -- in the game: Settings > Telemetry Settings > UDP Telemetry On, "
                 "UDP Port %u, UDP Format 2023/2024/2025 (see docs/inputs.md)\n",
                 host.c_str(), static_cast<unsigned>(udp->port()), static_cast<unsigned>(udp->port()));
    feed = std::move(u);
  }

  DeadLetterBox dead(a.out.dead_letter_limit);
  ingest_install_signals();
  sources::f1udp::F1UdpSourceOptions so;
  so.decoder.session_prefix = a.session_prefix;
  so.stop = &ingest_stop_flag();
  if (duration) so.deadline = std::chrono::steady_clock::now() + *duration;
  so.status_interval = std::chrono::milliseconds(static_cast<long long>(a.status_every * 1000));
  std::unique_ptr<sources::f1udp::F1UdpSource> src;
  so.on_reject = [&dead](const sources::f1udp::Datagram& d, const sources::f1udp::DecodeResult& r) {
    dead.add({"f1udp-unknown",
              std::string(reinterpret_cast<const char*>(d.bytes.data()), d.bytes.size()),
              {{"boxcall.reason", std::string(to_string(sources::f1udp::reason_of(r.outcome)))},
               {"boxcall.detail", std::string(to_string(r.outcome)) + ": " + r.detail},
               {"boxcall.source", d.origin + " first bytes " + hexdump_prefix(d.bytes)}}});
  };
  auto status_line = [&] {
    const auto& s = src->stats();
    using sources::f1udp::Outcome;
    std::string socket;
    if (udp) {
      const auto us = udp->stats();
      socket = " | socket: " + std::to_string(us.received) + " received, " + std::to_string(us.kernel_drops) +
               " dropped by the kernel, " + std::to_string(us.queue_drops) + " by the queue";
    }
    std::fprintf(stderr,
                 "f1-udp: %llu packets (F1 23 %llu, F1 24 %llu, F1 25 %llu), %llu sessions -> %llu samples, %llu "
                 "laps, %llu timing | skipped: %llu duplicate, %llu stale, %llu unused type, %llu no session | "
                 "rejected: %llu unknown format, %llu unknown id, %llu bad length%s\n",
                 static_cast<unsigned long long>(s.packets()), static_cast<unsigned long long>(s.packets_by_format[0]),
                 static_cast<unsigned long long>(s.packets_by_format[1]),
                 static_cast<unsigned long long>(s.packets_by_format[2]), static_cast<unsigned long long>(s.sessions),
                 static_cast<unsigned long long>(s.samples), static_cast<unsigned long long>(s.laps),
                 static_cast<unsigned long long>(s.timing), static_cast<unsigned long long>(s.of(Outcome::Duplicate)),
                 static_cast<unsigned long long>(s.of(Outcome::Stale)),
                 static_cast<unsigned long long>(s.of(Outcome::Ignored)),
                 static_cast<unsigned long long>(s.of(Outcome::NoSession)),
                 static_cast<unsigned long long>(s.of(Outcome::UnknownFormat)),
                 static_cast<unsigned long long>(s.of(Outcome::UnknownPacketId)),
                 static_cast<unsigned long long>(s.of(Outcome::BadLength)), socket.c_str());
  };
  so.on_status = [&] { status_line(); };
  src = std::make_unique<sources::f1udp::F1UdpSource>(*feed, std::move(so));
  const int code = run_ingest(*src, a.out, dead, "f1-udp");
  status_line();
  if (record) {
    record->close();
    std::fprintf(stderr, "f1-udp: recorded %u packets to %s\n", record->count(), a.record.c_str());
  }
  if (auto* cf = dynamic_cast<sources::f1udp::CaptureFeed*>(feed.get()); cf && cf->reader().truncated()) {
    std::fprintf(stderr, "f1-udp: warning: %s ends early (%llu of %u declared packets; a recorder stopped abruptly?)\n",
                 a.capture.c_str(), static_cast<unsigned long long>(cf->reader().read_count()),
                 cf->reader().declared_count());
  }
  return code;
}

}  // namespace

void register_ingest_livetiming(CLI::App& ingest, std::function<int()>& run);

void register_ingest(CLI::App& app, std::function<int()>& run) {
  auto* ingest =
      app.add_subcommand("ingest",
                         "Bridge a live source into the input topics (telemetry, timing), keyed by session id:\n"
                         "  f1-udp      EA SPORTS F1 23/24/25 UDP telemetry (or a capture of it)\n"
                         "  livetiming  F1's live-timing service (SignalR)\n"
                         "See docs/inputs.md.");
  ingest->require_subcommand(1);

  auto a = std::make_shared<F1UdpArgs>();
  auto* cmd = ingest->add_subcommand(
      "f1-udp",
      "Listen to the F1 game's UDP telemetry (packet formats 2023, 2024, 2025, detected per packet) and publish\n"
      "samples for every car and timing events (laps, pit stops, tyres, track status, weather, session start/end).\n"
      "Each game session (session UID) is its own boxcall session, f1udp-<uid>. Bad packets are counted and\n"
      "sent to the dead-letter topic with a reason. Ctrl-C stops cleanly (what is held is published first).");
  cmd->add_option("--listen", a->listen,
                  "UDP address to listen on, HOST:PORT (default 0.0.0.0:20777, the game's default)");
  cmd->add_option("--capture", a->capture,
                  "Replay a capture file instead of listening (uint32 count, then per packet: float32 seconds, "
                  "uint32 length, payload)")
      ->check(CLI::ExistingFile);
  cmd->add_option("-s,--speed", a->speed, "Capture replay speed: 1 = recorded pace (default), 10 = 10x, 0 = max");
  cmd->add_option("--start-utc", a->start_utc,
                  "Capture replay: UTC of capture time 0, e.g. 2024-03-02T15:00:00Z (default: now); event times "
                  "follow from it");
  cmd->add_option("--record", a->record, "Also write every packet received to this capture file");
  cmd->add_option("--session-prefix", a->session_prefix, "Session id prefix (default f1udp-)");
  cmd->add_option("-d,--duration", a->duration, "Stop cleanly after this long, e.g. 10m (default: until Ctrl-C)");
  cmd->add_option("--status-every", a->status_every, "Seconds between counter lines on stderr (default 5)");
  a->out.add_to(cmd);
  cmd->callback([a, &run] { run = [a] { return run_f1udp(*a); }; });

  register_ingest_livetiming(*ingest, run);
}

}  // namespace boxcall::app
