#pragma once
// Internal: two facts every backend asks about the process, kept here so that each backend
// does not define its own copy.
#include <mpi.h>

#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers::detail {

/// The vectors' memory (ExecSpace's) can be read and written by host code, so MPI or a
/// library may be handed their pointers without a host copy.
inline constexpr bool kVectorsOnHost =
    Kokkos::SpaceAccessibility<Kokkos::HostSpace, ExecSpace::memory_space>::accessible;

/// True once MPI_Finalize has run: MPI objects still held (communicators, datatypes) must
/// then be abandoned, not freed. Not collective.
inline bool mpi_finalized() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  return finalized != 0;
}

}  // namespace tod2map::solvers::detail
