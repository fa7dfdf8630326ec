#pragma once
/// A whole small CSV file in memory (Ergast tables, FastF1 laps tables): for
/// training and priors, never for the hot path. Internal to src/infer.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boxcall::infer {

class CsvTable {
 public:
  /// Reads `path`; throws ConfigError when it is missing or empty.
  static CsvTable read(const std::filesystem::path& path);

  /// Column index by header name, -1 when absent.
  [[nodiscard]] int col(std::string_view name) const;
  /// Column index; throws ConfigError when absent.
  [[nodiscard]] int require(std::string_view name) const;
  [[nodiscard]] std::size_t size() const { return rows_.size(); }
  /// Field text (quotes removed); empty for a missing column or "\N".
  [[nodiscard]] std::string_view at(std::size_t row, int col) const;
  [[nodiscard]] std::optional<double> number(std::size_t row, int col) const;
  [[nodiscard]] std::optional<int> integer(std::size_t row, int col) const;

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace boxcall::infer
