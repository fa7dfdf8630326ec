#pragma once
/// The hand-over from the processing loop to the live view. The loop calls
/// push() for every acknowledged output: it copies the bytes into a pending
/// buffer under a lock that only the worker thread shares (for a swap), and
/// returns; decoding and applying happen on the worker. When the worker falls
/// far behind, new outputs are dropped and counted (never a blocked loop).
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

#include "serve/live_view.h"

namespace boxcall::serve {

class LiveFeed {
 public:
  /// `registry` (optional) gets boxcall_live_view_outputs_total,
  /// boxcall_live_view_dropped_total and boxcall_alerts_raised_total{kind}.
  explicit LiveFeed(LiveView& view, prometheus::Registry* registry = nullptr,
                    std::size_t max_pending_bytes = 64u << 20);
  ~LiveFeed();
  LiveFeed(const LiveFeed&) = delete;
  LiveFeed& operator=(const LiveFeed&) = delete;

  /// Any thread (the processing loop): copies `value` (a wire Envelope, FlatBuffer
  /// or JSON) and returns.
  void push(std::span<const std::byte> value);
  /// Blocks until everything pushed so far is applied (tests, shutdown).
  void flush();
  [[nodiscard]] std::uint64_t dropped() const { return dropped_.load(); }
  [[nodiscard]] std::uint64_t undecodable() const { return undecodable_.load(); }

 private:
  struct Pending {
    std::vector<std::byte> bytes;
    std::vector<std::pair<std::size_t, std::size_t>> spans;  // offset, size
  };
  void work();

  LiveView& view_;
  OutputDecoder decoder_;  // the worker's
  std::size_t max_pending_bytes_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  Pending pending_;
  std::uint64_t pushed_ = 0, applied_ = 0;
  bool stop_ = false;
  std::atomic<std::uint64_t> dropped_{0}, undecodable_{0};
  prometheus::Counter* outputs_metric_ = nullptr;
  prometheus::Counter* dropped_metric_ = nullptr;
  prometheus::Family<prometheus::Counter>* alerts_metric_ = nullptr;
  std::thread worker_;
};

}  // namespace boxcall::serve
