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
};

class SteadyClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override { return std::chrono::steady_clock::now(); }
};

/// A clock that moves only when told (tests).
class ManualClock final : public Clock {
 public:
  [[nodiscard]] std::chrono::steady_clock::time_point now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns_.load()));
  }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<long long> ns_{1'000'000'000};
};

}  // namespace boxcall
