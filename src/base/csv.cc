#include "base/csv.h"

#include <zlib.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

#include "base/result.h"

namespace boxcall::csv {
namespace {

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string_view without_eol(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return line;
}

// A field of a line that has quotes: spaces trimmed, then one pair of
// enclosing quotes removed.
std::string_view unquote(std::string_view s) {
  s = trim_spaces(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

void split(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  line = without_eol(line);
  if (line.find('"') == std::string_view::npos) {
    // The common case, on the per-sample path: no quotes, split on commas.
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      if (comma == std::string_view::npos) break;
      out.push_back(trim_spaces(line.substr(start, comma - start)));
      start = comma + 1;
    }
    out.push_back(trim_spaces(line.substr(start)));
    return;
  }
  std::size_t start = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      quoted = !quoted;  // a doubled quote toggles twice: still inside
    } else if (c == ',' && !quoted) {
      out.push_back(unquote(line.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(unquote(line.substr(start)));
}

std::optional<double> to_double(std::string_view s) {
  if (s.empty() || s == "nan" || s == "NaN") return std::nullopt;
  if (s.front() == '+') s.remove_prefix(1);
  // Most car-data values are small unsigned integers: exact, and much faster
  // than the general path.
  if (s.size() <= 9) {
    std::int64_t n = 0;
    bool digits = !s.empty();
    for (char c : s) {
      if (c < '0' || c > '9') {
        digits = false;
        break;
      }
      n = n * 10 + (c - '0');
    }
    if (digits) return static_cast<double>(n);
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::int32_t> to_int(std::string_view s) {
  auto v = to_double(s);
  if (!v || *v != *v || *v < -2e9 || *v > 2e9) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}

std::optional<bool> to_bool(std::string_view s) {
  if (s == "True" || s == "true" || s == "1" || s == "1.0") return true;
  if (s == "False" || s == "false" || s == "0" || s == "0.0") return false;
  return std::nullopt;
}

// ------------------------------------------------------------------ LineReader

LineReader::LineReader(const std::filesystem::path& path) : file_(gzopen(path.c_str(), "rb")) {
  if (file_ == nullptr) throw ConfigError("cannot open " + path.string());
  gzbuffer(file_, 128 * 1024);
}

LineReader::~LineReader() {
  if (file_ != nullptr) gzclose(file_);
}

bool LineReader::next(std::string& line) {
  line.clear();
  char buf[4096];
  while (gzgets(file_, buf, sizeof buf) != nullptr) {
    const std::size_t n = std::strlen(buf);
    line.append(buf, n);
    if (n > 0 && buf[n - 1] == '\n') return true;
  }
  return !line.empty();
}

// ------------------------------------------------------------------ Header

Header Header::read(LineReader& reader, const std::filesystem::path& path) {
  std::string line;
  if (!reader.next(line)) throw ConfigError("empty file: " + path.string());
  std::vector<std::string_view> f;
  split(line, f);
  return Header(std::vector<std::string>(f.begin(), f.end()), path.string());
}

int Header::col(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int Header::require(std::string_view name) const {
  const int c = col(name);
  if (c < 0) throw ConfigError("missing column '" + std::string(name) + "' in " + path_);
  return c;
}

// ------------------------------------------------------------------ Table

void Table::add_row(std::string_view line, std::vector<std::string_view>& scratch) {
  split(line, scratch);
  std::vector<std::string> row;
  row.reserve(scratch.size());
  for (std::string_view v : scratch) {
    std::string& s = row.emplace_back(v);
    // Doubled quotes inside a quoted field stand for one.
    for (std::size_t at = s.find("\"\""); at != std::string::npos; at = s.find("\"\"", at + 1)) s.erase(at, 1);
  }
  rows_.push_back(std::move(row));
}

Table Table::read(const std::filesystem::path& path) {
  LineReader reader(path);
  Table t;
  t.header_ = Header::read(reader, path);
  std::string line;
  std::vector<std::string_view> scratch;
  while (reader.next(line)) {
    if (!blank(line)) t.add_row(line, scratch);
  }
  return t;
}

Table Table::parse(std::string_view text, std::string name) {
  // One line at a time, newline included (the splitter strips it).
  auto next_line = [&text] {
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol == std::string_view::npos ? text.size() : eol + 1);
    text.remove_prefix(line.size());
    return line;
  };
  if (text.empty()) throw ConfigError("empty file: " + name);
  Table t;
  std::vector<std::string_view> scratch;
  split(next_line(), scratch);
  t.header_ = Header(std::vector<std::string>(scratch.begin(), scratch.end()), std::move(name));
  while (!text.empty()) {
    const std::string_view line = next_line();
    if (!blank(line)) t.add_row(line, scratch);
  }
  return t;
}

std::string_view Table::at(std::size_t row, int c) const {
  const auto& r = rows_[row];
  if (c < 0 || static_cast<std::size_t>(c) >= r.size()) return {};
  std::string_view v = r[static_cast<std::size_t>(c)];
  return v == "\\N" ? std::string_view{} : v;
}

std::optional<double> Table::number(std::size_t row, int c) const {
  auto v = to_double(at(row, c));
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return v;
}

std::optional<int> Table::integer(std::size_t row, int c) const {
  auto v = number(row, c);
  if (!v || *v < -2e9 || *v > 2e9) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace boxcall::csv
