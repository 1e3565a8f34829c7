#pragma once
// The key tables of the map-maker's sections (mapmaker, pixelization), mounted by the run
// configuration.
#include "tod2map/io/config_table/table.hpp"
#include "tod2map/mapmaker/options.hpp"
#include "tod2map/pixelization/options.hpp"

namespace tod2map::mapmaker {

io::config_table::Table<MapmakerConfig> mapmaker_keys();
io::config_table::Table<pixelization::PixelizationConfig> pixelization_keys();
io::config_table::Table<MonteCarloConfig> monte_carlo_keys();
io::config_table::Table<ResourcesConfig> resources_keys();

}  // namespace tod2map::mapmaker
