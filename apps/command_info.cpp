// `tod2map info FILE`: what a timeline or map file holds.
#include <iostream>
#include <string>

#include "commands.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/map_output.hpp"
#include "tod2map/io/timeline_fits.hpp"

namespace tod2map::apps {

namespace {
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

int command_info(int argc, char** argv) {
  if (argc != 1) throw InvalidArgument("usage: tod2map info FILE");
  const std::string path = argv[0];
  if (ends_with(path, ".h5") || ends_with(path, ".hdf5"))
    io::describe_hdf5_file(path, std::cout);
  else
    io::describe_fits_file(path, std::cout);
  return 0;
}

}  // namespace tod2map::apps
