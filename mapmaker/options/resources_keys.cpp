// The `resources` section: limits a run checks itself against before it allocates.
#include <cmath>
#include <cstdlib>

#include "tod2map/mapmaker/options_keys.hpp"

namespace tod2map::mapmaker {

using namespace io::config_table;

std::int64_t parse_memory_size(const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number) || number <= 0) return -1;
  std::string unit(end);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const struct {
    const char* name;
    double factor;
  } units[] = {{"", 1.0},
               {"B", 1.0},
               {"KiB", 1024.0},
               {"MiB", 1048576.0},
               {"GiB", 1073741824.0},
               {"TiB", 1099511627776.0},
               {"K", 1e3},
               {"KB", 1e3},
               {"M", 1e6},
               {"MB", 1e6},
               {"G", 1e9},
               {"GB", 1e9},
               {"T", 1e12},
               {"TB", 1e12}};
  for (const auto& u : units)
    if (unit == u.name) {
      const double bytes = number * u.factor;
      return bytes < 9.2e18 ? static_cast<std::int64_t>(bytes) : -1;
    }
  return -1;
}

namespace {

void check_memory_size(const Section& s, const std::string& key, std::string& text) {
  if (!text.empty() && parse_memory_size(text) <= 0)
    s.fail(key, "'" + text +
                    "' is not a memory size (expected a number of bytes with an "
                    "optional unit: 4GiB, 500MiB, 16G, 2e9)");
}

}  // namespace

Table<ResourcesConfig> resources_keys() {
  using R = ResourcesConfig;
  Table<R> t;
  t.leaf("max_memory_per_rank", field(&R::max_memory_per_rank),
         "The memory one rank may use (`4GiB`, `500MiB`, `16G`; units KiB, MiB, GiB, TiB, or "
         "K, M, G, T for powers of 1000). Empty: the cgroup's limit or the node's MemAvailable, "
         "shared by the node's ranks. `tod2map run` estimates each rank's memory by part "
         "before reading (and again once the pointing is expanded) and stops, naming the part "
         "and what to change, when a rank would need more; `tod2map plan` prints the "
         "estimate.")
      .check(check_memory_size)
      .type("string: a size")
      .example("8GiB");
  return t;
}

}  // namespace tod2map::mapmaker
