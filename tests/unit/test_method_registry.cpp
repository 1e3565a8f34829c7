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
  EXPECT_EQ(method_names(), (std::vector<std::string>{"binned", "destripe", "gls"}));
}

TEST(MethodRegistry, EveryMethodIsOneTheConfigAccepts) {
  for (const auto& name : method_names()) {
    SCOPED_TRACE(name);
    const auto config = tod2map::parse_config("mapmaker: {method: " + name + "}");
    EXPECT_EQ(config.mapmaker.method, name);
    EXPECT_NE(make_method(name), nullptr);
  }
}

// A name the table lacks (one a config could accept before its method is built) is refused
// with the list of those built.
TEST(MethodRegistry, RefusesAMethodItLacks) {
  try {
    make_method("maxlike");
    FAIL() << "maxlike should be refused";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(),
                 "mapmaker.method: 'maxlike' is not available in this version of tod2map "
                 "(available: binned, destripe, gls)");
  }
}

}  // namespace
