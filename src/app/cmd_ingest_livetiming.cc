// `boxcall ingest livetiming`: follows F1's live-timing service (classic
// SignalR) and publishes what the recorded-file adapter would make of the same
// messages; reconnects with backoff, can record the raw feed as .jsonStream
// files that `boxcall replay` reads back. See docs/inputs.md.
#include <cstdio>
#include <memory>

#include "app/commands.h"
#include "app/ingest_common.h"
#include "base/time_text.h"
#include "sources/livetiming_client.h"
#include "stream/config.h"

namespace boxcall::app {
namespace {

struct LiveArgs {
  std::string url = "https://livetiming.formula1.com/signalr";
  std::string session;
  std::string start_utc;
  std::string record;
  std::vector<std::string> topics;
  int max_attempts = 0;
  std::string duration;
  IngestOutputArgs out;
};

int run_livetiming(const LiveArgs& a) {
  sources::LiveTimingClientOptions o;
  o.url = a.url;
  o.session_id = a.session;
  if (!a.start_utc.empty()) {
    auto t = parse_utc_datetime(a.start_utc);
    if (!t) throw ConfigError("--start-utc: expected e.g. 2023-04-29T12:30:00Z, got '" + a.start_utc + "'");
    o.start_utc_ns = *t;
  }
  if (!a.topics.empty()) o.topics = a.topics;
  if (a.max_attempts < 0) throw ConfigError("--max-attempts must be >= 0 (0: retry forever)");
  o.max_attempts = a.max_attempts;
  o.record_dir = a.record;
  if (!a.duration.empty())
    o.deadline = std::chrono::steady_clock::now() + stream::parse_duration(a.duration, "--duration");
  ingest_install_signals();
  o.stop = &ingest_stop_flag();
  o.on_event = [](const std::string& e) { std::fprintf(stderr, "livetiming: %s\n", e.c_str()); };
  DeadLetterBox dead(a.out.dead_letter_limit);
  o.on_reject = [&dead](const sources::RejectedLine& r) {
    dead.add({"livetiming",
              r.text,
              {{"boxcall.reason", std::string(to_string(r.reason))},
               {"boxcall.detail", r.detail},
               {"boxcall.source", r.source}}});
  };
  std::fprintf(stderr, "livetiming: following %s%s\n", a.url.c_str(),
               a.record.empty() ? "" : (" (recording to " + a.record + ")").c_str());
  sources::LiveTimingClient client(std::move(o));
  const int code = run_ingest(client, a.out, dead, "livetiming");
  const auto s = client.stats();
  std::fprintf(stderr,
               "livetiming: %llu messages used, %llu duplicates dropped, %llu snapshots (%llu reconciled), %llu "
               "connects, %llu reconnects (%llu resumed), %llu rejected\n",
               static_cast<unsigned long long>(s.messages), static_cast<unsigned long long>(s.duplicates),
               static_cast<unsigned long long>(s.snapshots), static_cast<unsigned long long>(s.snapshot_diffs),
               static_cast<unsigned long long>(s.connects), static_cast<unsigned long long>(s.reconnects),
               static_cast<unsigned long long>(s.resumed), static_cast<unsigned long long>(s.rejected));
  return code;
}

}  // namespace

void register_ingest_livetiming(CLI::App& ingest, std::function<int()>& run) {
  auto a = std::make_shared<LiveArgs>();
  auto* cmd = ingest.add_subcommand(
      "livetiming",
      "Follow F1's live-timing service (ASP.NET SignalR: negotiate, WebSocket, Streaming.Subscribe) and publish\n"
      "its messages as the recorded-file adapter parses them: laps, pit stops, tyres, track status, race control,\n"
      "weather, session status. Reconnects with backoff (resuming from the last message id when the server\n"
      "allows, else reconciling the state snapshot); messages sent twice are dropped. Ctrl-C stops cleanly.");
  cmd->add_option("--url", a->url, "SignalR base URL (default https://livetiming.formula1.com/signalr)");
  cmd->add_option(
      "--session", a->session,
      "Session id (the record key); default: from SessionInfo, e.g. 2023-04-29_Azerbaijan_Grand_Prix_Sprint");
  cmd->add_option("--start-utc", a->start_utc, "UTC of session time 0 (default: the first message's time)");
  cmd->add_option("--record", a->record,
                  "Also write the raw feed to this directory as <Topic>.jsonStream + StartUtc.txt (boxcall replay "
                  "reads it back)");
  cmd->add_option("--topics", a->topics, "Topics to subscribe (default: those boxcall parses, plus Heartbeat)")
      ->delimiter(',');
  cmd->add_option("--max-attempts", a->max_attempts,
                  "Give up after this many failed connection attempts in a row (default 0: never)");
  cmd->add_option("-d,--duration", a->duration, "Stop cleanly after this long, e.g. 2h (default: until Ctrl-C)");
  a->out.add_to(cmd);
  cmd->callback([a, &run] { run = [a] { return run_livetiming(*a); }; });
}

}  // namespace boxcall::app
