#pragma once
// Preconditioned conjugate gradient on Kokkos views (DESIGN.md section 1): the solver shared by
// destriping and GLS map-making.
#include <mpi.h>

#include <string>
#include <vector>

#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers {

/// Stopping rule and reporting of pcg() (and belos_cg()).
struct CgOptions {
  double tol = 1e-10;        ///< stop when ||r_k|| / ||b|| <= tol (>= 0; 0 runs maxiter)
  int maxiter = 500;         ///< most iterations (>= 0)
  bool progress = true;      ///< progress lines on rank 0 through log::info
  std::string label = "cg";  ///< names the solve in progress lines and errors
};

/// Outcome of a solve.
struct CgResult {
  int iterations = 0;             ///< iterations done
  bool converged = false;         ///< relative residual reached tol
  std::vector<double> residuals;  ///< relative residual ||r_k||/||b||, k = 0..iterations
  double seconds = 0;             ///< wall time of the solve
};

/// Preconditioned CG: solves A x = b for symmetric positive definite A. x holds the initial
/// guess on entry and the solution on exit; b and x are local parts of length
/// A.local_size(). M (may be null: identity) applies an SPD approximation of A^-1, z = M r.
/// The residual is the recursively updated one, relative to ||b||; b = 0 gives x = 0 at once.
/// Per iteration: two MPI_Allreduce (p.Ap, then r.r with r.z in one call of two values).
/// Collective over comm: every rank gets the same result, and the same exception for a size
/// mismatch on any rank (InvalidArgument) or a breakdown (Error: non-positive p.Ap or r.z, or
/// a non-finite residual). With options.progress, rank 0 logs
/// "<label> iter 12  residual 3.2e-07  0.015 s/iter" (every iteration up to 10, every 10th up
/// to 100, then every 100th, and the last) and a closing line.
CgResult pcg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
             const Vector& x, const CgOptions& options);

}  // namespace tod2map::solvers
