#include "sources/synth.h"

#include "base/regulations.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <random>
#include <utility>

#include "base/check.h"
#include "base/result.h"

namespace boxcall::sources {
namespace {

// ================================================================ circuit

/// A piece of the circuit: a straight (corner_kph == 0) or a corner driven at
/// a constant target speed (a piece may stand for a complex). 5.412 km, three
/// DRS straights, pit lane along the main straight.
struct TrackPiece {
  double length_m;
  double corner_kph;
};
constexpr std::array<TrackPiece, 23> kPieces{{
    {650, 0}, {80, 95},  {140, 0}, {70, 175}, {560, 0}, {70, 120}, {280, 0}, {220, 205},
    {220, 0}, {70, 135}, {160, 0}, {90, 105}, {520, 0}, {70, 150}, {310, 0}, {180, 265},
    {270, 0}, {80, 150}, {600, 0}, {70, 130}, {160, 0}, {70, 180}, {472, 0},
}};
constexpr double pieces_length() {
  double s = 0;
  for (const auto& p : kPieces) s += p.length_m;
  return s;
}
constexpr double kLapLength = pieces_length();
constexpr int kLapMetres = 5412;
static_assert(kLapLength == kLapMetres, "the profile grid is one point per metre");

constexpr double kSector1End = 1840;            // after turn 4
constexpr double kSector2End = 3740;            // after turn 12
constexpr double kPitEntry = kLapLength - 190;  // pit lane limit starts (in-lap)
constexpr double kPitBox = 110;                 // the stop (out-lap)
constexpr double kPitExit = 250;                // pit lane limit ends (out-lap)
constexpr double kPitLimitKph = 80;
constexpr double kPitLimit = kPitLimitKph / 3.6;

struct DrsZone {
  double from, to;
};
constexpr std::array<DrsZone, 3> kDrsZones{{{40, 520}, {1000, 1390}, {4130, 4580}}};
constexpr double kDrsArmedLead = 150;  // code 8 shown this far before a zone when eligible

// Car physics: acceleration limited by traction at low speed and by power and
// drag above (top speed ~345 km/h); aero-assisted braking b(v) = b0 + b1 v^2.
// The standing start uses the closed form of a(v) = a0 (1 - v^2/vt^2).
constexpr double kAccel0 = 12.0;         // m/s^2, launch
constexpr double kTopSpeed = 96.0;       // m/s, drag limit (345.6 km/h)
constexpr double kTraction = 13.0;       // m/s^2
constexpr double kPowerPerMass = 900.0;  // W/kg
constexpr double kDragPerMass = kPowerPerMass / (kTopSpeed * kTopSpeed * kTopSpeed);
double accel_at(double v) {
  return std::max(0.0, std::min(kTraction, kPowerPerMass / std::max(v, 1.0)) - kDragPerMass * v * v);
}
double decel_at(double v) { return 18.0 + 0.0035 * v * v; }
double launch_v_at(double d) {
  return kTopSpeed * std::sqrt(1.0 - std::exp(-2.0 * kAccel0 * d / (kTopSpeed * kTopSpeed)));
}
double launch_t_at(double d) {
  return kTopSpeed / kAccel0 * std::acosh(std::exp(kAccel0 * d / (kTopSpeed * kTopSpeed)));
}

// ================================================================ profiles

constexpr double kDtau = 0.01;  // profile grid step, seconds of reference time
constexpr double kInvDtau = 1.0 / kDtau;

struct ProfilePoint {
  float s;  // metres from the line
  float v;  // m/s
  std::uint8_t throttle;
  bool brake;
};

struct ProfileSample {
  double s, v, throttle;
  bool brake;
};

/// Speed, throttle and brake of one kind of lap against reference time tau,
/// on a uniform tau grid (O(1) lookup per sample).
class Profile {
 public:
  /// `vlim`: speed limit per metre, 0..L inclusive. Forward (acceleration) and
  /// backward (braking) envelopes from the given boundary speeds.
  static Profile solve(const std::vector<double>& vlim, double v_begin, double v_end) {
    std::vector<double> vf;
    std::vector<double> vb;
    envelopes(vlim, v_begin, v_end, vf, vb);
    const std::size_t n = vlim.size();
    Profile p;
    p.v_m_.resize(n);
    std::vector<std::uint8_t> thr(n);
    std::vector<bool> brk(n);
    constexpr double kEps = 1e-6;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = std::min(vf[i], vb[i]);
      p.v_m_[i] = v;
      if (v < 0.05) {
        thr[i] = 0;
        brk[i] = false;
      } else if (vb[i] < vf[i] - kEps && vb[i] < vlim[i] - kEps) {
        thr[i] = 0;
        brk[i] = true;
      } else if (vf[i] < vlim[i] - kEps) {
        thr[i] = 100;
        brk[i] = false;
      } else {  // held at a corner speed or the pit limiter: part throttle
        thr[i] = static_cast<std::uint8_t>(std::clamp(15.0 + 0.25 * v * 3.6, 15.0, 75.0));
        brk[i] = false;
      }
    }
    p.tau_m_.resize(n);
    p.tau_m_[0] = 0;
    for (std::size_t i = 0; i + 1 < n; ++i) {
      p.tau_m_[i + 1] = p.tau_m_[i] + 1.0 / std::max(0.5 * (p.v_m_[i] + p.v_m_[i + 1]), 0.05);
    }
    p.duration_ = p.tau_m_[n - 1];
    const auto m = static_cast<std::size_t>(p.duration_ * kInvDtau) + 2;
    p.grid_.resize(m);
    std::size_t i = 0;
    for (std::size_t j = 0; j < m; ++j) {
      const double tau = std::min(static_cast<double>(j) * kDtau, p.duration_);
      while (i + 2 < n && p.tau_m_[i + 1] <= tau) ++i;
      const double f = std::clamp((tau - p.tau_m_[i]) / (p.tau_m_[i + 1] - p.tau_m_[i]), 0.0, 1.0);
      p.grid_[j] = ProfilePoint{static_cast<float>(static_cast<double>(i) + f),
                                static_cast<float>(p.v_m_[i] + f * (p.v_m_[i + 1] - p.v_m_[i])), thr[i], brk[i]};
    }
    return p;
  }

  static void envelopes(const std::vector<double>& vlim, double v_begin, double v_end, std::vector<double>& vf,
                        std::vector<double>& vb) {
    const std::size_t n = vlim.size();
    vf.assign(n, 0);
    vb.assign(n, 0);
    vf[0] = std::min(vlim[0], v_begin);
    for (std::size_t i = 1; i < n; ++i) {
      vf[i] = std::min(vlim[i], std::sqrt(vf[i - 1] * vf[i - 1] + 2.0 * accel_at(vf[i - 1])));
    }
    vb[n - 1] = std::min(vlim[n - 1], v_end);
    for (std::size_t i = n - 1; i-- > 0;) {
      vb[i] = std::min(vlim[i], std::sqrt(vb[i + 1] * vb[i + 1] + 2.0 * decel_at(vb[i + 1])));
    }
  }

  [[nodiscard]] ProfileSample at(double tau) const {
    const double x = std::max(tau, 0.0) * kInvDtau;
    const std::size_t i = std::min(static_cast<std::size_t>(x), grid_.size() - 2);
    const double f = std::min(x - static_cast<double>(i), 1.0);
    const ProfilePoint& a = grid_[i];
    const ProfilePoint& b = grid_[i + 1];
    return {a.s + f * (b.s - a.s), a.v + f * (b.v - a.v), static_cast<double>(a.throttle), a.brake};
  }
  [[nodiscard]] double tau_at(double s) const {
    const double c = std::clamp(s, 0.0, static_cast<double>(tau_m_.size() - 1));
    const std::size_t i = std::min(static_cast<std::size_t>(c), tau_m_.size() - 2);
    return tau_m_[i] + (c - static_cast<double>(i)) * (tau_m_[i + 1] - tau_m_[i]);
  }
  [[nodiscard]] double duration() const { return duration_; }
  [[nodiscard]] double v_at_metre(std::size_t i) const { return v_m_[i]; }
  [[nodiscard]] const std::vector<ProfilePoint>& grid() const { return grid_; }

 private:
  std::vector<ProfilePoint> grid_;
  std::vector<double> tau_m_;  // reference time at each metre
  std::vector<double> v_m_;
  double duration_ = 0;
};

enum class ProfileId : std::uint8_t { Racing = 0, InLap = 1, OutLap = 2 };

struct TrackModel {
  std::array<Profile, 3> profiles;
  double in_pit_entry_tau = 0;            // in-lap: reference time at the pit entry line
  double out_box_tau = 0;                 // out-lap: at the box
  double out_pit_exit_tau = 0;            // out-lap: at the pit exit line
  double pit_loss_s = 0;                  // nominal, k = 1, 2.4 s stationary
  std::vector<std::array<float, 3>> xyz;  // every kXyzStep metres
  [[nodiscard]] const Profile& profile(ProfileId id) const { return profiles[static_cast<std::size_t>(id)]; }
};
constexpr double kXyzStep = 4.0;

std::array<float, 3> shape_at(double s) {
  const double th = 2.0 * std::numbers::pi * s / kLapLength;
  return {static_cast<float>(1150.0 * std::cos(th) + 180.0 * std::cos(2 * th) + 90.0 * std::sin(3 * th)),
          static_cast<float>(520.0 * std::sin(th) - 140.0 * std::sin(2 * th) + 60.0 * std::cos(3 * th)),
          static_cast<float>(4.0 * std::sin(th) + 1.5 * std::cos(2 * th))};
}

TrackModel build_track_model() {
  std::vector<double> vlim(kLapMetres + 1, 2.0 * kTopSpeed);
  double at = 0;
  for (const auto& p : kPieces) {
    if (p.corner_kph > 0) {
      for (auto m = static_cast<std::size_t>(at); m < static_cast<std::size_t>(at + p.length_m); ++m) {
        vlim[m] = p.corner_kph / 3.6;
      }
    }
    at += p.length_m;
  }
  TrackModel tm;
  // Racing lap: periodic; a first pass finds the speeds at the line.
  std::vector<double> vf;
  std::vector<double> vb;
  Profile::envelopes(vlim, 0.0, 2.0 * kTopSpeed, vf, vb);
  const double v_line_fwd = vf.back();
  const double v_line_bwd = vb.front();
  auto& racing = tm.profiles[0];
  racing = Profile::solve(vlim, v_line_fwd, v_line_bwd);
  const double v_line = racing.v_at_metre(0);

  std::vector<double> in = vlim;
  for (auto m = static_cast<std::size_t>(kPitEntry); m < in.size(); ++m) in[m] = std::min(in[m], kPitLimit);
  tm.profiles[1] = Profile::solve(in, v_line, kPitLimit);
  std::vector<double> out = vlim;
  for (std::size_t m = 0; m <= static_cast<std::size_t>(kPitExit); ++m) out[m] = std::min(out[m], kPitLimit);
  out[static_cast<std::size_t>(kPitBox)] = 0;
  tm.profiles[2] = Profile::solve(out, kPitLimit, racing.v_at_metre(kLapMetres));

  tm.in_pit_entry_tau = tm.profiles[1].tau_at(kPitEntry);
  tm.out_box_tau = tm.profiles[2].tau_at(kPitBox);
  tm.out_pit_exit_tau = tm.profiles[2].tau_at(kPitExit);
  tm.pit_loss_s = tm.profiles[1].duration() + tm.profiles[2].duration() + 2.4 - 2 * racing.duration();

  const auto n = static_cast<std::size_t>(kLapLength / kXyzStep) + 2;
  tm.xyz.resize(n);
  for (std::size_t i = 0; i < n; ++i) tm.xyz[i] = shape_at(static_cast<double>(i) * kXyzStep);
  return tm;
}

const TrackModel& track_model() {
  static const TrackModel kModel = build_track_model();
  return kModel;
}

// ================================================================ car model

constexpr std::array<float, 9> kGearTopKph{0, 95, 130, 165, 200, 235, 270, 305, 360};

std::int8_t gear_for(float kph) {
  if (kph < 1.0f) return 0;
  std::int8_t g = 1;
  while (g < 8 && kph > kGearTopKph[static_cast<unsigned char>(g)]) ++g;
  return g;
}

float rpm_for(float kph, std::int8_t gear) {
  if (gear <= 0) return 4200.0f;
  if (gear == 1) return 5000.0f + 6500.0f * std::min(kph / kGearTopKph[1], 1.0f);
  const float lo = kGearTopKph[static_cast<unsigned char>(gear) - 1U];
  const float hi = kGearTopKph[static_cast<unsigned char>(gear)];
  return 10300.0f + 1500.0f * std::clamp((kph - lo) / (hi - lo), 0.0f, 1.0f);
}

struct DriverEntry {
  const char* code;
  std::uint16_t number;
};
// Roughly in order of pace: the table index sets the car's base pace.
constexpr std::array<DriverEntry, 20> kDrivers{{
    {"VER", 1},  {"LEC", 16}, {"NOR", 4},  {"SAI", 55}, {"HAM", 44}, {"PIA", 81}, {"RUS", 63},
    {"PER", 11}, {"ALO", 14}, {"STR", 18}, {"HUL", 27}, {"TSU", 22}, {"RIC", 3},  {"ALB", 23},
    {"GAS", 10}, {"OCO", 31}, {"MAG", 20}, {"BOT", 77}, {"ZHO", 24}, {"SAR", 2},
}};

constexpr double kStartFuelKg = kFuelStartKg;
constexpr double kFuelSPerKg = kFuelEffectSPerKg;
// Indexed by Compound (Unknown, Soft, Medium, Hard).
constexpr std::array<double, 4> kCompoundOffsetS{0.0, -0.65, 0.0, 0.45};
constexpr std::array<double, 4> kDegSPerLap{0.06, 0.095, 0.055, 0.032};
constexpr std::array<int, 4> kCliffLap{30, 16, 27, 40};
constexpr double kCliffSPerLap2 = 0.03;
constexpr double kScFactor = 1.0 / 1.4;  // pace of the lap remainder when the SC is deployed
constexpr double kMaxPace = 1.04;        // the car cannot lap faster than the profile allows (~87 s)

double tyre_penalty_s(Compound c, int life) {
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(c), 3);
  const double over = std::max(0, life - kCliffLap[i]);
  return kCompoundOffsetS[i] + kDegSPerLap[i] * (life - 1) + kCliffSPerLap2 * over * over;
}

constexpr TimeNs kNever = std::numeric_limits<TimeNs>::max();

/// std::mt19937_64 with distributions written out, so that the sequence does
/// not depend on the standard library's distribution implementations.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : g_(seed) {}
  std::uint64_t bits() { return g_(); }
  double uniform() { return static_cast<double>(g_() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  bool chance(double p) { return uniform() < p; }
  double normal() {
    const double u1 = 1.0 - uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 g_;
};

/// 16-bit lane `lane` of `r` as a value in [-0.5, 0.5).
inline double lane(std::uint64_t r, int lane_index) {
  return static_cast<double>((r >> (16 * lane_index)) & 0xffffU) * (1.0 / 65536.0) - 0.5;
}

// ================================================================ lap plans

enum class SegKind : std::uint8_t { Profile, Hold, Launch, Roll };

constexpr double kRampTau = 3.0;  // pace changes (SC, restart, pit lane) ramp over this much reference time

/// A piece of a lap: maps lap-relative time [t0, t1) to a car state. Profile
/// segments follow a profile at a pace k (reference seconds per second) that
/// changes linearly in time from k0 to k1, so that pace changes are smooth.
struct Segment {
  SegKind kind = SegKind::Hold;
  ProfileId profile = ProfileId::Racing;
  bool scalable = false;      // on track at racing pace: a safety car slows it down
  bool sc = false;            // driven behind the safety car
  double tau0 = 0, tau1 = 0;  // Profile: reference time range
  double k0 = 1, k1 = 1;      // Profile: pace at t0 and at t1
  double dur = 0;             // Hold/Launch/Roll
  double s0 = 0, v0 = 0, a = 0;
  double t0 = 0, t1 = 0;

  [[nodiscard]] double duration() const { return kind == SegKind::Profile ? 2.0 * (tau1 - tau0) / (k0 + k1) : dur; }
  [[nodiscard]] double slope() const { return t1 > t0 ? (k1 - k0) / (t1 - t0) : 0.0; }
  [[nodiscard]] double k_at(double dt) const { return k0 + slope() * dt; }
  [[nodiscard]] double tau_at(double dt) const { return tau0 + k0 * dt + 0.5 * slope() * dt * dt; }
  /// Inverse of tau_at, in the form without cancellation.
  [[nodiscard]] double dt_at(double tau) const {
    const double x = tau - tau0;
    return 2.0 * x / (k0 + std::sqrt(std::max(0.0, k0 * k0 + 2.0 * slope() * x)));
  }
};

struct LapPlan {
  static constexpr int kCapacity = 9;
  std::array<Segment, kCapacity> seg{};
  int n = 0;
  int pit_lane_seg = -1;  // in-lap: PitIn at its start
  int pit_exit_seg = -1;  // out-lap: PitOut at its start
  ProfileId main = ProfileId::Racing;

  Segment& at(int i) { return seg[static_cast<std::size_t>(i)]; }
  [[nodiscard]] const Segment& at(int i) const { return seg[static_cast<std::size_t>(i)]; }

  void clear(double t0) {
    n = 0;
    pit_lane_seg = pit_exit_seg = -1;
    seg[0].t0 = t0;
  }
  void add(const Segment& g) {
    BOXCALL_CHECK(n < kCapacity, "lap plan segments");
    const double t0 = n == 0 ? seg[0].t0 : at(n - 1).t1;
    auto& s = at(n++);
    s = g;
    s.t0 = t0;
    s.t1 = t0 + s.duration();
  }
  /// Follows profile `id` over [tau0, tau1], ramping the pace from `k_from` to `k` first.
  void add_profile(ProfileId id, double tau0, double tau1, double k_from, double k, bool scalable) {
    Segment g;
    g.kind = SegKind::Profile;
    g.profile = id;
    g.scalable = scalable;
    g.tau0 = tau0;
    g.k0 = g.k1 = k;
    if (std::abs(k_from - k) > 1e-3) {
      g.tau1 = std::min(tau0 + kRampTau, tau1);
      g.k0 = k_from;
      add(g);
      if (tau1 - g.tau1 < 1e-6) return;
      g.tau0 = g.tau1;
      g.k0 = k;
    }
    g.tau1 = tau1;
    add(g);
  }
  void insert(int i, const Segment& g) {
    BOXCALL_CHECK(n < kCapacity, "lap plan segments");
    for (int j = n; j > i; --j) at(j) = at(j - 1);
    at(i) = g;
    ++n;
    if (pit_lane_seg >= i) ++pit_lane_seg;
    if (pit_exit_seg >= i) ++pit_exit_seg;
  }
  void retime() {
    double t = seg[0].t0;
    for (int i = 0; i < n; ++i) {
      auto& s = at(i);
      s.t0 = t;
      t += s.duration();
      s.t1 = t;
    }
  }
  [[nodiscard]] double end() const { return at(n - 1).t1; }
  [[nodiscard]] double end_pace() const { return n > 0 && at(n - 1).kind == SegKind::Profile ? at(n - 1).k1 : 1.0; }
  [[nodiscard]] bool any_sc() const {
    for (int i = 0; i < n; ++i) {
      if (at(i).sc) return true;
    }
    return false;
  }

  /// The safety car comes out at lap-relative time `rel`: from there on, the
  /// car on track slows (over a short ramp) to `factor` times its pace.
  void slow_down_from(double rel, double factor) {
    for (int i = 0; i < n; ++i) {
      auto& g = at(i);
      if (g.kind != SegKind::Profile || !g.scalable || g.sc || g.t1 <= rel) continue;
      if (g.t0 < rel) {
        const Segment whole = g;
        const double dt = rel - g.t0;
        const double k_x = g.k_at(dt);
        const double tau_x = g.tau_at(dt);
        g.tau1 = tau_x;
        g.k1 = k_x;
        Segment ramp = whole;
        ramp.tau0 = tau_x;
        ramp.tau1 = std::min(tau_x + kRampTau, whole.tau1);
        ramp.k0 = k_x;
        ramp.k1 = whole.k1 * factor;
        ramp.sc = true;
        insert(i + 1, ramp);
        ++i;
        if (whole.tau1 - ramp.tau1 > 1e-6) {
          Segment rest = whole;
          rest.tau0 = ramp.tau1;
          rest.k0 = rest.k1 = ramp.k1;
          rest.sc = true;
          insert(i + 1, rest);
          ++i;
        }
      } else {
        g.k0 *= factor;
        g.k1 *= factor;
        g.sc = true;
      }
    }
    // Pace is continuous across consecutive profile segments.
    for (int i = 1; i < n; ++i) {
      if (at(i).kind == SegKind::Profile && at(i - 1).kind == SegKind::Profile) at(i).k0 = at(i - 1).k1;
    }
    retime();
  }

  /// Lap-relative time at reference time `tau` of the main profile (sectors).
  [[nodiscard]] double time_at_tau(double tau) const {
    for (int i = 0; i < n; ++i) {
      const auto& g = at(i);
      if (g.kind == SegKind::Profile && g.profile == main && tau >= g.tau0 && tau <= g.tau1) {
        return g.t0 + g.dt_at(tau);
      }
    }
    return std::numeric_limits<double>::quiet_NaN();
  }
};

struct Kinematics {
  double s, v, throttle;
  bool brake;
};

Kinematics evaluate(const TrackModel& tm, const Segment& g, double rel) {
  switch (g.kind) {
    case SegKind::Profile: {
      const double dt = rel - g.t0;
      const double k = g.k_at(dt);
      const double tau = std::clamp(g.tau_at(dt), g.tau0, g.tau1);
      const ProfileSample p = tm.profile(g.profile).at(tau);
      double throttle = p.throttle;
      if (g.k1 < g.k0 - 0.02) {
        throttle *= 0.2;  // lifting to slow down
      } else if (g.sc) {
        throttle *= 0.45;
      }
      return {p.s, p.v * k, throttle, p.brake};
    }
    case SegKind::Hold:
      return {g.s0, 0.0, 0.0, false};
    case SegKind::Launch: {
      const double x = kAccel0 * std::clamp(rel - g.t0, 0.0, g.dur) / kTopSpeed;
      return {g.s0 + kTopSpeed * kTopSpeed / kAccel0 * std::log(std::cosh(x)), kTopSpeed * std::tanh(x), 100.0, false};
    }
    case SegKind::Roll: {
      const double dt = std::clamp(rel - g.t0, 0.0, g.dur);
      const double v = std::max(0.0, g.v0 + g.a * dt);
      return {g.s0 + g.v0 * dt + 0.5 * g.a * dt * dt, v, 0.0, v > 0.01};
    }
  }
  return {0, 0, 0, false};
}

enum class CarEvent : std::uint8_t { PitIn, PitOut, Lap };

struct Car {
  std::uint16_t number = 0;
  DriverCode code;
  std::size_t index = 0;
  // fixed for the race
  double pace_s = 0;    // lap time offset against the reference car
  double sigma_s = 0;   // lap-to-lap consistency
  int grid = 0;         // 1-based grid slot
  double grid_m = 0;    // distance of the slot behind the line
  double stop_s = 2.4;  // crew speed
  static constexpr int kMaxStops = 3;
  std::array<Compound, kMaxStops + 1> stint_compound{};
  std::array<int, kMaxStops> stop_lap{};
  int stops = 0;
  int next_stop = 0;
  // the lap in progress
  int lap = 1;
  TimeNs lap_start = 0;
  TimeNs lap_end = 0;
  LapPlan plan;
  int cur_seg = 0;
  bool in_lap = false;
  bool out_lap = false;
  bool drs_on = false;     // DRS enabled for this car this lap
  bool drs_close = false;  // within a second of the car ahead at the line
  std::array<TimeNs, 2> ev_time{};
  std::array<CarEvent, 2> ev_kind{};
  int ev_n = 0;
  int ev_i = 0;
  // tyres and fuel
  Compound compound = Compound::Medium;
  int tyre_life = 1;
  int stint = 1;
  bool fresh = true;
  double fuel_kg = kStartFuelKg;
  // race progress
  int laps_done = 0;
  TimeNs last_cross = std::numeric_limits<TimeNs>::min();
  bool finished = false;
  // sample clock
  TimeNs clock0 = 0;
  std::uint64_t sample_idx = 0;
  TimeNs next_sample = 0;

  [[nodiscard]] TimeNs key() const {
    const TimeNs ev = ev_i < ev_n ? ev_time[static_cast<std::size_t>(ev_i)] : kNever;
    return std::min(ev, next_sample);
  }
};

struct HeapEntry {
  TimeNs t;
  std::uint16_t car;
};
inline bool before(const HeapEntry& a, const HeapEntry& b) { return a.t < b.t || (a.t == b.t && a.car < b.car); }

}  // namespace

// ================================================================ the race

struct SynthRace::Impl {
  SynthConfig cfg;
  const TrackModel* tm = nullptr;
  Rng rng;
  std::vector<Car> cars;
  std::vector<HeapEntry> heap;
  std::vector<TimingEvent> pending;  // session-wide events, sorted by time (few at a time)

  TimeNs prelude_ns = 0;
  TimeNs utc0 = 0;  // event time at session time 0
  double period_ns = 0;
  double jitter_ns = 0;
  int sc_lap = 0;
  int sc_laps = 0;
  TimeNs sc_time = kNever;  // SC deployed (session time)
  TimeNs green_time = kNever;
  TimeNs drs_from = kNever;  // DRS enabled for laps starting at or after
  int drs_restart_lap = -1;
  bool chequered = false;
  TimeNs last_finish = 0;
  bool finish_scheduled = false;
  bool weather_active = true;
  TimeNs next_weather = 0;
  TimeNs weather_period = 0;
  double air_c = 0, track_c = 0, humidity = 0, pressure = 0, wind = 0, wind_dir = 0;
  double burn_kg = 0;

  explicit Impl(SynthConfig c) : cfg(std::move(c)), tm(&track_model()), rng(cfg.seed) { setup(); }

  // ------------------------------------------------------------ set-up
  void validate() const {
    auto fail = [](const std::string& what) { throw ConfigError("synthetic race: " + what); };
    if (cfg.session_id.empty()) fail("session_id is empty");
    if (cfg.cars < 1 || cfg.cars > 99) fail("cars must be in 1..99");
    if (!(cfg.hz > 0 && cfg.hz <= 1000)) fail("hz must be in (0, 1000]");
    if (cfg.laps < 5 || cfg.laps > 200) fail("laps must be in 5..200");
    if (!(cfg.base_lap_s >= 60 && cfg.base_lap_s <= 200)) fail("base_lap_s must be in [60, 200]");
    if (!(cfg.prelude_s >= 0 && cfg.prelude_s <= 600)) fail("prelude_s must be in [0, 600]");
    if (!(cfg.weather_period_s >= 1)) fail("weather_period_s must be >= 1");
    if (!(cfg.jitter_ms >= 0)) fail("jitter_ms must be >= 0");
    if (cfg.safety_car && cfg.sc_lap != 0 &&
        (cfg.sc_lap < 2 || cfg.sc_laps < 1 || cfg.sc_lap + cfg.sc_laps > cfg.laps - 1)) {
      fail("safety car must satisfy 2 <= sc_lap, 1 <= sc_laps, sc_lap + sc_laps <= laps - 1");
    }
  }

  void setup() {
    validate();
    prelude_ns = s_to_ns(cfg.prelude_s);
    utc0 = cfg.start_utc_ns - prelude_ns;
    period_ns = 1e9 / cfg.hz;
    jitter_ns = std::min(cfg.jitter_ms * 1e6, 0.2 * period_ns);
    burn_kg = (kStartFuelKg - 1.5) / cfg.laps;
    if (cfg.safety_car) {
      if (cfg.sc_lap != 0) {
        sc_lap = cfg.sc_lap;
        sc_laps = cfg.sc_laps;
      } else {
        sc_lap = std::max(2, static_cast<int>(std::lround(0.35 * cfg.laps)));
        sc_laps = std::min(std::max(cfg.sc_laps, 1), cfg.laps - 1 - sc_lap);
        if (sc_laps < 1) sc_lap = 0;
      }
    }
    air_c = rng.uniform(22, 30);
    track_c = air_c + rng.uniform(8, 16);
    humidity = rng.uniform(30, 65);
    pressure = rng.uniform(1005, 1018);
    wind = rng.uniform(0.5, 4);
    wind_dir = rng.uniform(0, 360);
    weather_period = s_to_ns(cfg.weather_period_s);

    const auto n = static_cast<std::size_t>(cfg.cars);
    cars.resize(n);
    std::vector<std::pair<double, std::size_t>> quali;
    for (std::size_t i = 0; i < n; ++i) {
      Car& c = cars[i];
      c.index = i;
      if (i < kDrivers.size()) {
        c.code = DriverCode(kDrivers[i].code);
        c.number = kDrivers[i].number;
        c.pace_s = 0.045 * static_cast<double>(i) + 0.08 * rng.normal();
      } else {
        char code[4] = {'X', static_cast<char>('0' + (i + 1) / 10), static_cast<char>('0' + (i + 1) % 10), 0};
        c.code = DriverCode(code);
        c.number = static_cast<std::uint16_t>(100 + i);
        c.pace_s = 0.9 + 0.15 * rng.normal();
      }
      c.sigma_s = rng.uniform(0.12, 0.25);
      c.stop_s = rng.uniform(2.1, 2.6);
      quali.emplace_back(c.pace_s + 0.12 * rng.normal(), i);
      plan_strategy(c);
    }
    std::sort(quali.begin(), quali.end());
    for (std::size_t p = 0; p < n; ++p) {
      Car& c = cars[quali[p].second];
      c.grid = static_cast<int>(p) + 1;
      c.grid_m = 6.0 + 8.0 * static_cast<double>(p);
      c.compound = c.stint_compound[0];
      c.tyre_life = c.grid <= 10 ? 3 : 1;  // the top ten start on their qualifying sets
      c.fresh = c.grid > 10;
    }
    for (auto& c : cars) {
      plan_first_lap(c);
      c.clock0 = static_cast<TimeNs>(jitter_ns + rng.uniform() * (period_ns - 2 * jitter_ns));
      c.next_sample = c.clock0;
    }
    push_global(prelude_ns, SessionInfo{cfg.laps, "Started", cfg.name});
    push_global(prelude_ns, TrackStatusChange{TrackStatus::Green, "AllClear"});
    rebuild_heap();
  }

  void plan_strategy(Car& c) {
    const int laps = cfg.laps;
    auto lap_at = [laps](double frac) { return static_cast<int>(std::lround(frac * laps)); };
    using C = Compound;
    const bool two = laps >= 12 && rng.chance(0.4);
    if (!two) {
      static constexpr std::array<std::array<C, 2>, 4> kOne{
          {{C::Medium, C::Hard}, {C::Hard, C::Medium}, {C::Soft, C::Hard}, {C::Soft, C::Medium}}};
      const double r = rng.uniform();
      const std::size_t pick = r < 0.5 ? 0 : r < 0.7 ? 1 : r < 0.9 ? 2 : 3;
      c.stint_compound[0] = kOne[pick][0];
      c.stint_compound[1] = kOne[pick][1];
      double lo = 0.30, hi = 0.48;
      if (kOne[pick][0] == C::Soft) lo = 0.22, hi = 0.35;
      if (kOne[pick][0] == C::Hard) lo = 0.45, hi = 0.62;
      c.stop_lap[0] = lap_at(rng.uniform(lo, hi));
      c.stops = 1;
    } else {
      static constexpr std::array<std::array<C, 3>, 5> kTwo{{{C::Soft, C::Medium, C::Hard},
                                                             {C::Soft, C::Hard, C::Medium},
                                                             {C::Medium, C::Hard, C::Hard},
                                                             {C::Soft, C::Medium, C::Soft},
                                                             {C::Medium, C::Hard, C::Medium}}};
      const auto pick = std::min<std::size_t>(static_cast<std::size_t>(rng.uniform() * 5), 4);
      for (std::size_t s = 0; s < 3; ++s) c.stint_compound[s] = kTwo[pick][s];
      c.stop_lap[0] = lap_at(rng.uniform(0.22, 0.33));
      c.stop_lap[1] = lap_at(rng.uniform(0.55, 0.70));
      c.stops = 2;
    }
    // Stops on laps [2, laps - 3], at least three laps apart; drop what does not fit.
    int prev = 0;
    int kept = 0;
    for (int s = 0; s < c.stops; ++s) {
      const int lap = std::clamp(c.stop_lap[static_cast<std::size_t>(s)], std::max(2, prev + 3), laps - 3);
      if (lap < prev + 3 || lap < 2) break;
      c.stop_lap[static_cast<std::size_t>(s)] = lap;
      prev = lap;
      ++kept;
    }
    c.stops = std::max(kept, 1);
    if (kept == 0) c.stop_lap[0] = std::max(2, laps / 2);
  }

  // ------------------------------------------------------------ lap planning
  [[nodiscard]] TimeNs abs_ns(TimeNs start, double rel_s) const { return start + s_to_ns(rel_s); }

  double green_lap_s(const Car& c) {
    double t = cfg.base_lap_s + c.pace_s + tyre_penalty_s(c.compound, c.tyre_life) +
               kFuelSPerKg * (c.fuel_kg - kStartFuelKg) + c.sigma_s * rng.normal();
    if (rng.chance(0.02)) t += rng.uniform(0.6, 2.5);  // a lock-up, a moment off track
    return t;
  }

  void plan_first_lap(Car& c) {
    const Profile& racing = tm->profile(ProfileId::Racing);
    c.lap = 1;
    c.lap_start = prelude_ns;
    c.in_lap = c.out_lap = false;
    c.drs_on = c.drs_close = false;
    const double traffic = 0.8 + 0.06 * c.grid;
    const double k = std::min(racing.duration() / (green_lap_s(c) + traffic), kMaxPace);
    // The standing start joins the racing line where the launch meets the braking for turn 1.
    const auto& grid = racing.grid();
    std::size_t j = 0;
    while (j + 2 < grid.size() && (grid[j].s < 0 || launch_v_at(grid[j].s + c.grid_m) < k * grid[j].v)) {
      ++j;
    }
    const double tau_join = static_cast<double>(j) * kDtau;
    const double d_join = grid[j].s + c.grid_m;
    LapPlan& p = c.plan;
    p.clear(-cfg.prelude_s);
    p.main = ProfileId::Racing;
    if (cfg.prelude_s > 0) {
      const double roll = std::min(4.0, 0.4 * cfg.prelude_s);
      const double v0 = 40.0 / 3.6;
      Segment r;
      r.kind = SegKind::Roll;
      r.dur = roll;
      r.v0 = v0;
      r.a = -v0 / roll;
      r.s0 = -c.grid_m - 0.5 * v0 * roll;
      p.add(r);
      Segment h;
      h.kind = SegKind::Hold;
      h.s0 = -c.grid_m;
      h.dur = cfg.prelude_s - roll;
      p.add(h);
    }
    Segment launch;
    launch.kind = SegKind::Launch;
    launch.s0 = -c.grid_m;
    launch.dur = launch_t_at(d_join);
    p.add(launch);
    p.add_profile(ProfileId::Racing, tau_join, racing.duration(), k, k, true);
    c.cur_seg = 0;
    finish_plan(c);
  }

  [[nodiscard]] bool sc_active_at(TimeNs t) const { return t >= sc_time && t < green_time; }

  /// The car that crossed the line last before `c` did at `t`, and the gap.
  std::pair<const Car*, double> car_ahead(const Car& c, TimeNs t) const {
    const Car* best = nullptr;
    for (const auto& o : cars) {
      if (&o == &c || o.last_cross > t) continue;
      if (best == nullptr || o.last_cross > best->last_cross) best = &o;
    }
    if (best == nullptr || best->last_cross == std::numeric_limits<TimeNs>::min()) return {nullptr, 1e9};
    return {best, ns_to_s(t - best->last_cross)};
  }

  void start_lap(Car& c, int lap, TimeNs start, bool leader) {
    const TrackModel& t = *tm;
    c.lap = lap;
    c.lap_start = start;
    c.cur_seg = 0;
    c.ev_i = 0;
    c.in_lap = c.next_stop < c.stops && c.stop_lap[static_cast<std::size_t>(c.next_stop)] == lap;
    const bool sc_now = sc_active_at(start);
    const auto [ahead, gap] = car_ahead(c, start);
    c.drs_on = !sc_now && start >= drs_from;
    c.drs_close = c.drs_on && gap < 1.0 && !c.out_lap;
    double lap_s = green_lap_s(c);
    if (sc_now) {
      if (leader || ahead == nullptr) {
        lap_s = 1.42 * cfg.base_lap_s * (1.0 + 0.01 * rng.normal());
      } else {  // queue up behind the car ahead, as fast as the SC delta allows
        const double behind = ns_to_s(ahead->lap_end - start) + rng.uniform(0.6, 1.4);
        lap_s = std::clamp(behind, 1.2 * lap_s, 1.9 * cfg.base_lap_s);
      }
    } else if (gap < 1.0) {
      lap_s += c.drs_close ? -0.12 : 0.2;  // DRS tow, or stuck in dirty air
    }
    const double k = std::min(t.profile(ProfileId::Racing).duration() / lap_s, kMaxPace);
    LapPlan& p = c.plan;
    const double k_prev = p.end_pace();
    p.clear(0.0);
    if (c.in_lap) {
      p.main = ProfileId::InLap;
      const Profile& in = t.profile(ProfileId::InLap);
      p.add_profile(ProfileId::InLap, 0, t.in_pit_entry_tau, k_prev, k, true);
      p.pit_lane_seg = p.n;
      p.add_profile(ProfileId::InLap, t.in_pit_entry_tau, in.duration(), k, 1, false);
    } else if (c.out_lap) {
      p.main = ProfileId::OutLap;
      const Profile& out = t.profile(ProfileId::OutLap);
      p.add_profile(ProfileId::OutLap, 0, t.out_box_tau, 1, 1, false);
      Segment h;
      h.kind = SegKind::Hold;
      h.s0 = kPitBox;
      h.dur = c.stop_s + rng.uniform(-0.2, 0.5) + (rng.chance(0.06) ? rng.uniform(2, 6) : 0.0);
      p.add(h);
      p.add_profile(ProfileId::OutLap, t.out_box_tau, t.out_pit_exit_tau, 1, 1, false);
      p.pit_exit_seg = p.n;
      p.add_profile(ProfileId::OutLap, t.out_pit_exit_tau, out.duration(), 1, k, true);
    } else {
      p.main = ProfileId::Racing;
      p.add_profile(ProfileId::Racing, 0, t.profile(ProfileId::Racing).duration(), k_prev, k, true);
    }
    if (sc_now) {
      for (int i = 0; i < p.n; ++i) {
        auto& g = p.at(i);
        g.sc = g.scalable;
      }
    }
    finish_plan(c);
  }

  /// Applies a pending safety car to the plan, then sets the lap end and events.
  void finish_plan(Car& c) {
    LapPlan& p = c.plan;
    if (sc_time != kNever && sc_time > c.lap_start) {
      const double rel = ns_to_s(sc_time - c.lap_start);
      if (rel < p.end()) p.slow_down_from(rel, kScFactor);
    }
    refresh_events(c);
  }

  void refresh_events(Car& c) {
    const LapPlan& p = c.plan;
    c.lap_end = abs_ns(c.lap_start, p.end());
    c.ev_n = 0;
    auto add = [&c](CarEvent kind, TimeNs t) {
      c.ev_kind[static_cast<std::size_t>(c.ev_n)] = kind;
      c.ev_time[static_cast<std::size_t>(c.ev_n)] = t;
      ++c.ev_n;
    };
    if (c.in_lap) add(CarEvent::PitIn, abs_ns(c.lap_start, p.at(p.pit_lane_seg).t0));
    if (c.out_lap) add(CarEvent::PitOut, abs_ns(c.lap_start, p.at(p.pit_exit_seg).t0));
    add(CarEvent::Lap, c.lap_end);
  }

  // ------------------------------------------------------------ race control
  template <typename Body>
  void push_global(TimeNs t, Body body) {
    TimingEvent ev;
    ev.event_time_ns = utc0 + t;
    ev.session_time_ns = t;
    ev.body = std::move(body);
    auto it = std::upper_bound(pending.begin(), pending.end(), t,
                               [](TimeNs v, const TimingEvent& e) { return v < e.session_time_ns; });
    pending.insert(it, std::move(ev));
  }

  void race_control(TimeNs t, const char* category, const char* message, int lap) {
    push_global(t, RaceControlMessage{category, message, lap});
  }

  /// The leader crosses the line at `t` to start `lap`.
  void leader_starts_lap(const Car& leader, int lap, TimeNs t) {
    if (sc_lap != 0) {
      if (lap == sc_lap) deploy_safety_car(leader, lap, t);
      if (sc_laps >= 2 && lap == sc_lap + sc_laps - 1) race_control(t, "SafetyCar", "SAFETY CAR IN THIS LAP", lap);
      if (lap == sc_lap + sc_laps) {
        green_time = t;
        push_global(t, TrackStatusChange{TrackStatus::Green, "AllClear"});
        race_control(t, "Flag", "TRACK CLEAR", lap);
        drs_restart_lap = std::max(lap + 2, 3);
      }
    }
    // DRS from lap 3, and two laps after a restart.
    if ((lap == 3 && sc_time == kNever) || lap == drs_restart_lap) {
      drs_from = t;
      race_control(t, "Drs", "DRS ENABLED", lap);
    }
  }

  void deploy_safety_car(const Car& leader, int lap, TimeNs t) {
    sc_time = t + s_to_ns(rng.uniform(0.25, 0.5) * cfg.base_lap_s);
    push_global(sc_time, TrackStatusChange{TrackStatus::SafetyCar, "SCDeployed"});
    race_control(sc_time, "SafetyCar", "SAFETY CAR DEPLOYED", lap);
    if (drs_from != kNever) race_control(sc_time, "Drs", "DRS DISABLED", lap);
    drs_from = kNever;
    for (auto& c : cars) {
      if (c.finished) continue;
      const bool is_leader = &c == &leader;  // its lap `lap` is planned after this
      if (!is_leader && c.lap_end > sc_time) {
        c.plan.slow_down_from(ns_to_s(sc_time - c.lap_start), kScFactor);
        refresh_events(c);
      }
      // A cheap stop: pit at the end of the lap after the one in progress at deployment.
      const int in_progress = is_leader ? lap : (c.lap_end <= sc_time ? c.lap + 1 : c.lap);
      const int in_lap = in_progress + 1;
      if (in_lap > cfg.laps - 3) continue;
      const int last_stop = c.next_stop > 0 ? c.stop_lap[static_cast<std::size_t>(c.next_stop - 1)] : 0;
      if (in_lap - last_stop < 5) continue;
      if (c.next_stop < c.stops) {
        int& planned = c.stop_lap[static_cast<std::size_t>(c.next_stop)];
        if (planned >= in_lap && planned - in_lap <= std::max(3, cfg.laps / 4) && rng.chance(0.75)) {
          planned = in_lap;
          if (c.next_stop + 1 < c.stops && c.stop_lap[static_cast<std::size_t>(c.next_stop) + 1] - in_lap < 6) {
            --c.stops;  // the first two stints always use two different compounds
          }
        }
      } else if (c.stops < Car::kMaxStops && in_lap - last_stop >= 12 && cfg.laps - in_lap >= 8 && rng.chance(0.5)) {
        c.stop_lap[static_cast<std::size_t>(c.stops)] = in_lap;
        c.stint_compound[static_cast<std::size_t>(c.stops) + 1] =
            cfg.laps - in_lap > 20 ? Compound::Hard
                                   : (c.compound == Compound::Soft ? Compound::Medium : Compound::Soft);
        ++c.stops;
      }
    }
    rebuild_heap();
  }

  // ------------------------------------------------------------ emission
  void rebuild_heap() {
    heap.clear();
    for (const auto& c : cars) {
      if (!c.finished) heap.push_back({c.key(), static_cast<std::uint16_t>(c.index)});
    }
    std::make_heap(heap.begin(), heap.end(), [](const HeapEntry& a, const HeapEntry& b) { return before(b, a); });
  }

  void sift_down(std::size_t i) {
    const std::size_t n = heap.size();
    const HeapEntry e = heap[i];
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1], heap[child])) ++child;
      if (!before(heap[child], e)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = e;
  }

  void pop_top() {
    heap[0] = heap.back();
    heap.pop_back();
    if (!heap.empty()) sift_down(0);
  }

  bool next(Input& out) {
    if (heap.empty() && !finish_scheduled) {
      finish_scheduled = true;
      weather_active = false;
      push_global(last_finish + kNsPerSecond, SessionInfo{cfg.laps, "Finished", cfg.name});
    }
    const TimeNs car_t = heap.empty() ? kNever : heap[0].t;
    const TimeNs queued_t = pending.empty() ? kNever : pending.front().session_time_ns;
    const TimeNs weather_t = weather_active ? next_weather : kNever;
    const TimeNs global_t = std::min(queued_t, weather_t);
    if (global_t == kNever && car_t == kNever) return false;
    if (global_t <= car_t) {
      if (queued_t <= weather_t) {
        out = std::move(pending.front());
        pending.erase(pending.begin());
      } else {
        emit_weather(out);
      }
      return true;
    }
    emit_car(cars[heap[0].car], out);
    return true;
  }

  void emit_weather(Input& out) {
    air_c += 0.08 * rng.normal();
    track_c += 0.15 * rng.normal() - 0.02;
    humidity = std::clamp(humidity + 0.3 * rng.normal(), 10.0, 95.0);
    pressure += 0.05 * rng.normal();
    wind = std::clamp(wind + 0.2 * rng.normal(), 0.0, 12.0);
    wind_dir = std::fmod(wind_dir + 5.0 * rng.normal() + 360.0, 360.0);
    TimingEvent ev;
    ev.event_time_ns = utc0 + next_weather;
    ev.session_time_ns = next_weather;
    auto round1 = [](double v) { return static_cast<float>(std::round(v * 10.0) / 10.0); };
    ev.body = Weather{round1(air_c),
                      round1(track_c),
                      round1(humidity),
                      round1(pressure),
                      false,
                      round1(wind),
                      static_cast<float>(std::round(wind_dir))};
    out = std::move(ev);
    next_weather += weather_period;
  }

  void emit_car(Car& c, Input& out) {
    const bool event = c.ev_i < c.ev_n && c.ev_time[static_cast<std::size_t>(c.ev_i)] <= c.next_sample;
    if (!event) {
      auto* sample = std::get_if<TelemetrySample>(&out);
      if (sample == nullptr) sample = &out.emplace<TelemetrySample>();
      fill_sample(c, *sample);
      heap[0].t = c.key();
      sift_down(0);
      return;
    }
    const auto i = static_cast<std::size_t>(c.ev_i++);
    const TimeNs t = c.ev_time[i];
    TimingEvent ev;
    ev.car = c.number;
    ev.driver = c.code;
    ev.event_time_ns = utc0 + t;
    ev.session_time_ns = t;
    if (c.ev_kind[i] == CarEvent::PitIn) {
      ev.body = PitIn{};
    } else if (c.ev_kind[i] == CarEvent::PitOut) {
      ev.body = PitOut{};
    } else {
      int position = 1;
      for (const auto& o : cars) {
        if (&o != &c && o.laps_done >= c.lap) ++position;
      }
      ev.body = lap_completed(c, position);
      out = std::move(ev);
      end_lap(c, position);
      if (c.finished) {
        // The heap may have been rebuilt (safety car): find the car again.
        if (heap[0].car == c.index) {
          pop_top();
        } else {
          rebuild_heap();
        }
      } else {
        rebuild_or_fix(c);
      }
      return;
    }
    out = std::move(ev);
    heap[0].t = c.key();
    sift_down(0);
  }

  void rebuild_or_fix(const Car& c) {
    if (heap[0].car == c.index) {
      heap[0].t = c.key();
      sift_down(0);
    } else {
      rebuild_heap();
    }
  }

  LapCompleted lap_completed(const Car& c, int position) const {
    const LapPlan& p = c.plan;
    const Profile& prof = tm->profile(p.main);
    const double lap_s = ns_to_s(c.lap_end - c.lap_start);
    const double t1 = p.time_at_tau(prof.tau_at(kSector1End));
    const double t2 = p.time_at_tau(prof.tau_at(kSector2End));
    LapCompleted lc;
    lc.lap = c.lap;
    lc.lap_time_s = lap_s;
    if (std::isfinite(t1) && std::isfinite(t2)) {
      lc.sector1_s = t1;
      lc.sector2_s = t2 - t1;
      lc.sector3_s = lap_s - t2;
    }
    lc.position = position;
    lc.compound = c.compound;
    lc.tyre_life = c.tyre_life;
    lc.stint = c.stint;
    lc.fresh_tyre = c.fresh;
    lc.lap_start_session_ns = c.lap_start;
    if (c.in_lap) lc.pit_in_session_ns = c.ev_time[0];
    if (c.out_lap) lc.pit_out_session_ns = c.ev_time[0];
    std::array<char, 4> status{};  // codes seen in the lap, in order
    std::size_t n = 0;
    status[n++] = sc_active_at(c.lap_start) ? '4' : '1';
    if (sc_time > c.lap_start && sc_time < c.lap_end) status[n++] = '4';
    if (green_time > c.lap_start && green_time < c.lap_end) status[n++] = '1';
    lc.track_status.assign(status.data(), n);
    lc.deleted = false;
    return lc;
  }

  void end_lap(Car& c, int position) {
    c.laps_done = c.lap;
    c.last_cross = c.lap_end;
    const bool leader = position == 1;
    if (chequered || (leader && c.lap >= cfg.laps)) {
      chequered = true;
      c.finished = true;
      last_finish = std::max(last_finish, c.lap_end);
      return;
    }
    const bool sc_lap_driven = c.plan.any_sc() || sc_active_at(c.lap_start);
    c.fuel_kg = std::max(0.5, c.fuel_kg - burn_kg * (sc_lap_driven ? 0.55 : 1.0));
    if (c.in_lap) {
      ++c.next_stop;
      ++c.stint;
      c.compound = c.stint_compound[static_cast<std::size_t>(c.stint - 1)];
      c.tyre_life = 1;
      c.fresh = true;
      c.out_lap = true;
    } else {
      c.out_lap = false;
      ++c.tyre_life;
    }
    const int lap = c.lap + 1;
    const TimeNs t = c.lap_end;
    if (leader) leader_starts_lap(c, lap, t);
    start_lap(c, lap, t, leader);
  }

  void fill_sample(Car& c, TelemetrySample& out) {
    const TimeNs t = c.next_sample;
    const double rel = ns_to_s(t - c.lap_start);
    const LapPlan& p = c.plan;
    while (c.cur_seg + 1 < p.n && rel >= p.at(c.cur_seg).t1) ++c.cur_seg;
    const Segment& seg = p.at(c.cur_seg);
    const Kinematics kin = evaluate(*tm, seg, rel);
    const std::uint64_t r = rng.bits();

    const auto kph_clean = static_cast<float>(kin.v * 3.6);
    const float kph = kph_clean > 1.0f ? std::max(0.0f, kph_clean + static_cast<float>(0.6 * lane(r, 0))) : kph_clean;
    const std::int8_t gear = gear_for(kph_clean);
    double throttle = kin.throttle;
    if (throttle > 0.0 && throttle < 100.0) throttle = std::clamp(throttle + 6.0 * lane(r, 2), 0.0, 100.0);
    std::uint8_t drs = 0;
    if (c.drs_on && seg.scalable && !seg.sc && !sc_active_at(t)) {  // on track, racing
      drs = 1;
      if (c.drs_close) {
        for (const auto& z : kDrsZones) {
          if (kin.s >= z.from && kin.s < z.to) {
            drs = 12;
          } else if (kin.s >= z.from - kDrsArmedLead && kin.s < z.from) {
            drs = 8;
          }
        }
      }
    }
    out.car = c.number;
    out.driver = c.code;
    out.event_time_ns = utc0 + t;
    out.session_time_ns = t;
    out.speed_kph = kph;
    out.rpm = rpm_for(kph_clean, gear) + static_cast<float>(120.0 * lane(r, 1));
    out.gear = gear;
    out.throttle = static_cast<float>(throttle);
    out.brake = kin.brake;
    out.drs = drs;
    if (cfg.positions) {
      double s = std::fmod(kin.s, kLapLength);
      if (s < 0) s += kLapLength;
      const double x = s * (1.0 / kXyzStep);
      const auto i = static_cast<std::size_t>(x);
      const auto f = static_cast<float>(x - static_cast<double>(i));
      const auto& a = tm->xyz[i];
      const auto& b = tm->xyz[i + 1];
      out.x = a[0] + f * (b[0] - a[0]);
      out.y = a[1] + f * (b[1] - a[1]);
      out.z = a[2] + f * (b[2] - a[2]);
    } else {
      out.x.reset();
      out.y.reset();
      out.z.reset();
    }
    out.distance_m = kin.s;
    out.source = SampleSource::Synthetic;

    ++c.sample_idx;
    c.next_sample =
        c.clock0 + static_cast<TimeNs>(static_cast<double>(c.sample_idx) * period_ns + 2.0 * jitter_ns * lane(r, 3));
  }

  [[nodiscard]] std::uint64_t estimated_records() const {
    const double laps = cfg.laps;
    const double lap_s = std::max(cfg.base_lap_s, tm->profile(ProfileId::Racing).duration() / kMaxPace);
    double race_s = laps * lap_s + 4.0 + 1.4 * tm->pit_loss_s;
    if (sc_lap != 0) race_s += 0.35 * sc_laps * lap_s;
    const double samples = cfg.cars * cfg.hz * (cfg.prelude_s + race_s);
    const double timing = cfg.cars * (laps + 2.8) + (cfg.prelude_s + race_s) / cfg.weather_period_s + 12;
    return static_cast<std::uint64_t>(samples + timing);
  }
};

// ================================================================ public API

SynthRace::SynthRace(SynthConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
SynthRace::~SynthRace() = default;
SynthRace::SynthRace(SynthRace&&) noexcept = default;
SynthRace& SynthRace::operator=(SynthRace&&) noexcept = default;

const std::string& SynthRace::session_id() const { return impl_->cfg.session_id; }

std::optional<Input> SynthRace::next() {
  Input in;
  if (!impl_->next(in)) return std::nullopt;
  return in;
}

bool SynthRace::next(Input& out) { return impl_->next(out); }

std::uint64_t SynthRace::estimated_records() const { return impl_->estimated_records(); }
const SynthConfig& SynthRace::config() const { return impl_->cfg; }
double SynthRace::lap_length_m() { return kLapLength; }
double SynthRace::pit_speed_limit_kph() { return kPitLimitKph; }

std::vector<SynthConfig> make_synth_sessions(int n, const SynthConfig& base) {
  std::vector<SynthConfig> out;
  out.reserve(static_cast<std::size_t>(std::max(n, 0)));
  const std::string prefix = base.session_id.empty() ? "synth" : base.session_id;
  for (int i = 1; i <= n; ++i) {
    SynthConfig c = base;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "-%04d", i);
    c.session_id = prefix + suffix;
    // splitmix64 of (seed, i): distinct, reproducible, well spread.
    std::uint64_t z = base.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(i);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    c.seed = z ^ (z >> 31);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace boxcall::sources
