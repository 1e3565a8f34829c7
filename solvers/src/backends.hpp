#pragma once
// Internal: entry points of the backend implementations, so that the factory in
// pixel_distribution.cpp needs no backend headers. Not installed, not public.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::solvers::detail {

#ifdef TOD2MAP_HAVE_TPETRA
/// Tpetra backend (backends/tpetra/tpetra_pixel_distribution.cpp). Arguments already
/// validated by make_pixel_distribution. Collective.
std::unique_ptr<PixelDistribution> make_tpetra_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched);
#endif

}  // namespace tod2map::solvers::detail
