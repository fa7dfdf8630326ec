#pragma once
/// The compact live summary `boxcall run` writes to a terminal: one line per
/// race lap and session (the top of the tower, who is about to box) and one
/// line per warning or critical alert. Runs on its own thread from the live
/// view's events; it never slows the processing loop.
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "serve/live_view.h"

namespace boxcall::serve {

struct SummaryOptions {
  bool color = false;
  std::size_t tower_cars = 5;  ///< cars shown per lap line
  /// A lap line waits for every running car's lap, at most this long.
  std::chrono::milliseconds lap_wait{2000};
};

class TerminalSummary {
 public:
  TerminalSummary(LiveView& view, std::FILE* out, SummaryOptions options = {});
  ~TerminalSummary();
  TerminalSummary(const TerminalSummary&) = delete;
  TerminalSummary& operator=(const TerminalSummary&) = delete;

  /// The lap line of `lap` as it would be printed (tests).
  static std::string lap_line(const SessionState& s, std::int32_t lap, const SummaryOptions& options);

 private:
  void run();
  void print_due(bool final);

  struct PendingLap {
    std::int32_t lap = 0;
    std::chrono::steady_clock::time_point since;
  };

  LiveView& view_;
  std::FILE* out_;
  SummaryOptions options_;
  std::size_t listener_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool changed_ = false, stop_ = false;
  std::uint64_t since_ = 0;
  std::map<std::string, PendingLap> pending_;
  std::map<std::string, std::int32_t> printed_;
  std::thread thread_;
};

}  // namespace boxcall::serve
