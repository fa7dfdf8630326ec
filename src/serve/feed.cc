#include "serve/feed.h"

#include <spdlog/spdlog.h>

#include <set>

namespace boxcall::serve {
namespace {
// boxcall's own alert kinds (infer/alerts.h): a bounded label set; anything else counts as "other".
const std::set<std::string, std::less<>> kKinds{"pit_window_open", "tyre_cliff",     "cheap_pit_stop", "sensor_dropout",
                                                "stuck_sensor",    "throttle_error", "feed_stall",     "other"};
}  // namespace

LiveFeed::LiveFeed(LiveView& view, prometheus::Registry* registry, std::size_t max_pending_bytes)
    : view_(view), max_pending_bytes_(max_pending_bytes) {
  if (registry) {
    outputs_metric_ = &prometheus::BuildCounter()
                           .Name("boxcall_live_view_outputs_total")
                           .Help("Acknowledged outputs applied to the live view (page, API, terminal summary)")
                           .Register(*registry)
                           .Add({});
    dropped_metric_ = &prometheus::BuildCounter()
                           .Name("boxcall_live_view_dropped_total")
                           .Help("Outputs the live view dropped because its worker fell behind (processing unaffected)")
                           .Register(*registry)
                           .Add({});
    alerts_metric_ = &prometheus::BuildCounter()
                          .Name("boxcall_alerts_raised_total")
                          .Help("Alerts raised (acknowledged on the alerts topic), per kind")
                          .Register(*registry);
    for (const auto& kind : kKinds) alerts_metric_->Add({{"kind", kind}});  // every series exists from 0
  }
  worker_ = std::thread([this] { work(); });
}

LiveFeed::~LiveFeed() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  worker_.join();
}

void LiveFeed::push(std::span<const std::byte> value) {
  {
    std::lock_guard lock(mutex_);
    if (pending_.bytes.size() + value.size() > max_pending_bytes_) {
      ++dropped_;
      if (dropped_metric_) dropped_metric_->Increment();
      return;
    }
    pending_.spans.emplace_back(pending_.bytes.size(), value.size());
    pending_.bytes.insert(pending_.bytes.end(), value.begin(), value.end());
    ++pushed_;
  }
  wake_.notify_one();
}

void LiveFeed::flush() {
  std::unique_lock lock(mutex_);
  const auto target = pushed_;
  idle_.wait(lock, [&] { return applied_ >= target || stop_; });
}

void LiveFeed::work() {
  Pending batch;
  std::vector<SessionOutput> decoded;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || !pending_.spans.empty(); });
      if (stop_ && pending_.spans.empty()) return;
      batch.bytes.clear();
      batch.spans.clear();
      std::swap(batch, pending_);
    }
    decoded.clear();
    for (const auto& [offset, size] : batch.spans) {
      auto out = decoder_.decode(std::span<const std::byte>(batch.bytes.data() + offset, size));
      if (out) {
        if (const auto* a = std::get_if<Alert>(&out.value().output); a && a->active && alerts_metric_) {
          alerts_metric_->Add({{"kind", kKinds.contains(a->kind) ? a->kind : std::string("other")}}).Increment();
        }
        decoded.push_back(std::move(out.value()));
      } else if (undecodable_++ == 0) {
        spdlog::warn("live view: an output does not decode ({}); further ones are counted only", out.error().detail);
      }
    }
    view_.apply(decoded);
    if (outputs_metric_) outputs_metric_->Increment(static_cast<double>(decoded.size()));
    {
      std::lock_guard lock(mutex_);
      applied_ += batch.spans.size();
    }
    idle_.notify_all();
  }
}

}  // namespace boxcall::serve
