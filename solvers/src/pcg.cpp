#include "tod2map/solvers/pcg.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "tod2map/core/error.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/solvers/kernels/cg_kernels.hpp"

namespace tod2map::solvers {
namespace {

std::string where(const CgOptions& options) { return "solvers::pcg(" + options.label + ")"; }

// %g, not std::to_string's fixed 6 decimals that print 1e-9 as 0.000000.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Sizes can differ on one rank only, so the check is agreed on by all ranks (no hang).
void validate(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
              const Vector& x, const CgOptions& options) {
  collective(comm, [&] {
    const std::string at = where(options) + ": ";
    if (!(options.tol >= 0) || !std::isfinite(options.tol))
      throw InvalidArgument(at + "tol must be a finite number >= 0, got " + num(options.tol));
    if (options.maxiter < 0)
      throw InvalidArgument(at + "maxiter must be >= 0, got " + std::to_string(options.maxiter));
    const auto n = A.local_size();
    const std::string rank = " on rank " + std::to_string(comm_rank(comm));
    if (std::int64_t(b.extent(0)) != n)
      throw InvalidArgument(at + "b has " + std::to_string(b.extent(0)) +
                            " entries but A.local_size() is " + std::to_string(n) + rank);
    if (std::int64_t(x.extent(0)) != n)
      throw InvalidArgument(at + "x has " + std::to_string(x.extent(0)) +
                            " entries but A.local_size() is " + std::to_string(n) + rank);
    if (M && M->local_size() != n)
      throw InvalidArgument(at + "M.local_size() is " + std::to_string(M->local_size()) +
                            " but A.local_size() is " + std::to_string(n) + rank);
  });
}

// Sums `count` local values over all ranks in place: the solver's only communication.
void allreduce(MPI_Comm comm, double* values, int count) {
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm));
}

// Thins the progress output: every iteration at first, then every 10th, then every 100th.
bool report_at(int k) { return k <= 10 || (k <= 100 && k % 10 == 0) || k % 100 == 0; }

}  // namespace

CgResult pcg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
             const Vector& x, const CgOptions& options) {
  Stopwatch clock;
  validate(comm, A, M, b, x, options);
  const auto n = static_cast<std::size_t>(A.local_size());
  ExecSpace exec;
  CgResult result;

  // q holds A x first, then A p; without a preconditioner z is r itself.
  Vector r(Kokkos::view_alloc("tod2map::solvers::pcg::r", Kokkos::WithoutInitializing), n);
  Vector p(Kokkos::view_alloc("tod2map::solvers::pcg::p", Kokkos::WithoutInitializing), n);
  Vector q(Kokkos::view_alloc("tod2map::solvers::pcg::q", Kokkos::WithoutInitializing), n);
  Vector z =
      M ? Vector(Kokkos::view_alloc("tod2map::solvers::pcg::z", Kokkos::WithoutInitializing), n)
        : r;

  A.apply(x, q);
  const auto norms = kernels::initial_residual(exec, b, q, r);
  // {r.r, b.b, r.z}: the three start-up sums in one allreduce.
  double sums[3] = {norms.rr, norms.bb, norms.rr};
  if (M) {
    M->apply(r, z);
    sums[2] = kernels::dot(exec, r, z);
  }
  allreduce(comm, sums, 3);
  const double bb = sums[1];
  if (!std::isfinite(bb))
    throw InvalidArgument(where(options) + ": b has non-finite entries (||b||^2 = " + num(bb) +
                          ")");
  if (bb == 0) {
    // The solution of A x = 0 is x = 0; a relative residual is undefined, so report 0.
    Kokkos::deep_copy(exec, x, 0.0);
    exec.fence();
    result.converged = true;
    result.residuals.push_back(0.0);
    result.seconds = clock.seconds();
    if (options.progress) log::info("%s: b = 0, solution x = 0", options.label.c_str());
    return result;
  }
  const double b_norm = std::sqrt(bb);
  double rz = sums[2];
  double residual = std::sqrt(sums[0]) / b_norm;
  result.residuals.push_back(residual);
  if (!std::isfinite(residual) || !std::isfinite(rz))
    throw Error(where(options) + ": initial residual is not finite (x or A x holds NaN/Inf)");

  Stopwatch since_report;
  int last_report = 0;
  if (residual <= options.tol) {
    result.converged = true;
  } else {
    if (!(rz > 0))
      throw Error(where(options) + ": r.Mr = " + num(rz) +
                  " at iteration 0: the preconditioner is not positive definite");
    Kokkos::deep_copy(exec, p, z);
  }
  for (int k = 1; k <= options.maxiter && !result.converged; ++k) {
    A.apply(p, q);
    double pq = kernels::dot(exec, p, q);
    allreduce(comm, &pq, 1);
    if (!(pq > 0) || !std::isfinite(pq))
      throw Error(where(options) + ": p.Ap = " + num(pq) + " at iteration " + std::to_string(k) +
                  ": the operator is not positive definite");
    const double alpha = rz / pq;
    // {r.r, r.z} of the new residual, summed over ranks in one allreduce of two values.
    double rsums[2] = {kernels::cg_step(exec, alpha, p, q, x, r), 0.0};
    if (M) {
      M->apply(r, z);
      rsums[1] = kernels::dot(exec, r, z);
      allreduce(comm, rsums, 2);
    } else {
      allreduce(comm, rsums, 1);
      rsums[1] = rsums[0];
    }
    residual = std::sqrt(rsums[0]) / b_norm;
    result.residuals.push_back(residual);
    result.iterations = k;
    if (!std::isfinite(residual))
      throw Error(where(options) + ": residual is not finite at iteration " + std::to_string(k));
    result.converged = residual <= options.tol;
    if (options.progress && (report_at(k) || result.converged || k == options.maxiter)) {
      log::info("%s iter %d  residual %.3e  %.3g s/iter", options.label.c_str(), k, residual,
                since_report.seconds() / (k - last_report));
      since_report.reset();
      last_report = k;
    }
    if (result.converged) break;
    if (!(rsums[1] > 0))
      throw Error(where(options) + ": r.Mr = " + num(rsums[1]) + " at iteration " +
                  std::to_string(k) + ": the preconditioner is not positive definite");
    const double beta = rsums[1] / rz;
    rz = rsums[1];
    kernels::cg_direction(exec, beta, z, p);
  }
  exec.fence();
  result.seconds = clock.seconds();
  if (options.progress) {
    if (result.converged)
      log::info("%s converged: %d iterations, residual %.3e <= tol %.3g, %.3g s",
                options.label.c_str(), result.iterations, residual, options.tol, result.seconds);
    else
      log::warning("%s did not converge: %d iterations, residual %.3e > tol %.3g, %.3g s",
                   options.label.c_str(), result.iterations, residual, options.tol, result.seconds);
  }
  return result;
}

}  // namespace tod2map::solvers
