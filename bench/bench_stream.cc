// Stream-layer micro benchmarks: decode one record (FlatBuffers, JSON) and
// the processor's whole per-record path (decode, validate, order, per-car
// state update, snapshot/lap outputs encoded) with an in-memory Publisher.
// Inputs: the deterministic synthetic race (bench/synth_feed.h), pre-encoded
// in chunks so that generation is outside the timed region.
//
//   cmake --build build-bench --target bench_stream && build-bench/bench/bench_stream
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "base/clock.h"
#include "memory_publisher.h"
#include "synth_feed.h"

namespace {
using namespace boxcall;

/// The bytes of a chunk, reference-counted like librdkafka's fetch buffers: records the
/// processor holds (RecordRef::hold) keep them alive after the chunk moved on.
struct ChunkBytes {
  std::vector<std::uint8_t> data;
  std::size_t holds = 0;
  bool retired = false;
  static stream::HeldRecord hold(void* context) {
    auto* b = static_cast<ChunkBytes*>(context);
    ++b->holds;
    return {b, [](void* p) {
              auto* bytes = static_cast<ChunkBytes*>(p);
              if (--bytes->holds == 0 && bytes->retired) delete bytes;
            }};
  }
};

/// A chunk of encoded records, owned (the feed's spans are copied out).
struct Chunk {
  Chunk() = default;
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  ~Chunk() { retire(); }
  ChunkBytes* storage = new ChunkBytes;
  struct Rec {
    std::size_t begin, size, session;
    stream::InputTopic topic;
  };
  std::vector<Rec> recs;
  std::vector<std::string> sessions;
  std::size_t samples = 0;

  /// Refills from `feed`; false when the feed is exhausted before anything was read.
  void retire() {
    if (storage->holds == 0) {
      delete storage;
    } else {
      storage->retired = true;  // deleted by its last hold
    }
    storage = nullptr;
  }
  bool fill(bench::SynthFeed& feed, std::size_t n) {
    if (storage->holds > 0) {
      retire();
      storage = new ChunkBytes;
    }
    std::vector<std::uint8_t>& bytes = storage->data;
    bytes.clear();
    recs.clear();
    samples = 0;
    bench::EncodedRecord r;
    while (recs.size() < n && feed.next(r)) {
      if (r.session_index >= sessions.size()) sessions.resize(r.session_index + 1);
      if (sessions[r.session_index].empty()) sessions[r.session_index] = *r.session;
      recs.push_back({bytes.size(), r.value.size(), r.session_index, r.topic});
      bytes.insert(bytes.end(), r.value.begin(), r.value.end());
      if (r.topic == stream::InputTopic::Telemetry) ++samples;
    }
    return !recs.empty();
  }
  [[nodiscard]] std::span<const std::uint8_t> value(const Rec& r) const {
    return {storage->data.data() + r.begin, r.size};
  }
};

std::string session_prefix(int round) {
  std::string p = "p";
  p += std::to_string(round);  // (not "p" + ...: GCC 12's -Wrestrict false positive)
  return p;
}

/// 100,000 records of the middle of a race (laps running, every record type present).
const Chunk& decode_corpus() {
  static const Chunk* chunk = [] {
    bench::SynthFeed feed(1, 57, 7);
    auto* c = new Chunk;          // (never freed: lives as long as the benchmark)
    (void)c->fill(feed, 50'000);  // skip the grid and lap 1
    (void)c->fill(feed, 100'000);
    return c;
  }();
  return *chunk;
}

void BM_DecodeFlatBuffers(benchmark::State& state) {
  const Chunk& c = decode_corpus();
  stream::Codec codec;
  std::size_t i = 0;
  std::uint64_t errors = 0;
  for (auto _ : state) {
    auto decoded = codec.decode(stream::as_bytes(c.value(c.recs[i])));
    errors += !decoded.ok();
    benchmark::DoNotOptimize(decoded);
    if (++i == c.recs.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_record"] = static_cast<double>(c.storage->data.size()) / static_cast<double>(c.recs.size());
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_DecodeFlatBuffers);

void BM_DecodeJson(benchmark::State& state) {
  const Chunk& c = decode_corpus();
  stream::Codec codec;
  std::vector<std::string> json;
  std::size_t total = 0;
  for (std::size_t k = 0; k < 20'000; ++k) {
    json.push_back(codec.to_json(stream::as_bytes(c.value(c.recs[k]))).value());
    total += json.back().size();
  }
  std::size_t i = 0;
  std::uint64_t errors = 0;
  for (auto _ : state) {
    auto decoded = codec.decode(stream::as_bytes(std::string_view(json[i])));
    errors += !decoded.ok();
    benchmark::DoNotOptimize(decoded);
    if (++i == json.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_record"] = static_cast<double>(total) / static_cast<double>(json.size());
  state.counters["errors"] = static_cast<double>(errors);
}
BENCHMARK(BM_DecodeJson);

// Rendering an output in its topic's encoding (Codec::render, docs/wire-contract.md): FlatBuffers
// hands the envelope over after verifying it, JSON writes its text form. Outputs: the features
// topic's most frequent record (a per-car snapshot) and a strategy prediction, all fields set.
void BM_RenderOutput(benchmark::State& state) {
  const auto encoding = state.range(0) != 0 ? stream::OutputEncoding::Json : stream::OutputEncoding::FlatBuffers;
  stream::Codec codec;
  FeatureSnapshot snap;
  snap.car = 44;
  snap.driver = DriverCode("HAM");
  snap.event_time_ns = 1'678'029'900'123'456'789;
  snap.lap = 23;
  snap.last_sample_age_s = 0.21;
  snap.samples_per_s = 4.1;
  snap.w5_mean_speed = snap.w30_mean_speed = 212.4;
  snap.w5_max_speed = snap.w30_max_speed = 318.0;
  snap.w5_mean_throttle = snap.w30_mean_throttle = 71.2;
  snap.w5_brake_frac = snap.w30_brake_frac = 0.18;
  StrategyPrediction pred;
  pred.car = 44;
  pred.driver = DriverCode("HAM");
  pred.lap = 23;
  pred.event_time_ns = 1'678'029'900'123'456'789;
  pred.model_version = "lap_time@ebb7085d+pit_3@9b6868af";
  pred.p_pit_3 = 0.31;
  pred.pred_next_lap_s = 97.412;
  pred.pit_window_start = 25;
  pred.pit_window_best = 26;
  pred.pit_window_end = 29;
  pred.next_compound = Compound::Hard;
  pred.pit_now_delta_s = 1.4;
  pred.undercut_threat = 0.2;
  pred.undercut_chance = 0.1;
  pred.mode_reason = "on plan: stop lap 26 for HARD";
  pred.confidence = 0.7;
  std::vector<std::vector<std::uint8_t>> envelopes;
  for (const Output& o : {Output(snap), Output(pred)}) {
    auto b = codec.encode("2023_01_bahrain_race", o);
    envelopes.emplace_back(b.begin(), b.end());
  }
  std::size_t i = 0, bytes = 0;
  for (auto _ : state) {
    auto r = codec.render(envelopes[i], encoding);
    bytes += r->value.size();
    benchmark::DoNotOptimize(r);
    i ^= 1;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_record"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RenderOutput)->Arg(0)->Arg(1)->ArgName("json");

// The "decode + per-sample state update" path: Processor::process for every
// record of `sessions` concurrent races (99 % of records are samples), outputs
// encoded and handed to an in-memory publisher. One iteration = one record.
void BM_ProcessorPerRecord(benchmark::State& state) {
  const int sessions = static_cast<int>(state.range(0));
  constexpr std::size_t kChunk = 200'000;
  SteadyClock clock;
  stream::StreamMetrics metrics;
  bench::CountingPublisher publisher;
  auto sessions_factory = bench::make_pipeline_factory();
  stream::Processor processor(stream::ProcessorConfig{}, publisher, metrics, clock, sessions_factory);
  bench::ProcessorDriver driver(processor);
  int round = 0;
  auto feed = std::make_unique<bench::SynthFeed>(sessions, 57, 11, session_prefix(round));
  Chunk chunk;
  (void)chunk.fill(*feed, kChunk);
  std::size_t i = 0;
  std::uint64_t samples = 0;
  for (auto _ : state) {
    if (i == chunk.recs.size()) {
      state.PauseTiming();
      if (!chunk.fill(*feed, kChunk)) {
        ++round;
        feed = std::make_unique<bench::SynthFeed>(sessions, 57, 11 + round, session_prefix(round));
        chunk.sessions.clear();
        (void)chunk.fill(*feed, kChunk);
      }
      i = 0;
      state.ResumeTiming();
    }
    const auto& r = chunk.recs[i++];
    driver.feed(chunk.sessions[r.session], r.topic, chunk.value(r), -1, &ChunkBytes::hold, chunk.storage);
    samples += r.topic == stream::InputTopic::Telemetry;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["sample_share"] = static_cast<double>(samples) / static_cast<double>(state.iterations());
  state.counters["outputs_per_record"] =
      static_cast<double>(publisher.outputs[0] + publisher.outputs[1] + publisher.outputs[2]) /
      static_cast<double>(state.iterations());
  state.counters["dead_letters"] = static_cast<double>(publisher.dead_letters);
}
BENCHMARK(BM_ProcessorPerRecord)->Arg(1)->Arg(100)->ArgName("sessions");

}  // namespace

BENCHMARK_MAIN();
