#include "infer/csv_table.h"

#include <charconv>
#include <cmath>
#include <fstream>

#include "base/result.h"

namespace boxcall::infer {
namespace {

std::vector<std::string> split(std::string_view line) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == ',' && !quoted) {
      out.push_back(std::move(cur));
      cur.clear();
    } else if (c != '\r' && c != '\n') {
      cur.push_back(c);
    }
  }
  out.push_back(std::move(cur));
  return out;
}

}  // namespace

CsvTable CsvTable::read(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open " + path.string());
  CsvTable t;
  t.path_ = path.string();
  std::string line;
  if (!std::getline(in, line)) throw ConfigError("empty file: " + path.string());
  t.header_ = split(line);
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    t.rows_.push_back(split(line));
  }
  return t;
}

int CsvTable::col(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

int CsvTable::require(std::string_view name) const {
  const int c = col(name);
  if (c < 0) throw ConfigError("missing column '" + std::string(name) + "' in " + path_);
  return c;
}

std::string_view CsvTable::at(std::size_t row, int c) const {
  const auto& r = rows_[row];
  if (c < 0 || static_cast<std::size_t>(c) >= r.size()) return {};
  std::string_view v = r[static_cast<std::size_t>(c)];
  return v == "\\N" ? std::string_view{} : v;
}

std::optional<double> CsvTable::number(std::size_t row, int c) const {
  std::string_view s = at(row, c);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int> CsvTable::integer(std::size_t row, int c) const {
  auto v = number(row, c);
  if (!v || *v < -2e9 || *v > 2e9) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace boxcall::infer
