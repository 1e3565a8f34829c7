#include "tod2map/core/mpi.hpp"

#include <cstring>
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

// Each kind with its exception type, most derived first (the first match describes an
// exception): one table for both directions, so that what one rank sends the others rethrow.
struct KindOf {
  int kind;
  bool (*matches)(const std::exception&);
  void (*rethrow)(const std::string&);  // throws
};

template <class E>
bool is_a(const std::exception& e) {
  return dynamic_cast<const E*>(&e) != nullptr;
}

template <class E>
void throw_as(const std::string& msg) {
  throw E(msg);
}

constexpr KindOf kKinds[] = {
    {kConfig, is_a<ConfigError>, throw_as<ConfigError>},
    {kInvalid, is_a<InvalidArgument>, throw_as<InvalidArgument>},
    {kIo, is_a<IoError>, throw_as<IoError>},
    {kBackend, is_a<BackendError>, throw_as<BackendError>},
    {kNotCompiled, is_a<NotCompiled>, throw_as<NotCompiled>},
    {kError, is_a<Error>, throw_as<Error>},
};

std::pair<int, std::string> describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Interrupted& x) {
    return {kInterrupted + x.signal(), x.what()};
  } catch (const std::exception& x) {
    for (const KindOf& k : kKinds)
      if (k.matches(x)) return {k.kind, x.what()};
    return {kOther, x.what()};
  } catch (...) {
    return {kOther, "unknown exception"};
  }
}

[[noreturn]] void rethrow_as(int kind, const std::string& msg) {
  if (kind >= kInterrupted) throw Interrupted(kind - kInterrupted, msg);
  for (const KindOf& k : kKinds)
    if (k.kind == kind) k.rethrow(msg);
  throw Error(msg);
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

std::vector<std::string> gather_strings(MPI_Comm comm, const std::vector<std::string>& mine,
                                        int root) {
  // Each string as (int64 length, bytes), so any byte may appear in a string.
  std::vector<char> buf;
  for (const auto& s : mine) {
    const auto n = static_cast<std::int64_t>(s.size());
    const char* p = reinterpret_cast<const char*>(&n);
    buf.insert(buf.end(), p, p + sizeof n);
    buf.insert(buf.end(), s.begin(), s.end());
  }
  const int size = comm_size(comm);
  const bool every_rank = root < 0;
  const bool is_root = every_rank || comm_rank(comm) == root;
  int count = static_cast<int>(buf.size());
  std::vector<int> counts(is_root ? static_cast<std::size_t>(size) : 0);
  if (every_rank)
    TOD2MAP_CHECK_MPI(MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm));
  else
    TOD2MAP_CHECK_MPI(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm));
  std::vector<int> displs(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    displs[r] = static_cast<int>(total);
    total += static_cast<std::size_t>(counts[r]);
  }
  std::vector<char> all(total);
  if (every_rank)
    TOD2MAP_CHECK_MPI(MPI_Allgatherv(buf.data(), count, MPI_CHAR, all.data(), counts.data(),
                                     displs.data(), MPI_CHAR, comm));
  else
    TOD2MAP_CHECK_MPI(MPI_Gatherv(buf.data(), count, MPI_CHAR, all.data(), counts.data(),
                                  displs.data(), MPI_CHAR, root, comm));
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos + sizeof(std::int64_t) <= all.size();) {
    std::int64_t n = 0;
    std::memcpy(&n, all.data() + pos, sizeof n);
    pos += sizeof n;
    out.emplace_back(all.data() + pos, static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
  }
  return out;
}

}  // namespace tod2map
