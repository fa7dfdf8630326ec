#include "serve/terminal_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace boxcall::serve {
namespace {

std::string lap_time(double s) {
  const int minutes = static_cast<int>(s / 60);
  return fmt::format("{}:{:06.3f}", minutes, s - minutes * 60);
}

const char* paint(bool color, const char* code) { return color ? code : ""; }

}  // namespace

TerminalSummary::TerminalSummary(LiveView& view, std::FILE* out, SummaryOptions options)
    : view_(view), out_(out), options_(options) {
  since_ = view_.last_seq();
  listener_ = view_.on_change([this] {
    {
      std::lock_guard lock(mutex_);
      changed_ = true;
    }
    wake_.notify_one();
  });
  thread_ = std::thread([this] { run(); });
}

TerminalSummary::~TerminalSummary() {
  view_.remove_listener(listener_);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

std::string TerminalSummary::lap_line(const SessionState& s, std::int32_t lap, const SummaryOptions& o) {
  std::vector<const CarState*> cars;
  for (const auto& [n, c] : s.cars) {
    if (c.last_lap && c.last_lap->position) cars.push_back(&c);
  }
  std::sort(cars.begin(), cars.end(),
            [](const CarState* a, const CarState* b) { return *a->last_lap->position < *b->last_lap->position; });
  std::string line = fmt::format("{}{}{}  lap {}", paint(o.color, "\033[1m"), s.id, paint(o.color, "\033[0m"), lap);
  if (s.scheduled_laps) line += fmt::format("/{}", *s.scheduled_laps);
  line += " ";
  for (std::size_t i = 0; i < cars.size() && i < o.tower_cars; ++i) {
    const auto& c = *cars[i];
    const auto& f = *c.last_lap;
    line += fmt::format(" {} {}", *f.position, c.driver.empty() ? std::to_string(c.car) : c.driver.str());
    if (i == 0) {
      if (f.lap_time_s) line += " " + lap_time(*f.lap_time_s);
      if (f.compound != Compound::Unknown) {
        line += fmt::format(" {}{}", to_string(f.compound).substr(0, 1), f.tyre_age ? std::to_string(*f.tyre_age) : "");
      }
    } else if (f.gap_to_leader_s) {
      line += fmt::format(" +{:.1f}", *f.gap_to_leader_s);
    }
  }
  // Who is about to box: the best lap of the window is one of the next two, or p(pit in 3) is high.
  std::vector<std::string> boxing;
  for (const auto* c : cars) {
    if (!c->prediction) continue;
    const auto& p = *c->prediction;
    const bool best_now = p.pit_window_best && *p.pit_window_best > p.lap && *p.pit_window_best <= p.lap + 2;
    const bool likely = p.p_pit_3 && *p.p_pit_3 >= 0.5;
    if (!best_now && !likely) continue;
    std::string b = c->driver.str();
    if (p.p_pit_3) b += fmt::format(" {:.0f}%", *p.p_pit_3 * 100);
    if (p.pit_window_start && p.pit_window_end) b += fmt::format(" L{}-{}", *p.pit_window_start, *p.pit_window_end);
    if (p.next_compound != Compound::Unknown) b += fmt::format(" ->{}", to_string(p.next_compound).substr(0, 1));
    boxing.push_back(std::move(b));
  }
  if (!boxing.empty()) {
    line += fmt::format("  {}| box soon:{} ", paint(o.color, "\033[33m"), paint(o.color, "\033[0m"));
    for (std::size_t i = 0; i < boxing.size() && i < 4; ++i) line += (i ? ", " : "") + boxing[i];
    if (boxing.size() > 4) line += fmt::format(" (+{})", boxing.size() - 4);
  }
  return line;
}

void TerminalSummary::run() {
  bool stopping = false;
  while (!stopping) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(500), [&] { return changed_ || stop_; });
      stopping = stop_;  // one last pass: what happened before the stop is still printed
      changed_ = false;
    }
    // Alerts and lap progress from the events since the last look.
    while (true) {
      auto batch = view_.events_after("", since_, 5000);
      since_ = batch.next_since;
      for (const auto& e : batch.events) {
        if (e.type == "alert") {
          auto a = nlohmann::json::parse(e.data, nullptr, false);
          if (a.is_discarded()) continue;
          const std::string severity = a.value("severity", "");
          const bool active = a.value("active", true);
          if (severity == "INFO" || (!active && severity != "CRITICAL")) continue;
          const char* c = severity == "CRITICAL" ? "\033[31;1m" : "\033[33m";
          std::fprintf(out_, "%s%s  %s%s %s%s: %s\n", paint(options_.color, "\033[1m"), e.session.c_str(),
                       paint(options_.color, c), active ? severity.c_str() : "cleared", a.value("kind", "").c_str(),
                       paint(options_.color, "\033[0m"), a.value("message", "").c_str());
        } else if (e.type == "session") {
          auto s = nlohmann::json::parse(e.data, nullptr, false);
          if (s.is_discarded()) continue;
          const int lap = s.value("leader_lap", 0);
          auto& p = pending_[e.session];
          if (lap > p.lap && lap > printed_[e.session]) p = PendingLap{lap, std::chrono::steady_clock::now()};
        }
      }
      if (batch.events.size() < 5000) break;
    }
    print_due(stopping);
    std::fflush(out_);
  }
}

void TerminalSummary::print_due(bool final) {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    auto s = view_.session(it->first);
    if (!s || it->second.lap <= printed_[it->first]) {
      it = pending_.erase(it);
      continue;
    }
    const auto lap = it->second.lap;
    std::size_t running = 0, done = 0;
    for (const auto& [n, c] : s->cars) {
      if (!c.last_lap || (c.snapshot && c.snapshot->retired)) continue;
      ++running;
      if (c.last_lap->lap >= lap) ++done;
    }
    if (final || done >= running || now - it->second.since >= options_.lap_wait) {
      std::fprintf(out_, "%s\n", lap_line(*s, lap, options_).c_str());
      printed_[it->first] = lap;
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace boxcall::serve
