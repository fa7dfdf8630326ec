#pragma once
/// A session-time window over a source: records before `from` are skipped, the
/// source ends at its first record after `to` (sources are in time order).
/// `boxcall replay --from/--to` publishes through it; tests replay the same
/// window offline with it.
#include <memory>
#include <optional>

#include "sources/source.h"

namespace boxcall::sources {

class WindowSource final : public RecordSource {
 public:
  WindowSource(std::unique_ptr<RecordSource> inner, std::optional<TimeNs> from, std::optional<TimeNs> to)
      : inner_(std::move(inner)), from_(from), to_(to) {}
  [[nodiscard]] const std::string& session_id() const override { return inner_->session_id(); }
  [[nodiscard]] std::optional<Input> next() override {
    while (!done_) {
      auto r = inner_->next();
      if (!r) break;
      const TimeNs st = std::visit([](const auto& x) { return x.session_time_ns; }, *r);
      if (to_ && st > *to_) break;
      if (from_ && st < *from_) continue;
      return r;
    }
    done_ = true;
    return std::nullopt;
  }

 private:
  std::unique_ptr<RecordSource> inner_;
  std::optional<TimeNs> from_, to_;
  bool done_ = false;
};

}  // namespace boxcall::sources
