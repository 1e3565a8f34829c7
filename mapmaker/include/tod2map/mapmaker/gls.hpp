#pragma once
// Generalised-least-squares map-making: the full normal equations
//   (P^T N^-1 P) m = P^T N^-1 d
// with a correlated noise model N^-1 (a NoiseWeighting: ToeplitzNoiseWeighting for stationary
// white + 1/f noise), solved by PCG on the pixel domain with the block-Jacobi preconditioner
// (P^T diag(N^-1) P)^-1, whose blocks are the pixel system's with the noise model's diagonal
// as weights (PixelSystem::reweighted_inverse). Masked pixels (the system's mask) are left out
// of the system: the samples that fall in them must be unused already
// (PixelSystem::drop_masked_samples), so they are gaps as flagged samples are.
// Gaps (every unused sample) are unknowns of the solve beside the map, with N^-1 applied to
// whole timelines (NoiseWeighting::apply_across_gaps): solving for them marginalises them
// exactly, which is the GLS map of the used samples with their own inverse covariance
// (src/gls.cpp says why zeroing them instead is not good enough for strong 1/f noise).
#include <memory>
#include <vector>

#include "tod2map/mapmaker/noise_weighting.hpp"
#include "tod2map/mapmaker/pixel_system.hpp"
#include "tod2map/solvers/pcg.hpp"

namespace tod2map::mapmaker {

class LanczosRecorder;
struct Deflation;

/// Optional parts of a GLS solve (all may be null).
struct GlsSolveExtras {
  /// On entry the start of the solve (the map and gap values of an earlier gls_map on the same
  /// data, e.g. with another noise model; ignored when empty or of another size); on return
  /// the solution.
  Vector* unknowns = nullptr;
  /// Records this solve's first Lanczos vectors (their Ritz vectors deflate later solves).
  LanczosRecorder* record = nullptr;
  /// Ritz vectors of an earlier solve of (nearly) the same system: the solve builds the
  /// two-level preconditioner on them (one application of A each) ...
  const std::vector<Vector>* coarse = nullptr;
  /// ... and hands it back here; when this already holds one (the same system solved before),
  /// it is used as it is.
  std::shared_ptr<const Deflation>* deflation = nullptr;
};

/// Fills owned_map (n_owned*nstokes) with the GLS map of data's signal (data: the samples the
/// system was built from), masked pixels UNSEEN, and returns the CG history (tol and maxiter from
/// cg). A white `noise` (every timeline's N^-1 diagonal) gives the binned map in one iteration.
/// Collective over the system's communicator.
solvers::CgResult gls_map(const PixelSystem& system, const LocalData& data,
                          const NoiseWeighting& noise, const solvers::CgOptions& cg,
                          const Vector& owned_map, const GlsSolveExtras& extras = {});

}  // namespace tod2map::mapmaker
