// The memory model of mapmaker/memory_plan.hpp against hand counts.
#include <gtest/gtest.h>

#include <cmath>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/memory_plan.hpp"

namespace {

using namespace tod2map::mapmaker;

TEST(MemoryPlan, ParsesSizesWithBinaryAndDecimalUnits) {
  EXPECT_EQ(parse_memory_size("4GiB"), 4LL << 30);
  EXPECT_EQ(parse_memory_size("500 MiB"), 500LL << 20);
  EXPECT_EQ(parse_memory_size("16G"), 16000000000LL);
  EXPECT_EQ(parse_memory_size("2e9"), 2000000000LL);
  EXPECT_EQ(parse_memory_size("1.5KiB"), 1536);
  for (const char* bad : {"", "lots", "4 GiBs", "-1G", "0", "1e30G", "nanG"})
    EXPECT_EQ(parse_memory_size(bad), -1) << bad;
}

TEST(MemoryPlan, OccupancyEstimate) {
  EXPECT_EQ(expected_touched_pixels(0, 100), 0);
  // n samples over N pixels at random touch N (1 - exp(-n/N)).
  EXPECT_EQ(expected_touched_pixels(100, 100),
            static_cast<std::int64_t>(std::ceil(100 * (1 - std::exp(-1.0)))));
  EXPECT_EQ(expected_touched_pixels(1000000, 12), 12);
  EXPECT_LE(expected_touched_pixels(10, 1000000), 10);
}

TEST(MemoryPlan, PartsFollowTheArraysOfTheCode) {
  const tod2map::Config binned =
      tod2map::parse_config("pixelization: {nside: 16, stokes: IQU}\nmapmaker: {method: binned}");
  RankShare s;
  s.samples = 1000000;
  s.baselines = 20000;
  s.largest_timeline = 100000;
  s.float32_signal = true;
  s.touched_pixels = 3000;
  s.owned_pixels = 1000;
  s.owned_range = 1536;
  const MemoryEstimate e = estimate_rank_memory(binned, s);
  EXPECT_DOUBLE_EQ(e.samples, 1000000.0 * 24 + 20000.0 * 16);
  EXPECT_DOUBLE_EQ(e.io, 100000.0 * 74);
  // touched (40 + 16*3 + 8*6), owned (41 + 16*3 + 24*6), 200 per remote pixel, the writer's
  // block and row.
  EXPECT_DOUBLE_EQ(e.pixels, 3000.0 * 136 + 1000.0 * 233 + 2000.0 * 200 + 8.0 * 7 * 1536);
  EXPECT_DOUBLE_EQ(e.solver, 2 * 1000.0 * 3 * 8);
  EXPECT_DOUBLE_EQ(e.total(), e.samples + e.io + e.pixels + e.solver + e.base);

  // float64 signal, splits and a Monte Carlo on float32 input add their per-sample arrays.
  s.float32_signal = false;
  EXPECT_DOUBLE_EQ(estimate_rank_memory(binned, s).samples, 1000000.0 * 28 + 20000.0 * 16);
  const tod2map::Config more = tod2map::parse_config(
      "mapmaker: {method: binned}\noutput: {splits: [{name: a}]}\nmonte_carlo: {count: 2}");
  s.float32_signal = true;
  EXPECT_DOUBLE_EQ(estimate_rank_memory(more, s).samples, 1000000.0 * 40 + 20000.0 * 16);

  // destripe: 11 vectors and the band (precond_width + 1) per baseline, 7 map vectors.
  const tod2map::Config destripe = tod2map::parse_config(
      "pixelization: {nside: 16, stokes: IQU}\nsolver: {preconditioner: banded, precond_width: 8}");
  EXPECT_DOUBLE_EQ(estimate_rank_memory(destripe, s).solver,
                   20000.0 * 8 * (11 + 9) + 7 * 1000.0 * 3 * 8);
}

TEST(MemoryPlan, CheckNamesTheLargestPartAndTheLimit) {
  const tod2map::Config c = tod2map::parse_config("mapmaker: {method: binned}");
  MemoryEstimate e;
  e.samples = 100e6;
  e.pixels = 900e6;
  e.base = 50e6;
  EXPECT_NO_THROW(check_memory(c, e, 2000000000, "test", 2, "now"));
  EXPECT_NO_THROW(check_memory(c, e, -1, "unknown", 2, "now"));
  try {
    check_memory(c, e, 500000000, "the test's limit", 2, "now");
    FAIL() << "no error";
  } catch (const tod2map::InvalidArgument& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("a rank would need about 1001 MiB (now: samples 95 MiB, pixels 858 MiB"),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("but may have 477 MiB (the test's limit) on 2 rank(s); the largest part is "
                     "pixels: use more ranks"),
              std::string::npos)
        << m;
  }
}

TEST(MemoryPlan, LimitFromTheConfigFirst) {
  std::string source;
  const tod2map::Config set = tod2map::parse_config("resources: {max_memory_per_rank: 3GiB}");
  EXPECT_EQ(memory_limit(set, 123, &source), 3LL << 30);
  EXPECT_EQ(source, "resources.max_memory_per_rank = 3GiB");
  EXPECT_EQ(memory_limit(tod2map::parse_config(""), 123, &source), 123);
}

}  // namespace
