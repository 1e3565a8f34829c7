#include "tod2map/core/log.hpp"

#include <cstdio>

namespace tod2map::log {
namespace {
MPI_Comm g_comm = MPI_COMM_NULL;
bool g_quiet = false;

bool is_root() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return true;
  int rank = 0;
  MPI_Comm_rank(g_comm == MPI_COMM_NULL ? MPI_COMM_WORLD : g_comm, &rank);
  return rank == 0;
}
}  // namespace

void set_comm(MPI_Comm comm) { g_comm = comm; }
void set_quiet(bool quiet) { g_quiet = quiet; }

void info(const char* fmt, ...) {
  if (g_quiet || !is_root()) return;
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stdout, fmt, args);
  va_end(args);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void warning(const char* fmt, ...) {
  if (!is_root()) return;
  va_list args;
  va_start(args, fmt);
  std::fputs("warning: ", stderr);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
  std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace tod2map::log
