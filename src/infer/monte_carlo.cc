#include "infer/monte_carlo.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace boxcall::infer {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t splitmix64(std::uint64_t& x) {
  std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(std::uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

std::uint64_t Rng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  // 53 random bits, shifted off zero: (0, 1).
  return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform()));
  const double a = 6.283185307179586 * uniform();
  spare_ = r * std::sin(a);
  has_spare_ = true;
  return r * std::cos(a);
}

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
  std::uint64_t x = a ^ (b + 0x9E3779B97F4A7C15ULL + (a << 6) + (a >> 2));
  return splitmix64(x);
}

bool compound_rule_satisfied(std::int32_t used_mask) {
  const int wet = compound_bit(Compound::Intermediate) | compound_bit(Compound::Wet);
  if (used_mask & wet) return true;
  int dry = 0;
  for (Compound c : kDryCompounds) dry += (used_mask & compound_bit(c)) ? 1 : 0;
  return dry >= 2;
}

std::optional<SimResult> PitSimulator::run(const SimInput& in) {
  const std::int32_t remaining = in.total_laps - in.lap;
  if (remaining < 2 || remaining > kMaxRaceLaps) return std::nullopt;
  const auto laps_left = static_cast<std::size_t>(remaining);
  if (in.current.size() < laps_left) return std::nullopt;

  // Prefix sums: laps 1..n of the current set, and n laps of each fresh set.
  cur_base_[0] = cur_deg_[0] = 0;
  for (std::size_t k = 1; k <= laps_left; ++k) {
    cur_base_[k] = cur_base_[k - 1] + in.current_base;
    cur_deg_[k] = cur_deg_[k - 1] + (in.current[k - 1] - in.current_base);
  }
  std::array<bool, 3> usable{};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& f = in.fresh[i];
    usable[i] = f.size() >= laps_left - 1 && laps_left >= 2;
    if (!usable[i]) continue;
    const double base = f[0];
    fresh_base_[i][0] = fresh_deg_[i][0] = 0;
    for (std::size_t a = 1; a < laps_left; ++a) {
      fresh_base_[i][a] = fresh_base_[i][a - 1] + base;
      fresh_deg_[i][a] = fresh_deg_[i][a - 1] + (f[a - 1] - base);
    }
  }

  // Best tail after the first stop, by laps left n (expected values): run n
  // laps on c1, or t laps on c1, stop, n - t laps on c2; the rule holds at the end.
  const double pit_loss = in.pit_loss_s;
  for (std::size_t n = 1; n < laps_left; ++n) {
    double best = kInf, best_base = 0, best_deg = 0;
    std::int8_t best_c = -1, best_stops = 0;
    for (std::size_t c1 = 0; c1 < 3; ++c1) {
      if (!usable[c1]) continue;
      const std::int32_t mask1 = in.compounds_used_mask | compound_bit(kDryCompounds[c1]);
      if (compound_rule_satisfied(mask1)) {
        const double cost = fresh_base_[c1][n] + fresh_deg_[c1][n];
        if (cost < best) {
          best = cost, best_base = fresh_base_[c1][n], best_deg = fresh_deg_[c1][n];
          best_c = static_cast<std::int8_t>(c1), best_stops = 0;
        }
      }
      for (std::size_t c2 = 0; c2 < 3; ++c2) {
        if (!usable[c2] || !compound_rule_satisfied(mask1 | compound_bit(kDryCompounds[c2]))) continue;
        for (std::size_t t = 1; t < n; ++t) {
          const double b = fresh_base_[c1][t] + pit_loss + fresh_base_[c2][n - t];
          const double d = fresh_deg_[c1][t] + fresh_deg_[c2][n - t];
          if (b + d < best) {
            best = b + d, best_base = b, best_deg = d;
            best_c = static_cast<std::int8_t>(c1), best_stops = 1;
          }
        }
      }
    }
    tail_base_[n] = best == kInf ? kInf : best_base;
    tail_deg_[n] = best == kInf ? 0 : best_deg;
    tail_compound_[n] = best_c;
    tail_stops_[n] = best_stops;
  }

  const bool may_finish = compound_rule_satisfied(in.compounds_used_mask);
  std::fill(cost_sum_.begin(), cost_sum_.begin() + static_cast<std::ptrdiff_t>(laps_left) + 1, 0.0);
  std::fill(wins_.begin(), wins_.begin() + static_cast<std::ptrdiff_t>(laps_left) + 1, 0);
  const std::int32_t scenarios = std::max(1, in.scenarios);
  const double p = std::clamp(in.sc_prob_per_lap, 0.0, 0.999);
  const double log_q = p > 0 ? std::log1p(-p) : 0;
  Rng rng(in.seed);
  for (std::int32_t sc = 0; sc < scenarios; ++sc) {
    const double m = std::max(0.0, 1.0 + in.deg_sd * rng.normal());
    const double loss = std::max(0.0, pit_loss + in.pit_loss_sd_s * rng.normal());
    // One random SC period (laps [sc_from, sc_to] from now) besides the one running now.
    std::int64_t sc_from = kMaxRaceLaps + 1, sc_to = 0;
    if (p > 0) {
      sc_from = 1 + static_cast<std::int64_t>(std::floor(std::log(rng.uniform()) / log_q));
      sc_to = sc_from + in.sc_length_laps - 1;
    }
    double best = kInf;
    std::size_t arg = 0;
    for (std::size_t s = 1; s < laps_left; ++s) {
      if (tail_base_[laps_left - s] == kInf) {
        cost_sum_[s] = kInf;
        continue;
      }
      const auto si = static_cast<std::int64_t>(s);
      const bool cheap = si <= in.sc_active_laps || (si >= sc_from && si <= sc_to);
      const double cost = cur_base_[s] + m * cur_deg_[s] + (cheap ? in.sc_pit_factor * loss : loss) +
                          tail_base_[laps_left - s] + m * tail_deg_[laps_left - s];
      cost_sum_[s] += cost;
      if (cost < best) best = cost, arg = s;
    }
    if (may_finish) {
      const double cost = cur_base_[laps_left] + m * cur_deg_[laps_left];
      cost_sum_[laps_left] += cost;
      if (cost < best) best = cost, arg = laps_left;
    } else {
      cost_sum_[laps_left] = kInf;
    }
    if (arg > 0) ++wins_[arg];
  }

  std::size_t best = 0;
  for (std::size_t s = 1; s <= laps_left; ++s) {
    if (cost_sum_[s] < kInf && (best == 0 || cost_sum_[s] < cost_sum_[best])) best = s;
  }
  if (best == 0) return std::nullopt;  // no feasible plan (no usable curve)
  const double n = static_cast<double>(scenarios);
  SimResult r;
  r.scenarios = scenarios;
  r.mean_cost_best_s = cost_sum_[best] / n;
  r.pit_now_delta_s = cost_sum_[1] < kInf ? (cost_sum_[1] - cost_sum_[best]) / n : 0.0;
  if (best == laps_left) {
    r.stop = false;
    r.confidence = wins_[laps_left] / n;
    return r;
  }
  std::size_t lo = best, hi = best;
  const double limit = cost_sum_[best] + in.window_tolerance_s * n;
  while (lo > 1 && cost_sum_[lo - 1] <= limit) --lo;
  while (hi + 1 < laps_left && cost_sum_[hi + 1] <= limit) ++hi;
  std::int32_t in_window = 0;
  for (std::size_t s = lo; s <= hi; ++s) in_window += wins_[s];
  r.stop = true;
  r.window_start = in.lap + static_cast<std::int32_t>(lo);
  r.best = in.lap + static_cast<std::int32_t>(best);
  r.window_end = in.lap + static_cast<std::int32_t>(hi);
  r.next_compound = kDryCompounds[static_cast<unsigned char>(tail_compound_[laps_left - best])];
  r.planned_stops = 1 + tail_stops_[laps_left - best];
  r.confidence = in_window / n;
  return r;
}

}  // namespace boxcall::infer
