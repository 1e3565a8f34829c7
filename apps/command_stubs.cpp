// Temporary stubs, replaced as each subcommand lands.
#include <cstdio>

#include "commands.hpp"

namespace tod2map::apps {
int command_run(int, char**) { std::fputs("tod2map run: not built yet\n", stderr); return 3; }
int command_sim(int, char**) { std::fputs("tod2map sim: not built yet\n", stderr); return 3; }
int command_info(int, char**) { std::fputs("tod2map info: not built yet\n", stderr); return 3; }
}  // namespace tod2map::apps
