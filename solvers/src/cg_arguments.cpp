#include "cg_arguments.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "tod2map/core/error.hpp"

namespace tod2map::solvers::detail {

std::string format_g(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void check_cg_arguments(const std::string& where, int rank, const LinearOperator& A,
                        const LinearOperator* M, const Vector& b, const Vector& x,
                        const CgOptions& options) {
  const std::string at = where + ": ";
  if (!(options.tol >= 0) || !std::isfinite(options.tol))
    throw InvalidArgument(at + "tol must be a finite number >= 0, got " + format_g(options.tol));
  if (options.maxiter < 0)
    throw InvalidArgument(at + "maxiter must be >= 0, got " + std::to_string(options.maxiter));
  const auto n = A.local_size();
  const std::string on_rank = " on rank " + std::to_string(rank);
  if (std::int64_t(b.extent(0)) != n)
    throw InvalidArgument(at + "b has " + std::to_string(b.extent(0)) +
                          " entries but A.local_size() is " + std::to_string(n) + on_rank);
  if (std::int64_t(x.extent(0)) != n)
    throw InvalidArgument(at + "x has " + std::to_string(x.extent(0)) +
                          " entries but A.local_size() is " + std::to_string(n) + on_rank);
  if (M && M->local_size() != n)
    throw InvalidArgument(at + "M.local_size() is " + std::to_string(M->local_size()) +
                          " but A.local_size() is " + std::to_string(n) + on_rank);
}

}  // namespace tod2map::solvers::detail
