#pragma once
// The run configuration (docs/config.md): YAML in, typed structs out. Every key has a default;
// unknown keys, wrong types and impossible values throw ConfigError naming the key path before
// any work starts. Each section is declared by the component that owns it (its options.hpp and
// options_keys.hpp); this target mounts them and checks what involves several sections.
#include <string>
#include <vector>

#include "tod2map/io/options.hpp"
#include "tod2map/mapmaker/options.hpp"
#include "tod2map/pixelization/options.hpp"
#include "tod2map/sim/options.hpp"
#include "tod2map/solvers/options.hpp"

namespace tod2map {

/// The whole resolved configuration; its origin (source, base_dir) is what relative input
/// paths and messages need.
struct Config : io::ConfigOrigin {
  io::InputConfig input;
  pixelization::PixelizationConfig pixelization;
  mapmaker::MapmakerConfig mapmaker;
  solvers::SolverConfig solver;
  io::OutputConfig output;
  mapmaker::MonteCarloConfig monte_carlo;
  mapmaker::ResourcesConfig resources;
  sim::SimulationConfig simulation;
};

/// Reads a YAML config file and applies overrides ("key.path=value", YAML-typed values) before
/// checking. Throws ConfigError ("<file>: key <path>: ...", "--set <override>: key <path>: ...",
/// or "<file>:<line>:<column>: not valid YAML: ...") or IoError (unreadable file). Reads the file
/// on the calling rank only (not collective). Keys and messages: docs/config.md.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Same, from YAML text; base_dir is where relative input paths start. Messages start with
/// "(config text)" where load_config's name the file.
Config parse_config(const std::string& yaml_text, const std::string& base_dir = ".",
                    const std::vector<std::string>& overrides = {});

/// The fully resolved configuration (every key, defaults filled in) as YAML text; parsing it
/// back gives an identical Config.
std::string to_yaml(const Config& config);

/// The configuration as a map file stores it: input paths (input.files, simulation.output_dir,
/// simulation.sky.path) made absolute, so the stored text runs again from any folder. Output
/// paths stay relative to the current folder, so a re-run does not overwrite the original map.
Config with_absolute_input_paths(const Config& config);

}  // namespace tod2map
