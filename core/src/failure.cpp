#include "tod2map/core/failure.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

#include "tod2map/core/error.hpp"

namespace tod2map {
namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::uint64_t file_size_limit() {
  struct rlimit limit {};
  if (getrlimit(RLIMIT_FSIZE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return static_cast<std::uint64_t>(limit.rlim_cur);
}

void check_file_size_limit(const std::string& where, std::uint64_t bytes) {
  const std::uint64_t limit = file_size_limit();
  if (bytes > limit)
    throw IoError(where + ": file too large: it needs about " + std::to_string(bytes) +
                  " bytes, more than the file-size limit (ulimit -f) of " + std::to_string(limit) +
                  " bytes");
}

std::string file_too_large_note(int error) {
  if (error != EFBIG) return "";
  const std::uint64_t limit = file_size_limit();
  return "; file too large" + (limit == UINT64_MAX ? std::string()
                                                   : " (the file-size limit, ulimit -f, is " +
                                                         std::to_string(limit) + " bytes)");
}

void report_failure(MPI_Comm world, const FailureReport& failure, std::FILE* out,
                    double wait_seconds, int (*abort)(MPI_Comm, int)) {
  int rank = 0;
  MPI_Comm_rank(world, &rank);
  MPI_Request barrier = MPI_REQUEST_NULL;
  MPI_Ibarrier(world, &barrier);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  int done = 0;
  for (;;) {
    MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
    if (done || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!done) {
    // Alone: the other ranks are busy or wait in a collective this rank will never join.
    std::fprintf(out, "tod2map %s: %s on rank %d: %s\n", failure.command, failure.kind, rank,
                 failure.message.c_str());
    std::fflush(out);
    abort(MPI_COMM_WORLD, 1);
    MPI_Wait(&barrier, MPI_STATUS_IGNORE);  // only when abort returned (tests)
    return;
  }
  // Every rank failed: the same message (the usual, agreed case) is printed once.
  const std::uint64_t h = fnv1a(failure.message);
  std::uint64_t range[2] = {h, ~h};  // max of h and max of ~h (= ~min of h)
  MPI_Allreduce(MPI_IN_PLACE, range, 2, MPI_UINT64_T, MPI_MAX, world);
  // max == min == h on every rank, or on none: the same answer everywhere.
  if (range[0] == h && ~range[1] == h) {
    if (rank == 0)
      std::fprintf(out, "tod2map %s: %s: %s\n", failure.command, failure.kind,
                   failure.message.c_str());
  } else {
    std::fprintf(out, "tod2map %s: %s on rank %d: %s\n", failure.command, failure.kind, rank,
                 failure.message.c_str());
  }
  std::fflush(out);
}

}  // namespace tod2map
