#include "infer/ergast.h"

#include <algorithm>
#include <cctype>

#include "base/csv.h"

namespace boxcall::infer::ergast {

std::string key(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x80) continue;
    if (std::isalnum(c))
      out.push_back(static_cast<char>(std::tolower(c)));
    else if (c == ' ' || c == '-' || c == '_')
      out.push_back('_');
  }
  return out;
}

Archive load(const std::filesystem::path& dir, bool with_laps) {
  Archive a;
  const auto circuits = csv::Table::read(dir / "circuits.csv");
  struct CircuitRow {
    std::string ref, location, country;
  };
  std::map<int, CircuitRow> by_id;
  {
    const int c_id = circuits.require("circuitId"), c_ref = circuits.require("circuitRef"),
              c_loc = circuits.require("location"), c_country = circuits.require("country");
    for (std::size_t i = 0; i < circuits.size(); ++i) {
      auto id = circuits.integer(i, c_id);
      if (!id) continue;
      by_id[*id] = CircuitRow{std::string(circuits.at(i, c_ref)), std::string(circuits.at(i, c_loc)),
                              std::string(circuits.at(i, c_country))};
    }
  }
  const auto races = csv::Table::read(dir / "races.csv");
  std::map<std::string, int> by_name;  // "2021 Bahrain Grand Prix" -> raceId
  {
    const int c_id = races.require("raceId"), c_year = races.require("year"), c_round = races.require("round"),
              c_circuit = races.require("circuitId"), c_name = races.require("name");
    for (std::size_t i = 0; i < races.size(); ++i) {
      auto id = races.integer(i, c_id), year = races.integer(i, c_year), round = races.integer(i, c_round),
           circuit = races.integer(i, c_circuit);
      if (!id || !year || !round || !circuit) continue;
      Race r;
      r.id = *id;
      r.year = *year;
      r.round = *round;
      r.circuit_id = *circuit;
      r.name = std::string(races.at(i, c_name));
      if (auto it = by_id.find(*circuit); it != by_id.end()) {
        r.circuit_ref = it->second.ref;
        r.location = it->second.location;
        r.country = it->second.country;
      }
      by_name[std::to_string(r.year) + " " + r.name] = r.id;
      a.races[r.id] = std::move(r);
    }
  }
  const auto sc = csv::Table::read(dir / "safety_cars.csv");
  {
    const int c_race = sc.require("Race"), c_dep = sc.require("Deployed"), c_ret = sc.require("Retreated");
    for (std::size_t i = 0; i < sc.size(); ++i) {
      auto it = by_name.find(std::string(sc.at(i, c_race)));
      auto dep = sc.integer(i, c_dep);
      if (it == by_name.end() || !dep) continue;
      const int ret = sc.integer(i, c_ret).value_or(1000);  // missing: to the end of the race
      a.safety_cars[it->second].emplace_back(*dep, ret);
    }
  }
  if (!with_laps) return a;

  const auto laps = csv::Table::read(dir / "lap_times_2020_2022.csv");
  {
    const int c_race = laps.require("raceid"), c_driver = laps.require("driverid"), c_lap = laps.require("lap"),
              c_pos = laps.require("position"), c_ms = laps.require("milliseconds");
    for (std::size_t i = 0; i < laps.size(); ++i) {
      auto race = laps.integer(i, c_race), driver = laps.integer(i, c_driver), lap = laps.integer(i, c_lap);
      auto ms = laps.number(i, c_ms);
      if (!race || !driver || !lap || !ms || *ms <= 0) continue;
      a.laps[*race].push_back(Lap{*driver, *lap, laps.integer(i, c_pos).value_or(0), *ms / 1000.0});
    }
  }
  const auto stops = csv::Table::read(dir / "pit_stops.csv");
  {
    const int c_race = stops.require("raceId"), c_driver = stops.require("driverId"), c_lap = stops.require("lap");
    for (std::size_t i = 0; i < stops.size(); ++i) {
      auto race = stops.integer(i, c_race), driver = stops.integer(i, c_driver), lap = stops.integer(i, c_lap);
      if (!race || !driver || !lap || !a.laps.contains(*race)) continue;
      a.pit_laps[{*race, *driver}].push_back(*lap);
    }
    for (auto& [k, v] : a.pit_laps) std::sort(v.begin(), v.end());
  }
  return a;
}

bool under_safety_car(const Archive& a, int race_id, int lap) {
  auto it = a.safety_cars.find(race_id);
  if (it == a.safety_cars.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [lap](const auto& p) { return lap >= p.first && lap <= p.second; });
}

}  // namespace boxcall::infer::ergast
