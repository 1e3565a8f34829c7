#pragma once
// How a command that failed ends under MPI (apps/main.cpp; issue 14, "Errors under MPI").
//
// Most errors are collective: agree_on_errors() (mpi.hpp) hands every rank the same exception,
// or every rank meets the same check on reduced values. Such an error is printed once, by rank
// 0, and every rank returns normally (MPI_Finalize is then reached by all). An error met by one
// rank alone, while the others wait in a collective or go on working, must not hang the job:
// it is printed by that rank, naming it, and the job ends with MPI_Abort.
//
// The two are told apart without trusting any bookkeeping: every failed rank enters a
// non-blocking barrier on a private duplicate of MPI_COMM_WORLD (so that it can never match a
// collective the other ranks are in) and waits for it a few seconds. Ranks that fail together
// meet there at once; a rank that is still waiting at the deadline is alone.
#include <mpi.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace tod2map {

struct FailureReport {
  const char* command = "";    // "run", "sim": printed as "tod2map <command>: ..."
  const char* kind = "error";  // "error" or "stopped" (a signal ended a checkpointed solve)
  std::string message;
};

/// Collective over `world` (a duplicate of MPI_COMM_WORLD reserved for this) among the ranks
/// that failed; see above. Prints "tod2map <command>: <kind>: <message>" once (rank 0) when every
/// rank failed with the same message, each rank's own line "tod2map <command>: <kind> on rank r:
/// <message>" when the messages differ, and, when not every rank arrives within wait_seconds,
/// this rank's line and then calls abort(world-of-the-job, 1). `abort` is MPI_Abort in the
/// executable; a test passes one that returns, and then this waits for the barrier to complete.
void report_failure(MPI_Comm world, const FailureReport& failure, std::FILE* out,
                    double wait_seconds = 5.0, int (*abort)(MPI_Comm, int) = MPI_Abort);

/// The file-size limit of this process (RLIMIT_FSIZE, `ulimit -f`) in bytes; UINT64_MAX if none.
std::uint64_t file_size_limit();

/// Throws IoError("<where>: file too large: it needs about <bytes> bytes, more than the
/// file-size limit (ulimit -f) of <limit> bytes") when `bytes` exceeds file_size_limit().
/// For writers that cannot recover cleanly from a write past the limit (HDF5 fails to close
/// such a file and then crashes at MPI_Finalize), checked before the file is created.
void check_file_size_limit(const std::string& where, std::uint64_t bytes);

/// "; file too large (the file-size limit, ulimit -f, is <limit> bytes)" when `error` is EFBIG,
/// else "": for the message of a write that failed with that errno.
std::string file_too_large_note(int error);

}  // namespace tod2map
