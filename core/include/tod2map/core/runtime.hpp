#pragma once
// Process-wide start-up and shut-down in the order docs/design.md gives: MPI, then Kokkos (then
// PETSc, by the backend); reverse at exit. MPI that is already initialised (mpi4py, a host
// application) is reused and left for its owner to finalise.
#include "tod2map/core/noncopyable.hpp"

namespace tod2map {

/// RAII guard: initialises MPI (if nobody has) and Kokkos (if not yet), finalises what it
/// initialised, in reverse order, when the last guard goes away.
class Runtime : NonCopyable {
 public:
  Runtime(int* argc, char*** argv);
  Runtime() : Runtime(nullptr, nullptr) {}
  ~Runtime();
};

/// Registers a finaliser that runs before Kokkos and MPI are finalised (PETSc uses it).
void at_runtime_exit(void (*finaliser)());

}  // namespace tod2map
