// The solver.checkpoint keys (tod2map/solvers/options.hpp): defaults, values, round trip through
// to_yaml, and every rejection, each naming the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_error.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"

using testing::HasSubstr;
using tod2map::ConfigError;
using tod2map::parse_config;

using tod2map::test::parse_error;

namespace {

TEST(ConfigCheckpoint, DefaultIsOff) {
  const auto c = parse_config("");
  EXPECT_EQ(c.solver.checkpoint.path, "");
  EXPECT_EQ(c.solver.checkpoint.every, 0);
}

TEST(ConfigCheckpoint, ValuesAndRoundTrip) {
  const auto c = parse_config("solver: {checkpoint: {path: ck/state.h5, every: 25}}");
  EXPECT_EQ(c.solver.checkpoint.path, "ck/state.h5");
  EXPECT_EQ(c.solver.checkpoint.every, 25);
  const auto back = parse_config(tod2map::to_yaml(c));
  EXPECT_EQ(back.solver.checkpoint.path, "ck/state.h5");
  EXPECT_EQ(back.solver.checkpoint.every, 25);
  const auto off = parse_config(tod2map::to_yaml(parse_config("")));
  EXPECT_EQ(off.solver.checkpoint.path, "");
  const auto set =
      parse_config("", ".", {"solver.checkpoint.every=3", "solver.checkpoint.path=a.h5"});
  EXPECT_EQ(set.solver.checkpoint.every, 3);
  EXPECT_EQ(set.solver.checkpoint.path, "a.h5");
}

TEST(ConfigCheckpoint, Rejections) {
  EXPECT_THAT(parse_error("solver: {checkpoint: {every: -1}}"),
              HasSubstr("key solver.checkpoint.every: "));
  EXPECT_THAT(parse_error("solver: {checkpoint: {every: 1.5}}"),
              HasSubstr("key solver.checkpoint.every: expected an integer"));
  EXPECT_THAT(parse_error("solver: {checkpoint: {path: [a, b]}}"),
              HasSubstr("key solver.checkpoint.path: expected a string"));
  EXPECT_THAT(parse_error("solver: {checkpoint: {evry: 3}}"),
              HasSubstr("key solver.checkpoint.evry: unknown key (did you mean "
                        "'solver.checkpoint.every'?)"));
  EXPECT_THAT(parse_error("solver: {checkpoint: 5}"),
              HasSubstr("key solver.checkpoint: expected a mapping of keys (path, every)"));
  // The map and the checkpoint must be different files.
  EXPECT_THAT(parse_error("solver: {checkpoint: {path: out/map.h5}}"),
              HasSubstr("key solver.checkpoint.path: 'out/map.h5' is the map file output.path"));
  EXPECT_THAT(parse_error("solver: {checkpoint: {path: ./out/m.h5.partial}}\n"
                          "output: {path: out/m.h5}"),
              HasSubstr("is the map file output.path (or its .partial)"));
  EXPECT_THAT(parse_error("solver: {checkpoint: {path: out/}}"),
              HasSubstr("key solver.checkpoint.path: 'out/' names a folder"));
  EXPECT_THAT(parse_error("", {"solver.checkpoint.every=-2"}),
              HasSubstr("--set solver.checkpoint.every=-2: key solver.checkpoint.every"));
}

}  // namespace
