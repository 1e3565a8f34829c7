#pragma once
// The key table of the `simulation` section, mounted by the run configuration.
#include "tod2map/io/config_table/table.hpp"
#include "tod2map/sim/options.hpp"

namespace tod2map::sim {

io::config_table::Table<SimulationConfig> simulation_keys();

}  // namespace tod2map::sim
