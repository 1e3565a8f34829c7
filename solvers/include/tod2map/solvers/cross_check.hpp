#pragma once
// Cross-checks of our solvers against the reference libraries, for tests and benchmarks.
#include <mpi.h>

#include "tod2map/solvers/linear_operator.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::solvers {

/// Solves A x = b with Trilinos Belos CG (CGIter), our operators wrapped as Tpetra::Operator on
/// a contiguous map of the local sizes, M (may be null) as left preconditioner. Same contract
/// as pcg(): x is the initial guess on entry; stopping on the implicit residual relative to
/// ||b||; residuals holds the value Belos's status test saw at each check (k = 0..iterations).
/// No progress lines. Collective over comm. Throws NotCompiled in a build without Tpetra,
/// BackendError when Belos fails (e.g. p.Ap <= 0).
CgResult belos_cg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
                  const Vector& x, const CgOptions& options);

}  // namespace tod2map::solvers
