#include "infer/lap_context.h"

#include <algorithm>
#include <limits>
#include <type_traits>
#include <variant>

#include "features/definitions.h"

namespace boxcall::infer {

TrackStatus track_status_from_code(char code) {
  switch (code) {
    case '1':
      return TrackStatus::Green;
    case '2':
      return TrackStatus::Yellow;
    case '4':
      return TrackStatus::SafetyCar;
    case '5':
      return TrackStatus::Red;
    case '6':
      return TrackStatus::Vsc;
    case '7':
      return TrackStatus::VscEnding;
    default:
      return TrackStatus::Unknown;
  }
}

void CarHistory::on_record(const LapCompleted& record) {
  record_ = record;
  if (record.pit_in_session_ns) pit_in_pending_ = true;
  if (record.pit_out_session_ns) pit_out_pending_ = true;
}

LapContext CarHistory::on_lap(const LapFeatures& f, TrackStatus now) {
  LapContext ctx;
  ctx.lap = f;
  ctx.track_status = now;

  // A new stint (the engine's repaired stint number) restarts the clean-lap list.
  const std::int32_t stint = f.stint.value_or(stint_ == 0 ? 1 : stint_);
  if (!has_stint_) {
    has_stint_ = true;
    stint_ = stint;
  } else if (stint != stint_) {
    if (stint > stint_) pit_stops_ += stint - stint_;
    stint_ = stint;
    stint_candidates_.clear();
  }
  if (f.compound != Compound::Unknown) compounds_mask_ |= 1 << static_cast<int>(f.compound);

  flags_ = LapFlags{};
  flags_.in_lap = pit_in_pending_;
  flags_.out_lap = pit_out_pending_;
  bool green = false;
  if (record_ && record_->lap == f.lap && !record_->track_status.empty()) {
    green = features::green_only(record_->track_status);
  } else {
    green = status_mask_ == (1U << static_cast<unsigned>(TrackStatus::Green));
  }
  const bool candidate = !flags_.in_lap && !flags_.out_lap && green && f.lap > 1 && f.lap_time_s && f.tyre_age;
  if (candidate) stint_candidates_.push_back(CleanLap{f.lap, *f.lap_time_s});

  double fastest = std::numeric_limits<double>::infinity();
  for (const auto& l : stint_candidates_) fastest = std::min(fastest, l.time_s);
  for (const auto& l : stint_candidates_) {
    if (l.time_s <= max_ratio_ * fastest) ctx.recent_clean_laps_s.push_back(l.time_s);
  }
  if (ctx.recent_clean_laps_s.size() > 5) {
    ctx.recent_clean_laps_s.erase(ctx.recent_clean_laps_s.begin(), ctx.recent_clean_laps_s.end() - 5);
  }
  flags_.clean = candidate && *f.lap_time_s <= max_ratio_ * fastest;
  if (!ctx.recent_clean_laps_s.empty()) last_clean_s_ = ctx.recent_clean_laps_s.back();
  ctx.prev_clean_lap_s = last_clean_s_;
  ctx.pit_stops = pit_stops_;
  ctx.compounds_used_mask = compounds_mask_;

  pit_in_pending_ = pit_out_pending_ = false;
  status_mask_ = 1U << static_cast<unsigned>(now);  // the next lap starts under the status of now
  record_.reset();
  return ctx;
}

CarHistory& SessionContexts::car(std::uint16_t number) {
  auto it = cars_.find(number);
  if (it == cars_.end()) it = cars_.emplace(number, CarHistory(max_ratio_)).first;
  return it->second;
}

void SessionContexts::on_timing(const TimingEvent& event) {
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, LapCompleted>) {
          CarHistory& c = car(event.car);
          c.on_record(body);
          // Without status events, the lap record tells the status: its last code.
          if (!status_from_events_ && !body.track_status.empty()) {
            status_ = track_status_from_code(body.track_status.back());
          }
        } else if constexpr (std::is_same_v<T, PitIn>) {
          car(event.car).on_pit_in();
        } else if constexpr (std::is_same_v<T, PitOut>) {
          car(event.car).on_pit_out();
        } else if constexpr (std::is_same_v<T, TrackStatusChange>) {
          status_from_events_ = true;
          status_ = body.status;
          for (auto& [number, c] : cars_) c.on_status(body.status);
        } else if constexpr (std::is_same_v<T, SessionInfo>) {
          if (body.scheduled_laps && *body.scheduled_laps > 0) scheduled_laps_ = *body.scheduled_laps;
        }
      },
      event.body);
}

LapContext SessionContexts::on_lap(const LapFeatures& f) {
  LapContext ctx = car(f.car).on_lap(f, status_);
  ctx.scheduled_laps = scheduled_laps_ > 0 ? scheduled_laps_ : (f.laps_remaining ? *f.laps_remaining + f.lap : 0);

  auto& order = completions_[f.lap];
  const std::pair<TimeNs, std::uint16_t> me{f.session_time_ns, f.car};
  auto pos = order.insert(std::upper_bound(order.begin(), order.end(), me), me);
  if (pos != order.begin()) {
    ctx.car_ahead = std::prev(pos)->second;
    ctx.gap_ahead_s = ns_to_s(f.session_time_ns - std::prev(pos)->first);
  }
  // The car behind: the one that followed this car over the line on the previous lap.
  if (auto prev = completions_.find(f.lap - 1); prev != completions_.end()) {
    const auto& p = prev->second;
    auto it = std::find_if(p.begin(), p.end(), [&](const auto& x) { return x.second == f.car; });
    if (it != p.end() && std::next(it) != p.end()) {
      ctx.car_behind = std::next(it)->second;
      ctx.gap_behind_s = ns_to_s(std::next(it)->first - it->first);
    }
  }
  return ctx;
}

LapFlags SessionContexts::last_flags(std::uint16_t number) const {
  auto it = cars_.find(number);
  return it == cars_.end() ? LapFlags{} : it->second.last_flags();
}

}  // namespace boxcall::infer
