#pragma once
// Preconditioned conjugate gradient on Kokkos views (docs/design.md, "The math"): the solver shared
// by destriping and GLS map-making.
#include <mpi.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tod2map/solvers/linear_operator.hpp"

namespace tod2map::solvers {

/// The state of pcg() between two iterations: exactly what the loop needs to continue as if it
/// had never stopped (z = M r is recomputed from r). Scalars and history are the same on every
/// rank; the views are this rank's local parts (A.local_size() entries each).
struct CgState {
  int iteration = 0;              ///< k, iterations done
  double rz = 0;                  ///< r_k . M r_k, summed over ranks
  double b_norm = 0;              ///< ||b||, summed over ranks
  std::vector<double> residuals;  ///< relative residuals 0..k (k + 1 values)
  Vector x;                       ///< iterate x_k
  Vector r;                       ///< residual r_k = b - A x_k (the recursively updated one)
  Vector p;                       ///< direction of iteration k + 1
  int signal = 0;                 ///< pcg to save(): the signal that stops the solve, or 0
};

/// Stopping rule, reporting and checkpoint hooks of pcg() (belos_cg()/ksp_cg() read only the
/// first four).
struct CgOptions {
  double tol = 1e-10;        ///< stop when ||r_k|| / ||b|| <= tol (>= 0; 0 runs maxiter)
  int maxiter = 500;         ///< most iterations (>= 0)
  bool progress = true;      ///< progress lines on rank 0 through log::info
  std::string label = "cg";  ///< names the solve in progress lines and errors
  /// Continue from this state (a CgState that save() was given, or one read back from a file)
  /// instead of starting from x: x's entries are replaced by resume->x.
  const CgState* resume = nullptr;
  /// Called collectively with the state after every checkpoint_every-th iteration, after the
  /// last iteration of a solve that stops at maxiter unconverged (when checkpoint_every > 0),
  /// and when a signal stops the solve. Setting it also makes pcg catch SIGTERM, SIGINT and
  /// SIGUSR1 while it runs (InterruptGuard). The views are pcg's own: copy what you keep.
  std::function<void(const CgState&)> save;
  int checkpoint_every = 0;  ///< >= 0; 0: save() only at a signal
  /// Called collectively with the iterate x_k after every observe_every-th iteration and after
  /// the last one (benchmarks follow the map error this way). Its time is left out of
  /// CgResult::seconds and of the progress lines' s/iter.
  std::function<void(int iteration, const Vector& x)> observe;
  int observe_every = 0;  ///< >= 0; 0: never
  /// Called collectively with z_k = M r_k (r_k without a preconditioner) and r_k . z_k, summed
  /// over ranks, for k = 0, 1, ... while k < keep_preconditioned, before z_k is used; not on a
  /// resumed solve. The vectors z_k / sqrt(r_k . z_k) are the Lanczos vectors of M A, whose
  /// tridiagonal matrix CgResult::alphas and betas give (GLS deflation). z is pcg's: copy it.
  std::function<void(int k, const Vector& z, double rz)> preconditioned;
  int keep_preconditioned = 0;  ///< >= 0
  /// After the loop, apply A once more and report ||b - A x|| / ||b|| (CgResult::true_residual):
  /// the recursively updated residual can drift from it by round-off.
  bool true_residual = false;
};

/// Why pcg() stopped.
enum class CgStop {
  converged,  ///< the residual reached tol
  maxiter,    ///< maxiter iterations without reaching tol
  round_off,  ///< p.Ap or r.Mr lost its sign after the residual fell below 1e-6: the operator
              ///< is (numerically) singular along what is left, so no further progress is
              ///< possible in double precision; x is the last good iterate
};

/// Outcome of a solve.
struct CgResult {
  int iterations = 0;             ///< iterations done
  bool converged = false;         ///< relative residual reached tol
  std::vector<double> residuals;  ///< relative residual ||r_k||/||b||, k = 0..iterations
  double seconds = 0;             ///< wall time of the solve
  int resumed_from = -1;          ///< iteration the solve continued from (options.resume), or -1
  CgStop stop = CgStop::maxiter;  ///< why the loop ended
  double true_residual = -1;      ///< ||b - A x|| / ||b|| with options.true_residual, else -1
  std::vector<double> alphas,
      betas;  ///< CG coefficients per iteration (Lanczos: condition estimate)
  /// "converged", "NOT converged: round-off limit" or "NOT converged: maxiter", as the run's
  /// summary says it.
  const char* verdict() const {
    return converged                   ? "converged"
           : stop == CgStop::round_off ? "NOT converged: round-off limit"
                                       : "NOT converged: maxiter";
  }
};

/// Extreme eigenvalues of M A estimated from the CG coefficients (the Lanczos tridiagonal
/// matrix of the iterations done): {smallest, largest}; {0, 0} with fewer than 2 iterations.
/// The ratio is a lower bound of the condition number of the preconditioned system.
std::pair<double, double> cg_eigen_estimates(const CgResult& result);

/// Preconditioned CG: solves A x = b for symmetric positive definite A. x holds the initial
/// guess on entry and the solution on exit; b and x are local parts of length
/// A.local_size(). M (may be null: identity) applies an SPD approximation of A^-1, z = M r.
/// The residual is the recursively updated one, relative to ||b||; b = 0 gives x = 0 at once.
/// Per iteration: two MPI_Allreduce (p.Ap, then r.r with r.z in one call of two values).
/// Collective over comm: every rank gets the same result, and the same exception for a size
/// mismatch on any rank (InvalidArgument) or a breakdown (Error: non-positive p.Ap or r.z while
/// the residual is above 1e-6, or a non-finite residual; below it the solve ends with
/// CgStop::round_off). With options.progress, rank 0 logs
/// "<label> iter 12  residual 3.2e-07  0.015 s/iter" (every iteration up to 10, every 10th up
/// to 100, then every 100th, and the last) and a closing line.
///
/// Checkpoints: with options.resume, pcg checks the state against this solve (sizes on every
/// rank, ||b|| equal to 1e-12 relative: InvalidArgument otherwise), skips the initial A x and
/// continues with iteration k + 1 and the residual history continued; at the same rank count
/// the result is bitwise that of an uninterrupted solve. With options.save, a signal that
/// arrives on any rank stops every rank at the end of the same iteration: the stop flag rides
/// in the allreduce of r.r and r.z (one more value, no extra collective), save() gets the state
/// with its signal, and every rank throws Interrupted.
CgResult pcg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
             const Vector& x, const CgOptions& options);

}  // namespace tod2map::solvers
