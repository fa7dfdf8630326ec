#pragma once
// A small local stand-in for F1's live-timing SignalR service, for tests:
// classic ASP.NET SignalR over Boost.Beast (negotiate with a cookie, WebSocket
// connect, start, the Streaming hub's Subscribe reply with the state of every
// topic, "feed" messages with message ids, /reconnect resending from a message
// id) serving a recorded session directory of *.jsonStream files as if live.
// Lines are sent in the order the recorded-file adapter reads them, with UTC =
// start_utc + line time. It can drop the connection in the middle, resend
// what the client already had, or forget the connection (the client must
// then start over and reconcile the snapshot).
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "base/records.h"

namespace boxcall::testing {

struct FakeSignalROptions {
  std::filesystem::path session_dir;
  TimeNs start_utc_ns = 0;
  std::size_t drop_after = 0;       ///< close the socket abruptly after this many feed messages (0: never)
  std::size_t resend_overlap = 25;  ///< on /reconnect: also resend this many messages before the id asked for
  bool refuse_reconnect = false;    ///< answer /reconnect with 400: the client must connect from scratch
  std::size_t pass_while_down = 0;  ///< lines that go by while the client is away (refuse mode)
};

struct FakeSignalRStats {
  std::atomic<int> negotiations{0}, connects{0}, reconnects{0}, refused{0}, starts{0}, subscribes{0};
  std::atomic<bool> cookie_echoed{false};
  std::atomic<std::size_t> sent{0};  ///< feed messages written (resent ones included)
  std::atomic<bool> done{false};     ///< every line was sent (or passed)
};

class FakeSignalRServer {
 public:
  explicit FakeSignalRServer(FakeSignalROptions options);
  ~FakeSignalRServer();
  [[nodiscard]] std::uint16_t port() const;
  [[nodiscard]] const FakeSignalRStats& stats() const;
  [[nodiscard]] std::size_t lines() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace boxcall::testing
