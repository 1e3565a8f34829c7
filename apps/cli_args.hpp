#pragma once
// Parsing of "CONFIG [--set key.path=value ...]" shared by the run and sim subcommands.
#include <string>
#include <vector>

namespace tod2map::apps {

struct ConfigArgs {
  std::string config_path;
  std::vector<std::string> overrides;  ///< "key.path=value", in command-line order
};

/// Throws InvalidArgument with a usage hint for anything it does not understand.
ConfigArgs parse_config_args(const char* command, int argc, char** argv);

}  // namespace tod2map::apps
