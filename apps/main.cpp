// tod2map: the command-line entry point (run, sim, info).
#include <mpi.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/failure.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/runtime.hpp"
#include "tod2map/core/version.hpp"

namespace {
void usage(std::FILE* out) {
  std::fputs(
      "usage: tod2map <command> [arguments]\n"
      "  run CONFIG [--set key.path=value ...] [--resume] [--mc N]\n"
      "                                          make a map (under mpirun or alone); --resume\n"
      "                                          continues from solver.checkpoint.path; --mc N\n"
      "                                          also makes N noise-only maps\n"
      "  sim CONFIG [--set key.path=value ...]   write simulated timelines\n"
      "  plan CONFIG -n RANKS [--sky-fraction F] [--set ...]\n"
      "                                          memory and time a run would need, per rank,\n"
      "                                          from the input's headers alone\n"
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
  // Before MPI starts: a write past `ulimit -f` fails with EFBIG (reported) instead of killing.
  std::signal(SIGXFSZ, SIG_IGN);
  tod2map::Runtime runtime(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // SIGINT/SIGTERM from here on: remove our .partial files, say so once, exit 128 + signal;
  // SIGXFSZ ignored (a write past `ulimit -f` is an error). See core/interrupt.hpp.
  tod2map::install_stop_handlers(command.c_str(), rank);
  // Reserved for report_failure's barrier, so that it never meets another collective.
  MPI_Comm failures = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &failures);
  tod2map::FailureReport failure;
  failure.command = command.c_str();
  int status = 1;
  try {
    if (command == "run")
      status = tod2map::apps::command_run(argc - 2, argv + 2);
    else if (command == "sim")
      status = tod2map::apps::command_sim(argc - 2, argv + 2);
    else if (command == "info")
      status = tod2map::apps::command_info(argc - 2, argv + 2);
    else if (command == "plan")
      status = tod2map::apps::command_plan(argc - 2, argv + 2);
    else {
      if (rank == 0) {
        std::fprintf(stderr, "tod2map: unknown command '%s'\n", command.c_str());
        usage(stderr);
      }
      status = 2;
    }
    MPI_Comm_free(&failures);
    return status;
  } catch (const tod2map::Interrupted& e) {
    // Stopped cleanly by a signal, its state saved: the shell's convention for a process
    // ended by signal N (128 + N) tells batch scripts what happened.
    failure.kind = "stopped";
    failure.message = e.what();
    status = 128 + e.signal();
  } catch (const std::exception& e) {
    failure.message = e.what();
    status = 1;
  }
  // Printed once by rank 0 when every rank failed alike (agreed errors); an error on one rank
  // only is printed by that rank, which then ends the job with MPI_Abort (no rank may hang).
  tod2map::report_failure(failures, failure, stderr);
  MPI_Comm_free(&failures);
  return status;
}
