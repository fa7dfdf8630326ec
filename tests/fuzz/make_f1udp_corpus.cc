// Writes the seed corpus of the F1 UDP decoder fuzz target (tests/fuzz/corpus/f1udp_decoder):
// spec-built packets (tests/sources/f1udp/packet_builder.h) as length-prefixed datagram streams.
//   f1udp_make_fuzz_corpus OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "packet_builder.h"

namespace pb = boxcall::testing::f1udp;

namespace {
void write(const std::filesystem::path& p, const std::vector<pb::Bytes>& datagrams) {
  std::ofstream out(p, std::ios::binary);
  for (const auto& d : datagrams) {
    const auto len = static_cast<std::uint16_t>(d.size());
    out.write(reinterpret_cast<const char*>(&len), 2);
    out.write(reinterpret_cast<const char*>(d.data()), static_cast<std::streamsize>(d.size()));
  }
}

std::vector<pb::Bytes> frame(pb::Frame f, std::uint8_t lap_num, std::uint32_t last_ms, std::uint8_t pit) {
  std::array<pb::CarMotion, pb::kCars> mot{};
  std::array<pb::CarLap, pb::kCars> lap{};
  std::array<pb::CarTelemetry, pb::kCars> tel{};
  std::array<pb::CarStatus, pb::kCars> status{};
  for (int i = 0; i < 3; ++i) {
    const auto u = static_cast<std::size_t>(i);
    lap[u] = {last_ms, 500, 30000, 0, 100, 100, static_cast<std::uint8_t>(i + 1), lap_num, pit, 0, 0, 0, 2};
    tel[u] = {static_cast<std::uint16_t>(200 + i), 0.8F, 0, 0.2F, 5, 10000, 1};
    mot[u] = {1, 2, 3};
  }
  for (int i = 3; i < pb::kCars; ++i) lap[static_cast<std::size_t>(i)].result_status = 0;
  return {pb::motion(f, mot),
          pb::session(f, {}),
          pb::lap_data(f, lap),
          pb::participants(f, {{1, "VERSTAPPEN"}, {44, "HAMILTON"}, {16, "LECLERC"}}),
          pb::car_telemetry(f, tel),
          pb::car_status(f, status),
          pb::session_history(f, 0, {{90000, 30000, 30000, 30000}})};
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  for (int format : {2023, 2024, 2025}) {
    pb::Frame f;
    f.format = format;
    f.session_time = 10;
    // A lap crossing with a pit stop, then events.
    auto a = frame(f, 1, 0, 0);
    f.frame = f.overall = 1;
    f.session_time = 100;
    auto b = frame(f, 2, 95000, 1);
    a.insert(a.end(), b.begin(), b.end());
    a.push_back(pb::event(f, "SSTA"));
    a.push_back(pb::event(f, "SCAR", {2, 0}));
    a.push_back(pb::event(f, "RDFL"));
    a.push_back(pb::event(f, "PENA", {1, 2, 0, 1, 5, 2, 0}));
    write(dir / ("race-" + std::to_string(format)), a);
    // A flashback: frames go on, the clock goes back.
    f.frame = f.overall = 2;
    f.session_time = 50;
    auto c = frame(f, 1, 0, 0);
    write(dir / ("flashback-" + std::to_string(format)), c);
  }
  pb::Frame f;
  f.format = 2025;
  for (int id = 0; id < 16; ++id) write(dir / ("packet-2025-" + std::to_string(id)), {pb::packet(f, id)});
  std::printf("corpus written to %s\n", dir.c_str());
  return 0;
}
