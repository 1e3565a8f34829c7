#pragma once
// Internal: which owned pixels a rank stores, shared by the backends. A rank owns a contiguous
// range of pixels (owned_range_starts); of it, it stores only the pixels that some rank
// touches, so per-pixel vectors grow with the observed sky, not with npix (a patch at
// nside 4096 on one rank would otherwise allocate 200M pixels per vector).
#include <mpi.h>

#include <cstdint>
#include <vector>

#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers::detail {

/// Start of every rank's owned range: size + 1 entries, starts[0] = 0, starts[size] = npix,
/// non-decreasing. The ranges hold about equal numbers of touches (a pixel touched by k ranks
/// counts k times: the work of reducing and broadcasting it), so that a sky patch does not
/// land on one rank as uniform ranges over npix would put it. Balanced on min(npix, 64*size)
/// bins of the pixel index; uniform ranges when no rank touches anything. Collective (one
/// allreduce of the bin counts); every rank gets the same starts.
std::vector<std::int64_t> owned_range_starts(MPI_Comm comm, std::int64_t npix,
                                             const std::vector<std::int64_t>& touched);

/// This rank's touched pixels grouped by owner, for the messages to the owners.
struct OwnerGroups {
  /// Per touched pixel (same order): the rank whose range holds it.
  std::vector<int> owner;
  /// Per rank (starts.size() - 1 entries): how many of the touched pixels it owns, and where
  /// its group starts in `order` (the counts summed over the ranks before it).
  std::vector<int> counts, displs;
  /// order[j]: the index in touched of the j-th pixel once grouped by owner in rank order;
  /// inside a group, touched's own order.
  std::vector<std::int64_t> order;
  /// order is the identity: each owner's pixels already form one run of touched, in rank
  /// order (a sorted touched list is one such case), so touched needs no packing.
  bool in_place = true;
};

/// Groups touched (unique pixels in [0, npix), in any order) by the owners of starts.
OwnerGroups group_by_owner(const std::vector<std::int64_t>& starts,
                           const std::vector<std::int64_t>& touched);

struct OwnedLayout {
  /// owned_range_starts(comm, npix, touched).
  std::vector<std::int64_t> starts;
  /// Stored owned pixels: sorted, inside this rank's range, touched by at least one rank.
  std::vector<std::int64_t> owned;
  /// Per touched pixel of this rank (same order as touched): the owning rank, and the pixel's
  /// index in that rank's `owned`.
  std::vector<int> owner;
  std::vector<std::int64_t> offset;
};

/// Collective over comm. touched: this rank's unique pixels in [0, npix), in any order
/// (checked by the caller). Two all-to-all exchanges of pixel lists (there and back).
OwnedLayout plan_owned_layout(MPI_Comm comm, std::int64_t npix,
                              const std::vector<std::int64_t>& touched);

/// A copy of a host pixel list in the execution space's memory.
Kokkos::View<std::int64_t*, ExecSpace::memory_space> device_pixels(
    const char* label, const std::vector<std::int64_t>& pixels);

/// Index of pixel p in the sorted list `owned`; p must be there.
std::int64_t owned_index(const std::vector<std::int64_t>& owned, std::int64_t p);

}  // namespace tod2map::solvers::detail
