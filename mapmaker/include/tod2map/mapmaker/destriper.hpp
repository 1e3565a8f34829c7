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
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

struct DestripeOptions {
  double baseline_seconds = 1.0;
  bool noise_prior = false;
  solvers::CgOptions cg;
};

struct DestripeResult {
  solvers::CgResult cg;
  Vector amplitudes;   ///< one per chunk of the local data (gauge fixed as described above)
};

/// Solves for the baselines and fills owned_map (n_owned*nstokes) with the binned map of
/// d - F a (masked pixels UNSEEN). Marks samples in masked pixels unused in `data`.
/// Collective.
DestripeResult destripe(const PixelSystem& system, LocalData& data, const DestripeOptions& options,
                        const Vector& owned_map);

}  // namespace tod2map::mapmaker
