// The map-making method table (mapmaker/src/methods/registry.cpp) against the config's
// accepted names (the config validates mapmaker.method in the options target below the
// map-maker; it cannot see the table).
#include <gtest/gtest.h>

#include "tod2map/config/config.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/method.hpp"

namespace {

using tod2map::InvalidArgument;
using tod2map::mapmaker::make_method;
using tod2map::mapmaker::method_names;

TEST(MethodRegistry, ListsTheBuiltInMethodsInOrder) {
  EXPECT_EQ(method_names(), (std::vector<std::string>{"binned", "destripe"}));
}

TEST(MethodRegistry, EveryMethodIsOneTheConfigAccepts) {
  for (const auto& name : method_names()) {
    SCOPED_TRACE(name);
    const auto config = tod2map::parse_config("mapmaker: {method: " + name + "}");
    EXPECT_EQ(config.mapmaker.method, name);
    EXPECT_NE(make_method(name), nullptr);
  }
}

// gls passes the config (it is planned) and is refused here, with today's message.
TEST(MethodRegistry, RefusesAcceptedButMissingMethod) {
  EXPECT_EQ(tod2map::parse_config("mapmaker: {method: gls}").mapmaker.method, "gls");
  try {
    make_method("gls");
    FAIL() << "gls should be refused";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "mapmaker.method: 'gls' is not available in this version of tod2map "
                 "(available: binned, destripe)");
  }
}

}  // namespace
