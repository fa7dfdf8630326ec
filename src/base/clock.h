#pragma once
/// Processing-time clock, injected wherever boxcall reads or waits for time
/// (idle timeouts, feed-health checks, replay pacing), so that tests drive it
/// by hand and never assert on the wall clock.
#include <atomic>
#include <chrono>
#include <thread>

namespace boxcall {

class Clock {
 public:
  virtual ~Clock() = default;
  /// Monotonic processing time.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
  /// Wall-clock time (UTC), for comparing event times with the present.
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall() const = 0;
  /// Blocks until `now() >= t` (a manual clock moves there at once).
  virtual void sleep_until(std::chrono::steady_clock::time_point t) = 0;
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
  [[nodiscard]] std::chrono::system_clock::time_point wall() const override { return std::chrono::system_clock::now(); }
  void sleep_until(std::chrono::steady_clock::time_point t) override { std::this_thread::sleep_until(t); }
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
  void sleep_until(std::chrono::steady_clock::time_point t) override {
    if (t > now()) advance(t - now());
  }
  void set_wall(std::chrono::system_clock::time_point t) {
    wall_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

 private:
  std::atomic<long long> ns_{1'000'000'000};
  std::atomic<long long> wall_ns_{1'704'067'200LL * 1'000'000'000LL};
};

}  // namespace boxcall
