// End-to-end benchmarks through a real Kafka broker (docs/benchmarks.md).
//
//   bench_e2e throughput --brokers B --prefix P --sessions N [--laps L] [--partitions K]
//     Creates fresh topics P-telemetry, P-timing, P-features ..., publishes N
//     synthetic races (20 cars, 10 Hz) as fast as possible, then runs the
//     boxcall Runner (in process, the same code as `boxcall run`) from the
//     earliest offset until it consumed every record and drained: events/s.
//     The topics stay for the peer, which reads the very same records.
//
//     --consumer key=value (repeatable) overrides a librdkafka consumer property (diagnostics).
//     --laps-out FILE writes boxcall's LapFeatures as JSON lines (to compare with the peer's rows).
//
//     --system floor --records N: the floor (bench/floor.h) reads the N records a boxcall run
//     published on P-* and forwards each to P-floor. --records N with boxcall: read them again in a
//     consumer group of its own (e.g. in the compared configuration).
//
//   bench_e2e topics --brokers B --prefix P [--partitions K]   (creates the topics only)
//
//   bench_e2e latency --brokers B --prefix P --rate R [--seconds S] [--system boxcall|peer]
//     Fresh topics; offers R records/s (0 = as fast as the producer can) for S
//     seconds from one producer thread, and a consumer assigned to the output
//     topic records when each output becomes readable. Latency of an output =
//     readable time - send time of the input that made it possible (below).
//     --system boxcall runs the Runner in process; --system peer measures a
//     peer that is already running on P-telemetry/P-timing -> P-peer-features.
//
//     --system floor runs the floor (bench/floor.h) in process: every input forwarded to P-floor,
//     each timed from its own send.
//     --timeline FILE (boxcall): keeps the loop timeline (stream/timeline.h), writes its spans to
//     FILE and adds a "tail" object explaining the outputs at or above the p99.
//
// Both modes: --snapshots on|off, --models on|off (boxcall's configuration; off/off is the one
// compared with the peer), --input-idle MS (ProcessorConfig::input_idle, diagnostics).
//
// Triggering input (wall-clock send time, taken right before produce()):
//  - FeatureSnapshot (event_time = the session watermark when emitted): the
//    first record of that session with event time >= event_time;
//  - LapFeatures of (session, car, lap), boxcall or peer: the LapCompleted
//    timing record of that lap (boxcall's lap-close gate, which waits for the
//    car's next sample, is therefore part of its number).
// Outputs triggered in the first --warmup seconds are left out. Prints one JSON object.
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/config.h"
#include "app/models.h"
#include "boxcall/schema/boxcall_generated.h"
#include "floor.h"
#include "replay/source_publisher.h"
#include "sources/synth.h"
#include "stream/config.h"
#include "stream/kafka.h"
#include "stream/runner.h"
#include "stream/timeline.h"
#include "synth_feed.h"

namespace {
using namespace boxcall;
using Clock = std::chrono::steady_clock;

/// CPU time (user + system) of this process, all threads.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// One thread's scheduler statistics (/proc/self/task/TID/schedstat): time on a CPU and time
/// runnable but waiting for one. Tells a run that was short of CPU from one that waited for data.
struct SchedStat {
  double on_cpu_s = 0, waiting_s = 0;
};
SchedStat sched_stat(pid_t tid) {
  SchedStat st;
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  long long run = 0, wait = 0;
  if (in >> run >> wait) st = {static_cast<double>(run) / 1e9, static_cast<double>(wait) / 1e9};
  return st;
}

std::int64_t wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Args {
  std::string mode;
  std::string brokers;
  std::string prefix = "bench";
  std::string system = "boxcall";
  int sessions = 0;  // 0: derived from the rate (latency)
  int laps = 57;
  int partitions = 4;
  double rate = 0;
  double seconds = 15;
  double warmup = 2;
  std::map<std::string, std::string> consumer;  ///< --consumer key=value: librdkafka overrides (diagnostics)
  std::string laps_out;       ///< throughput: write boxcall's LapFeatures (JSON lines) here, to compare with the peer
  std::uint64_t records = 0;  ///< throughput --system floor: records already in the topics (from the boxcall run)
  std::string timeline;       ///< latency, boxcall: write the loop timeline (JSON lines) here and explain the tail
  bool snapshots = true;      ///< --snapshots on|off: boxcall's per-car snapshots (features.snapshot_period)
  bool models = true;         ///< --models on|off: the shipped models (off: no predictions, as the peer)
  int input_idle_ms = -1;     ///< --input-idle MS: ProcessorConfig::input_idle (diagnostics; -1: the default)
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2) throw ConfigError("usage: bench_e2e throughput|latency --brokers B ... (see the source)");
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--brokers")
      a.brokers = v;
    else if (k == "--prefix")
      a.prefix = v;
    else if (k == "--system")
      a.system = v;
    else if (k == "--sessions")
      a.sessions = std::stoi(v);
    else if (k == "--laps")
      a.laps = std::stoi(v);
    else if (k == "--partitions")
      a.partitions = std::stoi(v);
    else if (k == "--rate")
      a.rate = std::stod(v);
    else if (k == "--seconds")
      a.seconds = std::stod(v);
    else if (k == "--warmup")
      a.warmup = std::stod(v);
    else if (k == "--laps-out")
      a.laps_out = v;
    else if (k == "--records")
      a.records = std::stoull(v);
    else if (k == "--timeline")
      a.timeline = v;
    else if (k == "--input-idle")
      a.input_idle_ms = std::stoi(v);
    else if (k == "--snapshots" && (v == "on" || v == "off"))
      a.snapshots = v == "on";
    else if (k == "--models" && (v == "on" || v == "off"))
      a.models = v == "on";
    else if (k == "--consumer" && v.find('=') != std::string::npos)
      a.consumer[v.substr(0, v.find('='))] = v.substr(v.find('=') + 1);
    else
      throw ConfigError("unknown option " + k);
  }
  if (a.brokers.empty()) throw ConfigError("--brokers is required");
  return a;
}

stream::StreamConfig runner_config(const Args& a) {
  stream::StreamConfig c;
  c.brokers = a.brokers;
  c.group_id = a.prefix + "-boxcall";
  c.topics.telemetry = a.prefix + "-telemetry";
  c.topics.timing = a.prefix + "-timing";
  c.topics.features = a.prefix + "-features";
  c.topics.predictions = a.prefix + "-predictions";
  c.topics.alerts = a.prefix + "-alerts";
  c.topics.dead_letter = a.prefix + "-dead-letter";
  c.metrics_address.clear();
  c.kafka_consumer = a.consumer;
  if (a.input_idle_ms >= 0) c.processor.input_idle = std::chrono::milliseconds(a.input_idle_ms);
  return c;
}

/// The session pipeline `boxcall run` builds with its defaults (the shipped models), or the
/// configuration compared with the Kafka Streams peer (--snapshots off --models off: lap
/// features and alerts only, what the peer computes; docs/benchmarks.md).
app::Config pipeline_config(bool snapshots, bool models) {
  app::Config c;
  if (!snapshots) c.features.snapshot_period = std::chrono::nanoseconds(0);
  if (!models) c.models.enabled = false;
  return c;
}
struct BoxcallPipeline {
  BoxcallPipeline(bool snapshots, bool models) : config(pipeline_config(snapshots, models)) {}
  app::Config config;
  app::LivePipelineFactory factory{config.features, config.strategy, std::make_shared<app::ModelSetup>(config.models)};
};

void create_all_topics(const Args& a, const stream::StreamConfig& c) {
  stream::KafkaConf conf;
  conf.set("bootstrap.servers", a.brokers);
  auto admin = conf.create(RD_KAFKA_PRODUCER);
  std::vector<std::pair<std::string, int>> topics;
  for (const auto* t : {&c.topics.telemetry, &c.topics.timing, &c.topics.features, &c.topics.predictions,
                        &c.topics.alerts, &c.topics.dead_letter}) {
    topics.emplace_back(*t, a.partitions);
  }
  topics.emplace_back(a.prefix + "-peer-features", a.partitions);
  topics.emplace_back(a.prefix + "-floor", a.partitions);
  stream::create_topics(admin.get(), topics, std::chrono::seconds(30));
}

struct Percentiles {
  std::size_t n = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<std::size_t>(std::ceil(q * v.size())) - 1)]; };
  p.p50 = at(0.5);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = v.back();
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  return p;
}

std::string json(const Percentiles& p) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"mean_ms\":%.3f}", p.n,
                p.p50, p.p99, p.p999, p.max, p.mean);
  return buf;
}

/// Quantile upper bounds from the boxcall_stage_latency_seconds{stage="end_to_end"} histogram.
std::string histogram_json(stream::StreamMetrics& metrics) {
  for (const auto& family : metrics.registry().Collect()) {
    if (family.name != "boxcall_stage_latency_seconds") continue;
    for (const auto& m : family.metric) {
      bool e2e = false;
      for (const auto& l : m.label) e2e |= l.name == "stage" && l.value == "end_to_end";
      if (!e2e) continue;
      const auto& h = m.histogram;
      auto bound = [&](double q) {
        const double want = q * static_cast<double>(h.sample_count);
        for (const auto& b : h.bucket) {
          if (static_cast<double>(b.cumulative_count) >= want) return b.upper_bound * 1e3;
        }
        return std::numeric_limits<double>::infinity();
      };
      auto text = [&](double q) {  // null: beyond the largest finite bucket (10 s)
        const double b = bound(q);
        return std::isinf(b) ? std::string("null") : std::to_string(b);
      };
      char buf[128];
      std::snprintf(buf, sizeof buf, "{\"count\":%llu,\"mean_ms\":%.3f,",
                    static_cast<unsigned long long>(h.sample_count),
                    h.sample_count ? h.sample_sum / static_cast<double>(h.sample_count) * 1e3 : 0.0);
      return buf + ("\"p50_le_ms\":" + text(0.5)) + ",\"p99_le_ms\":" + text(0.99) + ",\"p999_le_ms\":" + text(0.999) +
             "}";
    }
  }
  return "null";
}

// ------------------------------------------------------------------ throughput

/// The floor's throughput: the pass-through reads the records the boxcall run published (same
/// topics, its own consumer group, from the earliest offset) and forwards each to P-floor.
int throughput_floor(const Args& a) {
  if (a.records == 0) throw ConfigError("--system floor needs --records N (the records the boxcall run published)");
  bench::PassThrough floor(a.brokers, a.prefix + "-floor-group", {a.prefix + "-telemetry", a.prefix + "-timing"},
                           a.prefix + "-floor");
  const auto started = Clock::now();
  const double cpu0 = cpu_seconds();
  const SchedStat sched0 = sched_stat(gettid());
  std::optional<Clock::time_point> first, last;
  const auto deadline = started + std::chrono::minutes(5);
  const std::uint64_t failed = floor.run([&] {
    const auto n = floor.consumed.load(std::memory_order_relaxed);
    if (n > 0 && !first) first = Clock::now();
    if (n >= a.records) {
      last = Clock::now();
      return true;
    }
    return Clock::now() > deadline;
  });
  const auto drained = Clock::now();
  const double cpu = cpu_seconds() - cpu0;
  const SchedStat sched1 = sched_stat(gettid());
  if (!first || !last) {
    throw ConfigError("the floor did not consume every record (" + std::to_string(floor.consumed.load()) + " of " +
                      std::to_string(a.records) + ")");
  }
  const double secs = std::chrono::duration<double>(*last - *first).count();
  std::printf(
      "{\"mode\":\"throughput\",\"system\":\"floor\",\"prefix\":\"%s\",\"records\":%llu,\"consume_s\":%.3f,"
      "\"events_per_s\":%.0f,\"join_s\":%.3f,\"drain_s\":%.3f,\"outputs\":%llu,\"undelivered\":%llu,\"cpu_s\":%.3f,"
      "\"events_per_cpu_s\":%.0f,\"loop_thread_on_cpu_s\":%.3f,\"loop_thread_waiting_for_cpu_s\":%.3f,"
      "\"run_s\":%.3f}\n",
      a.prefix.c_str(), static_cast<unsigned long long>(a.records), secs, static_cast<double>(a.records) / secs,
      std::chrono::duration<double>(*first - started).count(), std::chrono::duration<double>(drained - *last).count(),
      static_cast<unsigned long long>(floor.consumed.load()), static_cast<unsigned long long>(failed), cpu,
      static_cast<double>(a.records) / cpu, sched1.on_cpu_s - sched0.on_cpu_s, sched1.waiting_s - sched0.waiting_s,
      std::chrono::duration<double>(drained - started).count());
  return failed == 0 ? 0 : 1;
}

int throughput(const Args& a) {
  if (a.system == "floor") return throughput_floor(a);
  if (a.sessions < 1) throw ConfigError("--sessions must be >= 1");
  auto config = runner_config(a);
  replay::PublishStats pub;
  std::uint64_t total = a.records;
  if (a.records > 0) {
    // The records a first run published (--records N): read again by a consumer group of its own.
    config.group_id = a.prefix + "-boxcall-" + (a.snapshots ? "snap" : "nosnap") + (a.models ? "-models" : "");
  } else {
    create_all_topics(a, config);
    sources::SynthConfig base;
    base.session_id = a.prefix;
    base.laps = a.laps;
    std::vector<std::unique_ptr<sources::RecordSource>> races;
    for (auto& sc : sources::make_synth_sessions(a.sessions, base))
      races.push_back(std::make_unique<sources::SynthRace>(sc));
    replay::PublishOptions po;
    po.speed = 0;
    po.kafka["batch.num.messages"] = "10000";
    pub = replay::publish_sources(std::move(races), a.brokers, config.topics, po);
    total = pub.telemetry + pub.timing;
    if (pub.failed) throw ConfigError("publishing failed for " + std::to_string(pub.failed) + " records");
  }

  stream::StreamMetrics metrics;
  BoxcallPipeline pipeline(a.snapshots, a.models);
  stream::Runner runner(config, metrics, pipeline.factory);
  auto consumed = [&] {
    return static_cast<std::uint64_t>(metrics.records_in_count(stream::InputTopic::Telemetry) +
                                      metrics.records_in_count(stream::InputTopic::Timing));
  };
  const auto started = Clock::now();
  const double cpu0 = cpu_seconds();
  const SchedStat sched0 = sched_stat(gettid());  // the runner's loop runs on this thread
  std::optional<Clock::time_point> first, last;
  stream::RunOptions opts;
  opts.status_interval = std::chrono::milliseconds(0);
  opts.duration = std::chrono::minutes(5);
  std::ofstream laps_out;
  if (!a.laps_out.empty()) {
    laps_out.open(a.laps_out);
    opts.on_output = [&](stream::OutputTopic, std::string_view json) {
      if (json.find("\"LapFeatures\"") != std::string_view::npos) laps_out << json << '\n';
    };
  }
  opts.should_stop = [&] {  // every 100 ms on the loop thread
    const auto n = consumed();
    if (n > 0 && !first) first = Clock::now();
    if (n >= total) {
      last = Clock::now();
      return true;
    }
    return false;
  };
  const int code = runner.run(opts);
  const auto drained = Clock::now();
  const double cpu = cpu_seconds() - cpu0;  // the runner alone: the publisher is gone
  const SchedStat sched1 = sched_stat(gettid());
  if (!first || !last)
    throw ConfigError("the runner did not consume every record (" + std::to_string(consumed()) + " of " +
                      std::to_string(total) + ")");
  const double secs = std::chrono::duration<double>(*last - *first).count();
  const double outputs = metrics.output_count(stream::OutputTopic::Features) +
                         metrics.output_count(stream::OutputTopic::Predictions) +
                         metrics.output_count(stream::OutputTopic::Alerts);
  std::printf(
      "{\"mode\":\"throughput\",\"system\":\"boxcall\",\"snapshots\":%s,\"models\":%s,\"prefix\":\"%s\",\"sessions\":%"
      "d,\"cars\":%d,\"laps\":%d,\"partitions\":%d,"
      "\"records\":%llu,\"telemetry\":%llu,\"timing\":%llu,\"publish_s\":%.3f,\"publish_per_s\":%.0f,"
      "\"consume_s\":%.3f,\"events_per_s\":%.0f,\"join_s\":%.3f,\"drain_s\":%.3f,\"outputs\":%.0f,"
      "\"outputs_per_s\":%.0f,\"dead_letters\":%.0f,\"cpu_s\":%.3f,\"events_per_cpu_s\":%.0f,"
      "\"loop_thread_on_cpu_s\":%.3f,\"loop_thread_waiting_for_cpu_s\":%.3f,\"run_s\":%.3f,\"exit_code\":%d}\n",
      a.snapshots ? "true" : "false", a.models ? "true" : "false", a.prefix.c_str(), a.sessions, a.sessions * 20,
      a.laps, a.partitions, static_cast<unsigned long long>(total), static_cast<unsigned long long>(pub.telemetry),
      static_cast<unsigned long long>(pub.timing), pub.seconds,
      pub.seconds > 0 ? static_cast<double>(total) / pub.seconds : 0.0, secs, static_cast<double>(total) / secs,
      std::chrono::duration<double>(*first - started).count(), std::chrono::duration<double>(drained - *last).count(),
      outputs, outputs / secs, metrics.dead_letter_total(), cpu, static_cast<double>(total) / cpu,
      sched1.on_cpu_s - sched0.on_cpu_s, sched1.waiting_s - sched0.waiting_s,
      std::chrono::duration<double>(drained - started).count(), code);
  return code;
}

// ------------------------------------------------------------------ latency

struct Sent {
  TimeNs event_time;
  std::int64_t send_ns;
};

struct Received {
  std::int64_t recv_ns;
  bool lap;  // LapFeatures (else FeatureSnapshot)
  std::string session;
  int car;
  int lap_no;
  TimeNs event_time;
};

/// Reads the output topic from its start (manual assignment: no group join).
class OutputConsumer {
 public:
  enum class Kind { Boxcall, Peer, Floor };
  OutputConsumer(const std::string& brokers, const std::string& topic, int partitions, Kind kind)
      : peer_(kind == Kind::Peer), floor_(kind == Kind::Floor) {
    stream::KafkaConf conf;
    conf.set("bootstrap.servers", brokers).set("group.id", "bench-latency-reader");
    conf.set("enable.auto.commit", "false").set("fetch.wait.max.ms", "1").set("fetch.error.backoff.ms", "5");
    rk_ = conf.create(RD_KAFKA_CONSUMER);
    rd_kafka_poll_set_consumer(rk_.get());
    stream::KafkaPartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk_.get(), list.get());
    thread_ = std::thread([this] { loop(); });
  }
  ~OutputConsumer() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (rk_) rd_kafka_consumer_close(rk_.get());
  }
  std::vector<Received> received;
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> laps{0};  ///< LapFeatures (or peer lap rows) received

 private:
  void loop() {
    while (!stop_) {
      stream::KafkaMessage msg(rd_kafka_consumer_poll(rk_.get(), 50));
      if (!msg || msg->err) continue;
      const std::int64_t now = wall_ns();
      ++count;
      const auto* data = static_cast<const std::uint8_t*>(msg->payload);
      if (peer_) {  // "session,car,lap,..." (bench/peer)
        std::string_view v(reinterpret_cast<const char*>(data), msg->len);
        Received r{now, true, {}, 0, 0, 0};
        auto c1 = v.find(','), c2 = v.find(',', c1 + 1), c3 = v.find(',', c2 + 1);
        if (c1 == v.npos || c2 == v.npos) continue;
        r.session = std::string(v.substr(0, c1));
        r.car = std::stoi(std::string(v.substr(c1 + 1, c2 - c1 - 1)));
        r.lap_no = std::stoi(std::string(v.substr(c2 + 1, c3 - c2 - 1)));
        received.push_back(std::move(r));
        ++laps;
        continue;
      }
      flatbuffers::Verifier verifier(data, msg->len);
      if (!wire::VerifyEnvelopeBuffer(verifier)) continue;
      const auto* env = wire::GetEnvelope(data);
      if (floor_) {  // the input records, forwarded: LapCompleted counts as the lap, the rest as "snapshots"
        if (const auto* cs = env->payload_as_CarSample()) {
          received.push_back({now, false, cs->session()->str(), cs->car_number(), 0, cs->event_time_ns()});
        } else if (const auto* te = env->payload_as_TimingEvent()) {
          const auto* lc = te->body_as_LapCompleted();
          received.push_back(
              {now, lc != nullptr, te->session()->str(), te->car_number(), lc ? lc->lap() : 0, te->event_time_ns()});
          if (lc) ++laps;
        }
        continue;
      }
      if (const auto* lf = env->payload_as_LapFeatures()) {
        received.push_back({now, true, lf->session()->str(), lf->car_number(), lf->lap(), lf->event_time_ns()});
        ++laps;
      } else if (const auto* fs = env->payload_as_FeatureSnapshot()) {
        received.push_back({now, false, fs->session()->str(), fs->car_number(), fs->lap(), fs->event_time_ns()});
      }
    }
  }
  bool peer_;
  bool floor_;
  stream::KafkaHandle rk_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

/// Where the tail comes from: the loop timeline over the outputs slower than the p99 of all.
/// For each such output, the window from its triggering input's send to its arrival is
/// matched with what the loop ran in it (timeline.h). Writes every span to `file` (JSON lines)
/// and returns a JSON object: the timeline summary per kind of work, and over the slow outputs
/// the share of their windows the loop spent on each kind of work, which kind was the longest
/// span in each window, and the longest input and delivery waits seen in them.
std::string explain_tail(const stream::LoopTimeline& timeline,
                         std::vector<std::pair<std::int64_t, std::int64_t>> windows, const std::string& file) {
  {
    std::ofstream out(file);
    out << timeline.spans_jsonl();
  }
  std::string j = "{\"timeline\":" + timeline.summary_json();
  if (windows.empty()) return j + "}";
  std::vector<double> ms;
  for (const auto& [t, r] : windows) ms.push_back(static_cast<double>(r - t) / 1e6);
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double p99 = sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(0.99 * sorted.size()))];
  std::array<double, stream::kLoopWorkKinds> busy{};
  std::array<int, stream::kLoopWorkKinds> longest{};
  double window_total = 0, input_waited = 0, delivery_waited = 0;
  int slow = 0, idle_windows = 0;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    if (ms[i] < p99) continue;
    ++slow;
    const auto w = timeline.window(windows[i].first, windows[i].second);
    const double len = static_cast<double>(windows[i].second - windows[i].first);
    window_total += len;
    std::int64_t any = 0;
    for (std::size_t k = 0; k < stream::kLoopWorkKinds; ++k) {
      busy[k] += static_cast<double>(w.busy_ns[k]);
      any += w.busy_ns[k];
    }
    if (any == 0) {
      ++idle_windows;
    } else {
      ++longest[static_cast<std::size_t>(w.longest_span)];
    }
    input_waited = std::max(input_waited, static_cast<double>(w.input_waited_ns) / 1e6);
    delivery_waited = std::max(delivery_waited, static_cast<double>(w.delivery_waited_ns) / 1e6);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf,
                ",\"slow_outputs\":{\"threshold_ms\":%.3f,\"n\":%d,\"mean_window_ms\":%.3f,\"windows_loop_idle\":%d,"
                "\"max_input_waited_ms\":%.3f,\"max_delivery_waited_ms\":%.3f,\"loop_share\":{",
                p99, slow, slow ? window_total / slow / 1e6 : 0.0, idle_windows, input_waited, delivery_waited);
  j += buf;
  bool first = true;
  for (std::size_t k = 0; k < stream::kLoopWorkKinds; ++k) {
    if (busy[k] == 0) continue;
    std::snprintf(buf, sizeof buf, "%s\"%s\":%.4f", first ? "" : ",",
                  std::string(stream::to_string(static_cast<stream::LoopWork>(k))).c_str(), busy[k] / window_total);
    j += buf;
    first = false;
  }
  j += "},\"longest_span\":{";
  first = true;
  for (std::size_t k = 0; k < stream::kLoopWorkKinds; ++k) {
    if (longest[k] == 0) continue;
    std::snprintf(buf, sizeof buf, "%s\"%s\":%d", first ? "" : ",",
                  std::string(stream::to_string(static_cast<stream::LoopWork>(k))).c_str(), longest[k]);
    j += buf;
    first = false;
  }
  return j + "}}}";
}

int latency(const Args& a) {
  auto config = runner_config(a);
  create_all_topics(a, config);
  const bool peer = a.system == "peer";
  const bool floor = a.system == "floor";
  if (!peer && !floor && a.system != "boxcall") throw ConfigError("--system must be boxcall, peer or floor");
  // About 10x real time per session: 20 cars x 10 Hz ~ 205 records/s of event time per session.
  const int sessions = a.sessions > 0
                           ? a.sessions
                           : std::max(1, static_cast<int>(std::lround((a.rate > 0 ? a.rate : 200'000) / 2050.0)));
  bench::SynthFeed feed(sessions, a.laps, 5, a.prefix);

  stream::StreamMetrics metrics;
  std::unique_ptr<BoxcallPipeline> pipeline =
      peer || floor ? nullptr : std::make_unique<BoxcallPipeline>(a.snapshots, a.models);
  std::unique_ptr<bench::PassThrough> pass;
  std::unique_ptr<stream::Runner> runner;
  std::thread runner_thread;
  std::atomic<bool> stop_runner{false};
  int runner_code = 0;
  std::atomic<pid_t> runner_tid{0};
  stream::LoopTimeline timeline;
  if (floor) {
    pass = std::make_unique<bench::PassThrough>(a.brokers, a.prefix + "-floor-group",
                                                std::vector<std::string>{config.topics.telemetry, config.topics.timing},
                                                a.prefix + "-floor");
    runner_thread = std::thread([&] {
      runner_tid = gettid();
      runner_code = static_cast<int>(pass->run([&] { return stop_runner.load(); }));
    });
  } else if (!peer) {
    runner = std::make_unique<stream::Runner>(config, metrics, pipeline->factory);
    runner_thread = std::thread([&] {
      runner_tid = gettid();
      stream::RunOptions opts;
      opts.status_interval = std::chrono::milliseconds(0);
      opts.should_stop = [&] { return stop_runner.load(); };
      if (!a.timeline.empty()) opts.timeline = &timeline;
      runner_code = runner->run(opts);
    });
  }
  OutputConsumer out(a.brokers,
                     peer    ? a.prefix + "-peer-features"
                     : floor ? a.prefix + "-floor"
                             : config.topics.features,
                     a.partitions,
                     peer    ? OutputConsumer::Kind::Peer
                     : floor ? OutputConsumer::Kind::Floor
                             : OutputConsumer::Kind::Boxcall);
  // Records the system under test consumed (boxcall: its metrics; the floor: its own count).
  auto consumed = [&] {
    if (floor) return static_cast<double>(pass->consumed.load(std::memory_order_relaxed));
    return metrics.records_in_count(stream::InputTopic::Telemetry) +
           metrics.records_in_count(stream::InputTopic::Timing);
  };

  stream::KafkaConf pconf;
  pconf.set("bootstrap.servers", a.brokers);
  pconf.set_all(stream::default_producer_properties());
  pconf.set("queue.buffering.max.messages", "2000000");
  auto producer = pconf.create(RD_KAFKA_PRODUCER);
  stream::KafkaTopic telemetry(rd_kafka_topic_new(producer.get(), config.topics.telemetry.c_str(), nullptr));
  stream::KafkaTopic timing(rd_kafka_topic_new(producer.get(), config.topics.timing.c_str(), nullptr));

  if (!peer) {  // wait until the runner is assigned and reading: one record of a warm-up session
    stream::Codec codec;
    sources::SynthConfig wc;
    wc.session_id = a.prefix + "-warmup";
    sources::SynthRace warm(wc);
    Input in;
    while (warm.next(in) && !std::holds_alternative<TelemetrySample>(in)) {
    }
    auto bytes = codec.encode(wc.session_id, in);
    rd_kafka_produce(telemetry.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                     const_cast<std::uint8_t*>(bytes.data()), bytes.size(), wc.session_id.data(), wc.session_id.size(),
                     nullptr);
    rd_kafka_flush(producer.get(), 10'000);
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (consumed() < 1 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  std::unordered_map<std::string, std::size_t> session_index;
  std::vector<std::vector<Sent>> sent(static_cast<std::size_t>(sessions));
  std::map<std::tuple<std::size_t, int, int>, std::int64_t> lap_sent;
  // Fast-forward to 60 s after lights out, so that even the slowest run sees lap completions:
  // the skipped part's timing records (session start, weather ...) are sent, its samples are not.
  bench::EncodedRecord r;
  bool exhausted = !feed.next(r);
  const TimeNs skip_to = sources::kSynthDefaultStartUtcNs + 60 * kNsPerSecond;
  std::uint64_t pre = 0;  // records sent before the timed run (+1: the runner's warm-up record)
  if (!peer) pre = 1;
  while (!exhausted && event_time(*r.input) < skip_to) {
    if (r.topic == stream::InputTopic::Timing) {
      rd_kafka_produce(timing.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                       const_cast<std::uint8_t*>(r.value.data()), r.value.size(), r.session->data(), r.session->size(),
                       nullptr);
      ++pre;
    }
    exhausted = !feed.next(r);
  }
  rd_kafka_flush(producer.get(), 10'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));

  const auto t0 = Clock::now();
  const std::int64_t wall0 = wall_ns();
  const SchedStat sched0 = runner_tid ? sched_stat(runner_tid) : SchedStat{};
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  std::uint64_t n = 0;
  while (!exhausted) {
    const auto now = Clock::now();
    if (now >= end) break;
    std::uint64_t due =
        a.rate > 0 ? static_cast<std::uint64_t>(std::chrono::duration<double>(now - t0).count() * a.rate) : n + 256;
    if (due <= n) {
      rd_kafka_poll(producer.get(), 0);
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      continue;
    }
    for (; n < due && !exhausted; ++n) {
      const std::int64_t send = wall_ns();
      const bool is_sample = r.topic == stream::InputTopic::Telemetry;
      while (rd_kafka_produce(is_sample ? telemetry.get() : timing.get(), RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                              const_cast<std::uint8_t*>(r.value.data()), r.value.size(), r.session->data(),
                              r.session->size(), nullptr) != 0) {
        rd_kafka_poll(producer.get(), 1);
      }
      sent[r.session_index].push_back({event_time(*r.input), send});
      if (!is_sample) {
        const auto& e = std::get<TimingEvent>(*r.input);
        if (const auto* lc = std::get_if<LapCompleted>(&e.body)) lap_sent[{r.session_index, e.car, lc->lap}] = send;
      }
      session_index.emplace(*r.session, r.session_index);
      exhausted = !feed.next(r);
    }
    rd_kafka_poll(producer.get(), 0);
  }
  const double offered_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const SchedStat sched1 = runner_tid ? sched_stat(runner_tid) : SchedStat{};
  rd_kafka_flush(producer.get(), 30'000);

  // Let the system catch up (at the maximum rate it may be behind), then let outputs drain.
  const auto catch_up_deadline = Clock::now() + std::chrono::seconds(90);
  if (!peer) {
    while (consumed() < static_cast<double>(n + pre) && Clock::now() < catch_up_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  // Every lap sent must come back (the peer emits laps only), then 1 s without new outputs.
  while (out.laps.load() < lap_sent.size() && Clock::now() < catch_up_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::uint64_t seen = out.count.load();
  for (int quiet = 0; quiet < 10 && Clock::now() < catch_up_deadline;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto c = out.count.load();
    quiet = c == seen ? quiet + 1 : 0;
    seen = c;
  }
  const double processed = consumed();
  if (runner_thread.joinable()) {
    stop_runner = true;
    runner_thread.join();
  }
  out.stop();

  const std::int64_t warm_ns = wall0 + static_cast<std::int64_t>(a.warmup * 1e9);
  std::vector<double> all, laps, snaps;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;  // (trigger, received) per timed output
  std::size_t unmatched = 0;
  for (const auto& o : out.received) {
    auto si = session_index.find(o.session);
    if (si == session_index.end()) {
      ++unmatched;
      continue;
    }
    std::int64_t trigger = -1;
    if (o.lap) {
      auto it = lap_sent.find({si->second, o.car, o.lap_no});
      if (it != lap_sent.end()) trigger = it->second;
    } else {
      const auto& v = sent[si->second];
      auto it =
          std::lower_bound(v.begin(), v.end(), o.event_time, [](const Sent& s, TimeNs t) { return s.event_time < t; });
      if (it != v.end()) trigger = it->send_ns;
    }
    if (trigger < 0) {
      ++unmatched;
      continue;
    }
    if (trigger < warm_ns) continue;
    const double ms = static_cast<double>(o.recv_ns - trigger) / 1e6;
    all.push_back(ms);
    windows.emplace_back(trigger, o.recv_ns);
    (o.lap ? laps : snaps).push_back(ms);
  }
  const std::string tail = a.timeline.empty() ? "null" : explain_tail(timeline, windows, a.timeline);
  std::printf(
      "{\"mode\":\"latency\",\"system\":\"%s\",\"snapshots\":%s,\"models\":%s,\"prefix\":\"%s\",\"rate\":%.0f,"
      "\"sessions\":%d,\"partitions\":%d,"
      "\"seconds\":%.3f,\"sent\":%llu,\"offered_per_s\":%.0f,\"processed\":%.0f,\"outputs_received\":%zu,"
      "\"unmatched\":%zu,\"laps_sent\":%zu,\"laps_received\":%llu,\"all\":%s,\"lap_features\":%s,\"snapshots\":%s,"
      "\"histogram_end_to_end\":%s,"
      "\"loop_thread_on_cpu_s\":%.3f,\"loop_thread_waiting_for_cpu_s\":%.3f,\"runner_exit\":%d,\"tail\":%s}\n",
      a.system.c_str(), a.snapshots ? "true" : "false", a.models ? "true" : "false", a.prefix.c_str(), a.rate, sessions,
      a.partitions, offered_s, static_cast<unsigned long long>(n), static_cast<double>(n) / offered_s, processed,
      out.received.size(), unmatched, lap_sent.size(), static_cast<unsigned long long>(out.laps.load()),
      json(percentiles(all)).c_str(), json(percentiles(laps)).c_str(), json(percentiles(snaps)).c_str(),
      peer || floor ? "null" : histogram_json(metrics).c_str(), sched1.on_cpu_s - sched0.on_cpu_s,
      sched1.waiting_s - sched0.waiting_s, runner_code, tail.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  spdlog::set_level(spdlog::level::warn);
  try {
    const Args a = parse(argc, argv);
    if (a.mode == "topics") {  // fresh topics for a peer that must start before the producer
      create_all_topics(a, runner_config(a));
      return 0;
    }
    if (a.mode == "throughput") return throughput(a);
    if (a.mode == "latency") return latency(a);
    throw ConfigError("unknown mode " + a.mode);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_e2e: error: %s\n", e.what());
    return 2;
  }
}
