#include "serve/live_view.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace boxcall::serve {
namespace {

using nlohmann::json;

json num(const std::optional<double>& v, double scale = 1000.0) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return std::round(*v * scale) / scale;
}
template <typename T>
json opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}
std::int64_t ms_since_epoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

json alert_json(const Alert& a) {
  return json{{"car", a.car},        {"driver", a.driver.str()},
              {"kind", a.kind},      {"severity", std::string(to_string(a.severity))},
              {"active", a.active},  {"event_time_ms", a.event_time_ns / 1'000'000},
              {"message", a.message}};
}

json lap_point_json(const LapPoint& p) {
  return json{{"lap", p.lap},
              {"time_s", num(p.lap_time_s)},
              {"stint", opt(p.stint)},
              {"compound", std::string(to_string(p.compound))},
              {"tyre_age", opt(p.tyre_age)},
              {"predicted_s", num(p.predicted_s)}};
}

json car_json(const SessionState& s, const CarState& c, bool with_laps) {
  const auto* f = c.last_lap ? &*c.last_lap : nullptr;
  const auto* p = c.prediction ? &*c.prediction : nullptr;
  const auto* snap = c.snapshot ? &*c.snapshot : nullptr;
  json row{{"car", c.car}, {"driver", c.driver.str()}};
  row["position"] = f ? opt(f->position) : json(nullptr);
  row["lap"] = f ? json(f->lap) : json(nullptr);
  row["lap_in_progress"] = snap ? json(snap->lap) : json(nullptr);
  row["gap_to_leader_s"] = f ? num(f->gap_to_leader_s) : json(nullptr);
  row["interval_s"] = f ? num(f->interval_ahead_s) : json(nullptr);
  row["compound"] = f ? json(std::string(to_string(f->compound))) : json(nullptr);
  row["tyre_age"] = f ? opt(f->tyre_age) : json(nullptr);
  row["stint"] = f ? opt(f->stint) : json(nullptr);
  row["deg_slope_s_per_lap"] = f ? num(f->deg_slope_s_per_lap) : json(nullptr);
  row["last_lap_s"] = f ? num(f->lap_time_s) : json(nullptr);
  row["prediction_lap"] = p ? json(p->lap) : json(nullptr);
  row["pred_next_lap_s"] = p ? num(p->pred_next_lap_s) : json(nullptr);
  row["p_pit_3"] = p ? num(p->p_pit_3) : json(nullptr);
  if (p && (p->pit_window_start || p->pit_window_end)) {
    row["pit_window"] =
        json{{"start", opt(p->pit_window_start)}, {"best", opt(p->pit_window_best)}, {"end", opt(p->pit_window_end)}};
  } else {
    row["pit_window"] = nullptr;
  }
  row["next_compound"] =
      p && p->next_compound != Compound::Unknown ? json(std::string(to_string(p->next_compound))) : json(nullptr);
  row["mode"] = p ? json(std::string(to_string(p->mode))) : json(nullptr);
  row["mode_reason"] = p ? json(p->mode_reason) : json(nullptr);
  row["undercut_threat"] = p ? num(p->undercut_threat) : json(nullptr);
  row["undercut_chance"] = p ? num(p->undercut_chance) : json(nullptr);
  row["pit_now_delta_s"] = p ? num(p->pit_now_delta_s) : json(nullptr);
  row["confidence"] = p ? num(p->confidence) : json(nullptr);
  row["model_version"] = p ? json(p->model_version) : json(nullptr);
  row["retired"] = snap ? snap->retired : false;
  row["last_sample_age_s"] = snap ? num(snap->last_sample_age_s, 10) : json(nullptr);
  json alerts = json::array();
  for (const auto& [kind, a] : c.open_alerts) alerts.push_back(alert_json(a));
  row["alerts"] = std::move(alerts);
  if (with_laps) {
    json laps = json::array();
    for (const auto& lp : c.laps) laps.push_back(lap_point_json(lp));
    row["laps"] = std::move(laps);
  }
  (void)s;
  return row;
}

/// Tower order: classified position, then cars without one by number.
std::vector<const CarState*> tower_order(const SessionState& s) {
  std::vector<const CarState*> cars;
  for (const auto& [n, c] : s.cars) cars.push_back(&c);
  auto pos = [](const CarState* c) {
    return c->last_lap && c->last_lap->position ? *c->last_lap->position : 1'000'000;
  };
  std::stable_sort(cars.begin(), cars.end(), [&](const CarState* a, const CarState* b) {
    if (pos(a) != pos(b)) return pos(a) < pos(b);
    return a->car < b->car;
  });
  return cars;
}

json summary_json(const SessionState& s) {
  std::size_t open = s.open_session_alerts.size();
  for (const auto& [n, c] : s.cars) open += c.open_alerts.size();
  auto order = tower_order(s);
  json leader = nullptr;
  if (!order.empty() && order.front()->last_lap && order.front()->last_lap->position) {
    leader = order.front()->driver.str();
  }
  return json{{"id", s.id},
              {"cars", s.cars.size()},
              {"leader", leader},
              {"leader_lap", s.leader_lap},
              {"scheduled_laps", opt(s.scheduled_laps)},
              {"open_alerts", open},
              {"model_version", s.model_version.empty() ? json(nullptr) : json(s.model_version)},
              {"outputs", s.outputs},
              {"updated_ms", ms_since_epoch(s.updated)}};
}

}  // namespace

std::string car_row_json(const SessionState& s, const CarState& c, bool with_laps) {
  return car_json(s, c, with_laps).dump();
}

LiveView::LiveView(LiveViewLimits limits) : limits_(limits) {}

std::size_t LiveView::on_change(std::function<void()> listener) {
  std::lock_guard lock(mutex_);
  listeners_.emplace(++next_listener_, std::move(listener));
  return next_listener_;
}

void LiveView::remove_listener(std::size_t token) {
  std::lock_guard lock(mutex_);
  listeners_.erase(token);
}

SessionState& LiveView::session_for(const std::string& id) {
  auto it = sessions_.find(id);
  if (it != sessions_.end()) return it->second;
  if (sessions_.size() >= limits_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(),
                                   [](const auto& a, const auto& b) { return a.second.updated < b.second.updated; });
    sessions_.erase(oldest);
  }
  auto& s = sessions_[id];
  s.id = id;
  return s;
}

void LiveView::push_event(const std::string& session, std::string type, std::string data) {
  auto bytes = [](const LiveEvent& e) { return sizeof(LiveEvent) + e.session.size() + e.type.size() + e.data.size(); };
  ring_.push_back(LiveEvent{++seq_, session, std::move(type), std::move(data)});
  ring_bytes_ += bytes(ring_.back());
  while (ring_.size() > 1 && (ring_.size() > limits_.event_ring || ring_bytes_ > limits_.event_ring_bytes)) {
    ring_bytes_ -= bytes(ring_.front());
    ring_.pop_front();
  }
}

void LiveView::apply(std::span<const SessionOutput> batch) {
  std::vector<std::function<void()>> listeners;  // called outside the lock
  {
    std::lock_guard lock(mutex_);
    std::set<std::pair<std::string, std::uint16_t>> dirty_cars;
    std::set<std::string> dirty_sessions;
    const auto now = std::chrono::system_clock::now();
    for (const auto& out : batch) {
      auto& s = session_for(out.session);
      s.updated = now;
      ++s.outputs;
      std::visit(
          [&](const auto& o) {
            using T = std::decay_t<decltype(o)>;
            s.last_event_ns = std::max(s.last_event_ns, o.event_time_ns);
            if constexpr (std::is_same_v<T, Alert>) {
              s.alert_feed.push_back(o);
              while (s.alert_feed.size() > limits_.alert_feed) s.alert_feed.pop_front();
              auto& open = o.car == 0 ? s.open_session_alerts : s.cars[o.car].open_alerts;
              if (o.active)
                open[o.kind] = o;
              else
                open.erase(o.kind);
              if (o.car != 0) {
                auto& c = s.cars[o.car];
                c.car = o.car;
                if (c.driver.empty()) c.driver = o.driver;
                dirty_cars.emplace(s.id, o.car);
              }
              dirty_sessions.insert(s.id);
              push_event(s.id, "alert", alert_json(o).dump());
            } else {
              auto& c = s.cars[o.car];
              c.car = o.car;
              if (!o.driver.empty()) c.driver = o.driver;
              if constexpr (std::is_same_v<T, LapFeatures>) {
                if (!c.last_lap || o.lap >= c.last_lap->lap) c.last_lap = o;
                if (o.lap > s.leader_lap) {
                  s.leader_lap = o.lap;
                  dirty_sessions.insert(s.id);
                }
                if (o.laps_remaining) s.scheduled_laps = o.lap + *o.laps_remaining;
                LapPoint p{o.lap, o.lap_time_s, o.stint, o.compound, o.tyre_age, std::nullopt};
                if (auto it = c.predicted.find(o.lap); it != c.predicted.end()) p.predicted_s = it->second;
                auto pos =
                    std::find_if(c.laps.begin(), c.laps.end(), [&](const LapPoint& q) { return q.lap >= o.lap; });
                if (pos != c.laps.end() && pos->lap == o.lap)
                  *pos = p;
                else
                  c.laps.insert(pos, p);
                while (c.laps.size() > limits_.laps_per_car) c.laps.pop_front();
                push_event(s.id, "lap", json{{"car", o.car}, {"point", lap_point_json(p)}}.dump());
                dirty_cars.emplace(s.id, o.car);
              } else if constexpr (std::is_same_v<T, StrategyPrediction>) {
                if (!c.prediction || o.lap >= c.prediction->lap) c.prediction = o;
                if (!o.model_version.empty() && s.model_version != o.model_version) {
                  s.model_version = o.model_version;
                  dirty_sessions.insert(s.id);
                }
                if (o.pred_next_lap_s) {
                  c.predicted[o.lap + 1] = *o.pred_next_lap_s;
                  while (c.predicted.size() > limits_.laps_per_car) c.predicted.erase(c.predicted.begin());
                  for (auto& q : c.laps) {
                    if (q.lap == o.lap + 1 && !q.predicted_s) {
                      q.predicted_s = o.pred_next_lap_s;
                      push_event(s.id, "lap", json{{"car", o.car}, {"point", lap_point_json(q)}}.dump());
                    }
                  }
                }
                dirty_cars.emplace(s.id, o.car);
              } else {
                static_assert(std::is_same_v<T, FeatureSnapshot>);
                // Snapshots come every second per car: only a new lap or a retirement is news.
                const bool news = !c.snapshot || c.snapshot->lap != o.lap || c.snapshot->retired != o.retired;
                c.snapshot = o;
                if (news) dirty_cars.emplace(s.id, o.car);
              }
            }
          },
          out.output);
    }
    for (const auto& [id, car] : dirty_cars) {
      auto it = sessions_.find(id);
      if (it == sessions_.end()) continue;
      push_event(id, "car", car_json(it->second, it->second.cars.at(car), false).dump());
    }
    for (const auto& id : dirty_sessions) {
      auto it = sessions_.find(id);
      if (it != sessions_.end()) push_event(id, "session", summary_json(it->second).dump());
    }
    for (const auto& [token, l] : listeners_) listeners.push_back(l);
  }
  for (const auto& l : listeners) l();
}

std::string LiveView::sessions_json() const {
  std::lock_guard lock(mutex_);
  std::vector<const SessionState*> order;
  for (const auto& [id, s] : sessions_) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    if (a->updated != b->updated) return a->updated > b->updated;
    return a->id < b->id;
  });
  json list = json::array();
  for (const auto* s : order) list.push_back(summary_json(*s));
  return json{{"sessions", std::move(list)}, {"seq", seq_}}.dump();
}

std::optional<std::string> LiveView::session_json(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  const auto& s = it->second;
  json cars = json::array();
  for (const auto* c : tower_order(s)) cars.push_back(car_json(s, *c, true));
  json session_alerts = json::array();
  for (const auto& [kind, a] : s.open_session_alerts) session_alerts.push_back(alert_json(a));
  json feed = json::array();
  for (auto a = s.alert_feed.rbegin(); a != s.alert_feed.rend(); ++a) feed.push_back(alert_json(*a));
  json out = summary_json(s);
  out["seq"] = seq_;
  out["session_alerts"] = std::move(session_alerts);
  out["alert_feed"] = std::move(feed);
  out["tower"] = std::move(cars);
  return out.dump();
}

bool LiveView::has_session(std::string_view id) const {
  std::lock_guard lock(mutex_);
  return sessions_.find(id) != sessions_.end();
}

std::optional<SessionState> LiveView::session(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> LiveView::session_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  return ids;
}

std::set<std::string> LiveView::model_versions() const {
  std::lock_guard lock(mutex_);
  std::set<std::string> out;
  for (const auto& [id, s] : sessions_) {
    if (!s.model_version.empty()) out.insert(s.model_version);
  }
  return out;
}

std::uint64_t LiveView::last_seq() const {
  std::lock_guard lock(mutex_);
  return seq_;
}

LiveView::EventsAfter LiveView::events_after(std::string_view session, std::uint64_t since, std::size_t max) const {
  std::lock_guard lock(mutex_);
  EventsAfter out;
  out.next_since = since;
  if (since > seq_) {  // a cursor from an earlier process: start again
    out.gap = true;
    out.next_since = seq_;
    return out;
  }
  if (ring_.empty() || since == seq_) return out;
  const std::uint64_t first = ring_.front().seq;
  if (since + 1 < first) {
    out.gap = true;
    out.next_since = seq_;
    return out;
  }
  for (std::size_t i = since + 1 - first; i < ring_.size(); ++i) {
    const auto& e = ring_[i];
    out.next_since = e.seq;
    if (!session.empty() && e.session != session) continue;
    out.events.push_back(e);
    if (out.events.size() >= max) break;
  }
  return out;
}

}  // namespace boxcall::serve
