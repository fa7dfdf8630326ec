// Feature engine benchmarks: the per-sample update, the per-lap close, and the
// offline twin (FastF1 reader + engine) over the whole 2023 Bahrain race.
// Deterministic inputs; results are kept alive with DoNotOptimize.
//
//   cmake -S . -B build-bench -G Ninja -DBOXCALL_BUILD_BENCH=ON -DBOXCALL_BUILD_TESTS=OFF
//   cmake --build build-bench --target bench_features && build-bench/bench/bench_features
#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "features/session_engine.h"
#include "sources/fastf1_reader.h"

namespace {
using namespace boxcall;

constexpr TimeNs kOffset = 1'678'024'861'849'000'000;
constexpr int kCars = 20;

class CountingSink final : public OutputSink {
 public:
  void emit(Output&& o) override {
    ++count;
    benchmark::DoNotOptimize(o);
  }
  std::size_t count = 0;
};

TimingEvent session_started(TimeNs session_ns) {
  SessionInfo info;
  info.status = "Started";
  info.scheduled_laps = 57;
  TimingEvent e;
  e.session_time_ns = session_ns;
  e.event_time_ns = kOffset + session_ns;
  e.body = info;
  return e;
}

// A deterministic 4 Hz-per-car stream shape: speed, throttle (with the odd
// 104), brake and gear vary with the sample index.
TelemetrySample make_sample(std::int64_t i) {
  TelemetrySample s;
  s.car = static_cast<std::uint16_t>(1 + i % kCars);
  s.session_time_ns = 1'000'000'000 + i * (250'000'000 / kCars);
  s.event_time_ns = kOffset + s.session_time_ns;
  s.speed_kph = static_cast<float>(80 + (i * 7) % 240);
  s.throttle = (i % 97 == 0) ? 104.0F : static_cast<float>((i * 13) % 101);
  s.brake = (i / kCars) % 9 == 0;
  s.gear = static_cast<std::int8_t>(1 + (i / kCars / 5) % 8);
  s.drs = (i / kCars) % 50 < 10 ? 12 : 0;
  return s;
}

void BM_SampleUpdate(benchmark::State& state) {
  features::SessionEngine engine(features::FeatureConfig{});
  CountingSink sink;
  engine.on_timing(session_started(0), sink);
  std::int64_t i = 0;
  for (auto _ : state) {
    auto placement = engine.on_sample(make_sample(i++), false, sink);
    benchmark::DoNotOptimize(placement);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SampleUpdate);

// The live path calls on_watermark after every record: include it.
void BM_SampleUpdateWithWatermark(benchmark::State& state) {
  features::SessionEngine engine(features::FeatureConfig{});
  CountingSink sink;
  engine.on_timing(session_started(0), sink);
  std::int64_t i = 0;
  for (auto _ : state) {
    const TelemetrySample s = make_sample(i++);
    auto placement = engine.on_sample(s, false, sink);
    engine.on_watermark(s.event_time_ns, sink);
    benchmark::DoNotOptimize(placement);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["snapshots"] = static_cast<double>(sink.count);
}
BENCHMARK(BM_SampleUpdateWithWatermark);

// Lap closes of a whole race (20 cars x 57 laps, two pit stops each, a
// safety-car lap), fresh engine per race: gaps, stint repair, the Eigen slope.
void BM_LapClose(benchmark::State& state) {
  constexpr int kLaps = 57;
  std::vector<TimingEvent> events;
  events.push_back(session_started(0));
  for (int lap = 1; lap <= kLaps; ++lap) {
    for (int c = 0; c < kCars; ++c) {
      LapCompleted lc;
      lc.lap = lap;
      const double lap_time = 93.0 + 0.05 * (lap % 20) + 0.1 * c;
      lc.lap_time_s = lap_time;
      lc.tyre_life = 1 + lap % 20;
      lc.stint = 1 + lap / 20;
      lc.compound = Compound::Hard;
      lc.track_status = lap == 30 ? "14" : "1";
      if (lap % 20 == 19) lc.pit_in_session_ns = s_to_ns(lap * 95.0 - 5);
      if (lap % 20 == 0) lc.pit_out_session_ns = s_to_ns((lap - 1) * 95.0 + 20);
      TimingEvent e;
      e.car = static_cast<std::uint16_t>(c + 1);
      e.session_time_ns = s_to_ns(lap * 95.0 + 0.7 * c);
      e.event_time_ns = kOffset + e.session_time_ns;
      lc.lap_start_session_ns = s_to_ns((lap - 1) * 95.0 + 0.7 * c);
      e.body = lc;
      events.push_back(e);
    }
  }
  std::size_t closes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    features::SessionEngine engine(features::FeatureConfig{});
    CountingSink sink;
    state.ResumeTiming();
    for (const auto& e : events) engine.on_timing(e, sink);
    closes += sink.count;
    benchmark::DoNotOptimize(sink.count);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(closes));
}
BENCHMARK(BM_LapClose)->Unit(benchmark::kMicrosecond);

std::filesystem::path bahrain_dir() {
  return std::filesystem::path(BOXCALL_SHARED_DATA) / "fastf1" / "2023_01_bahrain_race";
}

// The offline twin, as `boxcall features` runs it: reader + engine + watermarks.
void BM_OfflineTwinBahrain(benchmark::State& state) {
  if (!std::filesystem::exists(bahrain_dir() / "laps.csv")) {
    state.SkipWithError("no shared data");
    return;
  }
  std::uint64_t samples = 0;
  std::size_t outputs = 0;
  for (auto _ : state) {
    sources::FastF1Reader reader(sources::FastF1Paths::from_export_dir(bahrain_dir()));
    features::FeatureConfig config;
    config.scheduled_laps = reader.scheduled_laps();
    features::SessionEngine engine(config);
    CountingSink sink;
    while (auto record = reader.next()) {
      const TimeNs t = event_time(*record);
      if (auto* s = std::get_if<TelemetrySample>(&*record)) {
        (void)engine.on_sample(*s, false, sink);
      } else {
        engine.on_timing(std::get<TimingEvent>(*record), sink);
      }
      engine.on_watermark(t, sink);
    }
    samples += reader.samples_read();
    outputs += sink.count;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(samples));
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
  state.counters["s_per_million_samples"] =
      benchmark::Counter(static_cast<double>(samples) / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["outputs"] = static_cast<double>(outputs) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_OfflineTwinBahrain)->Unit(benchmark::kMillisecond)->UseRealTime();

// The reader alone: the offline twin minus the engine.
void BM_ReaderBahrain(benchmark::State& state) {
  if (!std::filesystem::exists(bahrain_dir() / "laps.csv")) {
    state.SkipWithError("no shared data");
    return;
  }
  std::uint64_t samples = 0;
  for (auto _ : state) {
    sources::FastF1Reader reader(sources::FastF1Paths::from_export_dir(bahrain_dir()));
    while (auto record = reader.next()) benchmark::DoNotOptimize(*record);
    samples += reader.samples_read();
  }
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReaderBahrain)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
