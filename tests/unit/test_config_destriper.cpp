// The destriper's configuration keys (solvers/options/solver_keys.cpp,
// mapmaker/options/mapmaker_keys.cpp): solver.preconditioner, solver.precond_width,
// solver.coarse_nside and mapmaker.nside_cross are read, written by to_yaml (the resolved
// configuration that `tod2map run` logs and map files store) and read back unchanged, and set by
// overrides; every impossible value is refused with a one-line ConfigError that names the key and
// the value. Defaults are not tested here (test_config.cpp owns them).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <vector>

#include "config_error.hpp"
#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"

namespace solvers = tod2map::solvers;
using tod2map::Config;
using tod2map::ConfigError;
using tod2map::parse_config;
using tod2map::to_yaml;

using tod2map::test::parse_error;

namespace {

const char* const kSet =
    "pixelization: {nside: 8}\n"
    "mapmaker: {nside_cross: 4}\n"
    "solver: {preconditioner: two_level, precond_width: 7, coarse_nside: 2}\n";

TEST(ConfigDestriper, KeysAreReadAndRoundTripThroughToYaml) {
  const Config c = parse_config(kSet);
  EXPECT_EQ(c.solver.preconditioner, solvers::PreconditionerKind::two_level);
  EXPECT_EQ(c.solver.precond_width, 7);
  EXPECT_EQ(c.solver.coarse_nside, 2);
  EXPECT_EQ(c.mapmaker.nside_cross, 4);
  const std::string text = to_yaml(c);
  // Written as plain values under their sections.
  const YAML::Node doc = YAML::Load(text);
  EXPECT_EQ(doc["solver"]["preconditioner"].Scalar(), "two_level");
  EXPECT_EQ(doc["solver"]["precond_width"].Scalar(), "7");
  EXPECT_EQ(doc["solver"]["coarse_nside"].Scalar(), "2");
  EXPECT_EQ(doc["mapmaker"]["nside_cross"].Scalar(), "4");
  // And read back to the same values and the same text.
  const Config back = parse_config(text);
  EXPECT_EQ(back.solver.preconditioner, c.solver.preconditioner);
  EXPECT_EQ(back.solver.precond_width, c.solver.precond_width);
  EXPECT_EQ(back.solver.coarse_nside, c.solver.coarse_nside);
  EXPECT_EQ(back.mapmaker.nside_cross, c.mapmaker.nside_cross);
  EXPECT_EQ(to_yaml(back), text);
  // Every value of the choice survives the trip.
  for (const char* kind : {"diagonal", "banded", "two_level"}) {
    const Config k = parse_config(std::string("solver: {preconditioner: ") + kind + "}");
    EXPECT_STREQ(tod2map::enum_name(solvers::preconditioner_names,
                                    parse_config(to_yaml(k)).solver.preconditioner, "?"),
                 kind);
  }
}

TEST(ConfigDestriper, OverridesSetTheKeys) {
  const Config c = parse_config("pixelization: {nside: 16}", ".",
                                {"solver.preconditioner=banded", "solver.precond_width=3",
                                 "solver.coarse_nside=4", "mapmaker.nside_cross=8"});
  EXPECT_EQ(c.solver.preconditioner, solvers::PreconditionerKind::banded);
  EXPECT_EQ(c.solver.precond_width, 3);
  EXPECT_EQ(c.solver.coarse_nside, 4);
  EXPECT_EQ(c.mapmaker.nside_cross, 8);
}

TEST(ConfigDestriper, BoundaryValuesAreAccepted) {
  // nside_cross equal to nside (the map's own pixels) and 0 (the same, the default).
  EXPECT_EQ(
      parse_config("pixelization: {nside: 4}\nmapmaker: {nside_cross: 4}").mapmaker.nside_cross, 4);
  EXPECT_EQ(
      parse_config("pixelization: {nside: 4}\nmapmaker: {nside_cross: 0}").mapmaker.nside_cross, 0);
  EXPECT_EQ(parse_config("solver: {precond_width: 1}").solver.precond_width, 1);
  // Choices are matched without regard to case and stored as spelled in the list.
  EXPECT_EQ(parse_config("solver: {preconditioner: Two_Level}").solver.preconditioner,
            solvers::PreconditionerKind::two_level);
  // coarse_nside up to the destriping resolution, nside_cross when set.
  EXPECT_EQ(
      parse_config("pixelization: {nside: 4}\nsolver: {preconditioner: two_level, coarse_nside: 4}")
          .solver.coarse_nside,
      4);
  EXPECT_EQ(parse_config("pixelization: {nside: 8}\nmapmaker: {nside_cross: 2}\n"
                         "solver: {preconditioner: two_level, coarse_nside: 2}")
                .solver.coarse_nside,
            2);
  // coarse_nside is only used by two_level: above the resolution it is not an error otherwise.
  EXPECT_EQ(
      parse_config("pixelization: {nside: 2}\nsolver: {preconditioner: banded, coarse_nside: 8}")
          .solver.coarse_nside,
      8);
}

struct Bad {
  const char* yaml;
  const char* key;    // the key the message must name
  const char* value;  // and the value it must quote
};

TEST(ConfigDestriper, BadValuesGiveOneLineErrorNamingTheKey) {
  const Bad cases[] = {
      {"solver: {preconditioner: foo}", "solver.preconditioner", "foo"},
      {"solver: {preconditioner: [banded]}", "solver.preconditioner", ""},
      {"solver: {precond_width: 0}", "solver.precond_width", "0"},
      {"solver: {precond_width: -3}", "solver.precond_width", "-3"},
      {"solver: {precond_width: 2.5}", "solver.precond_width", "2.5"},
      {"solver: {coarse_nside: 3}", "solver.coarse_nside", "3"},
      {"solver: {coarse_nside: 0}", "solver.coarse_nside", "0"},
      {"solver: {coarse_nside: -2}", "solver.coarse_nside", "-2"},
      {"pixelization: {nside: 4}\nsolver: {preconditioner: two_level, coarse_nside: 8}",
       "solver.coarse_nside", "8"},
      {"pixelization: {nside: 8}\nmapmaker: {nside_cross: 2}\n"
       "solver: {preconditioner: two_level, coarse_nside: 4}",
       "solver.coarse_nside", "4"},
      {"pixelization: {nside: 4}\nmapmaker: {nside_cross: 8}", "mapmaker.nside_cross", "8"},
      {"mapmaker: {nside_cross: 3}", "mapmaker.nside_cross", "3"},
      {"mapmaker: {nside_cross: -1}", "mapmaker.nside_cross", "-1"},
      {"mapmaker: {nside_cross: two}", "mapmaker.nside_cross", "two"},
  };
  for (const Bad& b : cases) {
    SCOPED_TRACE(b.yaml);
    const std::string e = parse_error(b.yaml);
    EXPECT_EQ(e.rfind(std::string("(config text): key ") + b.key + ": ", 0), 0u) << e;
    EXPECT_NE(
        e.find(b.value, std::string("(config text): key ").size() + std::string(b.key).size()),
        std::string::npos)
        << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

TEST(ConfigDestriper, BadOverridesNameTheKey) {
  for (const char* o : {"solver.preconditioner=foo", "solver.precond_width=0",
                        "solver.coarse_nside=5", "mapmaker.nside_cross=6"}) {
    SCOPED_TRACE(o);
    const std::string e = parse_error("", {o});
    const std::string key(o, std::string(o).find('='));
    EXPECT_NE(e.find(key), std::string::npos) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
}

}  // namespace
