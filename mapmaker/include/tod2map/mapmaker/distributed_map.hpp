#pragma once
// A per-pixel array distributed over the ranks in contiguous owned ranges (as a map's owned
// slices, io::MapOutput), read as one global array: any pixels from any rank, or the whole
// array on one rank. Values are pixel-major with ncomp components per pixel (x[p*ncomp + c]).
#include <mpi.h>

#include <cstdint>
#include <vector>

namespace tod2map::mapmaker {

/// Every rank's owned range [first, first + n) of a distribution of npix pixels.
class OwnedRanges {
 public:
  /// Gathers the ranges of all ranks and checks that they tile [0, npix) in rank order.
  /// Collective over comm (which must outlive this object); a bad tiling throws the same
  /// InvalidArgument on every rank.
  OwnedRanges(MPI_Comm comm, std::int64_t npix, std::int64_t first, std::int64_t n_owned);

  MPI_Comm comm() const { return comm_; }
  std::int64_t npix() const { return npix_; }
  int rank() const { return rank_; }
  /// First pixel owned by rank r (r = size gives npix).
  std::int64_t first(int r) const { return begin_[static_cast<size_t>(r)]; }
  /// Number of pixels owned by rank r.
  std::int64_t n_owned(int r) const { return first(r + 1) - first(r); }
  /// Rank owning pixel p (0 <= p < npix; ranks owning nothing are skipped).
  int owner(std::int64_t p) const;

 private:
  MPI_Comm comm_;
  std::int64_t npix_ = 0;
  int rank_ = 0;
  std::vector<std::int64_t> begin_;  // size + 1 entries
};

/// out[i*ncomp + c] = component c of global pixel pixels[i], fetched from the ranks that own
/// them (one all-to-all exchange of requests and one of values). owned: this rank's
/// n_owned*ncomp values. Collective: every rank calls it, each with its own list (may be
/// empty, may repeat pixels). A pixel outside [0, npix) on any rank makes every rank throw
/// the same InvalidArgument, naming the pixel. T is double or std::int64_t.
template <class T>
std::vector<T> get_pixels(const OwnedRanges& ranges, const T* owned, int ncomp,
                          const std::int64_t* pixels, std::int64_t n);

/// The whole array (npix*ncomp values) on rank root; an empty vector on the other ranks.
/// Collective. T is double or std::int64_t.
template <class T>
std::vector<T> gather_pixels(const OwnedRanges& ranges, const T* owned, int ncomp, int root);

}  // namespace tod2map::mapmaker
