// ksp_cg: PETSc KSPCG driving our operators, to cross-check pcg(). A is a MATSHELL and M a
// PCSHELL whose callbacks hand PETSc's local arrays to our LinearOperators as Kokkos views (in
// place on host memory, through device copies otherwise); b and x are MPI Vecs over the
// caller's arrays. The CG is set up to mirror pcg(): plain CG (Hestenes-Stiefel), the
// unpreconditioned residual, stopping at ||r_k|| <= tol ||b|| (KSPConvergedDefault relative to
// ||b||, no absolute tolerance, no divergence test), the caller's x as initial guess.
#include <petscksp.h>

#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "cg_arguments.hpp"
#include "petsc_common.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/solvers/cross_check.hpp"

namespace tod2map::solvers {
namespace {

using HostVector = Kokkos::View<double*, Kokkos::HostSpace>;
using HostUnmanaged =
    Kokkos::View<double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

/// What a shell callback needs: the operator, device copies of the arrays when PETSc's memory
/// is not ours, and the first exception an operator threw (PETSc is C: exceptions must not
/// cross it, so the callback stores it, returns an error code, and ksp_cg rethrows it).
struct ShellContext {
  const LinearOperator* op = nullptr;
  Vector in, out;  // device staging (unused on host memory)
  std::exception_ptr error;

  PetscErrorCode apply(Vec x, Vec y) {
    const PetscScalar* px = nullptr;
    PetscScalar* py = nullptr;
    PetscErrorCode rc = VecGetArrayRead(x, &px);
    if (rc) return rc;
    rc = VecGetArrayWrite(y, &py);
    if (rc) {
      (void)VecRestoreArrayRead(x, &px);
      return rc;
    }
    const std::size_t n = static_cast<std::size_t>(op->local_size());
    try {
      if constexpr (petsc::kHostAccessible) {
        op->apply(Vector(const_cast<double*>(px), n), Vector(py, n));
      } else {
        if (in.extent(0) != n) {
          in = Vector("tod2map::solvers::ksp_cg::in", n);
          out = Vector("tod2map::solvers::ksp_cg::out", n);
        }
        Kokkos::deep_copy(in, HostUnmanaged(const_cast<double*>(px), n));
        op->apply(in, out);
        Kokkos::deep_copy(HostUnmanaged(py, n), out);
      }
      ExecSpace().fence();  // PETSc reads y as soon as we return
    } catch (...) {
      if (!error) error = std::current_exception();
      rc = PETSC_ERR_USER;
    }
    (void)VecRestoreArrayWrite(y, &py);
    (void)VecRestoreArrayRead(x, &px);
    return rc;
  }
};

PetscErrorCode shell_mult(Mat A, Vec x, Vec y) {
  ShellContext* ctx = nullptr;
  const PetscErrorCode rc = MatShellGetContext(A, &ctx);
  return rc ? rc : ctx->apply(x, y);
}

PetscErrorCode shell_precondition(PC pc, Vec x, Vec y) {
  ShellContext* ctx = nullptr;
  const PetscErrorCode rc = PCShellGetContext(pc, &ctx);
  return rc ? rc : ctx->apply(x, y);
}

/// The PETSc objects of one solve, destroyed in any case (abandoned after PetscFinalize).
struct Objects {
  Vec b = nullptr, x = nullptr;
  Mat A = nullptr;
  KSP ksp = nullptr;
  ~Objects() {
    if (petsc::finalized()) return;
    (void)KSPDestroy(&ksp);
    (void)MatDestroy(&A);
    (void)VecDestroy(&x);
    (void)VecDestroy(&b);
  }
};

void validate(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
              const Vector& x, const CgOptions& options, const std::string& where) {
  collective(comm,
             [&] { detail::check_cg_arguments(where, comm_rank(comm), A, M, b, x, options); });
  const std::int64_t global = allreduce_sum(comm, A.local_size());
  collective(comm, [&] {
    petsc::check_petsc_int(where, "the system size", global, petsc::kWiderPetscInt);
    petsc::ensure_initialized();
  });
}

}  // namespace

CgResult ksp_cg(MPI_Comm comm, const LinearOperator& A, const LinearOperator* M, const Vector& b,
                const Vector& x, const CgOptions& options) {
  Stopwatch clock;
  const std::string where = "solvers::ksp_cg(" + options.label + ")";
  validate(comm, A, M, b, x, options, where);
  const auto n = static_cast<std::size_t>(A.local_size());
  const auto pn = static_cast<PetscInt>(n);
  CgResult result;

  // PETSc's Vecs are host arrays: the caller's own when they are host memory, copies otherwise.
  HostVector hb, hx;
  double* pb = b.data();
  double* px = x.data();
  if constexpr (!petsc::kHostAccessible) {
    hb = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), b);
    hx = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), x);
    pb = hb.data();
    px = hx.data();
  }
  ExecSpace().fence();  // the caller's kernels that wrote b and x are done

  Objects o;
  ShellContext a_ctx, m_ctx;
  a_ctx.op = &A;
  m_ctx.op = M;
  TOD2MAP_CHECK_PETSC(VecCreateMPIWithArray(comm, 1, pn, PETSC_DECIDE, pb, &o.b));
  TOD2MAP_CHECK_PETSC(VecCreateMPIWithArray(comm, 1, pn, PETSC_DECIDE, px, &o.x));
  PetscReal b_norm = 0;
  TOD2MAP_CHECK_PETSC(VecNorm(o.b, NORM_2, &b_norm));
  if (!std::isfinite(b_norm))
    throw InvalidArgument(where + ": b has non-finite entries (||b|| = " + std::to_string(b_norm) +
                          ")");
  if (b_norm == 0) {
    // KSP would stop at once with x unchanged; follow pcg's convention (x = 0) instead.
    Kokkos::deep_copy(x, 0.0);
    result.converged = true;
    result.residuals.push_back(0.0);
    result.seconds = clock.seconds();
    return result;
  }

  TOD2MAP_CHECK_PETSC(MatCreateShell(comm, pn, pn, PETSC_DETERMINE, PETSC_DETERMINE, &a_ctx, &o.A));
  TOD2MAP_CHECK_PETSC(
      MatShellSetOperation(o.A, MATOP_MULT, reinterpret_cast<void (*)(void)>(shell_mult)));
  TOD2MAP_CHECK_PETSC(KSPCreate(comm, &o.ksp));
  TOD2MAP_CHECK_PETSC(KSPSetOperators(o.ksp, o.A, o.A));
  // Options first (monitors, viewers from solver.petsc_options), then what defines the
  // cross-check, so that no option changes the method being compared.
  TOD2MAP_CHECK_PETSC(KSPSetFromOptions(o.ksp));
  TOD2MAP_CHECK_PETSC(KSPSetType(o.ksp, KSPCG));
  PC pc = nullptr;
  TOD2MAP_CHECK_PETSC(KSPGetPC(o.ksp, &pc));
  if (M) {
    TOD2MAP_CHECK_PETSC(PCSetType(pc, PCSHELL));
    TOD2MAP_CHECK_PETSC(PCShellSetContext(pc, &m_ctx));
    TOD2MAP_CHECK_PETSC(PCShellSetApply(pc, shell_precondition));
  } else {
    TOD2MAP_CHECK_PETSC(PCSetType(pc, PCNONE));
  }
  TOD2MAP_CHECK_PETSC(KSPSetNormType(o.ksp, KSP_NORM_UNPRECONDITIONED));
  TOD2MAP_CHECK_PETSC(KSPSetTolerances(o.ksp, options.tol, 0.0, PETSC_MAX_REAL,
                                       static_cast<PetscInt>(options.maxiter)));
  TOD2MAP_CHECK_PETSC(KSPSetInitialGuessNonzero(o.ksp, PETSC_TRUE));
  std::vector<PetscReal> history(static_cast<std::size_t>(options.maxiter) + 1, 0.0);
  TOD2MAP_CHECK_PETSC(KSPSetResidualHistory(o.ksp, history.data(),
                                            static_cast<PetscInt>(history.size()), PETSC_TRUE));

  const PetscErrorCode rc = KSPSolve(o.ksp, o.b, o.x);
  // An operator's own exception (e.g. a size check) goes to the caller as it was.
  if (a_ctx.error) std::rethrow_exception(a_ctx.error);
  if (m_ctx.error) std::rethrow_exception(m_ctx.error);
  if (rc) petsc::throw_petsc_error(rc, "KSPSolve", __FILE__, __LINE__);

  PetscInt iterations = 0, recorded = 0;
  const PetscReal* norms = nullptr;
  KSPConvergedReason reason = KSP_CONVERGED_ITERATING;
  TOD2MAP_CHECK_PETSC(KSPGetIterationNumber(o.ksp, &iterations));
  TOD2MAP_CHECK_PETSC(KSPGetConvergedReason(o.ksp, &reason));
  TOD2MAP_CHECK_PETSC(KSPGetResidualHistory(o.ksp, &norms, &recorded));
  result.iterations = static_cast<int>(iterations);
  result.converged = reason > 0;
  for (PetscInt k = 0; k < recorded; ++k) result.residuals.push_back(norms[k] / b_norm);
  if (reason < 0 && reason != KSP_DIVERGED_ITS)
    throw BackendError(where + ": PETSc KSPCG stopped with " + KSPConvergedReasons[reason] +
                       " at iteration " + std::to_string(iterations));
  if constexpr (!petsc::kHostAccessible) Kokkos::deep_copy(x, hx);
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tod2map::solvers
