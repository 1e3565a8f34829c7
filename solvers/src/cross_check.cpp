// The cross-check helpers, and belos_cg / ksp_cg in a build without Tpetra / PETSc: a clear
// NotCompiled instead of a link error. The real ones are in backends/tpetra/belos_cg.cpp and
// backends/petsc/ksp_cg.cpp.
#include "tod2map/solvers/cross_check.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "tod2map/core/enum_names.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::solvers {

namespace {
// Unused when every backend is built.
[[noreturn, maybe_unused]] void not_built(const char* func, const char* library,
                                          const char* option) {
  throw NotCompiled(std::string(func) + ": " + library +
                    " was not built into this tod2map (configure with " + option + "=ON)");
}
}  // namespace

#ifndef TOD2MAP_HAVE_TPETRA
CgResult belos_cg(MPI_Comm, const LinearOperator&, const LinearOperator*, const Vector&,
                  const Vector&, const CgOptions&) {
  not_built("solvers::belos_cg", "Trilinos Tpetra/Belos", "TOD2MAP_WITH_TPETRA");
}
#endif

#ifndef TOD2MAP_HAVE_PETSC
CgResult ksp_cg(MPI_Comm, const LinearOperator&, const LinearOperator*, const Vector&,
                const Vector&, const CgOptions&) {
  not_built("solvers::ksp_cg", "PETSc", "TOD2MAP_WITH_PETSC");
}
#endif

const char* cross_check_name(CrossCheck which) {
  return enum_name(cross_check_names, which, "none");
}

CgResult reference_cg(CrossCheck which, MPI_Comm comm, const LinearOperator& A,
                      const LinearOperator* M, const Vector& b, const Vector& x,
                      const CgOptions& options) {
  switch (which) {
    case CrossCheck::belos:
      return belos_cg(comm, A, M, b, x, options);
    case CrossCheck::ksp:
      return ksp_cg(comm, A, M, b, x, options);
    case CrossCheck::none:
      break;
  }
  throw InvalidArgument("solvers::reference_cg: no reference solver chosen (CrossCheck::none)");
}

double max_relative_difference(MPI_Comm comm, const Vector& x, const Vector& reference) {
  collective(comm, [&] {
    if (x.extent(0) != reference.extent(0))
      throw InvalidArgument("solvers::max_relative_difference on rank " +
                            std::to_string(comm_rank(comm)) + ": x has " +
                            std::to_string(x.extent(0)) + " entries but reference has " +
                            std::to_string(reference.extent(0)));
  });
  // {max |x - reference|, max |x|} over the local entries, then over the ranks.
  using Range = Kokkos::RangePolicy<ExecSpace, Kokkos::IndexType<std::int64_t>>;
  const Range range(0, static_cast<std::int64_t>(x.extent(0)));
  double local[2] = {0, 0};
  Kokkos::parallel_reduce(
      "tod2map::solvers::max_difference", range,
      KOKKOS_LAMBDA(std::int64_t i, double& m) {
        const double d = x(i) > reference(i) ? x(i) - reference(i) : reference(i) - x(i);
        m = d > m ? d : m;
      },
      Kokkos::Max<double>(local[0]));
  Kokkos::parallel_reduce(
      "tod2map::solvers::max_abs", range,
      KOKKOS_LAMBDA(std::int64_t i, double& m) {
        const double s = x(i) < 0 ? -x(i) : x(i);
        m = s > m ? s : m;
      },
      Kokkos::Max<double>(local[1]));
  // Max starts from the lowest double: an empty rank contributes nothing.
  local[0] = local[0] > 0 ? local[0] : 0;
  local[1] = local[1] > 0 ? local[1] : 0;
  double global[2] = {0, 0};
  TOD2MAP_CHECK_MPI(MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_MAX, comm));
  if (global[0] == 0) return 0.0;
  if (global[1] == 0) return std::numeric_limits<double>::infinity();
  return global[0] / global[1];
}

}  // namespace tod2map::solvers
