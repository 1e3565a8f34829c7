#pragma once
// Internal: entry point of the native MPI backend, for the backend table (registered in
// solvers/CMakeLists.txt) and for the backend's own tests. Not installed.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "tod2map/solvers/pixel_distribution.hpp"

namespace tod2map::solvers::detail {

/// How the native backend hands vectors to MPI.
enum class NativeStaging {
  /// Decided at compile time: MPI reads the vectors in place when their memory space is
  /// host-accessible, or when built with TOD2MAP_CUDA_AWARE_MPI; otherwise through host copies.
  automatic,
  /// Always through host copies (tests exercise the GPU path's staging on a CPU build).
  host,
};

/// Native MPI backend (native_pixel_distribution.cpp): owned contiguous ranges, one
/// MPI_Alltoallv per transfer with a plan made once here. Arguments already validated by
/// make_pixel_distribution. Collective.
std::unique_ptr<PixelDistribution> make_native_pixel_distribution(
    MPI_Comm comm, std::int64_t npix, std::vector<std::int64_t> touched,
    NativeStaging staging = NativeStaging::automatic);

/// True when the native backend passes device pointers to MPI without host copies in this
/// build (memory space host-accessible, or TOD2MAP_CUDA_AWARE_MPI). Not collective.
bool native_mpi_reads_vectors_in_place();

}  // namespace tod2map::solvers::detail
