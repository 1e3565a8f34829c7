#pragma once
// The key tables of io's sections (input, output), mounted by the run configuration.
#include "tod2map/io/config_table/table.hpp"
#include "tod2map/io/options.hpp"

namespace tod2map::io {

/// `input`; input.files reads the given list only (its default comes from the mounting table).
config_table::Table<InputConfig> input_keys();
config_table::Table<OutputConfig> output_keys();

}  // namespace tod2map::io
