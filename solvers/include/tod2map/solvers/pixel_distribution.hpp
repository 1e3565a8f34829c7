#pragma once
// Pixel-domain distribution of map vectors (docs/design.md, "Data flow"), behind one small
// interface so that mapmaker code picks a backend by name (solver.backend) and never by #ifdef.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers {

/// Owned and overlapped pixel sets of one rank, and the two transfers between them.
/// Owned: the ranks own contiguous ranges of global pixels in rank order, tiling [0, npix),
/// placed so that each range holds about the same number of touches (a sky patch is spread
/// over all ranks); a rank stores only the pixels of its range that some rank touches
/// (owned_pixels()), so per-pixel vectors grow
/// with the observed sky, not with npix; owned entry j is pixel owned_pixels()[j].
/// Overlapped: the global pixels this rank touches, in the order the caller gave them
/// (make_pixel_distribution's touched list, e.g. the map-maker's local pixel order), its
/// local pixel index being the position in that list: overlapped vectors need no reordering
/// on either side. The order is layout only: an owned pixel gets one contribution per
/// touching rank, and no backend's order of adding them depends on positions in touched, so
/// reduce() gives the same bits for any order. Vectors are pixel-major with nvalues doubles
/// per pixel (x[p*nvalues + k]); nvalues may differ from call to call (1 for hits, 3 for IQU
/// maps, 6 for IQU blocks).
class PixelDistribution {
 public:
  virtual ~PixelDistribution() = default;
  /// Backend name, as given to make_pixel_distribution.
  virtual const char* backend() const = 0;
  /// The communicator it was made on (the caller's, not a duplicate).
  virtual MPI_Comm comm() const = 0;
  /// Number of pixels of the whole map.
  virtual std::int64_t global_pixels() const = 0;
  /// First global pixel of this rank's owned range.
  virtual std::int64_t first_owned() const = 0;
  /// One past the last global pixel of this rank's owned range.
  virtual std::int64_t owned_range_end() const = 0;
  /// Number of owned pixels this rank stores: those of its range touched by some rank (may
  /// be 0). Owned vectors have n_owned()*nvalues entries.
  virtual std::int64_t n_owned() const = 0;
  /// The stored owned pixels, sorted, in the execution space's memory.
  virtual Kokkos::View<const std::int64_t*, ExecSpace::memory_space> owned_pixels() const = 0;
  /// Number of global pixels this rank touches (may be 0).
  virtual std::int64_t n_overlapped() const = 0;
  /// The touched global pixels, in the caller's order, in the execution space's memory.
  virtual Kokkos::View<const std::int64_t*, ExecSpace::memory_space> overlapped_pixels() const = 0;
  /// owned = sum over all ranks of their overlapped entries for the owned pixels: the reduction
  /// after accumulating P^T locally. overlapped has n_overlapped()*nvalues entries, owned
  /// n_owned()*nvalues; owned is overwritten. Collective; a size mismatch on any rank throws
  /// InvalidArgument on all.
  virtual void reduce(const Vector& overlapped, const Vector& owned, int nvalues) const = 0;
  /// overlapped = the owning ranks' owned values: the transfer before gathering P m. Sizes
  /// as for reduce(); overlapped is overwritten. Collective.
  virtual void broadcast(const Vector& owned, const Vector& overlapped, int nvalues) const = 0;
};

/// Makes the distribution for one backend (a name of known_backends()). touched: this
/// rank's unique global pixels, each in [0, npix), in any order: it becomes the overlapped
/// order. Collective over comm (every rank throws the same error): NotCompiled for a backend
/// this build lacks ("solver.backend: 'petsc' was not built into this tod2map (available:
/// tpetra)"), InvalidArgument for an unknown name, a bad npix, or touched not unique/in range
/// on any rank.
std::unique_ptr<PixelDistribution> make_pixel_distribution(const std::string& backend,
                                                           MPI_Comm comm, std::int64_t npix,
                                                           std::vector<std::int64_t> touched);

/// Names of the backends compiled into this build, in order of preference.
std::vector<std::string> available_backends();

/// Names of every backend the project knows ("tpetra", "petsc", "native"), built or not, in
/// order of preference: the choices of solver.backend.
std::vector<std::string> known_backends();

}  // namespace tod2map::solvers
