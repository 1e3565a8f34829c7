#pragma once
// Device functions on the per-pixel blocks of P^T N^-1 P. A block is symmetric nstokes x
// nstokes (1 or 3), stored packed as its upper triangle: II, IQ, IU, QQ, QU, UU (DESIGN.md
// section 4, `invcov`). Depends on Kokkos only.
#include <Kokkos_Core.hpp>
#include <math.h>

namespace tod2map::mapmaker::kernels {

/// Number of packed values of a symmetric nstokes x nstokes block.
KOKKOS_INLINE_FUNCTION constexpr int packed_size(int nstokes) {
  return nstokes * (nstokes + 1) / 2;
}

/// Eigenvalue ratio min/max of a symmetric 3x3 matrix given packed (a00 a01 a02 a11 a12 a22):
/// the reciprocal condition number in the 2-norm, 0 for singular or non-positive blocks.
/// Closed-form (trigonometric) eigenvalues: accurate to ~1e-8 relative, ample for comparing
/// with min_rcond thresholds (>= 1e-6 in practice).
KOKKOS_INLINE_FUNCTION double rcond_sym3(const double* a) {
  const double a00 = a[0], a01 = a[1], a02 = a[2], a11 = a[3], a12 = a[4], a22 = a[5];
  const double p1 = a01 * a01 + a02 * a02 + a12 * a12;
  const double q = (a00 + a11 + a22) / 3.0;
  if (!(q > 0.0)) return 0.0;
  double lmin, lmax;
  const double d0 = a00 - q, d1 = a11 - q, d2 = a22 - q;
  const double p2 = d0 * d0 + d1 * d1 + d2 * d2 + 2.0 * p1;
  if (p2 <= 1e-300 || p2 <= (q * q) * 1e-30) {
    return 1.0;  // a multiple of the identity (to round-off)
  }
  const double p = sqrt(p2 / 6.0);
  // B = (A - q I) / p; r = det(B) / 2, clamped to [-1, 1] against round-off.
  const double b00 = d0 / p, b11 = d1 / p, b22 = d2 / p;
  const double b01 = a01 / p, b02 = a02 / p, b12 = a12 / p;
  double r = 0.5 * (b00 * (b11 * b22 - b12 * b12) - b01 * (b01 * b22 - b12 * b02) +
                    b02 * (b01 * b12 - b11 * b02));
  r = r < -1.0 ? -1.0 : (r > 1.0 ? 1.0 : r);
  const double phi = acos(r) / 3.0;
  const double two_pi_3 = 2.0943951023931954923;  // 2 pi / 3
  lmax = q + 2.0 * p * cos(phi);
  lmin = q + 2.0 * p * cos(phi + two_pi_3);
  if (!(lmax > 0.0) || !(lmin > 0.0)) return 0.0;
  return lmin / lmax;
}

/// Inverse of a packed symmetric 3x3 block by cofactors; returns false if singular.
KOKKOS_INLINE_FUNCTION bool invert_sym3(const double* a, double* inv) {
  const double a00 = a[0], a01 = a[1], a02 = a[2], a11 = a[3], a12 = a[4], a22 = a[5];
  const double c00 = a11 * a22 - a12 * a12;
  const double c01 = a02 * a12 - a01 * a22;
  const double c02 = a01 * a12 - a02 * a11;
  const double det = a00 * c00 + a01 * c01 + a02 * c02;
  if (!(det != 0.0) || !isfinite(det)) return false;
  const double s = 1.0 / det;
  inv[0] = c00 * s;
  inv[1] = c01 * s;
  inv[2] = c02 * s;
  inv[3] = (a00 * a22 - a02 * a02) * s;
  inv[4] = (a01 * a02 - a00 * a12) * s;
  inv[5] = (a00 * a11 - a01 * a01) * s;
  return true;
}

/// y = B x for a packed symmetric block of size nstokes (1 or 3).
KOKKOS_INLINE_FUNCTION void apply_sym(int nstokes, const double* b, const double* x, double* y) {
  if (nstokes == 1) {
    y[0] = b[0] * x[0];
    return;
  }
  y[0] = b[0] * x[0] + b[1] * x[1] + b[2] * x[2];
  y[1] = b[1] * x[0] + b[3] * x[1] + b[4] * x[2];
  y[2] = b[2] * x[0] + b[4] * x[1] + b[5] * x[2];
}

}  // namespace tod2map::mapmaker::kernels
