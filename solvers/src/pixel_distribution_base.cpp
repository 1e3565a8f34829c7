#include "pixel_distribution_base.hpp"

#include "owned_layout.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers::detail {

PixelDistributionBase::PixelDistributionBase(const char* name, MPI_Comm comm, std::int64_t npix)
    : name_(name), comm_(comm), npix_(npix) {}

void PixelDistributionBase::set_overlapped(const std::vector<std::int64_t>& touched) {
  n_overlapped_ = std::int64_t(touched.size());
  overlapped_ = device_pixels("tod2map::solvers::overlapped_pixels", touched);
}

void PixelDistributionBase::set_owned(std::int64_t first, std::int64_t range_end,
                                      const std::vector<std::int64_t>& owned) {
  first_ = first;
  range_end_ = range_end;
  n_owned_ = std::int64_t(owned.size());
  owned_ = device_pixels("tod2map::solvers::owned_pixels", owned);
}

void PixelDistributionBase::reduce(const Vector& overlapped, const Vector& owned,
                                   int nvalues) const {
  check_sizes("reduce", overlapped, owned, nvalues);
  reduce_impl(overlapped, owned, nvalues);
}

void PixelDistributionBase::broadcast(const Vector& owned, const Vector& overlapped,
                                      int nvalues) const {
  check_sizes("broadcast", overlapped, owned, nvalues);
  broadcast_impl(owned, overlapped, nvalues);
}

void PixelDistributionBase::check_call(const std::string&, int) const {}

void PixelDistributionBase::check_sizes(const char* call, const Vector& overlapped,
                                        const Vector& owned, int nvalues) const {
  collective(comm_, [&] {
    const std::string where = std::string("solvers::PixelDistribution::") + call + "(" + name_ +
                              ") on rank " + std::to_string(comm_rank(comm_));
    if (nvalues < 1)
      throw InvalidArgument(where + ": nvalues must be >= 1, got " + std::to_string(nvalues));
    const std::int64_t nv = nvalues;
    if (std::int64_t(overlapped.extent(0)) != n_overlapped_ * nv)
      throw InvalidArgument(where + ": overlapped vector has " +
                            std::to_string(overlapped.extent(0)) + " entries, expected " +
                            std::to_string(n_overlapped_) + " pixels x " + std::to_string(nv) +
                            " values");
    if (std::int64_t(owned.extent(0)) != n_owned_ * nv)
      throw InvalidArgument(where + ": owned vector has " + std::to_string(owned.extent(0)) +
                            " entries, expected " + std::to_string(n_owned_) + " pixels x " +
                            std::to_string(nv) + " values");
    check_call(where, nvalues);
  });
}

}  // namespace tod2map::solvers::detail
