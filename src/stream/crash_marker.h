#pragma once
/// A record that crashes boxcall must not crash it forever. Before the live
/// loop starts, `CrashMarker` reads the marker file a previous crash left
/// (positions of records being processed when the process died) and installs
/// a fatal-signal handler (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) that
/// appends the position being processed now, then lets the signal kill the
/// process as before. On restart the processor dead-letters those positions
/// (`processing_crashed`) instead of processing them again; a position leaves
/// the file once the committed offset of its partition is past it.
/// docs/operations.md, "A record that crashes boxcall".
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "stream/config.h"
#include "stream/processor.h"

namespace boxcall::stream {

class CrashMarker {
 public:
  /// `current` is read by the signal handler (the processor's current position).
  /// Throws ConfigError when the state directory cannot be created or written.
  CrashMarker(std::filesystem::path file, const TopicNames& topics, const Position* current);
  ~CrashMarker();
  CrashMarker(const CrashMarker&) = delete;
  CrashMarker& operator=(const CrashMarker&) = delete;

  /// Positions at which earlier runs crashed (still to be skipped).
  [[nodiscard]] const std::set<Position>& poisoned() const { return poisoned_; }
  /// Offsets now committed: positions before them are done with.
  void committed(const std::map<OffsetTracker::Key, std::int64_t>& positions);

  /// `<state dir>/<group id>.crash`, the state dir from the configuration or the environment.
  [[nodiscard]] static std::filesystem::path default_file(const StreamConfig& config);

 private:
  void rewrite();
  std::filesystem::path file_;
  const TopicNames& topics_;
  std::set<Position> poisoned_;
  int fd_ = -1;
};

}  // namespace boxcall::stream
