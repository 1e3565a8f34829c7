#pragma once
// Small MPI helpers shared by every component. All functions taking a communicator are
// collective over it.
#include <mpi.h>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "tod2map/core/error.hpp"

namespace tod2map {

/// Rank of the calling process in comm.
int comm_rank(MPI_Comm comm);
/// Number of ranks in comm.
int comm_size(MPI_Comm comm);

/// Collective error agreement: every rank passes the error it met (empty if none); if any rank
/// failed, every rank throws the same exception (the lowest failing rank's message, with its
/// type kept as far as the hierarchy allows). Prevents hangs when only some ranks fail.
void agree_on_errors(MPI_Comm comm, std::exception_ptr local_error);

/// Runs f() on every rank and then agrees on errors (see agree_on_errors).
template <class F>
auto collective(MPI_Comm comm, F&& f) -> decltype(f()) {
  std::exception_ptr err;
  if constexpr (std::is_void_v<decltype(f())>) {
    try {
      f();
    } catch (...) {
      err = std::current_exception();
    }
    agree_on_errors(comm, err);
  } else {
    decltype(f()) result{};
    try {
      result = f();
    } catch (...) {
      err = std::current_exception();
    }
    agree_on_errors(comm, err);
    return result;
  }
}

/// Sum of a 64-bit integer over all ranks.
std::int64_t allreduce_sum(MPI_Comm comm, std::int64_t value);
/// Sum of a double over all ranks.
double allreduce_sum(MPI_Comm comm, double value);
/// Maximum of a double over all ranks.
double allreduce_max(MPI_Comm comm, double value);

/// Every rank's strings, concatenated in rank order, on `root` (empty elsewhere); on every
/// rank when root < 0.
std::vector<std::string> gather_strings(MPI_Comm comm, const std::vector<std::string>& mine,
                                        int root = 0);

}  // namespace tod2map
