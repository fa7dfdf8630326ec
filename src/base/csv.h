#pragma once
/// The one CSV reader of the project: a field splitter (on the per-sample
/// path of the FastF1 reader: no allocation once its output vector has grown),
/// a line reader over plain or gzip files, and a whole small table in memory
/// (Ergast tables, FastF1 laps tables) built on the same splitter.
///
/// The dialect is the one FastF1 (pandas) and the Ergast archive write:
/// comma-separated, one record per line (no line breaks inside fields), LF or
/// CRLF. Fields are trimmed of spaces; a field that then starts and ends with
/// a double quote is quoted: commas inside it do not split and the two quotes
/// are removed. `split` leaves doubled quotes inside a quoted field as they
/// are (views cannot unescape); `Table` stores them unescaped (`""` -> `"`).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct gzFile_s;

namespace boxcall::csv {

/// Splits one line (its end-of-line, if any, is ignored) into `out`: views
/// into `line`, so `line` must outlive them. `out` is cleared and reused.
void split(std::string_view line, std::vector<std::string_view>& out);

/// A decimal number; empty, "nan"/"NaN" or anything unparsable -> nullopt. A
/// leading '+' is accepted. Small unsigned integers take a fast exact path.
[[nodiscard]] std::optional<double> to_double(std::string_view s);
/// An integer column; FastF1 writes integers with missing values as floats
/// ("4.0"), truncated here. Outside +-2e9 -> nullopt.
[[nodiscard]] std::optional<std::int32_t> to_int(std::string_view s);
/// "True"/"true"/"1"/"1.0" and "False"/"false"/"0"/"0.0"; anything else -> nullopt.
[[nodiscard]] std::optional<bool> to_bool(std::string_view s);

/// A text file read one line at a time through zlib (plain and gzip files
/// alike): memory is one line, whatever the file size.
class LineReader {
 public:
  /// Throws ConfigError when the file cannot be opened.
  explicit LineReader(const std::filesystem::path& path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  /// The next line (with its end-of-line, if any) into `line`; false at the end of the file.
  bool next(std::string& line);

 private:
  gzFile_s* file_ = nullptr;
};

/// True for a line with nothing but an end-of-line (skipped by the readers).
[[nodiscard]] inline bool blank(std::string_view line) {
  return line.empty() || line == "\n" || line == "\r\n" || line == "\r";
}

/// Column names of a header line; index by name.
class Header {
 public:
  Header() = default;
  /// Reads the first line of `reader`; throws ConfigError ("empty file: <path>") when there is none.
  static Header read(LineReader& reader, const std::filesystem::path& path);
  explicit Header(std::vector<std::string> names, std::string path = {})
      : names_(std::move(names)), path_(std::move(path)) {}
  /// Column index by name, -1 when absent.
  [[nodiscard]] int col(std::string_view name) const;
  /// Column index; throws ConfigError ("missing column '<name>' in <path>") when absent.
  [[nodiscard]] int require(std::string_view name) const;
  [[nodiscard]] const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::string path_;
};

/// Field `index` of a split line; empty when the index is -1 or past the end.
[[nodiscard]] inline std::string_view field(const std::vector<std::string_view>& fields, int index) {
  return index >= 0 && static_cast<std::size_t>(index) < fields.size() ? fields[static_cast<std::size_t>(index)]
                                                                       : std::string_view{};
}

/// A whole small CSV file in memory: for start-up and training, never for the
/// hot path. Blank lines are skipped.
class Table {
 public:
  /// Reads `path` (plain or gzip); throws ConfigError when it is missing or empty.
  static Table read(const std::filesystem::path& path);
  /// The same from text in memory (`name` is used in error messages).
  static Table parse(std::string_view text, std::string name = "<text>");

  /// Column index by header name, -1 when absent.
  [[nodiscard]] int col(std::string_view name) const { return header_.col(name); }
  /// Column index; throws ConfigError when absent.
  [[nodiscard]] int require(std::string_view name) const { return header_.require(name); }
  [[nodiscard]] const Header& header() const { return header_; }
  [[nodiscard]] std::size_t size() const { return rows_.size(); }
  /// Field text (quotes removed); empty for a missing column or "\N" (the Ergast missing value).
  [[nodiscard]] std::string_view at(std::size_t row, int col) const;
  /// The field as a finite number; nullopt when empty, missing or not a finite number.
  [[nodiscard]] std::optional<double> number(std::size_t row, int col) const;
  /// The field as an integer (a float field is truncated); nullopt outside +-2e9.
  [[nodiscard]] std::optional<int> integer(std::size_t row, int col) const;

 private:
  void add_row(std::string_view line, std::vector<std::string_view>& scratch);

  Header header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace boxcall::csv
