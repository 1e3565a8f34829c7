// tod2map: the command-line entry point (run, sim, info).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/core/version.hpp"
#include "commands.hpp"

namespace {
void usage(std::FILE* out) {
  std::fputs(
      "usage: tod2map <command> [arguments]\n"
      "  run CONFIG [--set key.path=value ...] [--resume]\n"
      "                                          make a map (under mpirun or alone); --resume\n"
      "                                          continues from solver.checkpoint.path\n"
      "  sim CONFIG [--set key.path=value ...]   write simulated timelines\n"
      "  info FILE                               describe a timeline or map file\n"
      "  --version                               print the version\n",
      out);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    usage(stdout);
    return 0;
  }
  if (command == "--version") {
    std::printf("tod2map %s\n", tod2map::version());
    return 0;
  }
  tod2map::Runtime runtime(&argc, &argv);
  try {
    if (command == "run") return tod2map::apps::command_run(argc - 2, argv + 2);
    if (command == "sim") return tod2map::apps::command_sim(argc - 2, argv + 2);
    if (command == "info") return tod2map::apps::command_info(argc - 2, argv + 2);
    std::fprintf(stderr, "tod2map: unknown command '%s'\n", command.c_str());
    usage(stderr);
    return 2;
  } catch (const tod2map::Interrupted& e) {
    // Stopped cleanly by a signal, its state saved: the shell's convention for a process
    // ended by signal N (128 + N) tells batch scripts what happened.
    std::fprintf(stderr, "tod2map %s: stopped: %s\n", command.c_str(), e.what());
    return 128 + e.signal();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tod2map %s: error: %s\n", command.c_str(), e.what());
    // Every rank has the same message (collective checks); abort so no rank waits forever.
    return 1;
  }
}
