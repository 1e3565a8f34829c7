#pragma once
// Internal: entry point of the PETSc backend, for the backend table (registered in
// solvers/CMakeLists.txt) and for the backend's own tests. No PETSc types here.
// Not installed.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::solvers::detail {

/// How the PETSc backend hands vectors to PETSc.
enum class PetscStaging {
  /// Decided at compile time: in place when the vectors' memory is host memory or PETSc was
  /// built for devices; through host copies otherwise.
  automatic,
  /// Always through host copies (tests run the GPU build's staging path on a CPU build).
  host,
};

/// PETSc backend (petsc_pixel_distribution.cpp): one PetscSF over pixels, roots the owned
/// pixels and leaves the overlapped ones; reduce = PetscSFReduce with MPIU_SUM, broadcast =
/// PetscSFBcast with MPI_REPLACE, one pixel's nvalues doubles moved as one MPI unit.
/// Initialises PETSc on first use (petsc::ensure_initialized: the first use is collective over
/// MPI_COMM_WORLD). Arguments already validated by make_pixel_distribution. Collective; throws
/// InvalidArgument when npix does not fit PETSc's PetscInt.
std::unique_ptr<PixelDistribution> make_petsc_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched,
    PetscStaging staging = PetscStaging::automatic);

}  // namespace tod2map::solvers::detail
