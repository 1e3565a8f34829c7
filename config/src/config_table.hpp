#pragma once
// The run configuration's key table: every component's section mounted under its name
// (config/src/config_table.cpp).
#include "tod2map/config/config.hpp"
#include "tod2map/io/config_table/table.hpp"

namespace tod2map {

using ConfigKey = io::config_table::BasicKey<Config>;

/// Built once.
const io::config_table::Table<Config>& config_key_table();

}  // namespace tod2map
