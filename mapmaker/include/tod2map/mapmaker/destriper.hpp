#pragma once
// Destriping (as Planck's MADAM): d = P m + F a + n_white, with one baseline offset a per
// chunk (baseline_length seconds of one detector in one observation; the last of a timeline
// may be shorter). The amplitudes solve
//     (F^T N^-1 Z F + C_a^-1) a = F^T N^-1 Z d,    Z = I - P (P^T N^-1 P)^-1 P^T N^-1,
// by our PCG with the diagonal preconditioner (F^T N^-1 F + diag C_a^-1)^-1; C_a^-1 is the
// optional noise prior (NoisePrior). The map is then the binned map of d - F a.
//
// Only unflagged samples in unmasked pixels enter the operator (samples in pixels under
// min_hits/min_rcond are dropped, as MADAM does), and a baseline with none of them is fixed
// at 0 (its preconditioner entry is 0, so CG never moves it).
//
// The degenerate mode: when I is solved in every pixel, adding one constant to every
// baseline is absorbed by the I map, so F^T N^-1 Z F is singular along the constant vector
// (the noise prior leaves each timeline's mean free, so it does not lift this). As in MADAM,
// CG starts from a = 0 with a right-hand side orthogonal to that vector and updates the
// residual by recursion, so the null direction never enters the residual and convergence is
// unaffected. Unlike MADAM we then fix the gauge explicitly: the constant is removed so that
// the hit-weighted mean of all baselines, sum_c (F^T N^-1 F)_cc a_c, is zero. That makes the
// baselines and the I monopole of the map reproducible (independent of round-off and rank
// count); the I map's monopole is not measured by destriping in any case.
//
// One CG iteration reads the samples twice: P^T N^-1 F a (spread fused with accumulation) and
// F^T N^-1 (F a - P m) (gather fused with the baseline sums).
//
// Cross-check (DestripeOptions::cross_check, config solver.cross_check): after our PCG the same
// system is solved again with the reference solver (Belos CG or PETSc KSPCG), from the same
// start a = 0, with the same preconditioner, tol and maxiter. Both solutions get the gauge fix,
// then d = max|a - a_ref| / max|a| is logged with both iteration counts. When both solvers
// converged and d > 100 tol, destripe() throws Error. Both are the same preconditioned CG on
// the same operators from the same start, with the same stopping rule; they differ only in
// how their dot products and vector updates round, so their solutions agree to round-off
// carried through the iterations (bit for bit in the tests, where the sums run in the same
// order). The limit of 100 tol leaves room for that at any size, yet is far below what a
// broken solver or a broken hand-over of vectors between solver and operators produces.
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/cross_check.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

struct DestripeOptions {
  double baseline_seconds = 1.0;
  bool noise_prior = false;
  solvers::CgOptions cg;
  /// Reference solver that re-solves the system for comparison (none: no cross-check).
  solvers::CrossCheck cross_check = solvers::CrossCheck::none;
};

struct DestripeResult {
  solvers::CgResult cg;
  Vector amplitudes;   ///< one per chunk of the local data (gauge fixed as described above)
  solvers::CrossCheckResult cross_check;  ///< solver none when no cross-check ran
};

/// Solves for the baselines and fills owned_map (n_owned*nstokes) with the binned map of
/// d - F a (masked pixels UNSEEN). Marks samples in masked pixels unused in `data`.
/// Collective. With a cross-check, throws Error when the two solutions differ by more than
/// 100 tol (see above), and whatever the reference solver throws (NotCompiled when absent).
DestripeResult destripe(const PixelSystem& system, LocalData& data, const DestripeOptions& options,
                        const Vector& owned_map);

}  // namespace tod2map::mapmaker
