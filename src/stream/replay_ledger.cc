#include "stream/replay_ledger.h"

#include <charconv>
#include <vector>

namespace boxcall::stream {
namespace {

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

void encode_id(std::string_view id, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : id) {
    if (plain(c)) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
}

[[noreturn]] void malformed(std::string_view metadata, const std::string& why) {
  throw ConfigError("committed offset metadata '" + std::string(metadata.substr(0, 80)) +
                    (metadata.size() > 80 ? "..." : "") + "' is not a boxcall replay ledger: " + why);
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string decode_id(std::string_view text, std::string_view metadata) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) malformed(metadata, "truncated %-escape in a session id");
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) malformed(metadata, "bad %-escape in a session id");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plain(c)) {
      out += c;
    } else {
      malformed(metadata, std::string("unescaped character '") + c + "' in a session id");
    }
  }
  if (out.empty()) malformed(metadata, "empty session id");
  return out;
}

template <class T>
T number(std::string_view text, std::string_view metadata, const char* what) {
  T value{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || p != text.data() + text.size()) {
    malformed(metadata, std::string("'") + std::string(text) + "' is not a valid " + what);
  }
  return value;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

std::string format_ledger(const ReplayLedger& ledger) {
  std::string out(ReplayLedger::kPrefix);
  out += std::to_string(ReplayLedger::kVersion);
  out += ";d=" + std::to_string(ledger.dead_letters_below);
  for (const auto& [id, s] : ledger.sessions) {
    out += ';';
    encode_id(id, out);
    out += '=' + std::to_string(s.outputs) + ':' + std::to_string(s.last_offset);
  }
  return out;
}

std::optional<ReplayLedger> parse_ledger(std::string_view metadata) {
  if (metadata.empty()) return std::nullopt;
  if (!metadata.starts_with(ReplayLedger::kPrefix)) malformed(metadata, "it does not start with 'boxcall-eos-'");
  const auto fields = split(metadata, ';');
  const std::string_view version = fields[0].substr(ReplayLedger::kPrefix.size());
  const int v = number<int>(version, metadata, "ledger version");
  if (v != ReplayLedger::kVersion) {
    throw ConfigError("the committed offsets carry a replay ledger of version " + std::string(version) +
                      " and this boxcall reads version " + std::to_string(ReplayLedger::kVersion) +
                      " only (written by a newer boxcall? run that version, or reset the group's offsets)");
  }
  if (fields.size() < 2 || !fields[1].starts_with("d=")) malformed(metadata, "missing 'd=<offset>'");
  ReplayLedger ledger;
  ledger.dead_letters_below = number<std::int64_t>(fields[1].substr(2), metadata, "offset");
  if (ledger.dead_letters_below < -1) malformed(metadata, "negative offset");
  for (std::size_t i = 2; i < fields.size(); ++i) {
    const auto eq = fields[i].rfind('=');
    if (eq == std::string_view::npos) malformed(metadata, "a session entry without '='");
    const auto value = fields[i].substr(eq + 1);
    const auto colon = value.find(':');
    if (colon == std::string_view::npos) malformed(metadata, "a session entry without ':'");
    ReplayLedger::Session s{number<std::uint64_t>(value.substr(0, colon), metadata, "output count"),
                            number<std::int64_t>(value.substr(colon + 1), metadata, "offset")};
    if (s.last_offset < -1) malformed(metadata, "negative offset");
    if (!ledger.sessions.emplace(decode_id(fields[i].substr(0, eq), metadata), s).second) {
      malformed(metadata, "a session listed twice");
    }
  }
  return ledger;
}

}  // namespace boxcall::stream
