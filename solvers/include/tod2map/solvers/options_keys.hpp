#pragma once
// The key table of the `solver` section, mounted by the run configuration.
#include "tod2map/io/config_table/table.hpp"
#include "tod2map/solvers/options.hpp"

namespace tod2map::solvers {

io::config_table::Table<SolverConfig> solver_keys();

}  // namespace tod2map::solvers
