#include "cli_args.hpp"

#include <cstring>

#include "tod2map/core/error.hpp"

namespace tod2map::apps {

ConfigArgs parse_config_args(const char* command, int argc, char** argv, bool allow_resume) {
  ConfigArgs args;
  const std::string usage = std::string(" (usage: tod2map ") + command +
                            " CONFIG [--set key.path=value ...]" +
                            (allow_resume ? " [--resume] [--mc N])" : ")");
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--set") {
      if (i + 1 >= argc) throw InvalidArgument("--set needs key.path=value" + usage);
      args.overrides.emplace_back(argv[++i]);
    } else if (a.rfind("--set=", 0) == 0) {
      args.overrides.emplace_back(a.substr(6));
    } else if (a == "--resume" && allow_resume) {
      args.resume = true;
    } else if (a == "--mc" && allow_resume) {
      // The same as --set monte_carlo.count=N, so that the key's checks and messages apply.
      if (i + 1 >= argc) throw InvalidArgument("--mc needs the number of noise maps" + usage);
      args.overrides.emplace_back(std::string("monte_carlo.count=") + argv[++i]);
    } else if (!a.empty() && a[0] == '-') {
      throw InvalidArgument("unknown option '" + a + "'" + usage);
    } else if (args.config_path.empty()) {
      args.config_path = a;
    } else {
      throw InvalidArgument("unexpected argument '" + a + "'" + usage);
    }
  }
  if (args.config_path.empty()) throw InvalidArgument("missing CONFIG" + usage);
  return args;
}

}  // namespace tod2map::apps
