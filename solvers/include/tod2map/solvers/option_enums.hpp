#pragma once
// The enumerated values of the `solver` section, with the names the config spells them by:
// shared by the key table (solvers/options/solver_keys.cpp) and the solvers that act on them,
// which include this without the section's struct (whose backend default is build-specific).
#include "tod2map/core/enum_names.hpp"

namespace tod2map::solvers {

/// The reference solvers that can cross-check pcg() (solver.cross_check).
enum class CrossCheck {
  none,   ///< no cross-check
  belos,  ///< belos_cg (Trilinos)
  ksp,    ///< ksp_cg (PETSc)
};
inline constexpr EnumName<CrossCheck> cross_check_names[] = {
    {CrossCheck::none, "none"}, {CrossCheck::belos, "belos"}, {CrossCheck::ksp, "ksp"}};

/// The destriping preconditioners (solver.preconditioner; mapmaker/baseline_preconditioner.hpp).
enum class PreconditionerKind { diagonal, banded, two_level };
inline constexpr EnumName<PreconditionerKind> preconditioner_names[] = {
    {PreconditionerKind::diagonal, "diagonal"},
    {PreconditionerKind::banded, "banded"},
    {PreconditionerKind::two_level, "two_level"}};

}  // namespace tod2map::solvers
