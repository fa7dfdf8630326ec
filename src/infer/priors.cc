#include "infer/priors.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "infer/ergast.h"

namespace boxcall::infer {
namespace fs = std::filesystem;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

constexpr std::array<const char*, 3> kLifeKeys{"SOFT", "MEDIUM", "HARD"};

nlohmann::json to_json(const CircuitPrior& p, const CircuitPrior* inherited) {
  nlohmann::json j{{"pit_loss_s", p.pit_loss_s}, {"safety_car_per_race", p.safety_car_per_race}, {"races", p.races}};
  if (inherited == nullptr || p.tyre_life_laps != inherited->tyre_life_laps) {
    for (std::size_t i = 0; i < kLifeKeys.size(); ++i) {
      if (p.tyre_life_laps[i] > 0) j["tyre_life_laps"][kLifeKeys[i]] = p.tyre_life_laps[i];
    }
  }
  return j;
}

// `inherited`: where a circuit without its own tyre life takes it from (the overall prior).
CircuitPrior from_json(const nlohmann::json& j, const CircuitPrior* inherited) {
  CircuitPrior p;
  p.pit_loss_s = j.at("pit_loss_s").get<double>();
  p.safety_car_per_race = j.at("safety_car_per_race").get<double>();
  p.races = j.value("races", 0);
  if (inherited != nullptr) p.tyre_life_laps = inherited->tyre_life_laps;
  if (auto life = j.find("tyre_life_laps"); life != j.end()) {
    for (std::size_t i = 0; i < kLifeKeys.size(); ++i) {
      const double laps = life->value(kLifeKeys[i], 0.0);
      if (laps < 0 || laps > 200)
        throw std::runtime_error(std::string("tyre_life_laps.") + kLifeKeys[i] + " out of range");
      if (laps > 0) p.tyre_life_laps[i] = laps;
    }
  }
  return p;
}

}  // namespace

Result<StrategyPriors> load_priors(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return Error{Reason::MissingKey, "priors file not found: " + file.string()};
  try {
    auto j = nlohmann::json::parse(in);
    StrategyPriors p;
    p.overall = from_json(j.at("overall"), nullptr);
    for (const auto& [name, c] : j.at("circuits").items()) p.circuits[name] = from_json(c, &p.overall);
    return p;
  } catch (const std::exception& e) {
    return Error{Reason::MalformedJson, "unreadable priors file " + file.string() + ": " + e.what()};
  }
}

void save_priors(const StrategyPriors& priors, const fs::path& file, const std::string& source_note) {
  nlohmann::json j;
  j["overall"] = to_json(priors.overall, nullptr);
  j["circuits"] = nlohmann::json::object();
  for (const auto& [name, c] : priors.circuits) j["circuits"][name] = to_json(c, &priors.overall);
  if (!source_note.empty()) j["source"] = source_note;
  std::ofstream out(file);
  if (!out) throw ConfigError("cannot write " + file.string());
  out << j.dump(1) << '\n';
  if (!out) throw ConfigError("cannot write " + file.string());
}

StrategyPriors build_priors(const fs::path& ergast_dir, const PriorsConfig& config) {
  const ergast::Archive a = ergast::load(ergast_dir, /*with_laps=*/true);

  // Pit loss per stop, grouped by circuit.
  std::map<int, std::vector<double>> loss_by_circuit;
  std::vector<double> all_losses;
  for (const auto& [race_id, laps] : a.laps) {
    const auto& race = a.races.at(race_id);
    if (race.year < config.pit_loss_first_year || race.year > config.pit_loss_last_year) continue;
    std::map<int, std::map<int, double>> by_driver;  // driver -> lap -> seconds
    for (const auto& l : laps) by_driver[l.driver][l.lap] = l.time_s;
    for (const auto& [driver, times] : by_driver) {
      auto pit = a.pit_laps.find({race_id, driver});
      if (pit == a.pit_laps.end()) continue;
      const std::set<int> in_laps(pit->second.begin(), pit->second.end());
      std::vector<double> green;
      for (const auto& [lap, t] : times) {
        if (lap == 1 || in_laps.contains(lap) || in_laps.contains(lap - 1) || ergast::under_safety_car(a, race_id, lap))
          continue;
        green.push_back(t);
      }
      if (green.size() < 5) continue;
      const double med = median(green);
      for (int in_lap : in_laps) {
        auto in = times.find(in_lap), out = times.find(in_lap + 1);
        if (in == times.end() || out == times.end() || in_lap == 1) continue;
        if (ergast::under_safety_car(a, race_id, in_lap) || ergast::under_safety_car(a, race_id, in_lap + 1)) continue;
        const double loss = in->second + out->second - 2 * med;
        if (loss < 5 || loss > 60) continue;  // red flags, penalties, damage: not a routine stop
        loss_by_circuit[race.circuit_id].push_back(loss);
        all_losses.push_back(loss);
      }
    }
  }

  // Safety-car deployments per race, over the races of the configured years.
  std::map<int, std::pair<int, int>> sc_by_circuit;  // circuit -> (deployments, races)
  int total_sc = 0, total_races = 0;
  for (const auto& [id, race] : a.races) {
    if (race.year < config.safety_car_first_year || race.year > config.safety_car_last_year) continue;
    auto it = a.safety_cars.find(id);
    const int n = it == a.safety_cars.end() ? 0 : static_cast<int>(it->second.size());
    auto& s = sc_by_circuit[race.circuit_id];
    s.first += n;
    s.second += 1;
    total_sc += n;
    total_races += 1;
  }

  StrategyPriors p;
  p.overall.pit_loss_s = all_losses.empty() ? 22.0 : median(all_losses);
  p.overall.safety_car_per_race = total_races > 0 ? static_cast<double>(total_sc) / total_races : 0.5;
  p.overall.races = total_races;

  std::map<std::string, int> country_circuits;  // key -> number of circuits in that country
  std::set<int> circuits;
  for (const auto& [c, l] : loss_by_circuit) circuits.insert(c);
  for (const auto& [c, s] : sc_by_circuit) circuits.insert(c);
  std::map<int, const ergast::Race*> any_race;
  for (const auto& [id, race] : a.races) any_race[race.circuit_id] = &race;
  for (int c : circuits) ++country_circuits[ergast::key(any_race.at(c)->country)];

  for (int c : circuits) {
    CircuitPrior prior;
    auto losses = loss_by_circuit.find(c);
    // Circuits without recent lap times keep the overall pit loss.
    prior.pit_loss_s =
        losses != loss_by_circuit.end() && losses->second.size() >= 5 ? median(losses->second) : p.overall.pit_loss_s;
    auto sc = sc_by_circuit.find(c);
    if (sc != sc_by_circuit.end() && sc->second.second > 0) {
      prior.safety_car_per_race = static_cast<double>(sc->second.first) / sc->second.second;
      prior.races = sc->second.second;
    } else {
      prior.safety_car_per_race = p.overall.safety_car_per_race;
    }
    const ergast::Race& r = *any_race.at(c);
    for (const std::string& k : {ergast::key(r.circuit_ref), ergast::key(r.location)}) {
      if (k.size() >= 3) p.circuits.emplace(k, prior);
    }
    const std::string country = ergast::key(r.country);
    if (country.size() >= 4 && country_circuits[country] == 1) p.circuits.emplace(country, prior);
  }
  return p;
}

}  // namespace boxcall::infer
