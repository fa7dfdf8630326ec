// The compact live summary: a lap line (top of the tower, who is about to box) and alert
// lines, as a person reads them in the terminal.
#include "serve/terminal_summary.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace boxcall::serve {
namespace {

SessionOutput lap(std::uint16_t car, const char* driver, int lap_no, int position, double time_s, double gap) {
  LapFeatures f;
  f.car = car;
  f.driver = DriverCode(driver);
  f.lap = lap_no;
  f.position = position;
  f.lap_time_s = time_s;
  f.gap_to_leader_s = gap;
  f.compound = Compound::Medium;
  f.tyre_age = 14;
  f.laps_remaining = 57 - lap_no;
  return {"bahrain", f};
}

SessionOutput boxing(std::uint16_t car, int lap_no) {
  StrategyPrediction p;
  p.car = car;
  p.lap = lap_no;
  p.p_pit_3 = 0.71;
  p.pit_window_start = lap_no + 1;
  p.pit_window_best = lap_no + 2;
  p.pit_window_end = lap_no + 3;
  p.next_compound = Compound::Hard;
  return {"bahrain", p};
}

TEST(TerminalSummary, LapLineShowsTheTopOfTheTowerAndWhoIsAboutToBox) {
  LiveView view;
  std::vector<SessionOutput> b{lap(1, "VER", 12, 1, 93.412, 0), lap(44, "HAM", 12, 2, 94.0, 1.234),
                               lap(11, "PER", 12, 3, 94.1, 2.5), boxing(44, 12)};
  view.apply(b);
  const auto line = TerminalSummary::lap_line(*view.session("bahrain"), 12, SummaryOptions{});
  EXPECT_EQ(line, "bahrain  lap 12/57  1 VER 1:33.412 M14 2 HAM +1.2 3 PER +2.5  | box soon: HAM 71% L13-15 ->H");
}

TEST(TerminalSummary, PrintsLapsAndWarningsOncePerLap) {
  char* buf = nullptr;
  std::size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  {
    LiveView view;
    TerminalSummary summary(view, out);
    std::vector<SessionOutput> b{lap(1, "VER", 1, 1, 99.0, 0), lap(44, "HAM", 1, 2, 99.5, 0.5)};
    view.apply(b);
    Alert cliff;
    cliff.car = 44;
    cliff.kind = "tyre_cliff";
    cliff.severity = Severity::Warning;
    cliff.message = "HAM: tyre cliff";
    Alert info = cliff;
    info.kind = "pit_window_open";
    info.severity = Severity::Info;
    std::vector<SessionOutput> c{{"bahrain", cliff}, {"bahrain", info}, lap(1, "VER", 2, 1, 98.0, 0)};
    view.apply(c);
  }  // the summary prints what is due when it stops
  std::fclose(out);
  const std::string text(buf, size);
  std::free(buf);
  auto count = [&](const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  };
  // Lap 1 is printed only if the summary looked before lap 2 arrived (a leader several laps
  // ahead of the last look gets one line, for its newest lap); the newest lap always is.
  EXPECT_LE(count("bahrain  lap 1/57  1 VER 1:39.000 M14 2 HAM +0.5\n"), 1U) << text;
  EXPECT_EQ(count("bahrain  lap 2/57  1 VER 1:38.000 M14 2 HAM +0.5\n"), 1U) << text;
  EXPECT_EQ(count("bahrain  WARNING tyre_cliff: HAM: tyre cliff\n"), 1U) << text;
  EXPECT_EQ(count("pit_window_open"), 0U) << "INFO alerts stay out of the summary";
}

}  // namespace
}  // namespace boxcall::serve
