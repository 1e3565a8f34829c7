#include "tod2map/core/mpi.hpp"

#include <string>
#include <vector>

namespace tod2map {

int comm_rank(MPI_Comm comm) {
  int r = 0;
  TOD2MAP_CHECK_MPI(MPI_Comm_rank(comm, &r));
  return r;
}

int comm_size(MPI_Comm comm) {
  int s = 1;
  TOD2MAP_CHECK_MPI(MPI_Comm_size(comm, &s));
  return s;
}

namespace {
// Kinds of exception carried between ranks; order is irrelevant, values are a wire format.
enum Kind : int { kError = 0, kInvalid, kConfig, kIo, kBackend, kNotCompiled, kOther };
// Interrupted carries its signal: kind kInterrupted + signal (so that a Ctrl-C polled on one rank
// stops every rank as Interrupted, not as a generic Error).
constexpr int kInterrupted = 1000;

std::pair<int, std::string> describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Interrupted& x) {
    return {kInterrupted + x.signal(), x.what()};
  } catch (const ConfigError& x) {
    return {kConfig, x.what()};
  } catch (const InvalidArgument& x) {
    return {kInvalid, x.what()};
  } catch (const IoError& x) {
    return {kIo, x.what()};
  } catch (const BackendError& x) {
    return {kBackend, x.what()};
  } catch (const NotCompiled& x) {
    return {kNotCompiled, x.what()};
  } catch (const Error& x) {
    return {kError, x.what()};
  } catch (const std::exception& x) {
    return {kOther, x.what()};
  } catch (...) {
    return {kOther, "unknown exception"};
  }
}

[[noreturn]] void rethrow_as(int kind, const std::string& msg) {
  if (kind >= kInterrupted) throw Interrupted(kind - kInterrupted, msg);
  switch (kind) {
    case kConfig: throw ConfigError(msg);
    case kInvalid: throw InvalidArgument(msg);
    case kIo: throw IoError(msg);
    case kBackend: throw BackendError(msg);
    case kNotCompiled: throw NotCompiled(msg);
    default: throw Error(msg);
  }
}
}  // namespace

void agree_on_errors(MPI_Comm comm, std::exception_ptr local_error) {
  const int size = comm_size(comm);
  const int rank = comm_rank(comm);
  int mine = local_error ? rank : size;
  int first = size;
  TOD2MAP_CHECK_MPI(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
  if (first == size) return;
  int header[2] = {0, 0};
  std::string msg;
  if (rank == first) {
    auto [kind, text] = describe(local_error);
    msg = text;
    header[0] = kind;
    header[1] = static_cast<int>(msg.size());
  }
  TOD2MAP_CHECK_MPI(MPI_Bcast(header, 2, MPI_INT, first, comm));
  msg.resize(static_cast<size_t>(header[1]));
  if (header[1] > 0) TOD2MAP_CHECK_MPI(MPI_Bcast(msg.data(), header[1], MPI_CHAR, first, comm));
  if (rank == first) std::rethrow_exception(local_error);
  rethrow_as(header[0], msg);
}

std::int64_t allreduce_sum(MPI_Comm comm, std::int64_t value) {
  std::int64_t out = 0;
  TOD2MAP_CHECK_MPI(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_SUM, comm));
  return out;
}

double allreduce_sum(MPI_Comm comm, double value) {
  double out = 0;
  TOD2MAP_CHECK_MPI(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_SUM, comm));
  return out;
}

double allreduce_max(MPI_Comm comm, double value) {
  double out = 0;
  TOD2MAP_CHECK_MPI(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm));
  return out;
}

}  // namespace tod2map
