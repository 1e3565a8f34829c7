#include "tod2map/solvers/pcg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "cg_arguments.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/interrupt.hpp"
#include "tod2map/core/log.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/solvers/kernels/cg_kernels.hpp"

namespace tod2map::solvers {
namespace {

std::string where(const CgOptions& options) { return "solvers::pcg(" + options.label + ")"; }

using detail::format_g;

// Sizes can differ on one rank only, so the check is agreed on by all ranks (no hang).
void validate(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
              const Vector& x, const CgOptions& options) {
  collective(comm, [&] {
    detail::check_cg_arguments(where(options), comm_rank(comm), A, M, b, x, options);
    const std::string at = where(options) + ": ";
    const auto n = A.local_size();
    const std::string rank = " on rank " + std::to_string(comm_rank(comm));
    if (options.checkpoint_every < 0)
      throw InvalidArgument(at + "checkpoint_every must be >= 0, got " +
                            std::to_string(options.checkpoint_every));
    if (const CgState* s = options.resume) {
      const std::string of = at + "the state to resume from ";
      for (const auto* v : {&s->x, &s->r, &s->p})
        if (std::int64_t(v->extent(0)) != n)
          throw InvalidArgument(of + "has vectors of " + std::to_string(v->extent(0)) +
                                " entries but A.local_size() is " + std::to_string(n) + rank);
      if (s->iteration < 0 || s->residuals.size() != std::size_t(s->iteration) + 1)
        throw InvalidArgument(of + "has iteration " + std::to_string(s->iteration) + " and " +
                              std::to_string(s->residuals.size()) +
                              " residuals (expected iteration + 1)");
      if (!(s->b_norm > 0) || !std::isfinite(s->b_norm) || !(s->rz >= 0) || !std::isfinite(s->rz))
        throw InvalidArgument(of + "has ||b|| = " + format_g(s->b_norm) + " and r.Mr = " +
                              format_g(s->rz) + " (expected ||b|| > 0 and r.Mr >= 0, finite)");
    }
  });
}

// Sums `count` local values over all ranks in place: the solver's only communication.
void allreduce(MPI_Comm comm, double* values, int count) {
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, values, count, MPI_DOUBLE, MPI_SUM, comm));
}

// Below this relative residual a lost sign of p.Ap or r.Mr is round-off in a (numerically)
// singular direction, not a wrong operator: the solve ends there instead of failing.
constexpr double kRoundOffLevel = 1e-6;

// Thins the progress output: every iteration at first, then every 10th, then every 100th.
bool report_at(int k) { return k <= 10 || (k <= 100 && k % 10 == 0) || k % 100 == 0; }

// The signal that stops the solve, agreed over ranks (the flag in the iteration's allreduce
// only says that some rank got one). Runs once, at the stop.
int agreed_signal(MPI_Comm comm, const InterruptGuard& guard) {
  int signal = guard.signal();
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &signal, 1, MPI_INT, MPI_MAX, comm));
  return signal;
}

}  // namespace

CgResult pcg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
             const Vector& x, const CgOptions& options) {
  Stopwatch clock;
  validate(comm, A, M, b, x, options);
  const auto n = static_cast<std::size_t>(A.local_size());
  ExecSpace exec;
  CgResult result;
  // Only a solve that can save its state has anything better to do with a signal than die.
  std::optional<InterruptGuard> guard;
  if (options.save) guard.emplace();
  // Whether to poll (the same on every rank: the host installs its poller before any run).
  // Not while the guard catches the signals: then a signal saves a checkpoint instead.
  const bool polling = !guard && interrupt_polling();

  // q holds A x first, then A p; without a preconditioner z is r itself.
  Vector r(Kokkos::view_alloc("tod2map::solvers::pcg::r", Kokkos::WithoutInitializing), n);
  Vector p(Kokkos::view_alloc("tod2map::solvers::pcg::p", Kokkos::WithoutInitializing), n);
  Vector q(Kokkos::view_alloc("tod2map::solvers::pcg::q", Kokkos::WithoutInitializing), n);
  Vector z =
      M ? Vector(Kokkos::view_alloc("tod2map::solvers::pcg::z", Kokkos::WithoutInitializing), n)
        : r;

  double b_norm = 0, rz = 0, residual = 0;
  int start = 0;
  if (options.resume) {
    const CgState& s = *options.resume;
    // ||b|| identifies the right-hand side: the state must come from this system. (To
    // round-off only: the fresh start sums b.b in another kernel.)
    double bb = kernels::dot(exec, b, b);
    allreduce(comm, &bb, 1);
    if (!(std::abs(std::sqrt(bb) - s.b_norm) <= 1e-12 * s.b_norm)) {
      char text[160];
      std::snprintf(text, sizeof text,
                    ": the state to resume from is for another right-hand "
                    "side (||b|| = %.17g, the state's %.17g)",
                    std::sqrt(bb), s.b_norm);
      throw InvalidArgument(where(options) + text);
    }
    Kokkos::deep_copy(exec, x, s.x);
    Kokkos::deep_copy(exec, r, s.r);
    Kokkos::deep_copy(exec, p, s.p);
    b_norm = s.b_norm;
    rz = s.rz;
    start = s.iteration;
    result.residuals = s.residuals;
    residual = result.residuals.back();
    result.iterations = start;
    result.resumed_from = start;
    result.converged = residual <= options.tol;
    if (options.progress)
      log::info("%s resumed after iteration %d, residual %.3e", options.label.c_str(), start,
                residual);
  } else {
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
      throw InvalidArgument(where(options) +
                            ": b has non-finite entries (||b||^2 = " + format_g(bb) + ")");
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
    b_norm = std::sqrt(bb);
    rz = sums[2];
    residual = std::sqrt(sums[0]) / b_norm;
    result.residuals.push_back(residual);
    if (!std::isfinite(residual) || !std::isfinite(rz))
      throw Error(where(options) + ": initial residual is not finite (x or A x holds NaN/Inf)");
    if (options.preconditioned && options.keep_preconditioned > 0) {
      exec.fence();
      options.preconditioned(0, M ? z : r, rz);
    }
    if (residual <= options.tol) {
      result.converged = true;
    } else {
      if (!(rz > 0))
        throw Error(where(options) + ": r.Mr = " + format_g(rz) +
                    " at iteration 0: the preconditioner is not positive definite");
      Kokkos::deep_copy(exec, p, z);
    }
  }

  Stopwatch since_report;
  int last_report = start;
  double excluded = 0;  // seconds spent in options.observe
  for (int k = start + 1; k <= options.maxiter && !result.converged; ++k) {
    A.apply(p, q);
    double pq = kernels::dot(exec, p, q);
    allreduce(comm, &pq, 1);
    if (!(pq > 0) || !std::isfinite(pq)) {
      if (std::isfinite(pq) && residual < kRoundOffLevel) {
        result.stop = CgStop::round_off;
        break;
      }
      throw Error(where(options) + ": p.Ap = " + format_g(pq) + " at iteration " +
                  std::to_string(k) + ": the operator is not positive definite");
    }
    const double alpha = rz / pq;
    result.alphas.push_back(alpha);
    // {r.r, r.z, stop, poll} of the new residual, summed over ranks in one allreduce: r.z only
    // with a preconditioner (else it is r.r), the stop flag only while signals are caught, the
    // poll only when the host polls for interrupts (Ctrl-C in Python, core/interrupt.hpp): a
    // rank that sees one makes every rank stop at this iteration.
    double sums[4];
    int count = 0;
    sums[count++] = kernels::cg_step(exec, alpha, p, q, x, r);
    if (M) {
      M->apply(r, z);
      sums[count++] = kernels::dot(exec, r, z);
    }
    if (guard) sums[count++] = guard->signal() != 0 ? 1.0 : 0.0;
    const int guard_slot = count - 1;
    int polled = polling ? interrupt_requested() : 0;
    if (polling) sums[count++] = polled != 0 ? 1.0 : 0.0;
    allreduce(comm, sums, count);
    if (polling && sums[count - 1] > 0) {
      TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, &polled, 1, MPI_INT, MPI_MAX, comm));
      throw Interrupted(polled, options.label + ": interrupted (" + signal_name(polled) +
                                    ") at iteration " + std::to_string(k));
    }
    const double rz_next = M ? sums[1] : sums[0];
    if (options.preconditioned && k < options.keep_preconditioned && options.resume == nullptr) {
      exec.fence();
      options.preconditioned(k, M ? z : r, rz_next);
    }
    const bool stop = guard && sums[guard_slot] > 0;
    residual = std::sqrt(sums[0]) / b_norm;
    result.residuals.push_back(residual);
    result.iterations = k;
    if (!std::isfinite(residual))
      throw Error(where(options) + ": residual is not finite at iteration " + std::to_string(k));
    result.converged = residual <= options.tol;
    const bool last = result.converged || k == options.maxiter;
    if (options.observe && options.observe_every > 0 && (k % options.observe_every == 0 || last)) {
      exec.fence();
      Stopwatch observing;
      options.observe(k, x);
      excluded += observing.seconds();
      since_report.pause(observing.seconds());
    }
    if (options.progress && (report_at(k) || last)) {
      log::info("%s iter %d  residual %.3e  %.3g s/iter", options.label.c_str(), k, residual,
                since_report.seconds() / (k - last_report));
      since_report.reset();
      last_report = k;
    }
    if (result.converged && !stop) break;
    if (rz_next > 0) {
      const double beta = rz_next / rz;
      result.betas.push_back(beta);
      kernels::cg_direction(exec, beta, z, p);
    } else if (!result.converged) {
      if (std::isfinite(rz_next) && residual < kRoundOffLevel && !stop) {
        result.stop = CgStop::round_off;
        break;
      }
      throw Error(where(options) + ": r.Mr = " + format_g(rz_next) + " at iteration " +
                  std::to_string(k) + ": the preconditioner is not positive definite");
    }  // else converged with r.Mr = 0 (r = 0): no direction is needed to continue
    rz = rz_next;
    // Saved after the direction update: the state holds exactly what iteration k + 1 reads.
    const bool scheduled = options.checkpoint_every > 0 && !result.converged &&
                           (k % options.checkpoint_every == 0 || k == options.maxiter);
    const int signal = stop ? agreed_signal(comm, *guard) : 0;
    if (scheduled || stop) {
      exec.fence();
      options.save(CgState{k, rz, b_norm, result.residuals, x, r, p, signal});
    }
    if (stop) {
      guard->acknowledge();
      result.seconds = clock.seconds();
      throw Interrupted(signal, options.label + " stopped by " + signal_name(signal) +
                                    " after iteration " + std::to_string(k) + " (residual " +
                                    format_g(residual) + "), its state saved");
    }
  }
  if (result.converged) result.stop = CgStop::converged;
  // A round-off stop leaves the loop before its observation: the last iterate is observed here
  // (unless it already was), as documented ("and after the last one").
  if (result.stop == CgStop::round_off && options.observe && options.observe_every > 0 &&
      result.iterations > start && result.iterations % options.observe_every != 0) {
    exec.fence();
    Stopwatch observing;
    options.observe(result.iterations, x);
    excluded += observing.seconds();
  }
  exec.fence();
  result.seconds = clock.seconds() - excluded;
  if (options.true_residual) {
    A.apply(x, q);
    const auto norms = kernels::initial_residual(exec, b, q, q);
    double rr = norms.rr;
    allreduce(comm, &rr, 1);
    result.true_residual = std::sqrt(rr) / b_norm;
  }
  if (options.progress) {
    char true_text[64] = "";
    if (result.true_residual >= 0)
      std::snprintf(true_text, sizeof true_text, " (true residual %.3e)", result.true_residual);
    if (result.converged)
      log::info("%s converged: %d iterations, residual %.3e%s <= tol %.3g, %.3g s",
                options.label.c_str(), result.iterations, residual, true_text, options.tol,
                result.seconds);
    else if (result.stop == CgStop::round_off)
      log::warning(
          "%s stopped at the round-off limit: %d iterations, residual %.3e%s > tol %.3g "
          "(p.Ap or r.Mr lost its sign: nothing left that double precision can reduce), "
          "%.3g s",
          options.label.c_str(), result.iterations, residual, true_text, options.tol,
          result.seconds);
    else
      log::warning("%s did not converge: %d iterations, residual %.3e%s > tol %.3g, %.3g s",
                   options.label.c_str(), result.iterations, residual, true_text, options.tol,
                   result.seconds);
  }
  return result;
}

std::pair<double, double> cg_eigen_estimates(const CgResult& result) {
  // Lanczos tridiagonal T of the CG coefficients: T_jj = 1/alpha_j + beta_{j-1}/alpha_{j-1},
  // T_j,j+1 = sqrt(beta_j)/alpha_j; its extreme eigenvalues by Sturm-sequence bisection.
  const std::size_t n = std::min(result.alphas.size(), result.betas.size() + 1);
  if (n < 2) return {0.0, 0.0};
  std::vector<double> diag(n), off2(n, 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    diag[j] = 1.0 / result.alphas[j] + (j > 0 ? result.betas[j - 1] / result.alphas[j - 1] : 0.0);
    if (j + 1 < n) off2[j] = result.betas[j] / (result.alphas[j] * result.alphas[j]);
  }
  double lo = diag[0], hi = diag[0];
  for (std::size_t j = 0; j < n; ++j) {  // Gershgorin bounds
    const double rad = std::sqrt(off2[j]) + (j > 0 ? std::sqrt(off2[j - 1]) : 0.0);
    lo = std::min(lo, diag[j] - rad);
    hi = std::max(hi, diag[j] + rad);
  }
  auto below = [&](double x) {  // eigenvalues of T below x
    int count = 0;
    double d = 1.0;
    for (std::size_t j = 0; j < n; ++j) {
      d = diag[j] - x - (j > 0 ? off2[j - 1] / d : 0.0);
      if (d == 0.0) d = -1e-300;
      if (d < 0) ++count;
    }
    return count;
  };
  auto kth = [&](int k) {  // k-th smallest eigenvalue (0-based)
    double a = lo, b = hi;
    for (int it = 0; it < 200 && b - a > 1e-15 * std::max(std::abs(a), std::abs(b)); ++it) {
      const double mid = 0.5 * (a + b);
      if (below(mid) > k)
        b = mid;
      else
        a = mid;
    }
    return 0.5 * (a + b);
  };
  return {kth(0), kth(static_cast<int>(n) - 1)};
}

}  // namespace tod2map::solvers
