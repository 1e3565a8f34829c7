#pragma once
// Parsing of "CONFIG [--set key.path=value ...] [--resume] [--mc N]" shared by the run and sim
// subcommands.
#include <string>
#include <vector>

namespace tod2map::apps {

struct ConfigArgs {
  std::string config_path;
  std::vector<std::string> overrides;  ///< "key.path=value", in command-line order
  bool resume = false;                 ///< --resume (only where allow_resume)
};

/// Throws InvalidArgument with a usage hint for anything it does not understand (--resume and
/// --mc too, unless allow_resume: the run's own options). --mc N is --set monte_carlo.count=N.
ConfigArgs parse_config_args(const char* command, int argc, char** argv, bool allow_resume = false);

}  // namespace tod2map::apps
