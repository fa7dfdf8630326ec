#pragma once
/// Race facts every module uses, defined once (docs/features.md): the
/// feature definitions, the models' inputs, the rules fallback and the
/// synthetic generator's physics all read these.
namespace boxcall {

/// Fuel on board at the start, kg (the regulation maximum for a race).
inline constexpr double kFuelStartKg = 110.0;
/// Lap time cost of fuel, s per kg (the usual rule of thumb).
inline constexpr double kFuelEffectSPerKg = 0.035;
/// The 107 % rule as the clean-lap filter: a lap within 107 % of the stint's fastest.
inline constexpr double kCleanLapMaxRatio = 1.07;

}  // namespace boxcall
