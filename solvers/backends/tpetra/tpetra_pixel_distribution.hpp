#pragma once
// Internal: entry point of the Tpetra backend, for the backend table (registered in
// solvers/CMakeLists.txt). No Trilinos types here. Not installed.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::solvers::detail {

/// Tpetra backend (tpetra_pixel_distribution.cpp): one Import between the owned and the
/// overlapped pixel maps and its reverse Export, shared by every nvalues. Arguments already
/// validated by make_pixel_distribution. Collective.
std::unique_ptr<PixelDistribution> make_tpetra_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched);

}  // namespace tod2map::solvers::detail
