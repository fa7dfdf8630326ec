// The one CSV reader: the splitter (fast and quoted paths), the number/bool
// fields, the whole-table reader (files plain and gzip, \N, CRLF, errors).
#include "base/csv.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/result.h"

namespace boxcall::csv {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> split_all(std::string_view line) {
  std::vector<std::string_view> f;
  split(line, f);
  return {f.begin(), f.end()};
}

using Fields = std::vector<std::string>;

TEST(CsvSplit, PlainFieldsAreTrimmedOfSpacesAndEndOfLine) {
  EXPECT_EQ(split_all("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(split_all(" a , b ,c \r\n"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(split_all("a,b\n"), (Fields{"a", "b"}));
}

TEST(CsvSplit, EmptyFieldsAreKept) {
  EXPECT_EQ(split_all(",a,,b,"), (Fields{"", "a", "", "b", ""}));
  EXPECT_EQ(split_all(""), (Fields{""}));
  EXPECT_EQ(split_all("\r\n"), (Fields{""}));
  EXPECT_EQ(split_all("\"\",x"), (Fields{"", "x"}));
}

TEST(CsvSplit, QuotedFieldsKeepTheirCommasAndLoseTheirQuotes) {
  EXPECT_EQ(split_all("1,\"Hamilton, Lewis\",44\r\n"), (Fields{"1", "Hamilton, Lewis", "44"}));
  EXPECT_EQ(split_all(" \"a\" ,\" b \""), (Fields{"a", " b "}));  // spaces inside the quotes stay
  // A view cannot unescape: doubled quotes stay doubled (the Table unescapes them).
  EXPECT_EQ(split_all("\"say \"\"hi\"\", ok\",2"), (Fields{"say \"\"hi\"\", ok", "2"}));
}

TEST(CsvSplit, ReusesItsOutputVector) {
  std::vector<std::string_view> f;
  split("a,b,c,d,e,f,g,h", f);
  const auto* data = f.data();
  const auto capacity = f.capacity();
  split("1,2,3", f);
  EXPECT_EQ(f.size(), 3U);
  EXPECT_EQ(f.data(), data);
  EXPECT_EQ(f.capacity(), capacity);
}

TEST(CsvFields, NumbersIntegersAndBooleans) {
  EXPECT_EQ(to_double("12"), 12.0);
  EXPECT_EQ(to_double("+12.5"), 12.5);
  EXPECT_EQ(to_double("-3.25"), -3.25);
  EXPECT_EQ(to_double("1234567890123"), 1234567890123.0);
  EXPECT_FALSE(to_double(""));
  EXPECT_FALSE(to_double("nan"));
  EXPECT_FALSE(to_double("NaN"));
  EXPECT_FALSE(to_double("12x"));
  EXPECT_FALSE(to_double("+"));
  EXPECT_EQ(to_int("4.0"), 4);
  EXPECT_EQ(to_int("57"), 57);
  EXPECT_FALSE(to_int("3e9"));
  EXPECT_FALSE(to_int(""));
  EXPECT_EQ(to_bool("True"), true);
  EXPECT_EQ(to_bool("1.0"), true);
  EXPECT_EQ(to_bool("False"), false);
  EXPECT_EQ(to_bool("0"), false);
  EXPECT_FALSE(to_bool("yes"));
  EXPECT_FALSE(to_bool(""));
}

TEST(CsvTable, ParsesHeaderRowsQuotesAndTheErgastMissingValue) {
  const Table t = Table::parse(
      "raceId,driverRef,number,time,name\r\n"
      "1,hamilton,44,\\N,\"Hamilton, \"\"Lewis\"\"\"\r\n"
      "\r\n"
      "2,max_verstappen,\\N,1:32.1,\r\n"
      "3,short\r\n");
  ASSERT_EQ(t.size(), 3U);  // the blank line is skipped
  const int race = t.require("raceId"), ref = t.require("driverRef"), number = t.require("number"),
            time = t.require("time"), name = t.require("name");
  EXPECT_EQ(t.col("nope"), -1);
  EXPECT_EQ(t.integer(0, race), 1);
  EXPECT_EQ(t.at(0, ref), "hamilton");
  EXPECT_EQ(t.integer(0, number), 44);
  EXPECT_EQ(t.at(0, time), "");  // \N is missing
  EXPECT_EQ(t.at(0, name), "Hamilton, \"Lewis\"");
  EXPECT_FALSE(t.integer(1, number));
  EXPECT_EQ(t.at(1, time), "1:32.1");
  EXPECT_FALSE(t.number(1, time));
  EXPECT_EQ(t.at(1, name), "");
  EXPECT_EQ(t.at(2, ref), "short");
  EXPECT_EQ(t.at(2, name), "");  // past the end of a short row
  EXPECT_EQ(t.at(2, -1), "");
}

TEST(CsvTable, MissingColumnIsAClearError) {
  const Table t = Table::parse("a,b\n1,2\n", "tiny.csv");
  try {
    (void)t.require("c");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "missing column 'c' in tiny.csv");
  }
  EXPECT_THROW((void)Table::parse(""), ConfigError);
}

TEST(CsvTable, ReadsPlainAndGzipFilesAlike) {
  const fs::path dir = fs::temp_directory_path() / ("boxcall_csv_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string text = "x,y\r\n1,2\r\n3,\"4,5\"\r\n";
  std::ofstream(dir / "plain.csv", std::ios::binary) << text;
  gzFile f = gzopen((dir / "packed.csv.gz").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
  std::ofstream(dir / "empty.csv", std::ios::binary) << "";
  for (const char* name : {"plain.csv", "packed.csv.gz"}) {
    const Table t = Table::read(dir / name);
    ASSERT_EQ(t.size(), 2U) << name;
    EXPECT_EQ(t.number(0, t.require("y")), 2.0);
    EXPECT_EQ(t.at(1, t.require("y")), "4,5");
  }
  EXPECT_THROW((void)Table::read(dir / "missing.csv"), ConfigError);
  try {
    (void)Table::read(dir / "empty.csv");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("empty file"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace boxcall::csv
