#include "owned_layout.hpp"

#include <algorithm>
#include <climits>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers::detail {

Kokkos::View<std::int64_t*, ExecSpace::memory_space> device_pixels(
    const char* label, const std::vector<std::int64_t>& pixels) {
  Kokkos::View<std::int64_t*, ExecSpace::memory_space> v(
      Kokkos::view_alloc(std::string(label), Kokkos::WithoutInitializing), pixels.size());
  Kokkos::deep_copy(
      v,
      Kokkos::View<const std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
          pixels.data(), pixels.size()));
  return v;
}

std::int64_t owned_index(const std::vector<std::int64_t>& owned, std::int64_t p) {
  const auto it = std::lower_bound(owned.begin(), owned.end(), p);
  // Only a plan bug (never user input) can ask an owner for a pixel it does not store.
  if (it == owned.end() || *it != p)
    throw Error("solvers: pixel " + std::to_string(p) + " is not stored by its owner");
  return it - owned.begin();
}

std::vector<std::int64_t> owned_range_starts(MPI_Comm comm, std::int64_t npix,
                                             const std::vector<std::int64_t>& touched) {
  const int size = comm_size(comm);
  // Bin b holds the pixels p with p * nbins / npix == b, i.e. [edge(b), edge(b + 1)).
  const std::int64_t nbins = std::min<std::int64_t>(npix, 64 * std::int64_t(size));
  // 128-bit products: npix reaches 3.5e18 at the largest nside.
  using Wide = __int128;
  auto edge = [&](std::int64_t b) {
    return static_cast<std::int64_t>((Wide(b) * npix + nbins - 1) / nbins);
  };
  std::vector<std::int64_t> counts(static_cast<std::size_t>(nbins), 0);
  for (const std::int64_t p : touched) ++counts[static_cast<std::size_t>(Wide(p) * nbins / npix)];
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(nbins), MPI_INT64_T,
                                  MPI_SUM, comm));
  std::int64_t total = 0;
  for (const std::int64_t c : counts) total += c;
  std::vector<std::int64_t> starts(static_cast<std::size_t>(size) + 1, npix);
  starts[0] = 0;
  if (total == 0) {
    for (int r = 1; r < size; ++r) starts[r] = std::int64_t(r) * npix / size;
    return starts;
  }
  // Rank r starts at the first bin edge with at least r/size of the touches before it.
  std::int64_t before = 0, b = 0;
  for (int r = 1; r < size; ++r) {
    const std::int64_t target = total * r / size;  // total < 2^62: no overflow for any size
    while (b < nbins && before + counts[static_cast<std::size_t>(b)] <= target)
      before += counts[static_cast<std::size_t>(b++)];
    starts[r] = edge(b);
  }
  return starts;
}

OwnerGroups group_by_owner(const std::vector<std::int64_t>& starts,
                           const std::vector<std::int64_t>& touched) {
  const std::size_t n = touched.size(), nranks = starts.size() - 1;
  OwnerGroups g;
  g.owner.resize(n);
  g.counts.assign(nranks, 0);
  g.displs.assign(nranks, 0);
  for (std::size_t i = 0; i < n; ++i) {
    // The last range starting at or before the pixel holds it (empty ranges are skipped).
    const auto after = std::upper_bound(starts.begin(), starts.end(), touched[i]);
    g.owner[i] = static_cast<int>(after - starts.begin()) - 1;
    ++g.counts[std::size_t(g.owner[i])];
  }
  for (std::size_t r = 1; r < nranks; ++r) g.displs[r] = g.displs[r - 1] + g.counts[r - 1];
  // A stable counting sort by owner keeps touched's order inside each group.
  g.order.resize(n);
  std::vector<int> cursor(g.displs);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t j = std::size_t(cursor[std::size_t(g.owner[i])]++);
    g.order[j] = std::int64_t(i);
    if (j != i) g.in_place = false;
  }
  return g;
}

OwnedLayout plan_owned_layout(MPI_Comm comm, std::int64_t npix,
                              const std::vector<std::int64_t>& touched) {
  const int rank = comm_rank(comm), size = comm_size(comm);
  OwnedLayout layout;
  layout.starts = owned_range_starts(comm, npix, touched);
  const auto& starts = layout.starts;
  OwnerGroups groups = group_by_owner(starts, touched);
  const std::vector<int>& send_counts = groups.counts;
  const std::vector<int>& send_displs = groups.displs;
  layout.owner = std::move(groups.owner);
  // The pixel lists travel grouped by owner: touched itself when it already is.
  std::vector<std::int64_t> grouped;
  if (!groups.in_place) {
    grouped.resize(touched.size());
    for (std::size_t j = 0; j < touched.size(); ++j)
      grouped[j] = touched[std::size_t(groups.order[j])];
  }
  const std::vector<std::int64_t>& sent = groups.in_place ? touched : grouped;
  std::vector<int> recv_counts(size, 0), recv_displs(size, 0);
  TOD2MAP_CHECK_MPI(
      MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm));
  std::int64_t n_recv = 0;
  for (const int c : recv_counts) n_recv += c;
  collective(comm, [&] {
    if (n_recv > std::int64_t(INT_MAX))
      throw InvalidArgument("solvers::make_pixel_distribution on rank " + std::to_string(rank) +
                            ": " + std::to_string(n_recv) +
                            " pixel requests exceed MPI's int counts: use more ranks");
  });
  for (int r = 1; r < size; ++r) recv_displs[r] = recv_displs[r - 1] + recv_counts[r - 1];
  std::vector<std::int64_t> received(static_cast<std::size_t>(n_recv));
  TOD2MAP_CHECK_MPI(MPI_Alltoallv(sent.data(), send_counts.data(), send_displs.data(), MPI_INT64_T,
                                  received.data(), recv_counts.data(), recv_displs.data(),
                                  MPI_INT64_T, comm));
  layout.owned = received;
  std::sort(layout.owned.begin(), layout.owned.end());
  layout.owned.erase(std::unique(layout.owned.begin(), layout.owned.end()), layout.owned.end());
  std::vector<std::int64_t> offsets(received.size());
  collective(comm, [&] {
    for (std::size_t j = 0; j < received.size(); ++j)
      offsets[j] = owned_index(layout.owned, received[j]);
  });
  std::vector<std::int64_t> back(touched.size());
  TOD2MAP_CHECK_MPI(MPI_Alltoallv(offsets.data(), recv_counts.data(), recv_displs.data(),
                                  MPI_INT64_T, back.data(), send_counts.data(), send_displs.data(),
                                  MPI_INT64_T, comm));
  layout.offset.resize(touched.size());
  for (std::size_t j = 0; j < touched.size(); ++j)
    layout.offset[std::size_t(groups.order[j])] = back[j];
  return layout;
}

}  // namespace tod2map::solvers::detail
