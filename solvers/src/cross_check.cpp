// belos_cg in a build without Tpetra: a clear NotCompiled instead of a link error. With Tpetra
// the real one is in backends/tpetra/belos_cg.cpp.
#include "tod2map/solvers/cross_check.hpp"

#include "tod2map/core/error.hpp"

#ifndef TOD2MAP_HAVE_TPETRA
namespace tod2map::solvers {
CgResult belos_cg(MPI_Comm, const LinearOperator&, const LinearOperator*, const Vector&,
                  const Vector&, const CgOptions&) {
  throw NotCompiled(
      "solvers::belos_cg: Trilinos Tpetra/Belos was not built into this tod2map "
      "(configure with TOD2MAP_WITH_TPETRA=ON)");
}
}  // namespace tod2map::solvers
#endif
