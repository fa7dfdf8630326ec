#pragma once
// Progress and summary lines on stderr for the publishing commands (replay,
// synth): a redrawn bar on a terminal, a line every few seconds otherwise
// (logs, CI), and one closing summary line.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "replay/source_publisher.h"

namespace boxcall::app {

inline std::string hms(double seconds) {
  const auto s = static_cast<long long>(seconds < 0 ? 0 : seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

enum class ProgressMode { Auto, Bar, Lines, None };

inline ProgressMode parse_progress_mode(const std::string& s) {
  if (s == "bar") return ProgressMode::Bar;
  if (s == "lines") return ProgressMode::Lines;
  if (s == "none") return ProgressMode::None;
  return ProgressMode::Auto;
}

/// Installs a progress printer on `options`. `total_records` / `total_event_ns`,
/// when known, turn the status into a bar with a percentage.
inline void install_progress(replay::PublishOptions& options, ProgressMode mode, const std::string& label,
                             std::optional<std::uint64_t> total_records, std::optional<TimeNs> total_event_ns) {
  if (mode == ProgressMode::None) return;
  const bool tty = mode == ProgressMode::Bar || (mode == ProgressMode::Auto && isatty(STDERR_FILENO) != 0);
  options.progress_interval = tty ? std::chrono::milliseconds(200) : std::chrono::milliseconds(5000);
  options.on_progress = [tty, label, total_records, total_event_ns](const replay::PublishProgress& p) {
    const double rate = p.wall_seconds > 0 ? static_cast<double>(p.records) / p.wall_seconds : 0;
    std::optional<double> frac;
    if (total_records && *total_records > 0)
      frac = static_cast<double>(p.records) / static_cast<double>(*total_records);
    else if (total_event_ns && *total_event_ns > 0)
      frac = static_cast<double>(p.event_elapsed_ns) / static_cast<double>(*total_event_ns);
    if (frac && *frac > 1) frac = 1;
    char status[200];
    std::snprintf(status, sizeof status, "%llu records  %.0f rec/s  event %s  wall %s",
                  static_cast<unsigned long long>(p.records), rate, hms(ns_to_s(p.event_elapsed_ns)).c_str(),
                  hms(p.wall_seconds).c_str());
    if (tty) {
      std::string bar;
      if (frac) {
        const int width = 30;
        const int filled = static_cast<int>(*frac * width);
        bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
              std::string(static_cast<std::size_t>(width - filled), ' ') + "] ";
        char pct[16];
        std::snprintf(pct, sizeof pct, "%5.1f%% ", *frac * 100);
        bar += pct;
      }
      std::fprintf(stderr, "\r\033[K%s: %s%s", label.c_str(), bar.c_str(), status);
    } else {
      std::fprintf(stderr, "%s: %s%s\n", label.c_str(),
                   frac ? (std::to_string(static_cast<int>(*frac * 100)) + "%  ").c_str() : "", status);
    }
    std::fflush(stderr);
  };
}

/// The closing summary line.
inline void print_summary(const std::string& label, const replay::PublishStats& s, bool tty_bar) {
  if (tty_bar) std::fprintf(stderr, "\n");
  const double span = ns_to_s(s.event_span_ns);
  std::fprintf(stderr,
               "%s: %llu records (%llu telemetry, %llu timing, %llu dead-letter, %llu other), %.1f MB in %.2f s = "
               "%.0f rec/s; event span %s (%.1fx real time); %llu failed\n",
               label.c_str(), static_cast<unsigned long long>(s.records()),
               static_cast<unsigned long long>(s.telemetry), static_cast<unsigned long long>(s.timing),
               static_cast<unsigned long long>(s.dead_letter), static_cast<unsigned long long>(s.other),
               static_cast<double>(s.bytes) / 1e6, s.seconds, s.rate(), hms(span).c_str(),
               s.seconds > 0 ? span / s.seconds : 0.0, static_cast<unsigned long long>(s.failed));
}

inline bool progress_is_tty(ProgressMode mode) {
  return mode == ProgressMode::Bar || (mode == ProgressMode::Auto && isatty(STDERR_FILENO) != 0);
}

}  // namespace boxcall::app
