// `tod2map info FILE`: what a timeline or map file holds, whatever its format (by content).
#include <iostream>
#include <string>

#include "commands.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/describe.hpp"

namespace tod2map::apps {

int command_info(int argc, char** argv) {
  if (argc != 1) throw InvalidArgument("usage: tod2map info FILE");
  io::describe_file(argv[0], std::cout);
  return 0;
}

}  // namespace tod2map::apps
