#pragma once
/// A timeline of the live loop (docs/benchmarks.md, "Where the tail comes from"): what the loop
/// thread ran, when, for how long, and what had waited before it ran. One span per unit of loop
/// work (a consumed batch, a partition EOF, a tick, a commit, a flush, a batch of delivery
/// reports ...), never per record, so keeping it costs two clock reads per batch. The runner
/// records into it when RunOptions::timeline is set (bench_e2e --timeline); spans beyond the
/// capacity are counted and dropped.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace boxcall::stream {

enum class LoopWork : std::uint8_t {
  Records,          ///< consumed records processed (count: records; waited: oldest record's age when taken)
  PartitionEof,     ///< a partition EOF event (releases reorder buffers)
  HighWatermarks,   ///< the cached partition ends read from librdkafka
  Tick,             ///< Processor::tick: idle flushes, eviction, gauges, handlers' on_tick
  Commit,           ///< an offset commit (async, or sync before a revoke / at stop)
  Flush,            ///< producer flush (rebalance, stop)
  DeliveryReports,  ///< delivery reports served (count: reports; waited: oldest output's produce->ack time)
  Lag,              ///< consumer lag gauges
  Status,           ///< the periodic status log line
  Rebalance,        ///< a partition assignment or revocation
};
inline constexpr std::size_t kLoopWorkKinds = 10;
std::string_view to_string(LoopWork w);

/// One unit of loop work. Times are wall-clock ns (comparable with a benchmark's send times).
struct LoopSpan {
  std::int64_t start_ns = 0;
  std::int64_t duration_ns = 0;
  std::int64_t waited_ns = 0;  ///< see LoopWork
  std::uint32_t count = 0;     ///< records, reports ... (see LoopWork)
  std::uint32_t outputs = 0;   ///< outputs produced during the span
  LoopWork work = LoopWork::Records;
};

class LoopTimeline {
 public:
  explicit LoopTimeline(std::size_t capacity = 2'000'000) : capacity_(capacity) { spans_.reserve(capacity); }

  static std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  void add(const LoopSpan& s) {
    if (spans_.size() < capacity_) {
      spans_.push_back(s);
    } else {
      ++dropped_;
    }
  }
  [[nodiscard]] const std::vector<LoopSpan>& spans() const { return spans_; }
  [[nodiscard]] std::uint64_t dropped() const { return dropped_; }

  /// Per kind of work: spans, total time, p50/p99/max duration, largest count, as one JSON object.
  [[nodiscard]] std::string summary_json() const;
  /// One JSON line per span ({"t_ns":..,"work":"records","dur_us":..,"count":..,"outputs":..,"waited_us":..}).
  [[nodiscard]] std::string spans_jsonl() const;
  /// What ran in [from_ns, to_ns): time per kind of work overlapping the window (ns) and the
  /// longest waited_ns of the Records and DeliveryReports spans in it.
  struct Window {
    std::int64_t busy_ns[kLoopWorkKinds] = {};
    std::int64_t longest_span_ns = 0;
    LoopWork longest_span = LoopWork::Records;
    std::int64_t input_waited_ns = 0;
    std::int64_t delivery_waited_ns = 0;
    std::uint32_t outputs = 0;
  };
  [[nodiscard]] Window window(std::int64_t from_ns, std::int64_t to_ns) const;

 private:
  std::size_t capacity_;
  std::vector<LoopSpan> spans_;
  std::uint64_t dropped_ = 0;
};

}  // namespace boxcall::stream
