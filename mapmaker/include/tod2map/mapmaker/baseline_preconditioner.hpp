#pragma once
// Preconditioners of the destriping system (solver.preconditioner): approximations of
// (F^T N^-1 Z F + C_a^-1)^-1 on the baseline amplitudes, applied by Kokkos kernels. Costs per
// baseline (one baseline is baseline_length x sample rate samples, 50 for 1 s at 50 Hz):
//   diagonal  (F^T N^-1 F + diag C_a^-1)^-1: 8 bytes, one multiply per iteration.
//   banded    per timeline (detector x observation), the band of half-width w of
//             F^T N^-1 F + C_a^-1, factorised once by Cholesky (as MADAM's precond_width):
//             8 (w + 1) bytes, about 4 w flops per iteration. The noise prior is what fills the
//             band: without it (or for a timeline with FKNEE = 0) the band is the diagonal.
//   two_level banded plus an additive coarse correction W E^+ W^T r, E = W^T A W, on the
//             modes that neither of the above reaches: baseline patterns that look like a
//             large-scale sky (a smooth sky seen along 1 s of scan is almost a constant, so the
//             map absorbs it almost entirely and A barely sees it). W has one column per pixel
//             and Stokes parameter of a HEALPix grid at coarse_nside: the baselines' averages
//             of that coarse pixel's pointing weights (1, q, u). E is built by applying A to
//             each column once (12 coarse_nside^2 nstokes applications, about as many
//             iterations' time) and inverted on every rank; per iteration it adds two sparse
//             products with W (a few entries per baseline), one allreduce of the coarse vector
//             and a dense product with E^+.
// Baselines without a used sample and without a prior are inactive: the preconditioner maps
// them to 0, so the CG never moves them.
#include <mpi.h>

#include <memory>
#include <string>

#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/noise_prior.hpp"
#include "tod2map/solvers/linear_operator.hpp"
#include "tod2map/solvers/option_enums.hpp"

namespace tod2map::mapmaker {

using solvers::PreconditionerKind;

/// "diagonal" | "banded" | "two_level", as solver.preconditioner spells them.
const char* preconditioner_name(PreconditionerKind kind);

/// The preconditioner for `data`'s baselines. weights: diagonal of F^T N^-1 F per baseline;
/// prior: the noise prior or null; width: half-bandwidth of `banded` (>= 1, capped at each
/// timeline's kernel length - 1). Not collective (baselines never cross ranks).
std::unique_ptr<solvers::LinearOperator> make_baseline_preconditioner(PreconditionerKind kind,
                                                                      const LocalData& data,
                                                                      const Vector& weights,
                                                                      const NoisePrior* prior,
                                                                      int width);

/// The two-level preconditioner: M1 plus a coarse correction W E^+ W^T on the low-resolution
/// sky modes (coarse_nside, a power of two up to data.nside); A is the destriping operator,
/// active its active baselines. Collective: applies A once per coarse vector
/// (12 coarse_nside^2 nstokes of them) to build E = W^T A W.
std::unique_ptr<solvers::LinearOperator> make_two_level_preconditioner(
    MPI_Comm comm, const solvers::LinearOperator& A, std::unique_ptr<solvers::LinearOperator> M1,
    const LocalData& data, const Vector& active, std::int64_t coarse_nside);

}  // namespace tod2map::mapmaker
