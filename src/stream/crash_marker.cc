#include "stream/crash_marker.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/result.h"

namespace boxcall::stream {
namespace {

// The signal handler's view: plain data, written before the handler is installed.
struct HandlerState {
  int fd = -1;
  const Position* current = nullptr;
  std::array<char, 256> names[kInputTopics]{};
};
HandlerState g_state;
constexpr std::array kSignals{SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction g_previous[kSignals.size()];

// Async-signal-safe: only write(2) and arithmetic.
char* put_number(char* p, long long v) {
  char digits[24];
  int n = 0;
  const bool negative = v < 0;
  unsigned long long u = negative ? 0ULL - static_cast<unsigned long long>(v) : static_cast<unsigned long long>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u > 0);
  if (negative) *p++ = '-';
  while (n > 0) *p++ = digits[--n];
  return p;
}

void on_fatal_signal(int sig) {
  if (g_state.fd >= 0 && g_state.current && g_state.current->partition >= 0) {
    char line[400];
    char* p = line;
    const auto topic = static_cast<std::size_t>(g_state.current->topic);
    for (const char* c = g_state.names[topic].data(); *c; ++c) *p++ = *c;
    *p++ = ' ';
    p = put_number(p, g_state.current->partition);
    *p++ = ' ';
    p = put_number(p, g_state.current->offset);
    *p++ = ' ';
    p = put_number(p, sig);
    *p++ = '\n';
    ssize_t ignored = ::write(g_state.fd, line, static_cast<std::size_t>(p - line));
    (void)ignored;
  }
  // Die of the same signal, as without the handler (core dumps, exit status).
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

std::filesystem::path state_dir(const StreamConfig& config) {
  if (!config.state_dir.empty()) return config.state_dir;
  if (const char* d = std::getenv("BOXCALL_STATE_DIR"); d && *d) return d;
  if (const char* d = std::getenv("XDG_STATE_HOME"); d && *d) return std::filesystem::path(d) / "boxcall";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".local/state/boxcall";
  return std::filesystem::temp_directory_path() / "boxcall-state";
}

}  // namespace

std::filesystem::path CrashMarker::default_file(const StreamConfig& config) {
  return state_dir(config) / (config.group_id + ".crash");
}

CrashMarker::CrashMarker(std::filesystem::path file, const TopicNames& topics, const Position* current)
    : file_(std::move(file)), topics_(topics) {
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) throw ConfigError("state dir " + file_.parent_path().string() + ": " + ec.message());
  {
    std::ifstream in(file_);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string topic;
      Position p;
      int sig = 0;
      if (!(fields >> topic >> p.partition >> p.offset >> sig)) continue;
      if (topic == topics.telemetry) {
        p.topic = InputTopic::Telemetry;
      } else if (topic == topics.timing) {
        p.topic = InputTopic::Timing;
      } else {
        continue;  // a topic no longer consumed
      }
      if (poisoned_.insert(p).second) {
        spdlog::warn(
            "boxcall crashed (signal {}) while processing {} partition {} offset {}: that record goes to the "
            "dead-letter topic (processing_crashed) instead of being processed again",
            sig, topic, p.partition, p.offset);
      }
    }
  }
  g_state.fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (g_state.fd < 0) throw ConfigError("cannot write the crash marker " + file_.string());
  fd_ = g_state.fd;
  rewrite();
  g_state.current = current;
  for (std::size_t i = 0; i < kInputTopics; ++i) {
    const std::string& name = topics.input(static_cast<InputTopic>(i));
    std::snprintf(g_state.names[i].data(), g_state.names[i].size(), "%s", name.c_str());
  }
  struct sigaction sa {};
  sa.sa_handler = &on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

CrashMarker::~CrashMarker() {
  for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
  g_state.current = nullptr;
  g_state.fd = -1;
  if (fd_ >= 0) ::close(fd_);
  if (poisoned_.empty()) {
    std::error_code ec;
    std::filesystem::remove(file_, ec);
  }
}

void CrashMarker::rewrite() {
  if (::ftruncate(fd_, 0) != 0) return;
  for (const auto& p : poisoned_) {
    const std::string line =
        topics_.input(p.topic) + " " + std::to_string(p.partition) + " " + std::to_string(p.offset) + " 0\n";
    ssize_t ignored = ::write(fd_, line.data(), line.size());
    (void)ignored;
  }
}

void CrashMarker::committed(const std::map<OffsetTracker::Key, std::int64_t>& positions) {
  bool changed = false;
  for (auto it = poisoned_.begin(); it != poisoned_.end();) {
    auto c = positions.find({it->topic, it->partition});
    if (c != positions.end() && c->second > it->offset) {
      it = poisoned_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  if (changed) rewrite();
}

}  // namespace boxcall::stream
