#include "tod2map/mapmaker/distributed_map.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::mapmaker {

namespace {

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}
template <>
MPI_Datatype mpi_type<std::int64_t>() {
  return MPI_INT64_T;
}

// ncomp values of T as one MPI element, so counts and displacements are in pixels and stay
// below 2^31 for every map up to nside 8192.
class PixelType {
 public:
  template <class T>
  static PixelType of(int ncomp) {
    PixelType t;
    TOD2MAP_CHECK_MPI(MPI_Type_contiguous(ncomp, mpi_type<T>(), &t.type_));
    TOD2MAP_CHECK_MPI(MPI_Type_commit(&t.type_));
    return t;
  }
  PixelType(PixelType&& o) noexcept : type_(o.type_) { o.type_ = MPI_DATATYPE_NULL; }
  PixelType(const PixelType&) = delete;
  PixelType& operator=(const PixelType&) = delete;
  ~PixelType() {
    if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
  }
  MPI_Datatype get() const { return type_; }

 private:
  PixelType() = default;
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

int to_count(std::int64_t n, const char* what) {
  if (n > std::numeric_limits<int>::max())
    throw InvalidArgument(std::string("mapmaker::distributed map: ") + what + " of " +
                          std::to_string(n) + " pixels exceeds MPI's 2^31 - 1 element count");
  return static_cast<int>(n);
}

void check_ncomp(int ncomp) {
  if (ncomp < 1)
    throw InvalidArgument("mapmaker::distributed map: ncomp must be at least 1, got " +
                          std::to_string(ncomp));
}

}  // namespace

OwnedRanges::OwnedRanges(MPI_Comm comm, std::int64_t npix, std::int64_t first, std::int64_t n_owned)
    : comm_(comm), npix_(npix), rank_(comm_rank(comm)) {
  const int size = comm_size(comm);
  std::vector<std::int64_t> mine{first, n_owned}, all(2 * static_cast<size_t>(size));
  TOD2MAP_CHECK_MPI(MPI_Allgather(mine.data(), 2, MPI_INT64_T, all.data(), 2, MPI_INT64_T, comm));
  begin_.resize(static_cast<size_t>(size) + 1);
  collective(comm, [&] {
    std::int64_t expected = 0;
    for (int r = 0; r < size; ++r) {
      const std::int64_t f = all[2 * static_cast<size_t>(r)],
                         n = all[2 * static_cast<size_t>(r) + 1];
      if (f != expected || n < 0)
        throw InvalidArgument("mapmaker::distributed map: rank " + std::to_string(r) + " owns [" +
                              std::to_string(f) + ", " + std::to_string(f + n) +
                              "), expected a range starting at " + std::to_string(expected) +
                              " (owned ranges must tile the map in rank order)");
      begin_[static_cast<size_t>(r)] = f;
      expected = f + n;
    }
    if (expected != npix)
      throw InvalidArgument("mapmaker::distributed map: owned ranges cover " +
                            std::to_string(expected) + " pixels, the map has " +
                            std::to_string(npix));
    begin_[static_cast<size_t>(size)] = npix;
  });
}

int OwnedRanges::owner(std::int64_t p) const {
  // The last rank whose range starts at or before p; empty ranges start where the next one
  // does, so upper_bound skips them.
  auto it = std::upper_bound(begin_.begin(), begin_.end() - 1, p);
  return static_cast<int>(it - begin_.begin()) - 1;
}

template <class T>
std::vector<T> get_pixels(const OwnedRanges& ranges, const T* owned, int ncomp,
                          const std::int64_t* pixels, std::int64_t n) {
  MPI_Comm comm = ranges.comm();
  const int size = comm_size(comm);
  const auto usize = static_cast<size_t>(size);
  std::vector<int> send_count(usize, 0), recv_count(usize, 0);
  std::vector<int> owner(static_cast<size_t>(std::max<std::int64_t>(n, 0)));
  collective(comm, [&] {
    check_ncomp(ncomp);
    to_count(n, "a request");
    for (std::int64_t i = 0; i < n; ++i) {
      const std::int64_t p = pixels[i];
      if (p < 0 || p >= ranges.npix())
        throw InvalidArgument("DistributedMap.get: pixel " + std::to_string(p) + " (index " +
                              std::to_string(i) + ") outside 0.." +
                              std::to_string(ranges.npix() - 1));
      const int r = ranges.owner(p);
      owner[static_cast<size_t>(i)] = r;
      ++send_count[static_cast<size_t>(r)];
    }
  });
  TOD2MAP_CHECK_MPI(
      MPI_Alltoall(send_count.data(), 1, MPI_INT, recv_count.data(), 1, MPI_INT, comm));

  // Requests grouped by owner, in the order they were asked; slot[i] is where request i went.
  std::vector<int> send_displ(usize, 0), recv_displ(usize, 0);
  for (size_t r = 1; r < usize; ++r) {
    send_displ[r] = send_displ[r - 1] + send_count[r - 1];
    recv_displ[r] = recv_displ[r - 1] + recv_count[r - 1];
  }
  const std::int64_t n_recv =
      static_cast<std::int64_t>(recv_displ[usize - 1]) + recv_count[usize - 1];
  std::vector<std::int64_t> request(static_cast<size_t>(std::max<std::int64_t>(n, 0)));
  std::vector<std::int64_t> slot(request.size());
  {
    std::vector<int> next = send_displ;
    for (std::int64_t i = 0; i < n; ++i) {
      const int k = next[static_cast<size_t>(owner[static_cast<size_t>(i)])]++;
      request[static_cast<size_t>(k)] = pixels[i];
      slot[static_cast<size_t>(i)] = k;
    }
  }
  std::vector<std::int64_t> asked(static_cast<size_t>(n_recv));
  TOD2MAP_CHECK_MPI(MPI_Alltoallv(request.data(), send_count.data(), send_displ.data(), MPI_INT64_T,
                                  asked.data(), recv_count.data(), recv_displ.data(), MPI_INT64_T,
                                  comm));

  const std::int64_t first = ranges.first(ranges.rank());
  const auto nc = static_cast<size_t>(ncomp);
  std::vector<T> reply(static_cast<size_t>(n_recv) * nc);
  for (size_t k = 0; k < asked.size(); ++k) {
    const T* src = owned + static_cast<size_t>(asked[k] - first) * nc;
    std::copy(src, src + nc, reply.begin() + static_cast<std::ptrdiff_t>(k * nc));
  }
  std::vector<T> answer(request.size() * nc);
  const PixelType type = PixelType::of<T>(ncomp);
  TOD2MAP_CHECK_MPI(MPI_Alltoallv(reply.data(), recv_count.data(), recv_displ.data(), type.get(),
                                  answer.data(), send_count.data(), send_displ.data(), type.get(),
                                  comm));
  std::vector<T> out(request.size() * nc);
  for (size_t i = 0; i < request.size(); ++i) {
    const auto k = static_cast<size_t>(slot[i]);
    std::copy(answer.begin() + static_cast<std::ptrdiff_t>(k * nc),
              answer.begin() + static_cast<std::ptrdiff_t>((k + 1) * nc),
              out.begin() + static_cast<std::ptrdiff_t>(i * nc));
  }
  return out;
}

template <class T>
std::vector<T> gather_pixels(const OwnedRanges& ranges, const T* owned, int ncomp, int root) {
  MPI_Comm comm = ranges.comm();
  const int size = comm_size(comm);
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  collective(comm, [&] {
    check_ncomp(ncomp);
    if (root < 0 || root >= size)
      throw InvalidArgument("DistributedMap.gather: root " + std::to_string(root) +
                            " is not a rank of the communicator (size " + std::to_string(size) +
                            ")");
    to_count(ranges.npix(), "a gather");
    for (int r = 0; r < size; ++r) {
      counts[static_cast<size_t>(r)] = static_cast<int>(ranges.n_owned(r));
      displs[static_cast<size_t>(r)] = static_cast<int>(ranges.first(r));
    }
  });
  std::vector<T> out;
  if (ranges.rank() == root)
    out.resize(static_cast<size_t>(ranges.npix()) * static_cast<size_t>(ncomp));
  const PixelType type = PixelType::of<T>(ncomp);
  TOD2MAP_CHECK_MPI(MPI_Gatherv(owned, counts[static_cast<size_t>(ranges.rank())], type.get(),
                                out.data(), counts.data(), displs.data(), type.get(), root, comm));
  return out;
}

template std::vector<double> get_pixels<double>(const OwnedRanges&, const double*, int,
                                                const std::int64_t*, std::int64_t);
template std::vector<std::int64_t> get_pixels<std::int64_t>(const OwnedRanges&, const std::int64_t*,
                                                            int, const std::int64_t*, std::int64_t);
template std::vector<double> gather_pixels<double>(const OwnedRanges&, const double*, int, int);
template std::vector<std::int64_t> gather_pixels<std::int64_t>(const OwnedRanges&,
                                                               const std::int64_t*, int, int);

}  // namespace tod2map::mapmaker
