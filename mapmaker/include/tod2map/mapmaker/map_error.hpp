#pragma once
// Map differences in units of the white noise of each pixel: the measure of convergence that
// the destriper reports and the convergence benchmark uses.
#include "tod2map/mapmaker/pixel_system.hpp"

namespace tod2map::mapmaker {

/// rms over the unmasked observed pixels (all ranks) of diff / sigma, sigma the white-noise
/// rms of the pixel's Stokes value: sqrt of the diagonal of its inverse block.
struct NoiseNormalizedRms {
  double all = 0;                ///< over every Stokes value
  double stokes[3] = {0, 0, 0};  ///< per Stokes parameter (I, Q, U; I only with stokes I)
  std::int64_t pixels = 0;       ///< pixels counted
};

/// diff: an owned map-sized vector (n_owned * nstokes). remove_i_mean: subtract the mean I
/// difference over the counted pixels first (destriping does not determine the I monopole).
/// Collective.
NoiseNormalizedRms noise_normalized_rms(const PixelSystem& system, const Vector& diff,
                                        bool remove_i_mean);

}  // namespace tod2map::mapmaker
