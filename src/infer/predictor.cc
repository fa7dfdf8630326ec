#include "infer/predictor.h"

#include <algorithm>
#include <cctype>

namespace boxcall::infer {

const CircuitPrior& StrategyPriors::for_circuit(std::string_view name) const {
  std::string key(name);
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [circuit, prior] : circuits) {
    if (!circuit.empty() && key.find(circuit) != std::string::npos) return prior;
  }
  return overall;
}

}  // namespace boxcall::infer
