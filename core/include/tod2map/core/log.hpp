#pragma once
// Progress and summary output. Only rank 0 of the communicator given to set_log_comm prints
// (to stdout), so long runs report once, not once per rank. Warnings and errors go to stderr.
#include <mpi.h>

#include <cstdarg>

namespace tod2map::log {

/// Sets the communicator whose rank 0 prints (default MPI_COMM_WORLD once MPI is up).
void set_comm(MPI_Comm comm);
/// Silences info() (warnings still print); used by tests and quiet runs.
void set_quiet(bool quiet);

/// printf-style progress line on rank 0, newline appended.
void info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/// printf-style warning on rank 0 to stderr, "warning: " prefixed.
void warning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tod2map::log
