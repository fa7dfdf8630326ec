#include "stream/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace boxcall::stream {

std::string_view to_string(LoopWork w) {
  static constexpr std::array<std::string_view, kLoopWorkKinds> kNames{
      "records",          "partition_eof", "high_watermarks", "tick",     "commit", "flush",
      "delivery_reports", "lag",           "status",          "rebalance"};
  return kNames[static_cast<std::size_t>(w)];
}

std::string LoopTimeline::summary_json() const {
  std::array<std::vector<std::int64_t>, kLoopWorkKinds> durations;
  std::array<std::uint64_t, kLoopWorkKinds> max_count{}, outputs{};
  for (const auto& s : spans_) {
    const auto k = static_cast<std::size_t>(s.work);
    durations[k].push_back(s.duration_ns);
    max_count[k] = std::max<std::uint64_t>(max_count[k], s.count);
    outputs[k] += s.outputs;
  }
  std::string out = "{";
  bool first = true;
  for (std::size_t k = 0; k < kLoopWorkKinds; ++k) {
    auto& v = durations[k];
    if (v.empty()) continue;
    std::sort(v.begin(), v.end());
    std::int64_t total = 0;
    for (auto d : v) total += d;
    auto at = [&](double q) {
      return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
    };
    out += fmt::format(
        "{}\"{}\":{{\"spans\":{},\"total_ms\":{:.3f},\"p50_us\":{:.1f},\"p99_us\":{:.1f},\"max_us\":{:.1f},"
        "\"max_count\":{},\"outputs\":{}}}",
        first ? "" : ",", to_string(static_cast<LoopWork>(k)), v.size(), static_cast<double>(total) / 1e6,
        static_cast<double>(at(0.5)) / 1e3, static_cast<double>(at(0.99)) / 1e3, static_cast<double>(v.back()) / 1e3,
        max_count[k], outputs[k]);
    first = false;
  }
  out += fmt::format("{}\"dropped_spans\":{}}}", first ? "" : ",", dropped_);
  return out;
}

std::string LoopTimeline::spans_jsonl() const {
  std::string out;
  out.reserve(spans_.size() * 96);
  for (const auto& s : spans_) {
    out += fmt::format(
        "{{\"t_ns\":{},\"work\":\"{}\",\"dur_us\":{:.1f},\"count\":{},\"outputs\":{},\"waited_us\":{:.1f}}}\n",
        s.start_ns, to_string(s.work), static_cast<double>(s.duration_ns) / 1e3, s.count, s.outputs,
        static_cast<double>(s.waited_ns) / 1e3);
  }
  return out;
}

LoopTimeline::Window LoopTimeline::window(std::int64_t from_ns, std::int64_t to_ns) const {
  Window w;
  // Spans are recorded in start order; a span that started before the window may reach into it.
  auto it = std::lower_bound(spans_.begin(), spans_.end(), from_ns - 1'000'000'000,
                             [](const LoopSpan& s, std::int64_t t) { return s.start_ns < t; });
  for (; it != spans_.end() && it->start_ns < to_ns; ++it) {
    const std::int64_t b = std::max(from_ns, it->start_ns), e = std::min(to_ns, it->start_ns + it->duration_ns);
    if (e <= b) continue;
    w.busy_ns[static_cast<std::size_t>(it->work)] += e - b;
    if (it->duration_ns > w.longest_span_ns) {
      w.longest_span_ns = it->duration_ns;
      w.longest_span = it->work;
    }
    w.outputs += it->outputs;
    if (it->work == LoopWork::Records) w.input_waited_ns = std::max(w.input_waited_ns, it->waited_ns);
    if (it->work == LoopWork::DeliveryReports) w.delivery_waited_ns = std::max(w.delivery_waited_ns, it->waited_ns);
  }
  return w;
}

}  // namespace boxcall::stream
