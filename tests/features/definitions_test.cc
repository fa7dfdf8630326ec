#include "features/definitions.h"

#include <gtest/gtest.h>

#include <vector>

namespace boxcall::features {
namespace {

TEST(Definitions, DrsOpenCodes) {
  for (int code : {10, 12, 14}) EXPECT_TRUE(drs_open(static_cast<std::uint8_t>(code))) << code;
  for (int code : {0, 1, 2, 3, 8, 9, 11, 13}) EXPECT_FALSE(drs_open(static_cast<std::uint8_t>(code))) << code;
}

TEST(Definitions, ThrottleRangeExcludesSensorErrorValue) {
  EXPECT_TRUE(throttle_valid(0.0F));
  EXPECT_TRUE(throttle_valid(100.0F));
  EXPECT_FALSE(throttle_valid(104.0F));
  EXPECT_FALSE(throttle_valid(-1.0F));
  EXPECT_TRUE(full_throttle(99.0F));
  EXPECT_FALSE(full_throttle(98.9F));
}

TEST(Definitions, GreenOnlyTrackStatus) {
  EXPECT_TRUE(green_only("1"));
  EXPECT_FALSE(green_only("12"));
  EXPECT_FALSE(green_only("4"));
  EXPECT_FALSE(green_only("267"));
  EXPECT_FALSE(green_only(""));  // unknown is not green
}

TEST(Definitions, FuelEstimate) {
  EXPECT_DOUBLE_EQ(fuel_kg_est(0, 57), 110.0);
  EXPECT_DOUBLE_EQ(fuel_kg_est(57, 57), 0.0);
  EXPECT_DOUBLE_EQ(fuel_kg_est(19, 57), 110.0 * (1.0 - 19.0 / 57.0));
}

TEST(Definitions, LeastSquaresSlope) {
  const std::vector<double> x{1, 2, 3, 4};
  const std::vector<double> y{90.0, 90.1, 90.2, 90.3};
  ASSERT_TRUE(least_squares_slope(x, y).has_value());
  EXPECT_NEAR(*least_squares_slope(x, y), 0.1, 1e-12);
  // Noisy: the closed form sum((x-mx)(y-my)) / sum((x-mx)^2).
  const std::vector<double> y2{1.0, 3.0, 2.0, 5.0};
  EXPECT_NEAR(*least_squares_slope(x, y2), 1.1, 1e-12);
}

TEST(Definitions, LeastSquaresSlopeDegenerate) {
  const std::vector<double> one{1};
  EXPECT_FALSE(least_squares_slope(one, one).has_value());
  const std::vector<double> same_x{3, 3, 3};
  const std::vector<double> y{1, 2, 3};
  EXPECT_FALSE(least_squares_slope(same_x, y).has_value());
}

}  // namespace
}  // namespace boxcall::features
