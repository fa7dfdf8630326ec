#include "base/records.h"

#include <algorithm>
#include <cctype>

namespace boxcall {

std::string_view to_string(Compound c) {
  switch (c) {
    case Compound::Soft:
      return "SOFT";
    case Compound::Medium:
      return "MEDIUM";
    case Compound::Hard:
      return "HARD";
    case Compound::Intermediate:
      return "INTERMEDIATE";
    case Compound::Wet:
      return "WET";
    case Compound::Test:
      return "TEST_UNKNOWN";
    case Compound::Unknown:
      break;
  }
  return "UNKNOWN";
}

Compound compound_from_string(std::string_view s) {
  std::string u(s);
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (u == "SOFT" || u == "S") return Compound::Soft;
  if (u == "MEDIUM" || u == "M") return Compound::Medium;
  if (u == "HARD" || u == "H") return Compound::Hard;
  if (u == "INTERMEDIATE" || u == "I" || u == "INTER") return Compound::Intermediate;
  if (u == "WET" || u == "W") return Compound::Wet;
  if (u == "TEST_UNKNOWN" || u == "TEST") return Compound::Test;
  return Compound::Unknown;
}

std::string_view to_string(TrackStatus s) {
  switch (s) {
    case TrackStatus::Green:
      return "GREEN";
    case TrackStatus::Yellow:
      return "YELLOW";
    case TrackStatus::SafetyCar:
      return "SAFETY_CAR";
    case TrackStatus::Red:
      return "RED";
    case TrackStatus::Vsc:
      return "VSC";
    case TrackStatus::VscEnding:
      return "VSC_ENDING";
    case TrackStatus::Unknown:
      break;
  }
  return "UNKNOWN";
}

TrackStatus track_status_from_code(int code) {
  switch (code) {
    case 1:
      return TrackStatus::Green;
    case 2:
      return TrackStatus::Yellow;
    case 4:
      return TrackStatus::SafetyCar;
    case 5:
      return TrackStatus::Red;
    case 6:
      return TrackStatus::Vsc;
    case 7:
      return TrackStatus::VscEnding;
    default:
      return TrackStatus::Unknown;
  }
}

std::string_view to_string(DrivingMode m) {
  switch (m) {
    case DrivingMode::Push:
      return "PUSH";
    case DrivingMode::Conserve:
      return "CONSERVE";
    case DrivingMode::Balanced:
      break;
  }
  return "BALANCED";
}

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::Warning:
      return "WARNING";
    case Severity::Critical:
      return "CRITICAL";
    case Severity::Info:
      break;
  }
  return "INFO";
}

}  // namespace boxcall
