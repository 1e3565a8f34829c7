// The table of map-making methods: the one place that lists them. A new method is its own
// file in this folder defining make_<name>() plus one line in each of the two lists below.
//
// The config validates mapmaker.method against the names a config may spell
// (mapmaker/options/mapmaker_keys.cpp, in the options target below this library, which cannot
// ask this table); this table says which of them are built. A name the config accepts
// but that is not here is refused by make_method with the list below, and
// tests/unit/test_method_registry.cpp checks that every name here is one the config accepts.
#include <algorithm>
#include <iterator>

#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/method.hpp"

namespace tod2map::mapmaker {

std::unique_ptr<Method> make_binned();
std::unique_ptr<Method> make_destripe();
std::unique_ptr<Method> make_gls();

namespace {

struct Entry {
  const char* name;
  std::unique_ptr<Method> (*make)();
};

constexpr Entry kMethods[] = {
    {"binned", &make_binned},
    {"destripe", &make_destripe},
    {"gls", &make_gls},
};

}  // namespace

std::vector<std::string> method_names() {
  std::vector<std::string> names;
  for (const auto& m : kMethods) names.emplace_back(m.name);
  return names;
}

std::unique_ptr<Method> make_method(const std::string& name) {
  const auto* found = std::find_if(std::begin(kMethods), std::end(kMethods),
                                   [&](const Entry& m) { return name == m.name; });
  if (found != std::end(kMethods)) return found->make();
  std::string available;
  for (const auto& m : kMethods) available += (available.empty() ? "" : ", ") + std::string(m.name);
  throw InvalidArgument("mapmaker.method: '" + name +
                        "' is not available in this version of tod2map (available: " + available +
                        ")");
}

}  // namespace tod2map::mapmaker
