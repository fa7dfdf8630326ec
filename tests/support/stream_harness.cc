#include "support/stream_harness.h"

#include "boxcall/schema/boxcall_generated.h"
#include "features/session_engine.h"

namespace boxcall::test {
using stream::InputTopic;
using stream::OutputTopic;

void MemoryPublisher::publish(OutputTopic topic, std::string_view key, std::span<const std::uint8_t> value,
                              std::shared_ptr<stream::Pin> pin, std::int64_t) {
  outs.push_back({topic, std::string(key), {value.begin(), value.end()}, std::move(pin), "", "", -1});
}

void MemoryPublisher::dead_letter(const stream::RecordRef& rec, const Error& error, std::shared_ptr<stream::Pin> pin) {
  const auto* b = reinterpret_cast<const std::uint8_t*>(rec.value.data());
  outs.push_back({OutputTopic::DeadLetter,
                  std::string(reinterpret_cast<const char*>(rec.key.data()), rec.key.size()),
                  {b, b + rec.value.size()},
                  std::move(pin),
                  std::string(to_string(error.reason)),
                  error.detail,
                  rec.offset});
}

void MemoryPublisher::ack_all() {
  for (auto& o : outs) o.pin.reset();
}

std::vector<const MemoryPublisher::Out*> MemoryPublisher::of(OutputTopic t) const {
  std::vector<const Out*> r;
  for (const auto& o : outs) {
    if (o.topic == t) r.push_back(&o);
  }
  return r;
}

std::unique_ptr<SessionHandlerFactory> feature_factory(std::chrono::nanoseconds snapshot_period) {
  return std::make_unique<FunctionFactory>([snapshot_period](std::string_view) {
    features::FeatureConfig c;
    c.snapshot_period = snapshot_period;
    return std::make_unique<features::FeatureHandler>(c);
  });
}

stream::ProcessorConfig ProcessorHarness::default_config() {
  stream::ProcessorConfig c;
  c.input_idle = std::chrono::milliseconds(0);
  return c;
}

ProcessorHarness::ProcessorHarness(stream::ProcessorConfig c, std::unique_ptr<SessionHandlerFactory> f)
    : config(std::move(c)), factory(f ? std::move(f) : feature_factory()) {
  processor = std::make_unique<stream::Processor>(config, publisher, metrics, clock, *factory, &flow);
  processor->assign(InputTopic::Telemetry, 0);
  processor->assign(InputTopic::Timing, 0);
}

void ProcessorHarness::feed_bytes(InputTopic topic, std::span<const std::uint8_t> value, std::string_view key,
                                  std::int32_t partition) {
  std::vector<std::uint8_t> copy(value.begin(), value.end());
  stream::RecordRef r{topic,
                      partition,
                      next_offset[static_cast<std::size_t>(topic)]++,
                      stream::as_bytes(key),
                      stream::as_bytes(std::span<const std::uint8_t>(copy)),
                      -1};
  processor->process(r);
  // A live consumer reads each record's partition to its end right after it.
  if (live) processor->partition_eof(topic, partition);
}

void ProcessorHarness::feed(const Input& in, std::string_view key) {
  auto topic = std::holds_alternative<TelemetrySample>(in) ? InputTopic::Telemetry : InputTopic::Timing;
  feed_bytes(topic, codec.encode(kSession, in), key);
}

void ProcessorHarness::feed_text(InputTopic topic, std::string_view text, std::string_view key) {
  feed_bytes(topic, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()),
             key);
}

void ProcessorHarness::eof_all() {
  live = true;
  processor->partition_eof(InputTopic::Telemetry, 0);
  processor->partition_eof(InputTopic::Timing, 0);
}

void ProcessorHarness::advance(std::chrono::milliseconds d) {
  clock.advance(d);
  processor->tick();
}

std::vector<std::string> ProcessorHarness::dead_letter_reasons() const {
  std::vector<std::string> r;
  for (const auto* o : publisher.of(OutputTopic::DeadLetter)) r.push_back(o->reason);
  return r;
}

std::vector<LapFeatures> ProcessorHarness::lap_features() const {
  std::vector<LapFeatures> laps;
  for (const auto* o : publisher.of(OutputTopic::Features)) {
    const auto* env = wire::GetEnvelope(o->value.data());
    if (const auto* f = env->payload_as_LapFeatures()) {
      LapFeatures l;
      l.car = f->car_number();
      l.lap = f->lap();
      l.samples = f->samples();
      laps.push_back(l);
    }
  }
  return laps;
}

std::vector<FeatureSnapshot> ProcessorHarness::snapshots() const {
  std::vector<FeatureSnapshot> out;
  for (const auto* o : publisher.of(OutputTopic::Features)) {
    const auto* env = wire::GetEnvelope(o->value.data());
    if (const auto* f = env->payload_as_FeatureSnapshot()) {
      FeatureSnapshot s;
      s.car = f->car_number();
      s.event_time_ns = f->event_time_ns();
      s.lap = f->lap();
      out.push_back(s);
    }
  }
  return out;
}

std::vector<std::string> ProcessorHarness::transcript() {
  std::vector<std::string> lines;
  for (const auto& o : publisher.outs) {
    if (o.topic == OutputTopic::DeadLetter) {
      lines.push_back("dead-letter " + o.reason);
      continue;
    }
    auto json = codec.to_json(std::as_bytes(std::span<const std::uint8_t>(o.value)));
    lines.push_back(std::string(stream::to_string(o.topic)) + " " + (json ? json.value() : "?"));
  }
  return lines;
}

}  // namespace boxcall::test
