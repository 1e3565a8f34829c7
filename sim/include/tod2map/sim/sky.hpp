#pragma once
// Input skies of the simulator: full-sky I, Q, U maps in RING ordering that the timelines
// sample (signal = I[p] + eta (Q[p] cos 2psi + U[p] sin 2psi), p = ang2pix_ring(nside, ...)).
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tod2map::sim {

/// A full-sky IQU map in RING ordering (Q and U zero for a temperature-only input).
struct Sky {
  std::int64_t nside = 0;
  std::vector<double> i, q, u;  ///< 12 nside^2 values each
};

/// A smooth, deterministic polarized sky: a sum of broad Gaussian blobs on the sphere,
///   f(n) = sum_j a_j exp((n . c_j - 1) / s_j^2)   (~ exp(-d^2 / 2 s_j^2) near the centre),
/// 32 blobs for I (|a_j| <= 100) and 24 each for Q and U (|a_j| <= 10), centres uniform on the
/// sphere, widths s_j between 15 and 40 degrees, all drawn from `seed`. Band-limited enough
/// that maps at nside >= 8 are smooth on the pixel scale.
class SyntheticSky {
 public:
  explicit SyntheticSky(std::uint64_t seed);

  /// I, Q, U at colatitude theta, longitude phi [rad].
  void evaluate(double theta, double phi, double& i, double& q, double& u) const;

 private:
  struct Blob {
    double x, y, z;     // centre (unit vector)
    double inv_width2;  // 1 / s^2 (s in radians)
    double amplitude;
  };
  static double sum(const std::vector<Blob>& blobs, double x, double y, double z);
  std::vector<Blob> i_, q_, u_;
};

/// The synthetic sky evaluated at the centres of the RING pixels of nside. Collective: ranks
/// evaluate contiguous pixel ranges and exchange them; the values do not depend on the rank
/// count.
Sky synthetic_sky(std::uint64_t seed, std::int64_t nside, MPI_Comm comm);

/// Reads a HEALPix FITS map (as healpy writes it) as the sky: 1 field = I (Q = U = 0), 3 or
/// more = I, Q, U from the first three columns; NEST maps are reordered to RING. Throws IoError
/// for 2 fields, or for UNSEEN or non-finite pixels (the sky must be defined everywhere).
/// Not collective.
Sky read_sky(const std::string& path);

}  // namespace tod2map::sim
