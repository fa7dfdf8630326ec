#pragma once
/// Processing-time clock, injected so that idle timeouts, snapshot periods and
/// feed-health checks can be driven by hand in tests.
#include <atomic>
#include <chrono>

namespace boxcall {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic processing time.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
  /// Wall-clock time (UTC), for comparing event times with the present.
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall() const = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] std::chrono::system_clock::time_point wall() const override { return std::chrono::system_clock::now(); }
};

/// A clock that moves only when told (tests).
class ManualClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  /// Starts on 2024-01-01 (UTC); both clocks move together.
  [[nodiscard]] std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(wall_ns_.load())));
  }
  void advance(std::chrono::nanoseconds d) {
    ns_ += d.count();
    wall_ns_ += d.count();
  }
  void set_wall(std::chrono::system_clock::time_point t) {
    wall_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

 private:
  std::atomic<long long> ns_{1'000'000'000};
  std::atomic<long long> wall_ns_{1'704'067'200LL * 1'000'000'000LL};
};

}  // namespace boxcall
