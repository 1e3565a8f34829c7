#pragma once
// Destriping (as Planck's MADAM): d = P m + F a + n_white, with one baseline offset a per
// chunk (baseline_length seconds of one detector in one observation; the last of a timeline
// may be shorter). The amplitudes solve
//     (F^T N^-1 Z F + C_a^-1) a = F^T N^-1 Z d,    Z = I - P (P^T N^-1 P)^-1 P^T N^-1,
// by our PCG with a preconditioner of baseline_preconditioner.hpp; C_a^-1 is the optional noise
// prior (NoisePrior). The map is then the binned map of d - F a.
//
// Only unflagged samples in unmasked pixels enter the operator (samples in pixels under
// min_hits/min_rcond are dropped, as MADAM does), and a baseline with none of them is fixed
// at 0 (its preconditioner entry is 0, so CG never moves it).
//
// Resolution (DestripeOptions::nside_cross, as MADAM's): Z may use the pixels of a coarser
// HEALPix grid, nside_cross < nside (its own hits, rcond and mask, with the same min_hits and
// min_rcond); the map is binned at nside. A coarser Z has more samples per pixel, so baselines
// are tied together by more crossings; the baselines then also absorb the signal that varies
// inside a coarse pixel, which the final map (at nside) does not recover from them.
//
// The degenerate mode: when I is solved in every pixel, adding one constant to every
// baseline is absorbed by the I map, so F^T N^-1 Z F is singular along the constant vector
// (the noise prior leaves each timeline's mean free, so it does not lift this). In exact
// arithmetic CG from a = 0 never leaves the complement of that vector; in floating point the
// right-hand side and every A p carry a round-off component along it that CG cannot reduce,
// and once the rest of the residual falls near that level CG loses its footing. So both are
// projected on the complement (detail::GaugeProjection: one more allreduce of two values per
// iteration). The gauge is then fixed explicitly: the constant is removed so that the
// hit-weighted mean of all baselines, sum_c (F^T N^-1 F)_cc a_c, is zero. That makes the
// baselines and the I monopole of the map reproducible (independent of round-off and rank
// count); the I monopole of the map is not measured by destriping in any case. (Groups of
// baselines that share no unmasked pixel with the rest have an offset of their own that the
// data do not determine either; they are rare with real scans, cost nothing while the
// residual is above round-off, and are left to CG.)
//
// One CG iteration reads the samples twice: P^T N^-1 F a (spread fused with accumulation) and
// F^T N^-1 (F a - P m) (gather fused with the baseline sums).
//
// Stopping rule: the CG stops when ||r_k|| / ||b|| <= tol, r the (projected) residual of the
// system above in the plain 2-norm, b its right-hand side; it is MADAM's cglimit on the same
// ratio squared (cglimit = tol^2). After the loop the true residual ||b - A a|| / ||b|| is
// computed once (one more operator application) and reported beside the recursive one.
// Because the residual weighs every baseline equally while the map error weighs the modes that
// reach the map, DestripeResult also reports how much the map still moved in the last
// iterations, in units of the white-noise rms of each pixel, and the error left that it
// implies at the observed rate of convergence.
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
#include <functional>
#include <memory>

#include "tod2map/core/resources.hpp"
#include "tod2map/mapmaker/baseline_preconditioner.hpp"
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
  PreconditionerKind preconditioner = PreconditionerKind::diagonal;
  int precond_width = 32;         ///< half-bandwidth of the banded preconditioner, in baselines
  std::int64_t coarse_nside = 2;  ///< two_level: HEALPix resolution of the coarse space
  /// Resolution of Z; 0 or the map's nside: the map's own pixels.
  std::int64_t nside_cross = 0;
  std::int64_t min_hits = 3;  ///< masking of the nside_cross pixels
  double min_rcond = 1e-3;
  /// Called collectively every observe_every iterations (and after the last) with the map of
  /// the current baselines (owned, as owned_map; masked pixels UNSEEN) and the seconds since
  /// destripe() began, the time of these calls left out. For the convergence benchmark.
  std::function<void(int iteration, const Vector& owned_map, double seconds)> observe_map;
  int observe_every = 0;
};

struct DestripeResult {
  solvers::CgResult cg;
  Vector amplitudes;  ///< one per chunk of the local data (gauge fixed as described above)
  solvers::CrossCheckResult cross_check;  ///< solver none when no cross-check ran
  double seconds = 0;  ///< destripe() from start to the final map (observe_map time excluded)
  /// rms over unmasked pixels of the map's change over the last `change_iterations`
  /// iterations, in units of each pixel's white-noise rms (-1 when fewer than 2 iterations).
  double map_change = -1;
  int change_iterations = 0;
  /// The map error left, estimated from map_change and the residual's rate of decrease over
  /// the same iterations, in the same units (-1 when the residual did not decrease).
  double error_estimate = -1;
  /// Extreme eigenvalues of the preconditioned operator from the CG coefficients.
  double eig_min = 0, eig_max = 0;
  std::int64_t cross_pixels_observed = 0, cross_pixels_masked = 0;  ///< with nside_cross
};

/// What destriping builds from the pointing and the weights alone, whatever the signal: the
/// pixel system of Z (nside_cross), the noise prior, the gauge, the operator and the
/// preconditioner. Built once, it solves for any signal of the same samples (the noise maps of
/// a Monte Carlo). Marks samples in masked pixels unused in `data`. Collective.
class DestripeSetup {
 public:
  /// system and data must outlive the setup.
  DestripeSetup(const PixelSystem& system, LocalData& data, const DestripeOptions& options);
  ~DestripeSetup();
  DestripeSetup(const DestripeSetup&) = delete;
  DestripeSetup& operator=(const DestripeSetup&) = delete;

  /// destripe() for data.signal as it is now (the caller may replace it between solves);
  /// `clock` started when the caller's destriping began (DestripeResult::seconds). Collective.
  DestripeResult solve(const DestripeOptions& options, const Vector& owned_map,
                       Stopwatch& clock) const;

 private:
  struct State;
  const PixelSystem& system_;
  LocalData& data_;
  std::unique_ptr<State> state_;
};

/// Solves for the baselines and fills owned_map (n_owned*nstokes) with the binned map of
/// d - F a (masked pixels UNSEEN). Marks samples in masked pixels unused in `data`.
/// Collective. With a cross-check, throws Error when the two solutions differ by more than
/// 100 tol (see above), and whatever the reference solver throws (NotCompiled when absent).
DestripeResult destripe(const PixelSystem& system, LocalData& data, const DestripeOptions& options,
                        const Vector& owned_map);

}  // namespace tod2map::mapmaker
