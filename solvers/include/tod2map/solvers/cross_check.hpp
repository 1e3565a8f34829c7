#pragma once
// Cross-checks of our solvers against the reference libraries, for tests and benchmarks.
#include <mpi.h>

#include <string>

#include "tod2map/solvers/linear_operator.hpp"
#include "tod2map/solvers/option_enums.hpp"
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

/// Solves A x = b with PETSc KSPCG, A wrapped as a MATSHELL and M (may be null) as a PCSHELL
/// around our operators, on MPI Vecs over the caller's arrays. Same contract as pcg(): x is
/// the initial guess on entry (KSPSetInitialGuessNonzero); stopping on the unpreconditioned,
/// recursively updated residual relative to ||b|| (KSP_NORM_UNPRECONDITIONED, rtol = tol,
/// no absolute or divergence tolerance); b = 0 gives x = 0; residuals holds KSP's residual
/// history divided by ||b|| (k = 0..iterations). solver.petsc_options apply (e.g.
/// ksp_monitor) except those that would change the method: the type, norm, tolerances and
/// preconditioner are set after them. No progress lines. Collective over comm; the first use
/// of PETSc in the process is collective over MPI_COMM_WORLD. Throws NotCompiled in a build
/// without PETSc, InvalidArgument for mismatched sizes or a system larger than PETSc's
/// PetscInt, BackendError when PETSc fails or KSPCG stops for another reason than
/// convergence or maxiter (e.g. KSP_DIVERGED_INDEFINITE_MAT); an exception thrown by A or M
/// reaches the caller unchanged.
CgResult ksp_cg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
                const Vector& x, const CgOptions& options);

/// The name solver.cross_check spells `which` by ("none", "belos", "ksp").
const char* cross_check_name(CrossCheck which);

/// Solves A x = b with the reference solver `which` (belos_cg or ksp_cg); same contract as
/// those. InvalidArgument for CrossCheck::none. Collective.
CgResult reference_cg(CrossCheck which, MPI_Comm comm, const LinearOperator& A,
                      const LinearOperator* M, const Vector& b, const Vector& x,
                      const CgOptions& options);

/// max_i |x_i - reference_i| / max_i |x_i| over all ranks: how far two solutions of one system
/// are apart, relative to the solution's size (0 when both are zero, +inf when only x is).
/// x and reference have the same local length (InvalidArgument on every rank otherwise).
/// Collective.
double max_relative_difference(MPI_Comm comm, const Vector& x, const Vector& reference);

/// Outcome of a cross-check: the reference solve, and how far its solution is from ours.
struct CrossCheckResult {
  CrossCheck solver = CrossCheck::none;  ///< none: no cross-check ran
  CgResult reference;                    ///< the reference solver's outcome
  double max_relative_difference = 0;    ///< see max_relative_difference()
};

}  // namespace tod2map::solvers
