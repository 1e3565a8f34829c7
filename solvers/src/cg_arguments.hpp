#pragma once
// Internal: the argument check shared by every CG (pcg, belos_cg, ksp_cg), so that they refuse
// the same inputs with the same messages.
#include <string>

#include "tod2map/solvers/linear_operator.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::solvers::detail {

/// Throws InvalidArgument "<where>: ..." when tol is not finite and >= 0, maxiter < 0, or b, x
/// or M do not have A.local_size() entries on this rank (the size messages end in
/// " on rank <rank>"). Not collective: call it inside collective(), since sizes may be wrong
/// on one rank only.
void check_cg_arguments(const std::string& where, int rank, const LinearOperator& A,
                        const LinearOperator* M, const Vector& b, const Vector& x,
                        const CgOptions& options);

/// v as %.6g, not std::to_string's fixed 6 decimals that print 1e-9 as 0.000000.
std::string format_g(double v);

}  // namespace tod2map::solvers::detail
