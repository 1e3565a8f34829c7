#pragma once
// The `solver` section of the run configuration (docs/config.md); its keys are declared in
// solvers/options/solver_keys.cpp.
#include <cstdint>
#include <map>
#include <string>

#include "tod2map/solvers/option_enums.hpp"

// The build's default solver.backend: tpetra when it is built in, else native (the GPU
// build). Set by CMake for every user of this header.
#ifndef TOD2MAP_DEFAULT_BACKEND
#define TOD2MAP_DEFAULT_BACKEND "tpetra"
#endif

namespace tod2map::solvers {

struct SolverConfig {
  std::string backend = TOD2MAP_DEFAULT_BACKEND;  ///< tpetra | petsc | native
  double tol = 1.0e-8;  ///< ||b - A x|| / ||b||, preconditioner-independent (docs/config.md)
  int maxiter = 500;
  /// Passed to PETSc's options database; names without the leading '-' ("ksp_type"), values
  /// as written ("" for a flag such as ksp_monitor).
  std::map<std::string, std::string> petsc_options;
  /// After our CG (destriping), solve the same system again with a reference solver from the
  /// same start and compare.
  CrossCheck cross_check = CrossCheck::none;
  PreconditionerKind preconditioner = PreconditionerKind::banded;  ///< destriping
  int precond_width = 32;         ///< banded: half-bandwidth in baselines
  std::int64_t coarse_nside = 2;  ///< two_level: resolution of the coarse sky modes
  /// Checkpoints of the destriping CG (docs/checkpoint.md): `tod2map run --resume` continues
  /// from the file.
  struct Checkpoint {
    std::string path;  ///< "" = off; relative to the current folder, as output.path
    int every = 0;     ///< iterations between checkpoints; 0 = only when a signal stops the run
  } checkpoint;
};

}  // namespace tod2map::solvers
