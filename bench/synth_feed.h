#pragma once
// Deterministic encoded input for the benchmarks: N synthetic sessions (20
// cars each, src/sources/synth.h) merged in event-time order, each record
// encoded into its wire form (a FlatBuffers Envelope) exactly as boxcall's
// own publishers write it. Same config -> the very same byte sequence.
#include <cstdint>
#include <queue>
#include <string>
#include <vector>

#include "sources/synth.h"
#include "stream/codec.h"
#include "stream/metrics.h"

namespace boxcall::bench {

/// One encoded record. `value` views the feed's codec builder: valid until the next `next()`.
struct EncodedRecord {
  std::size_t session_index = 0;
  const std::string* session = nullptr;
  stream::InputTopic topic = stream::InputTopic::Telemetry;
  const Input* input = nullptr;
  std::span<const std::uint8_t> value;
};

class SynthFeed {
 public:
  /// `laps` >= 5 (the synthetic race's minimum); `seed` picks the sessions.
  SynthFeed(int sessions, int laps, std::uint64_t seed = 1, std::string prefix = "bench") {
    sources::SynthConfig base;
    base.session_id = std::move(prefix);
    base.seed = seed;
    base.laps = laps;
    for (auto& config : sources::make_synth_sessions(sessions, base)) races_.emplace_back(std::move(config));
    current_.resize(races_.size());
    for (std::size_t i = 0; i < races_.size(); ++i) advance(i);
  }

  /// False when every session is exhausted.
  bool next(EncodedRecord& out) {
    if (last_ != kNone) advance(last_);  // the previous record is no longer viewed
    if (heads_.empty()) return false;
    const Head h = heads_.top();
    heads_.pop();
    last_ = h.index;
    const Input& in = current_[h.index];
    out.session_index = h.index;
    out.session = &races_[h.index].session_id();
    out.topic =
        std::holds_alternative<TelemetrySample>(in) ? stream::InputTopic::Telemetry : stream::InputTopic::Timing;
    out.input = &in;
    out.value = codec_.encode(*out.session, in);
    return true;
  }

  [[nodiscard]] std::uint64_t estimated_records() const {
    std::uint64_t n = 0;
    for (const auto& r : races_) n += r.estimated_records();
    return n;
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  struct Head {
    TimeNs t;
    std::size_t index;
    bool operator>(const Head& o) const { return t != o.t ? t > o.t : index > o.index; }
  };
  void advance(std::size_t i) {
    if (races_[i].next(current_[i])) heads_.push({event_time(current_[i]), i});
  }

  std::vector<sources::SynthRace> races_;
  std::vector<Input> current_;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads_;
  std::size_t last_ = kNone;
  stream::Codec codec_;
};

}  // namespace boxcall::bench
