#pragma once
/// Live and recorded F1 game UDP streams as a RecordSource.
///
/// A PacketFeed yields datagrams: UdpFeed from a socket (a receiver thread
/// that never waits on anything but the socket, so a slow consumer cannot make
/// the kernel drop packets while the queue has room), CaptureFeed from a
/// capture file paced at its recorded times (or faster). F1UdpSource decodes
/// them (decoder.h) and hands the records out one by one; it ends when the
/// feed ends or `stop` is set, after releasing what the decoder still holds.
///
/// One UDP stream can carry several sessions (the game restarted, a new
/// session UID): session_id() is the session of the record next() returned
/// last. publish_sources/record_sources key each record right after next()
/// returns it, so a single F1UdpSource is keyed correctly (tested).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sources/f1udp/capture.h"
#include "sources/f1udp/decoder.h"
#include "sources/source.h"

namespace boxcall::sources::f1udp {

struct Datagram {
  std::vector<std::byte> bytes;
  TimeNs arrival_utc_ns = 0;
  std::string origin;  ///< "udp 127.0.0.1:53211" or "capture:#17"
};

class PacketFeed {
 public:
  enum class Status { Packet, Idle, End };
  virtual ~PacketFeed() = default;
  /// Waits up to `wait` for the next datagram. Idle: nothing yet; End: no more.
  virtual Status next(Datagram& d, std::chrono::milliseconds wait) = 0;
  /// Takes no new datagrams; next() returns what is already queued, then End.
  virtual void close() = 0;
};

/// Socket counters, for progress lines and the no-loss benchmark.
struct UdpFeedStats {
  std::uint64_t received = 0;
  std::uint64_t bytes = 0;
  std::uint64_t kernel_drops = 0;  ///< SO_RXQ_OVFL: dropped by the socket (receive buffer full)
  std::uint64_t queue_drops = 0;   ///< dropped because the queue to the decoder was full
  std::uint64_t truncated = 0;     ///< datagrams larger than 64 KiB
  std::size_t queue_high_water = 0;
};

class UdpFeed final : public PacketFeed {
 public:
  /// Binds `host:port` (port 0: any free port). Throws ConfigError with one line when it cannot.
  /// `record`: every datagram received is also written there (seconds since the first one).
  UdpFeed(const std::string& host, std::uint16_t port, std::size_t max_queue = 1'000'000,
          std::shared_ptr<CaptureWriter> record = nullptr);
  ~UdpFeed() override;
  Status next(Datagram& d, std::chrono::milliseconds wait) override;
  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] UdpFeedStats stats() const;
  /// Stops the receiver; next() returns End once the queue is drained.
  void close() override;

 private:
  void receive_loop();
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::size_t max_queue_;
  std::shared_ptr<CaptureWriter> record_;
  std::atomic<bool> closing_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Datagram> queue_;
  UdpFeedStats stats_;
  bool ended_ = false;
  std::thread thread_;
};

class CaptureFeed final : public PacketFeed {
 public:
  /// `speed`: 1 = recorded pace, 10 = ten times faster, 0 = as fast as possible.
  /// Arrival time of a packet = `start_utc_ns` + its capture seconds.
  CaptureFeed(const std::filesystem::path& path, double speed, TimeNs start_utc_ns,
              std::shared_ptr<CaptureWriter> record = nullptr);
  Status next(Datagram& d, std::chrono::milliseconds wait) override;
  void close() override { closed_ = true; }
  [[nodiscard]] const CaptureReader& reader() const { return reader_; }

 private:
  bool closed_ = false;
  CaptureReader reader_;
  double speed_;
  TimeNs start_utc_;
  std::shared_ptr<CaptureWriter> record_;
  CapturedPacket pending_;
  bool has_pending_ = false;
  std::optional<std::chrono::steady_clock::time_point> wall_start_;
};

struct F1UdpSourceOptions {
  DecoderOptions decoder;
  /// Stops the source: the feed is closed, what it queued is decoded, what the decoder holds is released.
  const std::atomic<bool>* stop = nullptr;
  /// Stops the source the same way at this time.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  /// Called for every rejected datagram (unknown format or packet id, bad length).
  std::function<void(const Datagram&, const DecodeResult&)> on_reject;
  /// Called about every `status_interval` on the reading thread, also while idle.
  std::function<void()> on_status;
  std::chrono::milliseconds status_interval{5000};
};

class F1UdpSource final : public RecordSource {
 public:
  F1UdpSource(PacketFeed& feed, F1UdpSourceOptions options);
  [[nodiscard]] const std::string& session_id() const override;
  [[nodiscard]] std::optional<Input> next() override;
  [[nodiscard]] const DecoderStats& stats() const { return decoder_.stats(); }
  /// Datagrams read from the feed so far (any thread may ask).
  [[nodiscard]] std::uint64_t datagrams() const { return datagrams_.load(); }

 private:
  PacketFeed& feed_;
  F1UdpSourceOptions o_;
  Decoder decoder_;
  std::vector<KeyedInput> ready_;
  std::size_t ready_pos_ = 0;
  std::string session_ = "f1udp";
  Datagram datagram_;
  bool ended_ = false;
  bool closed_ = false;
  std::atomic<std::uint64_t> datagrams_{0};
  std::chrono::steady_clock::time_point next_status_;
};

}  // namespace boxcall::sources::f1udp
