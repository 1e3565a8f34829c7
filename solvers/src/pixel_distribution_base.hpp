#pragma once
// Internal: what every PixelDistribution backend shares, so that a backend holds only its
// transfers. The base keeps the layout (owned range, stored owned pixels, overlapped pixels)
// and answers the accessors; reduce() and broadcast() run the collective argument check once
// and then call the backend's reduce_impl() / broadcast_impl().
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::solvers::detail {

class PixelDistributionBase : public PixelDistribution {
 public:
  const char* backend() const final { return name_; }
  MPI_Comm comm() const final { return comm_; }
  std::int64_t global_pixels() const final { return npix_; }
  std::int64_t first_owned() const final { return first_; }
  std::int64_t owned_range_end() const final { return range_end_; }
  std::int64_t n_owned() const final { return n_owned_; }
  std::int64_t n_overlapped() const final { return n_overlapped_; }
  Kokkos::View<const std::int64_t*, ExecSpace::memory_space> owned_pixels() const final {
    return owned_;
  }
  Kokkos::View<const std::int64_t*, ExecSpace::memory_space> overlapped_pixels() const final {
    return overlapped_;
  }

  void reduce(const Vector& overlapped, const Vector& owned, int nvalues) const final;
  void broadcast(const Vector& owned, const Vector& overlapped, int nvalues) const final;

 protected:
  /// name: the backend's registry name (a string literal); comm: the caller's communicator.
  PixelDistributionBase(const char* name, MPI_Comm comm, std::int64_t npix);

  /// Records this rank's touched pixels (the overlapped set) and copies them to the device.
  void set_overlapped(const std::vector<std::int64_t>& touched);
  /// Records this rank's owned range [first, range_end) and its stored owned pixels.
  void set_owned(std::int64_t first, std::int64_t range_end,
                 const std::vector<std::int64_t>& owned);

  /// The transfers, called with arguments already checked on every rank.
  virtual void reduce_impl(const Vector& overlapped, const Vector& owned, int nvalues) const = 0;
  virtual void broadcast_impl(const Vector& owned, const Vector& overlapped, int nvalues) const = 0;

  /// A backend's own limits on one call, run inside the collective check after the sizes are
  /// known to be right. where: "solvers::PixelDistribution::<call>(<backend>) on rank <r>".
  /// Throws InvalidArgument; the default accepts everything.
  virtual void check_call(const std::string& where, int nvalues) const;

 private:
  // Collective: a wrong size on one rank must not leave the others waiting in a transfer.
  void check_sizes(const char* call, const Vector& overlapped, const Vector& owned,
                   int nvalues) const;

  const char* name_;
  MPI_Comm comm_;
  std::int64_t npix_ = 0, first_ = 0, range_end_ = 0, n_owned_ = 0, n_overlapped_ = 0;
  Kokkos::View<std::int64_t*, ExecSpace::memory_space> owned_, overlapped_;
};

}  // namespace tod2map::solvers::detail
