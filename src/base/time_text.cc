#include "base/time_text.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <limits>

namespace boxcall {
namespace {

// Reads an unsigned integer; advances `s`.
std::optional<long long> take_int(std::string_view& s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return v;
}

// Reads ".fff..." as nanoseconds (up to 9 digits; more are truncated).
TimeNs take_fraction_ns(std::string_view& s) {
  if (s.empty() || s.front() != '.') return 0;
  s.remove_prefix(1);
  TimeNs ns = 0;
  int digits = 0;
  while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
    if (digits < 9) {
      ns = ns * 10 + (s.front() - '0');
      ++digits;
    }
    s.remove_prefix(1);
  }
  for (; digits < 9; ++digits) ns *= 10;
  return ns;
}

bool take_char(std::string_view& s, char c) {
  if (s.empty() || s.front() != c) return false;
  s.remove_prefix(1);
  return true;
}

// a * b + c, or nullopt when it does not fit in TimeNs.
std::optional<TimeNs> mul_add(TimeNs a, TimeNs b, TimeNs c) {
  TimeNs r = 0;
  if (__builtin_mul_overflow(a, b, &r) || __builtin_add_overflow(r, c, &r)) return std::nullopt;
  return r;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '"' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<TimeNs> parse_timedelta(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty() || s == "NaT" || s == "nan") return std::nullopt;
  bool negative = take_char(s, '-');
  TimeNs total = 0;
  // Optional "<n> days " prefix.
  if (auto pos = s.find(" days"); pos != std::string_view::npos) {
    std::string_view days_text = s.substr(0, pos);
    auto days = take_int(days_text);
    if (!days || !days_text.empty()) return std::nullopt;
    auto ns = mul_add(*days, 86'400 * kNsPerSecond, total);
    if (!ns) return std::nullopt;  // beyond +-292 years: no duration of a race
    total = *ns;
    s.remove_prefix(pos + 5);
    s = trim(s);
    take_char(s, '+');
  }
  // One to three colon-separated fields, the last with a fraction.
  long long fields[3] = {0, 0, 0};
  int n = 0;
  while (true) {
    auto v = take_int(s);
    if (!v || n == 3) return std::nullopt;
    fields[n++] = *v;
    if (!take_char(s, ':')) break;
  }
  TimeNs frac = take_fraction_ns(s);
  if (!s.empty()) return std::nullopt;
  long long seconds = 0;
  for (int i = 0; i < n; ++i) {
    auto next = mul_add(seconds, 60, fields[i]);
    if (!next) return std::nullopt;
    seconds = *next;
  }
  auto ns = mul_add(seconds, kNsPerSecond, frac);
  if (!ns || __builtin_add_overflow(total, *ns, &total)) return std::nullopt;
  // pandas writes negative deltas as "-1 days +23:59:59.5": the sign applies to days only.
  if (negative && text.find(" days") != std::string_view::npos) {
    if (__builtin_sub_overflow(total, TimeNs{2} * 86'400 * kNsPerSecond, &total)) return std::nullopt;
    return total;
  }
  if (total == std::numeric_limits<TimeNs>::min()) return std::nullopt;
  return negative ? -total : total;
}

std::optional<TimeNs> parse_utc_datetime(std::string_view text) {
  std::string_view s = trim(text);
  if (s.empty() || s == "NaT") return std::nullopt;
  auto year = take_int(s);
  if (!year || !take_char(s, '-')) return std::nullopt;
  auto month = take_int(s);
  if (!month || !take_char(s, '-')) return std::nullopt;
  auto day = take_int(s);
  if (!day) return std::nullopt;
  if (!take_char(s, ' ') && !take_char(s, 'T')) return std::nullopt;
  auto hour = take_int(s);
  if (!hour || !take_char(s, ':')) return std::nullopt;
  auto minute = take_int(s);
  if (!minute || !take_char(s, ':')) return std::nullopt;
  auto second = take_int(s);
  if (!second) return std::nullopt;
  TimeNs frac = take_fraction_ns(s);
  take_char(s, 'Z');
  if (s == "+00:00") s = {};
  if (!s.empty()) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(static_cast<int>(*year)), std::chrono::month(static_cast<unsigned>(*month)),
                     std::chrono::day(static_cast<unsigned>(*day))};
  // Years outside 1900-2200 are no timing data, and (from 2262 on, or before 1678) do not fit in TimeNs.
  if (*year < 1900 || *year > 2200 || !ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  auto days_since_epoch = sys_days(ymd).time_since_epoch().count();
  return (static_cast<TimeNs>(days_since_epoch) * 86'400 + *hour * 3600 + *minute * 60 + *second) * kNsPerSecond + frac;
}

std::string format_utc_datetime(TimeNs t) {
  using namespace std::chrono;
  TimeNs secs = t >= 0 ? t / kNsPerSecond : (t - kNsPerSecond + 1) / kNsPerSecond;
  TimeNs frac = t - secs * kNsPerSecond;
  auto dp = floor<days>(sys_seconds(seconds(secs)));
  year_month_day ymd{dp};
  auto tod = secs - dp.time_since_epoch().count() * 86'400;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long long>(tod / 3600), static_cast<long long>(tod / 60 % 60),
                static_cast<long long>(tod % 60), static_cast<long long>(frac));
  return buf;
}

}  // namespace boxcall
